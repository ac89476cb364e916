"""The console's campaign pages: the brand's campaigns (filtered by status) and one campaign with its
steps by day, its funnel per step, its StepExecutions, its events and its Pause, Resume and
Archive forms, now or as it stood at a moment ("As of").

The reads are the API's own: the campaign summaries read model, `campaign_as_of` for a past
moment (projections/campaign_history.py), the StepExecutions read model now and, as of a moment,
the funnel counted from it and the page's rows rebuilt from their enrollments' events
(projections/campaign_moments.py), the campaign's events
(projections/campaign_events.py). Pause, Resume and Archive run the commands the API's routes run
(commands/campaigns/campaign_lifecycle.py), then wait for the read models as the API does. Another
brand's campaign, or an id that is not one, is the 404 page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from api.console.charts import funnel_bars
from api.console.pages import not_found, page, parse_id
from api.console.sessions import CheckedForm, SessionDep
from api.deps import ServicesDep
from commands.application import CampaignApplication
from commands.campaigns.campaign_lifecycle import archive_campaign, pause_campaign, resume_campaign
from domain.campaign import CampaignStatus
from domain.enrollment import StepStatus
from domain.errors import DomainError, NotFound
from projections.campaign_events import campaign_events
from projections.campaign_history import campaign_as_of
from projections.campaign_moments import (
    executions_as_of,
    funnels_as_of,
    milestones,
    step_funnels_now,
)
from projections.campaign_summaries import summaries, summary
from projections.history.export_rows import parse_time
from projections.runner import wait_for_position
from projections.step_executions import executions
from projections.step_funnels import FUNNEL
from storage.paging import InvalidCursor

router = APIRouter()
STATUSES = [status.value for status in CampaignStatus]
STEP_STATUSES = [status.value for status in StepStatus]
PAGE_SIZE = 50
# A page's sections, read side by side. Each takes a connection of the process's pool (8, shared
# with the API and the roles serve runs in process): three at a time across every page leaves the
# rest of the pool to them, whoever keeps opening console pages.
SECTIONS = ThreadPoolExecutor(max_workers=3, thread_name_prefix="console-page")


def _sent(row: dict[str, Any]) -> int:
    return int(row["sent_email"] + row["sent_sms"] + row["sent_voicemail"])


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _listed(row: dict[str, Any]) -> dict[str, Any]:
    sent = _sent(row)
    return {
        **row,
        "sent": sent,
        "progress": _rate(row.get("finished", 0), row["enrolled"]),
        "delivered_rate": _rate(row["delivered"], sent),
        "open_rate": _rate(row["opened"], sent),
        "reply_rate": _rate(row["replied"], sent),
        "bounce_rate": _rate(row["bounced"], sent),
    }


@router.get("/")
def campaign_list(
    request: Request, session: SessionDep, services: ServicesDep, status: str = "", cursor: str = ""
) -> Response:
    wanted = status if status in STATUSES else None
    try:
        rows, next_cursor = summaries(services.db, session.brand_id, wanted, 100, cursor or None)
    except InvalidCursor:
        rows, next_cursor = summaries(services.db, session.brand_id, wanted, 100, None)
    return page(
        request,
        "campaigns.html",
        session,
        campaigns=[_listed(row) for row in rows],
        statuses=STATUSES,
        status=wanted or "",
        next_cursor=next_cursor,
    )


def parse_moment(text: str) -> datetime | None:
    """An "As of" entry: ISO-8601, UTC when it names no zone (a datetime-local field's value)."""
    text = text.strip()
    if not text:
        return None
    return parse_time(text)


def _steps_by_day(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each step with the day it goes out on, counting the waits before it (day 0: at launch)."""
    day, shown = 0, []
    for step in sorted(steps, key=lambda s: (s["group"], s["order"])):
        if step["type"] == "WAIT":
            day += int(step.get("wait_days") or 0)
        shown.append({**step, "day": day})
    return shown


def _executions(
    services: Any,
    campaign_id: UUID,
    moment: datetime | None,
    status: str,
    contact: str,
    cursor: str,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the executions: now from the read model, or as of a moment (each row rebuilt
    from its enrollment's events; paged by offset)."""
    state = status if status in STEP_STATUSES else None
    contact_id = parse_id(contact) if contact else None
    if moment is not None:
        start = int(cursor) if cursor.isdigit() else 0
        rows = executions_as_of(
            services.store, services.db, campaign_id, moment, state, contact_id, start, PAGE_SIZE + 1
        )
        more = len(rows) > PAGE_SIZE
        return rows[:PAGE_SIZE], str(start + PAGE_SIZE) if more else None
    try:
        return executions(services.db, campaign_id, state, contact_id, PAGE_SIZE, cursor or None)
    except InvalidCursor:
        return executions(services.db, campaign_id, state, contact_id, PAGE_SIZE, None)


def _events(
    services: Any, campaign_id: UUID, moment: datetime | None, cursor: str
) -> tuple[list[dict[str, Any]], str | None]:
    try:
        items, next_cursor = campaign_events(
            services.store, services.db, campaign_id, PAGE_SIZE, cursor or None
        )
    except InvalidCursor:
        items, next_cursor = campaign_events(services.store, services.db, campaign_id, PAGE_SIZE, None)
    if moment is not None:
        cut = moment.astimezone(UTC)
        kept = [item for item in items if parse_moment(item["occurred_at"]) <= cut]  # type: ignore[operator]
        if len(kept) < len(items):
            next_cursor = None
        items = kept
    for item in items:
        item["data_text"] = json.dumps(item["data"], sort_keys=True)
    return items, next_cursor


@router.get("/campaigns/{campaign_id}")
def campaign_page(
    request: Request,
    campaign_id: str,
    session: SessionDep,
    services: ServicesDep,
    as_of: str = "",
    status: str = "",
    contact: str = "",
    cursor: str = "",
    events_cursor: str = "",
    notice: str = "",
) -> Response:
    found = parse_id(campaign_id)
    now_row = summary(services.db, session.brand_id, found) if found else None
    if found is None or now_row is None:
        return not_found(request, session, "such campaign")
    try:
        moment = parse_moment(as_of)
    except ValueError:
        moment, notice = None, f"“{as_of}” is not a time: write it as 2026-12-07T09:00:00Z (UTC)."
    # The sections read apart, each in its own statements: read side by side, so the page waits
    # for the slowest, not for their sum (docs/decisions/0036-the-funnel-kept-as-counts.md).
    store, db = services.store, services.db
    past = SECTIONS.submit(campaign_as_of, store, db, session.brand_id, found, moment) if moment else None
    if moment is None:
        funnels_read = SECTIONS.submit(step_funnels_now, store, db, found, now_row["clicked"])
    else:
        funnels_read = SECTIONS.submit(funnels_as_of, store, db, found, moment)
    rows_read = SECTIONS.submit(_executions, services, found, moment, status, contact, cursor)
    events_read = SECTIONS.submit(_events, services, found, moment, events_cursor)
    milestones_read = SECTIONS.submit(milestones, store, db, found)
    row = now_row
    if moment is not None and past is not None:
        then = past.result()
        if then is None:  # the other sections finish unread
            return not_found(request, session, f"campaign yet at {moment.isoformat()}")
        row = then
    funnels, (rows, next_rows) = funnels_read.result(), rows_read.result()
    (events, next_events), marks = events_read.result(), milestones_read.result()
    steps = _steps_by_day(row["steps"])
    charts = {
        step["id"]: funnel_bars(
            f"Funnel of step {step['id']}: "
            + ", ".join(f"{name} {funnels.get(step['id'], {}).get(name, 0)}" for name in FUNNEL),
            [(name, funnels.get(step["id"], {}).get(name, 0)) for name in FUNNEL],
        )
        for step in steps
        if step["type"] != "WAIT"
    }
    here = {"as_of": as_of, "status": status, "contact": contact}
    return page(
        request,
        "campaign.html",
        session,
        campaign=_listed(row),
        as_of=moment,
        as_of_text=as_of,
        notice=notice,
        steps=steps,
        funnels=funnels,
        funnel_names=FUNNEL,
        charts=charts,
        milestones=marks,
        executions=rows,
        next_rows=urlencode({**here, "cursor": next_rows}) if next_rows else None,
        step_statuses=STEP_STATUSES,
        status=status,
        contact=contact,
        events=events,
        next_events=urlencode({**here, "events_cursor": next_events}) if next_events else None,
    )


Transition = Callable[[CampaignApplication, UUID, UUID, datetime], int | None]


def _change(
    request: Request, form: CheckedForm, services: Any, campaign_id: str, change: Transition
) -> Response:
    session, _ = form
    found = parse_id(campaign_id)
    if found is None:
        return not_found(request, session, "such campaign")
    try:
        position = change(services.store, session.brand_id, found, services.clock.now())
    except NotFound:
        return not_found(request, session, "such campaign")
    except DomainError as refused:
        return RedirectResponse(
            f"/console/campaigns/{found}?{urlencode({'notice': str(refused)})}", status_code=303
        )
    wait_for_position(services.db, list(services.projections), position)  # so the page shows it
    return RedirectResponse(f"/console/campaigns/{found}", status_code=303)


@router.post("/campaigns/{campaign_id}/pause")
def pause(request: Request, campaign_id: str, form: CheckedForm, services: ServicesDep) -> Response:
    return _change(request, form, services, campaign_id, pause_campaign)


@router.post("/campaigns/{campaign_id}/resume")
def resume(request: Request, campaign_id: str, form: CheckedForm, services: ServicesDep) -> Response:
    return _change(request, form, services, campaign_id, resume_campaign)


@router.post("/campaigns/{campaign_id}/archive")
def archive(request: Request, campaign_id: str, form: CheckedForm, services: ServicesDep) -> Response:
    return _change(request, form, services, campaign_id, archive_campaign)
