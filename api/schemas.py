"""Request and response bodies of the HTTP API (pydantic models; the OpenAPI document comes from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HOUR = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"


class SendingWindow(BaseModel):
    days: list[Day] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    start: str = Field("00:00", pattern=HOUR)
    end: str = Field("24:00", pattern=HOUR)


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["EMAIL", "SMS", "VOICEMAIL", "WAIT"]
    group: int = Field(0, ge=0, le=365)
    subject: str | None = None
    body: str | None = None
    audio_url: str | None = None
    wait_days: int | None = Field(None, ge=0, le=365)


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    audience_type: str = "leads"
    ai_personalization: bool = False
    lead_group_ids: list[UUID] = Field(default_factory=list)
    template_id: UUID | None = None
    timezone: str = "UTC"
    sending_window: SendingWindow | None = None
    steps: list[StepIn] = Field(default_factory=list)


class Sent(BaseModel):
    email: int
    sms: int
    voicemail: int


class Metrics(BaseModel):
    enrolled: int
    sent: Sent
    delivered: int
    opened: int
    clicked: int
    replied: int
    bounced: int
    failed: int
    unsubscribed: int
    cancelled: int


class Credits(BaseModel):
    reserved: int
    consumed: int
    released: int
    outstanding: int


class StepOut(BaseModel):
    id: str
    type: str
    group: int
    order: int
    subject: str | None = None
    body: str | None = None
    audio_url: str | None = None
    wait_days: int = 0


class CampaignSummary(BaseModel):
    id: UUID
    name: str
    status: str
    created_at: datetime
    launched_at: datetime | None
    metrics: Metrics


class CampaignOut(CampaignSummary):
    audience_type: str
    ai_personalization: bool
    lead_group_ids: list[UUID]
    timezone: str
    sending_window: dict[str, Any]
    steps: list[StepOut]
    completed_at: datetime | None
    archived_at: datetime | None
    credits: Credits
    estimated_credits: int | None = Field(
        None, description="while DRAFT: the credits a launch would reserve now; null otherwise"
    )


class CampaignPage(BaseModel):
    items: list[CampaignSummary]
    next_cursor: str | None


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    steps: list[StepIn] = Field(min_length=1, max_length=100)


class TemplateOut(BaseModel):
    id: UUID
    name: str
    steps: list[StepIn]
    created_at: datetime


class TemplatePage(BaseModel):
    items: list[TemplateOut]
    next_cursor: str | None


class StatusOut(BaseModel):
    id: UUID
    status: str


class LaunchOut(StatusOut):
    credits_reserved: int


class LeadGroupIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class LeadGroupOut(BaseModel):
    id: UUID
    name: str
    contact_count: int


class LeadGroupPage(BaseModel):
    items: list[LeadGroupOut]
    next_cursor: str | None = None


class ContactIn(BaseModel):
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    timezone: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)


class ContactsIn(BaseModel):
    contacts: list[ContactIn] = Field(max_length=10_000)


class InvalidRow(BaseModel):
    row: int
    error: str


class ImportOut(BaseModel):
    added: int
    updated: int
    invalid: list[InvalidRow]


class SuppressionIn(BaseModel):
    address: str = Field(min_length=1, max_length=320, description="an email address or a phone number")
    reason: str = Field("manual", min_length=1, max_length=200)


class SuppressionOut(BaseModel):
    address: str = Field(description="normalised: a lowercased email or an E.164 phone number")
    channel: Literal["email", "phone"]
    reason: str
    created_at: datetime


class SuppressionPage(BaseModel):
    items: list[SuppressionOut]
    next_cursor: str | None


class Warmup(BaseModel):
    enabled: bool = False
    start_limit: int = Field(10, ge=0)
    daily_increment: int = Field(5, ge=0)


class SenderAccountIn(BaseModel):
    channel: Literal["email", "sms", "voice"]
    provider: Literal["gmail", "twilio", "sandbox"]
    address: str = Field(min_length=3, max_length=320)
    daily_limit: int = Field(50, ge=0, le=100_000)
    warmup: Warmup = Field(default_factory=Warmup)
    credentials: dict[str, Any] | None = Field(
        None, description="write-only; never returned", repr=False, exclude=True
    )


class SenderAccountOut(BaseModel):
    id: UUID
    channel: str
    provider: str
    address: str
    daily_limit: int
    limit_today: int
    sends_today: int
    status: str


class SenderAccountPage(BaseModel):
    items: list[SenderAccountOut]
    next_cursor: str | None = None


class CreditsOut(BaseModel):
    plan: str
    balance: int
    reserved_outstanding: int


class OutboxItem(BaseModel):
    channel: str
    to: str
    sender: str = Field(serialization_alias="from")
    subject: str | None
    body: str | None
    audio_url: str | None
    campaign_id: UUID
    contact_id: UUID
    step_id: str
    provider_message_id: str
    sent_at: datetime


class OutboxPage(BaseModel):
    items: list[OutboxItem]


class ClockAdvance(BaseModel):
    seconds: float = Field(gt=0, le=366 * 86400)


class ClockOut(BaseModel):
    now: datetime
