"""One campaign end to end through the HTTP API, on real PostgreSQL, over Kafka and in-process.

Launch reserves the credits, enrolls the launch audience, dispatches group 0, the relay hands the
dispatches to the transport, the channel workers send through the sandbox provider, and the
projection shows the metrics; every contact gets each step exactly once.
"""

from __future__ import annotations

from collections import Counter

from kafka import KafkaAdminClient, KafkaProducer

from consumers.transport.messages import SEND_TOPICS
from tests.support import Client, contacts, credits_without_renewal, eventually, running_service

STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi {{first_name|there}}", "body": "Hello from us"},
    {"type": "SMS", "group": 0, "body": "Hi {{first_name|there}}, a quick text"},
    {"type": "WAIT", "group": 1, "wait_days": 2},
    {"type": "EMAIL", "group": 1, "subject": "Re: hello", "body": "Following up"},
]
AUDIENCE = [*contacts(5), {"email": "only-mail@example.com"}, {"phone": "+14155559999", "first_name": "Tex"}]
EMAILS, PHONES = 6, 6
COST = 2 * EMAILS + 1 * PHONES  # two EMAIL steps per email address, one SMS step per phone


def run_campaign(client: Client) -> tuple[str, dict]:
    group = client.lead_group(AUDIENCE)
    client.sender("email", "sales@brand.example")
    client.sender("sms", "+14155550000")
    campaign_id = client.campaign(group, STEPS)
    launched = client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    assert launched == {"id": campaign_id, "status": "ACTIVE", "credits_reserved": COST}

    def group_zero_sent_and_settled():
        detail = client.ok(client.get(f"/v1/campaign/{campaign_id}"))
        sent = detail["metrics"]["sent"] == {"email": EMAILS, "sms": PHONES, "voicemail": 0}
        return detail if sent and detail["credits"]["consumed"] == EMAILS + PHONES else None

    return campaign_id, eventually(group_zero_sent_and_settled, timeout=60)


def assert_sent_exactly_once(client: Client, campaign_id: str, detail: dict) -> list[dict]:
    assert detail["status"] == "ACTIVE"
    assert detail["metrics"]["enrolled"] == len(AUDIENCE)
    assert detail["metrics"]["failed"] == 0
    assert detail["credits"] == {
        "reserved": COST,
        "consumed": EMAILS + PHONES,
        "released": 0,
        "outstanding": COST - EMAILS - PHONES,
    }
    outbox = client.outbox(campaign_id)
    per_step = Counter((item["contact_id"], item["step_id"]) for item in outbox)
    assert len(outbox) == EMAILS + PHONES
    assert set(per_step.values()) == {1}
    assert {item["subject"] for item in outbox if item["channel"] == "email"} == {
        "Hi Lead0",
        "Hi Lead1",
        "Hi Lead2",
        "Hi Lead3",
        "Hi Lead4",
        "Hi there",
    }
    assert {item["to"] for item in outbox if item["channel"] == "sms"} >= {"+14155559999", "+14155550000"}
    return outbox


def test_a_campaign_is_sent_end_to_end_on_the_in_process_transport(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        campaign_id, detail = run_campaign(client)
        assert_sent_exactly_once(client, campaign_id, detail)
        stranger = Client(service)  # another brand sees none of these sends
        assert stranger.ok(stranger.get("/v1/sandbox/outbox")) == {"items": []}
        assert stranger.get("/v1/sandbox/outbox", params={"campaign_id": campaign_id}).status_code == 404
        assert len(client.ok(client.get("/v1/sandbox/outbox"))["items"]) == EMAILS + PHONES
        credits = credits_without_renewal(client.ok(client.get("/v1/credits")))
        assert credits == {
            "plan": "basic",
            "balance": 1000 - COST,
            "reserved_outstanding": COST - EMAILS - PHONES,
        }
        assert client.ok(client.get("/readyz")) == {
            "ready": True,
            "checks": {"database": True, "transport": True, "background": True},
            "parked": {},
        }
        gauges = dict(
            line.rsplit(" ", 1) for line in client.get("/metrics").text.splitlines() if line[0] != "#"
        )
        assert gauges['campaign_service_campaigns{status="ACTIVE"}'] == "1.0"
        head = float(gauges["campaign_service_event_store_position"])
        for channel in ("email", "sms", "voicemail"):  # in process, one relay per channel
            assert (
                0 < float(gauges[f'campaign_service_follower_position{{follower="relay:{channel}"}}']) <= head
            )


def test_a_campaign_is_sent_end_to_end_over_kafka_and_a_redelivery_sends_nothing(
    database_url, kafka_bootstrap
):
    with running_service(database_url, kafka=kafka_bootstrap) as service:
        client = Client(service)
        campaign_id, detail = run_campaign(client)
        outbox = assert_sent_exactly_once(client, campaign_id, detail)

        # Deliver every dispatch of the campaign a second time, as Kafka may after a rebalance.
        prefix = service.settings.kafka_topic_prefix
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
        redelivered = 0
        for item in outbox:
            enrollment = _enrollment_of(service, campaign_id, item["contact_id"])
            message = (
                f'{{"enrollment_id": "{enrollment}", "campaign_id": "{campaign_id}", '
                f'"step_id": "{item["step_id"]}", "channel": "{item["channel"]}", "position": 0}}'
            )
            producer.send(
                prefix + SEND_TOPICS[item["channel"]], key=enrollment.encode(), value=message.encode()
            )
            redelivered += 1
        producer.flush()
        producer.close()
        eventually(lambda: _all_consumed(kafka_bootstrap, prefix), timeout=60)

        assert redelivered == EMAILS + PHONES
        assert len(client.outbox(campaign_id)) == EMAILS + PHONES
        again = client.ok(client.get(f"/v1/campaign/{campaign_id}"))
        assert again["metrics"] == detail["metrics"]
        assert again["credits"] == detail["credits"]


def _enrollment_of(service, campaign_id: str, contact_id: str) -> str:
    from uuid import UUID

    from domain.enrollment import Enrollment

    return str(Enrollment.create_id(UUID(campaign_id), UUID(contact_id)))


def _all_consumed(bootstrap: str, prefix: str) -> bool:
    """True once each send worker group has committed up to the end of its topic."""
    from kafka import KafkaConsumer

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    probe = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        for channel, topic in SEND_TOPICS.items():
            if channel == "voicemail":
                continue
            group = f"{prefix}campaign-workers-{channel}"
            committed = admin.list_group_offsets(group).get(group, {})
            partitions = [tp for tp in committed if tp.topic == prefix + topic]
            if not partitions:
                return False
            ends = probe.end_offsets(partitions)
            if any(committed[tp].offset < ends[tp] for tp in partitions):
                return False
        return True
    finally:
        probe.close()
        admin.close()
