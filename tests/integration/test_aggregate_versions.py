"""`CampaignApplication.versions`: the stored version of each aggregate in one query, which the
send path compares with the enrollments it holds to load again only those that moved."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from commands.application import CampaignApplication
from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from storage.database import event_store_env

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
STEPS = [Step(id="e0", type=StepType.EMAIL, group=0, order=0, subject="Hi", body="Hello")]


def test_versions_are_the_latest_stored_and_unknown_aggregates_are_left_out(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    enrolled, dispatched = (
        Enrollment.enroll(uuid4(), uuid4(), uuid4(), {"email": "ann@example.com"}, STEPS, NOW)
        for _ in range(2)
    )
    assert enrolled is not None and dispatched is not None
    dispatched.dispatch_due(NOW)
    store.save_all([enrolled, dispatched])
    dispatched.attempt("e0", "sender-1", NOW)
    store.save_all([dispatched])
    unknown = uuid4()

    versions = store.versions([enrolled.id, dispatched.id, unknown])

    assert versions == {enrolled.id: 1, dispatched.id: 3}
    assert versions == {e.id: e.version for e in (enrolled, dispatched)}
    assert store.versions([]) == {}
