"""Lead group routes: create and read groups, upload contacts as JSON."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.deps import BrandDep, ServicesDep
from api.schemas import ContactsIn, ImportOut, LeadGroupIn, LeadGroupOut, LeadGroupPage
from commands.audience import create_lead_group, import_contacts, lead_group, lead_groups

router = APIRouter(prefix="/v1/lead-groups", tags=["lead groups"])


@router.post("", status_code=201, response_model=LeadGroupOut)
def create(body: LeadGroupIn, brand: BrandDep, services: ServicesDep):
    return create_lead_group(services.db, brand, body.name, services.clock.now())


@router.get("", response_model=LeadGroupPage)
def list_groups(brand: BrandDep, services: ServicesDep):
    return {"items": lead_groups(services.db, brand), "next_cursor": None}


@router.get("/{group_id}", response_model=LeadGroupOut)
def get_group(group_id: UUID, brand: BrandDep, services: ServicesDep):
    return lead_group(services.db, brand, group_id)


@router.post("/{group_id}/contacts", response_model=ImportOut)
def add_contacts(group_id: UUID, body: ContactsIn, brand: BrandDep, services: ServicesDep):
    rows = [contact.model_dump() for contact in body.contacts]
    report = import_contacts(services.db, brand, group_id, rows, services.clock.now())
    return {"added": report.added, "updated": report.updated, "invalid": report.invalid}
