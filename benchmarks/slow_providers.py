"""Benchmark: a slow email provider holds back only its own channel, never the texts.

Starts an embedded PostgreSQL in a temporary folder, the loopback fakes of Google
(provider_fakes/google.py) and Twilio (provider_fakes/twilio.py), each in a process of its own
(provider_fakes/processes.py), and the service as `serve` runs it: the API and the other roles in
this process, each channel's relay and worker in a process of its own
(runtime/child_processes.py; `--one-process` keeps them in this one), with the real Gmail and
Twilio adapters and SDKs pointed at the fakes. After a warm-up of 20 emails and 20 texts (not
measured), four runs, each of a brand of its own: N texts alone (the anchor: SMS at full speed);
N emails and N texts in one campaign while Gmail answers every send 300 ms late (email's bound is
PROVIDER_CONCURRENCY calls in flight / latency, which it should reach); N emails, then N texts in
a second campaign launched while those emails are going out; and N emails and N texts in one
campaign while Gmail answers nothing at all (every call times out), where the texts must still
all go. Rates are taken from the fakes' own clocks (first send taken to last), so enrolment is not
counted; the last column counts from the launch of the texts' campaign. Each run stops by itself.

    .venv/bin/python -m benchmarks.slow_providers [--sends 300] [--latency 0.3] [--one-process]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any
from uuid import uuid4

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from commands.credits.brands import create_brand
from commands.sending.messaging_settings import change_messaging_settings
from commands.sending.providers import PROVIDER_CONCURRENCY
from domain.credit_ledger import Plan
from provider_fakes.processes import ProviderFakes
from runtime.embedded_postgres import EmbeddedPostgres
from runtime.service import Service, build_service
from runtime.settings import Settings

SMS_NUMBER = "+14155550199"
EMAIL = {"type": "EMAIL", "group": 0, "subject": "Hi {{first_name}}", "body": "Hello"}
SMS = {"type": "SMS", "group": 0, "body": "Hello {{first_name}}"}
GMAIL_TIMEOUT = 2.0
RUN_LIMIT = 300.0  # seconds a run may take before the benchmark gives up
WARM_UP = 20  # emails and texts sent before the first measured run


def wait_for(check: Callable[[], bool], timeout: float = RUN_LIMIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the run did not finish in time")
        time.sleep(0.1)


class Client:
    """One brand's calls to the service's HTTP API in this process; its texts may go out at any hour."""

    def __init__(self, container: Service) -> None:
        now = container.clock.now()
        brand = create_brand(container.store, container.db, f"brand-{uuid4().hex[:6]}", Plan.PREMIUM, now)
        self.brand_id = brand.brand_id
        change_messaging_settings(container.store, container.db, self.brand_id, "00:00", "24:00", None, now)
        self.http = TestClient(container.http_app())
        self.http.headers["Authorization"] = f"Bearer {brand.api_key}"

    def post(self, path: str, body: Any = None) -> Any:
        return self.http.post(path, json=body)

    def get(self, path: str) -> Any:
        return self.http.get(path)

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def lead_group(self, contacts: list[dict[str, Any]]) -> str:
        group: str = self.ok(self.post("/v1/lead-groups", {"name": "leads"}), 201)["id"]
        self.ok(self.post(f"/v1/lead-groups/{group}/contacts", {"contacts": contacts}))
        return group

    def campaign(self, group_id: str, steps: list[dict[str, Any]]) -> str:
        body = {"name": "slow providers", "lead_group_ids": [group_id], "steps": steps}
        return str(self.ok(self.post("/v1/campaign/", body), 201)["id"])


@dataclass(frozen=True)
class Brand:
    client: Client
    mailbox: str
    twilio_account: str


def brand(container: Service, fakes: ProviderFakes, n: int) -> Brand:
    """A brand with one Gmail mailbox and one Twilio number, each allowed far more than N a day."""
    client = Client(container)
    address = f"sales-{client.brand_id.hex[:6]}@brand.example"
    sid, token = fakes.twilio_account([SMS_NUMBER])
    senders = [
        {"channel": "email", "provider": "gmail", "address": address, "credentials": fakes.mailbox(address)},
        {
            "channel": "sms",
            "provider": "twilio",
            "address": SMS_NUMBER,
            "credentials": {"account_sid": sid, "auth_token": token},
        },
    ]
    for sender in senders:
        client.ok(client.post("/v1/sender-accounts", {**sender, "daily_limit": 10 * n}), 201)
    return Brand(client, address, sid)


def launch(brand: Brand, emails: int, texts: int, steps: list[dict[str, Any]]) -> str:
    """A campaign to `emails` contacts with only an address and `texts` with only a phone."""
    people = [{"email": f"lead{i}@example.com", "first_name": f"L{i}"} for i in range(emails)]
    people += [{"phone": f"+1415556{i:04d}", "first_name": f"P{i}"} for i in range(texts)]
    client = brand.client
    campaign_id = client.campaign(client.lead_group(people), steps)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    return campaign_id


@dataclass(frozen=True)
class Row:
    """Sends per second from the first send taken to the last, the longest pause between two
    sends (a channel held back by another pauses), the seconds from launch to the last send, and
    the rate it is held to (None: it should send nothing)."""

    what: str
    times: list[float]
    launched: float
    expected: float | None

    @property
    def rate(self) -> float:
        times = sorted(self.times)
        return (len(times) - 1) / max(times[-1] - times[0], 1e-9) if len(times) > 1 else 0.0

    def cells(self) -> tuple[str, ...]:
        times = sorted(self.times)
        if len(times) < 2:
            return (self.what, str(len(times)), "-", "-", "0", "-")
        pause = max(b - a for a, b in pairwise(times))
        share = f"{self.rate / self.expected:.0%}" if self.expected else "-"
        expected = f"{self.expected:,.2f}" if self.expected else "0"
        return (
            self.what,
            f"{self.rate:,.2f}",
            f"{pause:.2f}",
            f"{times[-1] - self.launched:.1f}",
            expected,
            share,
        )


def sent(brand: Brand, campaign_id: str, channel: str) -> int:
    metrics = brand.client.ok(brand.client.get(f"/v1/campaign/{campaign_id}"))["metrics"]
    return int(metrics["sent"][channel])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sends", type=int, default=300, help="emails per run")
    parser.add_argument("--texts", type=int, default=1500, help="texts per run (enough for a few seconds)")
    parser.add_argument("--latency", type=float, default=0.3, help="seconds Gmail takes per send")
    parser.add_argument(
        "--one-process", action="store_true", help="every role in this process (CHANNEL_PROCESSES=false)"
    )
    args = parser.parse_args(argv)
    n, t, latency = args.sends, args.texts, args.latency
    fakes = ProviderFakes()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="slow-providers-bench-") as folder:
        server = EmbeddedPostgres(Path(folder) / "pg", durable=False)
        settings = Settings(
            database_url=server.start(),
            credentials_key=Fernet.generate_key().decode(),
            gmail_api_base_url=fakes.gmail_api_base_url,
            gmail_timeout=GMAIL_TIMEOUT,
            twilio_api_base_url=fakes.twilio_url,
            public_base_url="http://127.0.0.1:9",  # callbacks are never followed by the fake
            channel_processes=not args.one_process,
        )
        container = build_service(settings)
        try:
            container.start(container.serving_roles())
            # Not measured: the first sends of a fresh process open its connections and load the SDKs.
            warm = brand(container, fakes, WARM_UP)
            warm_campaign = launch(warm, WARM_UP, WARM_UP, [EMAIL, SMS])
            wait_for(
                lambda: sent(warm, warm_campaign, "sms") == sent(warm, warm_campaign, "email") == WARM_UP
            )

            most = max(n, t)
            alone = brand(container, fakes, most)
            launched = time.time()
            alone_campaign = launch(alone, 0, t, [SMS])
            wait_for(lambda: sent(alone, alone_campaign, "sms") == t)
            anchor = Row("SMS alone (anchor)", fakes.texts_taken(alone.twilio_account), launched, None)
            anchor = Row(anchor.what, anchor.times, launched, anchor.rate)
            rows.append(anchor)

            fakes.gmail_latency(latency)
            mixed = brand(container, fakes, most)
            launched = time.time()
            mixed_campaign = launch(mixed, n, t, [EMAIL, SMS])
            wait_for(
                lambda: sent(mixed, mixed_campaign, "email") == n and sent(mixed, mixed_campaign, "sms") == t
            )
            later = brand(container, fakes, most)  # texts launched while the emails are still going out
            emails_first = launch(later, n, 0, [EMAIL])
            wait_for(lambda: bool(fakes.emails_taken(later.mailbox)))
            texts_launched = time.time()
            texts_later = launch(later, 0, t, [SMS])
            wait_for(lambda: sent(later, texts_later, "sms") == t and sent(later, emails_first, "email") == n)
            bound = PROVIDER_CONCURRENCY / latency
            slow = f"email, Gmail answering in {latency * 1000:.0f} ms"
            rows.append(Row(slow, fakes.emails_taken(mixed.mailbox), launched, bound))
            texts = fakes.texts_taken(mixed.twilio_account)
            rows.append(Row("SMS, same campaign, email slow", texts, launched, anchor.rate))
            texts = fakes.texts_taken(later.twilio_account)
            rows.append(Row("SMS launched while slow email goes out", texts, texts_launched, anchor.rate))

            fakes.gmail_unresponsive()
            stuck = brand(container, fakes, most)
            launched = time.time()
            stuck_campaign = launch(stuck, n, t, [EMAIL, SMS])
            wait_for(lambda: sent(stuck, stuck_campaign, "sms") == t)
            texts = fakes.texts_taken(stuck.twilio_account)
            rows.append(Row("SMS, same campaign, Gmail never answers", texts, launched, anchor.rate))
            rows.append(Row("  emails sent meanwhile", fakes.emails_taken(stuck.mailbox), launched, None))
        finally:
            container.close(timeout=GMAIL_TIMEOUT + 3)
            fakes.stop()
            server.stop()
    where = (
        "every role in one process" if args.one_process else "each channel's worker in a process of its own"
    )
    print(
        f"{n} emails and {t} texts per run; {PROVIDER_CONCURRENCY} provider calls in flight per channel "
        f"worker; Gmail timeout {GMAIL_TIMEOUT:.0f} s; {where}"
    )
    print(
        f"{'measure':<42}{'sends/s':>9}{'longest pause s':>17}{'last send s':>13}{'expected/s':>12}"
        f"{'of expected':>13}"
    )
    for what, value, pause, last, expected, share in (r.cells() for r in rows):
        print(f"{what:<42}{value:>9}{pause:>17}{last:>13}{expected:>12}{share:>13}")
    print(f"expected: email {PROVIDER_CONCURRENCY} calls in flight / {latency:g} s; texts the anchor's rate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
