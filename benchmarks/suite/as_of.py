"""Scenario `as_of`: `GET /v1/campaign/{id}?as_of=` on a campaign of N contacts (default 100,000),
written as the service writes it a batch a minute and its read models rebuilt (benchmarks/as_of.py),
at several moments of its life; each moment's p95 beside the anchor, a plain GET's p95 of the same
campaign in the same run (the target: within 5x)."""

from __future__ import annotations

from benchmarks.as_of import MOMENTS, measure, seeded
from benchmarks.suite.infrastructure import Infrastructure
from benchmarks.suite.results import Results

ANCHOR = "anchor: plain GET p95"
REQUESTS = 100  # of each kind, per run


def run(infra: Infrastructure, results: Results, contacts: int, repeat: int) -> None:
    scenario = f"as_of, {contacts:,} contacts"
    for attempt in range(repeat):
        print(f"  {scenario}: run {attempt + 1}/{repeat}", flush=True)
        url = infra.fresh_database()
        try:
            figures = measure(url, seeded(url, contacts), REQUESTS, shown=lambda line: None)
        finally:
            infra.drop_database(url)
        results.add(scenario, ANCHOR, "ms", figures["plain GET"][1])
        for name in MOMENTS:
            results.add(scenario, f"p95 as of {name}", "ms", figures[name][1], anchor=ANCHOR)
        results.add(scenario, "as of half through, every event folded (before)", "ms", figures["folded"][1])
