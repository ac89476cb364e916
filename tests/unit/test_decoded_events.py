"""Events decoded once for every read model of a process (storage/event_log.py `DecodedEvents`):
followers reading the same positions get the same events a plain read gives, each stored event is
decoded once while it is among the last positions kept, and again only after it fell out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from commands.application import CampaignApplication
from domain.credit_ledger import CreditLedger, Plan
from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from storage.event_log import DecodedEvents, read_log

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
STEPS = [Step(id="e0", type=StepType.EMAIL, group=0, order=0, subject="Hi", body="Hello")]


class CountingMapper:
    """The application's own mapper, counting what it decodes."""

    def __init__(self, mapper: Any) -> None:
        self.mapper, self.decoded = mapper, 0

    def to_domain_event(self, note: Any) -> Any:
        self.decoded += 1
        return self.mapper.to_domain_event(note)


def _history(app: CampaignApplication) -> int:
    """Ledgers and enrollments of a few brands; the number of events stored."""
    aggregates: list[Any] = []
    for _ in range(3):
        brand = uuid4()
        aggregates.append(CreditLedger.open(brand, Plan.BASIC, NOW))
        aggregates += [
            Enrollment.enroll(uuid4(), brand, uuid4(), {"email": "ann@example.com"}, STEPS, NOW)
            for _ in range(2)
        ]
    app.save(*aggregates)
    return app.recorder.max_notification_id() or 0


def test_followers_sharing_decoded_events_read_what_a_plain_read_gives_decoding_each_once():
    app = CampaignApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    stored = _history(app)
    decoded = DecodedEvents(app)
    counting = decoded.mapper = CountingMapper(app.mapper)

    everything, through = read_log(app, 0, 1000, (), decoded)
    enrollments, _ = read_log(app, 0, 1000, (Enrollment.ContactEnrolled, Enrollment.GroupScheduled), decoded)
    ledgers, _ = read_log(app, 0, 1000, (CreditLedger.LedgerOpened,), decoded)

    assert through == stored and len(everything) == stored and counting.decoded == stored
    assert everything == read_log(app, 0, 1000)[0]
    assert [
        e for e in everything if isinstance(e[1], Enrollment.ContactEnrolled | Enrollment.GroupScheduled)
    ] == enrollments
    assert [e for e in everything if isinstance(e[1], CreditLedger.LedgerOpened)] == ledgers
    assert {id(e) for _, e in ledgers} <= {id(e) for _, e in everything}  # the very same objects


def test_an_event_that_fell_out_of_the_last_positions_kept_is_decoded_again():
    app = CampaignApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    stored = _history(app)
    decoded = DecodedEvents(app, size=2)
    counting = decoded.mapper = CountingMapper(app.mapper)

    read_log(app, 0, 1000, (), decoded)
    read_log(app, stored - 2, 1000, (), decoded)  # the last two: still kept
    assert counting.decoded == stored
    read_log(app, 0, 1, (), decoded)  # the first: long gone
    assert counting.decoded == stored + 1
