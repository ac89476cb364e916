"""The per-channel relays' own bookkeeping: a relay that has a position of its own goes on from it,
never from the old single relay's older one (which would hand the same sends over again), and
the parked items it inherits keep the brand they belong to, so an operator still sees whose they
are."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from commands.application import CampaignApplication
from consumers.relay import Relay
from consumers.transport.in_process import InProcessTransport
from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from runtime import roles
from runtime.metrics import exposition, registry_for
from runtime.service import Service, build_service
from runtime.settings import Settings
from storage import parked

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMAIL = Step("e0", StepType.EMAIL, 0, order=0, subject="Hi", body="Hello")
SMS = Step("s0", StepType.SMS, 0, order=0, body="Hello")


@pytest.fixture
def container(database_url: str) -> Iterator[Service]:
    # In process (the test run's Kafka broker set aside): one relay per channel, nothing started.
    built = build_service(
        Settings(database_url=database_url, kafka_bootstrap_servers=None, channel_processes=False)
    )
    try:
        yield built
    finally:
        built.close()


def _enrolled(store: CampaignApplication, step: Step = EMAIL) -> tuple[int, Enrollment]:
    """An enrollment that dispatched its email (or the step given) with it, stored; its log position."""
    addresses = {"email": "ann@example.com", "sms": "+14155550123"}
    enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), addresses, [step], T0, dispatch=True)
    assert enrollment is not None
    position = store.save_all([enrollment])
    assert position is not None
    return position, enrollment


def _sends_queued(transport: InProcessTransport, channel: str = "email") -> list[bytes]:
    queue = transport._queue(f"sends.{channel}")
    queued = []
    while not queue.empty():
        queued.append(queue.get_nowait())
    return queued


def test_a_relay_goes_on_from_its_own_position_not_the_old_single_relays(container):
    store, db, transport = container.store, container.db, container.transport
    assert isinstance(transport, InProcessTransport)
    relays = {relay.name: relay for relay in roles.relays(container.parts)}
    early, _ = _enrolled(store)
    already_relayed, _ = _enrolled(store)
    db.execute(  # the single relay stopped early; the email relay has since handed over more
        "INSERT INTO relay_positions (relay, position) VALUES ('relay', %s), ('relay:email', %s)",
        (early, already_relayed),
    )
    _, new = _enrolled(store)

    relays["relay:email"].run_once()

    queued = _sends_queued(transport)
    assert len(queued) == 1 and str(new.id).encode() in queued[0]  # only what came after its own position
    assert relays["relay:email"].position() > already_relayed
    # With no position of its own yet, a relay starts where the old one stood.
    assert relays["relay:sms"].position() == early


def test_the_items_the_old_relay_parked_keep_their_brand_under_every_relay_that_inherits_them(container):
    store, db = container.store, container.db
    position, enrollment = _enrolled(store)
    with db.transaction() as cur:
        parked.park(cur, "relay", str(position), enrollment.brand_id, ValueError("bad"), 5)
    db.execute("INSERT INTO relay_positions (relay, position) VALUES ('relay', %s)", (position,))
    relays = {relay.name: relay for relay in roles.relays(container.parts)}

    relays["relay:email"].run_once()

    listed = {(row["follower"], row["item"], row["brand_id"]) for row in parked.listing(db)}
    assert listed == {
        (name, str(position), enrollment.brand_id) for name in ("relay:email", "relay:sms", "relay:voicemail")
    }


def test_the_metrics_show_how_far_each_relay_has_read_how_far_behind_it_is_and_what_it_parked(container):
    store, db = container.store, container.db
    relays = {relay.name: relay for relay in roles.relays(container.parts)}
    relayed, _ = _enrolled(store)
    relays["relay:email"].run_once()
    head, enrollment = _enrolled(store)
    with db.transaction() as cur:
        parked.park(cur, "relay:sms", str(head), enrollment.brand_id, ValueError("bad"), 5)
        parked.park(cur, "relay:sms", str(head + 1), enrollment.brand_id, ValueError("bad"), 5)

    text = exposition(registry_for(db, lambda: head)).decode()

    assert f'campaign_service_follower_position{{follower="relay:email"}} {float(relayed)}' in text
    assert f'campaign_service_follower_lag_events{{follower="relay:email"}} {float(head - relayed)}' in text
    assert 'campaign_service_parked_items{follower="relay:sms"} 2.0' in text
    assert 'campaign_service_parked_items{follower="relay:email"} 0.0' in text


def test_a_handed_back_position_that_holds_no_event_is_parked_again_saying_so(container):
    store, db = container.store, container.db
    position, _ = _enrolled(store)
    relays = {relay.name: relay for relay in roles.relays(container.parts)}
    relays["relay:email"].run_once()
    nowhere = str(position + 1000)
    with db.transaction() as cur:
        parked.park(cur, "relay:email", nowhere, None, ValueError("bad"), 5)
    parked.hand_back(db, None)

    relays["relay:email"].run_once()  # nothing new in the log: it applies what was handed back

    [row] = parked.listing(db, "relay:email")
    assert (row["item"], row["status"]) == (nowhere, "parked")
    assert f"no event at log position {nowhere}" in row["error"]


def test_a_relay_of_every_channel_hands_each_channels_dispatches_to_its_own_topic(container):
    # As Kafka's `relay:sends` does: built with no channels named.
    store, db = container.store, container.db
    transport = InProcessTransport()
    _, email = _enrolled(store, EMAIL)
    _, sms = _enrolled(store, SMS)

    Relay(store, db, transport, publish_events=False, name="relay:sends").run_once()

    [to_email] = _sends_queued(transport, "email")
    [to_sms] = _sends_queued(transport, "sms")
    assert str(email.id).encode() in to_email and str(sms.id).encode() in to_sms


def test_a_channels_relay_hands_over_only_its_own_channels_dispatches(container):
    store, transport = container.store, container.transport
    assert isinstance(transport, InProcessTransport)
    relays = {relay.name: relay for relay in roles.relays(container.parts)}
    _, email = _enrolled(store, EMAIL)
    _enrolled(store, SMS)

    relays["relay:email"].run_once()

    [to_email] = _sends_queued(transport, "email")
    assert str(email.id).encode() in to_email
    assert _sends_queued(transport, "sms") == []


def test_a_channel_whose_worker_is_slow_does_not_hold_back_another_channels_relay(container):
    store, transport = container.store, container.transport
    assert isinstance(transport, InProcessTransport)
    relays = {relay.name: relay for relay in roles.relays(container.parts)}
    transport.expect_consumer("sends.sms")
    transport.publish("sends.sms", "k", b"a text its worker has not handled yet")
    position, _ = _enrolled(store, EMAIL)

    passing = threading.Thread(target=relays["relay:email"].run_once, daemon=True)
    passing.start()
    passing.join(timeout=10)
    try:
        assert not passing.is_alive()
        assert relays["relay:email"].position() >= position
    finally:
        held = transport._queue("sends.sms")
        while not held.empty():  # the text is handled at last: nothing stays waiting for it
            held.get_nowait()
            held.task_done()
        passing.join(timeout=10)
