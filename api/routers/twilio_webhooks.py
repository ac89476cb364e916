"""Twilio's webhooks: inbound texts, message delivery reports, and voicemail calls' progress.

They carry no API key (the request gate lets them through; its body limit still holds): each is
proved by its X-Twilio-Signature instead, over PUBLIC_BASE_URL + path (+ query) and the form, with
the auth token of the Twilio sender account that owns the number (commands/inbound/
twilio_signatures.py). A request that does not verify is a 403 problem and nothing is recorded.
Answers are TwiML: the HELP text for an inbound text, and for a voicemail call what it does next.
Each request must carry the SID Twilio names it with (422 otherwise): a request handled before is
answered again but records nothing (commands/inbound/webhook_receipts.py). A text from a short
code or an alphanumeric sender id is answered with empty TwiML (so Twilio does not retry it) and
records nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from api.deps import ServicesDep, services_of
from commands.inbound.delivery_reports import CallAction, record_call_progress, record_message_status
from commands.inbound.texts_received import receive_text
from commands.inbound.twilio_signatures import SignedBy, verify_twilio_request
from domain.errors import InvalidInput

router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])
TWIML = "application/xml"
# Fields whose values end up in events or read models: ids, statuses, codes, numbers (no NUL).
KEPT = (
    "MessageSid",
    "SmsSid",
    "CallSid",
    "MessageStatus",
    "ErrorCode",
    "AnsweredBy",
    "CallStatus",
    "From",
    "To",
)
WORD = re.compile(r"^[A-Za-z0-9_+.-]{0,64}$")
WAIT_SECONDS = 2  # between two looks at whether answering-machine detection has decided
FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        },
    }
}
ANSWERS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the X-Twilio-Signature is missing or does not verify: nothing was recorded"},
    404: {"description": "the step the callback names is not the signing account's brand's"},
}


@dataclass(frozen=True)
class TwilioForm:
    url: str  # as Twilio called it: PUBLIC_BASE_URL + path + query, what the signature covers
    params: dict[str, str]
    signature: str
    key: str | None  # the step key a callback URL carries


async def twilio_form(request: Request) -> TwilioForm:
    """The webhook's form, read whatever its bytes (a garbled one simply fails the signature)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    query = request.url.query
    url = services_of(request).public_base_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")
    return TwilioForm(
        url,
        dict(parse_qsl(body, keep_blank_values=True)),
        request.headers.get("x-twilio-signature", ""),
        request.query_params.get("key"),
    )


Form = Annotated[TwilioForm, Depends(twilio_form)]


def _signed(
    form: TwilioForm, services: ServicesDep, number_field: str, free: tuple[str, ...] = ()
) -> SignedBy:
    """The signing account, and then a check that the fields this service keeps (all but `free`,
    which the use case reads itself) are plain words."""
    number = form.params.get(number_field, "").strip()
    signed = verify_twilio_request(
        services.db, services.credential_cipher, form.url, form.params, form.signature, number
    )
    bad = [name for name in KEPT if name not in free and not WORD.fullmatch(form.params.get(name, ""))]
    if bad:
        errors = [{"field": f"body.{name}", "error": "not a Twilio value"} for name in bad]
        raise InvalidInput(f"unexpected {', '.join(bad)}", errors)
    return signed


def _sid(form: TwilioForm, *names: str) -> str:
    """The SID Twilio names the request with: what tells a replay from a new request."""
    sid = next((form.params[name] for name in names if form.params.get(name)), "")
    if not sid:
        errors = [{"field": f"body.{names[0]}", "error": "missing"}]
        raise InvalidInput(f"the request names no {names[0]}", errors)
    return sid


def _key(form: TwilioForm) -> str:
    if not form.key:
        raise InvalidInput("the callback URL names no step", [{"field": "query.key", "error": "missing"}])
    return form.key


@router.post("/sms", openapi_extra=FORM, responses=ANSWERS, response_class=Response)
def inbound_text(form: Form, services: ServicesDep) -> Response:
    """A text to one of the brand's numbers: STOP-type words, START/UNSTOP, HELP, or a reply."""
    signed = _signed(form, services, "To", free=("From",))  # a sender id is not refused, but ignored
    answer = receive_text(
        services.store,
        services.db,
        signed.brand_id,
        form.params.get("From", ""),
        form.params.get("Body", ""),
        _sid(form, "MessageSid", "SmsSid"),
        services.clock.now(),
    )
    twiml = MessagingResponse()
    if answer.message:
        twiml.message(answer.message)
    return Response(str(twiml), media_type=TWIML)


@router.post("/status", openapi_extra=FORM, responses=ANSWERS, status_code=204, response_class=Response)
def message_status(form: Form, services: ServicesDep) -> Response:
    """A sent text's delivery report (delivered, undelivered, failed; the rest are ignored)."""
    signed = _signed(form, services, "From")
    record_message_status(
        services.store,
        services.db,
        signed.brand_id,
        _key(form),
        _sid(form, "MessageSid", "SmsSid"),
        form.params.get("MessageStatus", ""),
        form.params.get("ErrorCode") or None,
        services.clock.now(),
    )
    return Response(status_code=204)


@router.post("/voice", openapi_extra=FORM, responses=ANSWERS, response_class=Response)
def voicemail_call(form: Form, services: ServicesDep) -> Response:
    """A voicemail call asking for TwiML, its machine detection result, or its final status."""
    signed = _signed(form, services, "From")
    next_step = record_call_progress(
        services.store,
        services.db,
        signed.brand_id,
        _key(form),
        _sid(form, "CallSid"),
        form.params.get("AnsweredBy") or None,
        form.params.get("CallStatus") or None,
        services.clock.now(),
    )
    twiml = VoiceResponse()
    if next_step.action is CallAction.PLAY and next_step.audio_url:
        twiml.play(next_step.audio_url)
    elif next_step.action is CallAction.WAIT:
        twiml.pause(length=WAIT_SECONDS)
        twiml.redirect(form.url, method="POST")
    else:
        twiml.hangup()
    return Response(str(twiml), media_type=TWIML)
