"""The soak under random faults in short (decision record 25; `python -m soak` runs 20 schedules):
two schedules of fixed seeds, each with its own PostgreSQL and Kafka broker on free loopback ports
(the nemesis restarts them, so never the suite's), every role a process of its own, and a nemesis
that kills, pauses and restarts. No violation, every kind of fault injected in each schedule (a
nemesis that injected nothing proves nothing), and sends checked in each."""

from __future__ import annotations

from pathlib import Path

import pytest

from soak.nemesis import KINDS
from soak.run import soak, table
from soak.schedule import Limits

SEEDS = (11, 12)
SHORT = Limits(
    brands=1,
    campaigns_per_brand=2,
    contacts=4,
    fault_seconds=12,
    day_seconds=3,
    finish_seconds=120,
    extra_faults=(0, 1),
)


@pytest.mark.timeout(600)
@pytest.mark.serial  # restarts servers of its own and bounds its waits in wall time: alone, after the rest
def test_two_schedules_of_random_faults_break_no_promise(kafka_bootstrap: str, tmp_path: Path):
    # kafka_bootstrap only says whether a broker can run here; the soak starts its own.
    said: list[str] = []
    reports = soak(SEEDS, SHORT, said.append, tmp_path)
    print("\n".join(said), table(reports), sep="\n")
    assert [r.seed for r in reports] == list(SEEDS)
    for report in reports:
        assert report.violations == [], f"seed {report.seed}: {report.violations}"
        assert all(report.faults[kind] >= 1 for kind in KINDS), f"seed {report.seed}: {report.faults}"
        assert report.sends_checked > 0
