"""A soak run: its own PostgreSQL and Kafka broker on loopback (started once, each schedule on a
fresh database and topic prefix), the schedules one after another, and the table over them all."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from soak.nemesis import KINDS
from soak.recipients import ANSWERS
from soak.schedule import Limits, ScheduleReport, run_schedule
from soak.servers import KafkaBroker, Postgres


def soak(
    seeds: Iterable[int], limits: Limits, say: Callable[[str], None], folder: Path | None = None
) -> list[ScheduleReport]:
    """Runs a schedule per seed; each schedule's report, printed as it ends."""
    scratch = Path(tempfile.mkdtemp(prefix="campaign-soak-", dir=folder))
    say(f"soak: servers and logs under {scratch}")
    postgres = Postgres(scratch / "pg")
    kafka: KafkaBroker | None = None
    reports = []
    try:
        kafka = KafkaBroker(scratch / "kafka")
        for seed in seeds:
            report = run_schedule(seed, postgres, kafka, scratch / f"schedule-{seed}", limits, say)
            say(line(report))
            for violation in report.violations:
                say(f"    VIOLATION (seed {seed}): {violation}")
            reports.append(report)
    finally:
        if kafka is not None:
            kafka.close()
        postgres.stop()
        if all(not r.violations for r in reports):
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            say(f"soak: the failing schedules' logs are kept under {scratch}")
    return reports


def line(report: ScheduleReport) -> str:
    faults = " ".join(f"{kind}={report.faults[kind]}" for kind in KINDS)
    exits = ", ".join(f"{kind} {n}" for kind, n in sorted(report.role_exits.items())) or "none"
    answered = " ".join(f"{kind}={report.answered[kind]}" for kind in ANSWERS)
    return (
        f"seed {report.seed}: {report.seconds:5.1f} s, faults {faults}, role exits: {exits};"
        f" recipients' answers {answered}; sends checked {report.sends_checked},"
        f" violations {len(report.violations)}"
    )


def table(reports: list[ScheduleReport]) -> str:
    """The summary over every schedule, and the command that replays each failing one."""
    head = (
        f"{'seed':>12} {'s':>6} "
        + " ".join(f"{k:>8}" for k in KINDS)
        + f" {'exits':>6} {'sends':>6} {'viol.':>6}"
    )
    rows = [head, "-" * len(head)]
    for r in reports:
        counts = " ".join(f"{r.faults[k]:>8}" for k in KINDS)
        exits = sum(r.role_exits.values())
        rows.append(
            f"{r.seed:>12} {r.seconds:6.1f} {counts} {exits:>6} {r.sends_checked:>6} {len(r.violations):>6}"
        )
    total = " ".join(f"{sum(r.faults[k] for r in reports):>8}" for k in KINDS)
    seconds = sum(r.seconds for r in reports)
    rows.append("-" * len(head))
    rows.append(
        f"{'all':>12} {seconds:6.0f} {total} {sum(sum(r.role_exits.values()) for r in reports):>6}"
        f" {sum(r.sends_checked for r in reports):>6} {sum(len(r.violations) for r in reports):>6}"
    )
    for r in reports:
        if r.violations:
            rows.append(f"replay seed {r.seed}: python -m soak --seed {r.seed} --schedules 1")
    return "\n".join(rows)
