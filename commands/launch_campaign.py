"""Use case: launch a DRAFT campaign, reserving its credits in the same atomic write that activates it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from commands.create_campaign import brand_campaign
from commands.launch_audience import discard_snapshot, snapshot_audience
from commands.sender_accounts import channels_with_active_accounts
from domain.campaign import CampaignStatus
from domain.credit_cost import credit_cost
from domain.credit_ledger import CreditLedger
from domain.errors import DomainError, IllegalTransition
from domain.steps import StepType
from storage.database import Database


class CannotRun(DomainError):
    """The campaign cannot run as defined; every problem is listed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Launched:
    campaign_id: UUID
    credits_reserved: int
    position: int | None


def launch_campaign(
    app: CampaignApplication, db: Database, brand_id: UUID, campaign_id: UUID, now: datetime
) -> Launched:
    def decide() -> Launched:
        campaign = brand_campaign(app, brand_id, campaign_id)
        if campaign.status is not CampaignStatus.DRAFT:
            raise IllegalTransition(f"cannot launch a campaign that is {campaign.status.value}")
        groups = [UUID(group_id) for group_id in campaign.lead_group_ids]
        eligible = snapshot_audience(db, brand_id, campaign_id, groups)
        sends = [step for step in campaign.steps if step.type is not StepType.WAIT]
        problems = []
        if not sends:
            problems.append("the campaign has no steps that send anything")
        if not any(eligible[step.channel] for step in sends if step.channel):
            problems.append("no contact of its lead groups is eligible for its steps")
        covered = channels_with_active_accounts(db, brand_id)
        for channel in sorted({step.channel for step in sends if step.channel} - covered):
            problems.append(f"no active sender account for channel {channel}")
        if problems:
            discard_snapshot(db, campaign_id)
            raise CannotRun(problems)
        cost = credit_cost(campaign.steps, {t: eligible[t.channel] for t in StepType if t.channel})
        ledger: CreditLedger = app.get(CreditLedger.create_id(brand_id))
        try:
            ledger.reserve(campaign_id, cost, now)
        except DomainError:
            discard_snapshot(db, campaign_id)
            raise
        campaign.launch(now, cost)
        return Launched(campaign_id, cost, app.save_all([ledger, campaign]))

    return retry_on_conflict(decide)
