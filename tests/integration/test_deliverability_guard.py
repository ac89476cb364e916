"""The deliverability guard (decision record 0024): a campaign whose last sends bounce or opt out
over its brand's limits is paused by the service, with the figures; under `min_sends` nothing
happens; a user's resume starts the window afresh; a mailbox over its bounce rate leaves the
rotation until resumed; another brand is never touched.

Each test holds the clock (tests/integration/desk.py): sends, bounces and opt-outs are recorded
at chosen moments, the projector catches up, and the guard's pass runs when the test says.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
from prometheus_client import REGISTRY

from commands.inbound.bounces import record_bounce
from commands.inbound.texts_received import receive_text
from consumers.deliverability_guard import DeliverabilityGuard
from consumers.deliverability_guard import _to_judge_again as to_judge_again
from domain.campaign import Campaign, CampaignStatus
from projections.runner import wait_for_position
from storage import containment, parked
from tests.api.api_support import service_on_own_database
from tests.integration.desk import ROLES, Desk, desk_for_a_new_brand
from tests.support import contacts

# Later than the real clock: the campaigns are made through the API at real time, and a campaign's
# events never go back before its last one (decision record 0019).
START = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
TWO_DAYS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
    {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
]
TWO_DAYS_OF_TEXTS = [
    {"type": "SMS", "group": 0, "body": "Hello"},
    {"type": "SMS", "group": 1, "body": "Hello again"},
]
TEN_OF_TWENTY = {"max_bounce_rate": 0.1, "max_opt_out_rate": 0.1, "min_sends": 10, "window_sends": 20}


@pytest.fixture(scope="module")
def service(server_url):
    """One service for the module: each test works as a brand of its own on it."""
    with service_on_own_database(server_url, roles=ROLES) as running:
        yield running


def caught_up(d: Desk) -> None:
    head = d.store.recorder.max_notification_id() or 0
    assert wait_for_position(d.service.db, ["deliverability_windows", "campaign_summaries"], head, 30)


def guard_pass(d: Desk, now: datetime) -> int:
    """Let the projector apply everything written so far, run one pass of the guard, and let the
    projector apply what it wrote."""
    caught_up(d)
    paused = DeliverabilityGuard(d.store, d.service.db, lambda: now).tick()
    caught_up(d)
    return paused


def guard_pauses_counted() -> float:
    sample = REGISTRY.get_sample_value(
        "campaign_service_deliverability_pauses_total", {"kind": "campaign", "measure": "bounce_rate"}
    )
    return sample or 0.0


def limits(d: Desk, **settings: Any) -> None:
    d.client.ok(d.client.http.put("/v1/deliverability-settings", json={**TEN_OF_TWENTY, **settings}))


def first_day(d: Desk, people: int, steps: list[dict[str, Any]] = TWO_DAYS) -> tuple[UUID, list[UUID], str]:
    """A campaign of two days launched and its first day sent at START: (campaign,
    enrollments by email, the first step's id)."""
    campaign = d.campaign(contacts(people), steps)
    enrollments = d.launch(campaign, START)
    assert d.send(d.dispatch(enrollments, START), START).sent == people
    return campaign, enrollments, d.store.campaign(campaign).steps[0].id


def bounce(d: Desk, enrollments: list[UUID], step_id: str, at: datetime) -> None:
    for enrollment_id in enrollments:
        assert record_bounce(
            d.store, d.service.db, d.client.brand_id, f"{enrollment_id}:{step_id}", "550", at
        )


def waiting(d: Desk) -> list[str]:
    """The brand's windows the guard looks at again for want of sends."""
    rows = d.service.db.fetch_all(
        "SELECT item FROM deliverability_waiting_windows WHERE brand_id = %s", (d.client.brand_id,)
    )
    return [row["item"] for row in rows]


def pauses(d: Desk, campaign_id: UUID) -> list[Any]:
    return [e for e in d.store.events.get(campaign_id) if isinstance(e, Campaign.CampaignPaused)]


def test_a_first_day_bouncing_over_the_limit_pauses_the_campaign_with_its_figures_and_no_follow_up_goes(
    service,
):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@guarded.example")
    limits(d)
    campaign, enrollments, step_id = first_day(d, 10)
    later = START + timedelta(hours=1)
    bounce(d, enrollments[:2], step_id, later)  # 20% of 10 sends, over 10%
    counted = guard_pauses_counted()

    assert guard_pass(d, later) == 2  # the campaign, and the mailbox that sent it all
    assert guard_pauses_counted() == counted + 1
    assert d.store.campaign(campaign).status is CampaignStatus.PAUSED
    [paused] = pauses(d, campaign)
    assert (paused.by, paused.paused_at) == ("deliverability guard", later)
    assert paused.figures == {
        "measure": "bounce_rate",
        "channel": "email",
        "window_sends": 20,
        "sends": 10,
        "count": 2,
        "rate": 0.2,
        "threshold": 0.1,
    }
    shown = d.client.ok(d.client.get(f"/v1/campaign/{campaign}"))
    assert shown["status"] == "PAUSED"
    assert shown["pause"]["by"] == "deliverability guard"
    assert "hard-bounce rate 20.0%" in shown["pause"]["reason"]
    assert datetime.fromisoformat(shown["pause"]["at"]) == later

    next_day = START + timedelta(days=1, hours=1)
    assert d.dispatch(enrollments, next_day) == []  # no follow-up of a paused campaign
    assert guard_pass(d, next_day) == 0  # judged once: nothing more to do


def test_under_min_sends_nothing_is_paused_however_many_bounce(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@few.example")
    limits(d, min_sends=10)
    campaign, enrollments, step_id = first_day(d, 9)
    bounce(d, enrollments[:5], step_id, START)

    guard_pass(d, START)
    assert d.store.campaign(campaign).status is CampaignStatus.ACTIVE
    assert pauses(d, campaign) == []


def test_bounces_that_come_before_min_sends_pause_the_campaign_once_its_later_sends_reach_it(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@early.example")
    limits(d, min_sends=4, window_sends=10, max_bounce_rate=0.3)
    campaign = d.campaign(contacts(4), TWO_DAYS)
    enrollments = d.launch(campaign, START)
    step_id = d.store.campaign(campaign).steps[0].id
    dispatches = d.dispatch(enrollments, START)
    assert d.send(dispatches[:2], START).sent == 2
    bounce(d, enrollments[:2], step_id, START)  # both bounce before the other two go out
    guard_pass(d, START)  # 2 sends: under min_sends, nothing paused yet
    assert d.store.campaign(campaign).status is CampaignStatus.ACTIVE
    assert len(waiting(d)) == 2  # the campaign's window and its mailbox's wait for sends
    caught_up(d)
    assert (campaign, "email") not in to_judge_again(d.service.db)[0]  # no send since: not read again
    assert d.send(dispatches[2:], START).sent == 2
    caught_up(d)
    assert (campaign, "email") in to_judge_again(d.service.db)[0]  # a send came: judged again

    assert guard_pass(d, START) == 2  # 2 of 4 bounced: the campaign, and its mailbox
    assert d.store.campaign(campaign).status is CampaignStatus.PAUSED
    [paused] = pauses(d, campaign)
    assert (paused.figures["sends"], paused.figures["count"]) == (4, 2)
    assert waiting(d) == []  # judged on enough sends: nothing waits any more


def test_a_users_resume_starts_the_window_afresh(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@resumed.example")
    limits(d)
    campaign, enrollments, step_id = first_day(d, 10)
    bounce(d, enrollments[:2], step_id, START)
    guard_pass(d, START)
    assert d.store.campaign(campaign).status is CampaignStatus.PAUSED

    d.client.ok(d.client.post(f"/v1/campaign/{campaign}/resume"))
    assert d.client.ok(d.client.get(f"/v1/campaign/{campaign}"))["pause"] is None
    # A late bounce of a send before the resume counts in no window: the old window is gone.
    bounce(d, enrollments[2:3], step_id, START + timedelta(minutes=5))
    guard_pass(d, START + timedelta(minutes=5))
    assert d.store.campaign(campaign).status is CampaignStatus.ACTIVE
    assert len(pauses(d, campaign)) == 1


def test_stop_texts_over_the_opt_out_rate_pause_a_campaign_of_texts(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("sms", "+14155550100")
    limits(d)
    campaign, _, _ = first_day(d, 10, TWO_DAYS_OF_TEXTS)
    people = contacts(10)
    for n, person in enumerate(people[:2]):
        receive_text(d.store, d.service.db, d.client.brand_id, person["phone"], "STOP", f"SM{n}", START)

    assert guard_pass(d, START) == 1
    [paused] = pauses(d, campaign)
    assert paused.figures["measure"] == "opt_out_rate"
    assert (paused.figures["channel"], paused.figures["count"], paused.figures["sends"]) == ("sms", 2, 10)


def test_one_stop_under_the_opt_out_rate_pauses_nothing(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("sms", "+14155550101")
    limits(d)
    campaign, _, _ = first_day(d, 10, TWO_DAYS_OF_TEXTS)
    receive_text(d.store, d.service.db, d.client.brand_id, contacts(1)[0]["phone"], "STOP", "SMx", START)

    guard_pass(d, START)
    assert d.store.campaign(campaign).status is CampaignStatus.ACTIVE


def test_a_mailbox_over_its_bounce_rate_leaves_the_rotation_until_its_owner_resumes_it(service):
    d = desk_for_a_new_brand(service)
    mailbox = d.client.sender("email", "sales@bouncy.example")
    limits(d)
    campaign, enrollments, step_id = first_day(d, 10)
    bounce(d, enrollments[:2], step_id, START)
    guard_pass(d, START)

    [account] = d.client.ok(d.client.get("/v1/sender-accounts"))["items"]
    assert (account["id"], account["status"]) == (mailbox["id"], "paused_deliverability")
    # The campaign, paused too, is resumed by its user; the rotation still skips the mailbox, and
    # with no other one the next day's steps wait (deferred, not sent).
    d.client.ok(d.client.post(f"/v1/campaign/{campaign}/resume"))
    next_day = START + timedelta(days=1)
    assert d.send(d.dispatch(enrollments, next_day), next_day).sent == 0
    assert len(d.provider.sent) == 10

    resumed = d.client.ok(d.client.post(f"/v1/sender-accounts/{mailbox['id']}/resume"))
    assert resumed["status"] == "active"
    later = next_day + timedelta(days=1)
    assert d.send(d.dispatch(enrollments, later), later).sent == 8  # the two bounced are suppressed
    # Its window starts afresh: one bounce in 8 sends is under min_sends (with the old window's
    # two it would be 3 of 18, over the limit).
    bounce(d, enrollments[2:3], d.store.campaign(campaign).steps[1].id, later)
    guard_pass(d, later)
    [account] = d.client.ok(d.client.get("/v1/sender-accounts"))["items"]
    assert account["status"] == "active"
    assert d.store.campaign(campaign).status is CampaignStatus.ACTIVE


def test_resuming_a_mailbox_that_is_not_paused_is_a_409(service):
    d = desk_for_a_new_brand(service)
    mailbox = d.client.sender("email", "sales@fine.example")
    response = d.client.post(f"/v1/sender-accounts/{mailbox['id']}/resume")
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_one_brands_bounces_never_pause_another_brands_campaign_or_mailbox(service):
    bouncing, other = desk_for_a_new_brand(service), desk_for_a_new_brand(service)
    for d, mailbox in ((bouncing, "sales@one.example"), (other, "sales@two.example")):
        d.client.sender("email", mailbox)
        limits(d)
    campaign, enrollments, step_id = first_day(bouncing, 10)
    theirs, _, _ = first_day(other, 10)
    bounce(bouncing, enrollments[:5], step_id, START)

    guard_pass(bouncing, START)
    assert bouncing.store.campaign(campaign).status is CampaignStatus.PAUSED
    assert other.store.campaign(theirs).status is CampaignStatus.ACTIVE
    [account] = other.client.ok(other.client.get("/v1/sender-accounts"))["items"]
    assert account["status"] == "active"


def test_a_campaign_the_guard_cannot_pause_is_tried_again_then_parked_with_its_brand_and_paused_once_handed_back(
    service,
):
    hostile, other = desk_for_a_new_brand(service), desk_for_a_new_brand(service)
    for d, mailbox in ((hostile, "sales@stuck.example"), (other, "sales@unstuck.example")):
        d.client.sender("email", mailbox)
        limits(d)
    stuck, stuck_enrollments, stuck_step = first_day(hostile, 10)
    fine, fine_enrollments, fine_step = first_day(other, 10)
    # A fault in PostgreSQL itself: no event of the stuck campaign can be written, so its pause fails.
    with psycopg.connect(service.settings.database_url.get_secret_value(), autocommit=True) as conn:
        conn.execute(
            """CREATE OR REPLACE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'this campaign takes no event'; END $$"""
        )
        conn.execute(
            f"""CREATE TRIGGER refuse_stuck BEFORE INSERT ON campaigns_events FOR EACH ROW
                WHEN (NEW.originator_id = '{stuck}') EXECUTE FUNCTION refuse_event()"""
        )
    later = START + timedelta(hours=1)
    bounce(hostile, stuck_enrollments[:2], stuck_step, later)
    bounce(other, fine_enrollments[:2], fine_step, later)

    guard_pass(other, later)  # one pass: the other brand's campaign is paused all the same
    assert other.store.campaign(fine).status is CampaignStatus.PAUSED
    item = f"campaign {stuck} email"
    for _ in range(containment.PERIODIC_TRIES - 1):  # no new outcome: the failed window is named again
        service.db.execute("UPDATE parked_items SET last_seen = now() - interval '1 hour'")  # backoff over
        guard_pass(hostile, later)
    [parked_item] = [p for p in parked.listing(service.db, "deliverability_guard") if p["item"] == item]
    assert (parked_item["status"], parked_item["attempts"]) == ("parked", containment.PERIODIC_TRIES)
    assert parked_item["brand_id"] == hostile.client.brand_id
    assert "this campaign takes no event" in parked_item["error"]
    assert hostile.store.campaign(stuck).status is CampaignStatus.ACTIVE

    with psycopg.connect(service.settings.database_url.get_secret_value(), autocommit=True) as conn:
        conn.execute("DROP TRIGGER refuse_stuck ON campaigns_events")
    assert parked.hand_back(service.db, [parked_item["id"]]) == 1
    guard_pass(hostile, later)  # what the operator handed back is judged again, with no new outcome
    assert hostile.store.campaign(stuck).status is CampaignStatus.PAUSED
    assert [p for p in parked.listing(service.db, "deliverability_guard") if p["item"] == item] == []


def test_an_unreadable_item_on_the_guards_record_stops_no_pass(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@unreadable.example")
    limits(d)
    campaign, enrollments, step_id = first_day(d, 10)
    bounce(d, enrollments[:2], step_id, START)
    service.db.execute(
        """INSERT INTO parked_items (follower, item, error, attempts, status)
           VALUES ('deliverability_guard', 'campaign not-a-uuid email', 'planted', 1, 'retry')"""
    )
    try:  # before, UUID('not-a-uuid') raised and no window of any brand was judged
        guard_pass(d, START)
        assert d.store.campaign(campaign).status is CampaignStatus.PAUSED
    finally:
        service.db.execute("DELETE FROM parked_items WHERE item = 'campaign not-a-uuid email'")
