"""Campaign lifecycle: DRAFT -> ACTIVE (launch), ACTIVE <-> PAUSED, ACTIVE -> COMPLETED, and any
non-ARCHIVED status -> ARCHIVED (DRAFT included). Every other transition is refused with
IllegalTransition and leaves the aggregate untouched (status, version, pending events). A property
test drives random action sequences against a reference transition table written from DESIGN.md
section 2, and checks that the aggregate rebuilt from its events by an in-memory Application has the
same state as the one that produced them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from eventsourcing.application import Application
from hypothesis import given
from hypothesis import strategies as st

from domain.campaign import Campaign, CampaignStatus
from domain.errors import IllegalTransition, InvalidCampaign
from domain.steps import Step, StepType

DRAFT, ACTIVE, PAUSED, COMPLETED, ARCHIVED = (
    CampaignStatus.DRAFT,
    CampaignStatus.ACTIVE,
    CampaignStatus.PAUSED,
    CampaignStatus.COMPLETED,
    CampaignStatus.ARCHIVED,
)
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ACTIONS = ("launch", "pause", "resume", "complete", "archive")

# Reference table, written from the design rather than from domain/campaign.py.
EXPECTED = {
    (DRAFT, "launch"): ACTIVE,
    (ACTIVE, "pause"): PAUSED,
    (PAUSED, "resume"): ACTIVE,
    (ACTIVE, "complete"): COMPLETED,
    **{(s, "archive"): ARCHIVED for s in (DRAFT, ACTIVE, PAUSED, COMPLETED)},
}
PATH_TO = {
    DRAFT: [],
    ACTIVE: ["launch"],
    PAUSED: ["launch", "pause"],
    COMPLETED: ["launch", "complete"],
    ARCHIVED: ["archive"],
}
ILLEGAL = [(s, a) for s in CampaignStatus for a in ACTIONS if (s, a) not in EXPECTED]


def new_campaign() -> Campaign:
    steps = [
        Step("e1", StepType.EMAIL, 0, 0, subject="Hi", body="Hello"),
        Step("w1", StepType.WAIT, 1, 0, wait_days=2),
        Step("s1", StepType.SMS, 1, 1, body="Ping"),
    ]
    return Campaign.create(uuid4(), uuid4(), "Spring", steps, created_at=T0)


def apply(campaign: Campaign, action: str, at: datetime = T0) -> None:
    if action == "launch":
        campaign.launch(launched_at=at, credits_reserved=7)
    else:
        getattr(campaign, action)(at)


def campaign_in(status: CampaignStatus) -> Campaign:
    campaign = new_campaign()
    for action in PATH_TO[status]:
        apply(campaign, action)
    assert campaign.status is status
    return campaign


def memory_app() -> Application:
    return Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def test_a_new_campaign_is_draft_with_its_steps_ordered() -> None:
    campaign = new_campaign()
    assert campaign.status is DRAFT
    assert [s.id for s in campaign.steps] == ["e1", "w1", "s1"]
    assert campaign.launched_at is None and campaign.credits_reserved == 0


def test_create_refuses_invalid_steps() -> None:
    with pytest.raises(InvalidCampaign):
        Campaign.create(uuid4(), uuid4(), "x", [Step("e", StepType.EMAIL, 0, 0)], created_at=T0)


def test_launch_moves_draft_to_active_and_records_time_and_reservation() -> None:
    campaign = new_campaign()
    campaign.launch(launched_at=T0 + timedelta(hours=1), credits_reserved=42)
    assert campaign.status is ACTIVE
    assert campaign.launched_at == T0 + timedelta(hours=1)
    assert campaign.credits_reserved == 42
    assert isinstance(campaign.pending_events[-1], Campaign.CampaignLaunched)


def test_pause_and_resume_toggle_between_active_and_paused() -> None:
    campaign = campaign_in(ACTIVE)
    campaign.pause(T0)
    assert campaign.status is PAUSED
    campaign.resume(T0)
    assert campaign.status is ACTIVE
    campaign.pause(T0)
    assert campaign.status is PAUSED


def test_complete_moves_active_to_completed() -> None:
    campaign = campaign_in(ACTIVE)
    campaign.complete(T0 + timedelta(days=3))
    assert campaign.status is COMPLETED
    assert campaign.completed_at == T0 + timedelta(days=3)


@pytest.mark.parametrize("status", [DRAFT, ACTIVE, PAUSED, COMPLETED])
def test_archive_is_allowed_from_every_non_archived_status(status: CampaignStatus) -> None:
    campaign = campaign_in(status)
    campaign.archive(T0 + timedelta(days=9))
    assert campaign.status is ARCHIVED
    assert campaign.archived_at == T0 + timedelta(days=9)


@pytest.mark.parametrize(("status", "action"), ILLEGAL)
def test_illegal_transition_is_refused_and_changes_nothing(status: CampaignStatus, action: str) -> None:
    campaign = campaign_in(status)
    events_before = list(campaign.pending_events)
    version_before = campaign.version
    with pytest.raises(IllegalTransition):
        apply(campaign, action)
    assert campaign.status is status
    assert campaign.version == version_before
    assert campaign.pending_events == events_before


@given(st.lists(st.sampled_from(ACTIONS), max_size=15))
def test_any_action_sequence_follows_the_transition_table_and_replays(actions: list[str]) -> None:
    campaign = new_campaign()
    expected = DRAFT
    for i, action in enumerate(actions):
        at = T0 + timedelta(minutes=i)
        before = (campaign.status, campaign.version, len(campaign.pending_events))
        if (expected, action) in EXPECTED:
            apply(campaign, action, at)
            expected = EXPECTED[(expected, action)]
        else:
            with pytest.raises(IllegalTransition):
                apply(campaign, action, at)
            assert (campaign.status, campaign.version, len(campaign.pending_events)) == before
        assert campaign.status is expected

    store = memory_app()
    store.save(campaign)
    copy = store.repository.get(campaign.id)
    assert copy.status is campaign.status
    assert copy.version == campaign.version
    assert (copy.launched_at, copy.completed_at, copy.archived_at) == (
        campaign.launched_at,
        campaign.completed_at,
        campaign.archived_at,
    )
    assert copy.steps == campaign.steps
    assert copy.credits_reserved == campaign.credits_reserved
