"""Telling a reply from an automatic answer, a bounce or our own sent message, from Gmail's metadata."""

from __future__ import annotations

from typing import Any

import pytest

from consumers.providers.gmail.incoming_mail import MailKind, read_incoming

MAILBOX = "sales@brand.example"


def metadata(
    labels: tuple[str, ...] = ("INBOX",), mime: str = "text/plain", **headers: str
) -> dict[str, Any]:
    fields = {"From": "Ada <ada@example.com>", "Subject": "Re: Hi", **headers}
    return {
        "id": "m1",
        "threadId": "t1",
        "labelIds": list(labels),
        "payload": {
            "mimeType": mime,
            "headers": [{"name": k.replace("_", "-"), "value": v} for k, v in fields.items()],
        },
    }


def test_a_person_answering_is_a_reply_tied_to_the_message_it_answers():
    mail = read_incoming(
        metadata(In_Reply_To="<a@brand.example>", References="<z@x> <a@brand.example>"), MAILBOX
    )
    assert mail.kind is MailKind.REPLY
    assert mail.sender == "ada@example.com" and mail.thread_id == "t1"
    assert mail.refers_to == ("<a@brand.example>", "<z@x>")  # once each, In-Reply-To first


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": "auto-generated"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"Precedence": "list"},
        {"X_Autoreply": "yes"},
        {"X_Autorespond": "on"},
        {"Subject": "Out of Office: back on Monday"},
        {"Subject": "Automatic reply: Hi"},
    ],
)
def test_automatic_answers_are_not_replies(headers):
    assert read_incoming(metadata(**headers), MAILBOX).kind is MailKind.AUTOMATIC


def test_auto_submitted_no_is_a_person_writing():
    assert read_incoming(metadata(Auto_Submitted="no"), MAILBOX).kind is MailKind.REPLY


@pytest.mark.parametrize(
    ("sender", "mime", "content_type"),
    [
        ("Mail Delivery Subsystem <mailer-daemon@googlemail.com>", "text/plain", None),
        ("postmaster@example.com", "text/plain", None),
        (
            "relay@example.net",
            "multipart/report",
            'multipart/report; report-type="delivery-status"; boundary=x',
        ),
    ],
)
def test_what_claims_to_be_a_delivery_failure_is_read_as_a_bounce(sender, mime, content_type):
    """Only a claim: the poller believes it for a message the mailbox sent (test_gmail_bounce_trust.py)."""
    extra = {"Content_Type": content_type} if content_type else {}
    mail = read_incoming(
        metadata(mime=mime, From=sender, X_Failed_Recipients="Ada@Example.com", **extra), MAILBOX
    )
    assert mail.kind is MailKind.BOUNCE


def test_a_sender_that_is_no_plain_address_is_kept_as_blank_and_ids_are_bounded():
    mail = read_incoming(
        metadata(From="postmaster@x\x00.example", References=" ".join(f"<{n}@x>" for n in range(5000))),
        MAILBOX,
    )
    assert mail.sender == "" and len(mail.refers_to) == 64


@pytest.mark.parametrize(
    ("labels", "sender"), [(("SENT",), "ada@example.com"), (("INBOX",), MAILBOX), (("DRAFT",), "x@y.z")]
)
def test_the_mailboxs_own_messages_are_not_replies(labels, sender):
    assert read_incoming(metadata(labels, From=sender), MAILBOX).kind is MailKind.OURS


def test_a_notice_that_delivery_is_only_delayed_is_not_a_bounce():
    notice = metadata(From="mailer-daemon@googlemail.com", Subject="Delivery Status Notification (Delay)")
    assert read_incoming(notice, MAILBOX).kind is MailKind.AUTOMATIC
