"""A withdrawal stored before StepWithdrawn carried its cause (v1: the words of `reason` only) reads
back with the cause those words name, through the upcaster, wherever events are read: the log
followers, the aggregate and the JSON consumers see. And the Enrollment's events, whose classes now
live in domain/enrollment_events.py, are stored and found under the topics they always had."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from uuid import UUID, uuid4

import psycopg
from eventsourcing.utils import get_topic, resolve_topic

from commands.application import CampaignApplication
from domain.enrollment import REPLIED, Enrollment, StepStatus, WithdrawalCause
from domain.event_catalogue import event_classes
from domain.steps import Step, StepType
from domain.withdrawal import one_click_unsubscribe_words, stop_keyword_words
from storage.compact_states import expanded
from storage.database import event_store_env
from storage.event_json import event_to_json
from storage.event_log import read_log

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMAIL = Step("e0", StepType.EMAIL, 0, order=0, subject="Hi", body="Hello")
CAMPAIGN = UUID(int=42)
# The words withdrawals were stored with before v2, and the cause each reads back as.
STORED_WORDS = {
    REPLIED: WithdrawalCause.REPLIED,
    f"address suppressed: {one_click_unsubscribe_words(CAMPAIGN)}": WithdrawalCause.UNSUBSCRIBED,
    f"address suppressed: {stop_keyword_words('STOP')}": WithdrawalCause.STOP_KEYWORD,
    "address suppressed: hard bounce: 550 no such user": WithdrawalCause.SUPPRESSED,
    "address suppressed (checked right before sending)": WithdrawalCause.SUPPRESSED,
    "words no release ever wrote": WithdrawalCause.SUPPRESSED,
}


def _withdrawn(words: str) -> Enrollment:
    enrollment = Enrollment.enroll(CAMPAIGN, uuid4(), uuid4(), {"email": "ann@example.com"}, [EMAIL], T0)
    assert enrollment is not None
    enrollment.withdraw_step("e0", words, 1, T0, cause=WithdrawalCause.SUPPRESSED)
    return enrollment


def _stored_as_v1(store: CampaignApplication, enrollment: Enrollment) -> list:
    """The enrollment's events as a release before v2 stored them: a withdrawal without its cause."""
    stored = [store.mapper.to_stored_event(event) for event in enrollment.collect_events()]
    for index, row in enumerate(stored):
        if row.topic.endswith("StepWithdrawn"):
            state = store.mapper.transcoder.decode(expanded(row.state))
            assert state.pop("class_version") == 2
            del state["cause"]
            stored[index] = dataclasses.replace(row, state=store.mapper.transcoder.encode(state))
    return stored


def test_a_withdrawal_stored_with_free_text_reads_back_with_the_cause_its_words_name(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    enrollments = {words: _withdrawn(words) for words in STORED_WORDS}
    for enrollment in enrollments.values():
        store.recorder.insert_events(_stored_as_v1(store, enrollment))
    with psycopg.connect(database_url) as conn:
        states = conn.execute(
            "SELECT state FROM campaigns_events WHERE topic = %s", (get_topic(Enrollment.StepWithdrawn),)
        ).fetchall()
    assert len(states) == len(STORED_WORDS)
    assert not any(b'"cause"' in bytes(state) for (state,) in states)  # the v1 shape, as stored

    events, _ = read_log(store, 0, 100)
    read = {e.reason: (p, e) for p, e in events if isinstance(e, Enrollment.StepWithdrawn)}
    assert {words: e.withdrawal_cause for words, (_, e) in read.items()} == STORED_WORDS
    for words, (position, withdrawn) in read.items():
        assert vars(withdrawn)["cause"] == STORED_WORDS[words].value  # in the instance, as v2 stores it
        data = event_to_json(position, withdrawn)["data"]
        assert (data["reason"], data["cause"]) == (words, STORED_WORDS[words].value)
        assert store.enrollment(enrollments[words].id).status_of("e0") is StepStatus.WITHDRAWN
    store.close()


def test_a_new_withdrawal_is_stored_with_its_cause_at_version_two(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    enrollment = Enrollment.enroll(CAMPAIGN, uuid4(), uuid4(), {"email": "ann@example.com"}, [EMAIL], T0)
    assert enrollment is not None
    enrollment.withdraw_step("e0", "address suppressed: manual", 1, T0, cause=WithdrawalCause.UNSUBSCRIBED)
    store.save_all([enrollment])
    with psycopg.connect(database_url) as conn:
        [(state,)] = conn.execute(
            "SELECT state FROM campaigns_events WHERE topic = 'domain.enrollment:Enrollment.StepWithdrawn'"
        ).fetchall()
    stored = expanded(bytes(state))  # a later event's state is stored compacted
    assert b'"cause":"unsubscribed"' in stored and b'"class_version":2' in stored
    [(_, withdrawn)] = [
        (p, e) for p, e in read_log(store, 0, 100)[0] if isinstance(e, Enrollment.StepWithdrawn)
    ]
    assert withdrawn.withdrawal_cause is WithdrawalCause.UNSUBSCRIBED
    store.close()


def test_every_enrollment_event_keeps_the_topic_it_was_always_stored_under(database_url):
    """The classes moved to domain/enrollment_events.py; what is stored, and what stored rows name,
    is still `domain.enrollment:Enrollment.<Name>`, and such a row loads as the aggregate's event."""
    names = [cls.__name__ for cls in event_classes(Enrollment)]
    assert len(names) == 17  # with ContactOptedOut
    for name in names:
        topic = f"domain.enrollment:Enrollment.{name}"
        assert get_topic(getattr(Enrollment, name)) == topic
        assert resolve_topic(topic) is getattr(Enrollment, name)
    assert get_topic(Enrollment) == "domain.enrollment:Enrollment"

    store = CampaignApplication(env=event_store_env(database_url))
    enrollment = _withdrawn("address suppressed: manual")
    store.save_all([enrollment])
    with psycopg.connect(database_url) as conn:
        topics = [t for (t,) in conn.execute("SELECT topic FROM campaigns_events ORDER BY 1").fetchall()]
    assert topics == [
        "domain.enrollment:Enrollment.ContactEnrolled",
        "domain.enrollment:Enrollment.EnrollmentFinished",
        "domain.enrollment:Enrollment.StepWithdrawn",
    ]
    again = store.enrollment(enrollment.id)
    assert (again.finished, again.status_of("e0")) == (True, StepStatus.WITHDRAWN)
    store.close()
