"""The Gmail adapter's messages: headers mailbox providers read literally, HTML with a text part."""

from __future__ import annotations

import email
import email.policy

import pytest

from commands.sending.providers import OutboundMessage
from consumers.providers.gmail.conversation_threads import Conversation
from consumers.providers.gmail.outgoing_mail import Letter, compose, message_id_for, plain_text

LONG_URL = "https://campaigns.brand.example/u/" + "A1b2-C3d4_" * 15


def outbound(**changes: str) -> OutboundMessage:
    fields = {
        "message_key": "enrollment:step-1",
        "channel": "email",
        "to": "ada@example.com",
        "sender": "sales@brand.example",
        "sender_account_id": "00000000-0000-0000-0000-000000000001",
        "campaign_id": "c",
        "contact_id": "p",
        "step_id": "step-1",
        "subject": "Hi Ada",
        "body": "Hello",
        **changes,
    }
    return OutboundMessage(**fields)


def headers(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def test_a_long_unsubscribe_url_stays_one_literal_header_line():
    raw = compose(Letter(outbound(), "<id@brand.example>", LONG_URL))
    assert b"List-Unsubscribe: <" + LONG_URL.encode() + b">" in headers(raw)
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in headers(raw)
    assert b"=?" not in b"\r\n".join(headers(raw))


def test_the_message_id_is_the_same_for_the_same_step_and_mailbox_and_differs_otherwise():
    first = message_id_for("enrollment:step-1", "sales@brand.example")
    assert first == message_id_for("enrollment:step-1", "sales@brand.example")
    assert (
        first.startswith("<")
        and first.endswith("@brand.example>")
        and len(first) == 32 + len("<@brand.example>")
    )
    assert first != message_id_for("enrollment:step-2", "sales@brand.example")


def test_an_html_body_goes_with_a_plain_text_alternative():
    body = "<html><head><style>p{}</style></head><body><p>Hello&nbsp;Ada,</p><p>See <a href='x'>this</a></p></body></html>"
    mail = email.message_from_bytes(
        compose(Letter(outbound(body=body), "<id@b>", LONG_URL)), policy=email.policy.default
    )
    assert mail.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content().replace("\r\n", "\n") for part in mail.iter_parts()}
    assert parts["text/html"].strip() == body
    assert parts["text/plain"] == "Hello Ada,\nSee this\n"


def test_a_plain_body_is_one_text_part():
    mail = email.message_from_bytes(
        compose(Letter(outbound(), "<id@b>", LONG_URL)), policy=email.policy.default
    )
    assert (
        mail.get_content_type() == "text/plain" and mail.get_content() == "Hello\r\n"
    )  # CRLF, as mail is sent


def test_a_follow_up_names_the_thread_it_replies_in():
    thread = Conversation("t1", ("<a@b>", "<c@b>"))
    mail = email.message_from_bytes(
        compose(Letter(outbound(), "<e@b>", LONG_URL, thread)), policy=email.policy.default
    )
    assert mail["In-Reply-To"] == "<c@b>" and mail["References"] == "<a@b> <c@b>"


def test_a_subject_with_a_line_break_cannot_be_sent():
    with pytest.raises(ValueError):
        compose(Letter(outbound(subject="Hi\r\nBcc: everyone@example.com"), "<id@b>", LONG_URL))


def test_plain_text_drops_scripts_and_keeps_paragraphs():
    assert plain_text("<p>One</p><script>x()</script><div>Two   words</div>") == "One\nTwo words\n"
