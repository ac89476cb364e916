"""Old history reads in today's shape: an event stored before its class's last version bump is
upcast as it is read, by the aggregate, the log followers and the JSON every consumer sees."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import psycopg
import pytest

from commands.application import CampaignApplication
from commands.credits.settle_credits import attempt_at_provider
from consumers.relay import DISPATCHING, Relay
from consumers.transport.in_process import InProcessTransport
from domain.enrollment import Enrollment, StepStatus
from domain.steps import Step, StepType
from projections.projector import Projector
from projections.runner import ReadModelRunner
from runtime.bootstrap import PROJECTIONS
from storage.compact_states import expanded
from storage.database import event_store_env
from storage.event_json import event_to_json
from storage.event_log import read_log
from tests.support import running_service

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMAIL = Step("e0", StepType.EMAIL, 0, order=0, subject="Hi", body="Hello")


def _sent_enrollment() -> Enrollment:
    enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), {"email": "ann@example.com"}, [EMAIL], T0)
    assert enrollment is not None
    enrollment.dispatch_due(T0)
    enrollment.attempt("e0", "sender-1", T0)
    enrollment.record_sent("e0", "provider-1", 1, T0)
    return enrollment


def _stored_states(database_url: str) -> dict[str, dict]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT topic, state FROM campaigns_events").fetchall()
    return {topic.rsplit(".", 1)[-1]: json.loads(expanded(bytes(state))) for topic, state in rows}


def test_a_step_sent_stored_in_its_v1_shape_reads_back_through_the_upcaster(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    enrollment = _sent_enrollment()
    stored = [store.mapper.to_stored_event(event) for event in enrollment.collect_events()]
    for index, row in enumerate(stored):
        if row.topic.endswith("StepSent"):  # written as a release before v2 wrote it
            state = store.mapper.transcoder.decode(expanded(row.state))
            assert state.pop("class_version") == 3
            assert (state.pop("next_group"), state.pop("next_due_at"), state.pop("finished")) == (
                None,
                None,
                True,
            )
            del state["personalisation"]
            stored[index] = dataclasses.replace(row, state=store.mapper.transcoder.encode(state))
    store.recorder.insert_events(stored)

    raw = _stored_states(database_url)["StepSent"]
    assert "personalisation" not in raw and "class_version" not in raw  # the v1 shape, as stored
    assert "finished" not in raw

    events, _ = read_log(store, 0, 100)
    sent = next(event for _, event in events if isinstance(event, Enrollment.StepSent))
    assert vars(sent)["personalisation"] == "template"  # in the instance, not only the class default
    # v2 -> v3: what followed the send was an event of its own then, so the send says nothing of it
    assert (vars(sent)["next_group"], vars(sent)["next_due_at"], vars(sent)["finished"]) == (
        None,
        None,
        False,
    )
    position = next(p for p, event in events if event is sent)
    assert event_to_json(position, sent)["data"]["personalisation"] == "template"
    assert store.enrollment(enrollment.id).status_of("e0") is StepStatus.SENT
    store.close()


def test_a_new_event_is_stored_with_its_class_version(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    store.save_all([_sent_enrollment()])
    states = _stored_states(database_url)
    assert states["StepSent"]["class_version"] == 3
    assert states["StepSent"]["personalisation"] == "template"
    assert states["StepSent"]["finished"] is True  # its only step: the send ends the enrollment
    assert states["StepAttempted"]["class_version"] == 2
    assert states["StepAttempted"]["campaign_id"] is not None  # the settlement needs no lookup
    store.close()


def test_an_attempt_stored_before_it_named_its_campaign_is_settled_as_its_campaigns(database_url):
    """A v1 StepAttempted reads back with no campaign; the settlement finds it through the
    enrollment, so a step at the provider when its campaign closes keeps its credit all the same."""
    store = CampaignApplication(env=event_store_env(database_url))
    enrollment = _sent_enrollment()
    stored = [store.mapper.to_stored_event(event) for event in enrollment.collect_events()]
    for index, row in enumerate(stored):
        if row.topic.endswith("StepAttempted"):
            state = store.mapper.transcoder.decode(expanded(row.state))
            assert state.pop("class_version") == 2
            del state["campaign_id"]
            stored[index] = dataclasses.replace(row, state=store.mapper.transcoder.encode(state))
    store.recorder.insert_events(stored)
    assert "campaign_id" not in _stored_states(database_url)["StepAttempted"]

    events, _ = read_log(store, 0, 100)
    [(position, attempted)] = [(p, e) for p, e in events if isinstance(e, Enrollment.StepAttempted)]
    assert vars(attempted)["campaign_id"] is None
    opened = attempt_at_provider(store, position, attempted)
    assert (opened.campaign_id, opened.enrollment_id, opened.step_id) == (
        enrollment.campaign_id,
        enrollment.id,
        "e0",
    )
    store.close()


TWO_DAYS = [EMAIL, Step("s1", StepType.SMS, 1, order=0, body="Hi again")]
ADDRESSES = {"email": "ann@example.com", "sms": "+14155550100"}


def _sent_through(steps_done: int) -> Enrollment:
    """Ann enrolled in two days of steps, with the first `steps_done` of them sent."""
    enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), ADDRESSES, TWO_DAYS, T0)
    assert enrollment is not None
    for _ in range(steps_done):
        [step] = enrollment.dispatch_due(enrollment.due_at or T0)
        enrollment.attempt(step.id, "sender-1", enrollment.due_at or T0)
        enrollment.record_sent(step.id, f"m-{step.id}", 1, (enrollment.due_at or T0) + timedelta(minutes=1))
    return enrollment


def _as_before_v3(store: CampaignApplication, events: list) -> list:
    """The same history as a release before v3 stored it: the schedule of the first group after the
    enrollment, and what a group's last send led to after the send, as events of their own."""
    stored, version = [], 0

    def add(event, state_changes=None, drop=()):
        nonlocal version
        version += 1
        row = dataclasses.replace(store.mapper.to_stored_event(event), originator_version=version)
        if drop:
            state = store.mapper.transcoder.decode(expanded(row.state))
            for key in drop:
                del state[key]
            state["class_version"] = 2
            row = dataclasses.replace(row, state=store.mapper.transcoder.encode(state))
        stored.append(row)

    def own(cls, event, **values):
        return cls(
            originator_id=event.originator_id, originator_version=0, timestamp=event.timestamp, **values
        )

    for event in events:
        if isinstance(event, Enrollment.ContactEnrolled):
            add(event, drop=("group", "due_at"))
            add(
                own(
                    Enrollment.GroupScheduled,
                    event,
                    campaign_id=event.campaign_id,
                    group=event.group,
                    due_at=event.due_at,
                )
            )
        elif isinstance(event, Enrollment.StepSent):
            add(event, drop=("next_group", "next_due_at", "finished"))
            if event.next_group is not None:
                scheduled = {
                    "campaign_id": event.campaign_id,
                    "group": event.next_group,
                    "due_at": event.next_due_at,
                }
                add(own(Enrollment.GroupScheduled, event, **scheduled))
            if event.finished:
                add(
                    own(
                        Enrollment.EnrollmentFinished,
                        event,
                        campaign_id=event.campaign_id,
                        finished_at=event.sent_at,
                    )
                )
        else:
            add(event)
    return stored


def _read_models(service, enrollment_id) -> dict:
    db = service.db
    steps = db.fetch_all(
        """SELECT step_id, type, step_group, status, sender_account_id, provider_message_id, scheduled_for,
                  sent_at FROM step_executions WHERE enrollment_id = %s ORDER BY step_id""",
        (enrollment_id,),
    )
    lead = db.fetch_one(
        "SELECT state, current_group, next_due_at FROM campaign_leads WHERE enrollment_id = %s",
        (enrollment_id,),
    )
    due = db.fetch_one("SELECT due_at FROM due_steps WHERE enrollment_id = %s", (enrollment_id,))
    return {"steps": steps, "lead": lead, "due": due}


@pytest.mark.parametrize("steps_done", [0, 1, 2], ids=["enrolled", "first-day-sent", "all-sent"])
def test_history_stored_before_v3_reads_as_the_same_enrollment_and_read_models(database_url, steps_done):
    """Before v3 of ContactEnrolled and StepSent, the schedule and the end of an enrollment were
    events of their own: the aggregate and every read model get from them what they get now from
    the enrollment and the send."""
    with running_service(database_url, roles=()) as service:
        store = service.store
        new, old = _sent_through(steps_done), _sent_through(steps_done)
        store.save_all([new])
        store.recorder.insert_events(_as_before_v3(store, old.collect_events()))

        runners = [ReadModelRunner(store, service.db, projection) for projection in PROJECTIONS]
        projector = Projector(store, service.db, runners, 100)
        while projector.run_once():
            pass

        again = store.enrollment(old.id)
        assert (again.current_group, again.due_at, again.finished_at) == (
            new.current_group,
            new.due_at,
            new.finished_at,
        )
        assert again.step_status == new.step_status
        assert _read_models(service, old.id) == _read_models(service, new.id)
        expected_state = "finished" if steps_done == 2 else "active"
        assert _read_models(service, new.id)["lead"]["state"] == expected_state


def _dispatched_with_enrolment(folded: bool, steps_done: int) -> Enrollment:
    """Ann enrolled in two days of steps whose first is due at once: its dispatch in the enrollment
    (v4) or in a StepDispatched of its own (every earlier version); the first `steps_done` sent."""
    enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), ADDRESSES, TWO_DAYS, T0, dispatch=folded)
    assert enrollment is not None
    if not folded:
        enrollment.dispatch_due(T0)
    if steps_done:
        enrollment.attempt("e0", "sender-1", T0)
        enrollment.record_sent("e0", "m-e0", 1, T0 + timedelta(minutes=1))
    return enrollment


def _in_flight(service, enrollment_id) -> list:
    return service.db.fetch_all(
        "SELECT step_id, since FROM steps_in_flight WHERE enrollment_id = %s ORDER BY step_id",
        (enrollment_id,),
    )


@pytest.mark.parametrize("steps_done", [0, 1], ids=["dispatched", "first-day-sent"])
def test_a_dispatch_in_the_enrolment_reads_as_a_dispatch_of_its_own(database_url, steps_done):
    """ContactEnrolled v4 carries the first group's dispatch when it is due at once: the aggregate,
    every read model, the steps in flight and the relay's messages are what a StepDispatched after
    the enrollment gives (the history before v4, and any dispatch after the enrollment)."""
    with running_service(database_url, roles=()) as service:
        store = service.store
        folded, apart = (
            _dispatched_with_enrolment(True, steps_done),
            _dispatched_with_enrolment(False, steps_done),
        )
        start = store.recorder.max_notification_id() or 0
        store.save_all([folded, apart])
        assert len(store.recorder.select_events(folded.id)) == len(store.recorder.select_events(apart.id)) - 1

        runners = [ReadModelRunner(store, service.db, projection) for projection in PROJECTIONS]
        projector = Projector(store, service.db, runners, 100)
        while projector.run_once():
            pass

        again = store.enrollment(folded.id)
        assert again.step_status == apart.step_status == folded.step_status
        assert again.in_flight_since == apart.in_flight_since
        assert _read_models(service, folded.id) == _read_models(service, apart.id)
        assert _in_flight(service, folded.id) == _in_flight(service, apart.id)
        assert [row["step_id"] for row in _in_flight(service, folded.id)] == ([] if steps_done else ["e0"])
        assert _read_models(service, folded.id)["steps"][0]["status"] == (
            "sent" if steps_done else "dispatched"
        )

        relay = Relay(
            store,
            service.db,
            InProcessTransport(),
            publish_events=False,
            name="relay:email",
            channels=["email"],
        )
        events, _ = read_log(store, start, 100, DISPATCHING, ("channel", ["email"]))
        messages = relay._messages(events)
        dispatches = {
            json.loads(value)["enrollment_id"]: json.loads(value)["step_id"] for _, _, value in messages
        }
        assert dispatches == {str(folded.id): "e0", str(apart.id): "e0"}
        assert {topic for topic, _, _ in messages} == {"sends.email"}
