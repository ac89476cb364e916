"""Whether a channel has work for its process: a dispatch of that channel in the event store's log
past its relay's position, or a position of its relay that an operator handed back for a retry.
`serve` asks it (runtime/child_processes.py) so that a channel's process runs only while the
channel has work, and stops after a while without any (decision record 30). While that process is
stopped nothing else moves its relay's position, so when there is no work the question moves the
position past what holds nothing of the channel, as the relay itself does on a pass that finds
nothing: each question then reads only what the log gained since the last, however long the
channel stays unused. The position only ever moves forward, so a relay running meanwhile loses
nothing to it.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application

from consumers.relay import DISPATCHING, RETIRED_RELAY, relay_position
from storage import parked
from storage.database import Database
from storage.event_log import read_log


class ChannelDemand:
    """Asks the log whether `channel`'s relay has dispatches to hand over."""

    def __init__(self, store: Application[UUID], db: Database, channel: str) -> None:
        self.store, self.db, self.channel = store, db, channel
        self.relay = f"relay:{channel}"

    def pending(self, *, advance: bool) -> bool:
        """Whether the channel has work; with `advance` (only while its process is stopped), a
        position with none after it becomes the relay's."""
        position = relay_position(self.db, self.relay, RETIRED_RELAY)
        events, through = read_log(self.store, position, 1, DISPATCHING, ("channel", [self.channel]))
        if events or parked.to_retry(self.db, self.relay):
            return True
        if advance and through > position:
            self.db.execute(
                """INSERT INTO relay_positions (relay, position) VALUES (%s, %s)
                   ON CONFLICT (relay) DO UPDATE SET position = EXCLUDED.position
                   WHERE relay_positions.position < EXCLUDED.position""",
                (self.relay, through),
            )
        return False
