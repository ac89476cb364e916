"""Errors the domain raises when a command would break one of its rules."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused because it breaks a business rule."""


class IllegalTransition(DomainError):
    """The aggregate's current state does not allow the requested change."""


class InsufficientCredits(DomainError):
    """A reservation asked for more credits than the ledger has available."""

    def __init__(self, needed: int, available: int) -> None:
        super().__init__(f"{needed} credits are needed, {available} are available")
        self.needed = needed
        self.available = available


class InvalidCampaign(DomainError):
    """A campaign definition (its steps, groups or window) is malformed."""
