"""A campaign's events, paged through its positions read model, are exactly those every stream holds.

Brand A's campaign of four contacts is launched and half sent; brand B's is launched and sent
between; 4,200 events of B's ledger follow, so A's history spans two blocks of the read model (a
row holds one block of 4,096 log positions); then A's other sends, a pause and a resume. Paged
from any cursor with any page size, A's events are the streams' read (the campaign's own events
and its enrollments', in log order: what the page read before the read model), never one of B's;
after the last event a page is empty with no cursor. With the read model held back (its events in
the log's tail), too far behind, or with an event parked, the page is the same. On the console, As
of a moment, the events are the live page's up to that moment. The page's reads go through the
indexes (the read model's key, the log position), not through every enrollment's stream
(the read model's own rules: tests/integration/test_campaign_event_positions.py).
"""

from __future__ import annotations

import html as markup
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from commands.campaigns.campaign_lifecycle import pause_campaign, resume_campaign
from projections import campaign_events as history
from projections.campaign_event_positions import (
    BLOCK_BITS,
    NAME,
    POSITIONS_AFTER,
    positions_after,
)
from storage.paging import page_by_position
from tests.api.console_support import signed_in
from tests.integration.desk import ROLES, Desk, ScriptedProvider, desk_for_a_new_brand
from tests.support import Client, eventually, running_service

LAUNCH = datetime(2037, 12, 7, 10, 0, tzinfo=UTC)  # after the real clock: the setup runs at real time
STEPS = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]
NOISE = 4_200  # events of another brand between the campaign's: past a block of positions
EVENT = re.compile(r"<tr><td>(\d+)</td><td>(\w+)</td>")


def _history(d: Desk, other: Desk) -> tuple[UUID, UUID]:
    """Campaign A's life with B's campaign and many other events between; (A, B)."""
    mine = d.campaign([{"email": f"{name}@example.com"} for name in ("ann", "bob", "cy", "dee")], STEPS)
    theirs = other.campaign([{"email": "eve@example.com"}, {"email": "fay@example.com"}], STEPS)
    enrollments = d.launch(mine, LAUNCH)
    d.send(d.dispatch(enrollments[:2], LAUNCH), LAUNCH)
    later = LAUNCH + timedelta(minutes=1)
    other.send(other.dispatch(other.launch(theirs, later), later), later)
    ledger = other.store.ledger(other.client.brand_id)
    for n in range(NOISE):
        ledger.grant(1, f"top-up {n}", later)
    other.store.save(ledger)
    _rest_of_the_life(d, mine, enrollments[2:], LAUNCH + timedelta(hours=1))
    return mine, theirs


def _rest_of_the_life(d: Desk, campaign: UUID, enrollments: list[UUID], at: datetime) -> None:
    d.send(d.dispatch(enrollments, at), at)
    pause_campaign(d.store, d.client.brand_id, campaign, at + timedelta(minutes=1))
    resume_campaign(d.store, d.client.brand_id, campaign, at + timedelta(minutes=2))


def _streams(d: Desk, campaign: UUID) -> list[int]:
    """The reference: every event of the campaign's stream and its leads' enrollments, in log order."""
    query = history._query(d.store, history.IN_THE_STREAMS)
    rows = d.service.db.fetch_all(query, {"campaign": campaign, "after": 0, "limit": 10**6})
    return [row["position"] for row in rows]


def _paged(d: Desk, campaign: UUID, limit: int) -> list[int]:
    """Every page of the campaign's events from the first, `limit` to a page, each in order."""
    found: list[int] = []
    cursor = None
    while True:
        items, cursor = history.campaign_events(d.store, d.service.db, campaign, limit, cursor)
        positions = [item["position"] for item in items]
        assert positions == sorted(positions) and len(positions) <= limit
        assert all(item["aggregate_id"] for item in items)
        found += positions
        if cursor is None:
            return found
        assert len(positions) == limit


def _same_in_every_page_size(d: Desk, campaign: UUID) -> list[int]:
    reference = _streams(d, campaign)
    for limit in (1, 3, 50, 500):
        assert _paged(d, campaign, limit) == reference, f"{limit} to a page"
    return reference


def _caught_up(d: Desk) -> None:
    head = d.store.recorder.max_notification_id()
    eventually(lambda: positions_after(d.service.db, UUID(int=0), 0, 1)[0] >= head)


@contextmanager
def _held_back(url: str) -> Iterator[None]:
    """The read model's runner waits (its batch's lock is taken) until the block ends."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (NAME,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (NAME,))


@contextmanager
def _two_brands(database_url: str) -> Iterator[tuple[Any, Desk, Desk, UUID, UUID]]:
    """A service, the brand under test and another, each with a sender and the history `_history`
    writes, the projector caught up: (service, desk, other's desk, its campaign, the other's)."""
    with running_service(database_url, roles=ROLES) as service:
        d = Desk(service, Client(service), ScriptedProvider())
        d.client.sender("email", "sales@brand.example")
        other = desk_for_a_new_brand(service)
        other.client.sender("email", "sales@other.example")
        mine, theirs = _history(d, other)
        _caught_up(d)
        yield service, d, other, mine, theirs


def test_a_campaigns_events_page_as_every_stream_holds_them_across_blocks_and_never_another_brands(
    database_url,
):
    with _two_brands(database_url) as (service, d, other, mine, theirs):
        reference = _same_in_every_page_size(d, mine)
        assert reference[0] >> BLOCK_BITS < reference[-1] >> BLOCK_BITS  # the history spans blocks
        assert len(reference) == 16 and reference[-1] > NOISE  # created, launched, 4 x 3, paused, resumed
        assert set(reference).isdisjoint(_same_in_every_page_size(other, theirs))
        # from any position on: the rest of the history, also past its last event (an empty page)
        for after in (reference[0] - 1, reference[5], (reference[-1] >> BLOCK_BITS << BLOCK_BITS) - 1):
            rows = history._rows(d.store, service.db, mine, after, 10**6)
            assert [row["position"] for row in rows] == [p for p in reference if p > after]
        last = history.campaign_events(d.store, service.db, mine, len(reference), None)[1]
        assert last is None
        past_the_last = page_by_position([{"position": reference[-1]}, {"position": 0}], 1)[1]
        assert history.campaign_events(d.store, service.db, mine, 5, past_the_last) == ([], None)

        # another brand asks for A's events: not found, as an unknown campaign
        assert Client(service).get(f"/v1/campaign/{mine}/events").status_code == 404


def test_the_page_is_the_same_with_the_read_model_behind_too_far_behind_or_with_an_event_parked_and_only_its_brands_parked_event_slows_it(
    database_url, monkeypatch
):
    with _two_brands(database_url) as (service, d, other, mine, theirs):
        with _held_back(database_url):  # a pause and a resume more of each campaign, in the tail
            for desk, campaign in ((d, mine), (other, theirs), (d, mine)):
                pause_campaign(desk.store, desk.client.brand_id, campaign, LAUNCH + timedelta(hours=3))
                resume_campaign(desk.store, desk.client.brand_id, campaign, LAUNCH + timedelta(hours=4))
            position, _, _ = positions_after(service.db, mine, 0, 1)
            tail = d.store.recorder.max_notification_id() - position
            assert tail > 0
            reference = _same_in_every_page_size(d, mine)  # the last events from the log's tail
            assert reference[-1] > position

            monkeypatch.setattr(history, "MAX_TAIL", tail - 1)  # too far behind: every stream read
            assert _same_in_every_page_size(d, mine) == reference
            monkeypatch.undo()

            with service.db.transaction() as cur:  # an event the read model could not apply
                cur.execute(
                    """INSERT INTO parked_items (follower, item, error, attempts, status)
                       VALUES (%s, %s, 'boom', 3, 'parked')""",
                    (f"projection:{NAME}", str(reference[-1])),
                )
            assert _same_in_every_page_size(d, mine) == reference
            assert positions_after(service.db, mine, 0, 1)[1]  # a brand not known: maybe the campaign's
            # Another brand's parked event cannot be this campaign's: its pages stay on the read model.
            for brand, slowed in ((other.client.brand_id, False), (d.client.brand_id, True)):
                service.db.execute(
                    "UPDATE parked_items SET brand_id = %s WHERE follower = %s", (brand, f"projection:{NAME}")
                )
                assert positions_after(service.db, mine, 0, 1)[1] is slowed
                assert _same_in_every_page_size(d, mine) == reference
            service.db.execute("DELETE FROM parked_items WHERE follower = %s", (f"projection:{NAME}",))
        _caught_up(d)
        assert _same_in_every_page_size(d, mine) == reference


def test_as_of_a_moment_the_console_shows_the_live_pages_events_up_to_it(database_url):
    with _two_brands(database_url) as (service, d, _other, mine, theirs):
        browser = signed_in(service, d.client.api_key)
        page = f"/console/campaigns/{mine}"
        live = EVENT.findall(browser.get(page).text)
        items = history.campaign_events(d.store, service.db, mine, 50, None)[0]
        assert [int(position) for position, _ in live] == [item["position"] for item in items]
        moment = LAUNCH + timedelta(minutes=30)  # after the first sends, before the rest
        shown = browser.get(page, params={"as_of": moment.isoformat().replace("+00:00", "Z")}).text
        kept = [
            (str(item["position"]), item["type"])
            for item in items
            if datetime.fromisoformat(item["occurred_at"]) <= moment
        ]
        assert EVENT.findall(shown) == kept and 0 < len(kept) < len(live)
        assert "Next events" not in markup.unescape(shown)
        assert browser.get(f"/console/campaigns/{theirs}").status_code == 404


def test_a_page_reads_the_read_models_key_the_log_position_and_the_tails_leads_by_key(database_url):
    with _two_brands(database_url) as (service, d, _other, mine, _):
        positions = positions_after(service.db, mine, 0, 51)[2]
        with psycopg.connect(database_url, row_factory=dict_row) as conn:
            conn.execute(  # the rows of many other campaigns, as a service holds them
                """INSERT INTO campaign_event_positions (campaign_id, block, positions)
                   SELECT gen_random_uuid(), n % 50, ARRAY[n] FROM generate_series(1, 5000) AS n"""
            )
            conn.execute(  # and a large campaign's leads, so that its leads are many to look through
                """INSERT INTO campaign_leads (enrollment_id, campaign_id, contact_id, state, created_at)
                   SELECT gen_random_uuid(), %s, gen_random_uuid(), 'finished', now()
                   FROM generate_series(1, 20000)""",
                (mine,),
            )
            conn.execute("ANALYZE")
            params = {"name": NAME, "follower": f"projection:{NAME}", "campaign": mine}
            params |= {"after": 0, "first": 0, "limit": 51}
            walk = _plan(conn, POSITIONS_AFTER, params)
            page = _plan(
                conn, history._query(d.store, history.BY_POSITION).as_string(conn), {"positions": positions}
            )
            tail_params = {"campaign": mine, "after": 0, "limit": 51}
            tail = _plan(conn, history._query(d.store, history.IN_THE_TAIL).as_string(conn), tail_params)
        assert (
            "campaign_event_positions_pkey" in walk and "Seq Scan on campaign_event_positions" not in walk
        ), walk
        assert "notification_id_idx" in page and "Seq Scan" not in page and "campaign_leads" not in page, page
        # the log past the read model: from the position on, each row's lead by its key, not every lead
        assert "notification_id_idx" in tail and "campaign_leads_pkey" in tail, tail
        assert "hashed" not in tail and "Seq Scan on campaign_leads" not in tail, tail


def _plan(conn: psycopg.Connection, query: str, params: dict[str, object]) -> str:
    return "\n".join(row["QUERY PLAN"] for row in conn.execute("EXPLAIN " + query, params))  # type: ignore[arg-type]
