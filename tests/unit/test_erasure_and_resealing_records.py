"""What the records of an erasure and of a re-seal hold: an erasure is one per brand and person
(erasing again finds the same record), and a re-seal's batches add up the rows they rewrote, with a
batch that rewrote nothing leaving no event an auditor would have to explain."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from domain.erasure import PersonErasure
from domain.resealing import EventResealing

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_an_erasure_is_one_record_per_brand_and_person() -> None:
    brand, other_brand, contact = uuid4(), uuid4(), str(uuid4())
    first = PersonErasure.create_id(brand, contact)
    assert PersonErasure.create_id(brand, contact) == first
    assert PersonErasure.create_id(other_brand, contact) != first
    assert PersonErasure.create_id(brand, str(uuid4())) != first


def test_an_erasure_says_who_asked_when_and_which_contact() -> None:
    brand, contact = uuid4(), uuid4()
    erasure = PersonErasure.record(brand, str(contact), contact, "operator: ann", T0)
    assert erasure.id == PersonErasure.create_id(brand, str(contact))
    assert (erasure.brand_id, erasure.contact_id) == (brand, contact)
    assert (erasure.erased_by, erasure.erased_at) == ("operator: ann", T0)
    (created,) = erasure.collect_events()
    assert isinstance(created, PersonErasure.PersonErased)
    assert (created.brand_id, created.contact_id, created.erased_by, created.erased_at) == (
        brand,
        contact,
        "operator: ann",
        T0,
    )


def test_an_erasure_of_an_address_nobodys_contact_names_no_contact() -> None:
    erasure = PersonErasure.record(uuid4(), "hash-of-an-address", None, "admin api", T0)
    assert erasure.contact_id is None


def test_a_reseal_counts_the_rows_of_each_batch_and_records_no_empty_batch() -> None:
    run, brand = uuid4(), uuid4()
    resealing = EventResealing.begin(run, brand, "cli: root", T0)
    assert (resealing.id, resealing.brand_id, resealing.begun_by, resealing.begun_at) == (
        run,
        brand,
        "cli: root",
        T0,
    )
    assert resealing.resealed == 0
    rows = [{"aggregate_id": str(uuid4()), "version": 1, "old_link": "aa", "new_link": "bb"}]
    resealing.record(rows, "cli: root", T0)
    resealing.record([], "cli: root", T0)
    resealing.record(rows * 2, "cli: root", T0)
    assert resealing.resealed == 3
    begun, *batches = resealing.collect_events()
    assert isinstance(begun, EventResealing.ResealingBegun)
    assert (begun.brand_id, begun.begun_by, begun.begun_at) == (brand, "cli: root", T0)
    assert [len(batch.rows) for batch in batches] == [1, 2]
    assert all((b.resealed_by, b.resealed_at) == ("cli: root", T0) for b in batches)
