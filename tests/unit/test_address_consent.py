"""An address's consent history: suppressed once until lifted, lifted only when suppressed, each
suppression carrying its cause; and a brand's quiet hours recorded only when they change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from domain.address_consent import AddressConsent
from domain.credit_ledger import CreditLedger, Plan
from domain.withdrawal import one_click_unsubscribe_words, stop_keyword_words

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
BRAND = uuid4()


def events(aggregate: object) -> list[str]:
    return [type(e).__name__ for e in aggregate.collect_events()]  # type: ignore[attr-defined]


def test_an_address_is_suppressed_once_until_its_suppression_is_lifted():
    consent = AddressConsent.open(BRAND, "ann@example.com", NOW)
    assert consent.suppress("asked", NOW) is True
    assert consent.suppress("asked again", NOW + timedelta(minutes=1)) is False
    assert consent.suppressed and consent.suppressed_since == NOW
    assert consent.lift("taken off the list", NOW + timedelta(minutes=2)) is True
    assert consent.lift("again", NOW + timedelta(minutes=3)) is False
    assert not consent.suppressed and consent.suppressed_since is None
    assert consent.suppress("asked once more", NOW + timedelta(minutes=4)) is True
    assert events(consent) == [
        "ConsentOpened",
        "AddressSuppressed",
        "SuppressionLifted",
        "AddressSuppressed",
    ]


def test_nothing_is_lifted_from_an_address_never_suppressed():
    consent = AddressConsent.open(BRAND, "+14155550100", NOW)
    assert consent.lift("START", NOW) is False
    assert events(consent) == ["ConsentOpened"]


def test_a_suppression_carries_the_cause_its_words_name():
    causes = []
    for reason in (one_click_unsubscribe_words(uuid4()), stop_keyword_words("STOP"), "hard bounce: 550"):
        consent = AddressConsent.open(BRAND, f"{uuid4().hex}@example.com", NOW)
        consent.suppress(reason, NOW)
        causes.append(consent.collect_events()[-1].cause)  # type: ignore[attr-defined]
    assert causes == ["unsubscribed", "stop_keyword", "suppressed"]


def test_each_brand_and_address_has_a_consent_of_its_own():
    other = uuid4()
    ids = {
        AddressConsent.create_id(BRAND, "ann@example.com"),
        AddressConsent.create_id(BRAND, "bob@example.com"),
        AddressConsent.create_id(other, "ann@example.com"),
    }
    assert len(ids) == 3
    consent = AddressConsent.open(BRAND, "ann@example.com", NOW)
    assert consent.id == AddressConsent.create_id(BRAND, "ann@example.com") and consent.brand_id == BRAND


def test_the_quiet_hours_are_recorded_when_they_change_only():
    ledger = CreditLedger.open(BRAND, Plan.BASIC, NOW)
    assert ledger.quiet_hours is None
    assert ledger.change_quiet_hours("09:00", "20:00", NOW) is True
    assert ledger.change_quiet_hours("09:00", "20:00", NOW) is False
    assert ledger.change_quiet_hours("09:00", "21:00", NOW) is True
    changes = [e for e in ledger.collect_events() if isinstance(e, CreditLedger.QuietHoursChanged)]
    assert [(e.allowed_from, e.allowed_until) for e in changes] == [("09:00", "20:00"), ("09:00", "21:00")]
    assert ledger.quiet_hours == ("09:00", "21:00")


def test_a_consent_takes_the_id_its_caller_derived_and_holds_the_address():
    derived = uuid4()
    consent = AddressConsent.open(BRAND, "ann@example.com", NOW, consent_id=derived)
    assert (consent.id, consent.brand_id, consent.address) == (derived, BRAND, "ann@example.com")
    assert consent.created_on == NOW
    by_default = AddressConsent.open(BRAND, "ann@example.com", NOW)
    assert by_default.id == AddressConsent.create_id(BRAND, "ann@example.com")
