"""How a step's text is made for one contact: the template, or a model that may rewrite it.

Every message goes through a `Personaliser`. The default renders the template. A model-backed
personaliser (plugged in by the composition root, see docs/api.md) is consulted only for campaigns
with `ai_personalization`, always through `ModelWithTemplateFallback`: a model that raises or
runs past its timeout never stops a send, the template text goes out instead and the note
recorded on `StepSent` says so (`template (personaliser failed: <reason>)`); the reason is a
model's own error text, so it is scrubbed of secrets and control characters and cut short first.
"""

from __future__ import annotations

import importlib
import re
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from domain.steps import Step
from domain.templates import body_is_html, render

CONTACT_COLUMNS = ("id", "email", "phone", "first_name", "last_name", "company", "timezone")
REASON_LIMIT = 200
# A model client's exception text often quotes its request: headers, keys, URLs with a password.
_SECRETS = (
    (re.compile(r"(?i)\b(bearer)\s+[^\s,;'\"]+"), r"\1 [redacted]"),
    (re.compile(r"\b(Basic)\s+[A-Za-z0-9+/]{8,}=*"), r"\1 [redacted]"),
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^\s/@]*@"), r"\1[redacted]@"),
    (
        re.compile(
            r"(?i)\b((?:[a-z0-9]+[_-])*(?:api[_-]?key|apikey|key|token|secret|password|passwd|pwd|"
            r"authorization|auth|credentials?|signature|sig))\W{0,3}\s*[=:]\s*['\"]?[^\s,;&'\"]+"
        ),
        r"\1=[redacted]",
    ),
    (re.compile(r"[A-Za-z0-9_\-+=]{32,}"), lambda m: "[redacted]" if _opaque(m.group()) else m.group()),
)


def _opaque(word: str) -> bool:
    """A long run of letters mixed with digits reads as a key or token (sk-..., AIza..., JWT parts)."""
    return any(c.isdigit() for c in word) and any(c.isalpha() for c in word)


@dataclass(frozen=True)
class Personalised:
    subject: str | None
    body: str | None
    note: str = "template"


class Personaliser(Protocol):
    def personalise(self, step: Step, contact_values: Mapping[str, Any]) -> Personalised:
        """The subject and body for one contact, and a note on how they were made."""
        ...


def contact_values(contact: Mapping[str, Any]) -> dict[str, Any]:
    """What placeholders can name: custom `fields`, overridden by the contact's own columns when set."""
    values = dict(contact.get("fields") or {})
    values.update({k: v for k, v in contact.items() if k in CONTACT_COLUMNS and v not in (None, "")})
    return values


class TemplatePersonaliser:
    """Renders the step's `{{field|fallback}}` placeholders; raises `MissingField` when it cannot."""

    def personalise(self, step: Step, contact_values: Mapping[str, Any]) -> Personalised:
        return Personalised(
            subject=render(step.subject, contact_values) if step.subject else None,
            body=render(step.body, contact_values, escape_html=body_is_html(step)) if step.body else None,
        )


TEMPLATE = TemplatePersonaliser()


class ModelWithTemplateFallback:
    """Asks `model` first; on any exception, or after `timeout_s`, the template text is used.

    The model runs on a daemon thread, so a call that never returns cannot hold up a send batch
    or the process's exit.
    """

    def __init__(self, model: Personaliser, timeout_s: float = 10.0) -> None:
        self.model, self.timeout_s = model, timeout_s

    def personalise(self, step: Step, contact_values: Mapping[str, Any]) -> Personalised:
        answer: list[Any] = []

        def ask_model() -> None:
            try:
                answer.append(self.model.personalise(step, contact_values))
            except BaseException as failure:
                answer.append(failure)

        thread = threading.Thread(target=ask_model, name="personaliser", daemon=True)
        thread.start()
        thread.join(self.timeout_s)
        made = answer[0] if answer else None
        if isinstance(made, Personalised):
            return made if made.note != "template" else Personalised(made.subject, made.body, "model")
        if not answer:
            reason = f"timed out after {self.timeout_s:g}s"
        elif isinstance(made, BaseException):
            reason = scrub_reason(f"{type(made).__name__}: {made}")
        else:
            reason = f"it returned {type(made).__name__}, not Personalised"
        fallback = TEMPLATE.personalise(step, contact_values)
        return Personalised(fallback.subject, fallback.body, f"template (personaliser failed: {reason})")


def scrub_reason(text: str, limit: int = REASON_LIMIT) -> str:
    """An error text safe to keep in the event history: one printable line, no secrets, `limit` long."""
    printable = "".join(
        " " if unicodedata.category(ch).startswith(("C", "Z")) else ch for ch in text
    )  # control, format, surrogate and separator characters (NUL, newlines, bidi overrides)
    for pattern, replacement in _SECRETS:
        printable = pattern.sub(replacement, printable)
    line = " ".join(printable.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def personalise_step(
    personaliser: Personaliser, ai_personalization: bool, step: Step, values: Mapping[str, Any]
) -> Personalised:
    """Only campaigns that asked for AI personalisation reach the configured personaliser."""
    return (personaliser if ai_personalization else TEMPLATE).personalise(step, values)


def load_personaliser(spec: str | None, timeout_s: float = 10.0) -> Personaliser:
    """The personaliser named by `module:factory` (a no-argument callable), wrapped with the fallback;
    the template personaliser when no spec is given."""
    if not spec:
        return TEMPLATE
    module_name, _, factory_name = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), factory_name or "personaliser")
    return ModelWithTemplateFallback(factory(), timeout_s)
