"""The delivery adapters a process sends through (the sandbox, Gmail at GMAIL_API_BASE_URL, Twilio
at TWILIO_API_BASE_URL), each built, and its SDK imported, the first time something asks for it by
name. The Google client is about a third of a Python process's memory and Twilio's SDK another
5 MB: the projector, the API and a channel that never sends through them then never load them
(decision record 30). Naming the adapters (`"gmail" in providers`, iterating) builds none.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping

from commands.audience.unsubscribe_tokens import UnsubscribeTokens
from commands.sending.credentials import CredentialCipher, decrypt_credentials
from commands.sending.providers import Provider
from runtime.settings import Settings
from storage.database import Database


class ProvidersOnDemand(Mapping[str, Provider]):
    """Adapters by name, each made by its factory on first use and kept."""

    def __init__(self, factories: Mapping[str, Callable[[], Provider]]) -> None:
        self._factories = dict(factories)
        self._built: dict[str, Provider] = {}
        self._lock = threading.Lock()  # two send threads asking at once build it once

    def __getitem__(self, name: str) -> Provider:
        with self._lock:
            if name not in self._built:
                self._built[name] = self._factories[name]()
            return self._built[name]

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)


def default_providers(
    settings: Settings, cipher: CredentialCipher | None, tokens: UnsubscribeTokens | None
) -> Callable[[Database], Mapping[str, Provider]]:
    """The sandbox (with the latency `SANDBOX_DELAY_MS` asks for), Gmail and Twilio; accounts'
    credentials are opened only when a send needs them."""

    def adapters(db: Database) -> Mapping[str, Provider]:
        def sandbox() -> Provider:
            from consumers.providers.sandbox import SandboxProvider

            return SandboxProvider(db, settings.sandbox_delay_ms / 1000)

        def gmail() -> Provider:
            from consumers.providers.gmail import GmailProvider, MailboxSessions

            sessions = MailboxSessions(
                settings.gmail_api_base_url, settings.gmail_token_uri, settings.gmail_timeout
            )
            return GmailProvider(db, cipher, sessions, tokens, settings.public_url)

        def twilio() -> Provider:
            from consumers.providers.twilio import TwilioProvider

            return TwilioProvider(
                db,
                lambda account_id: decrypt_credentials(db, cipher, account_id),
                settings.twilio_api_base_url,
                settings.public_url,
                settings.twilio_timeout,
            )

        return ProvidersOnDemand({"sandbox": sandbox, "gmail": gmail, "twilio": twilio})

    return adapters
