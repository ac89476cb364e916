"""Read model: each brand's credit ledger as entries with a running balance.

One row per ledger event, keyed by its log position: a grant (a purchase's with its reference), a
campaign's reservation, and the
settlement of that reservation (consumed by sends, or released back). `balance_after` is what the
brand can still reserve once the entry is applied: grants add, reservations take, releases give
back, and consumption leaves it alone (the credit was taken when it was reserved). A batch reads
each brand's last balance once, runs the balances on in memory and inserts with one executemany.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from domain.credit_ledger import CreditLedger
from projections.runner import wait_for_position
from storage.database import Database
from storage.event_log import last_position
from storage.paging import page_by_position, position_after

# entry type, and the sign of its effect on the balance
KINDS: dict[type, tuple[str, int]] = {
    CreditLedger.CreditsGranted: ("granted", 1),
    CreditLedger.CreditsReserved: ("reserved", -1),
    CreditLedger.CreditsConsumed: ("consumed", 0),
    CreditLedger.CreditsReleased: ("released", 1),
}


class CreditLedgerEntries:
    name = "credit_ledger_entries"
    tables = ("credit_ledger_entries",)
    events = tuple(KINDS)

    def reset(self, cur: Any) -> None:
        cur.execute("DELETE FROM credit_ledger_entries")

    def apply(self, cur: Any, events: list[tuple[int, Any]]) -> None:
        ledgers = list({event.originator_id for _, event in events})
        cur.execute(
            """SELECT DISTINCT ON (ledger_id) ledger_id, balance_after FROM credit_ledger_entries
               WHERE ledger_id = ANY(%s) ORDER BY ledger_id, position DESC""",
            (ledgers,),
        )
        balances: dict[UUID, int] = {row["ledger_id"]: row["balance_after"] for row in cur.fetchall()}
        rows = []
        for position, event in events:
            kind, sign = KINDS[type(event)]
            balance = balances.get(event.originator_id, 0) + sign * event.amount
            balances[event.originator_id] = balance
            campaign = getattr(event, "campaign_id", None)
            reason = getattr(event, "reason", None)
            reference = getattr(event, "reference", None)  # a purchase's
            rows.append(
                (
                    position,
                    event.originator_id,
                    event.timestamp,
                    kind,
                    event.amount,
                    balance,
                    campaign,
                    reason,
                    reference,
                )
            )
        cur.executemany(
            """INSERT INTO credit_ledger_entries (position, ledger_id, occurred_at, type, amount,
               balance_after, campaign_id, reason, reference) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)
               ON CONFLICT (position) DO NOTHING""",
            rows,
        )


def entries(
    store: Application[UUID], db: Database, brand_id: UUID, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the brand's ledger entries in log order; InvalidCursor for a cursor not handed out.

    Waits (a few seconds at most) for the entries to include the ledger's latest event, so the
    last balance agrees with the ledger itself, grants made outside the API included.
    """
    ledger_id = CreditLedger.create_id(brand_id)
    wait_for_position(db, [CreditLedgerEntries.name], last_position(store, db, ledger_id))
    rows = db.fetch_all(
        """SELECT * FROM credit_ledger_entries WHERE ledger_id = %s AND position > %s
           ORDER BY position LIMIT %s""",
        (ledger_id, position_after(cursor), limit + 1),
    )
    return page_by_position(rows, limit)


def totals(db: Database) -> dict[str, int]:
    """Credits granted, reserved, consumed and released so far, across brands (for /metrics)."""
    rows = db.fetch_all("SELECT type, sum(amount) AS n FROM credit_ledger_entries GROUP BY type")
    found = {row["type"]: int(row["n"]) for row in rows}
    return {kind: found.get(kind, 0) for kind, _ in KINDS.values()}
