"""The console's credits page: the brand's balance over time as a line, its ledger as a table
(each reservation, consumption and release linked to its campaign, each grant with its
reference), and the verdict of the credit audit (`campaign-service audit credits`, the same check:
projections/history/credit_audit.py, from raw stored events) with the time it was checked, run
when asked.

The ledger's entries are the API's (`GET /v1/credits/ledger`): the credit ledger entries read
model with the balance after each. A consumption settles a campaign's sent steps in a batch (the
event names the campaign and the log position it settled through, not one step), so it links to
the steps it paid for: the campaign's sends between its previous consumption and that position
(projections/consumption_steps.py), a page at a time, with their total against the amount consumed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from fastapi import APIRouter, Request
from starlette.responses import Response

from api.console.charts import balance_line
from api.console.pages import not_found, page, parse_id
from api.console.sessions import SessionDep
from api.deps import Services, ServicesDep
from commands.credits.brand_accounts import brand_account
from projections.campaign_summaries import summary
from projections.consumption_steps import consumption, paid_steps, paid_total, steps_paid
from projections.credit_ledger_entries import entries
from projections.history.credit_audit import audit_brand
from storage.paging import InvalidCursor

router = APIRouter()
MOST_ENTRIES = 10_000  # the page shows at most this many ledger entries (the latest)
STEPS_PAGE = 200  # the steps a consumption paid for, shown this many a page


def _ledger(services: Services, brand: UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        found, cursor = entries(services.store, services.db, brand, 500, cursor)
        rows.extend(found)
        if cursor is None or len(rows) >= MOST_ENTRIES:
            return rows[-MOST_ENTRIES:]


def audit_verdict(services: Services, brand: UUID) -> dict[str, Any]:
    """The credit audit's verdict for the brand, as `audit credits` decides it, and when it was checked."""
    checked_at = services.clock.now()
    with psycopg.connect(services.db.url, autocommit=True) as conn:
        audit = audit_brand(services.store, conn, brand)
    problem = audit.chain_break or (audit.ledger.violations[0] if audit.ledger.violations else None)
    kind = "tampered history" if audit.chain_break else "broken invariant"
    return {
        "clean": problem is None,
        "problem": f"{kind}: {problem}" if problem is not None else None,
        "stored_events": audit.stored_events,
        "checked_at": checked_at,
    }


# The last verdict found for each brand by this process, shown with the time it was checked: the
# audit reads every stored event of the brand (seconds for a brand of millions), so it runs when
# asked ("Check the credits now"), not on every view.
LAST_VERDICTS: dict[UUID, dict[str, Any]] = {}


@router.get("/credits")
def credits_page(request: Request, session: SessionDep, services: ServicesDep, audit: str = "") -> Response:
    brand = session.brand_id
    if audit == "now":
        LAST_VERDICTS[brand] = audit_verdict(services, brand)
    account = brand_account(services.store, services.db, brand, services.clock.now())
    ledger = _ledger(services, brand)
    names: dict[UUID, str] = {}
    for campaign_id in {row["campaign_id"] for row in ledger if row["campaign_id"]}:
        row = summary(services.db, brand, campaign_id)
        names[campaign_id] = row["name"] if row else str(campaign_id)
    chart = balance_line(
        f"Credit balance over time: {len(ledger)} entries, now {account['balance']:,}",
        [(row["occurred_at"], row["balance_after"]) for row in ledger],
    )
    return page(
        request,
        "credits.html",
        session,
        account=account,
        ledger=list(reversed(ledger)),
        names=names,
        paid=steps_paid(
            services.store,
            services.db,
            brand,
            [row["position"] for row in ledger if row["type"] == "consumed"],
        ),
        chart=chart,
        audit=LAST_VERDICTS.get(brand),
    )


@router.get("/credits/consumptions/{campaign_id}/{settled_through}")
def consumption_page(
    request: Request,
    campaign_id: str,
    settled_through: str,
    session: SessionDep,
    services: ServicesDep,
    cursor: str = "",
) -> Response:
    """The steps one consumption paid for, with their total against the amount it consumed."""
    found = parse_id(campaign_id)
    campaign = summary(services.db, session.brand_id, found) if found else None
    through = int(settled_through) if settled_through.isdigit() and len(settled_through) < 19 else 0
    paid = (
        consumption(services.store, services.db, session.brand_id, found, through)
        if found is not None and campaign is not None
        else None
    )
    if found is None or campaign is None or paid is None:
        return not_found(request, session, "such consumption")
    try:
        steps, next_cursor = paid_steps(services.store, services.db, paid, STEPS_PAGE, cursor or None)
    except InvalidCursor:
        steps, next_cursor = paid_steps(services.store, services.db, paid, STEPS_PAGE, None)
    count, total = paid_total(services.store, services.db, paid)
    return page(
        request,
        "consumption.html",
        session,
        campaign=campaign,
        paid=paid,
        steps=steps,
        count=count,
        total=total,
        next_cursor=next_cursor,
    )
