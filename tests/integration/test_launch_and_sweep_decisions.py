"""A launch's reservation and its refusals, and the sweeper's redispatch, asserted exactly with
the clock in the test's hand: what is reserved, every reason a campaign cannot run listed at
once, nothing reserved on a refusal, and a step in flight dispatched again only past its lease.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from commands.campaigns.campaign_lifecycle import pause_campaign
from commands.campaigns.launch_campaign import CannotRun, estimated_launch_cost, launch_campaign
from commands.sending.redispatch_steps import redispatch_stale_steps
from commands.sending.send_outcomes import SendReport
from domain.campaign import CampaignStatus
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from domain.errors import IllegalTransition, InsufficientCredits, NotFound
from tests.api.api_support import service_on_own_database
from tests.integration.desk import ROLES, desk_for_a_new_brand

# Later than the real clock (a Monday at ten, like the day this was written): the brand and its
# campaign are set up through the API at the real time, and an aggregate's event is never stamped
# before its last one (decision record 19), so a NOW the real clock has passed would be moved up.
NOW = datetime(2037, 12, 7, 10, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)
ONE_EMAIL = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]


@pytest.fixture(scope="module")
def service(server_url):
    """One service for the module: each test works as a brand of its own on it."""
    with service_on_own_database(server_url, roles=ROLES) as running:
        yield running


def test_a_launch_reserves_one_credit_per_eligible_contact_and_step(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    d.client.sender("sms", "+14155550000")
    steps = [*ONE_EMAIL, {"type": "SMS", "group": 1, "body": "Hello"}]
    people = [{"email": "ann@example.com", "phone": "+14155550123"}, {"email": "bob@example.com"}]
    campaign = d.campaign(people, steps)
    assert estimated_launch_cost(d.store, d.service.db, d.client.brand_id, campaign) == 3
    launched = launch_campaign(d.store, d.service.db, d.client.brand_id, campaign, NOW)
    assert (launched.campaign_id, launched.credits_reserved) == (campaign, 3)
    assert launched.position == d.store.recorder.max_notification_id()
    assert d.reservation(campaign).reserved == 3
    running = d.store.campaign(campaign)
    assert (running.status, running.launched_at, running.credits_reserved) == (CampaignStatus.ACTIVE, NOW, 3)
    ledger = d.store.ledger(d.client.brand_id)
    [reserved] = [e for e in d.store.events.get(ledger.id) if isinstance(e, CreditLedger.CreditsReserved)]
    assert (reserved.campaign_id, reserved.amount, reserved.reserved_at) == (campaign, 3, NOW)
    with pytest.raises(IllegalTransition, match="cannot launch a campaign that is ACTIVE"):
        launch_campaign(d.store, d.service.db, d.client.brand_id, campaign, NOW)


def test_every_reason_a_campaign_cannot_run_is_listed_and_nothing_is_reserved(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    steps = [
        {"type": "EMAIL", "group": 0, "subject": "Hi {{first_name}}", "body": "Hello"},
        {"type": "SMS", "group": 0, "body": "Hello"},
    ]
    campaign = d.campaign([{"email": "ann@example.com"}], steps)
    with pytest.raises(CannotRun) as refused:
        launch_campaign(d.store, d.service.db, d.client.brand_id, campaign, NOW)
    contact = d.service.db.fetch_one(
        "SELECT id FROM contacts WHERE brand_id = %s AND email = 'ann@example.com'", (d.client.brand_id,)
    )["id"]
    assert refused.value.problems == [
        "no active sender account for channel sms",
        f"template field 'first_name' has no fallback and 1 contact(s) lack it: {contact}",
    ]
    assert refused.value.details() == {"problems": refused.value.problems}
    assert str(refused.value) == "; ".join(refused.value.problems)
    assert d.store.campaign(campaign).status is CampaignStatus.DRAFT
    assert d.store.ledger(d.client.brand_id).balance == 1000
    assert d.service.db.fetch_all("SELECT 1 FROM launch_audiences WHERE campaign_id = %s", (campaign,)) == []


def test_a_launch_the_balance_cannot_cover_is_refused_saying_how_much(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}], ONE_EMAIL)
    ledger = d.store.ledger(d.client.brand_id)
    ledger.reserve(uuid4(), 1000, NOW)  # another campaign holds the whole plan
    d.store.save(ledger)
    with pytest.raises(InsufficientCredits) as short:
        launch_campaign(d.store, d.service.db, d.client.brand_id, campaign, NOW)
    assert short.value.details() == {"needed": 1, "available": 0}
    assert d.store.campaign(campaign).status is CampaignStatus.DRAFT


class AnotherLaunchWinsFirst:
    """The application as a launch sees it, with another launch of the same campaign saved just
    before this one reads its brand's ledger: the race two clicks on "launch" make."""

    def __init__(self, store, db, brand_id, campaign_id) -> None:
        self.store, self.db, self.brand_id, self.campaign_id = store, db, brand_id, campaign_id
        self.winner = None

    def __getattr__(self, name):
        return getattr(self.store, name)

    def ledger(self, brand_id):
        if self.winner is None:
            self.winner = launch_campaign(self.store, self.db, self.brand_id, self.campaign_id, NOW)
        return self.store.ledger(brand_id)


def test_a_launch_refused_because_another_launch_won_says_so_and_keeps_the_winners_audience(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}], ONE_EMAIL)
    ledger = d.store.ledger(d.client.brand_id)
    ledger.reserve(uuid4(), 999, NOW)  # one credit left: the winner takes it and this launch is short
    d.store.save(ledger)
    racing = AnotherLaunchWinsFirst(d.store, d.service.db, d.client.brand_id, campaign)
    with pytest.raises(IllegalTransition) as refused:
        launch_campaign(racing, d.service.db, d.client.brand_id, campaign, NOW)
    assert str(refused.value) == "cannot launch a campaign that is being or was launched"
    assert racing.winner is not None and racing.winner.credits_reserved == 1
    assert d.store.campaign(campaign).status is CampaignStatus.ACTIVE
    assert d.reservation(campaign).reserved == 1
    audience = d.service.db.fetch_all(
        "SELECT email FROM launch_audiences WHERE campaign_id = %s", (campaign,)
    )
    assert audience == [{"email": "ann@example.com"}]  # the refusal did not discard the winner's snapshot


def test_a_step_in_flight_is_dispatched_again_only_past_its_lease_and_only_while_active(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}, {"email": "bob@example.com"}], ONE_EMAIL)
    ann, bob = d.launch(campaign, NOW)
    dispatched = d.dispatch([ann, bob], NOW)  # and then their messages were lost
    assert len(dispatched) == 2
    assert (
        redispatch_stale_steps(d.store, campaign, [ann, bob], NOW + LEASE - timedelta(seconds=1), LEASE) == 0
    )
    assert redispatch_stale_steps(d.store, campaign, [ann, bob], NOW + LEASE, LEASE) == 2
    again = [e for e in d.events(ann, Enrollment.StepDispatched) if e.redispatched]
    assert [(e.dispatched_at, e.channel) for e in again] == [(NOW + LEASE, "email")]
    assert d.send(d.dispatch([ann, bob], NOW + LEASE), NOW + LEASE) == SendReport(sent=2)

    other = d.campaign([{"email": "cy@example.com"}], ONE_EMAIL)
    [cy] = d.launch(other, NOW)
    d.dispatch([cy], NOW)
    pause_campaign(d.store, d.client.brand_id, other, NOW)
    assert redispatch_stale_steps(d.store, other, [cy], NOW + 2 * LEASE, LEASE) == 0
    assert redispatch_stale_steps(d.store, campaign, [cy], NOW + 2 * LEASE, LEASE) == 0  # not its campaign


def test_reports_add_up_field_by_field():
    reports = [
        SendReport(sent=2, failed=1),
        SendReport(sent=1, skipped=3, withdrawn=1),
        SendReport(deferred=4),
    ]
    assert SendReport.total(reports) == SendReport(sent=3, failed=1, skipped=3, deferred=4, withdrawn=1)
    assert SendReport.total([]) == SendReport()


def test_another_brands_campaign_can_be_neither_estimated_nor_launched(service):
    owner, stranger = desk_for_a_new_brand(service), desk_for_a_new_brand(service)
    owner.client.sender("email", "sales@brand.example")
    campaign = owner.campaign([{"email": "ann@example.com"}], ONE_EMAIL)
    with pytest.raises(NotFound):
        estimated_launch_cost(stranger.store, stranger.service.db, stranger.client.brand_id, campaign)
    with pytest.raises(NotFound):
        launch_campaign(stranger.store, stranger.service.db, stranger.client.brand_id, campaign, NOW)
    assert owner.store.campaign(campaign).status is CampaignStatus.DRAFT


def test_a_campaign_of_waits_alone_to_nobody_eligible_is_refused_with_both_reasons(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"phone": "+14155550123"}], [{"type": "WAIT", "group": 0, "wait_days": 1}])
    with pytest.raises(CannotRun) as refused:
        launch_campaign(d.store, d.service.db, d.client.brand_id, campaign, NOW)
    assert refused.value.problems == [
        "the campaign has no steps that send anything",
        "no contact of its lead groups is eligible for its steps",
    ]


def test_a_channel_whose_only_accounts_use_a_provider_this_build_lacks_is_named_with_the_ones_it_has(service):
    d = desk_for_a_new_brand(service)
    mailbox = d.client.sender("email", "sales@brand.example")
    d.service.db.execute("UPDATE sender_accounts SET provider = 'gmail' WHERE id = %s", (mailbox["id"],))
    d.client.sender("sms", "+14155550000")
    steps = [*ONE_EMAIL, {"type": "SMS", "group": 0, "body": "Hello"}]
    campaign = d.campaign([{"email": "ann@example.com", "phone": "+14155550123"}], steps)
    with pytest.raises(CannotRun) as refused:
        launch_campaign(
            d.store, d.service.db, d.client.brand_id, campaign, NOW, providers=("twilio", "sandbox")
        )
    assert refused.value.problems == [
        "no active sender account for channel email uses a provider this build can send through"
        " (sandbox, twilio)"
    ]


def test_contacts_lacking_a_body_field_are_counted_and_the_first_twenty_listed(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    people = [{"email": f"c{i:02d}@example.com"} for i in range(22)]
    steps = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello {{first_name}}"}]
    campaign = d.campaign(people, steps)
    with pytest.raises(CannotRun) as refused:
        launch_campaign(d.store, d.service.db, d.client.brand_id, campaign, NOW)
    [problem] = refused.value.problems
    prefix = "template field 'first_name' has no fallback and 22 contact(s) lack it: "
    assert problem.startswith(prefix) and problem.endswith(" and 2 more")
    listed = problem[len(prefix) : -len(" and 2 more")].split(", ")
    contacts = d.service.db.fetch_all("SELECT id FROM contacts WHERE brand_id = %s", (d.client.brand_id,))
    assert len(listed) == 20 and set(listed) <= {str(row["id"]) for row in contacts}
