"""What happens to a step after the provider took it: delivery reports, a voicemail a person
picked up, and a reply that stops the contact's remaining steps and releases their credits.

A report counts only for a step that is sent and has no report yet (a repeated or late callback
changes nothing); only the first reply is recorded, also after the enrollment finished.
"""

from __future__ import annotations

from uuid import UUID

from domain.credit_cost import DEFAULT_UNIT_COSTS
from domain.enrollment import REPLIED, Enrollment, StepStatus
from domain.withdrawal import WithdrawalCause, one_click_unsubscribe_words, stop_keyword_words
from tests.unit.test_enrollment import DAY, EMAIL, SMS, T0, WAIT, enroll, send, step

FOLLOW_UP = [step("s0", SMS, 0), step("w1", WAIT, 1, 1), step("e1", EMAIL, 1), step("s1", SMS, 1)]


def events_of(enrollment: Enrollment, kind: type) -> list:
    return [e for e in enrollment.collect_events() if isinstance(e, kind)]


def sent_first_text() -> Enrollment:
    enrollment = enroll(FOLLOW_UP)
    enrollment.dispatch_due(T0)
    send(enrollment, "s0", T0)
    enrollment.collect_events()
    return enrollment


def test_a_delivery_report_marks_the_sent_step_delivered_once() -> None:
    enrollment = sent_first_text()
    assert enrollment.record_delivered("s0", "delivered", T0)
    assert not enrollment.record_delivered("s0", "delivered", T0)
    assert not enrollment.record_undelivered("s0", "undelivered: 30003", T0)
    [event] = events_of(enrollment, Enrollment.StepDelivered)
    assert (event.step_id, event.channel, event.detail) == ("s0", "sms", "delivered")
    assert enrollment.status_of("s0") is StepStatus.DELIVERED


def test_a_report_for_a_step_not_sent_records_nothing() -> None:
    enrollment = sent_first_text()
    assert not enrollment.record_delivered("e1", "delivered", T0)
    assert not enrollment.record_answered_by_human("e1", T0)
    assert enrollment.collect_events() == []


def test_an_undelivered_step_is_a_bounce_and_keeps_its_credit_consumed() -> None:
    enrollment = sent_first_text()
    assert enrollment.record_undelivered("s0", "undelivered: 30003 unreachable", T0)
    [event] = events_of(enrollment, Enrollment.StepUndelivered)
    assert event.reason == "undelivered: 30003 unreachable"
    assert enrollment.status_of("s0") is StepStatus.UNDELIVERED
    assert not enrollment.finished  # a bounce alone does not stop the follow-ups
    assert event.hard is False  # a report says so when the address can never be reached


def test_a_hard_bounce_is_recorded_as_hard() -> None:
    enrollment = sent_first_text()
    assert enrollment.record_undelivered("s0", "undelivered: 21211 invalid number", T0, hard=True)
    [event] = events_of(enrollment, Enrollment.StepUndelivered)
    assert event.hard is True


def test_a_voicemail_answered_by_a_person_is_recorded_as_such() -> None:
    enrollment = sent_first_text()
    assert enrollment.record_answered_by_human("s0", T0)
    assert enrollment.status_of("s0") is StepStatus.ANSWERED_BY_HUMAN
    assert [type(e).__name__ for e in enrollment.collect_events()] == ["StepAnsweredByHuman"]


def test_a_reply_withdraws_every_remaining_step_and_releases_their_credits() -> None:
    enrollment = sent_first_text()
    assert enrollment.record_reply("sms", "SM-reply", DEFAULT_UNIT_COSTS, T0 + DAY / 24) is True
    events = enrollment.collect_events()
    [replied] = [e for e in events if isinstance(e, Enrollment.ContactReplied)]
    assert (replied.channel, replied.step_id, replied.provider_message_id) == ("sms", "s0", "SM-reply")
    released = [e for e in events if isinstance(e, Enrollment.StepWithdrawn)]
    assert {(e.step_id, e.reason, e.withdrawal_cause, e.credits_released) for e in released} == {
        ("e1", REPLIED, WithdrawalCause.REPLIED, 1),
        ("s1", REPLIED, WithdrawalCause.REPLIED, 1),
    }
    assert enrollment.finished and enrollment.dispatch_due(T0 + 3 * DAY) == []


def test_a_second_reply_changes_nothing() -> None:
    enrollment = sent_first_text()
    enrollment.record_reply("sms", "SM-1", DEFAULT_UNIT_COSTS, T0)
    enrollment.collect_events()
    assert enrollment.record_reply("sms", "SM-2", DEFAULT_UNIT_COSTS, T0) is False
    assert enrollment.collect_events() == []


def test_a_reply_after_the_last_step_is_still_recorded() -> None:
    enrollment = enroll([step("s0", SMS, 0)])
    enrollment.dispatch_due(T0)
    send(enrollment, "s0", T0)
    assert enrollment.finished
    enrollment.collect_events()
    assert enrollment.record_reply("sms", "SM-late", DEFAULT_UNIT_COSTS, T0 + DAY) is True
    assert [type(e).__name__ for e in enrollment.collect_events()] == ["ContactReplied"]


def test_a_step_being_attempted_when_the_reply_arrives_is_left_to_its_worker() -> None:
    enrollment = enroll([step("s0", SMS, 0), step("e0", EMAIL, 0)])
    enrollment.dispatch_due(T0)
    enrollment.attempt("s0", "sender-1", T0)
    assert enrollment.record_reply("email", "reply-1", DEFAULT_UNIT_COSTS, T0)
    assert [e.step_id for e in events_of(enrollment, Enrollment.StepWithdrawn)] == ["e0"]
    assert enrollment.status_of("s0") is StepStatus.ATTEMPTED and enrollment.replied_at == T0


def test_only_the_first_open_of_a_sent_step_is_recorded() -> None:
    enrollment = sent_first_text()
    assert enrollment.record_open("s0", T0)
    assert not enrollment.record_open("s0", T0 + DAY)
    [event] = events_of(enrollment, Enrollment.StepOpened)
    assert (event.step_id, event.opened_at) == ("s0", T0)
    assert enrollment.opened_at == {"s0": T0}
    assert enrollment.status_of("s0") is StepStatus.SENT  # an open is beside the status, not one
    assert enrollment.record_delivered("s0", "delivered", T0 + DAY)  # a later report still lands


def test_only_the_first_click_of_a_sent_step_is_recorded_with_its_url() -> None:
    enrollment = sent_first_text()
    assert enrollment.record_click("s0", "https://example.com/a", T0)
    assert not enrollment.record_click("s0", "https://example.com/b", T0 + DAY)
    [event] = events_of(enrollment, Enrollment.StepClicked)
    assert (event.step_id, event.url, event.clicked_at) == ("s0", "https://example.com/a", T0)
    assert enrollment.clicked_at == {"s0": T0}


def test_a_step_not_sent_yet_can_be_neither_opened_nor_clicked() -> None:
    enrollment = sent_first_text()
    assert not enrollment.record_open("e1", T0)
    assert not enrollment.record_click("e1", "https://example.com/a", T0)
    assert enrollment.collect_events() == []


def test_only_the_contacts_own_opt_outs_are_unsubscribes() -> None:
    assert WithdrawalCause.UNSUBSCRIBED.is_unsubscribe and WithdrawalCause.STOP_KEYWORD.is_unsubscribe
    assert not WithdrawalCause.REPLIED.is_unsubscribe and not WithdrawalCause.SUPPRESSED.is_unsubscribe


def test_the_words_of_a_withdrawal_name_its_cause_and_unknown_words_are_a_suppression() -> None:
    campaign = UUID(int=7)
    assert one_click_unsubscribe_words(campaign) == f"unsubscribed (one-click, campaign {campaign})"
    assert stop_keyword_words("STOP") == "SMS keyword STOP"
    assert {
        words: WithdrawalCause.of_words(words)
        for words in (
            REPLIED,
            f"address suppressed: {one_click_unsubscribe_words(campaign)}",
            f"address suppressed: {stop_keyword_words('STOPALL')}",
            "address suppressed: manual",
            "address suppressed: hard bounce: 550 no such user",
            "address suppressed (checked right before sending)",
            f"address suppressed: {REPLIED}",  # an operator's words, not the contact's reply
            "",
        )
    } == {
        REPLIED: WithdrawalCause.REPLIED,
        f"address suppressed: unsubscribed (one-click, campaign {campaign})": WithdrawalCause.UNSUBSCRIBED,
        "address suppressed: SMS keyword STOPALL": WithdrawalCause.STOP_KEYWORD,
        "address suppressed: manual": WithdrawalCause.SUPPRESSED,
        "address suppressed: hard bounce: 550 no such user": WithdrawalCause.SUPPRESSED,
        "address suppressed (checked right before sending)": WithdrawalCause.SUPPRESSED,
        f"address suppressed: {REPLIED}": WithdrawalCause.SUPPRESSED,
        "": WithdrawalCause.SUPPRESSED,
    }


def test_every_report_after_the_send_records_its_campaign_step_channel_and_time() -> None:
    later = T0 + DAY
    delivered, undelivered, answered = sent_first_text(), sent_first_text(), sent_first_text()
    delivered.record_delivered("s0", "delivered", later)
    undelivered.record_undelivered("s0", "undelivered: 30003", later)
    answered.record_answered_by_human("s0", later)
    [d] = events_of(delivered, Enrollment.StepDelivered)
    [u] = events_of(undelivered, Enrollment.StepUndelivered)
    [a] = events_of(answered, Enrollment.StepAnsweredByHuman)
    campaign = delivered.campaign_id
    assert (d.campaign_id, d.step_id, d.channel, d.detail, d.delivered_at) == (
        campaign,
        "s0",
        "sms",
        "delivered",
        later,
    )
    assert (u.campaign_id, u.step_id, u.channel, u.reason, u.undelivered_at) == (
        undelivered.campaign_id,
        "s0",
        "sms",
        "undelivered: 30003",
        later,
    )
    assert (a.campaign_id, a.step_id, a.answered_at) == (answered.campaign_id, "s0", later)
    replied = sent_first_text()
    replied.record_reply("sms", "SM-reply", DEFAULT_UNIT_COSTS, later)
    [r] = events_of(replied, Enrollment.ContactReplied)
    assert (r.campaign_id, r.channel, r.step_id, r.provider_message_id, r.replied_at) == (
        replied.campaign_id,
        "sms",
        "s0",
        "SM-reply",
        later,
    )
