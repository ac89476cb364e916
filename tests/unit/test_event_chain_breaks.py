"""The hash chain's verdict on an aggregate's stored rows: each kind of break is named with the
aggregate, the version and the log position where it starts, and a second aggregate's chain starts
afresh (its first row links to nothing before it)."""

from __future__ import annotations

from uuid import UUID, uuid4

from storage.event_chain import ChainBreak, chain_link, first_break

TOPIC = "domain.credit_ledger:CreditLedger.CreditsGranted"


def chained(aggregate_id: UUID, first_position: int, versions: list[int]) -> list[tuple]:
    """Rows of one aggregate as the trigger links them, at consecutive log positions."""
    rows, previous = [], None
    for offset, version in enumerate(versions):
        state = f'{{"v": {version}}}'.encode()
        link = chain_link(previous, aggregate_id, version, TOPIC, state)
        rows.append((first_position + offset, aggregate_id, version, TOPIC, state, link))
        previous = link
    return rows


def test_two_aggregates_whose_chains_hold_have_no_break():
    assert first_break(chained(uuid4(), 1, [1, 2, 3]) + chained(uuid4(), 4, [1, 2])) is None


def test_a_missing_version_is_named_where_the_gap_is():
    ledger = uuid4()
    rows = chained(uuid4(), 1, [1, 2]) + chained(ledger, 3, [1, 3])
    assert first_break(rows) == ChainBreak(ledger, 3, 4, "version 2 is missing")


def test_a_row_stored_without_its_link_is_named():
    ledger = uuid4()
    rows = chained(uuid4(), 1, [1]) + chained(ledger, 2, [1, 2])
    rows[2] = (*rows[2][:5], None)
    assert first_break(rows) == ChainBreak(ledger, 2, 3, "the row was stored outside the hash chain")


def test_a_deleted_row_is_named_by_its_aggregate_and_version():
    ledger = uuid4()
    rows = chained(ledger, 1, [1, 2])
    rows[1] = (None, ledger, 2, None, None, rows[1][5])
    assert first_break(rows) == ChainBreak(ledger, 2, None, "the event was deleted from the store")


def test_a_changed_row_is_named():
    ledger = uuid4()
    rows = chained(ledger, 1, [1, 2])
    rows[0] = (*rows[0][:4], b'{"v": 99}', rows[0][5])
    assert first_break(rows) == ChainBreak(ledger, 1, 1, "the row was changed after it was stored")
