"""The ApiKeys aggregate: one per brand, the history of who could call the API as the brand, and when.

Each key issued or revoked is an event with its name, its short visible prefix, who did it and
when; the secret itself never enters the domain (only its digest is stored, in the `api_keys`
table, written in the same transaction as these events). A brand keeps at least one live key:
revoking the last one is refused, so a brand never locks itself out. Keys made before keys were
events (one per brand, migration 0014) are carried over when the brand's ApiKeys is first opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError, InvalidInput, NotFound
from domain.event_time import TimedAggregate

MAX_KEY_NAME = 200


class LastApiKey(DomainError):
    """Revoking this key would leave the brand without any key."""


@dataclass(frozen=True)
class ApiKeyEntry:
    key_id: UUID
    name: str
    prefix: str
    revoked: bool = False


class ApiKeys(TimedAggregate):
    """The API keys of one brand."""

    @staticmethod
    def create_id(brand_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/api-keys/{brand_id}")

    class ApiKeysOpened(Aggregate.Created):
        brand_id: UUID
        carried_over: list[dict[str, Any]]  # keys issued before keys were events: key_id, name, prefix
        class_version = 1

    @event(ApiKeysOpened)
    def __init__(self, brand_id: UUID, carried_over: list[dict[str, Any]]) -> None:
        self.brand_id = brand_id
        self.keys: dict[UUID, ApiKeyEntry] = {}
        for key in carried_over:
            key_id = UUID(str(key["key_id"]))
            self.keys[key_id] = ApiKeyEntry(key_id, str(key["name"]), str(key["prefix"]))

    @classmethod
    def open(
        cls, brand_id: UUID, opened_at: datetime, carried_over: list[ApiKeyEntry] | None = None
    ) -> ApiKeys:
        entries = [
            {"key_id": str(key.key_id), "name": key.name, "prefix": key.prefix} for key in carried_over or []
        ]
        return cls._create(cls.ApiKeysOpened, brand_id=brand_id, carried_over=entries, timestamp=opened_at)

    @property
    def live(self) -> list[ApiKeyEntry]:
        return [key for key in self.keys.values() if not key.revoked]

    class ApiKeyIssued(Aggregate.Event):
        key_id: UUID
        name: str
        prefix: str
        issued_by: str
        issued_at: datetime
        class_version = 1
        TIME_FIELD = "issued_at"

    def issue(self, key_id: UUID, name: str, prefix: str, issued_by: str, issued_at: datetime) -> None:
        if not name.strip() or len(name) > MAX_KEY_NAME:
            raise InvalidInput(
                f"a key's name has 1 to {MAX_KEY_NAME} characters",
                [{"field": "name", "error": f"1 to {MAX_KEY_NAME} characters, not blank"}],
            )
        if key_id in self.keys:
            raise DomainError(f"API key {key_id} exists already")
        self._issued(key_id, name.strip(), prefix, issued_by, issued_at)

    @event(ApiKeyIssued)
    def _issued(self, key_id: UUID, name: str, prefix: str, issued_by: str, issued_at: datetime) -> None:
        self.keys[key_id] = ApiKeyEntry(key_id, name, prefix)

    class ApiKeyRevoked(Aggregate.Event):
        key_id: UUID
        revoked_by: str
        revoked_at: datetime
        class_version = 1
        TIME_FIELD = "revoked_at"

    def revoke(self, key_id: UUID, revoked_by: str, revoked_at: datetime) -> None:
        """NotFound for a key the brand does not have (or no longer has); LastApiKey for its last."""
        key = self.keys.get(key_id)
        if key is None or key.revoked:
            raise NotFound(f"API key {key_id}")
        if len(self.live) == 1:
            raise LastApiKey(f"API key {key_id} is the brand's last: create another before revoking this one")
        self._revoked(key_id, revoked_by, revoked_at)

    @event(ApiKeyRevoked)
    def _revoked(self, key_id: UUID, revoked_by: str, revoked_at: datetime) -> None:
        key = self.keys[key_id]
        self.keys[key_id] = ApiKeyEntry(key.key_id, key.name, key.prefix, revoked=True)
