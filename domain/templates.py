"""Message templates: `{{field}}` and `{{field|fallback}}` placeholders over a contact's fields.

Rendering is one regular-expression substitution, so a template can never run code and a value
that itself looks like a placeholder is not rendered again. An EMAIL body that contains HTML tags
is an HTML body: contact values put into it are HTML-escaped (fallbacks are the author's own text
and stay as written); subjects, SMS bodies and plain-text emails are never escaped. Syntax is
checked when a campaign or template is created: a placeholder name is a letter or `_` then
letters, digits, `_` or `.`; every `{{` needs its `}}`; a stray `}}` is an error in plain text
(in HTML it may close nested CSS blocks). A field without fallback that a contact lacks is found
at launch, and at send time raises `MissingField`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from domain.steps import Step, StepType

INNER = r"\s*([A-Za-z_][\w.]*)\s*(?:\|([^{}]*))?"
PLACEHOLDER = re.compile(r"\{\{" + INNER + r"\}\}")
_INNER = re.compile(INNER)
_HTML_TAG = re.compile(r"<(?:!doctype\b|!--|/?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>)", re.IGNORECASE)


class MissingField(KeyError):
    """A placeholder names a field the contact lacks and gives no fallback."""


def looks_like_html(text: str) -> bool:
    """True when the text contains an HTML tag, comment or doctype."""
    return bool(_HTML_TAG.search(text))


def body_is_html(step: Step) -> bool:
    """An EMAIL body written in HTML; its contact values are escaped when rendered."""
    return step.type is StepType.EMAIL and bool(step.body) and looks_like_html(step.body or "")


def render(text: str, values: Mapping[str, Any], *, escape_html: bool = False) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        value = values.get(name)
        if value is None or value == "":
            if fallback is None:
                raise MissingField(name)
            return fallback.strip()
        text_value = str(value)
        return html.escape(text_value) if escape_html else text_value

    return PLACEHOLDER.sub(substitute, text)


def required_fields(text: str | None) -> set[str]:
    """Fields the text names without a fallback: a contact lacking one cannot receive it."""
    return {m.group(1) for m in PLACEHOLDER.finditer(text or "") if m.group(2) is None}


def syntax_problems(text: str, *, html_text: bool = False) -> list[str]:
    """Everything wrong with the placeholders of one text, in order; empty when it renders."""
    problems: list[str] = []
    position = 0
    while True:
        opening = text.find("{{", position)
        literal = text[position : opening if opening >= 0 else len(text)]
        if not html_text and "}}" in literal:
            problems.append(f"'}}}}' without an opening '{{{{' at character {position + literal.index('}}')}")
        if opening < 0:
            return problems
        closing = text.find("}}", opening + 2)
        inner = text[opening + 2 : closing] if closing >= 0 else ""
        if closing < 0 or "{{" in inner:
            problems.append(f"'{{{{' at character {opening} is never closed with '}}}}'")
            if closing < 0:
                return problems
        elif not _INNER.fullmatch(inner):
            problems.append(
                f"malformed placeholder '{{{{{inner}}}}}': write {{{{field}}}} or {{{{field|fallback}}}}, "
                "a field name being letters, digits, '_' or '.' without spaces"
            )
        position = closing + 2


def step_problems(step: Step, label: str) -> list[str]:
    """The placeholder problems of a step's subject and body, each prefixed with `label`."""
    problems = [f"{label} subject: {p}" for p in syntax_problems(step.subject or "")]
    html_body = body_is_html(step)
    problems += [f"{label} body: {p}" for p in syntax_problems(step.body or "", html_text=html_body)]
    return problems
