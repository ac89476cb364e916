"""A replay rebuilds every read model exactly as the live projector built it, over a varied history.

Two campaigns' contacts end in many states (sent, failed for good, deferred then sent, a reply
before anything went out and one that withdraws the later steps, a bounce, STOP texts, a one-click
unsubscribe, opens and clicks, a delivery report, a pause and a resume, completed and archived;
steps in flight and waiting),
each use case at a moment the test holds (tests/integration/desk.py) while the live projector
applies the log in its own batches. Then `rebuild` replays the whole log into copies (in one
process, or half of them in a helper process) and swaps them in: every table of every read model must hold the same rows. The checkpoints are cut where
the batches were, so for them what they add up to is compared: each campaign's counted moments
and figures.
"""

from __future__ import annotations

import gc
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

import pytest
from cryptography.fernet import Fernet

from commands.audience.suppressions import suppress
from commands.campaigns.campaign_lifecycle import archive_campaign, pause_campaign, resume_campaign
from commands.campaigns.complete_campaign import complete_campaign
from commands.inbound.bounces import record_bounce
from commands.inbound.delivery_reports import record_message_status
from commands.inbound.replies import record_reply_in_enrollment
from commands.inbound.texts_received import receive_text
from commands.sending.providers import SendOutcome
from commands.tracking.record_tracking import follow_click, record_open
from commands.tracking.tracking_tokens import TrackedStep
from domain.withdrawal import one_click_unsubscribe_words
from projections.shadow_rebuild import rebuild
from projections.step_funnels import FUNNEL
from runtime.bootstrap import PROJECTIONS, event_store_alone
from storage.event_decoding import EventDecoder, FinishesEvents
from tests.integration.desk import ROLES, Desk, ScriptedProvider
from tests.support import Client, eventually, running_service

LAUNCH = datetime(2037, 12, 7, 10, 0, tzinfo=UTC)  # after the real clock: the setup runs at real time
OK = SendOutcome(provider_message_id="ok")
BUSY = SendOutcome(error="421 try again later")
REFUSED = SendOutcome(error="550 mailbox unavailable", permanent=True)
STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello, see https://example.com/offer"},
    {"type": "WAIT", "group": 1, "wait_days": 2},
    {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
    {"type": "SMS", "group": 1, "body": "Hello by text"},
]
NAMES = ("ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy")
BATCH_CUT = "campaign_checkpoints"  # its rows follow the batches the log was applied in


def caught_up(d: Desk) -> None:
    """Wait until every read model has applied the whole log."""
    head = d.store.recorder.max_notification_id()

    def applied() -> bool:
        rows = d.service.db.fetch_all(
            "SELECT position FROM projection_positions WHERE projection = ANY(%s)",
            ([p.name for p in PROJECTIONS],),
        )
        return len(rows) == len(PROJECTIONS) and all(row["position"] >= head for row in rows)

    eventually(applied)


def read_models(d: Desk) -> dict[str, Any]:
    """Every row of every read model's tables, in an order of their own values."""
    found: dict[str, Any] = {}
    for model in PROJECTIONS:
        for table in model.tables:
            rows = d.service.db.fetch_all(f"SELECT * FROM {table}")
            if table == BATCH_CUT:
                found[table] = checkpoint_sums(rows)
            elif table == "step_funnel_moments":
                found[table] = sorted((sorted(row.items()) for row in net_listed(rows)), key=repr)
            else:
                found[table] = sorted((sorted(row.items()) for row in rows), key=repr)
    return found


def checkpoint_sums(rows: list[dict[str, Any]]) -> dict[UUID, tuple[Counter[str], list[Any]]]:
    """Per campaign, the figures its checkpoints add up to and every moment they list."""
    sums: dict[UUID, tuple[Counter[str], list[Any]]] = {}
    for row in rows:
        figures, moments = sums.setdefault(row["campaign_id"], (Counter(), []))
        figures.update(row["figures"])
        moments.extend(row["moments"])
    for _, moments in sums.values():
        moments.sort()
    return sums


def net_listed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The funnel's buckets with each minute's times listed net of those that left (in order), and
    none left empty: a batch that moved a first time earlier lists it in and out where one batch
    holding both events lists nothing (the counts are the same)."""
    kept = []
    for row in rows:
        listed = sorted((Counter(row["added"]) - Counter(row["removed"])).elements())
        if listed or any(row[name] for name in FUNNEL):
            kept.append({**row, "added": listed, "removed": []})
    return kept


def varied_history(d: Desk) -> None:
    """Three campaigns whose contacts end in many different states."""
    people = [{"email": f"{name}@example.com", "phone": f"+1415555020{i}"} for i, name in enumerate(NAMES)]
    campaign = d.campaign(people, STEPS)
    other = d.campaign(people[:1], STEPS[:1])  # Ann is in a second campaign too
    enrollments = d.launch(campaign, LAUNCH)
    ann, _, cy, dee, eve, _, _, _, _ = enrollments
    first, _, _, text = [step.id for step in d.enrollment(ann).plan]
    [ann_other] = d.launch(other, LAUNCH + timedelta(minutes=1))
    brand, db, store = d.client.brand_id, d.service.db, d.store
    receive_text(store, db, brand, people[8]["phone"], "who is this?", "SM1", LAUNCH + timedelta(minutes=5))

    sent = LAUNCH + timedelta(minutes=10)
    d.send(d.dispatch(enrollments, sent), sent)
    d.send(d.dispatch([ann_other], sent), sent)
    later = sent + timedelta(minutes=20)
    tokens = d.service.parts.tracking_tokens
    record_open(store, tokens, tokens.token(TrackedStep(brand, campaign, ann, first)), later)
    for clicker in (ann, dee):
        follow_click(store, tokens, tokens.token(TrackedStep(brand, campaign, clicker, first, 0)), later)
    record_reply_in_enrollment(store, dee, "email", "reply-1", later)
    record_bounce(store, db, brand, f"{eve}:{first}", "550 no such user", later)
    for name, sid in (("fay", "SM2"), ("gus", "SM3")):
        receive_text(store, db, brand, people[NAMES.index(name)]["phone"], "STOP", sid, later)
    suppress(store, db, brand, "hal@example.com", one_click_unsubscribe_words(campaign), later)

    resumed = later + timedelta(hours=2)
    pause_campaign(store, brand, campaign, later + timedelta(hours=1))
    resume_campaign(store, brand, campaign, resumed)
    d.send(d.dispatch([cy], resumed + timedelta(minutes=5)), resumed + timedelta(minutes=5))
    second_group = LAUNCH + timedelta(days=10)
    d.send(d.dispatch(enrollments, second_group), second_group)
    delivered = second_group + timedelta(minutes=3)
    record_message_status(store, db, brand, f"{ann}:{text}", "SM9", "delivered", None, delivered)
    assert complete_campaign(store, campaign, delivered + timedelta(days=1))
    archive_campaign(store, brand, campaign, delivered + timedelta(days=2))

    # A third campaign still running: one contact's first email in flight, the other's sent and
    # its next group waiting.
    third = d.campaign(people[:2], STEPS)
    started = delivered + timedelta(days=3)
    waiting, _ = d.launch(third, started)
    d.send(d.dispatch([waiting], started), started)


@pytest.mark.parametrize("helped", [False, True], ids=["one process", "with a helper process"])
def test_a_replay_rebuilds_every_read_model_as_the_live_projector_built_it(database_url, helped):
    script = {"bob@example.com": [REFUSED, OK], "cy@example.com": [BUSY, OK]}
    with running_service(database_url, roles=ROLES, unsubscribe_secret="replay-signing-secret") as service:
        d = Desk(service, Client(service), ScriptedProvider(per_address=script))
        d.client.sender("email", "sales@brand.example")
        d.client.sender("sms", "+14155550100")
        varied_history(d)
        caught_up(d)
        live = read_models(d)

        helper = partial(event_store_alone, service.parts.child_settings) if helped else None
        through = rebuild(d.store, d.service.db, PROJECTIONS, helper=helper)
        assert gc.isenabled()  # the cycle collector, paused while the log is applied, is back

        head = d.store.recorder.max_notification_id()
        assert through == {p.name: head for p in PROJECTIONS}
        replayed = read_models(d)
    assert set(replayed) == {table for p in PROJECTIONS for table in p.tables}
    for table, rows in live.items():
        assert replayed[table] == rows, f"{table} rebuilt otherwise than the live projector built it"
    assert len(live["step_executions"]) == 9 * 3 + 1 + 2 * 3 and len(live["deliverability_sends"]) > 9
    assert all(live.values()), [table for table, rows in live.items() if not rows]


def test_the_logs_faster_reading_gives_the_mappers_events_over_the_varied_history(database_url):
    sealed = {"credentials_key": Fernet.generate_key().decode()}  # personal data sealed, as in production
    with running_service(
        database_url, roles=ROLES, unsubscribe_secret="replay-signing-secret", **sealed
    ) as service:
        d = Desk(service, Client(service), ScriptedProvider())
        d.client.sender("email", "sales@brand.example")
        d.client.sender("sms", "+14155550100")
        varied_history(d)
        notes = d.store.recorder.select_notifications(1, 100_000)
        fast = EventDecoder(d.store.mapper)
        assert isinstance(d.store.mapper, FinishesEvents)
        for note in notes:
            wanted = d.store.mapper.to_domain_event(note)
            got = fast.decode(note.originator_id, note.originator_version, note.topic, note.state)
            assert type(got) is type(wanted) and list(vars(got).items()) == list(vars(wanted).items())
        assert len({note.topic for note in notes}) > 20
