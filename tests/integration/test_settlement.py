"""The settlement process on the ledger, exactly: what each batch consumes and releases with which
reason and position, a send beyond the reservation, and an event that cannot be settled parked,
then settled once it is handed back after a fix, while the other brands' sends settle meanwhile.

The clock is in the test's hand (tests/integration/desk.py); settlement runs when the test says.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import uuid4

from commands.campaigns.campaign_lifecycle import archive_campaign
from commands.campaigns.complete_campaign import complete_campaign
from commands.credits.settle_credits import FOLLOWER, settle_next_batch
from commands.sending.providers import SendOutcome
from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from storage import containment, parked
from storage.event_log import read_log
from tests.integration.desk import ScriptedProvider, desk

# Later than the real clock (a Monday at ten, like the day this was written): the brand and its
# campaign are set up through the API at the real time, and an aggregate's event is never stamped
# before its last one (decision record 19), so a NOW the real clock has passed would be moved up.
NOW = datetime(2037, 12, 7, 10, 0, tzinfo=UTC)
TWO_GROUPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
    {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
]
REFUSED = SendOutcome(error="550 no such mailbox", permanent=True)


def ledger_events(d, kind: type) -> list:
    return [e for e in d.store.events.get(CreditLedger.create_id(d.client.brand_id)) if isinstance(e, kind)]


def position(d) -> int:
    row = d.service.db.fetch_one("SELECT position FROM settlement_position")
    return row["position"] if row else 0


def test_a_batch_consumes_sends_releases_failures_and_closes_with_its_reason(database_url, caplog):
    refused = {"bob@example.com": [REFUSED], "cy@example.com": [REFUSED]}
    with desk(database_url, ScriptedProvider(per_address=refused)) as d:
        d.client.sender("email", "sales@brand.example")
        people = [{"email": "ann@example.com"}, {"email": "bob@example.com"}, {"email": "cy@example.com"}]
        campaign = d.campaign(people, TWO_GROUPS)
        enrollments = d.launch(campaign, NOW)
        d.send(d.dispatch(enrollments, NOW), NOW)
        head = d.store.recorder.max_notification_id()

        with caplog.at_level(logging.WARNING, logger="commands.credits.settle_credits"):
            assert settle_next_batch(d.store, d.service.db, NOW) == 6  # three attempts: one sent, two failed
        assert caplog.records == []  # every send was within the reservation
        assert position(d) == head
        assert settle_next_batch(d.store, d.service.db, NOW) == 1  # past its own ledger events only
        assert settle_next_batch(d.store, d.service.db, NOW) == 0  # nothing new: idle
        [consumed] = ledger_events(d, CreditLedger.CreditsConsumed)
        assert (consumed.campaign_id, consumed.amount, consumed.consumed_at) == (campaign, 1, NOW)
        [released] = ledger_events(d, CreditLedger.CreditsReleased)
        assert (released.amount, released.reason, released.released_at) == (
            2,
            "steps that will not be sent",
            NOW,
        )
        assert consumed.settled_through == released.settled_through <= head

        assert complete_campaign(d.store, campaign, NOW)
        assert d.store.campaign(campaign).completed_at == NOW
        assert not complete_campaign(d.store, campaign, NOW)  # completed once only
        d.settle(NOW)
        closing = ledger_events(d, CreditLedger.CreditsReleased)[-1]
        assert (closing.amount, closing.reason, closing.released_at) == (3, "campaign completed", NOW)
        [(completed_at, _)], _ = read_log(d.store, 0, 10_000, (Campaign.CampaignCompleted,))
        assert closing.settled_through == completed_at
        reservation = d.reservation(campaign)
        assert (reservation.consumed, reservation.released, reservation.outstanding) == (1, 5, 0)


def test_archiving_releases_what_is_left_with_its_own_reason(database_url):
    with desk(database_url) as d:
        d.client.sender("email", "sales@brand.example")
        campaign = d.campaign([{"email": "ann@example.com"}], TWO_GROUPS)
        [ann] = d.launch(campaign, NOW)
        d.send(d.dispatch([ann], NOW), NOW)
        archive_campaign(d.store, d.client.brand_id, campaign, NOW)
        d.settle(NOW)
        [closing] = ledger_events(d, CreditLedger.CreditsReleased)
        assert (closing.amount, closing.reason, closing.released_at) == (1, "campaign archived", NOW)
        assert d.store.ledger(d.client.brand_id).balance == 1000 - 1


def test_sends_beyond_the_reservation_consume_only_what_was_reserved_and_say_so(database_url, caplog):
    with desk(database_url) as d:
        d.client.sender("email", "sales@brand.example")
        campaign = d.campaign([{"email": "ann@example.com"}], TWO_GROUPS[:1])
        [ann] = d.launch(campaign, NOW)
        d.send(d.dispatch([ann], NOW), NOW)
        _saved_send(d, campaign)  # a send the reservation never covered
        with caplog.at_level(logging.WARNING, logger="commands.credits.settle_credits"):
            d.settle(NOW)
        reservation = d.reservation(campaign)
        assert (reservation.reserved, reservation.consumed, reservation.outstanding) == (1, 1, 0)
        assert [r.getMessage() for r in caplog.records] == [
            f"campaign {campaign}: 1 sends recorded beyond its reservation"
        ]


def test_an_event_that_cannot_be_settled_is_parked_and_settled_once_handed_back(database_url):
    with desk(database_url) as d:
        d.client.sender("email", "sales@brand.example")
        good = d.campaign([{"email": "ann@example.com"}], TWO_GROUPS[:1])
        [ann] = d.launch(good, NOW)
        missing = uuid4()
        poison_at = _saved_send(d, missing)  # a send of a campaign the store does not have (yet)
        d.send(d.dispatch([ann], NOW), NOW)  # another send, after the poison in the log

        d.settle(NOW)
        [item] = parked.listing(d.service.db, FOLLOWER)
        assert (item["item"], item["status"], item["attempts"]) == (
            str(poison_at),
            "parked",
            containment.IN_PLACE_TRIES,
        )
        assert item["brand_id"] == d.client.brand_id
        assert str(missing) in item["error"]  # what the operator reads to fix it
        assert d.reservation(good).consumed == 1  # the others settled past it

        # The fix: the campaign exists, with its reservation; an operator hands the event back.
        campaign = Campaign.create(missing, d.client.brand_id, "late", [_email()], NOW)
        ledger = d.store.ledger(d.client.brand_id)
        ledger.reserve(missing, 1, NOW)
        campaign.launch(NOW, 1)
        d.store.save(ledger, campaign)
        assert parked.hand_back(d.service.db, [item["id"]]) == 1
        d.settle(NOW)  # past the fix's own events, then, idle, the handed-back one
        assert parked.listing(d.service.db, FOLLOWER) == []
        assert d.reservation(missing).consumed == 1
        late = [e for e in ledger_events(d, CreditLedger.CreditsConsumed) if e.campaign_id == missing]
        assert [(e.amount, e.consumed_at) for e in late] == [(1, NOW)]
        d.settle(NOW)
        assert d.reservation(missing).consumed == 1  # settled once, not again


def _email() -> Step:
    return Step(id="late", type=StepType.EMAIL, group=0, order=0, subject="Hi", body="Hello")


def _saved_send(d, campaign_id, sent: bool = True) -> int:
    """Save a sent (or failed) step of a fresh enrollment in `campaign_id`, as a worker would; the
    log position of that outcome."""
    enrollment = Enrollment.enroll(
        campaign_id, d.client.brand_id, uuid4(), {"email": "extra@example.com"}, [_email()], NOW
    )
    enrollment.dispatch_due(NOW)
    enrollment.attempt("late", "account", NOW)
    if sent:
        enrollment.record_sent("late", "provider-id", 1, NOW)
    else:
        enrollment.record_failed("late", "refused", 1, NOW)
    d.store.save(enrollment)
    outcomes, _ = read_log(d.store, 0, 10_000, (Enrollment.StepSent, Enrollment.StepFailed))
    return next(position for position, event in outcomes if event.originator_id == enrollment.id)


def test_a_send_and_the_close_in_one_batch_consume_through_the_close(database_url):
    with desk(database_url) as d:
        d.client.sender("email", "sales@brand.example")
        campaign = d.campaign([{"email": "ann@example.com"}], TWO_GROUPS)
        [ann] = d.launch(campaign, NOW)
        d.send(d.dispatch([ann], NOW), NOW)
        complete_campaign(d.store, campaign, NOW)
        d.settle(NOW)
        [(completed_at, _)], _ = read_log(d.store, 0, 10_000, (Campaign.CampaignCompleted,))
        [consumed] = ledger_events(d, CreditLedger.CreditsConsumed)
        assert (consumed.amount, consumed.settled_through) == (1, completed_at)
        [closing] = ledger_events(d, CreditLedger.CreditsReleased)
        assert (closing.amount, closing.settled_through) == (1, completed_at)


def test_a_failure_beyond_the_reservation_releases_nothing_it_does_not_hold(database_url, caplog):
    with desk(database_url) as d:
        d.client.sender("email", "sales@brand.example")
        campaign = d.campaign([{"email": "ann@example.com"}], TWO_GROUPS[:1])
        [ann] = d.launch(campaign, NOW)
        d.send(d.dispatch([ann], NOW), NOW)
        _saved_send(d, campaign, sent=False)  # a failure the reservation never covered
        with caplog.at_level(logging.WARNING):
            d.settle(NOW)
        assert not [r for r in caplog.records if r.name == "storage.containment"]  # settled as one batch
        reservation = d.reservation(campaign)
        assert (reservation.reserved, reservation.consumed, reservation.released) == (1, 1, 0)
        assert parked.listing(d.service.db, FOLLOWER) == []


def test_settling_again_from_the_start_skips_what_was_settled_and_settles_what_was_not(database_url):
    with desk(database_url) as d:
        d.client.sender("email", "sales@brand.example")
        first = d.campaign([{"email": "ann@example.com"}], TWO_GROUPS[:1])
        [ann] = d.launch(first, NOW)
        d.send(d.dispatch([ann], NOW), NOW)
        complete_campaign(d.store, first, NOW)
        d.settle(NOW)
        second = d.campaign([{"email": "bob@example.com"}], TWO_GROUPS[:1])
        [bob] = d.launch(second, NOW)
        d.send(d.dispatch([bob], NOW), NOW)

        d.service.db.execute("UPDATE settlement_position SET position = 0")  # as if it was lost
        d.settle(NOW)
        assert (d.reservation(first).consumed, d.reservation(first).released) == (1, 0)
        assert d.reservation(second).consumed == 1  # settled past the first campaign's skipped close
        assert d.store.ledger(d.client.brand_id).balance == 1000 - 2
