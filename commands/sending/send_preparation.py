"""Part of the send use case: each attempt's message made ready for its provider, or its outcome
known without a call.

A step attempted before is asked about first: the provider's earlier send is taken instead of
repeating it, and a provider that cannot tell now means no send now. Then nothing goes to an address
suppressed right before sending, to a contact who replied, for a campaign stopped meanwhile, or in
quiet hours; else the step's text is made (the template, or a model's rewrite of it) and an email's
body carries its open pixel and tracked links (commands/tracking/tracked_mail.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from commands.sending.personalisation import TEMPLATE, Personaliser, contact_values, personalise_step
from commands.sending.providers import OutboundMessage, Provider, ReconcileFailed, SendOutcome
from commands.sending.send_outcomes import CONTACT_REPLIED, QUIET_HOURS, SUPPRESSED, WITHHELD
from commands.sending.send_phases import Answered, Attempt, Prepared, Ready
from commands.sending.sender_accounts import SenderAccount, account_to_send_from
from commands.tracking.tracked_mail import MailTracking
from domain.campaign import Campaign
from domain.templates import MissingField
from storage.database import Database


class SendPreparation:
    """Makes the messages of a channel worker's attempts, built once with what it reads and calls."""

    def __init__(
        self,
        db: Database,
        providers: Mapping[str, Provider],
        personaliser: Personaliser = TEMPLATE,
        tracking: MailTracking | None = None,
    ) -> None:
        self.db, self.providers, self.personaliser = db, providers, personaliser
        self.tracking = tracking  # the open pixel and click links of emails; None: untracked

    def may_wait(self, attempt: Attempt, campaign: Campaign) -> bool:
        """Whether preparing this send may wait on the network: it asks the provider about an
        earlier attempt, its text comes from a model, or its provider (unknown until its account is
        read) takes one call per message anyway."""
        provider = self.providers.get(attempt.account.provider if attempt.account else "")
        return (
            attempt.reconcile or campaign.ai_personalization or provider is None or not provider.takes_batches
        )

    def prepare(
        self, attempt: Attempt, campaign: Campaign, contacts: Mapping[UUID, dict[str, Any]]
    ) -> Prepared:
        """The message to hand to the provider, or the outcome without a call: the earlier send of
        a recorded attempt found instead of repeating it; nothing goes to a suppressed address."""
        account = attempt.account or account_to_send_from(self.db, attempt.account_id)
        provider = self.providers.get(account.provider)
        if provider is None:  # an account whose provider has no adapter in this build
            return Answered(
                attempt, SendOutcome(error=f"no {account.provider} adapter in this build", permanent=True)
            )
        if attempt.reconcile:
            try:
                found = provider.find_sent(attempt.message_key)
            except ReconcileFailed as unknown:  # never send again without knowing: try later
                error = f"could not ask the provider about the earlier attempt: {unknown}"
                return Answered(attempt, SendOutcome(error=error))
            if found:
                return Answered(attempt, SendOutcome(provider_message_id=found), found_earlier=True)
        if attempt.suppressed:
            return Answered(attempt, SUPPRESSED)
        if attempt.enrollment.replied_at is not None:  # the contact replied since the step was dispatched
            return Answered(attempt, CONTACT_REPLIED)
        if not attempt.may_send:
            return Answered(attempt, WITHHELD)
        if attempt.quiet_until is not None:
            return Answered(attempt, QUIET_HOURS)
        try:
            return self._ready(attempt, account, provider, campaign, contacts)
        except MissingField as missing:
            return Answered(
                attempt, SendOutcome(error=f"template field {missing} is missing", permanent=True)
            )

    def _ready(
        self,
        attempt: Attempt,
        account: SenderAccount,
        provider: Provider,
        campaign: Campaign,
        contacts: Mapping[UUID, dict[str, Any]],
    ) -> Ready:
        dispatch, enrollment = attempt.dispatch, attempt.enrollment
        step = campaign.step(dispatch.step_id)
        values = contact_values(contacts.get(enrollment.contact_id) or {})
        text = personalise_step(self.personaliser, campaign.ai_personalization, step, values)
        body = text.body
        if self.tracking is not None and dispatch.channel == "email" and body:
            body = self.tracking.tracked_body(
                body, step.body or "", enrollment.brand_id, campaign.id, enrollment.id, step.id
            )
        message = OutboundMessage(
            message_key=attempt.message_key,
            channel=dispatch.channel,
            to=enrollment.addresses[dispatch.channel],
            sender=account.address,
            sender_account_id=str(account.id),
            campaign_id=str(campaign.id),
            contact_id=str(enrollment.contact_id),
            step_id=step.id,
            brand_id=str(enrollment.brand_id),
            subject=text.subject,
            body=body,
            audio_url=step.audio_url,
            due_at=enrollment.due_at,
        )
        return Ready(attempt, provider, message, text.note)
