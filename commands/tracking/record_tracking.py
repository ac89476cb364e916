"""Use cases: record that a contact opened a sent email (its pixel was fetched) or followed a link.

The token (commands/tracking/tracking_tokens.py) names the step; a token that is not ours, or
names an enrollment that is not of its brand and campaign, or a step not sent yet, is NotFound
and records nothing. A click's URL is looked up by its index in the campaign's step body, never
read from the request. Only a step's first open and first click become events
(domain/enrollment_after_send.py); later ones change nothing, and a click still redirects.
"""

from __future__ import annotations

from datetime import datetime

from commands.application import CampaignApplication, retry_on_conflict
from commands.tracking.tracking_tokens import TrackedStep, TrackingTokens
from domain.enrollment import SENT_ONES, Enrollment
from domain.errors import DomainError, NotFound
from domain.message_links import trackable_links


def record_open(store: CampaignApplication, tokens: TrackingTokens | None, token: str, now: datetime) -> bool:
    """Record the open a pixel token stands for; True when it was the step's first."""
    tracked = _tracked(tokens, token, click=False)

    def decide() -> bool:
        enrollment = _sent_step(store, tracked)
        if not enrollment.record_open(tracked.step_id, now):
            return False
        store.save(enrollment)
        return True

    return retry_on_conflict(decide)


def follow_click(store: CampaignApplication, tokens: TrackingTokens | None, token: str, now: datetime) -> str:
    """Record the click a link token stands for (the step's first only) and return where it goes."""
    tracked = _tracked(tokens, token, click=True)
    _sent_step(store, tracked)  # nothing of another brand's or an unsent step is looked up further
    try:
        step = store.campaign(tracked.campaign_id, tracked.brand_id).step(tracked.step_id)
    except DomainError:
        raise NotFound("this link") from None
    links = trackable_links(step.body or "")
    if tracked.link is None or tracked.link >= len(links):
        raise NotFound("this link")
    url = links[tracked.link]

    def decide() -> None:
        enrollment = _sent_step(store, tracked)
        if enrollment.record_click(tracked.step_id, url, now):
            store.save(enrollment)

    retry_on_conflict(decide)
    return url


def _tracked(tokens: TrackingTokens | None, token: str, click: bool) -> TrackedStep:
    tracked = tokens.read(token) if tokens is not None else None
    if tracked is None or (tracked.link is not None) != click:
        raise NotFound("this link")
    return tracked


def _sent_step(store: CampaignApplication, tracked: TrackedStep) -> Enrollment:
    """The token's enrollment, if it is of the token's brand and campaign and the step was sent."""
    enrollment = store.enrollments([tracked.enrollment_id]).get(tracked.enrollment_id)
    if (
        enrollment is None
        or enrollment.brand_id != tracked.brand_id
        or enrollment.campaign_id != tracked.campaign_id
        or enrollment.status_of(tracked.step_id) not in SENT_ONES
    ):
        raise NotFound("this link")
    return enrollment
