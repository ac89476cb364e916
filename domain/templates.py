"""Rendering of `{{field|fallback}}` placeholders over a contact's fields; no code is ever evaluated."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*(?:\|([^}]*))?\}\}")


class MissingField(KeyError):
    """A placeholder names a field the contact lacks and gives no fallback."""


def render(text: str, values: Mapping[str, Any], *, escape_html: bool = False) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        value = values.get(name)
        if value is None or value == "":
            if fallback is None:
                raise MissingField(name)
            value = fallback
        text_value = str(value)
        return html.escape(text_value) if escape_html else text_value

    return PLACEHOLDER.sub(substitute, text)
