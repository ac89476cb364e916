"""The loopback fakes of Google and Twilio, each in a process of its own, driven over a pipe.

A benchmark that runs the service in its own process would otherwise share the interpreter
lock with the fakes' work (parsing every MIME message, signing, JSON), and measure the fakes as
much as the service. Nor do the two fakes share a process: the Twilio fake taking 500 texts a
second needs most of one, and Gmail's MIME parsing beside it held single texts back by half a
second, which the benchmark would have blamed on the service. Each child starts its fake
(provider_fakes/google.py, provider_fakes/twilio.py) and answers a few commands: open a mailbox or an
account, set Gmail's latency or make it answer nothing, and read when each send was taken.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


def _google() -> tuple[str, dict[str, Callable[..., Any]], Callable[[], None]]:
    from provider_fakes.google import FakeGoogle

    google = FakeGoogle().start()
    commands: dict[str, Callable[..., Any]] = {
        "mailbox": google.mailbox,
        "latency": lambda seconds: setattr(google, "send_latency_s", seconds),
        "unresponsive": lambda: setattr(google, "unresponsive", True),
        "emails": lambda mailbox: [m.taken_at for m in google.messages(mailbox)],
    }
    return google.api_base_url, commands, google.stop


def _twilio() -> tuple[str, dict[str, Callable[..., Any]], Callable[[], None]]:
    from provider_fakes.twilio import FakeTwilio

    twilio = FakeTwilio()
    twilio.thread.start()

    def account(numbers: list[str]) -> tuple[str, str]:
        created = twilio.add_account(numbers)
        return created.sid, created.token

    def texts(sid: str) -> list[float]:
        with twilio.lock:
            return [m["created"].timestamp() for m in twilio.messages if m["account_sid"] == sid]

    def stop() -> None:
        twilio.server.shutdown()
        twilio.server.server_close()

    return twilio.url, {"account": account, "texts": texts}, stop


FAKES = {"google": _google, "twilio": _twilio}


def _serve(conn: Connection, fake: str) -> None:
    url, commands, stop = FAKES[fake]()
    conn.send(url)
    while True:
        command, args = conn.recv()
        if command == "stop":
            break
        conn.send(commands[command](*args))
    stop()


class _Child:
    def __init__(self, fake: str) -> None:
        spawn = multiprocessing.get_context("spawn")
        self.conn, child = spawn.Pipe()
        self.process = spawn.Process(target=_serve, args=(child, fake), daemon=True, name=f"fake-{fake}")
        self.process.start()
        self.url: str = self.conn.recv()

    def ask(self, command: str, *args: Any) -> Any:
        self.conn.send((command, args))
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send(("stop", ()))
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


class ProviderFakes:
    """Fake Google and Twilio, each in a child process; each method is one round trip over a pipe."""

    def __init__(self) -> None:
        self._google, self._twilio = _Child("google"), _Child("twilio")
        self.gmail_api_base_url, self.twilio_url = self._google.url, self._twilio.url

    def mailbox(self, address: str) -> dict[str, str]:
        return dict(self._google.ask("mailbox", address))

    def gmail_latency(self, seconds: float) -> None:
        self._google.ask("latency", seconds)

    def gmail_unresponsive(self) -> None:
        self._google.ask("unresponsive")

    def emails_taken(self, mailbox: str) -> list[float]:
        return list(self._google.ask("emails", mailbox))

    def twilio_account(self, numbers: list[str]) -> tuple[str, str]:
        sid, token = self._twilio.ask("account", numbers)
        return str(sid), str(token)

    def texts_taken(self, account_sid: str) -> list[float]:
        return list(self._twilio.ask("texts", account_sid))

    def stop(self) -> None:
        self._google.stop()
        self._twilio.stop()
