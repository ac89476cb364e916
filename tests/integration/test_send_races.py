"""Races on the send path: quota is given back once, and a step is never sent twice.

The service runs without a relay or channel workers, so the scheduler's dispatches stay in the
event store and the test hands them to the send use case itself, on real PostgreSQL and the real
sandbox provider. The sandbox's latency keeps a provider call open long enough for a second
delivery to meet it; a sandbox that runs the SMS worker's batch during its first email call
makes the email outcomes meet a version conflict every time, as EMAIL and SMS steps of one
group do when their workers finish together.
"""

from __future__ import annotations

import threading
from uuid import UUID

from commands.sending.send_phases import Dispatch
from commands.sending.send_steps import send_dispatches
from consumers.providers.sandbox import SandboxProvider
from domain.enrollment import Enrollment, StepStatus, dispatched_steps
from tests.support import Client, eventually, running_service

NO_SENDING = ("projector", "enroller", "follow_ups", "settlement")


def dispatched(service, campaign_id: str, expected: int) -> list[Dispatch]:
    """The campaign's recorded dispatches, once the scheduler has made `expected` of them."""
    campaign = UUID(campaign_id)

    def collect() -> list[Dispatch]:
        rows = service.db.fetch_all(
            "SELECT contact_id FROM launch_audiences WHERE campaign_id = %s ORDER BY contact_id", (campaign,)
        )
        found = []
        for row in rows:
            enrollment_id = Enrollment.create_id(campaign, row["contact_id"])
            for event in service.store.events.get(enrollment_id):
                found += [Dispatch(enrollment_id, campaign, *step) for step in dispatched_steps(event)]
        return found if len(found) == expected else []

    return eventually(collect)


def sends_today(client: Client) -> dict[str, int]:
    return {a["address"]: a["sends_today"] for a in client.ok(client.get("/v1/sender-accounts"))["items"]}


class SandboxWithSmsWorkerInBetween(SandboxProvider):
    """The sandbox, but its first email call waits for the SMS batch to be sent and recorded."""

    def __init__(self, db, interleave) -> None:
        super().__init__(db)
        self.interleave, self.lock = interleave, threading.Lock()

    def _take(self, messages):
        with self.lock:
            interleave, self.interleave = self.interleave, None
        if interleave:
            interleave()
        return super()._take(messages)


def test_quota_is_given_back_once_when_recording_outcomes_meets_a_version_conflict(database_url):
    with running_service(database_url, roles=NO_SENDING) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155550199")
        leads = [{"email": f"lead{i}@example.com", "phone": f"+1415555010{i}"} for i in range(3)]
        leads += [{"email": f"fail-permanent-{i}@example.com", "phone": f"+1415555020{i}"} for i in range(2)]
        steps = [
            {"type": "EMAIL", "group": 0, "subject": "Hello", "body": "an email"},
            {"type": "SMS", "group": 0, "body": "a text"},
        ]
        campaign_id = client.campaign(client.lead_group(leads), steps)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        dispatches = dispatched(service, campaign_id, 10)
        by_channel = {c: [d for d in dispatches if d.channel == c] for c in ("email", "sms")}
        now = service.clock.now

        def sms_worker() -> None:
            sms = {"sandbox": SandboxProvider(service.db)}
            assert send_dispatches(service.store, service.db, sms, by_channel["sms"], now).sent == 5

        email = {"sandbox": SandboxWithSmsWorkerInBetween(service.db, sms_worker)}
        send_dispatches(service.store, service.db, email, by_channel["email"], now)

        outbox = client.outbox(campaign_id)
        assert sorted(item["channel"] for item in outbox) == ["email"] * 3 + ["sms"] * 5
        assert sends_today(client) == {"sales@brand.example": 3, "+14155550199": 5}
        for dispatch in by_channel["email"]:  # every email outcome was recorded despite the conflict
            assert service.store.enrollment(dispatch.enrollment_id).status_of(dispatch.step_id) in (
                StepStatus.SENT,
                StepStatus.FAILED,
            )


def test_a_step_delivered_twice_at_once_is_sent_once(database_url):
    with running_service(database_url, roles=NO_SENDING) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        steps = [{"type": "EMAIL", "group": 0, "subject": "Hello", "body": "once"}]
        campaign_id = client.campaign(client.lead_group([{"email": "ann@example.com"}]), steps)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        [dispatch] = dispatched(service, campaign_id, 1)
        slow = {"sandbox": SandboxProvider(service.db, delay_s=1.0)}  # a provider call still open
        start = threading.Barrier(2)

        def deliver() -> None:
            start.wait()
            send_dispatches(service.store, service.db, slow, [dispatch], service.clock.now)

        deliveries = [threading.Thread(target=deliver) for _ in range(2)]
        for delivery in deliveries:
            delivery.start()
        for delivery in deliveries:
            delivery.join(timeout=30)

        assert len(client.outbox(campaign_id)) == 1
        events = list(service.store.events.get(dispatch.enrollment_id))
        assert sum(isinstance(e, Enrollment.StepSent) for e in events) == 1
        assert sends_today(client) == {"sales@brand.example": 1}
