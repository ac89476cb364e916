"""Use cases that need only the event store, on eventsourcing's in-memory store: fast and exact.

Lifecycle changes, completion, dispatching due steps and settling sends on the ledger. The
integration suite proves the same against PostgreSQL and the real wiring.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from commands.application import CampaignApplication
from commands.campaigns.campaign_lifecycle import archive_campaign, pause_campaign, resume_campaign
from commands.campaigns.complete_campaign import complete_campaign
from commands.credits.open_attempts import AttemptsInMemory
from commands.credits.settle_credits import SETTLED_EVENTS, settle_events
from commands.sending.dispatch_due_steps import dispatch_due_steps
from domain.campaign import Campaign, CampaignStatus
from domain.credit_ledger import CreditLedger, Plan
from domain.enrollment import Enrollment, StepStatus
from domain.errors import IllegalTransition, NotFound
from domain.steps import Step, StepType
from storage.event_log import read_log

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STEPS = [
    Step(id="e0", type=StepType.EMAIL, group=0, order=0, subject="Hi", body="Hello"),
    Step(id="s0", type=StepType.SMS, group=0, order=1, body="Hello"),
    Step(id="w1", type=StepType.WAIT, group=1, order=0, wait_days=2),
    Step(id="e1", type=StepType.EMAIL, group=1, order=1, subject="Again", body="Hello again"),
]


@pytest.fixture
def store() -> CampaignApplication:
    return CampaignApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def _launched(
    store: CampaignApplication, contacts: int = 2, cost: int = 6
) -> tuple[UUID, Campaign, list[UUID]]:
    brand = uuid4()
    ledger = CreditLedger.open(brand, Plan.BASIC, NOW)
    campaign = Campaign.create(uuid4(), brand, "Q4", STEPS, NOW)
    ledger.reserve(campaign.id, cost, NOW)
    campaign.launch(NOW, cost)
    enrollments = [
        Enrollment.enroll(
            campaign.id, brand, uuid4(), {"email": f"c{i}@x.example", "sms": "+14155550100"}, STEPS, NOW
        )
        for i in range(contacts)
    ]
    store.save(ledger, campaign, *enrollments)
    return brand, campaign, [e.id for e in enrollments if e is not None]


def test_pause_resume_and_archive_move_the_campaign_and_refuse_what_its_state_forbids(store):
    brand, campaign, _ = _launched(store)
    pause_campaign(store, brand, campaign.id, NOW)
    assert store.campaign(campaign.id).status is CampaignStatus.PAUSED
    with pytest.raises(IllegalTransition):
        pause_campaign(store, brand, campaign.id, NOW)
    resume_campaign(store, brand, campaign.id, NOW)
    assert store.campaign(campaign.id).status is CampaignStatus.ACTIVE
    with pytest.raises(NotFound):
        pause_campaign(store, uuid4(), campaign.id, NOW)  # another brand's campaign does not exist for it
    archive_campaign(store, brand, campaign.id, NOW)
    assert store.campaign(campaign.id).status is CampaignStatus.ARCHIVED
    with pytest.raises(IllegalTransition):
        resume_campaign(store, brand, campaign.id, NOW)


def test_completion_happens_once(store):
    _, campaign, _ = _launched(store)
    assert complete_campaign(store, campaign.id, NOW) is True
    assert complete_campaign(store, campaign.id, NOW) is False
    assert store.campaign(campaign.id).status is CampaignStatus.COMPLETED


def test_due_steps_are_dispatched_once_and_only_while_active(store):
    _, _, enrollments = _launched(store)
    assert dispatch_due_steps(store, enrollments, NOW) == 4  # an email and an SMS per contact
    assert dispatch_due_steps(store, enrollments, NOW) == 0
    assert all(store.enrollment(e).status_of("e0") is StepStatus.DISPATCHED for e in enrollments)

    _, other, later = _launched(store)
    pause_campaign(store, other.brand_id, other.id, NOW)
    assert dispatch_due_steps(store, later, NOW + timedelta(days=9)) == 0


def _send(store: CampaignApplication, enrollment_id: UUID, step: str, *, ok: bool) -> None:
    enrollment = store.enrollment(enrollment_id)
    if enrollment.status_of(step) is StepStatus.PENDING:
        enrollment.dispatch_due(NOW)  # the group's steps, this one among them
    enrollment.attempt(step, "account-1", NOW)
    if ok:
        enrollment.record_sent(step, f"msg-{enrollment_id}-{step}", 1, NOW)
    else:
        enrollment.record_failed(step, "refused for good", 1, NOW)
    store.save(enrollment)


def test_settling_consumes_sends_releases_failures_and_changes_nothing_when_run_again(store):
    brand, campaign, (first, second) = _launched(store, contacts=2, cost=6)
    _send(store, first, "e0", ok=True)
    _send(store, first, "s0", ok=True)
    _send(store, second, "e0", ok=False)

    at_provider = AttemptsInMemory()
    events, _ = read_log(store, 0, 1000, SETTLED_EVENTS)
    settle_events(store, events, NOW, at_provider)
    reservation = store.ledger(brand).reservation(campaign.id)
    assert (reservation.consumed, reservation.released, reservation.outstanding) == (2, 1, 3)

    settle_events(store, events, NOW, at_provider)  # as after a crash that lost the settlement position
    again = store.ledger(brand).reservation(campaign.id)
    assert (again.consumed, again.released, again.outstanding) == (2, 1, 3)

    complete_campaign(store, campaign.id, NOW)
    events, _ = read_log(store, 0, 1000, SETTLED_EVENTS)
    settle_events(store, events, NOW, at_provider)
    done = store.ledger(brand).reservation(campaign.id)
    assert (done.consumed, done.released, done.outstanding) == (2, 4, 0)
