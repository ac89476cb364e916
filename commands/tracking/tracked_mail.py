"""The tracked body of an email step: its links pointing at `/t/c/{token}`, and an open pixel.

Built on the send path (commands/sending/send_preparation.py) before the provider is called, so Gmail
and the sandbox carry the same body. Only links that are exactly links of the campaign's step
body are rewritten (domain/message_links.py); the pixel `<img src=".../t/o/{token}">` goes into
HTML bodies only. Tokens are deterministic, so a step sent again carries the same body.
"""

from __future__ import annotations

from uuid import UUID

from commands.tracking.tracking_tokens import TrackedStep, TrackingTokens
from domain.message_links import trackable_links, with_tracking


class MailTracking:
    """Makes the tracked body of an email, with links on `public_base_url`."""

    def __init__(self, tokens: TrackingTokens, public_base_url: str) -> None:
        self.tokens = tokens
        self.public_base_url = public_base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"MailTracking({self.public_base_url!r})"

    def tracked_body(
        self, body: str, step_body: str, brand_id: UUID, campaign_id: UUID, enrollment_id: UUID, step_id: str
    ) -> str:
        """`body` (the personalised text of the step whose template is `step_body`) with tracking."""
        opened = TrackedStep(brand_id, campaign_id, enrollment_id, step_id)

        def click_url(index: int) -> str:
            clicked = TrackedStep(brand_id, campaign_id, enrollment_id, step_id, index)
            return f"{self.public_base_url}/t/c/{self.tokens.token(clicked)}"

        pixel_url = f"{self.public_base_url}/t/o/{self.tokens.token(opened)}"
        return with_tracking(body, trackable_links(step_body), click_url, pixel_url)
