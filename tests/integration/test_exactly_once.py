"""A send interrupted after the provider accepted it is never repeated.

The worker records the attempt before calling the provider. If it dies after the provider took
the message but before the outcome is saved, the redelivered dispatch finds the attempt, asks the
provider for the message by its key, and records it as sent without a second call.
"""

from __future__ import annotations

from uuid import UUID

import pytest

from commands.campaigns.launch_campaign import launch_campaign
from commands.sending.enroll_contacts import enroll_next_chunk
from commands.sending.providers import Provider
from commands.sending.send_phases import Dispatch
from consumers.providers.sandbox import SandboxProvider, outbox
from consumers.transport.messages import encode_dispatch
from domain.enrollment import Enrollment, StepStatus
from runtime.roles import channel_worker
from tests.support import Client, contacts, running_service


class CrashAfterAccept(Provider):
    """The real sandbox provider, but the worker 'dies' right after each accepted send."""

    def __init__(self, provider: SandboxProvider) -> None:
        self.provider = provider

    def send(self, message):
        self.provider.send(message)
        raise SystemExit("worker killed after the provider accepted the message")

    def find_sent(self, key):
        return self.provider.find_sent(key)


def test_a_redelivered_dispatch_after_a_crash_is_reconciled_not_resent(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        group = client.lead_group(contacts(3, phones=False))
        campaign_id = UUID(
            client.campaign(group, [{"type": "EMAIL", "group": 0, "subject": "s", "body": "b"}])
        )

    # The same database, its email worker built by the composition root with a provider that dies.
    crashing = lambda db: {"sandbox": CrashAfterAccept(SandboxProvider(db))}  # noqa: E731
    with running_service(database_url, roles=(), providers=crashing) as service:
        store, db, now = service.store, service.db, service.clock.now
        launch_campaign(store, db, client.brand_id, campaign_id, now())
        assert enroll_next_chunk(store, db, campaign_id, now()) == 3
        step_id = store.campaign(campaign_id).steps[0].id
        enrollment_ids = [
            Enrollment.create_id(campaign_id, row["contact_id"]) for row in _audience(db, campaign_id)
        ]
        messages = [encode_dispatch(Dispatch(e, campaign_id, step_id, "email"), 0) for e in enrollment_ids]

        with pytest.raises(SystemExit):
            channel_worker(service.parts, "email").handle(messages[:1])
        assert len(outbox(db, client.brand_id, campaign_id)) == 1
        assert store.enrollment(enrollment_ids[0]).status_of(step_id) is StepStatus.ATTEMPTED

    # Restarted with its real provider, the worker gets every message again, twice over.
    with running_service(database_url, roles=()) as service:
        store, db = service.store, service.db
        report = channel_worker(service.parts, "email").handle(messages + messages)

        assert report.sent == 3
        assert report.skipped == 3  # the second copy of each dispatch in the same batch
        sent = outbox(db, client.brand_id, campaign_id)
        assert len(sent) == 3
        assert len({row["contact_id"] for row in sent}) == 3
        assert all(store.enrollment(e).status_of(step_id) is StepStatus.SENT for e in enrollment_ids)
        quota = db.fetch_one(
            "SELECT sends_today FROM sender_accounts WHERE brand_id = %s", (client.brand_id,)
        )
        assert quota["sends_today"] == 3


def _audience(db, campaign_id):
    return db.fetch_all("SELECT contact_id FROM launch_audiences WHERE campaign_id = %s", (campaign_id,))
