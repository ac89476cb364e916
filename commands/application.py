"""The event-sourced application holding every aggregate, and saving with retry on version conflicts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

T = TypeVar("T")

MAX_CONFLICT_RETRIES = 8


class NotFound(Exception):
    """A resource does not exist, or belongs to another brand (answered as 404)."""


class CampaignApplication(Application[UUID]):
    """One event store and one notification log for campaigns, ledgers and enrollments."""

    name = "campaigns"

    def get(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError as missing:
            raise NotFound(str(aggregate_id)) from missing

    def find(self, aggregate_id: UUID) -> Any | None:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def save_all(self, aggregates: Sequence[Any]) -> int | None:
        """Save in one atomic write; return the last notification id written."""
        recordings = self.save(*aggregates)
        return recordings[-1].notification.id if recordings else None


def retry_on_conflict(decide: Callable[[], T], attempts: int = MAX_CONFLICT_RETRIES) -> T:
    """Run load-decide-save again when another writer saved the same aggregate first.

    `decide` must load fresh state each time, so the rules are re-checked against it.
    """
    for attempt in range(attempts):
        try:
            return decide()
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
