"""What the single relay of earlier releases parked is not lost to the relays that took its place:
each gets its own copy, a handed-back position is republished by each for its own channel, and an
item still parked stays listed under each until an operator hands it back."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from commands.application import CampaignApplication
from consumers.transport.in_process import InProcessTransport
from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from runtime import roles
from runtime.service import build_service
from runtime.settings import Settings
from storage import parked

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMAIL = Step("e0", StepType.EMAIL, 0, order=0, subject="Hi", body="Hello")


def _enrolled(store: CampaignApplication) -> tuple[int, Enrollment]:
    """An enrollment that dispatched its email with it, stored; its log position."""
    enrollment = Enrollment.enroll(
        uuid4(), uuid4(), uuid4(), {"email": "ann@example.com"}, [EMAIL], T0, dispatch=True
    )
    assert enrollment is not None
    position = store.save_all([enrollment])
    assert position is not None
    return position, enrollment


def test_the_relays_of_each_channel_take_over_what_the_single_relay_parked(database_url):
    # In process (the test run's Kafka broker set aside): one relay per channel.
    settings = Settings(database_url=database_url, kafka_bootstrap_servers=None, channel_processes=False)
    container = build_service(settings)
    try:
        store, db = container.store, container.db
        _enrolled(store)  # relayed long ago: the handed-back position is not the log's first
        handed_back, enrollment = _enrolled(store)
        still_parked, _ = _enrolled(store)
        with db.transaction() as cur:  # as the single relay left them: one handed back, one parked
            parked.park(cur, "relay", str(handed_back), enrollment.brand_id, ValueError("bad"), 5)
            parked.park(cur, "relay", str(still_parked), None, ValueError("bad"), 5)
        parked.hand_back(
            db, [row["id"] for row in parked.listing(db, "relay") if row["item"] == str(handed_back)]
        )
        db.execute(  # the single relay had read the whole log: its heirs start there
            "INSERT INTO relay_positions (relay, position) VALUES ('relay', %s)", (still_parked,)
        )
        transport = container.transport
        assert isinstance(transport, InProcessTransport)
        relays = {relay.name: relay for relay in roles.relays(container.parts)}
        assert set(relays) == {"relay:email", "relay:sms", "relay:voicemail"}

        relays["relay:email"].run_once()

        message = transport._queue("sends.email").get_nowait()
        assert str(enrollment.id).encode() in message
        assert transport._queue("sends.email").empty()
        listed = {(row["follower"], row["item"], row["status"]) for row in parked.listing(db)}
        assert listed == {
            ("relay:email", str(still_parked), "parked"),
            ("relay:sms", str(handed_back), "retry"),
            ("relay:sms", str(still_parked), "parked"),
            ("relay:voicemail", str(handed_back), "retry"),
            ("relay:voicemail", str(still_parked), "parked"),
        }

        relays["relay:sms"].run_once()  # its part of the handed-back position: nothing to send

        assert transport._queue("sends.sms").empty()  # the email's position puts nothing on sends.sms
        assert ("relay:sms", str(handed_back)) not in {(r["follower"], r["item"]) for r in parked.listing(db)}
        assert not parked.listing(db, "relay")
    finally:
        container.close()
