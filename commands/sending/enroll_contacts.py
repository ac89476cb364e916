"""Use case: enroll a launched campaign's audience in chunks, dispatching the groups already due.

Enrollment ids are uuid5(campaign, contact), so a chunk saved twice (a crash between the save and
the cursor update) is detected as existing and skipped: enrolling is idempotent. Each campaign is
enrolled on its own: one that keeps failing is parked (storage/parked.py) and the others go on.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.persistence import IntegrityError

from commands.application import CampaignApplication
from commands.campaigns import launch_audience
from commands.credits.brand_standing import suspended_brands
from domain.campaign import CampaignStatus
from domain.enrollment import Enrollment
from storage import parked
from storage.database import Database

CHUNK_SIZE = 1000
FOLLOWER = "enroller"


def enroll_next_chunk(
    store: CampaignApplication,
    db: Database,
    campaign_id: UUID,
    now: datetime,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """Enroll the next chunk of the campaign's launch audience; return how many were enrolled."""
    campaign = store.campaign(campaign_id)
    if campaign.status is CampaignStatus.DRAFT:
        return 0  # the launch that took the snapshot has not been saved (or was refused)
    if campaign.status in (CampaignStatus.ARCHIVED, CampaignStatus.COMPLETED):
        launch_audience.advance(db, campaign_id, None)
        return 0
    rows = launch_audience.next_chunk(db, campaign_id, chunk_size)
    if not rows:
        launch_audience.advance(db, campaign_id, None)
        return 0
    enrollments = []
    dispatching = campaign.status is CampaignStatus.ACTIVE and not suspended_brands(db, [campaign.brand_id])
    for row in rows:
        addresses = {"email": row["email"], "sms": row["phone"], "voicemail": row["phone"]}
        enrollment = Enrollment.enroll(
            campaign_id,
            campaign.brand_id,
            row["contact_id"],
            {channel: address for channel, address in addresses.items() if address},
            campaign.steps,
            now,
            window=campaign.sending_window,
            timezone=_valid_zone(row["timezone"]) or campaign.timezone,
            dispatch=dispatching,  # a paused one dispatches on resume, a suspended brand's on reinstatement
        )
        if enrollment is None:
            continue
        enrollments.append(enrollment)
    enrolled = len(enrollments)
    try:
        store.save_all(enrollments)
    except IntegrityError:  # the chunk was saved before a crash, or partly: save only what is new
        saved = store.enrollments([e.id for e in enrollments])
        enrollments = [e for e in enrollments if e.id not in saved]
        store.save_all(enrollments)
    launch_audience.advance(db, campaign_id, rows[-1]["contact_id"], enrolled)
    return len(enrollments)


def _valid_zone(name: str | None) -> str | None:
    try:
        return name if name and ZoneInfo(name) else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def enroll_pending_campaigns(store: CampaignApplication, db: Database, now: datetime) -> int:
    """One pass of the enrollment process over every campaign still being enrolled."""
    pending = launch_audience.campaigns_to_enrol(db)
    return parked.each_contained(
        db,
        FOLLOWER,
        pending,
        lambda campaign_id: enroll_next_chunk(store, db, campaign_id, now),
        brand=pending.get,
    )
