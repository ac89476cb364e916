"""`as_of` from checkpoints answers what folding every event answers, at every moment of a campaign's life.

A campaign of six contacts is launched, half its emails are sent (one of them recorded after, but
stamped before, a send of another contact: times out of order against the log), credits settle,
it is paused and resumed, the rest are sent, a reply and a bounce come in, and it completes. With
the projector caught up (checkpoints written), the campaign as of each moment (each event's own
time, a microsecond before and after it, and moments between) equals the full fold's, over the
API and on the console's As of page alike; with no projector running (no checkpoint, every counted
event in the log's tail) it is the same again; and with an event of the checkpoints parked (so
missing from their rows) it folds every event rather than answer otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from commands.campaigns.campaign_lifecycle import pause_campaign, resume_campaign
from commands.campaigns.complete_campaign import complete_campaign
from commands.inbound.bounces import record_bounce
from commands.inbound.replies import record_reply_in_enrollment
from projections.campaign_checkpoints import checkpointed_figures
from projections.campaign_history import campaign_as_of
from runtime.bootstrap import PROJECTIONS
from tests.api.console_support import signed_in
from tests.integration.desk import ROLES, Desk, ScriptedProvider
from tests.support import Client, eventually, running_service

LAUNCH = datetime(2037, 12, 7, 10, 0, tzinfo=UTC)  # after the real clock: the setup runs at real time
STEPS = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]
NAMES = ("ann", "bob", "cy", "dee", "eve", "fay")


def _caught_up(d: Desk) -> None:
    head = d.store.recorder.max_notification_id()

    def applied() -> bool:
        rows = d.service.db.fetch_all(
            "SELECT position FROM projection_positions WHERE projection = ANY(%s)",
            ([p.name for p in PROJECTIONS],),
        )
        return len(rows) == len(PROJECTIONS) and all(row["position"] >= head for row in rows)

    eventually(applied)


def _moments(d: Desk, campaign: UUID, marks: list[datetime]) -> list[datetime]:
    """Each event time of the campaign's history, a microsecond either side, and the marks."""
    items = d.client.ok(d.client.get(f"/v1/campaign/{campaign}/events", params={"limit": 500}))["items"]
    times = {datetime.fromisoformat(item["occurred_at"]) for item in items} | set(marks)
    around = {t + timedelta(microseconds=shift) for t in times for shift in (-1, 0, 1)}
    return sorted(around)


def _life(d: Desk, campaign: UUID) -> list[datetime]:
    """The campaign's life, driven at chosen moments; the moments worth looking at."""
    brand = d.client.brand_id
    enrollments = d.launch(campaign, LAUNCH)
    first_half, second_half = enrollments[:3], enrollments[3:]
    mid_send = LAUNCH + timedelta(minutes=10)
    d.send(d.dispatch(first_half[1:], mid_send), mid_send)
    early = LAUNCH + timedelta(minutes=5)  # recorded after the sends above, stamped before them
    d.send(d.dispatch(first_half[:1], early), early)
    d.settle(mid_send)
    paused, resumed = mid_send + timedelta(hours=1), mid_send + timedelta(hours=2)
    pause_campaign(d.store, brand, campaign, paused)
    resume_campaign(d.store, brand, campaign, resumed)
    rest = resumed + timedelta(minutes=5)
    d.send(d.dispatch(second_half, rest), rest)
    answered = rest + timedelta(minutes=5)
    [step] = [s.id for s in d.enrollment(enrollments[0]).plan]
    record_reply_in_enrollment(d.store, enrollments[0], "email", "reply-1", answered)
    record_bounce(d.store, d.service.db, brand, f"{enrollments[4]}:{step}", "550 no such user", answered)
    d.settle(answered)
    completed = answered + timedelta(days=1)
    assert complete_campaign(d.store, campaign, completed)
    return [LAUNCH - timedelta(days=1), early, mid_send, paused + timedelta(minutes=30), rest, completed]


def _assert_same_at_every_moment(d: Desk, campaign: UUID, moments: list[datetime]) -> None:
    brand, db = d.client.brand_id, d.service.db
    for moment in moments:
        reference = campaign_as_of(d.store, db, brand, campaign, moment, fold_every_event=True)
        assert campaign_as_of(d.store, db, brand, campaign, moment) == reference, f"as of {moment}"
        answer = d.client.get(f"/v1/campaign/{campaign}", params={"as_of": moment.isoformat()})
        if reference is None:
            assert answer.status_code == 404
        else:
            body = d.client.ok(answer)
            assert (
                body["status"] == reference["status"] and body["metrics"]["enrolled"] == reference["enrolled"]
            )
            assert body["credits"]["consumed"] == reference["credits_consumed"], f"credits as of {moment}"


def test_as_of_from_checkpoints_equals_the_full_fold_at_every_moment_of_a_campaigns_life(database_url):
    with running_service(database_url, roles=ROLES) as service:
        d = Desk(service, Client(service), ScriptedProvider())
        d.client.sender("email", "sales@brand.example")
        campaign = d.campaign([{"email": f"{name}@example.com"} for name in NAMES], STEPS)
        marks = _life(d, campaign)
        _caught_up(d)
        moments = _moments(d, campaign, marks)
        assert (
            checkpointed_figures(d.store, service.db, campaign, marks[-1]) is not None
        )  # the fast path answers
        _assert_same_at_every_moment(d, campaign, moments)
        mid = campaign_as_of(d.store, service.db, d.client.brand_id, campaign, marks[2])
        assert mid is not None and mid["sent_email"] == 3 and mid["status"] == "ACTIVE"
        between = campaign_as_of(
            d.store, service.db, d.client.brand_id, campaign, LAUNCH + timedelta(minutes=7)
        )
        assert between is not None and between["sent_email"] == 1  # the send stamped early, alone
        paused = campaign_as_of(d.store, service.db, d.client.brand_id, campaign, marks[3])
        assert paused is not None and paused["status"] == "PAUSED" and paused["credits_consumed"] == 3
        done = campaign_as_of(d.store, service.db, d.client.brand_id, campaign, marks[-1])
        assert done is not None and done["status"] == "COMPLETED"
        assert (done["sent_email"], done["replied"], done["bounced"], done["credits_consumed"]) == (
            6,
            1,
            1,
            6,
        )


def test_with_no_checkpoint_written_as_of_reads_the_log_and_answers_the_same(database_url):
    with running_service(database_url, roles=ROLES) as service:  # set up over the API
        client = Client(service)
        client.sender("email", "sales@brand.example")
        campaign = Desk(service, client, ScriptedProvider()).campaign(
            [{"email": f"{name}@example.com"} for name in NAMES], STEPS
        )
    with running_service(database_url, roles=()) as service:  # no projector from here
        d = Desk(service, client, ScriptedProvider())
        marks = _life(d, campaign)
        brand, db = client.brand_id, service.db
        for moment in marks:
            reference = campaign_as_of(d.store, db, brand, campaign, moment, fold_every_event=True)
            assert campaign_as_of(d.store, db, brand, campaign, moment) == reference, f"as of {moment}"
        assert checkpointed_figures(d.store, db, campaign, marks[-1]) is not None  # from the tail alone


def test_with_an_event_of_the_checkpoints_parked_as_of_folds_every_event_and_answers_the_same(database_url):
    with running_service(database_url, roles=ROLES) as service:
        d = Desk(service, Client(service), ScriptedProvider())
        d.client.sender("email", "sales@brand.example")
        campaign = d.campaign([{"email": f"{name}@example.com"} for name in NAMES], STEPS)
        marks = _life(d, campaign)
        _caught_up(d)
        brand, db = d.client.brand_id, service.db
        with db.transaction() as cur:  # an event the read model could not apply: parked, in no row
            cur.execute(
                """DELETE FROM campaign_checkpoints WHERE campaign_id = %s AND last_position =
                   (SELECT max(last_position) FROM campaign_checkpoints WHERE campaign_id = %s)
                   RETURNING last_position""",
                (campaign, campaign),
            )
            [row] = cur.fetchall()
            cur.execute(
                """INSERT INTO parked_items (follower, item, error, attempts, status)
                   VALUES ('projection:campaign_checkpoints', %s, 'boom', 3, 'parked')""",
                (str(row["last_position"]),),
            )
        assert checkpointed_figures(d.store, db, campaign, marks[-1]) is None
        for moment in marks:
            reference = campaign_as_of(d.store, db, brand, campaign, moment, fold_every_event=True)
            assert campaign_as_of(d.store, db, brand, campaign, moment) == reference, f"as of {moment}"


def test_the_consoles_as_of_page_from_checkpoints_reads_as_from_every_event_folded(database_url):
    with running_service(database_url, roles=ROLES) as service:
        d = Desk(service, Client(service), ScriptedProvider())
        d.client.sender("email", "sales@brand.example")
        campaign = d.campaign([{"email": f"{name}@example.com"} for name in NAMES], STEPS)
        marks = _life(d, campaign)[1:]  # from launch on: the page of a campaign not yet created is a 404
        _caught_up(d)
        browser = signed_in(service, d.client.api_key)
        page = f"/console/campaigns/{campaign}"

        def pages() -> list[str]:
            return [browser.get(page, params={"as_of": moment.isoformat()}).text for moment in marks]

        assert checkpointed_figures(d.store, service.db, campaign, marks[-1]) is not None
        from_checkpoints = pages()
        service.db.execute(  # from here the checkpoints decline: every event is folded
            """INSERT INTO parked_items (follower, item, error, attempts, status)
               VALUES ('projection:campaign_checkpoints', '0', 'boom', 3, 'parked')"""
        )
        assert checkpointed_figures(d.store, service.db, campaign, marks[-1]) is None
        for moment, fast, folded in zip(marks, from_checkpoints, pages(), strict=True):
            assert fast == folded, f"the page as of {moment}"
        assert "PAUSED" in from_checkpoints[2] and "COMPLETED" in from_checkpoints[-1]
