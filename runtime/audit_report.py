"""How `campaign-service audit credits` shows its result: a table for people, JSON or CSV for tools."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from typing import Any, TextIO
from uuid import UUID

from projections.history.credit_audit import CreditAudit
from projections.history.ledger_audit import CampaignCredits, Entry

ENTRY_COLUMNS = (
    "position",
    "occurred_at",
    "kind",
    "amount",
    "balance_after",
    "campaign_id",
    "contact_id",
    "step_id",
    "provider_message_id",
    "reason",
    "reference",
)


def _plain(value: Any) -> Any:
    return value.isoformat().replace("+00:00", "Z") if hasattr(value, "isoformat") else value


def _campaign(campaign_id: UUID, credits: CampaignCredits) -> dict[str, Any]:
    """One campaign's figures; the steps at a provider when it closed, as a count of them and of
    those still waiting for their outcome."""
    figures = {k: v for k, v in asdict(credits).items() if k not in ("held", "sent_after_close")}
    waiting = sum(1 for ended in credits.held.values() if ended is None)
    return {
        "campaign_id": str(campaign_id),
        **figures,
        "held_at_close": len(credits.held),
        "held_waiting": waiting,
        "outstanding": credits.outstanding,
    }


def as_json(audit: CreditAudit) -> dict[str, Any]:
    ledger = audit.ledger
    return {
        "brand_id": str(audit.brand_id),
        "balance": ledger.balance,
        "entries": [{k: _plain(v) for k, v in asdict(e).items()} for e in ledger.entries],
        "campaigns": [_campaign(c, credits) for c, credits in ledger.campaigns.items()],
        "chain": {
            "aggregates": audit.aggregates,
            "stored_events": audit.stored_events,
            "intact": audit.chain_break is None,
            "break": str(audit.chain_break) if audit.chain_break else None,
        },
        "violations": [asdict(v) for v in ledger.violations],
        "notes": ledger.notes,
    }


def _what(entry: Entry) -> str:
    """The table's last column: a send's provider message id, else the reason (and a purchase's
    reference)."""
    if entry.provider_message_id:
        return entry.provider_message_id
    reason = entry.reason or ""
    return f"{reason} (reference {entry.reference})" if entry.reference else reason


def print_report(audit: CreditAudit, form: str, out: TextIO) -> None:
    if form == "json":
        json.dump(as_json(audit), out, default=str, indent=2)
        out.write("\n")
        return
    if form == "csv":
        writer = csv.writer(out)
        writer.writerow(ENTRY_COLUMNS)
        for entry in audit.ledger.entries:
            writer.writerow(["" if v is None else _plain(v) for v in asdict(entry).values()])
        return
    out.write(f"credit audit of brand {audit.brand_id}\n\n")
    out.write(
        f"{'position':>9}  {'occurred at (UTC)':<19}  {'kind':<13} {'amount':>8} {'balance':>8}  "
        f"{'campaign':<36}  {'contact':<36}  {'step':<36}  provider message id / reason (reference)\n"
    )
    for e in audit.ledger.entries:
        out.write(
            f"{e.position:>9}  {e.occurred_at:%Y-%m-%d %H:%M:%S}  {e.kind:<13} {e.amount:>8} "
            f"{e.balance_after:>8}  {e.campaign_id or '-'!s:<36}  {e.contact_id or '-'!s:<36}  "
            f"{e.step_id or '-':<36}  {_what(e)}\n"
        )
    out.write(
        f"\n{'campaign':<36}  {'reserved':>8} {'consumed':>8} {'released':>8} {'outstanding':>11} "
        f"{'sent':>6} {'step rel.':>9}  closed\n"
    )
    for campaign_id, c in audit.ledger.campaigns.items():
        out.write(
            f"{campaign_id!s:<36}  {c.reserved:>8} {c.consumed:>8} {c.released:>8} {c.outstanding:>11} "
            f"{c.sent:>6} {c.steps_released:>9}  {'yes' if c.closed_at else 'no'}\n"
        )
    chain = "intact" if audit.chain_break is None else f"BROKEN: {audit.chain_break}"
    out.write(f"\nhash chain of {audit.aggregates:,} aggregates ({audit.stored_events:,} events): {chain}\n")
    for note in audit.ledger.notes:
        out.write(f"note: {note}\n")
    for violation in audit.ledger.violations:
        out.write(f"VIOLATION {violation}\n")
