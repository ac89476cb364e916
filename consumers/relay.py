"""The relay: reads the event store's notification log and hands its messages to the transport.

The event store is the outbox. Each StepDispatched becomes a message on `sends.<channel>` keyed by
enrollment id; with Kafka every event also goes to `campaign.events` as documented JSON. The relay
records its position only after the transport has taken the batch: at least once, never lost.
"""

from __future__ import annotations

import json

from eventsourcing.application import Application

from commands.send_steps import Dispatch
from consumers.messages import EVENTS_TOPIC, SEND_TOPICS, encode_dispatch
from consumers.transport import Transport
from domain.enrollment import Enrollment
from projections.event_json import event_to_json
from storage.database import Database
from storage.event_log import read_log

DDL = """
CREATE TABLE IF NOT EXISTS relay_positions (
    relay text PRIMARY KEY,
    position bigint NOT NULL
)
"""


class Relay:
    def __init__(
        self,
        app: Application,
        db: Database,
        transport: Transport,
        *,
        publish_events: bool,
        name: str = "relay",
        batch_size: int = 1000,
    ) -> None:
        self.app, self.db, self.transport = app, db, transport
        self.publish_events, self.name, self.batch_size = publish_events, name, batch_size

    def position(self) -> int:
        row = self.db.fetch_one("SELECT position FROM relay_positions WHERE relay = %s", (self.name,))
        return row["position"] if row else 0

    def run_once(self) -> int:
        start = self.position()
        # Without the campaign.events feed only dispatches matter: read (and decode) only those.
        wanted = () if self.publish_events else (Enrollment.StepDispatched,)
        events, through = read_log(self.app, start, self.batch_size, wanted)
        if through == start:
            return 0
        for position, event in events:
            if isinstance(event, Enrollment.StepDispatched):
                dispatch = Dispatch(event.originator_id, event.campaign_id, event.step_id, event.channel)
                self.transport.publish(
                    SEND_TOPICS[event.channel],
                    str(event.originator_id),
                    encode_dispatch(dispatch, position),
                )
            if self.publish_events:
                body = json.dumps(event_to_json(position, event)).encode()
                self.transport.publish(EVENTS_TOPIC, str(event.originator_id), body)
        self.transport.flush()
        self.transport.wait_until_handled()
        self.db.execute(
            """INSERT INTO relay_positions (relay, position) VALUES (%s, %s)
               ON CONFLICT (relay) DO UPDATE SET position = EXCLUDED.position""",
            (self.name, through),
        )
        return max(len(events), 1)
