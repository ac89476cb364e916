"""A dispatch whose message was lost is swept up after a lease and sent exactly once.

The relay is held back until the scheduler has recorded the dispatch, then started past it, as if
it had handed the message to a transport that lost it: the step stays "dispatched" with nothing
on its way to a worker. Within the lease nothing happens; past it (dev clock) the sweeper
dispatches the step again and the worker sends it, once.
"""

from __future__ import annotations

from domain.enrollment import Enrollment
from runtime.roles import IN_PROCESS
from tests.integration.test_send_races import dispatched
from tests.support import Client, eventually, processed_after, running_service

MINUTE = 60


def test_a_step_left_dispatched_by_a_lost_message_is_swept_and_sent_once(database_url):
    roles = tuple(role for role in IN_PROCESS if role != "relays")
    with running_service(database_url, roles=roles, dev_clock=True) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        steps = [{"type": "EMAIL", "group": 0, "subject": "Hello", "body": "once"}]
        campaign_id = client.campaign(client.lead_group([{"email": "ann@example.com"}]), steps)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        [lost] = dispatched(service, campaign_id, 1)
        head = service.store.recorder.max_notification_id()
        service.db.execute(
            """INSERT INTO relay_positions (relay, position) VALUES ('relay', %s)
               ON CONFLICT (relay) DO UPDATE SET position = EXCLUDED.position""",
            (head,),
        )
        service.start(("relays",))

        with processed_after(service, "sweeper"):
            client.ok(client.post("/v1/dev/clock/advance", {"seconds": 5 * MINUTE}))
        assert client.outbox(campaign_id) == []  # within the lease the dispatch may still arrive
        assert not any(
            e.redispatched
            for e in service.store.events.get(lost.enrollment_id)
            if isinstance(e, Enrollment.StepDispatched)
        )

        client.ok(client.post("/v1/dev/clock/advance", {"seconds": 10 * MINUTE}))
        done = eventually(
            lambda: (d := client.ok(client.get(f"/v1/campaign/{campaign_id}")))["status"] == "COMPLETED" and d
        )
        assert done["metrics"]["sent"]["email"] == 1
        assert len(client.outbox(campaign_id)) == 1
        events = list(service.store.events.get(lost.enrollment_id))
        redispatches = [e for e in events if isinstance(e, Enrollment.StepDispatched) and e.redispatched]
        assert len(redispatches) == 1
        assert sum(isinstance(e, Enrollment.StepSent) for e in events) == 1
