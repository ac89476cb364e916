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
        notifications = self.app.recorder.select_notifications(
            self.position(), self.batch_size, inclusive_of_start=False
        )
        if not notifications:
            return 0
        for notification in notifications:
            event = self.app.mapper.to_domain_event(notification)
            if isinstance(event, Enrollment.StepDispatched):
                dispatch = Dispatch(event.originator_id, event.campaign_id, event.step_id, event.channel)
                self.transport.publish(
                    SEND_TOPICS[event.channel],
                    str(event.originator_id),
                    encode_dispatch(dispatch, notification.id),
                )
            if self.publish_events:
                body = json.dumps(event_to_json(notification.id, event)).encode()
                self.transport.publish(EVENTS_TOPIC, str(event.originator_id), body)
        self.transport.flush()
        self.transport.wait_until_handled()
        self.db.execute(
            """INSERT INTO relay_positions (relay, position) VALUES (%s, %s)
               ON CONFLICT (relay) DO UPDATE SET position = EXCLUDED.position""",
            (self.name, notifications[-1].id),
        )
        return len(notifications)
