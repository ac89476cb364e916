"""Contact addresses normalise to one canonical form, idempotently, or are refused with a reason.

Properties over generated input (hypothesis): a valid phone number however it is written (spaces,
dashes, dots, brackets, its country's national format) becomes the same E.164 string; emails and
time zones too; normalising twice changes nothing; and anything else raises ValueError saying why.
Also the reading of uploaded rows: CSV headers, custom fields, and rows that cannot be contacts.
"""

from __future__ import annotations

import io
import re
import zoneinfo

import phonenumbers
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from commands.audience.contact_normalisation import (
    normalise_address,
    normalise_email,
    normalise_phone,
    normalise_timezone,
)
from commands.audience.contact_rows import MalformedCsv, csv_rows, parse_contact

# E.164 sets no least length: a country code and a subscriber number, 15 digits at most. Some valid
# numbers are short (phonenumbers accepts +49 1640, a German number of six digits in all).
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
KINDS = [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]
SEPARATORS = st.sampled_from([" ", "-", ".", " - ", "  ", ""])
ZONES = sorted(zoneinfo.available_timezones())
# phonenumbers loads a region's metadata on first use: slow enough to trip the deadline on a busy machine
PHONE_SETTINGS = settings(deadline=None)


@st.composite
def valid_numbers(draw) -> tuple[str, str]:
    """A valid number (E.164) and its region: a region's example number with other last digits."""
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(region, draw(st.sampled_from(KINDS)))
    assume(example is not None)
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    number = phonenumbers.parse(e164[:-3] + f"{draw(st.integers(0, 999)):03d}")
    assume(phonenumbers.is_valid_number(number))
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assume(len(e164) <= 16)  # phonenumbers knows a few longer national numbers; E.164 does not
    return e164, region


@st.composite
def written_out(draw, e164: str) -> str:
    """The number as a person might type it: groups of digits, separators, brackets, padding."""
    code = str(phonenumbers.parse(e164).country_code)
    national = e164[1 + len(code) :]
    cuts = sorted(draw(st.sets(st.integers(1, len(national) - 1), max_size=4)))
    groups = [national[a:b] for a, b in zip([0, *cuts], [*cuts, len(national)], strict=True)]
    if draw(st.booleans()):
        groups[0] = f"({groups[0]})"
    body = "".join(group + draw(SEPARATORS) for group in groups[:-1]) + groups[-1]
    return (
        draw(st.sampled_from(["", " ", "\t"]))
        + f"+{code}{draw(SEPARATORS)}{body}"
        + draw(st.sampled_from(["", " ", "\n"]))
    )


@PHONE_SETTINGS
@given(valid_numbers().flatmap(lambda found: st.tuples(st.just(found[0]), written_out(found[0]))))
def test_a_valid_number_written_with_separators_and_brackets_normalises_back_to_itself(case):
    e164, written = case
    assert normalise_phone(written) == e164


@PHONE_SETTINGS
@given(valid_numbers())
def test_a_valid_number_in_its_own_national_format_normalises_with_its_region(found):
    e164, region = found
    number = phonenumbers.parse(e164)
    assume(phonenumbers.region_code_for_number(number) == region)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert normalise_phone(national, region) == e164


@PHONE_SETTINGS
@given(valid_numbers())
def test_an_e164_number_is_its_own_normal_form(found):
    e164, _ = found
    assert normalise_phone(e164) == e164
    assert normalise_address(e164) == (e164, "phone")


@PHONE_SETTINGS
@given(st.text(alphabet="0123456789+-(). x", max_size=24), st.sampled_from(["US", "GB", "DE", "IN"]))
@example("+491640", "US")  # a short number hypothesis once found: valid, and E.164
def test_phone_normalisation_is_idempotent_or_refuses_with_a_reason(raw, region):
    try:
        once = normalise_phone(raw, region)
    except ValueError as refused:
        assert str(refused).startswith("invalid phone")
        return
    if once is None:
        assert not raw.strip()
        return
    assert E164.match(once)
    assert normalise_phone(once, region) == once
    assert normalise_phone(once, "FR") == once  # an E.164 number does not depend on the region


@PHONE_SETTINGS
@given(st.text(max_size=40))
def test_any_text_is_a_phone_number_or_a_value_error(raw):
    try:
        result = normalise_phone(raw)
    except ValueError as refused:
        assert "invalid phone" in str(refused)
    else:
        assert result is None or E164.match(result)


@given(st.emails(), st.sampled_from([str.upper, str.lower, str.title, str]), st.sampled_from(["", " ", "\t"]))
def test_an_email_normalises_to_its_trimmed_lowercase_form_idempotently(email, case, space):
    raw = space + case(email) + space
    once = normalise_email(raw)
    assert once == email.lower()
    assert normalise_email(once) == once
    assert normalise_address(raw) == (once, "email")


@given(st.text(max_size=40))
def test_email_normalisation_is_idempotent_or_refuses_with_a_reason(raw):
    try:
        once = normalise_email(raw)
    except ValueError as refused:
        assert str(refused).startswith("invalid email")
        return
    assert once is None or normalise_email(once) == once


@pytest.mark.parametrize(
    "raw", ["not-an-email", "ann@", "@example.com", "ann@example", "ann@@example.com", "a n@example.com"]
)
def test_malformed_emails_are_refused(raw):
    with pytest.raises(ValueError, match="invalid email"):
        normalise_email(raw)


@pytest.mark.parametrize(
    "raw",
    ["12", "+1 415 555 0100 ext 7", "call me", "+999 555 0100", "+1 000 000 0000", "+49 20100000000000"],
)
def test_impossible_phones_are_refused_with_a_reason(raw):
    with pytest.raises(ValueError, match=r"invalid phone .+: \w"):
        normalise_phone(raw)


@given(st.sampled_from(ZONES), st.sampled_from([str.upper, str.lower, str]))
def test_an_iana_time_zone_in_any_case_normalises_to_its_tz_database_name(zone, case):
    assert normalise_timezone(f" {case(zone)} ") == zone
    assert normalise_timezone(zone) == zone


@pytest.mark.parametrize("raw", ["Mars/Olympus_Mons", "EST5EDT6", "../../etc/passwd", "+02:00"])
def test_unknown_time_zones_are_refused(raw):
    with pytest.raises(ValueError, match="unknown time zone"):
        normalise_timezone(raw)


def test_blank_values_are_absent_not_invalid():
    assert normalise_email("  ") is None and normalise_phone("") is None and normalise_timezone(None) is None


def test_a_csv_row_keeps_unknown_columns_as_fields_and_normalises_addresses():
    text = io.StringIO("Email, Phone ,first_name,plan,Tier\n ANN@Example.com ,(415) 555-0100,Ann,gold,\n")
    (row,) = list(csv_rows(text))
    contact = parse_contact(row, "US")
    assert (contact.email, contact.phone, contact.first_name) == ("ann@example.com", "+14155550100", "Ann")
    assert contact.fields == {"plan": "gold"}


def test_a_csv_row_with_more_cells_than_the_header_is_refused():
    (row,) = list(csv_rows(io.StringIO("email,first_name\nann@example.com,Ann,surplus\n")))
    with pytest.raises(ValueError, match="1 more cells"):
        parse_contact(row, "US")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("\n", "empty"),
        ("ann@example.com,Ann\n", "no email or phone column"),
        ("first_name,company\nAnn,Acme\n", "no email or phone column"),
        ("email,Email\nann@example.com,ann@example.com\n", "twice"),
    ],
)
def test_a_csv_without_a_usable_header_is_malformed(text, reason):
    with pytest.raises(MalformedCsv, match=reason):
        csv_rows(io.StringIO(text))


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("+999 1234567", "US", "unknown country code"),
        ("call me", "US", "not a phone number"),
        ("1234567", "ZZ", "no +country code, and the default region 'ZZ' is not a known region"),
        ("+1 415 555 0100 0000 0000", "US", "too short or too long"),
    ],
)
def test_an_unreadable_phone_is_refused_with_the_reason_an_importer_can_act_on(raw, region, reason):
    with pytest.raises(ValueError) as refused:
        normalise_phone(raw, region)
    assert str(refused.value) == f"invalid phone {raw!r}: {reason}"
