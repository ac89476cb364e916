"""The console's health page: the brand's sender accounts (sends today against today's limit, the
warm-up curve, status), and the parked items for an operator who gives the admin key.

The parked items are every brand's (storage/parked.py, what `campaign-service parked list`
shows), so they are shown only to a form that carries the admin key (`ADMIN_API_KEY`, compared in
constant time, never stored in the session) and the session's CSRF token; without the setting
the console says there is no admin key to give.
"""

from __future__ import annotations

import hmac
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.console.charts import warmup_curve
from api.console.pages import page
from api.console.sessions import CheckedForm, SessionDep
from api.deps import Services, ServicesDep
from commands.sending.sender_accounts import sender_accounts
from domain.sender_choice import warmup_limit
from storage.parked import listing

router = APIRouter()
WARMUP_DAYS = 30


def _accounts(services: Services, brand: UUID) -> list[dict[str, Any]]:
    rows, _ = sender_accounts(services.db, brand, 500)
    shown = []
    for row in rows:
        limits = [
            warmup_limit(
                row["daily_limit"],
                row["warmup_enabled"],
                row["warmup_start_limit"],
                row["warmup_daily_increment"],
                day,
            )
            for day in range(WARMUP_DAYS)
        ]
        label = f"Warm-up of {row['address']}: {limits[0]} a day at first, {limits[-1]} by day {WARMUP_DAYS}"
        shown.append({**row, "curve": warmup_curve(label, limits) if row["warmup_enabled"] else None})
    return shown


@router.get("/health")
def health_page(request: Request, session: SessionDep, services: ServicesDep) -> Response:
    return page(
        request,
        "health.html",
        session,
        accounts=_accounts(services, session.brand_id),
        admin_configured=services.admin_api_key is not None,
        parked=None,
    )


@router.post("/parked")
def parked_page(request: Request, form: CheckedForm, services: ServicesDep) -> Response:
    session, fields = form
    expected = services.admin_api_key
    given = fields.get("admin_key", "")
    allowed = expected is not None and hmac.compare_digest(given.encode(), expected.encode())
    if not allowed:
        reason = "That is not the admin key: parked items are shown to operators only."
        return page(request, "forbidden.html", session, status_code=403, reason=reason)
    return page(
        request,
        "health.html",
        session,
        accounts=_accounts(services, session.brand_id),
        admin_configured=True,
        parked=listing(services.db),
    )
