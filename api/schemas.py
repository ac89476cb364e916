"""Request and response bodies of the HTTP API (pydantic models; the OpenAPI document comes from them);
the bodies that define a campaign or a template are in api/definitions.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, Field, JsonValue, StrictBool

from api.definitions import CLOSES, OPENS, RequestBody, StepIn
from api.text import (
    Address,
    ContactFields,
    Credentials,
    DailyIncrement,
    DailyLimit,
    Name,
    ShortText,
    SmsHelp,
)
from commands.audience.import_contacts import MAX_REPORTED
from domain.campaign import Campaign, CampaignStatus
from domain.credit_ledger import Plan
from domain.deliverability import MAX_WINDOW_SENDS
from domain.enrollment import Enrollment, StepStatus
from domain.event_catalogue import event_classes
from domain.steps import Channel, StepType

Item = TypeVar("Item", bound=BaseModel)
SenderChannel = Literal["email", "sms", "voice"]  # a sender account's; its voice number drops voicemails
Provider = Literal["gmail", "twilio", "sandbox"]
# commands/sending/sender_health.py; commands/deliverability/guard.py
SenderStatus = Literal["active", "reconnect_required", "paused_deliverability"]
# What a campaign's event list may hold: the campaign's and its enrollments' event types.
CAMPAIGN_EVENT_TYPES: list[JsonValue] = [
    name
    for name in sorted(e.__name__ for aggregate in (Campaign, Enrollment) for e in event_classes(aggregate))
]


class Page(BaseModel, Generic[Item]):
    """One page of a list: its items, and the cursor that asks for the next page (null on the last).
    Each list names its page by a subclass (`class CampaignPage(Page[CampaignSummary])`), so the
    OpenAPI document keeps one schema name per list rather than `Page_CampaignSummary_`."""

    items: list[Item]
    next_cursor: str | None


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
    type: StepType
    group: int
    order: int
    subject: str | None = None
    body: str | None = None
    audio_url: str | None = None
    wait_days: int = 0


class CampaignSummary(BaseModel):
    id: UUID
    name: str
    status: CampaignStatus
    created_at: datetime
    launched_at: datetime | None
    metrics: Metrics


class PauseOut(BaseModel):
    by: Literal["user", "deliverability guard"] = Field(description="who paused the campaign")
    reason: str | None = Field(description="why: the deliverability guard's figures; null for a user")
    at: datetime


class CampaignOut(CampaignSummary):
    pause: PauseOut | None = Field(None, description="while PAUSED: who paused it, why and when")
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


class CampaignPage(Page[CampaignSummary]):
    pass


class ExecutionOut(BaseModel):
    """One step of one contact: where it stands, who sent it and what the provider said."""

    contact_id: UUID
    step_id: str
    type: StepType
    group: int = Field(validation_alias="step_group")
    status: StepStatus
    sender_account_id: str | None
    provider_message_id: str | None
    scheduled_for: datetime | None = Field(description="when its group was (or is) due")
    sent_at: datetime | None
    opened_at: datetime | None
    replied_at: datetime | None
    error: str | None = Field(description="why it failed, was withdrawn, cancelled or deferred")


class ExecutionPage(Page[ExecutionOut]):
    pass


class LeadOut(BaseModel):
    contact_id: UUID
    state: Literal["active", "finished"]
    current_group: int | None
    next_due_at: datetime | None
    replied: bool
    unsubscribed: bool = Field(description="a step was withdrawn because the address is suppressed")


class LeadPage(Page[LeadOut]):
    pass


class CampaignEventOut(BaseModel):
    position: int = Field(description="its place in the event log")
    type: str = Field(
        description="the event's type, as docs/events.md names it",
        json_schema_extra={"enum": CAMPAIGN_EVENT_TYPES},
    )
    aggregate_id: UUID
    version: int
    occurred_at: datetime = Field(description="when the event was recorded")
    data: dict[str, Any] = Field(description="the event's fields, as docs/events.md lists them")


class CampaignEventPage(Page[CampaignEventOut]):
    pass


class TemplateOut(BaseModel):
    id: UUID
    name: str
    steps: list[StepIn]
    created_at: datetime


class TemplatePage(Page[TemplateOut]):
    pass


class StatusOut(BaseModel):
    id: UUID
    status: CampaignStatus


class LaunchOut(StatusOut):
    credits_reserved: int


class LeadGroupIn(RequestBody):
    name: Name


class LeadGroupOut(BaseModel):
    id: UUID
    name: str
    contact_count: int


class LeadGroupPage(Page[LeadGroupOut]):
    pass


class ContactIn(RequestBody):
    """A contact; what cannot be one (a bad address or zone) is reported as an invalid row, not a 422."""

    email: ShortText | None = None
    phone: ShortText | None = None
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    company: ShortText | None = None
    timezone: ShortText | None = None
    fields: ContactFields = Field(default_factory=dict)


MAX_JSON_CONTACTS = 10_000  # contacts in one JSON upload (a CSV file takes up to 1,000,000 rows)


class ContactsIn(RequestBody):
    contacts: list[ContactIn] = Field(max_length=MAX_JSON_CONTACTS)


class InvalidRow(BaseModel):
    row: int
    error: str


class ImportOut(BaseModel):
    added: int
    updated: int
    invalid: list[InvalidRow] = Field(
        max_length=MAX_REPORTED,
        description=f"the first {MAX_REPORTED:,} bad rows, by row number (row 1: the first data row)",
    )
    invalid_count: int = Field(description="how many rows were bad, all of them, listed in `invalid` or not")


class SuppressionIn(RequestBody):
    address: Address = Field(description="an email address or a phone number")
    reason: Name = "manual"


class MessagingSettingsIn(RequestBody):
    allowed_from: str = Field(
        "08:00", pattern=OPENS, description="texts and calls go out from this local time (HH:MM)"
    )
    allowed_until: str = Field(
        "21:00", pattern=CLOSES, description="... until this local time (HH:MM, 24:00 for midnight)"
    )
    help_text: SmsHelp | None = Field(None, description="the answer to HELP; null for the default")


class MessagingSettingsOut(BaseModel):
    allowed_from: str
    allowed_until: str
    help_text: str


class DeliverabilitySettingsIn(RequestBody):
    """Strict numbers: a boolean is no rate and no count (pydantic would read `false` as 0)."""

    max_bounce_rate: float = Field(
        0.05,
        ge=0,
        le=1,
        strict=True,
        description="the most hard bounces per email send a window may hold (0 to 1)",
    )
    max_opt_out_rate: float = Field(
        0.02,
        ge=0,
        le=1,
        strict=True,
        description="the most opt-outs (unsubscribes, STOPs) per send a window may hold",
    )
    min_sends: int = Field(
        50, ge=1, le=MAX_WINDOW_SENDS, strict=True, description="no window is judged under this many sends"
    )
    window_sends: int = Field(
        500,
        ge=1,
        le=MAX_WINDOW_SENDS,
        strict=True,
        description="a window's size: the last sends, at least min_sends",
    )


class DeliverabilitySettingsOut(BaseModel):
    max_bounce_rate: float
    max_opt_out_rate: float
    min_sends: int
    window_sends: int


class SuppressionOut(BaseModel):
    address: str = Field(description="normalised: a lowercased email or an E.164 phone number")
    channel: Literal["email", "phone"]
    reason: str
    created_at: datetime


class SuppressionPage(Page[SuppressionOut]):
    pass


class Warmup(RequestBody):
    enabled: StrictBool = False
    start_limit: DailyLimit = 10
    daily_increment: DailyIncrement = 5


class SenderAccountIn(RequestBody):
    channel: SenderChannel
    provider: Provider
    address: Annotated[Address, Field(min_length=3)]
    daily_limit: DailyLimit = 50
    warmup: Warmup = Field(default_factory=Warmup)
    credentials: Credentials | None = Field(
        None, description="write-only; never returned", repr=False, exclude=True
    )


class SenderCredentialsIn(RequestBody):
    credentials: Credentials = Field(description="write-only; never returned", repr=False, exclude=True)


class SenderAccountOut(BaseModel):
    id: UUID
    channel: SenderChannel
    provider: Provider
    address: str
    daily_limit: int
    limit_today: int
    sends_today: int
    status: SenderStatus


class SenderAccountPage(Page[SenderAccountOut]):
    pass


class CreditsOut(BaseModel):
    plan: Plan
    balance: int
    reserved_outstanding: int
    renews_at: datetime = Field(
        description="the plan's next renewal: its credits are granted then (00:00 UTC)"
    )


class LedgerEntryOut(BaseModel):
    position: int = Field(description="its place in the event log")
    occurred_at: datetime
    type: Literal["granted", "reserved", "consumed", "released"]
    amount: int
    balance_after: int = Field(description="what the brand can still reserve after this entry")
    campaign_id: UUID | None
    reason: str | None
    reference: str | None = Field(None, description="a purchase's invoice or payment id")


class LedgerPage(Page[LedgerEntryOut]):
    pass


class OutboxItem(BaseModel):
    channel: Channel
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


class ClockAdvance(RequestBody):
    seconds: float = Field(gt=0, le=366 * 86400)


class ClockOut(BaseModel):
    now: datetime


class ApiKeyIn(RequestBody):
    name: Name = Field(description="what the key is for, e.g. the integration that holds it")


class ApiKeyOut(BaseModel):
    id: UUID
    name: str
    prefix: str = Field(description="the key's first characters, to tell keys apart; never the key")
    created_at: datetime
    last_used_at: datetime | None = Field(
        None,
        description="when the key was last used (recorded at most once a minute, so up to a minute behind)",
    )


class ApiKeyCreated(BaseModel):
    id: UUID
    name: str
    prefix: str
    api_key: str | None = Field(
        description="the key itself: shown in this answer only, never again; null when a repeated"
        " Idempotency-Key answers again (the key is not kept, so it cannot be)"
    )
    created_at: datetime


class ApiKeyPage(Page[ApiKeyOut]):
    pass
