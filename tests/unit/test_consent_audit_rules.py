"""The consent audit's rules, each broken on purpose by a crafted history (and the sends they must
allow: one already at the provider, one after a START, one in the contact's own daytime)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from domain.address_consent import AddressConsent
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from domain.withdrawal import one_click_unsubscribe_words, stop_keyword_words
from projections.history.consent_rules import Breach, audit_consent

BRAND, OTHER_BRAND, CAMPAIGN, CONTACT = uuid4(), uuid4(), uuid4(), uuid4()
LEDGER = CreditLedger.create_id(BRAND)
ENROLLMENT = Enrollment.create_id(CAMPAIGN, CONTACT)
EMAIL, PHONE = "ann@example.com", "+14155550100"
NOON_UTC = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class History:
    """Events in log order, positions counted from 1, versions per aggregate."""

    def __init__(self, timezone: str = "UTC", brand: UUID = BRAND) -> None:
        self.events: list[tuple[int, Any]] = []
        self.versions: dict[UUID, int] = {}
        self.add(
            Enrollment.ContactEnrolled,
            ENROLLMENT if brand == BRAND else uuid4(),
            campaign_id=CAMPAIGN,
            brand_id=brand,
            contact_id=CONTACT,
            addresses={"email": EMAIL, "sms": PHONE, "voicemail": PHONE},
            plan=[],
            enrolled_at=NOON_UTC,
            timezone=timezone,
        )

    @property
    def enrollment(self) -> UUID:
        return self.events[0][1].originator_id  # type: ignore[no-any-return]

    def add(self, cls: type, aggregate: UUID, at: datetime = NOON_UTC, **fields: Any) -> History:
        version = self.versions[aggregate] = self.versions.get(aggregate, 0) + 1
        if "originator_topic" in {f.name for f in dataclasses.fields(cls)}:
            fields["originator_topic"] = "crafted"  # an aggregate's opening event names its class
        event = cls(originator_id=aggregate, originator_version=version, timestamp=at, **fields)
        self.events.append((len(self.events) + 1, event))
        return self

    @property
    def last(self) -> int:
        return len(self.events)

    def attempted(self, step: str = "s1", at: datetime = NOON_UTC) -> History:
        return self.add(
            Enrollment.StepAttempted,
            self.enrollment,
            at,
            step_id=step,
            sender_account_id="a",
            message_key=f"key-{step}",
            attempted_at=at,
            campaign_id=CAMPAIGN,
        )

    def sent(self, step: str = "s1", channel: str = "email", at: datetime = NOON_UTC) -> History:
        return self.add(
            Enrollment.StepSent,
            self.enrollment,
            at,
            campaign_id=CAMPAIGN,
            step_id=step,
            channel=channel,
            sender_account_id="a",
            provider_message_id=f"msg-{step}",
            credits=1,
            sent_at=at,
        )

    def send(self, step: str = "s1", channel: str = "email", at: datetime = NOON_UTC) -> History:
        return self.attempted(step, at).sent(step, channel, at + timedelta(seconds=1))

    def suppressed(self, address: str, reason: str = "asked by phone", brand: UUID = BRAND) -> History:
        consent = AddressConsent.create_id(brand, address)
        if consent not in self.versions:
            self.add(AddressConsent.ConsentOpened, consent, brand_id=brand, address=address)
        cause = "suppressed"
        if "keyword" in reason:
            cause = "stop_keyword"
        elif "unsubscribed" in reason:
            cause = "unsubscribed"
        return self.add(
            AddressConsent.AddressSuppressed, consent, reason=reason, cause=cause, suppressed_at=NOON_UTC
        )

    def lifted(self, address: str, reason: str = "SMS keyword START") -> History:
        consent = AddressConsent.create_id(BRAND, address)
        return self.add(AddressConsent.SuppressionLifted, consent, reason=reason, lifted_at=NOON_UTC)

    def suspended(self) -> History:
        return self.add(
            CreditLedger.BrandSuspended, LEDGER, reason="unpaid", suspended_by="ops", suspended_at=NOON_UTC
        )

    def reinstated(self) -> History:
        return self.add(CreditLedger.BrandReinstated, LEDGER, reinstated_by="ops", reinstated_at=NOON_UTC)

    def hours(self, allowed_from: str, allowed_until: str, ledger: UUID = LEDGER) -> History:
        return self.add(
            CreditLedger.QuietHoursChanged,
            ledger,
            allowed_from=allowed_from,
            allowed_until=allowed_until,
            changed_at=NOON_UTC,
        )

    def audit(self) -> Any:
        return audit_consent(BRAND, self.events)


def test_a_clean_history_passes_and_is_counted():
    history = History().send("s1").send("s2", "sms").suppressed(EMAIL, one_click_unsubscribe_words(CAMPAIGN))
    history.suppressed(PHONE, stop_keyword_words("STOP")).lifted(PHONE).suppressed(
        "bob@example.com", "hard bounce"
    )
    audit = history.audit()
    assert audit.violations == [] and audit.in_flight == []
    assert (audit.sends_checked, audit.quiet_hour_sends) == (2, 1)
    assert (audit.suppressions, audit.opt_outs, audit.lifts) == (3, 2, 1)


def test_a_send_attempted_after_the_address_was_suppressed_is_named_with_its_log_position():
    history = History().suppressed(EMAIL).send("s1")
    [violation] = history.audit().violations
    assert violation.kind is Breach.SENT_AFTER_SUPPRESSION
    assert violation.position == history.last and violation.since == 3
    assert violation.send.step_id == "s1" and violation.send.contact_id == CONTACT
    assert f"log position {history.last}" in str(violation) and str(CONTACT) in str(violation)


def test_a_send_at_the_provider_before_the_suppression_is_allowed_and_named_as_a_note():
    history = History().attempted("s1").suppressed(EMAIL).sent("s1")
    audit = history.audit()
    assert audit.violations == []
    [note] = audit.in_flight
    assert note.before == "suppression" and note.since == 4 and note.send.attempted_position == 2
    assert "already at the provider" in str(note)


def test_a_suppression_holds_only_its_own_address():
    audit = History().suppressed(PHONE).send("s1", "email").audit()
    assert audit.violations == []


def test_a_stop_stops_texts_and_calls_to_the_number():
    audit = History().suppressed(PHONE, stop_keyword_words("STOP")).send("s1", "voicemail").audit()
    assert [v.kind for v in audit.violations] == [Breach.SENT_AFTER_SUPPRESSION]
    assert audit.opt_outs == 1


def test_a_start_lifts_the_stop_and_a_send_after_it_is_allowed():
    history = History().suppressed(PHONE, stop_keyword_words("STOP")).lifted(PHONE).send("s1", "sms")
    audit = history.audit()
    assert audit.violations == [] and audit.lifts == 1


def test_a_stop_after_a_start_holds_again():
    history = History().suppressed(PHONE, stop_keyword_words("STOP")).lifted(PHONE)
    audit = history.suppressed(PHONE, stop_keyword_words("STOP")).send("s1", "sms").audit()
    [violation] = audit.violations
    assert violation.since == 5


def test_a_text_attempted_outside_quiet_hours_in_the_contacts_zone_is_a_violation():
    # 12:00 UTC is 04:00 in Los Angeles: outside the default 08:00-21:00 there.
    history = History(timezone="America/Los_Angeles").send("s1", "sms")
    [violation] = history.audit().violations
    assert violation.kind is Breach.SENT_IN_QUIET_HOURS
    assert "04:00" in violation.detail and "America/Los_Angeles" in violation.detail
    assert "08:00-21:00" in violation.detail


def test_the_same_moment_is_daytime_in_another_contacts_zone():
    # 12:00 UTC is 13:00 in Paris.
    assert History(timezone="Europe/Paris").send("s1", "sms").audit().violations == []


def test_email_keeps_no_quiet_hours():
    audit = History(timezone="America/Los_Angeles").send("s1", "email").audit()
    assert audit.violations == [] and audit.quiet_hour_sends == 0


def test_the_hours_in_force_at_the_attempt_decide():
    # Hours that allowed 12:00 UTC when the text was attempted, then narrowed before its outcome.
    history = History().hours("00:00", "24:00").attempted("s1").hours("13:00", "14:00")
    audit = history.sent("s1", "sms").audit()
    assert audit.violations == []
    narrowed = History().hours("13:00", "14:00").send("s1", "sms").audit()
    assert [v.kind for v in narrowed.violations] == [Breach.SENT_IN_QUIET_HOURS]
    assert "13:00-14:00" in narrowed.violations[0].detail


def test_a_send_attempted_while_the_brand_was_suspended_is_a_violation():
    history = History().suspended().send("s1")
    [violation] = history.audit().violations
    assert violation.kind is Breach.SENT_WHILE_SUSPENDED and violation.since == 2


def test_a_send_at_the_provider_when_the_brand_was_suspended_is_a_note():
    audit = History().attempted("s1").suspended().sent("s1").audit()
    assert audit.violations == [] and [n.before for n in audit.in_flight] == ["suspension"]


def test_a_reinstated_brand_sends_again():
    audit = History().suspended().reinstated().send("s1").audit()
    assert audit.violations == [] and audit.suspensions == 1


def test_violations_come_in_log_order():
    history = History(timezone="America/Los_Angeles").suppressed(EMAIL).send("s1", "email")
    history.send("s2", "sms")
    kinds = [(v.kind, v.position) for v in history.audit().violations]
    assert kinds == [(Breach.SENT_AFTER_SUPPRESSION, 5), (Breach.SENT_IN_QUIET_HOURS, 7)]


def test_another_brands_events_never_count():
    history = History()
    other_ledger = CreditLedger.create_id(OTHER_BRAND)
    history.suppressed(EMAIL, brand=OTHER_BRAND).hours("13:00", "14:00", ledger=other_ledger)
    history.add(
        CreditLedger.BrandSuspended, other_ledger, reason="x", suspended_by="ops", suspended_at=NOON_UTC
    )
    history.send("s1", "email").send("s2", "sms")
    foreign = History(brand=OTHER_BRAND).send("s3", "sms")
    audit = audit_consent(BRAND, [*history.events, *((p + 100, e) for p, e in foreign.events)])
    assert audit.violations == [] and audit.suppressions == 0 and audit.suspensions == 0
    assert audit.sends_checked == 2 and audit.hours == []
