"""Wire format of the dispatch messages on the `sends.<channel>` topics (JSON, keyed by enrollment)."""

from __future__ import annotations

import json
from uuid import UUID

from commands.sending.send_phases import Dispatch

SEND_TOPICS = {channel: f"sends.{channel}" for channel in ("email", "sms", "voicemail")}
EVENTS_TOPIC = "campaign.events"
DEAD_LETTER_TOPIC = "sends.dead-letter"


def encode_dispatch(dispatch: Dispatch, position: int) -> bytes:
    return json.dumps(
        {
            "enrollment_id": str(dispatch.enrollment_id),
            "campaign_id": str(dispatch.campaign_id),
            "step_id": dispatch.step_id,
            "channel": dispatch.channel,
            "position": position,
        }
    ).encode()


def decode_dispatch(raw: bytes) -> Dispatch:
    """Raises ValueError (or KeyError) on a message that is not a dispatch."""
    data = json.loads(raw.decode())  # a str: json would otherwise sniff the bytes' encoding first
    return Dispatch(
        enrollment_id=UUID(data["enrollment_id"]),
        campaign_id=UUID(data["campaign_id"]),
        step_id=str(data["step_id"]),
        channel=str(data["channel"]),
    )
