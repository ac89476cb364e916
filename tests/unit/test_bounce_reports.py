"""Reading a bounce's report for the Message-IDs it returns and whether delivery failed, whatever
its bytes: the layouts MTAs use, and hostile or broken ones that must name nothing."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage

import pytest

from consumers.providers.gmail.bounce_reports import NOTHING, read_report
from consumers.providers.gmail.outgoing_mail import message_id_for, shaped_as_ours
from provider_fakes.google import SentMessage, bounce_of, forged_bounce

OURS = message_id_for("enrollment:step", "sales@brand.example")


def sent() -> SentMessage:
    mail = EmailMessage(policy=email.policy.SMTP)
    mail["From"], mail["To"], mail["Subject"], mail["Message-ID"] = (
        "sales@brand.example",
        "ada@example.com",
        "Hi",
        OURS,
    )
    mail.set_content("A short note.")
    return SentMessage("g1", "t1", "sales@brand.example", mail.as_bytes())


@pytest.mark.parametrize("names", ["original-message-id", "returned-headers", "returned-message"])
def test_a_report_names_the_message_it_returns(names):
    report = read_report(bounce_of(sent(), names_original=(names,)))
    assert report.message_ids == (OURS,) and report.failed is True


def test_a_report_naming_no_message_names_nothing_and_a_delay_is_no_failure():
    assert read_report(bounce_of(sent(), names_original=())).message_ids == ()
    assert read_report(forged_bounce(failed_recipients="ada@example.com")).message_ids == ()
    assert read_report(bounce_of(sent(), action="delayed")).failed is False


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00" * 100, b"Content-Type: multipart/report; boundary=\x00\r\n\r\n--\x00\r\n", b"\xff" * 5000],
)
def test_bytes_that_are_no_report_name_nothing(raw):
    assert read_report(raw) == NOTHING or read_report(raw).message_ids == ()


def test_a_returned_message_inside_the_returned_message_is_not_read():
    inner = bounce_of(sent(), names_original=("returned-message",))
    outer_sent = SentMessage("g2", "t2", "x@y.example", inner)
    outer = bounce_of(outer_sent, names_original=("returned-message",))
    assert OURS not in read_report(outer).message_ids


def test_only_ids_shaped_as_the_mailboxs_own_are_looked_up():
    assert shaped_as_ours(OURS, "sales@brand.example")
    assert shaped_as_ours(OURS.upper().replace("BRAND.EXAMPLE", "Brand.Example"), "sales@brand.example")
    assert not shaped_as_ours(OURS, "ops@other.example")
    assert not shaped_as_ours("<0123@brand.example>", "sales@brand.example")
    assert not shaped_as_ours(OURS + "x", "sales@brand.example")
