"""Request and response bodies of the operators' API (/admin/v1): brands, purchases, plans, standing."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, Strict

from api.definitions import RequestBody
from api.schemas import Page
from api.text import Address, Name, bounded
from domain.credit_ledger import MAX_PURCHASE, Plan

if TYPE_CHECKING:
    Reference = str
    Reason = str
    Amount = int
    OperatorName = str
else:
    OperatorName = bounded(1, 200)
    Reference = bounded(1, 200)
    Reason = bounded(1, 500)
    # Strict: money is a JSON integer, never a string or a boolean read as one.
    Amount = Annotated[
        int, Strict(), Field(ge=1, le=MAX_PURCHASE, description="credits bought (1 credit = $0.001)")
    ]


class BrandIn(RequestBody):
    name: Name
    plan: Plan


class BrandOut(BaseModel):
    id: UUID
    name: str
    plan: Plan | None = Field(description="granted from the next renewal on")
    balance: int = Field(description="what the brand can still reserve")
    reserved_outstanding: int
    status: Literal["active", "suspended"]
    suspended_at: datetime | None
    suspension_reason: str | None
    created_at: datetime
    renews_at: datetime = Field(description="the plan's next renewal, 00:00 UTC on the brand's renewal day")
    key_count: int = Field(description="the brand's API keys")


class NewBrandOut(BrandOut):
    brand_id: UUID
    api_key: str = Field(description="the brand's first API key: shown this once only")


class BrandPage(Page[BrandOut]):
    pass


class GrantIn(RequestBody):
    amount: Amount
    reference: Reference = Field(description="the invoice or payment id: granted once per brand")
    reason: Reason | None = Field(None, description='default "purchase"')


class GrantOut(BaseModel):
    brand_id: UUID
    reference: str
    amount: int
    reason: str
    granted_at: datetime
    created: bool = Field(description="false: the reference was granted before; this is that grant")
    balance: int = Field(description="the brand's balance now")


class PlanIn(RequestBody):
    plan: Plan


class SuspensionIn(RequestBody):
    reason: Reason


class ErasureIn(RequestBody):
    address: Address = Field(description="one of the person's addresses: an email address or a phone number")


class ErasureOut(BaseModel):
    contact_ids: list[UUID] = Field(
        description="the contacts erased (none: the address was nobody's contact)"
    )
    addresses: int = Field(description="the person's addresses, each suppressed for good and erased")
    first_time: bool = Field(
        description="false: an earlier call had finished erasing the person; true also on the call "
        "that finishes an erasure a crash interrupted"
    )
