"""Signed tracking tokens: which sent step an open pixel or a click link belongs to, tamper-evident.

A token names the brand, campaign, enrollment and step, and for a click the index of the link in
the campaign's step body (domain/message_links.py); never the URL itself, so a redirect can only
go to a link of the message. It is signed with HMAC-SHA256 under the unsubscribe links' secret
(commands/signed_tokens.py) with a label of its own, so a forged or altered token,
or an unsubscribe token, reads as None.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands.signed_tokens import SignedTokens

OPEN, CLICK = b"o", b"c"
IDS = 48  # brand, campaign and enrollment ids, 16 bytes each
MAX_LINKS = 1 << 16  # the index of a link takes two bytes


@dataclass(frozen=True)
class TrackedStep:
    brand_id: UUID
    campaign_id: UUID
    enrollment_id: UUID
    step_id: str
    link: int | None = None  # the index of the clicked link; None for the open pixel


class TrackingTokens:
    """Makes and reads tracking tokens with one secret; its repr never shows the secret."""

    def __init__(self, secret: bytes) -> None:
        self._signed = SignedTokens(secret, "tracking")

    def __repr__(self) -> str:
        return "TrackingTokens(secret=<hidden>)"

    def token(self, tracked: TrackedStep) -> str:
        if tracked.link is not None and not 0 <= tracked.link < MAX_LINKS:
            raise ValueError(f"link index {tracked.link} is out of range")
        kind = OPEN if tracked.link is None else CLICK + tracked.link.to_bytes(2, "big")
        ids = tracked.brand_id.bytes + tracked.campaign_id.bytes + tracked.enrollment_id.bytes
        return self._signed.sign(kind + ids + tracked.step_id.encode())

    def read(self, token: str) -> TrackedStep | None:
        """The step a token of ours names; None for anything else (forged, altered, garbage)."""
        payload = self._signed.open(token)
        if payload is None:
            return None
        link: int | None = None
        if payload[:1] == CLICK:
            link, payload = int.from_bytes(payload[1:3], "big"), payload[3:]
        else:
            payload = payload[1:]
        try:
            step_id = payload[IDS:].decode()
        except UnicodeDecodeError:
            return None
        if len(payload) <= IDS:
            return None
        brand, campaign, enrollment = (UUID(bytes=payload[i : i + 16]) for i in (0, 16, 32))
        return TrackedStep(brand, campaign, enrollment, step_id, link)
