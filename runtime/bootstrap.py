"""The composition root: builds, from the settings, the parts every role and the API are made of
(the event store, the database, the clock, the transport, the delivery providers, the keys) once,
as a frozen `Parts`. Nothing is built at import time, and nothing here runs: the roles
(runtime/roles.py) say what runs on these parts and the supervisor (runtime/supervisor.py) runs it.
Tests hand `build` fakes for the providers, the clock or the transport.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from commands.application import CampaignApplication
from commands.audience.unsubscribe_tokens import UnsubscribeTokens, signing_secret
from commands.clock import Clock, DevClock, SharedOffsetClock, SystemClock
from commands.personal_data.sealing import PersonalDataSeal
from commands.sending.credentials import CredentialCipher, cipher_for, load_or_create_key
from commands.sending.personalisation import Personaliser, load_personaliser
from commands.sending.providers import Provider
from commands.tracking.tracking_tokens import TrackingTokens
from consumers.transport import Transport
from consumers.transport.in_process import InProcessTransport
from consumers.transport.kafka import KafkaTransport
from projections import runner
from projections.campaign_checkpoints import CampaignCheckpoints
from projections.campaign_event_positions import CampaignEventPositions
from projections.campaign_leads import CampaignLeads
from projections.campaign_summaries import CampaignSummaries
from projections.credit_ledger_entries import CreditLedgerEntries
from projections.deliverability_windows import DeliverabilityWindows
from projections.due_steps import DueSteps
from projections.step_executions import StepExecutions
from runtime.embedded_postgres import EmbeddedPostgres
from runtime.provider_adapters import default_providers
from runtime.settings import Settings
from storage.database import Database, event_store_env
from storage.schema import upgrade as upgrade_schema
from storage.schema import wait_until_current

PROJECTIONS: list[runner.ReadModel] = [
    CampaignSummaries(),
    DueSteps(),
    StepExecutions(),
    CampaignLeads(),
    CreditLedgerEntries(),
    DeliverabilityWindows(),
    CampaignCheckpoints(),
    CampaignEventPositions(),  # after CampaignLeads: an old StepAttempted's campaign is its lead's
]
SchemaPolicy = Literal["upgrade", "wait", "skip"]


@dataclass(frozen=True)
class Parts:
    """What one process is built from; the same for every role it runs."""

    settings: Settings
    store: CampaignApplication
    db: Database
    clock: Clock
    transport: Transport
    providers: Mapping[str, Provider]
    embedded: EmbeddedPostgres | None = None
    # CREDENTIALS_KEY; else, embedded only, a key kept in the data dir; else none (nothing stored).
    credential_cipher: CredentialCipher | None = None
    unsubscribe_tokens: UnsubscribeTokens | None = None  # signs and reads the /u/{token} links
    tracking_tokens: TrackingTokens | None = None  # signs and reads the /t/o and /t/c links (same secret)
    # What a child process gets to run as this one does: these settings with the database and keys
    # this process resolved (the embedded server's URL, the key files of its data folder).
    child_settings: Settings | None = None

    @property
    def dev_clock(self) -> DevClock | None:
        return self.clock if isinstance(self.clock, DevClock) else None

    @cached_property
    def personaliser(self) -> Personaliser:
        return load_personaliser(self.settings.personaliser, self.settings.personaliser_timeout)

    def child_environment(self) -> dict[str, str]:
        """The environment of a child process (runtime/child_processes.py)."""
        if self.child_settings is None:
            raise ValueError("these parts were not built from settings a child process can take")
        # METRICS_PORT is serve's alone: a child's counts reach serve's /metrics (runtime/metrics.py)
        inherited = {name: value for name, value in os.environ.items() if name != "METRICS_PORT"}
        return {**inherited, **self.child_settings.environment()}

    def close_connections(self) -> None:
        self.transport.close()
        self.store.close()
        self.db.close()


def build(
    settings: Settings,
    *,
    schema: SchemaPolicy = "upgrade",
    providers: Callable[[Database], Mapping[str, Provider]] | None = None,
    clock: Clock | None = None,
    transport: Transport | None = None,
) -> Parts:
    """Everything the settings describe; tests hand in fakes for the providers, clock or transport.

    `schema`: "upgrade" applies pending migrations (serve, api, tests); "wait" waits for another
    process to apply them and fails with SchemaBehind after a while (worker, relay, projector,
    scheduler); "skip" leaves the schema alone. `providers` builds the delivery adapters from the
    database (the sandbox keeps its outbox there); by default the sandbox, Gmail and Twilio.
    """
    embedded = None
    url = settings.database_url.get_secret_value() if settings.database_url else None
    if url is None:
        embedded = EmbeddedPostgres(settings.data_dir, durable=settings.durable)
        url = embedded.start()
    # The plain tables: serve, api and the operator commands migrate; the other roles wait for it.
    try:
        if schema == "upgrade":
            upgrade_schema(url)
        elif schema == "wait":
            wait_until_current(url)
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    db = Database(url)
    with db.transaction() as cur:  # one starter at a time creates the event store's own tables
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('campaign-service: event store tables'))")
        store = CampaignApplication(env=event_store_env(url, lock_timeout_s=settings.postgres_lock_timeout))
    transport = transport or (
        KafkaTransport(
            settings.kafka_bootstrap_servers,
            settings.batch_size,
            settings.kafka_topic_prefix,
            settings.kafka_start_timeout,
        )
        if settings.kafka_bootstrap_servers
        else InProcessTransport(settings.batch_size)
    )
    clock = clock or _clock(settings)
    key, secret = settings.credentials_key, settings.unsubscribe_secret
    key_folder = settings.data_dir if embedded is not None else None
    cipher = cipher_for(key.get_secret_value() if key else None, key_folder)
    if cipher is not None:  # contacts' personal data sealed per person (decision record 0027)
        store.seal_personal_data(PersonalDataSeal(db, cipher))
    signing = signing_secret(
        secret.get_secret_value() if secret else None, key.get_secret_value() if key else None, key_folder
    )
    tokens = UnsubscribeTokens(signing) if signing is not None else None
    adapters = (providers or default_providers(settings, cipher, tokens))(db)
    tracking = TrackingTokens(signing) if signing is not None else None
    child = settings_for_a_child(settings, url, key_folder, signing)
    return Parts(settings, store, db, clock, transport, adapters, embedded, cipher, tokens, tracking, child)


def _clock(settings: Settings) -> Clock:
    """The dev clock (`--dev-clock`), the clock shared through CLOCK_OFFSET_FILE, or the machine's."""
    if settings.dev_clock:
        return DevClock()
    if settings.clock_offset_file is not None:
        return SharedOffsetClock(settings.clock_offset_file)
    return SystemClock()


def event_store_alone(settings: Settings) -> tuple[CampaignApplication, Database]:
    """The event store and the database, as `build` makes them, from a child's settings (its
    database and keys resolved): for a replay's helper process, which only reads the log and
    writes read models. The caller closes both."""
    if settings.database_url is None:
        raise ValueError("a child's settings name their database")
    url = settings.database_url.get_secret_value()
    db = Database(url, max_size=2)
    store = CampaignApplication(
        env={
            **event_store_env(url, lock_timeout_s=settings.postgres_lock_timeout, pool_size=1),
            "CREATE_TABLE": "n",
        }
    )
    key = settings.credentials_key
    cipher = cipher_for(key.get_secret_value() if key else None, None)
    if cipher is not None:  # events are read as this process reads them (decision record 0027)
        store.seal_personal_data(PersonalDataSeal(db, cipher))
    return store, db


def settings_for_a_child(
    settings: Settings, url: str, key_folder: Path | None, signing: bytes | None
) -> Settings:
    """The settings a channel's child process is built from: this process's database, and the keys
    of the embedded data folder given outright (the child has no embedded server, so no folder)."""
    resolved: dict[str, object] = {
        "database_url": SecretStr(url),
        "dev_clock": False,
        "development_routes": False,
        "channel_processes": False,
        "metrics_port": None,
    }
    if key_folder is not None and settings.credentials_key is None:
        resolved["credentials_key"] = SecretStr(load_or_create_key(key_folder))
        if settings.unsubscribe_secret is None and signing is not None:
            resolved["unsubscribe_secret"] = SecretStr(signing.decode())
    return settings.model_copy(update=resolved)
