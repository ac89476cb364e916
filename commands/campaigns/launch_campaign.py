"""Use case: launch a DRAFT campaign, reserving its credits in the same atomic write that activates it.

Before anything is reserved the campaign is checked against the launch snapshot of its audience,
and every reason it cannot run is listed at once: no sending steps, a placeholder that does not
parse, nobody eligible, a channel without an active sender account whose provider this build can
send through, contacts lacking a template field that has no fallback. `estimated_launch_cost`
answers, for a DRAFT, what a launch would reserve now, counted the same way without a snapshot.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from commands.campaigns.launch_audience import (
    contacts_missing_field,
    count_eligible,
    discard_snapshot,
    snapshot_audience,
)
from commands.sending.sender_accounts import channels_with_active_accounts
from domain.campaign import Campaign, CampaignStatus
from domain.credit_cost import credit_cost
from domain.errors import DomainError, IllegalTransition
from domain.steps import Step, StepType
from domain.templates import required_fields, step_problems
from storage.database import Database

CONTACTS_LISTED = 20  # per missing field; the total count is always given


class CannotRun(DomainError):
    """The campaign cannot run as defined; every problem is listed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

    def details(self) -> dict[str, Any]:
        return {"problems": self.problems}


@dataclass(frozen=True)
class Launched:
    campaign_id: UUID
    credits_reserved: int
    position: int | None


def launch_cost(steps: Iterable[Step], eligible: Mapping[str, int]) -> int:
    """Credits for the steps, given the eligible contacts per channel."""
    return credit_cost(steps, {t: eligible[t.channel] for t in StepType if t.channel})


def estimated_launch_cost(
    store: CampaignApplication, db: Database, brand_id: UUID, campaign_id: UUID
) -> int | None:
    """What a launch would reserve now; None unless the campaign is a DRAFT."""
    campaign = store.campaign(campaign_id, brand_id)
    if campaign.status is not CampaignStatus.DRAFT:
        return None
    groups = [UUID(group_id) for group_id in campaign.lead_group_ids]
    return launch_cost(
        campaign.steps, count_eligible(db, brand_id, groups, partial(store.address_hash, brand_id))
    )


def launch_campaign(
    store: CampaignApplication,
    db: Database,
    brand_id: UUID,
    campaign_id: UUID,
    now: datetime,
    providers: Collection[str] | None = None,
) -> Launched:
    """Launch; `providers` are those this build can send through (None: any provider counts)."""

    def still_draft() -> bool:
        return store.campaign(campaign_id, brand_id).status is CampaignStatus.DRAFT

    def refuse(error: DomainError) -> DomainError:
        """A refusal discards the snapshot; if another launch won meanwhile, say that instead."""
        if discard_snapshot(db, campaign_id, still_draft):
            return error
        return IllegalTransition("cannot launch a campaign that is being or was launched")

    def decide() -> Launched:
        campaign = store.campaign(campaign_id, brand_id)
        if campaign.status is not CampaignStatus.DRAFT:
            raise IllegalTransition(f"cannot launch a campaign that is {campaign.status.value}")
        groups = [UUID(group_id) for group_id in campaign.lead_group_ids]
        hashed = partial(store.address_hash, brand_id)
        eligible = snapshot_audience(db, brand_id, campaign_id, groups, still_draft, hashed)
        problems = _problems(db, campaign, eligible, providers)
        if problems:
            raise refuse(CannotRun(problems))
        cost = launch_cost(campaign.steps, eligible)
        ledger = store.ledger(brand_id)
        # One moment for both events, never before either history's last: as of the launch's time
        # the campaign is ACTIVE and its credits reserved.
        at = max(now, ledger.modified_on, campaign.modified_on)
        try:
            ledger.reserve(campaign_id, cost, at)
        except DomainError as short:
            raise refuse(short) from None
        campaign.launch(at, cost)
        return Launched(campaign_id, cost, store.save_all([ledger, campaign]))

    return retry_on_conflict(decide)


def _problems(
    db: Database, campaign: Campaign, eligible: Mapping[str, int], providers: Collection[str] | None
) -> list[str]:
    sends = [step for step in campaign.steps if step.type is not StepType.WAIT]
    problems = []
    if not sends:
        problems.append("the campaign has no steps that send anything")
    problems += [p for step in sends for p in step_problems(step, f"step {step.id}")]
    if not any(eligible[step.channel] for step in sends if step.channel):
        problems.append("no contact of its lead groups is eligible for its steps")
    usable = channels_with_active_accounts(db, campaign.brand_id, providers)
    active = channels_with_active_accounts(db, campaign.brand_id) if providers is not None else usable
    for channel in sorted({step.channel for step in sends if step.channel} - usable):
        if channel in active:
            problems.append(
                f"no active sender account for channel {channel} uses a provider this build can send "
                f"through ({', '.join(sorted(providers or ()))})"
            )
        else:
            problems.append(f"no active sender account for channel {channel}")
    return problems + _missing_fields(db, campaign.id, sends)


def _missing_fields(db: Database, campaign_id: UUID, sends: list[Step]) -> list[str]:
    """Template fields without fallback that some contact about to receive them lacks."""
    channels_of: dict[str, set[str]] = {}
    for step in sends:
        for name in required_fields(step.subject) | required_fields(step.body):
            channels_of.setdefault(name, set()).add(step.channel or "")
    problems = []
    for name in sorted(channels_of):
        total, ids = contacts_missing_field(db, campaign_id, name, channels_of[name], CONTACTS_LISTED)
        if total:
            listed = ", ".join(str(contact_id) for contact_id in ids)
            more = f" and {total - len(ids)} more" if total > len(ids) else ""
            problems.append(
                f"template field '{name}' has no fallback and {total} contact(s) lack it: {listed}{more}"
            )
    return problems
