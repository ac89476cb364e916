"""The relay: reads the event store's notification log and hands its messages to the transport.

The event store is the outbox. Each StepDispatched, and each step an enrollment dispatched with it,
becomes a message on `sends.<channel>` keyed by enrollment id; with Kafka every event also goes to
`campaign.events` as documented JSON, by a relay of its own so that sends never wait for the feed.
The relay records its position only after the transport has taken the whole batch (a failed
produce raises, and the batch is read again): at least once, never lost. An event that cannot be
turned into a message is retried a few times, then parked (storage/parked.py) so the log keeps
moving for everyone else. In process, a relay waits until the workers have handled what it handed
over, so there is one relay per channel (`channels`): a slow provider holds back only its own
channel."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from commands.application import CampaignApplication
from commands.sending.send_phases import Dispatch
from consumers.transport import Transport
from consumers.transport.messages import EVENTS_TOPIC, SEND_TOPICS, encode_dispatch
from domain.enrollment import Enrollment, dispatched_steps
from storage import containment, parked
from storage.database import Database
from storage.event_json import event_to_json
from storage.event_log import brand_of, read_log, read_one

# Kafka's default largest message is 1 MiB; a campaign of 100 steps with 100 KB bodies is larger.
MAX_FEED_BYTES = 900_000
RETIRED_RELAY = "relay"  # the single relay of earlier releases; its heirs carry on from its position


def feed_message(position: int, event: Any, erased_keys: frozenset[str] = frozenset()) -> bytes:
    """The event's JSON for `campaign.events`; past the broker's size, its envelope and a note."""
    document = event_to_json(position, event, erased_keys)
    body = json.dumps(document).encode()
    if len(body) <= MAX_FEED_BYTES:
        return body
    document["data"] = None
    document["truncated"] = f"{len(body)} bytes; read it from GET /v1/campaign/{{id}}/events or the export"
    return json.dumps(document).encode()


class Relay:
    def __init__(
        self,
        store: Application[UUID],
        db: Database,
        transport: Transport,
        *,
        publish_events: bool,
        name: str = "relay",
        batch_size: int = 1000,
        channels: Collection[str] | None = None,
        resume_from: str | None = None,
        heirs: Collection[str] = (),
    ) -> None:
        """`channels`: whose dispatches it relays (None: every channel's; none: it only feeds
        `campaign.events`). `resume_from`: the relay whose position a new one starts from (the
        single relay that came before it); `heirs`: every relay that took its place, which share
        the items it parked (each republishes its own part of a handed-back position)."""
        self.store, self.db, self.transport = store, db, transport
        self.publish_events, self.name, self.batch_size = publish_events, name, batch_size
        self.channels = set(SEND_TOPICS) if channels is None else set(channels)
        self.topics = None if channels is None else [SEND_TOPICS[c] for c in channels]
        self.resume_from, self.heirs = resume_from, list(heirs)
        self.inherited = resume_from is None or not heirs

    def position(self) -> int:
        return relay_position(self.db, self.name, self.resume_from)

    def run_once(self) -> int:
        if not self.inherited:
            parked.inherit(self.db, str(self.resume_from), self.heirs)
            self.inherited = True
        start = self.position()
        if self.publish_events:  # every event goes to campaign.events
            events, through = read_log(self.store, start, self.batch_size)
        else:  # only dispatches, and only this relay's channels': read (and decode) only those
            having = ("channel", sorted(self.channels))
            events, through = read_log(self.store, start, self.batch_size, DISPATCHING, having)
        if through == start:
            return parked.retry_parked(self.db, self.name, self._republish)
        messages: list[tuple[str, str, bytes]] = []

        def park(item: tuple[int, Any], error: BaseException, tries: int) -> None:
            with self.db.transaction() as cur:
                parked.park(cur, self.name, str(item[0]), brand_of(self.store, item[1]), error, tries)

        containment.contain(events, lambda batch: messages.extend(self._messages(batch)), park)
        self._hand_over(messages)
        self.db.execute(
            """INSERT INTO relay_positions (relay, position) VALUES (%s, %s)
               ON CONFLICT (relay) DO UPDATE SET position = EXCLUDED.position""",
            (self.name, through),
        )
        return max(len(events), 1)

    def _messages(self, events: Sequence[tuple[int, Any]]) -> list[tuple[str, str, bytes]]:
        """(topic, key, value) of every message the events make; nothing is published yet."""
        messages = []
        erased: frozenset[str] = frozenset()
        if self.publish_events and isinstance(self.store, CampaignApplication):  # one query a batch
            erased = self.store.erased_keys(event for _, event in events)
        for position, event in events:
            for dispatch in _dispatches(event):
                if dispatch.channel in self.channels:
                    key = str(dispatch.enrollment_id)
                    messages.append((SEND_TOPICS[dispatch.channel], key, encode_dispatch(dispatch, position)))
            if self.publish_events:
                messages.append(
                    (EVENTS_TOPIC, str(event.originator_id), feed_message(position, event, erased))
                )
        return messages

    def _hand_over(self, messages: list[tuple[str, str, bytes]]) -> None:
        for topic, key, value in messages:
            self.transport.publish(topic, key, value)
        self.transport.flush()  # raises TransportUnavailable when the broker did not take them all
        self.transport.wait_until_handled(self.topics)

    def _republish(self, position: int) -> None:
        self._hand_over(self._messages([read_one(self.store, position)]))


# The events that dispatch steps: a StepDispatched each, or an enrollment with its first group's (v4).
DISPATCHING = (Enrollment.StepDispatched, Enrollment.ContactEnrolled)


def _dispatches(event: Any) -> list[Dispatch]:
    """The steps an event hands to their channels' workers."""
    return [
        Dispatch(event.originator_id, event.campaign_id, step_id, channel)
        for step_id, channel in dispatched_steps(event)
    ]


def relay_position(db: Database, name: str, resume_from: str | None) -> int:
    """How far the relay `name` has read the log; before its first pass, where `resume_from` stood."""
    row = db.fetch_one(
        """SELECT position FROM relay_positions WHERE relay = %s OR relay = %s
           ORDER BY relay = %s DESC LIMIT 1""",
        (name, resume_from, name),
    )
    return row["position"] if row else 0


def positions(db: Database) -> dict[str, int]:
    """How far each relay has read the log, by relay (for /metrics)."""
    rows = db.fetch_all("SELECT relay, position FROM relay_positions")
    return {row["relay"]: row["position"] for row in rows}
