"""The credit audit's invariants, each broken on purpose by a crafted history (and a clean one)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from domain.campaign import Campaign
from domain.credit_ledger import CLOSING_REASONS, CreditLedger
from domain.enrollment import Enrollment
from projections.history.ledger_audit import audit_ledger

NOW = datetime(2026, 11, 29, tzinfo=UTC)
LEDGER, CAMPAIGN, ENROLLMENT, CONTACT = uuid4(), uuid4(), uuid4(), uuid4()


class History:
    """Events in log order, positions counted from 1, versions per aggregate."""

    def __init__(self) -> None:
        self.events: list[tuple[int, Any]] = []
        self.versions: dict[UUID, int] = {}

    def add(self, cls: type, aggregate: UUID, **fields: Any) -> History:
        version = self.versions[aggregate] = self.versions.get(aggregate, 0) + 1
        event = cls(originator_id=aggregate, originator_version=version, timestamp=NOW, **fields)
        self.events.append((len(self.events) + 1, event))
        return self

    def grant(self, amount: int) -> History:
        return self.add(CreditLedger.CreditsGranted, LEDGER, amount=amount, reason="plan", granted_at=NOW)

    def purchase(self, amount: int, reference: str) -> History:
        return self.add(
            CreditLedger.CreditsGranted,
            LEDGER,
            amount=amount,
            reason="purchase",
            granted_at=NOW,
            reference=reference,
        )

    def renewal(self, period: str) -> History:
        reason = f"plan basic {period}"
        return self.add(
            CreditLedger.CreditsGranted, LEDGER, amount=1000, reason=reason, granted_at=NOW, period=period
        )

    def reserve(self, amount: int) -> History:
        return self.add(
            CreditLedger.CreditsReserved, LEDGER, campaign_id=CAMPAIGN, amount=amount, reserved_at=NOW
        )

    def sent(self, step: str = "s1") -> History:
        return self.add(
            Enrollment.StepSent,
            ENROLLMENT,
            campaign_id=CAMPAIGN,
            step_id=step,
            channel="email",
            sender_account_id="a",
            provider_message_id=f"msg-{step}",
            credits=1,
            sent_at=NOW,
        )

    def failed(self, step: str = "s1") -> History:
        return self.add(
            Enrollment.StepFailed,
            ENROLLMENT,
            campaign_id=CAMPAIGN,
            step_id=step,
            channel="email",
            reason="bounced",
            credits_released=1,
            failed_at=NOW,
        )

    def consumed(self, amount: int) -> History:
        through = len(self.events)
        return self.add(
            CreditLedger.CreditsConsumed,
            LEDGER,
            campaign_id=CAMPAIGN,
            amount=amount,
            consumed_at=NOW,
            settled_through=through,
        )

    def released(self, amount: int, reason: str = "steps that will not be sent", held: int = 0) -> History:
        through = len(self.events)
        return self.add(
            CreditLedger.CreditsReleased,
            LEDGER,
            campaign_id=CAMPAIGN,
            amount=amount,
            reason=reason,
            released_at=NOW,
            settled_through=through,
            closes=reason in CLOSING_REASONS,
            held=held,
        )

    def attempted(self, step: str = "s1") -> History:
        return self.add(
            Enrollment.StepAttempted,
            ENROLLMENT,
            step_id=step,
            sender_account_id="a",
            message_key=f"{ENROLLMENT}:{step}",
            attempted_at=NOW,
            campaign_id=CAMPAIGN,
        )

    def cancelled(self, step: str = "s1") -> History:
        return self.add(
            Enrollment.StepCancelled,
            ENROLLMENT,
            campaign_id=CAMPAIGN,
            step_id=step,
            reason="x",
            cancelled_at=NOW,
        )

    def archived(self) -> History:
        return self.add(Campaign.CampaignArchived, CAMPAIGN, archived_at=NOW)

    def completed(self) -> History:
        return self.add(Campaign.CampaignCompleted, CAMPAIGN, completed_at=NOW)

    def broken(self) -> list[str]:
        return [v.invariant for v in audit_ledger(self.events, {ENROLLMENT: CONTACT}).violations]


def test_a_clean_history_breaks_nothing_and_lists_every_movement_with_the_balance():
    history = History().grant(100).reserve(3).sent("s1").failed("s2").completed()
    history.consumed(1).released(1).released(1, "campaign completed")
    audit = audit_ledger(history.events, {ENROLLMENT: CONTACT})
    assert audit.violations == []
    assert [(e.kind, e.amount, e.balance_after, e.campaign_id, e.reason) for e in audit.entries] == [
        ("grant", 100, 100, None, "plan"),
        ("reservation", -3, 97, CAMPAIGN, None),
        ("send", 1, 97, CAMPAIGN, None),
        ("step released", 1, 97, CAMPAIGN, None),
        ("consumed", 1, 97, CAMPAIGN, "sends settled"),
        ("released", 1, 98, CAMPAIGN, "steps that will not be sent"),
        ("released", 1, 99, CAMPAIGN, "campaign completed"),
    ]
    send = audit.entries[2]
    assert (send.campaign_id, send.contact_id, send.step_id, send.provider_message_id) == (
        CAMPAIGN,
        CONTACT,
        "s1",
        "msg-s1",
    )
    assert audit.campaigns[CAMPAIGN].outstanding == 0


def test_a_balance_below_zero_is_reported():
    assert History().grant(2).reserve(3).broken() == ["balance-never-negative"]


def test_a_balance_spent_to_exactly_zero_breaks_nothing():
    assert History().grant(2).reserve(2).broken() == []


def test_a_campaign_reserved_and_settled_in_several_parts_balances_to_nothing_outstanding():
    history = History().grant(10).reserve(2).reserve(1).sent("s1").sent("s2").consumed(2)
    history.sent("s3").completed().consumed(1).released(0, "campaign completed")
    audit = audit_ledger(history.events, {ENROLLMENT: CONTACT})
    assert audit.violations == []
    credits = audit.campaigns[CAMPAIGN]
    assert (credits.reserved, credits.consumed, credits.outstanding, audit.balance) == (3, 3, 0, 7)


def test_settling_credits_a_campaign_never_reserved_is_reported():
    (violation,) = audit_ledger(History().grant(10).consumed(1).events, {}).violations
    assert str(violation) == (
        f"reservation-balances (log position 2): campaign {CAMPAIGN} settles credits it never reserved"
    )


def test_settling_more_than_was_reserved_is_reported():
    assert History().grant(10).reserve(1).sent().sent("s2").consumed(2).broken() == ["reservation-balances"]


def test_credits_outstanding_after_a_settled_completion_are_reported():
    history = History().grant(10).reserve(2).sent().completed().consumed(1)
    assert history.broken() == ["nothing-outstanding-at-close"]


def test_a_send_without_a_reservation_is_reported_with_its_step_contact_and_campaign():
    (violation,) = audit_ledger(History().grant(10).sent().events, {ENROLLMENT: CONTACT}).violations
    assert str(violation) == (
        f"no-send-without-reservation (log position 2): step s1 of contact {CONTACT} in campaign {CAMPAIGN} "
        "was sent with no reservation"
    )


def test_a_send_after_its_credit_was_released_is_reported():
    assert History().grant(10).reserve(1).failed("s1").sent("s1").broken() == ["no-send-after-release"]


def test_a_send_after_the_campaigns_reservation_was_closed_is_reported():
    history = History().grant(10).reserve(1).completed().released(1, "campaign completed").sent()
    violation = audit_ledger(history.events, {ENROLLMENT: CONTACT}).violations[0]
    assert str(violation) == (
        f"no-send-after-release (log position 5): step s1 of contact {CONTACT} in campaign {CAMPAIGN} was "
        "sent after the campaign's reservation was closed, and was not at the provider then"
    )


def test_a_ledger_that_disagrees_with_the_sends_is_reported():
    history = History().grant(10).reserve(2).sent().sent("s2").completed()
    completed_at = len(history.events)
    history.consumed(1).released(1, "campaign completed")
    (violation,) = audit_ledger(history.events, {ENROLLMENT: CONTACT}).violations
    assert str(violation) == (
        f"ledger-agrees-with-sends (log position {completed_at}): campaign {CAMPAIGN}: the ledger consumed "
        "1 credits, its sends carry 2"
    )


def test_a_closed_campaign_not_yet_settled_is_a_note_not_a_violation():
    history = History().grant(10).reserve(2).sent().completed()
    audit = audit_ledger(history.events, {ENROLLMENT: CONTACT})
    assert audit.violations == []
    assert audit.notes == [f"campaign {CAMPAIGN} is closed; its settlement has not caught up yet"]


def test_a_campaign_still_sending_is_neither_a_violation_nor_a_note():
    history = History().grant(10).reserve(2).sent().consumed(1)
    audit = audit_ledger(history.events, {ENROLLMENT: CONTACT})
    assert audit.violations == [] and audit.notes == []
    assert audit.campaigns[CAMPAIGN].outstanding == 1


def test_a_send_at_the_provider_when_its_campaign_was_archived_is_paid_from_the_unit_kept_for_it():
    history = History().grant(10).reserve(2).attempted("s1").archived()
    history.released(1, "campaign archived", held=1).sent("s1").consumed(1)
    audit = audit_ledger(history.events, {ENROLLMENT: CONTACT})
    assert audit.violations == []
    assert audit.campaigns[CAMPAIGN].outstanding == 0


def test_a_unit_kept_at_archive_for_a_step_still_at_the_provider_is_a_note_not_a_violation():
    history = (
        History().grant(10).reserve(2).attempted("s1").archived().released(1, "campaign archived", held=1)
    )
    audit = audit_ledger(history.events, {ENROLLMENT: CONTACT})
    assert audit.violations == []
    assert audit.notes == [
        f"campaign {CAMPAIGN} keeps 1 credits for steps that were at a provider when it closed, until "
        "their outcome is settled"
    ]


def test_a_kept_step_sent_after_the_close_and_not_settled_yet_is_a_note_not_a_violation():
    history = History().grant(10).reserve(2).attempted("s1").archived()
    history.released(1, "campaign archived", held=1).sent("s1")
    audit = audit_ledger(history.events, {ENROLLMENT: CONTACT})
    assert audit.violations == []
    assert audit.notes == [
        f"campaign {CAMPAIGN} keeps 1 credits for steps that were at a provider when it closed, until "
        "their outcome is settled"
    ]


def test_a_step_of_another_campaign_at_the_provider_is_not_kept_by_this_campaigns_close():
    other_campaign, other_enrollment = uuid4(), uuid4()
    history = History().grant(10).reserve(2)
    history.add(
        Enrollment.StepAttempted,
        other_enrollment,
        step_id="s1",
        sender_account_id="a",
        message_key=f"{other_enrollment}:s1",
        attempted_at=NOW,
        campaign_id=other_campaign,
    )
    history.archived().released(2, "campaign archived")
    audit = audit_ledger(history.events, {ENROLLMENT: CONTACT, other_enrollment: uuid4()})
    assert audit.violations == [] and audit.notes == []
    assert audit.campaigns[CAMPAIGN].held == {}


def test_a_campaign_archived_with_a_step_at_the_provider_and_not_settled_yet_is_noted_as_behind_alone():
    history = History().grant(10).reserve(2).attempted("s1").archived()
    audit = audit_ledger(history.events, {ENROLLMENT: CONTACT})
    assert audit.violations == []
    assert audit.notes == [f"campaign {CAMPAIGN} is closed; its settlement has not caught up yet"]


def test_a_close_that_leaves_more_outstanding_than_its_steps_at_the_provider_is_reported_at_the_close():
    history = History().grant(10).reserve(2).attempted("s1").archived()
    archived_at = len(history.events)
    history.released(0, "campaign archived", held=1)
    (violation,) = audit_ledger(history.events, {ENROLLMENT: CONTACT}).violations
    assert str(violation) == (
        f"nothing-outstanding-at-close (log position {archived_at}): campaign {CAMPAIGN} is COMPLETED or "
        "ARCHIVED with 2 credits outstanding, 1 of them for steps at a provider"
    )


def test_a_step_at_the_provider_that_was_not_sent_gives_back_the_unit_kept_for_it():
    history = History().grant(10).reserve(2).attempted("s1").archived()
    history.released(1, "campaign archived", held=1).cancelled("s1").released(1)
    assert history.broken() == []


def test_a_send_after_the_archive_of_a_step_that_was_not_at_the_provider_then_is_reported():
    history = History().grant(10).reserve(2).archived().attempted("s1")
    history.released(2, "campaign archived").sent("s1")
    assert history.broken()[0] == "no-send-after-release"


def test_a_close_that_keeps_credits_for_steps_no_provider_has_is_reported_at_the_close_with_its_counts():
    history = History().grant(10).reserve(2).archived().released(1, "campaign archived", held=1)
    violations = audit_ledger(history.events, {ENROLLMENT: CONTACT}).violations
    (kept,) = [v for v in violations if v.invariant == "close-keeps-only-steps-at-the-provider"]
    close = len(history.events)  # the auditor is sent to the ledger's release that closed the campaign
    assert str(kept) == (
        f"close-keeps-only-steps-at-the-provider (log position {close}): campaign {CAMPAIGN}: "
        "its close kept 1 credits for 0 steps at the provider"
    )


def test_a_kept_unit_left_outstanding_after_its_step_ended_is_reported():
    history = History().grant(10).reserve(2).attempted("s1").attempted("s2").archived()
    archived_at = len(history.events)
    history.released(0, "campaign archived", held=2).cancelled("s1").sent("s2").consumed(1)
    (violation,) = audit_ledger(history.events, {ENROLLMENT: CONTACT}).violations
    assert str(violation) == (
        f"nothing-outstanding-at-close (log position {archived_at}): campaign {CAMPAIGN} is COMPLETED or ARCHIVED "
        "with 1 credits outstanding"
    )


def test_purchases_and_renewals_are_listed_with_their_references_and_periods():
    audit = audit_ledger(History().grant(100).purchase(50, "inv-1").renewal("2027-01").events, {})
    assert audit.violations == []
    assert [(e.kind, e.amount, e.balance_after, e.reason, e.reference) for e in audit.entries] == [
        ("grant", 100, 100, "plan", None),
        ("grant", 50, 150, "purchase", "inv-1"),
        ("grant", 1000, 1150, "plan basic 2027-01", None),
    ]


def test_a_purchase_granted_twice_under_one_reference_is_reported():
    assert History().purchase(50, "inv-1").purchase(50, "inv-2").purchase(70, "inv-1").broken() == [
        "purchase-granted-once"
    ]


def test_a_plan_period_granted_twice_is_reported():
    assert History().renewal("2027-01").renewal("2027-02").renewal("2027-01").broken() == [
        "plan-period-granted-once"
    ]


def test_a_violation_reads_as_its_rule_its_log_position_and_what_broke_it():
    [below_zero] = audit_ledger(History().grant(2).reserve(3).events, {}).violations
    assert below_zero.position is not None
    assert (
        str(below_zero) == f"balance-never-negative (log position {below_zero.position}): {below_zero.detail}"
    )
    assert below_zero.detail
    nowhere = replace(below_zero, position=None)  # a rule over the whole history names no position
    assert str(nowhere) == f"balance-never-negative: {below_zero.detail}"
