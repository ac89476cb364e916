"""What `campaign-service audit credits` prints: the auditor's table line by line (each entry with
what it was for, each campaign's figures, the chain's verdict, every note and violation), the
same audit as JSON for tools, and as CSV with one row per entry."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from uuid import UUID

from projections.history.credit_audit import CreditAudit
from projections.history.ledger_audit import Audit, CampaignCredits, Entry, Violation
from runtime.audit_report import ENTRY_COLUMNS, print_report
from storage.event_chain import ChainBreak

BRAND = UUID(int=1)
CAMPAIGN = UUID(int=2)
CONTACT = UUID(int=3)
AT = datetime(2026, 12, 7, 9, 30, 5, tzinfo=UTC)


def _audit(chain_break: ChainBreak | None = None) -> CreditAudit:
    entries = [
        Entry(1, AT, "grant", 100, 100, reason="plan BASIC", reference="inv-7"),
        Entry(5, AT, "reservation", -2, 98, campaign_id=CAMPAIGN),
        Entry(9, AT, "send", 1, 98, CAMPAIGN, CONTACT, "e0", provider_message_id="gm-1"),
        Entry(12, AT, "released", 1, 99, campaign_id=CAMPAIGN, reason="replied"),
    ]
    credits = CampaignCredits(reserved=2, consumed=1, released=1, sent=1, steps_released=1, closed_at=12)
    credits.held[(CONTACT, "e0")] = None
    credits.held[(CONTACT, "s0")] = 11
    ledger = Audit(
        entries=entries,
        campaigns={CAMPAIGN: credits},
        violations=[Violation("no send without a reservation", 9, "2 credits sent of 1")],
        balance=99,
        notes=["a grant outside the plan"],
    )
    return CreditAudit(BRAND, ledger, chain_break, aggregates=1234, stored_events=56789)


def _printed(audit: CreditAudit, form: str) -> str:
    out = io.StringIO()
    print_report(audit, form, out)
    return out.getvalue()


def test_the_auditors_table_shows_every_entry_campaign_chain_note_and_violation() -> None:
    dash = "-"
    assert _printed(_audit(), "table").splitlines() == [
        f"credit audit of brand {BRAND}",
        "",
        f"{'position':>9}  {'occurred at (UTC)':<19}  {'kind':<13} {'amount':>8} {'balance':>8}  "
        f"{'campaign':<36}  {'contact':<36}  {'step':<36}  provider message id / reason (reference)",
        f"        1  2026-12-07 09:30:05  grant              100      100  {dash:<36}  {dash:<36}  "
        f"{dash:<36}  plan BASIC (reference inv-7)",
        f"        5  2026-12-07 09:30:05  reservation         -2       98  {CAMPAIGN!s:<36}  {dash:<36}  "
        f"{dash:<36}  ",
        f"        9  2026-12-07 09:30:05  send                 1       98  {CAMPAIGN!s:<36}  {CONTACT!s:<36}  "
        f"{'e0':<36}  gm-1",
        f"       12  2026-12-07 09:30:05  released             1       99  {CAMPAIGN!s:<36}  {dash:<36}  "
        f"{dash:<36}  replied",
        "",
        f"{'campaign':<36}  reserved consumed released outstanding   sent step rel.  closed",
        f"{CAMPAIGN!s:<36}         2        1        1           0      1         1  yes",
        "",
        "hash chain of 1,234 aggregates (56,789 events): intact",
        "note: a grant outside the plan",
        "VIOLATION no send without a reservation (log position 9): 2 credits sent of 1",
    ]


def test_a_broken_chain_is_shown_where_it_breaks_and_an_open_campaign_as_not_closed() -> None:
    audit = _audit(ChainBreak(CAMPAIGN, 3, 41, "link does not match"))
    audit.ledger.campaigns[CAMPAIGN].closed_at = None
    printed = _printed(audit, "table").splitlines()
    assert printed[-3] == (
        f"hash chain of 1,234 aggregates (56,789 events): BROKEN: stored event {CAMPAIGN} v3 "
        "(log position 41): link does not match"
    )
    assert printed[-5].endswith("  no")


def test_the_json_report_holds_the_figures_a_tool_reads() -> None:
    report = json.loads(_printed(_audit(ChainBreak(CAMPAIGN, 3, None, "row deleted")), "json"))
    assert report["brand_id"] == str(BRAND) and report["balance"] == 99
    assert report["entries"][2] == {
        "position": 9,
        "occurred_at": "2026-12-07T09:30:05Z",
        "kind": "send",
        "amount": 1,
        "balance_after": 98,
        "campaign_id": str(CAMPAIGN),
        "contact_id": str(CONTACT),
        "step_id": "e0",
        "provider_message_id": "gm-1",
        "reason": None,
        "reference": None,
    }
    assert report["campaigns"] == [
        {
            "campaign_id": str(CAMPAIGN),
            "reserved": 2,
            "reserved_at": None,
            "consumed": 1,
            "released": 1,
            "sent": 1,
            "steps_released": 1,
            "closed_at": 12,
            "settled_close_at": None,
            "held_at_close": 2,
            "held_waiting": 1,
            "outstanding": 0,
        }
    ]
    assert report["chain"] == {
        "aggregates": 1234,
        "stored_events": 56789,
        "intact": False,
        "break": f"stored event {CAMPAIGN} v3 (a deleted row): row deleted",
    }
    assert report["violations"] == [
        {"invariant": "no send without a reservation", "position": 9, "detail": "2 credits sent of 1"}
    ]
    assert report["notes"] == ["a grant outside the plan"]
    assert _printed(_audit(), "json").endswith("}\n")
    assert json.loads(_printed(_audit(), "json"))["chain"]["intact"] is True


def test_the_csv_report_is_one_row_per_entry_with_empty_cells_for_what_it_lacks() -> None:
    rows = list(csv.reader(io.StringIO(_printed(_audit(), "csv"))))
    assert rows[0] == list(ENTRY_COLUMNS)
    assert rows[1] == [
        "1",
        "2026-12-07T09:30:05Z",
        "grant",
        "100",
        "100",
        "",
        "",
        "",
        "",
        "plan BASIC",
        "inv-7",
    ]
    assert rows[3] == [
        "9",
        "2026-12-07T09:30:05Z",
        "send",
        "1",
        "98",
        str(CAMPAIGN),
        str(CONTACT),
        "e0",
        "gm-1",
        "",
        "",
    ]
    assert len(rows) == 5
