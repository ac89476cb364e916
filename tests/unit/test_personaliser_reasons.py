"""A failing personaliser's error text is stored in the event history only scrubbed and cut short.

Model clients quote their requests in exceptions: bearer headers, API keys, URLs with a password.
What lands in StepSent's `personalisation` note is one printable line of at most 200 characters
with none of those in it, and no NUL or other control character that storage would refuse.
"""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from commands.sending.personalisation import (
    REASON_LIMIT,
    ModelWithTemplateFallback,
    Personalised,
    scrub_reason,
)
from domain.steps import Step, StepType

SECRET = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"


class Leaky:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def personalise(self, step, contact_values) -> Personalised:
        raise self.error


def test_a_failing_model_note_keeps_no_secret_no_newline_and_is_short():
    error = RuntimeError(
        f"POST https://bot:hunter2@llm.example/v1 failed\nAuthorization: Bearer {SECRET}\x00" + "x" * 500
    )
    step = Step(id="s1", type=StepType.EMAIL, group=0, order=0, subject="Hi", body="Hello")
    note = ModelWithTemplateFallback(Leaky(error), timeout_s=2).personalise(step, {}).note
    assert note.startswith("template (personaliser failed: RuntimeError: POST https://[redacted]@llm")
    for leaked in (SECRET, "hunter2", "\n", "\x00"):
        assert leaked not in note
    assert len(note) <= len("template (personaliser failed: )") + REASON_LIMIT


def test_api_keys_tokens_and_passwords_in_any_spelling_are_redacted():
    texts = {
        "401 for api_key=abc123XYZ&model=m": "abc123XYZ",
        'body {"apiKey": "opensesame"} rejected': "opensesame",
        "x-api-key: 12345secret": "12345secret",
        "password=pa55word; retry": "pa55word",
        "Authorization: Basic dXNlcjpwYXNzd29yZA==": "dXNlcjpwYXNzd29yZA",
        "token AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW rejected": "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
        "redis://:s3cr3t@cache:6379/0 down": "s3cr3t",
    }
    for text, secret in texts.items():
        assert secret not in scrub_reason(text), text


def test_ordinary_error_text_reads_the_same():
    assert scrub_reason("TimeoutError: model busy, try later") == "TimeoutError: model busy, try later"
    assert scrub_reason("ValueError: line 1\n\tline 2\r\n") == "ValueError: line 1 line 2"


@given(st.text(max_size=2000))
def test_any_text_becomes_one_short_printable_line(text):
    scrubbed = scrub_reason(text)
    assert len(scrubbed) <= REASON_LIMIT
    assert not any(unicodedata.category(ch).startswith(("C", "Z")) and ch != " " for ch in scrubbed)
    scrubbed.encode("utf-8")  # no unpaired surrogate survives
