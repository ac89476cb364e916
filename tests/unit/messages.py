"""Error messages reach API clients as the problem detail, so tests compare them whole."""

from __future__ import annotations

import re


def exactly(message: str) -> str:
    """A `pytest.raises(match=...)` pattern that accepts this message and nothing else."""
    return f"^{re.escape(message)}$"
