"""Use cases: a brand's plan and standing, changed by an operator: change the plan (granted from
the next renewal on), suspend (its API calls answer 403 and nothing of it is sent) and reinstate.

Each is an event on the brand's ledger naming who did it and when (and why, for a suspension),
then the `brands` row the request gate, the scheduler and the workers read; repeating a command
changes nothing more, and repairs the row should a crash have come between the two writes.
`suspended_brands` is that cheap read.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from domain import limits
from domain.credit_ledger import Plan
from domain.errors import InvalidInput
from storage.database import Database

MAX_REASON = 500


def change_plan(
    store: CampaignApplication, db: Database, brand_id: UUID, plan: Plan, by: str, now: datetime
) -> bool:
    """Choose the plan granted from the next renewal on; False when it was the plan already."""

    def decide() -> bool:
        ledger = store.ledger(brand_id)
        changed = ledger.change_plan(plan, by, now)
        if changed:
            store.save_all([ledger])
        return changed

    changed = retry_on_conflict(decide)
    db.execute("UPDATE brands SET plan = %s WHERE id = %s", (plan.value, brand_id))
    return changed


def suspend_brand(
    store: CampaignApplication, db: Database, brand_id: UUID, reason: str, by: str, now: datetime
) -> bool:
    """Suspend the brand; False when it was suspended already (the first reason stays)."""
    problem = limits.text_problem(reason) or (
        "is longer than 500 characters" if len(reason) > MAX_REASON else None
    )
    if problem:
        raise InvalidInput(f"the reason {problem}", [{"field": "reason", "error": problem}])

    def decide() -> tuple[bool, str | None, datetime | None]:
        ledger = store.ledger(brand_id)
        suspended = ledger.suspend(reason, by, now)
        if suspended:
            store.save_all([ledger])
        return suspended, ledger.suspension_reason, ledger.suspended_since

    suspended, kept_reason, since = retry_on_conflict(decide)
    db.execute(
        "UPDATE brands SET suspended_at = %s, suspension_reason = %s WHERE id = %s",
        (since, kept_reason, brand_id),
    )
    return suspended


def reinstate_brand(store: CampaignApplication, db: Database, brand_id: UUID, by: str, now: datetime) -> bool:
    """Let the brand call and send again: its campaigns go on where they stood (the steps that
    waited are due, and the scheduler dispatches them); False when it was not suspended."""

    def decide() -> bool:
        ledger = store.ledger(brand_id)
        reinstated = ledger.reinstate(by, now)
        if reinstated:
            store.save_all([ledger])
        return reinstated

    reinstated = retry_on_conflict(decide)
    db.execute("UPDATE brands SET suspended_at = NULL, suspension_reason = NULL WHERE id = %s", (brand_id,))
    return reinstated


def suspended_brands(db: Database, among: Collection[UUID] | None = None) -> set[UUID]:
    """The suspended brands (among `among`, when given): one indexed query."""
    if among is None:
        rows = db.fetch_all("SELECT id FROM brands WHERE suspended_at IS NOT NULL")
    elif not among:
        return set()
    else:
        rows = db.fetch_all(
            "SELECT id FROM brands WHERE suspended_at IS NOT NULL AND id = ANY(%s)", (list(among),)
        )
    return {row["id"] for row in rows}
