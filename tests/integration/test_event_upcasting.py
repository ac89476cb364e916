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
from projections.projector import Projector
from projections.runner import ReadModelRunner
from runtime.container import PROJECTIONS
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


def test_an_enrolment_stored_before_v3_reads_with_its_schedule_from_the_group_scheduled_after_it(
    database_url,
):
    """Before v3 the first group's schedule was an event of its own: the aggregate and every read
    model get it from there, as they get it from the enrolment itself now."""
    with running_service(database_url, roles=()) as service:
        app = service.app
        enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), {"email": "ann@example.com"}, [EMAIL], T0)
        assert enrollment is not None
        [created] = enrollment.collect_events()
        row = app.mapper.to_stored_event(created)
        state = app.mapper.transcoder.decode(row.state)
        assert state.pop("class_version") == 3 and (state.pop("group"), state.pop("due_at")) == (0, T0)
        state["class_version"] = 2
        scheduled = Enrollment.GroupScheduled(
            originator_id=enrollment.id,
            originator_version=2,
            timestamp=T0,
            campaign_id=enrollment.campaign_id,
            group=0,
            due_at=T0,
        )
        app.recorder.insert_events(
            [
                dataclasses.replace(row, state=app.mapper.transcoder.encode(state)),
                app.mapper.to_stored_event(scheduled),
            ]
        )

        events, _ = read_log(app, 0, 100)
        assert [(e.group, e.due_at) for _, e in events if isinstance(e, Enrollment.ContactEnrolled)] == [
            (None, None)
        ]
        again = app.enrollment(enrollment.id)
        assert (again.version, again.current_group, again.due_at) == (2, 0, T0)
        runners = [ReadModelRunner(app, service.db, projection) for projection in PROJECTIONS]
        projector = Projector(app, service.db, runners, 100)
        while projector.run_once():
            pass
        step = service.db.fetch_one(
            "SELECT scheduled_for FROM step_executions WHERE enrollment_id = %s", (enrollment.id,)
        )
        lead = service.db.fetch_one(
            "SELECT current_group, next_due_at FROM campaign_leads WHERE enrollment_id = %s", (enrollment.id,)
        )
        due = service.db.fetch_one("SELECT due_at FROM due_steps WHERE enrollment_id = %s", (enrollment.id,))
        assert (
            step == {"scheduled_for": T0}
            and lead == {"current_group": 0, "next_due_at": T0}
            and due == {"due_at": T0}
        )
