"""Use case: grant purchased credits to a brand, once per reference (an invoice or a payment id).

A billing system may send the same purchase again, or twice at once: the reference is kept in the
brand's ledger, so a repeat changes nothing and answers the first grant; two at the same moment
meet a version conflict, and the one that loses reloads the ledger, finds the reference and does
the same (with a growing random pause between tries, so many at once all get through). The amount
is 1 to 10,000,000 credits.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.application import CampaignApplication
from domain import limits
from domain.errors import InvalidInput

DEFAULT_REASON = "purchase"
MAX_REFERENCE = 200
MAX_REASON = 500
ATTEMPTS = 40  # rounds of version conflicts a purchase outlasts


@dataclass(frozen=True)
class Grant:
    brand_id: UUID
    reference: str
    amount: int
    reason: str
    granted_at: datetime
    created: bool  # False: the reference was granted before, and this is that first grant
    balance: int  # the brand's balance now


def _checked(field: str, text: str, longest: int) -> str:
    problem = limits.text_problem(text)
    if problem is None and not text.strip():
        problem = "is empty"
    if problem is None and len(text) > longest:
        problem = f"is longer than {longest} characters"
    if problem:
        raise InvalidInput(f"the {field} {problem}", [{"field": field, "error": problem}])
    return text


def grant_credits(
    store: CampaignApplication,
    brand_id: UUID,
    amount: int,
    reference: str,
    reason: str | None,
    now: datetime,
) -> Grant:
    """Grant `amount` bought credits under `reference`, or answer the reference's first grant.

    NotFound for an unknown brand; InvalidInput for an amount out of range or a bad text."""
    reference = _checked("reference", reference, MAX_REFERENCE)
    reason = _checked("reason", reason, MAX_REASON) if reason is not None else DEFAULT_REASON

    def decide() -> Grant:
        ledger = store.ledger(brand_id)
        known = reference in ledger.purchases
        purchase = ledger.purchase(amount, reference, reason, now)
        if not known:
            store.save_all([ledger])
        return Grant(
            brand_id,
            purchase.reference,
            purchase.amount,
            purchase.reason,
            purchase.granted_at,
            created=not known,
            balance=ledger.balance,
        )

    return _with_backoff(decide)


def _with_backoff(decide: Callable[[], Grant]) -> Grant:
    """`decide` again after a version conflict, waiting a random moment that grows with each try:
    a billing system may send many purchases of one brand at once, and each round of conflicts
    lets only one of them through, so they must not all try again in the same instant."""
    for attempt in range(ATTEMPTS):
        try:
            return decide()
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0, min(0.25, 0.005 * 2**attempt)))
    raise AssertionError("unreachable")
