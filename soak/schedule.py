"""One soak schedule from its seed: a fresh database and topic prefix on the run's servers, fresh
provider fakes, the roles each in a process, the workload launched, then the nemesis's faults for
the faulty phase while the clock moves a day at a time and recipients answer; then everything is
healed, the campaigns are given a bounded time to finish, and the checker reads the whole
history (`events export`), the fakes and the audits. Its report: the seed, the faults injected by
kind, the roles' exits, the sends checked and the violations."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from provider_fakes.google import FakeGoogle
from provider_fakes.twilio import FakeTwilio
from runtime.embedded_postgres import free_ports
from soak.checker import Violation, check, gmail_sends, readable, step_keys, twilio_sends
from soak.nemesis import Nemesis, plan
from soak.role_processes import CLI, RoleProcesses
from soak.servers import ROOT, KafkaBroker, Postgres
from soak.workload import Workload

UNLIMITED = {
    f"RATE_LIMIT_{plan}_{part}": "1000000"
    for plan in ("BASIC", "STANDARD", "PREMIUM")
    for part in ("PER_SECOND", "BURST")
}


FAULTS_OVERRUN = 120.0  # seconds the faults may run past the faulty phase (a slow restart)


@dataclass(frozen=True)
class Limits:
    """What bounds a schedule: its traffic and its time."""

    brands: int = 2
    campaigns_per_brand: int = 2
    contacts: int = 8  # per campaign
    fault_seconds: float = 40.0  # the faulty phase
    day_seconds: float = 8.0  # real seconds between two days of the service's clock
    finish_seconds: float = 120.0  # after healing, for every campaign to finish
    extra_faults: tuple[int, int] = (2, 5)  # faults drawn beyond one of each kind: at least, at most


@dataclass
class ScheduleReport:
    seed: int
    faults: Counter[str] = field(default_factory=Counter)
    role_exits: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)  # recipients' STOPs, unsubscribes, bounces
    sends_checked: int = 0
    violations: list[Violation] = field(default_factory=list)
    seconds: float = 0.0
    fault_log: list[str] = field(default_factory=list)


def run_schedule(
    seed: int,
    postgres: Postgres,
    kafka: KafkaBroker,
    folder: Path,
    limits: Limits,
    say: Callable[[str], None],
) -> ScheduleReport:
    started = time.monotonic()
    report = ScheduleReport(seed)
    rng = random.Random(seed)
    faults = plan(rng, limits.fault_seconds, limits.extra_faults)
    folder.mkdir(parents=True, exist_ok=True)
    google, twilio = FakeGoogle().start(), FakeTwilio()
    twilio.thread.start()
    database = postgres.fresh_database(f"soak_{seed}")
    (port,) = free_ports(1)
    api = f"http://127.0.0.1:{port}"
    env = role_environment(database, kafka.bootstrap, f"soak{seed}.", api, google, twilio, folder)
    roles = RoleProcesses(env, folder / "roles")
    workload = Workload(rng, api, env, folder, google, twilio, folder / "clock-offset", say)
    nemesis = Nemesis(faults, roles, postgres, kafka, say)

    def phase(text: str) -> None:
        say(f"seed {seed}: {time.monotonic() - started:5.1f} s: {text}")

    try:
        roles.start()
        phase("every role runs")
        workload.set_up(limits.brands, limits.campaigns_per_brand, limits.contacts)
        workload.launch(later_within=limits.fault_seconds / 3)
        phase(
            f"{sum(len(b.campaigns) for b in workload.brands)} campaigns, one per brand launched, the others during the faults:"
        )
        nemesis.start()
        workload.run_in_background(limits.day_seconds)
        nemesis.wait(limits.fault_seconds + FAULTS_OVERRUN)  # every planned fault, each kind at least once
        nemesis.heal()
        phase("healed")
        workload.hurry()
        deadline = time.monotonic() + limits.finish_seconds
        while (left := workload.unfinished()) and time.monotonic() < deadline:
            time.sleep(1)
        workload.stop()
        phase(f"{len(left)} campaigns unfinished after the wait; checking")
        events = export_history(env, folder)
        sends = gmail_sends(google.messages(), step_keys(events)) + twilio_sends(
            twilio.messages, twilio.calls
        )
        verdict = check(events, sends, campaign_details(workload), audits(workload, env, folder))
        report.sends_checked, report.violations = verdict.sends_checked, verdict.violations
        phase("checked")
    except Exception as failed:  # the schedule could not be run to its end: that is reported too
        report.violations.append(Violation("schedule broke off", f"{type(failed).__name__}: {failed}"))
        (folder / "broke-off.txt").write_text(traceback.format_exc())
    finally:
        workload.stop()
        nemesis.heal()
        roles.stop()
        google.stop()
        twilio.server.shutdown()
        twilio.server.server_close()
    report.faults, report.fault_log = nemesis.injected, nemesis.log
    report.role_exits = roles.exits()
    report.answered = workload.recipients.given()
    report.seconds = time.monotonic() - started
    if not report.violations:
        shutil.rmtree(folder, ignore_errors=True)  # a failing schedule keeps its logs
    return report


def role_environment(
    database: str, bootstrap: str, prefix: str, api: str, google: FakeGoogle, twilio: FakeTwilio, folder: Path
) -> dict[str, str]:
    """Every role's environment: the schedule's database, broker and topic prefix, the fakes, the
    shared clock, little logging and rates no soak reaches."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "DATABASE_URL"))}
    return {
        **env,
        **UNLIMITED,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPIC_PREFIX": prefix,
        "KAFKA_START_TIMEOUT": "600",
        "CREDENTIALS_KEY": Fernet.generate_key().decode(),
        "UNSUBSCRIBE_SECRET": Fernet.generate_key().decode(),
        "PUBLIC_BASE_URL": api,
        "HOST": "127.0.0.1",
        "PORT": api.rsplit(":", 1)[1],
        "GMAIL_API_BASE_URL": google.api_base_url,
        "GMAIL_REPLY_POLL_SECONDS": "1",
        "TWILIO_API_BASE_URL": twilio.url,
        "CLOCK_OFFSET_FILE": str(folder / "clock-offset"),
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
    }


def export_history(env: dict[str, str], folder: Path) -> list[dict[str, Any]]:
    """Every event, in log order, as `events export` gives it to analysts."""
    out = folder / "history.jsonl"
    _cli(env, folder, "events", "export", "--format", "jsonl", "--out", str(out))
    return readable(json.loads(line) for line in out.read_text().splitlines() if line.strip())


def campaign_details(workload: Workload) -> Mapping[str, Mapping[str, Any] | None]:
    details: dict[str, Mapping[str, Any] | None] = {}
    for brand in workload.brands:
        for campaign in brand.campaigns:
            try:
                details[campaign] = workload.call(brand, "GET", f"/v1/campaign/{campaign}", timeout=30)
            except (TimeoutError, RuntimeError):
                details[campaign] = None
    return details


def audits(workload: Workload, env: dict[str, str], folder: Path) -> dict[str, int]:
    """`audit credits` and `audit consent` of every brand, by exit code (all at once)."""
    command = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "runtime.cli"]
    running = {
        f"audit {audit} --brand {brand.id}": subprocess.Popen(
            [*command, "audit", audit, "--brand", brand.id],
            cwd=folder,
            env=env,
            stdout=(folder / f"audit-{audit}-{brand.id}.txt").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for brand in workload.brands
        for audit in ("credits", "consent")
    }
    return {name: process.wait(300) for name, process in running.items()}


def _cli(
    env: dict[str, str], folder: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(CLI), *args], cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"campaign-service {' '.join(args)}: {done.stderr.strip()[-300:]}")
    return done
