"""The loopback fakes of Google and Twilio in a process of their own, driven over a pipe.

A benchmark that runs the service in its own process would otherwise share the interpreter
lock with the fakes' work (parsing every MIME message, signing, JSON), and measure the fakes as
much as the service. The child starts tests/fakes/google.py and tests/fakes/twilio.py and answers
a few commands: open a mailbox or an account, set Gmail's latency or make it answer nothing, and
read when each send was taken.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from typing import Any


def _serve(conn: Connection) -> None:
    from tests.fakes.google import FakeGoogle
    from tests.fakes.twilio import FakeTwilio

    google, twilio = FakeGoogle().start(), FakeTwilio()
    twilio.thread.start()

    def account(numbers: list[str]) -> tuple[str, str]:
        created = twilio.add_account(numbers)
        return created.sid, created.token

    def texts(sid: str) -> list[float]:
        with twilio.lock:
            return [m["created"].timestamp() for m in twilio.messages if m["account_sid"] == sid]

    commands: dict[str, Any] = {
        "mailbox": google.mailbox,
        "latency": lambda seconds: setattr(google, "send_latency_s", seconds),
        "unresponsive": lambda: setattr(google, "unresponsive", True),
        "emails": lambda mailbox: [m.taken_at for m in google.messages(mailbox)],
        "account": account,
        "texts": texts,
    }
    conn.send((google.api_base_url, twilio.url))
    while True:
        command, args = conn.recv()
        if command == "stop":
            break
        conn.send(commands[command](*args))
    google.stop()
    twilio.server.shutdown()
    twilio.server.server_close()


class ProviderFakes:
    """Fake Google and Twilio in a child process; each method is one round trip over the pipe."""

    def __init__(self) -> None:
        self._conn, child = multiprocessing.get_context("spawn").Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(child,), daemon=True
        )
        self._process.start()
        self.gmail_api_base_url, self.twilio_url = self._conn.recv()

    def _ask(self, command: str, *args: Any) -> Any:
        self._conn.send((command, args))
        return self._conn.recv()

    def mailbox(self, address: str) -> dict[str, str]:
        return dict(self._ask("mailbox", address))

    def gmail_latency(self, seconds: float) -> None:
        self._ask("latency", seconds)

    def gmail_unresponsive(self) -> None:
        self._ask("unresponsive")

    def emails_taken(self, mailbox: str) -> list[float]:
        return list(self._ask("emails", mailbox))

    def twilio_account(self, numbers: list[str]) -> tuple[str, str]:
        sid, token = self._ask("account", numbers)
        return str(sid), str(token)

    def texts_taken(self, account_sid: str) -> list[float]:
        return list(self._ask("texts", account_sid))

    def stop(self) -> None:
        self._conn.send(("stop", ()))
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
