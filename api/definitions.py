"""Request bodies that define a campaign or a template: its steps, sending window and audience.

Each model says in its JSON schema what its validation checks (the step types' needs as if/then
rules, not both steps and a template), so the OpenAPI document and the server agree; the domain
checks the same rules again (domain/steps.py, domain/campaign.py).
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, field_validator
from pydantic.config import JsonDict

from api.text import AudioUrl, Body, Group, Name, ShortText, Subject, TimeZone, WaitDays
from domain.limits import MAX_LEAD_GROUPS, MAX_SMS_BODY, MAX_STEPS
from domain.sending_window import DAYS, Day

OPENS = r"^([01]\d|2[0-3]):[0-5]\d$"
CLOSES = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"


class RequestBody(BaseModel):
    """A request body: unknown fields are refused (a typo is an error), and the schema says so."""

    model_config = ConfigDict(extra="forbid")


class SendingWindowIn(RequestBody):
    days: list[Day] = Field(default_factory=lambda: list(DAYS), min_length=1, max_length=7)
    start: str = Field("00:00", pattern=OPENS)
    end: str = Field(
        "24:00", pattern=CLOSES, description="after start; 24:00 is midnight at the end of the day"
    )


# What the step types need, as the schema can say it: the API's checks (domain/steps.py) agree.
STEP_RULES: JsonDict = {
    "allOf": [
        {
            "if": {"properties": {"type": {"const": "EMAIL"}}},
            "then": {
                "required": ["subject", "body"],
                "properties": {"subject": {"type": "string"}, "body": {"type": "string"}},
            },
        },
        {
            "if": {"properties": {"type": {"const": "SMS"}}},
            "then": {
                "required": ["body"],
                "properties": {"body": {"type": "string", "maxLength": MAX_SMS_BODY}},
            },
        },
        {
            "if": {"properties": {"type": {"const": "VOICEMAIL"}}},
            "then": {"required": ["audio_url"], "properties": {"audio_url": {"type": "string"}}},
        },
    ]
}


class StepIn(RequestBody):
    model_config = ConfigDict(extra="forbid", json_schema_extra=STEP_RULES)
    type: Literal["EMAIL", "SMS", "VOICEMAIL", "WAIT"]
    group: Group = 0
    subject: Subject | None = None
    body: Body | None = None
    audio_url: AudioUrl | None = None
    wait_days: WaitDays | None = None

    @field_validator("body")
    @classmethod
    def _sms_fits(cls, body: str | None, info: ValidationInfo) -> str | None:
        if body is not None and info.data.get("type") == "SMS" and len(body) > MAX_SMS_BODY:
            raise ValueError(f"an SMS body has at most {MAX_SMS_BODY} characters")
        return body


class CampaignIn(RequestBody):
    # Steps come from the template or from the body, not both.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "not": {
                "required": ["template_id", "steps"],
                "properties": {"template_id": {"type": "string"}, "steps": {"minItems": 1}},
            }
        },
    )
    name: Name
    audience_type: ShortText = "leads"
    ai_personalization: StrictBool = False
    lead_group_ids: list[UUID] = Field(default_factory=list, max_length=MAX_LEAD_GROUPS)
    template_id: UUID | None = None
    timezone: TimeZone = "UTC"
    sending_window: SendingWindowIn | None = None
    steps: list[StepIn] = Field(default_factory=list, max_length=MAX_STEPS)


class TemplateIn(RequestBody):
    name: Name
    steps: list[StepIn] = Field(min_length=1, max_length=MAX_STEPS)
