"""What a soak schedule asks of the service, through its command line and HTTP API as a brand
would: brands with credits, a Gmail mailbox and a Twilio account each, and campaigns of email,
text, voicemail and wait steps over several days, one lead group of their own each (so a contact
and a step name one send). The clock moves a day at a time through CLOCK_OFFSET_FILE, so days
pass in seconds; and while the campaigns run, about a quarter of the recipients answer with a STOP
text, a one-click unsubscribe or a bounce (soak/recipients.py). Every call is retried until the
service answers, as a client would across an outage."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from provider_fakes.google import FakeGoogle
from provider_fakes.twilio import Account, FakeTwilio
from soak.recipients import ANSWERS, Answer, Recipients
from soak.role_processes import CLI

DAY = 86_400
ANYTIME = {"allowed_from": "00:00", "allowed_until": "24:00"}
# The guard would pause a campaign whose recipients bounce and opt out as often as the soak's do.
GUARD_OFF = {"max_bounce_rate": 1.0, "max_opt_out_rate": 1.0, "min_sends": 10_000, "window_sends": 10_000}


def steps(campaign: int) -> list[dict[str, Any]]:
    """Email and text on day 0, a wait of a day, then a voicemail and a last email."""
    tag = f"c{campaign}"
    return [
        {"type": "EMAIL", "group": 0, "subject": f"{tag} hello {{{{first_name|there}}}}", "body": "Hello"},
        {"type": "SMS", "group": 0, "body": f"{tag} hello by text"},
        {"type": "WAIT", "group": 1, "wait_days": 1},
        {"type": "VOICEMAIL", "group": 1, "audio_url": f"https://brand.example/{tag}.mp3"},
        {"type": "EMAIL", "group": 2, "subject": f"{tag} last word", "body": "Goodbye"},
    ]


@dataclass
class Brand:
    id: str
    key: str
    mailbox: str
    sms_number: str
    voice_number: str
    twilio: Account
    campaigns: list[str] = field(default_factory=list)


class Workload:
    """Sets up and launches the campaigns, then moves the clock and answers while they run."""

    def __init__(
        self,
        rng: random.Random,
        api: str,
        env: dict[str, str],
        folder: Path,
        google: FakeGoogle,
        twilio: FakeTwilio,
        clock_file: Path,
        say: Callable[[str], None],
    ) -> None:
        self.rng, self.api, self.env, self.folder = rng, api, env, folder
        self.google, self.twilio, self.clock_file, self.say = google, twilio, clock_file, say
        self.brands: list[Brand] = []
        self.recipients = Recipients(api, google, twilio)
        self._late: list[tuple[Brand, str]] = []
        self._late_at = 0.0
        self._day_seconds = 1.0
        self.offset = 0.0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # ---- before the faults -------------------------------------------------------------------
    def set_up(self, brands: int, campaigns_per_brand: int, contacts: int) -> None:
        self.clock_file.write_text("0")
        number = 0
        with ThreadPoolExecutor(brands) as cli:  # the command line's start-up is most of the set-up
            created = list(cli.map(self._created, range(brands)))
        for b, (brand_id, key) in enumerate(created):
            brand = self._brand(b, brand_id, key)
            self.brands.append(brand)
            for _ in range(campaigns_per_brand):
                brand.campaigns.append(self._campaign(brand, number, contacts))
                number += 1

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(CLI), *args], cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"campaign-service {' '.join(args)}: {done.stderr.strip()[-300:]}")
        return done.stdout

    def _created(self, b: int) -> tuple[str, str]:
        """A new brand with credits for every send, as an operator makes one: its id and API key."""
        created = json.loads(self._cli("brand", "create", f"Soak brand {b}", "--plan", "standard"))
        brand_id = created["brand_id"]
        self._cli("credits", "grant", "--brand", brand_id, "--amount", "100000", "--reference", "soak")
        return brand_id, created["api_key"]

    def _brand(self, b: int, brand_id: str, key: str) -> Brand:
        mailbox = f"sales@brand{b}.example"
        sms, voice = f"+1415600{b:04d}", f"+1415700{b:04d}"
        account = self.twilio.add_account([sms, voice])
        brand = Brand(brand_id, key, mailbox, sms, voice, account)
        self.call(brand, "PUT", "/v1/messaging-settings", ANYTIME)
        self.call(brand, "PUT", "/v1/deliverability-settings", GUARD_OFF)
        twilio = {"account_sid": account.sid, "auth_token": account.token}
        for body in (
            {
                "channel": "email",
                "provider": "gmail",
                "address": mailbox,
                "credentials": self.google.mailbox(mailbox),
            },
            {"channel": "sms", "provider": "twilio", "address": sms, "credentials": twilio},
            {"channel": "voice", "provider": "twilio", "address": voice, "credentials": twilio},
        ):
            self.call(brand, "POST", "/v1/sender-accounts", {**body, "daily_limit": 10_000})
        return brand

    def _campaign(self, brand: Brand, number: int, contacts: int) -> str:
        people = [
            {
                "email": f"c{number}-lead{i}@leads.example",
                "phone": f"+1415{200 + number:03d}{i:04d}",
                "first_name": f"L{i}",
            }
            for i in range(contacts)
        ]
        group = self.call(brand, "POST", "/v1/lead-groups", {"name": f"leads {number}"})["id"]
        self.call(brand, "POST", f"/v1/lead-groups/{group}/contacts", {"contacts": people})
        body = {"name": f"soak c{number}", "lead_group_ids": [group], "steps": steps(number)}
        campaign: str = self.call(brand, "POST", "/v1/campaign/", body)["id"]
        for person in people:
            if self.rng.random() < 0.25:  # about a quarter of the recipients answer
                kind = self.rng.choice(ANSWERS)
                answer = Answer(kind, person["email"], person["phone"], brand.twilio, brand.sms_number)
                self.recipients.answers.append(answer)
        return campaign

    def call(
        self,
        brand: Brand,
        method: str,
        path: str,
        body: Any = None,
        timeout: float = 60,
        done: tuple[int, ...] = (),
    ) -> Any:
        """One API call as the brand, retried across outages until it answers 2xx or a status in
        `done` (another 4xx: a bug here)."""
        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"Bearer {brand.key}"}
        while True:
            try:
                answer = httpx.request(method, self.api + path, json=body, headers=headers, timeout=10)
                if answer.status_code < 300 or answer.status_code in done:
                    return answer.json() if answer.content else None
                if 400 <= answer.status_code < 500 and answer.status_code not in (408, 409, 429):
                    raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} {path}: no answer within {timeout:.0f} s")
            time.sleep(0.3)

    def launch(self, later_within: float) -> None:
        """Launches the first campaign of every brand now; the others at one random moment of the
        first `later_within` seconds of the faults (run_in_background), through whatever is down."""
        self._late = [(b, c) for b in self.brands for c in b.campaigns[1:]]
        self._late_at = self.rng.uniform(0, later_within)
        for brand in self.brands:
            self._launch(brand, brand.campaigns[0])

    def _launch(self, brand: Brand, campaign: str) -> None:
        # A launch whose answer was lost is found launched when retried (409): that is done too.
        self.call(brand, "POST", f"/v1/campaign/{campaign}/launch", done=(409,), timeout=180)

    # ---- while the faults come ---------------------------------------------------------------
    def run_in_background(self, day_seconds: float) -> None:
        """Launches the later campaigns, moves the clock a day every `day_seconds` and answers as
        recipients, until `stop`."""
        for target, name in (
            (self._later_launches, "launches"),
            (self._days, "clock"),
            (self._answering, "recipients"),
        ):
            thread = threading.Thread(target=target, args=(day_seconds,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _later_launches(self, _: float) -> None:
        if self._stop.wait(self._late_at):
            return
        for brand, campaign in self._late:
            try:
                self._launch(brand, campaign)
            except (TimeoutError, RuntimeError) as failed:  # left unlaunched: the checker names it
                self.say(f"  launching {campaign} failed: {failed}")

    def hurry(self) -> None:
        """Once healed, a day a second: what is left comes due sooner (nothing waits on the faults)."""
        self._day_seconds = 1.0

    def _days(self, day_seconds: float) -> None:
        self._day_seconds = day_seconds
        while not self._stop.wait(self._day_seconds):
            self.offset += DAY + 60
            self.clock_file.write_text(f"{self.offset}")

    def _answering(self, _: float) -> None:
        while not self._stop.wait(0.5):
            self.recipients.answer_due()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    # ---- afterwards ----------------------------------------------------------------------------
    def unfinished(self) -> list[str]:
        """The campaigns not yet COMPLETED with every credit settled."""
        left = []
        for brand in self.brands:
            for campaign in brand.campaigns:
                try:
                    detail = self.call(brand, "GET", f"/v1/campaign/{campaign}", timeout=10)
                except (TimeoutError, RuntimeError):
                    left.append(campaign)
                    continue
                if detail["status"] != "COMPLETED" or detail["credits"]["outstanding"] != 0:
                    left.append(campaign)
        return left
