"""The credit audit counts every way a credit goes back: a failed step, a step withdrawn because the
contact replied or its address was suppressed, and the release when a campaign is archived (as
when it completes). Each is listed as a release, a step released that is sent afterwards is
reported, and an archived campaign settled with credits still outstanding is reported as a
completed one would be."""

from __future__ import annotations

import pytest

from domain.credit_ledger import CreditLedger
from domain.enrollment import REPLIED, Enrollment
from projections.history.ledger_audit import Audit, audit_ledger
from tests.unit.test_credit_audit_rules import CAMPAIGN, CONTACT, ENROLLMENT, LEDGER, NOW
from tests.unit.test_credit_audit_rules import History as RuleHistory

RELEASES = {
    "failed": (Enrollment.StepFailed, {"reason": "bounced", "failed_at": NOW}),
    "replied": (Enrollment.StepWithdrawn, {"reason": REPLIED, "withdrawn_at": NOW, "cause": "replied"}),
    "suppressed": (
        Enrollment.StepWithdrawn,
        {"reason": "address suppressed: asked", "withdrawn_at": NOW, "cause": "suppressed"},
    ),
}


class History(RuleHistory):
    """The rules' crafted history (tests/unit/test_credit_audit_rules.py), with each way of release."""

    def reserved(self, amount: int) -> History:
        self.add(CreditLedger.CreditsGranted, LEDGER, amount=100, reason="plan", granted_at=NOW)
        return self.add(
            CreditLedger.CreditsReserved, LEDGER, campaign_id=CAMPAIGN, amount=amount, reserved_at=NOW
        )

    def released_step(self, kind: str, step: str) -> History:
        cls, fields = RELEASES[kind]
        return self.add(
            cls, ENROLLMENT, campaign_id=CAMPAIGN, step_id=step, channel="email", credits_released=1, **fields
        )

    def settled(self, released: int, reason: str, closes: bool = False) -> History:
        return self.add(
            CreditLedger.CreditsReleased,
            LEDGER,
            campaign_id=CAMPAIGN,
            amount=released,
            reason=reason,
            released_at=NOW,
            settled_through=len(self.events),
            closes=closes,
            held=0,
        )

    def audit(self) -> Audit:
        return audit_ledger(self.events, {ENROLLMENT: CONTACT})


@pytest.mark.parametrize("kind", sorted(RELEASES))
def test_a_step_released_for_any_reason_is_listed_and_counted(kind):
    audit = History().reserved(1).released_step(kind, "s1").settled(1, "steps that will not be sent").audit()

    assert [(e.kind, e.step_id, e.amount) for e in audit.entries if e.kind == "step released"] == [
        ("step released", "s1", 1)
    ]
    assert audit.campaigns[CAMPAIGN].steps_released == 1
    assert audit.violations == []


@pytest.mark.parametrize("kind", sorted(RELEASES))
def test_a_step_sent_after_it_was_released_for_any_reason_is_reported(kind):
    audit = History().reserved(2).released_step(kind, "s1").sent("s1").audit()

    assert [v.invariant for v in audit.violations] == ["no-send-after-release"]


def test_an_archived_campaign_settled_with_credits_outstanding_is_reported():
    audit = History().reserved(3).archived().settled(2, "campaign archived", closes=True).audit()

    assert [v.invariant for v in audit.violations] == ["nothing-outstanding-at-close"]


def test_an_archive_that_releases_every_unsent_credit_is_clean_and_listed_as_a_release():
    history = History().reserved(3).released_step("replied", "s2").settled(1, "steps that will not be sent")
    audit = history.archived().settled(2, "campaign archived", closes=True).audit()

    assert audit.violations == []
    assert [(e.kind, e.amount, e.reason) for e in audit.entries if e.kind == "released"] == [
        ("released", 1, "steps that will not be sent"),
        ("released", 2, "campaign archived"),
    ]
    assert audit.campaigns[CAMPAIGN].outstanding == 0 and audit.balance == 100
