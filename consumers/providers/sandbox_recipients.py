"""The sandbox's recipients that bounce or opt out, as a real mailbox provider's test addresses do.

An email the sandbox took for an address starting `bounce` bounces hard moments later (the next
pass of this timed job): it goes through the bounce path Gmail's bounces take
(commands/inbound/bounces.py), so the step is undelivered, the address suppressed and the
deliverability guard counts it. One starting `optout` unsubscribes moments later through the
one-click path (commands/inbound/opt_outs.py). Each outbox row plays out once (`reacted_at`), in
the order sent, so a test that runs a pass knows exactly what happened; one whose step's send is
not stored yet (the pass fell between the sandbox's call and the step's `StepSent`) waits for the
next pass, as a bounce of a step not yet sent would be lost. A text's recipient is a
phone number, which never starts with either word: for texts, STOP and Twilio's status callbacks
are the way in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from commands.application import CampaignApplication
from commands.audience.unsubscribe_tokens import UnsubscribeRequest
from commands.inbound.bounces import record_bounce
from commands.inbound.opt_outs import unsubscribe_by_link
from domain.enrollment import Enrollment
from domain.step_status import IN_FLIGHT
from storage import parked
from storage.database import Database

BOUNCE_REASON = "sandbox: 550 5.1.1 the email account does not exist"
FOLLOWER = "sandbox_recipients"


class SandboxRecipients:
    def __init__(
        self, store: CampaignApplication, db: Database, now: Callable[[], datetime], batch: int = 500
    ) -> None:
        self.store, self.db, self.now, self.batch = store, db, now, batch

    def tick(self) -> int:
        """Play out the bounces and opt-outs of what the sandbox took since the last pass."""
        rows = self.db.fetch_all(
            """SELECT seq, message_key, "to", brand_id, campaign_id, contact_id, step_id FROM sandbox_outbox
               WHERE reacted_at IS NULL AND ("to" LIKE 'bounce%%' OR "to" LIKE 'optout%%')
                 AND channel = 'email' AND brand_id IS NOT NULL
               ORDER BY seq LIMIT %s""",
            (self.batch,),
        )
        if not rows:
            return 0  # the common case: nothing to look up in the parked items either
        now = self.now()

        def react(row: dict[str, Any]) -> int:
            enrollment = self.store.enrollment(Enrollment.create_id(row["campaign_id"], row["contact_id"]))
            if enrollment.status_of(row["step_id"]) in IN_FLIGHT:
                return 0  # the send is not stored yet: the next pass plays it out
            if row["to"].startswith("bounce"):
                record_bounce(self.store, self.db, row["brand_id"], row["message_key"], BOUNCE_REASON, now)
            else:
                request = UnsubscribeRequest(
                    row["brand_id"], row["campaign_id"], row["contact_id"], row["to"]
                )
                unsubscribe_by_link(self.store, self.db, request, now)
            self.db.execute("UPDATE sandbox_outbox SET reacted_at = %s WHERE seq = %s", (now, row["seq"]))
            return 1

        # Each row on its own: one that keeps failing is parked with its brand, and the others go on.
        return parked.each_contained(
            self.db,
            FOLLOWER,
            rows,
            react,
            key=lambda row: f"outbox {row['seq']}",
            brand=lambda row: row["brand_id"],
        )
