"""Campaign template routes: store a named list of steps, list and read them (brand scoped)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.definitions import TemplateIn
from api.deps import BrandDep, Cursor, IdempotencyKey, Limit, ServicesDep, answer_once
from api.schemas import TemplateOut, TemplatePage
from commands.campaigns.campaign_templates import create_template, template, templates

router = APIRouter(prefix="/v1/templates", tags=["templates"])


@router.post("", status_code=201, response_model=TemplateOut)
def create(
    body: TemplateIn, brand: BrandDep, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def run() -> tuple[int, TemplateOut]:
        steps = [step.model_dump() for step in body.steps]
        created = create_template(services.db, brand, body.name, steps, services.clock.now())
        return 201, TemplateOut.model_validate(created)

    return answer_once(services, brand, idempotency_key, "POST /v1/templates", run, body)


@router.get("", response_model=TemplatePage)
def list_templates(
    brand: BrandDep,
    services: ServicesDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    rows, next_cursor = templates(services.db, brand, limit, cursor)
    return {"items": rows, "next_cursor": next_cursor}


@router.get("/{template_id}", response_model=TemplateOut)
def get_template(template_id: UUID, brand: BrandDep, services: ServicesDep) -> dict[str, Any]:
    return template(services.db, brand, template_id)
