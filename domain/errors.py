"""The few kinds of error a use case raises, and the domain's own refusals among them.

Use cases raise these (or a subclass naming the case); `api/errors.py` maps each kind to one
HTTP status in a single table, and the CLI prints the message. Anything else that escapes (a bare
ValueError, a KeyError) is a bug and is answered as a 500, never as the client's fault.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base of the errors a client can be told about; `details` go into the problem answer."""

    def details(self) -> dict[str, Any]:
        return {}


class NotFound(ServiceError):
    """A resource does not exist, or belongs to another brand."""


class AlreadyExists(ServiceError):
    """A create would duplicate something that must be unique."""


class Conflict(ServiceError):
    """The request clashes with the current state of things."""


class InvalidInput(ServiceError):
    """The request cannot be carried out as given; `errors` names each field and what is wrong."""

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []

    def details(self) -> dict[str, Any]:
        return {"errors": self.errors} if self.errors else {}


class Unavailable(ServiceError):
    """Something the request needs is not configured or not reachable now."""


class DomainError(Conflict):
    """A command was refused because it breaks a business rule."""


class IllegalTransition(DomainError):
    """The aggregate's current state does not allow the requested change."""


class InsufficientCredits(DomainError):
    """A reservation asked for more credits than the ledger has available."""

    def __init__(self, needed: int, available: int) -> None:
        super().__init__(f"{needed} credits are needed, {available} are available")
        self.needed = needed
        self.available = available

    def details(self) -> dict[str, Any]:
        return {"needed": self.needed, "available": self.available}


class InvalidCampaign(DomainError, InvalidInput):
    """A campaign definition (its steps, groups or window) is malformed."""

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        InvalidInput.__init__(self, message, errors)


class Forbidden(ServiceError):
    """The caller could not prove who it is (for example a webhook whose signature does not check)."""
