"""History stored before the deliverability guard reads in today's shape: a v1 `CampaignPaused`
was a user's pause with no reason, and a v1 `StepUndelivered` of an email was a Gmail hard bounce
(of a text or a call, not a hard bounce), for the aggregates and for the log's readers alike."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from commands.application import CampaignApplication
from domain.campaign import Campaign, CampaignStatus, PausedBy
from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from storage.compact_states import expanded
from storage.database import event_store_env
from storage.event_log import read_log

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMAIL = Step("e0", StepType.EMAIL, 0, order=0, subject="Hi", body="Hello")
SMS = Step("s0", StepType.SMS, 0, order=1, body="Hello")


def _stored_as_v1(
    store: CampaignApplication, events: list[Any], name: str, fields: tuple[str, ...]
) -> list[Any]:
    """The events as stored, those named `name` in their v1 shape (without `fields`)."""
    stored = [store.mapper.to_stored_event(event) for event in events]
    for index, row in enumerate(stored):
        if row.topic.endswith(name):
            state = store.mapper.transcoder.decode(expanded(row.state))
            assert state.pop("class_version") == 2
            for field in fields:
                del state[field]
            stored[index] = dataclasses.replace(row, state=store.mapper.transcoder.encode(state))
    return stored


def test_a_pause_stored_before_the_guard_reads_as_a_users_pause(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    campaign = Campaign.create(uuid4(), uuid4(), "old", [EMAIL], T0)
    campaign.launch(T0, 1)
    campaign.pause(T0 + timedelta(hours=1))
    store.recorder.insert_events(
        _stored_as_v1(store, campaign.collect_events(), "CampaignPaused", ("by", "reason", "figures"))
    )

    paused = next(e for _, e in read_log(store, 0, 100)[0] if isinstance(e, Campaign.CampaignPaused))
    assert (vars(paused)["by"], vars(paused)["reason"], vars(paused)["figures"]) == ("user", None, None)
    again = store.campaign(campaign.id)
    assert again.status is CampaignStatus.PAUSED
    assert again.current_pause is not None
    assert (again.current_pause.by, again.current_pause.reason) == (PausedBy.USER, None)
    assert again.current_pause.at == T0 + timedelta(hours=1)
    store.close()


def test_an_email_undelivered_before_the_guard_was_a_hard_bounce_and_a_text_was_not(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    addresses = {"email": "ann@example.com", "sms": "+14155550000"}
    enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), addresses, [EMAIL, SMS], T0)
    assert enrollment is not None
    enrollment.dispatch_due(T0)
    for step_id in ("e0", "s0"):
        enrollment.attempt(step_id, "sender-1", T0)
        enrollment.record_sent(step_id, f"provider-{step_id}", 1, T0)
        enrollment.record_undelivered(step_id, "bounced", T0, hard=step_id == "e0")
    store.recorder.insert_events(
        _stored_as_v1(store, enrollment.collect_events(), "StepUndelivered", ("hard",))
    )

    undelivered = [e for _, e in read_log(store, 0, 100)[0] if isinstance(e, Enrollment.StepUndelivered)]
    assert sorted((e.channel, vars(e)["hard"]) for e in undelivered) == [("email", True), ("sms", False)]
    store.close()
