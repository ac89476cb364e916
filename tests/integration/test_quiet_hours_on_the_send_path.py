"""Quiet hours on the send path: a text due at 22:00 in the contact's zone waits and goes out at
08:00 there the next morning; email is not held back; a brand may choose its own hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.enrollment import Enrollment
from tests.support import Client, campaign_events, eventually, running_service

NEW_YORK = ZoneInfo("America/New_York")
LEAD = {"email": "ann@example.com", "phone": "+14155550100", "timezone": "America/New_York"}


def advance_to_local(client: Client, hour: int) -> datetime:
    """Move the service's clock to the next `hour`:00 in New York; return that moment."""
    now = client.container.clock.now().astimezone(NEW_YORK)
    day = now.date() if now.hour < hour else now.date() + timedelta(days=1)
    target = datetime.combine(day, time(hour), NEW_YORK)
    client.ok(client.post("/v1/dev/clock/advance", {"seconds": seconds_between(now, target)}))
    return target


def seconds_between(earlier: datetime, later: datetime) -> float:
    """Elapsed seconds, in UTC: Python subtracts two times of one zone as wall-clock readings, an
    hour off across a daylight-saving change (the night after the Saturday it begins or ends)."""
    return (later.astimezone(UTC) - earlier.astimezone(UTC)).total_seconds()


def test_a_text_due_at_22_local_goes_out_at_8_local_and_an_email_at_once(database_url):
    with running_service(database_url, dev_clock=True) as service:
        client = Client(service, quiet_hours=True)
        client.sender("sms", "+14155550199")
        client.sender("email", "sales@brand.example")
        steps = [
            {"type": "SMS", "group": 0, "body": "hello by text"},
            {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "hello by mail"},
        ]
        campaign_id = client.campaign(client.lead_group([LEAD]), steps)
        evening = advance_to_local(client, 22)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

        deferred = eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepDeferred))
        morning = datetime.combine(evening.date() + timedelta(days=1), time(8), NEW_YORK)
        assert [(d.due_at, "quiet hours" in d.reason) for d in deferred] == [(morning, True)]
        eventually(lambda: [i["channel"] for i in client.outbox(campaign_id)] == ["email"])

        client.ok(client.post("/v1/dev/clock/advance", {"seconds": seconds_between(evening, morning)}))
        eventually(lambda: sorted(i["channel"] for i in client.outbox(campaign_id)) == ["email", "sms"])
        [text] = eventually(  # the provider is called before the send is recorded
            lambda: [
                e for e in campaign_events(service, campaign_id, Enrollment.StepSent) if e.channel == "sms"
            ]
        )
        local = text.sent_at.astimezone(NEW_YORK)
        assert local.date() == morning.date() and local.hour == 8


def test_a_brand_that_allows_every_hour_texts_at_22_local(database_url):
    with running_service(database_url, dev_clock=True) as service:
        client = Client(service, quiet_hours=True)
        anytime = {"allowed_from": "00:00", "allowed_until": "24:00", "help_text": "Acme: reply STOP"}
        assert client.ok(client.http.put("/v1/messaging-settings", json=anytime)) == anytime
        client.sender("sms", "+14155550199")
        campaign_id = client.campaign(client.lead_group([LEAD]), [{"type": "SMS", "group": 0, "body": "hi"}])
        advance_to_local(client, 22)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: [i["channel"] for i in client.outbox(campaign_id)] == ["sms"])
        assert campaign_events(service, campaign_id, Enrollment.StepDeferred) == []
