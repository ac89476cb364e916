"""Whether a channel has work for its process (consumers/channel_demand.py), asked of the real event
store: a dispatch of that channel past its relay's position is work until the relay has handed it
over, another channel's dispatch is not, a position handed back to its relay is; a question that
finds no work, asked while the process is stopped, moves the relay's position to where the log
ends, so the next reads only what came after, and nothing of the channel is skipped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from commands.application import CampaignApplication
from consumers.channel_demand import ChannelDemand
from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from runtime import roles
from runtime.service import Service, build_service
from runtime.settings import Settings
from storage import parked

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STEPS = {
    "email": Step("e0", StepType.EMAIL, 0, order=0, subject="Hi", body="Hello"),
    "sms": Step("s0", StepType.SMS, 0, order=0, body="Hello"),
}


@pytest.fixture
def container(database_url: str) -> Iterator[Service]:
    built = build_service(
        Settings(database_url=database_url, kafka_bootstrap_servers=None, channel_processes=False)
    )
    try:
        yield built
    finally:
        built.close()


def dispatched(store: CampaignApplication, channel: str) -> int:
    """An enrollment that dispatched its step of `channel` with it, stored; its log position."""
    addresses = {"email": "ann@example.com", "sms": "+14155550100"}
    enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), addresses, [STEPS[channel]], T0, dispatch=True)
    assert enrollment is not None
    position = store.save_all([enrollment])
    assert position is not None
    return position


def relay_position(container: Service, channel: str) -> int:
    row = container.db.fetch_one(
        "SELECT position FROM relay_positions WHERE relay = %s", (f"relay:{channel}",)
    )
    return row["position"] if row else 0


def test_a_dispatch_of_the_channel_is_work_until_its_relay_hands_it_over(container):
    demand = ChannelDemand(container.store, container.db, "email")
    dispatched(container.store, "email")

    assert demand.pending(advance=True)
    assert relay_position(container, "email") == 0  # not moved past the work
    [relay] = [r for r in roles.relays(container.parts) if r.name == "relay:email"]
    relay.run_once()  # the email process's relay, which hands it over

    assert not demand.pending(advance=False)


def test_another_channels_dispatches_are_no_work_and_the_position_moves_past_them_while_stopped(container):
    demand = ChannelDemand(container.store, container.db, "email")
    dispatched(container.store, "sms")
    head = dispatched(container.store, "sms")

    assert not demand.pending(advance=False)
    assert relay_position(container, "email") == 0  # only a stopped process's question moves it
    assert not demand.pending(advance=True)
    assert relay_position(container, "email") == head

    later = dispatched(container.store, "email")  # what comes after is still found
    assert demand.pending(advance=True)
    assert relay_position(container, "email") == head < later


def test_a_position_handed_back_to_the_channels_relay_is_work(container):
    demand = ChannelDemand(container.store, container.db, "email")
    position = dispatched(container.store, "email")
    with container.db.transaction() as cur:
        parked.park(cur, "relay:email", str(position), None, ValueError("bad"), 5)
    container.db.execute(
        "INSERT INTO relay_positions (relay, position) VALUES ('relay:email', %s)", (position,)
    )
    assert not demand.pending(advance=True)  # parked: set aside until an operator hands it back

    parked.hand_back(container.db, None)

    assert demand.pending(advance=True)


def test_a_dispatch_the_old_single_relay_handed_over_is_no_work_for_the_channel(container):
    demand = ChannelDemand(container.store, container.db, "email")
    handed_over = dispatched(container.store, "email")
    container.db.execute("INSERT INTO relay_positions (relay, position) VALUES ('relay', %s)", (handed_over,))

    assert not demand.pending(advance=False)  # its relay starts where the single relay stood

    dispatched(container.store, "email")
    assert demand.pending(advance=False)
