"""Lead group routes: create and read groups, upload contacts as JSON or as a streamed CSV file.

A CSV upload is streamed into a spooled temporary file (memory up to 1 MiB, disk beyond) and
imported on a worker thread, so a 100,000-row file never sits in memory as one string. A JSON
upload is read and validated on a worker thread too (api/json_contacts.py bounds that work).
"""

from __future__ import annotations

import io
from datetime import datetime
from tempfile import SpooledTemporaryFile
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import BrandDep, Cursor, IdempotencyKey, Limit, Services, ServicesDep, answer_once
from api.errors import Problem
from api.json_contacts import json_rows
from api.schemas import ContactsIn, ImportOut, LeadGroupIn, LeadGroupOut, LeadGroupPage
from commands.audience.contact_rows import csv_rows
from commands.audience.import_contacts import ImportReport, import_contacts
from commands.audience.lead_groups import create_lead_group, lead_group, lead_groups, missing_lead_groups
from domain.errors import NotFound

router = APIRouter(prefix="/v1/lead-groups", tags=["lead groups"])

SPOOL_IN_MEMORY = 1 << 20
CSV_EXAMPLE = "email,phone,first_name,company,plan\nann@example.com,+14155550100,Ann,Acme,gold\n"


def _inline(schema: Any, defs: dict[str, Any]) -> Any:  # pragma: no mutate block (run at import)
    """A pydantic JSON schema with its local $refs replaced by their definitions."""
    # Run at import (CONTACTS_BODY), before mutmut picks a mutant, so no mutant of it could be
    # tested (no mutate): test_openapi_request_bodies_refuse_unknown_fields_as_the_server_does
    # reads the contacts' schema inlined and fails when this is changed by hand.
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {key: _inline(value, defs) for key, value in schema.items() if key != "$defs"}
    if isinstance(schema, list):
        return [_inline(value, defs) for value in schema]
    return schema


_CONTACTS_SCHEMA = ContactsIn.model_json_schema()
CONTACTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inline(_CONTACTS_SCHEMA, _CONTACTS_SCHEMA.get("$defs", {}))},
            "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
        },
    }
}


@router.post("", status_code=201, response_model=LeadGroupOut)
def create(
    body: LeadGroupIn, brand: BrandDep, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def run() -> tuple[int, LeadGroupOut]:
        return 201, LeadGroupOut.model_validate(
            create_lead_group(services.db, brand, body.name, services.clock.now())
        )

    return answer_once(services, brand, idempotency_key, "POST /v1/lead-groups", run, body)


@router.get("", response_model=LeadGroupPage)
def list_groups(
    brand: BrandDep, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    rows, next_cursor = lead_groups(services.db, brand, limit, cursor)
    return {"items": rows, "next_cursor": next_cursor}


@router.get("/{group_id}", response_model=LeadGroupOut)
def get_group(group_id: UUID, brand: BrandDep, services: ServicesDep) -> dict[str, Any]:
    return lead_group(services.db, brand, group_id)


@router.post(
    "/{group_id}/contacts",
    response_model=ImportOut,
    openapi_extra=CONTACTS_BODY,
    responses={
        404: {"description": "no such lead group"},
        413: {"description": "a body past its limit, or a CSV of more than 1,000,000 rows (nothing stored)"},
        415: {"description": "not JSON or CSV"},
    },
)
async def add_contacts(
    group_id: UUID, request: Request, brand: BrandDep, services: ServicesDep
) -> dict[str, Any]:
    """Contacts as JSON `{"contacts": [...]}` (at most 10,000), or as `text/csv` with a header row
    (other columns: fields; at most 1,000 columns, 1,000,000 rows, 2,000,000 characters a record).
    `invalid` lists the first 1,000 bad rows, `invalid_count` counts them all."""
    media_type, _, params = request.headers.get("content-type", "").partition(";")
    media_type = media_type.strip().lower()
    now = services.clock.now()
    if media_type == "application/json":
        rows = await run_in_threadpool(json_rows, await request.body())
        report = await run_in_threadpool(
            import_contacts, services.db, brand, group_id, rows, now, services.default_phone_region
        )
    elif media_type == "text/csv":
        if await run_in_threadpool(missing_lead_groups, services.db, brand, [group_id]):
            raise NotFound(f"lead group {group_id}")  # before reading what may be a large body
        with SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as upload:
            await _spool(request, upload)
            report = await run_in_threadpool(
                _import_csv, services, brand, group_id, upload, _charset(params), now
            )
    else:
        raise Problem(
            415,
            "Unsupported media type",
            f"send contacts as application/json or text/csv, not {media_type or 'a body without a type'}",
        )
    return {
        "added": report.added,
        "updated": report.updated,
        "invalid": report.invalid,
        "invalid_count": report.invalid_count,
    }


def _charset(params: str) -> str:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"')
            return "utf-8-sig" if charset.lower() in ("utf-8", "utf8") else charset
    return "utf-8-sig"  # UTF-8, ignoring the byte order mark spreadsheets write


async def _spool(request: Request, upload: Any) -> None:
    async for chunk in request.stream():  # the request gate stops a body past 256 MiB (api/gate.py)
        upload.write(chunk)


def _import_csv(
    services: Services, brand: UUID, group_id: UUID, upload: Any, charset: str, now: datetime
) -> ImportReport:
    upload.seek(0)
    try:
        text = io.TextIOWrapper(upload, encoding=charset, newline="")
    except LookupError:
        raise Problem(415, "Unsupported media type", f"unknown charset {charset!r}") from None
    try:
        rows = csv_rows(text)
        return import_contacts(services.db, brand, group_id, rows, now, services.default_phone_region)
    finally:
        text.detach()
