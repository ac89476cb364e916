"""The event-sourced application holding every aggregate, and saving with retry on version conflicts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Mapper, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from commands.personal_data.sealed_events import SealingMapper, keys_of_stored, open_addresses, sealed_values
from commands.personal_data.sealing import PersonalDataSeal, sealed_key_id
from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from domain.enrollment_events import ContactEnrolled
from domain.errors import NotFound
from storage.compact_states import CompactMapper

CONNECT_TIMEOUT_S = 10  # seconds libpq may take to open one of the event store's connections

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)

MAX_CONFLICT_RETRIES = 8


def _replayed(stream: Iterable[Any]) -> Any:
    """The aggregate the events make, each applied in turn: the library's `project_aggregate`
    without its per-event `isinstance` check against a typing Protocol, which cost a fifth of the
    email worker's CPU (docs/performance-profile.md); every stored event here is the domain's own."""
    aggregate = None
    for event in stream:
        aggregate = event.mutate(aggregate)
    return aggregate


class CampaignApplication(Application[UUID]):
    """One event store and one notification log for campaigns, ledgers and enrollments."""

    name = "campaigns"
    personal_data: PersonalDataSeal | None = None

    def construct_mapper(self) -> Mapper[UUID]:
        """The library's mapper (transcoder, compressor and cipher as the environment says) storing
        each event's own time once (storage/stored_times.py) and an aggregate's later events
        compacted (storage/compact_states.py), but for the dispatches: the relays pick a channel's
        out of their stored JSON (storage/event_log.py); a sealed enrolment is stored headed (what
        PostgreSQL reads of it in plain, the rest compacted)."""
        mapper = self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=CompactMapper)
        if isinstance(mapper, CompactMapper):
            mapper.plain_classes = (Enrollment.StepDispatched,)
            mapper.headed_classes = (Enrollment.ContactEnrolled,)
        return mapper

    def seal_personal_data(self, seal: PersonalDataSeal) -> None:
        """Store contacts' personal data sealed with per-person keys from now on, and open them in
        the enrollments and consents this store loads (commands/personal_data/sealed_events.py).
        The composition root calls this whenever a CREDENTIALS_KEY is configured (always, in the
        embedded default)."""
        self.personal_data = seal
        self.mapper = SealingMapper(self.mapper, seal)
        self.events.mapper = self.mapper

    def address_hash(self, brand_id: UUID, address: str) -> str | None:
        """The brand's keyed hash of a normalised address; None when personal data are not sealed."""
        return None if self.personal_data is None else self.personal_data.address_hash(brand_id, address)

    def erased_keys(self, events: Iterable[Any]) -> frozenset[str]:
        """The ids of the erased keys among those the events' sealed values were sealed with (one
        query; none without sealed values): JSON shows those values as `erased`."""
        if self.personal_data is None:
            return frozenset()
        key_ids = {sealed_key_id(value) for event in events for value in sealed_values(event)}
        return frozenset(str(key_id) for key_id in self.personal_data.erased(key_ids))

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        recorder = self.recorder
        if isinstance(recorder, PostgresAggregateRecorder):
            # eventsourcing opens its pool's connections without libpq's connect timeout: with the
            # pool checking connections on checkout, a database that accepts and never answers held
            # every waiting role (and serve's stop) for psycopg's default of 130 s.
            pool = recorder.datastore.pool
            if isinstance(pool.kwargs, dict):
                pool.kwargs["connect_timeout"] = CONNECT_TIMEOUT_S

    def campaign(self, campaign_id: UUID, brand_id: UUID | None = None) -> Campaign:
        """The campaign; NotFound when missing or, given `brand_id`, when it is another brand's."""
        campaign = self._load(campaign_id, Campaign)
        if campaign is None or (brand_id is not None and campaign.brand_id != brand_id):
            raise NotFound(f"campaign {campaign_id}")
        return campaign

    def ledger(self, brand_id: UUID) -> CreditLedger:
        """The brand's credit ledger (opened with the brand); NotFound without one."""
        ledger_id = CreditLedger.create_id(brand_id)
        ledger = self._load(ledger_id, CreditLedger)
        if ledger is None:
            raise NotFound(str(ledger_id))
        return ledger

    def enrollment(self, enrollment_id: UUID) -> Enrollment:
        """The enrollment; NotFound when that contact was never enrolled in that campaign."""
        enrollment = self._load(enrollment_id, Enrollment)
        if enrollment is None:
            raise NotFound(f"enrollment {enrollment_id}")
        return enrollment

    def enrollments(self, enrollment_ids: list[UUID]) -> dict[UUID, Enrollment]:
        """The enrollments that exist among `enrollment_ids`, loaded in one query (the send path's batch)."""
        return {i: e for i, e in self.get_many(enrollment_ids).items() if isinstance(e, Enrollment)}

    def _load(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        aggregate = self.find(aggregate_id)
        return aggregate if isinstance(aggregate, kind) else None

    def find(self, aggregate_id: UUID) -> Any | None:
        try:
            aggregate: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if self.personal_data is not None:
            open_addresses(self.personal_data, aggregate)
        return aggregate

    def get_many(self, aggregate_ids: list[UUID]) -> dict[UUID, Any]:
        """Many aggregates in one query (the send path loads a batch of enrollments at once).

        Reads the PostgreSQL recorder's events table directly, ordered like `select_events`;
        with another recorder it falls back to one `get` per aggregate.
        """
        if not isinstance(self.recorder, PostgresAggregateRecorder) or not aggregate_ids:
            return {i: a for i in aggregate_ids if (a := self.find(i)) is not None}
        rows = self._query_events(
            "SELECT originator_id, originator_version, topic, state FROM {events}"
            " WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version",
            aggregate_ids,
        )
        if self.personal_data is not None:  # every key the batch's sealed values name, in one query
            self.personal_data.load(keys_of_stored(state for _, _, _, state in rows))
        events: dict[UUID, list[Any]] = {}
        for aggregate_id, version, topic, state in rows:
            stored = StoredEvent(aggregate_id, version, topic, state)
            events.setdefault(aggregate_id, []).append(self.mapper.to_domain_event(stored))
        found = {aggregate_id: _replayed(stream) for aggregate_id, stream in events.items()}
        if self.personal_data is not None:
            for aggregate in found.values():
                open_addresses(self.personal_data, aggregate)
        return found

    def versions(self, aggregate_ids: list[UUID]) -> dict[UUID, int] | None:
        """The stored version of each aggregate in one query; None with a recorder other than PostgreSQL.

        Cheaper than loading them: a caller holding aggregates can tell which ones changed.
        """
        if not isinstance(self.recorder, PostgresAggregateRecorder):
            return None
        if not aggregate_ids:
            return {}
        # One backward step in the primary key per aggregate (no group of all its rows to build).
        rows = self._query_events(
            "SELECT i, (SELECT max(originator_version) FROM {events} WHERE originator_id = i)"
            " FROM unnest(%s::uuid[]) AS i",
            aggregate_ids,
        )
        return {aggregate_id: version for aggregate_id, version in rows if version is not None}

    def _query_events(self, statement: str, aggregate_ids: list[UUID]) -> list[tuple[Any, ...]]:
        """One query on the PostgreSQL recorder's events table (`{events}` in `statement`), its
        rows as tuples in binary (bytea as bytes, no text parsing)."""
        recorder = self.recorder
        if not isinstance(recorder, PostgresAggregateRecorder):
            raise TypeError("only the PostgreSQL recorder's table can be queried")
        table = SQL("{}.{}").format(
            Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
        )
        with (
            recorder.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as cur,
        ):
            cur.execute(SQL(statement).format(events=table), [list(aggregate_ids)])
            return cur.fetchall()

    def save_all(self, aggregates: Sequence[Aggregate]) -> int | None:
        """Save in one atomic write; return the last notification id written.

        The library's `save` asks of every object whether it is a domain event or collects events:
        runtime checks against typing Protocols, which cost more than the rest of a send's
        bookkeeping on the send path (docs/performance-profile.md). Only aggregates come here, so
        their events go straight to the event store's public `put` (our recorder,
        storage/event_recorder.py, writes them). That is all the library's save does for this
        application, which keeps no aggregate cache and takes no snapshots; were either turned on,
        the library's own `save` runs instead, so nothing it would do is skipped.
        """
        if self.personal_data is not None:  # the keys of a batch of new enrolments, made at once
            self.personal_data.ensure_keys(
                (event.contact_id, event.brand_id, "contact")
                for aggregate in aggregates
                for event in aggregate.pending_events
                if isinstance(event, ContactEnrolled)
            )
        if self.snapshots is not None or self.repository.cache is not None:
            recordings = self.save(*aggregates)
        else:
            recordings = self.events.put(
                [event for aggregate in aggregates for event in aggregate.collect_events()]
            )
        return recordings[-1].notification.id if recordings else None


def save_changed(
    store: CampaignApplication, enrollments: Iterable[Enrollment], change: Callable[[Enrollment], Sized]
) -> int:
    """Apply `change` to each enrollment, save those it changed in one write; return how many steps
    it changed (`change` returns the steps it touched)."""
    changed, steps = [], 0
    for enrollment in enrollments:
        touched = len(change(enrollment))
        if touched:
            steps += touched
            changed.append(enrollment)
    store.save_all(changed)
    return steps


def retry_on_conflict(decide: Callable[[], T], attempts: int = MAX_CONFLICT_RETRIES) -> T:
    """Run load-decide-save again when another writer saved the same aggregate first.

    `decide` must load fresh state each time, so the rules are re-checked against it.
    """
    for attempt in range(attempts):
        try:
            return decide()
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
