"""Old history reads in today's shape: an event stored before its class's last version bump is
upcast as it is read, by the aggregate, the log followers and the JSON every consumer sees."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from uuid import uuid4

import psycopg

from commands.application import CampaignApplication
from domain.enrollment import Enrollment, StepStatus
from domain.steps import Step, StepType
from storage.database import event_store_env
from storage.event_json import event_to_json
from storage.event_log import read_log

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
    return {topic.rsplit(".", 1)[-1]: json.loads(bytes(state)) for topic, state in rows}


def test_a_step_sent_stored_in_its_v1_shape_reads_back_through_the_upcaster(database_url):
    app = CampaignApplication(env=event_store_env(database_url))
    enrollment = _sent_enrollment()
    stored = [app.mapper.to_stored_event(event) for event in enrollment.collect_events()]
    for index, row in enumerate(stored):
        if row.topic.endswith("StepSent"):  # written as a release before v2 wrote it
            state = app.mapper.transcoder.decode(row.state)
            assert state.pop("class_version") == 2
            del state["personalisation"]
            stored[index] = dataclasses.replace(row, state=app.mapper.transcoder.encode(state))
    app.recorder.insert_events(stored)

    raw = _stored_states(database_url)["StepSent"]
    assert "personalisation" not in raw and "class_version" not in raw  # the v1 shape, as stored

    events, _ = read_log(app, 0, 100)
    sent = next(event for _, event in events if isinstance(event, Enrollment.StepSent))
    assert vars(sent)["personalisation"] == "template"  # in the instance, not only the class default
    position = next(p for p, event in events if event is sent)
    assert event_to_json(position, sent)["data"]["personalisation"] == "template"
    assert app.enrollment(enrollment.id).status_of("e0") is StepStatus.SENT
    app.close()


def test_a_new_event_is_stored_with_its_class_version(database_url):
    app = CampaignApplication(env=event_store_env(database_url))
    app.save_all([_sent_enrollment()])
    states = _stored_states(database_url)
    assert states["StepSent"]["class_version"] == 2
    assert states["StepSent"]["personalisation"] == "template"
    assert "class_version" not in states["StepAttempted"]  # version 1 is the library's default: not written
    app.close()
