"""Part of the send use case, phase one: what to do with each dispatch, decided and recorded before
any provider call.

A dispatch is skipped when its step has an outcome already (a redelivery) or came twice in the
batch, cancelled when its campaign is no longer ACTIVE or its brand is suspended (it waits, as on a
pause), deferred when it is a text or call due in the contact's quiet hours (to the next allowed
time) or every sender is at its cap, else attempted: quota is taken through the rotation
(commands/sending/claim_senders.py), one claim per brand and channel, and the attempts are saved in
one write. A step attempted before is attempted again without new quota, to be asked about first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.application import CampaignApplication
from commands.credits.brand_standing import suspended_brands
from commands.sending.claim_senders import claim_senders, give_back
from commands.sending.messaging_settings import quiet_hours_of
from commands.sending.send_outcomes import QUIET_HOURS
from commands.sending.send_phases import Attempt, Decided, Dispatch
from commands.sending.sender_accounts import SenderAccount
from domain.campaign import Campaign, CampaignStatus
from domain.enrollment import IN_FLIGHT, Enrollment, StepStatus
from domain.quiet_hours import CHANNELS as QUIET_CHANNELS
from domain.quiet_hours import QuietHours
from storage.database import Database


def next_quota_reset(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), datetime.min.time(), UTC)


class SendDecisions:
    """Phase one of a channel worker's sends, built once with what it reads and writes."""

    def __init__(
        self,
        store: CampaignApplication,
        db: Database,
        now: Callable[[], datetime],
        providers: Collection[str],
    ) -> None:
        self.store, self.db, self.now = store, db, now
        self.providers = providers  # the adapters of this build: only their accounts are claimed

    def decide(self, dispatches: list[Dispatch]) -> Decided:
        """Cancel, defer or attempt each dispatch; quota for the batch in one claim, one write in all."""
        store, db, now = self.store, self.db, self.now
        skipped = cancelled = deferred = 0
        campaigns: dict[UUID, Campaign] = {}
        enrollments: dict[UUID, Enrollment] = {}
        attempts: list[Attempt] = []
        to_claim: dict[tuple[UUID, str], list[tuple[Dispatch, Enrollment]]] = defaultdict(list)
        seen: set[tuple[UUID, str]] = set()
        hours: dict[UUID, QuietHours] = {}
        loaded = store.enrollments(list({d.enrollment_id for d in dispatches}))
        # A suspended brand's dispatches go back to wait, as a pause's do (credit kept reserved).
        suspended = suspended_brands(db, {e.brand_id for e in loaded.values()})
        for dispatch in dispatches:
            if (dispatch.enrollment_id, dispatch.step_id) in seen:
                skipped += 1  # the same dispatch twice in one batch
                continue
            seen.add((dispatch.enrollment_id, dispatch.step_id))
            enrollment = loaded.get(dispatch.enrollment_id)
            if enrollment is None:
                skipped += 1
                continue
            enrollments[enrollment.id] = enrollment
            campaign = campaigns.get(dispatch.campaign_id) or store.campaign(dispatch.campaign_id)
            campaigns[campaign.id] = campaign
            step, status = dispatch.step_id, enrollment.status_of(dispatch.step_id)
            if status not in IN_FLIGHT:
                skipped += 1  # sent, failed, cancelled or deferred already: a stale delivery
                continue
            active = campaign.status is CampaignStatus.ACTIVE and campaign.brand_id not in suspended
            if status is StepStatus.ATTEMPTED or (enrollment.was_attempted(step) and not active):
                previous = UUID(enrollment.sender_of[step])
                # Asked about first; if the provider never got it, a text or call still keeps the
                # contact's quiet hours, however late the redelivery comes.
                allowed = self._allowed_at(hours, campaign.brand_id, dispatch.channel, enrollment, now())
                quiet_until = allowed if active and allowed > now() else None
                attempts.append(
                    Attempt(
                        dispatch,
                        enrollment,
                        previous,
                        None,
                        reconcile=True,
                        may_send=active,
                        quiet_until=quiet_until,
                    )
                )
            elif not active:
                why = (
                    "brand suspended"
                    if campaign.brand_id in suspended
                    else f"campaign {campaign.status.value}"
                )
                enrollment.cancel(step, why, now())
                cancelled += 1
            elif (
                allowed := self._allowed_at(hours, campaign.brand_id, dispatch.channel, enrollment, now())
            ) > now():
                enrollment.defer(step, QUIET_HOURS.error or "", allowed, now())
                deferred += 1
            else:
                to_claim[(campaign.brand_id, dispatch.channel)].append((dispatch, enrollment))
        claimed: list[SenderAccount] = []
        for (brand_id, channel), waiting in to_claim.items():
            accounts = claim_senders(
                db, brand_id, channel, [e.contact_id for _, e in waiting], self.providers
            )
            granted: set[UUID] = set()  # one unit per contact was claimed; a second step waits a moment
            for dispatch, enrollment in waiting:
                step, account = dispatch.step_id, accounts[enrollment.contact_id]
                if account is None:
                    enrollment.defer(
                        step, "every sender account is at its daily cap", next_quota_reset(now()), now()
                    )
                    deferred += 1
                    continue
                if enrollment.contact_id in granted:
                    enrollment.defer(step, "another step to this contact is being sent", now(), now())
                    deferred += 1
                    continue
                granted.add(enrollment.contact_id)
                claimed.append(account)
                reconcile = enrollment.was_attempted(step)
                enrollment.attempt(step, str(account.id), now())
                attempts.append(Attempt(dispatch, enrollment, account.id, account, reconcile, claimed=True))
        try:
            store.save_all(list(enrollments.values()))
        except IntegrityError:
            for account in claimed:
                give_back(db, account.id)
            raise
        return Decided(tuple(attempts), campaigns, skipped, cancelled, deferred)

    def _allowed_at(
        self,
        hours: dict[UUID, QuietHours],
        brand_id: UUID,
        channel: str,
        enrollment: Enrollment,
        moment: datetime,
    ) -> datetime:
        """When this step may go: `moment`, or for a text or call in quiet hours the next allowed
        time in the contact's zone (the brand's hours read once per batch)."""
        if channel not in QUIET_CHANNELS:
            return moment
        if brand_id not in hours:
            hours.update(quiet_hours_of(self.db, [brand_id]))
        return hours[brand_id].next_allowed(moment, enrollment.timezone)
