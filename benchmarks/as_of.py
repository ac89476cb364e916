"""Benchmark: `GET /v1/campaign/{id}?as_of=` on a large campaign, beside a plain GET of it in the same run.

Starts an embedded PostgreSQL in a temporary folder (loopback only), makes a brand and one
launched campaign of N contacts (default 100,000) whose enrollments are written as the service
writes them (each: enrolled, its EMAIL and SMS steps dispatched, attempted and sent; copies of
one enrollment's events, benchmarks/history_seed.py's template), a batch of 1,000 contacts a
minute, each batch's credits consumed on the brand's ledger after it (as settlement does), then
rebuilds the read models (`campaign-service replay`, which writes the campaign's checkpoints) and
times, through the app in this process (FastAPI's test client, no network), `--repeat` plain GETs
and as many GETs as of each of several moments of the campaign's life: its launch, a quarter,
half and three quarters through its sends (each between two events of a batch), and after the
last send. Prints p50 and p95 of each and the ratio of the as-of p95 to the plain GET's; then one
as-of answered by folding every event (the reference, as before the checkpoints), once. Then the
console's campaign page (`--console-repeat` renders of each), signed in as the brand, in the same run: now (the live page) and As of
each of the same moments (its funnel and its first page of StepExecutions as of then), with the
ratio of each p95 to the plain GET's and to the live page's; the part of the page As of changes
alone (its funnel and first page of executions, called as the page calls them), now and as of
each moment; then one As of page's funnel and executions answered by folding every enrollment's
events (the reference, as before), once.

    .venv/bin/python -m benchmarks.as_of [--contacts 100000] [--repeat 100] [--console-repeat 20]
        [--projector-batch 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg

from storage.compact_states import expanded, stored_like

BATCH = 1_000  # contacts enrolled and sent together, a minute apart
NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _shifted(state: bytes, times: list[datetime], by: timedelta) -> bytes:
    for at in times:
        state = state.replace(at.isoformat().encode(), (at + by).isoformat().encode())
    return state


def seed(url: str, contacts: int) -> tuple[str, UUID, UUID, int]:
    """A brand with a launched campaign of `contacts` enrollments sent a batch a minute and
    settled; (api key, brand id, campaign id, batches)."""
    from benchmarks.history_seed import STEPS, _template
    from commands.application import CampaignApplication
    from commands.credits.brands import create_brand
    from domain.campaign import Campaign
    from domain.credit_ledger import Plan
    from domain.enrollment import Enrollment
    from domain.steps import Step
    from storage.database import Database, event_store_env
    from storage.schema import upgrade

    upgrade(url)
    store = CampaignApplication(env=event_store_env(url))
    db = Database(url)
    brand = create_brand(store, db, "bench as_of", Plan.PREMIUM, NOW)
    ledger = store.ledger(brand.brand_id)
    ledger.grant(4 * contacts, "benchmark top-up", NOW)
    campaign = Campaign.create(
        uuid4(), brand.brand_id, "bench as_of", [Step.from_dict(s) for s in STEPS], NOW
    )
    campaign.launch(NOW, 2 * contacts)
    ledger.reserve(campaign.id, 2 * contacts, NOW)
    store.save(ledger, campaign)
    template = _template(store, campaign, brand.brand_id, NOW)
    times = [NOW + timedelta(seconds=1), NOW]  # the template's times (the later first: not a prefix)
    base_id = template[0].originator_id
    batches = (contacts + BATCH - 1) // BATCH
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for batch in range(batches):
            by = timedelta(minutes=batch)
            people = [uuid4() for _ in range(min(BATCH, contacts - batch * BATCH))]
            ids = [Enrollment.create_id(campaign.id, person) for person in people]
            with cur.copy(
                "COPY campaigns_events (originator_id, originator_version, topic, state) FROM STDIN"
            ) as copy:
                for stored in template:
                    moved = _shifted(expanded(stored.state), times, by)  # the JSON, also if compacted
                    for enrollment_id, person in zip(ids, people, strict=True):
                        state = (
                            moved.replace(base_id.hex.encode(), enrollment_id.hex.encode())
                            .replace(str(base_id).encode(), str(enrollment_id).encode())
                            .replace(UUID(int=0).hex.encode(), person.hex.encode())
                        )
                        state = stored_like(stored.state, state)  # stored as it was
                        copy.write_row((enrollment_id, stored.originator_version, stored.topic, state))
            with cur.copy("COPY launch_audiences (campaign_id, contact_id) FROM STDIN") as copy:
                for person in people:
                    copy.write_row((campaign.id, person))
            conn.commit()
            ledger = store.ledger(brand.brand_id)  # settlement: the batch's sends consume their credits
            ledger.consume(campaign.id, 2 * len(people), NOW + by + timedelta(seconds=2))
            store.save(ledger)
        conn.execute("ANALYZE campaigns_events")
        conn.commit()
    db.close()
    store.close()
    return brand.api_key, brand.brand_id, campaign.id, batches


def percentiles(took: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(took)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


def timed(get: Any, path: str, params: dict[str, str], repeat: int) -> tuple[float, float]:
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = get(path, params=params)
        took.append(time.perf_counter() - started)
        assert answer.status_code == 200, (path, params, answer.status_code, answer.text[:300])
    return percentiles(took)


MOMENTS = ("its launch", "a quarter through", "half through", "three quarters through", "after the last send")


@dataclass(frozen=True)
class Seeded:
    """A database with the campaign written and its read models (checkpoints included) rebuilt."""

    api_key: str
    brand_id: UUID
    campaign_id: UUID
    batches: int
    events: int
    checkpoints: int
    checkpoint_bytes: int  # on disk, the table with its index and TOAST
    seconds: float

    def moment(self, name: str) -> datetime:
        half_second = timedelta(milliseconds=500)  # between a batch's enrolment and its sends
        return {
            "its launch": NOW,
            "a quarter through": NOW + timedelta(minutes=self.batches // 4) + half_second,
            "half through": NOW + timedelta(minutes=self.batches // 2) + half_second,
            "three quarters through": NOW + timedelta(minutes=3 * self.batches // 4) + half_second,
            "after the last send": NOW + timedelta(minutes=self.batches, hours=1),
        }[name]


def seeded(url: str, contacts: int, projector_batch: int | None = None) -> Seeded:
    """The campaign of `contacts` written (`seed`) and the read models rebuilt: by `replay`, or,
    given `projector_batch`, by the projector itself in batches of that many events, as a live
    projector that kept up writes them (more, smaller checkpoints for the read model to merge)."""
    started = time.perf_counter()
    api_key, brand_id, campaign_id, batches = seed(url, contacts)
    if projector_batch is None:
        subprocess.run(
            [sys.executable, "-m", "runtime.cli", "replay"],
            env={**os.environ, "DATABASE_URL": url},
            check=True,
            stdout=subprocess.DEVNULL,
        )
    else:
        _project(url, projector_batch)
    with psycopg.connect(url, autocommit=True) as conn:
        events = conn.execute("SELECT count(*) FROM campaigns_events").fetchone()[0]  # type: ignore[index]
        checkpoints = conn.execute("SELECT count(*) FROM campaign_checkpoints").fetchone()[0]  # type: ignore[index]
        size = conn.execute("SELECT pg_total_relation_size('campaign_checkpoints')").fetchone()[0]  # type: ignore[index]
    took = time.perf_counter() - started
    return Seeded(api_key, brand_id, campaign_id, batches, events, checkpoints, size, took)


def _project(url: str, batch: int) -> None:
    from commands.application import CampaignApplication
    from projections.projector import Projector
    from projections.runner import ReadModelRunner
    from runtime.bootstrap import PROJECTIONS
    from storage.database import Database, event_store_env

    store = CampaignApplication(env=event_store_env(url))
    db = Database(url)
    try:
        runners = [ReadModelRunner(store, db, projection, batch) for projection in PROJECTIONS]
        projector = Projector(store, db, runners, batch)
        while projector.run_once() or projector.apart:
            pass
    finally:
        db.close()
        store.close()


def measure(
    url: str, campaign: Seeded, repeat: int, shown: Callable[[str], None] = print, console_repeat: int = 0
) -> dict[str, tuple[float, float]]:
    """p50 and p95 (ms) of a plain GET (before and after: "plain GET", "plain GET again"), of the
    GET as of each of `MOMENTS`, and of one full fold ("folded", once: p50 = p95), each shown as a
    table row as it is measured; given `console_repeat`, the console's pages too (`_console`)."""
    from fastapi.testclient import TestClient

    from projections.campaign_history import campaign_as_of
    from runtime.service import build_service
    from runtime.settings import Settings

    # No rate limit in the way: the requests come one after another, faster than a brand's share.
    unlimited: dict[str, object] = {"rate_limit_premium_per_second": 1e6, "rate_limit_premium_burst": 10**6}
    container = build_service(Settings(database_url=url, **unlimited))  # type: ignore[arg-type]
    figures: dict[str, tuple[float, float]] = {}
    try:
        client = TestClient(container.http_app(), headers={"Authorization": f"Bearer {campaign.api_key}"})
        path = f"/v1/campaign/{campaign.campaign_id}"
        timed(client.get, path, {}, 5)  # warm up
        shown("| request | p50 | p95 | p95 / plain GET p95 |")
        shown("| --- | ---: | ---: | ---: |")
        plain = figures["plain GET"] = timed(client.get, path, {}, repeat)
        shown(f"| plain GET (anchor) | {plain[0]:.1f} ms | {plain[1]:.1f} ms | 1.0 |")
        for name in MOMENTS:
            p50, p95 = figures[name] = timed(
                client.get, path, {"as_of": campaign.moment(name).isoformat()}, repeat
            )
            shown(f"| as_of {name} | {p50:.1f} ms | {p95:.1f} ms | {p95 / plain[1]:.1f} |")
        again = figures["plain GET again"] = timed(client.get, path, {}, repeat)
        shown(f"| plain GET again (anchor) | {again[0]:.1f} ms | {again[1]:.1f} ms | 1.0 |")
        started = time.perf_counter()
        row = campaign_as_of(
            container.parts.store,
            container.parts.db,
            campaign.brand_id,
            campaign.campaign_id,
            campaign.moment("half through"),
            fold_every_event=True,
        )
        assert row is not None
        folded = (time.perf_counter() - started) * 1000
        figures["folded"] = (folded, folded)
        shown(f"| as_of half through, every event folded (before; once) | {folded:.0f} ms | | |")
        if console_repeat:
            figures |= _console(container, campaign, console_repeat, plain[1], shown)
        return figures
    finally:
        container.close()


def _console(
    container: Any, campaign: Seeded, repeat: int, plain_p95: float, shown: Callable[[str], None]
) -> dict[str, tuple[float, float]]:
    """p50 and p95 (ms) of the console's campaign page now ("console now") and As of each of
    `MOMENTS` ("console <moment>"), and of the As of page's funnel and executions folded from every
    event ("console folded", once), each shown as a table row as it is measured."""
    import re

    from fastapi.testclient import TestClient

    from api.console.campaign_pages import PAGE_SIZE
    from projections.campaign_moments import executions_as_of, funnels_as_of, step_funnels_now, steps_as_of
    from projections.step_executions import executions

    browser = TestClient(container.http_app())
    form = browser.get("/console/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    browser.post("/console/sign-in", data={"api_key": campaign.api_key, "csrf_token": token})
    page = f"/console/campaigns/{campaign.campaign_id}"
    timed(browser.get, page, {}, 3)  # warm up
    figures: dict[str, tuple[float, float]] = {}
    shown("")
    shown("| console page | p50 | p95 | p95 / plain GET p95 | p95 / console now p95 |")
    shown("| --- | ---: | ---: | ---: | ---: |")
    live = figures["console now"] = timed(browser.get, page, {}, repeat)
    shown(f"| console now (anchor) | {live[0]:.1f} ms | {live[1]:.1f} ms | {live[1] / plain_p95:.1f} | 1.0 |")
    for name in MOMENTS:
        as_of = campaign.moment(name).isoformat().replace("+00:00", "Z")
        p50, p95 = figures[f"console {name}"] = timed(browser.get, page, {"as_of": as_of}, repeat)
        shown(
            f"| console As of {name} | {p50:.1f} ms | {p95:.1f} ms | {p95 / plain_p95:.1f} | {p95 / live[1]:.1f} |"
        )
    again = figures["console now again"] = timed(browser.get, page, {}, repeat)
    shown(
        f"| console now again (anchor) | {again[0]:.1f} ms | {again[1]:.1f} ms | {again[1] / plain_p95:.1f} | 1.0 |"
    )
    store, db, found = container.parts.store, container.parts.db, campaign.campaign_id
    shown("")
    shown(
        "| the page's funnel and first page of executions (what As of changes) | p50 | p95 | p95 / now p95 |"
    )
    shown("| --- | ---: | ---: | ---: |")
    now = figures["funnel and page now"] = _called(
        lambda: (step_funnels_now(store, db, found, 0), executions(db, found, None, None, PAGE_SIZE, None)),
        repeat,
    )
    shown(
        f"| now (anchor: the read model's grouped count and first page) | {now[0]:.1f} ms | {now[1]:.1f} ms | 1.0 |"
    )
    for name in MOMENTS:
        moment = campaign.moment(name)
        p50, p95 = figures[f"funnel and page {name}"] = _called(
            lambda moment=moment: (  # type: ignore[misc]
                funnels_as_of(store, db, found, moment),
                executions_as_of(store, db, found, moment, None, None, 0, PAGE_SIZE + 1),
            ),
            repeat,
        )
        shown(f"| as of {name} | {p50:.1f} ms | {p95:.1f} ms | {p95 / now[1]:.1f} |")
    started = time.perf_counter()
    steps_as_of(store, db, found, campaign.moment("half through"))
    folded = (time.perf_counter() - started) * 1000
    figures["console folded"] = (folded, folded)
    shown(
        f"| As of half through: funnel and executions, every event folded (before; once) | {folded:.0f} ms | | | |"
    )
    return figures


def _called(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        took.append(time.perf_counter() - started)
    return percentiles(took)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument(
        "--console-repeat",
        type=int,
        default=20,
        help="renders of each console page (0: the API alone); the pages take far longer than a GET",
    )
    parser.add_argument(
        "--projector-batch",
        type=int,
        help="build the read models with the projector in batches of this many events (the service's"
        " default is 500), as a live projector writes its checkpoints, instead of with replay",
    )
    args = parser.parse_args(argv)
    from runtime.embedded_postgres import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="bench-as-of-") as folder:
        server = EmbeddedPostgres(Path(folder) / "pg", durable=False)
        url = server.start()
        try:
            campaign = seeded(url, args.contacts, args.projector_batch)
            print(f"p50 and p95 of {args.repeat} requests each\n", flush=True)
            measure(url, campaign, args.repeat, lambda line: print(line, flush=True), args.console_repeat)
        finally:
            server.stop()
    print(
        f"\n({args.contacts:,} contacts, {campaign.events:,} stored events, {campaign.checkpoints:,} checkpoints"
        f" in {campaign.checkpoint_bytes / 2**20:.1f} MiB;"
        f" seeded and read models rebuilt in {campaign.seconds:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
