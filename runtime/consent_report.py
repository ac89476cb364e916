"""How `campaign-service audit consent` shows its result: a table for people, JSON for tools."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, TextIO

from domain.quiet_hours import QuietHours
from projections.history.consent_audit import ConsentReport
from projections.history.consent_rules import Send


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return value if isinstance(value, (int, str)) or value is None else str(value)


def _send(send: Send) -> dict[str, Any]:
    return {k: _plain(v) for k, v in asdict(send).items()}


def counts(report: ConsentReport) -> dict[str, int]:
    audit = report.consent
    return {
        "sends_checked": audit.sends_checked,
        "suppressions": audit.suppressions,
        "opt_outs": audit.opt_outs,
        "opt_ins": audit.lifts,
        "quiet_hour_sends": audit.quiet_hour_sends,
        "suspensions": audit.suspensions,
    }


def as_json(report: ConsentReport) -> dict[str, Any]:
    audit = report.consent
    return {
        "brand_id": str(report.brand_id),
        "counts": counts(report),
        "quiet_hours": [
            {"position": position, "allowed_from": h.allowed_from, "allowed_until": h.allowed_until}
            for position, h in audit.hours
        ],
        "in_flight": [
            {**_send(note.send), "before": note.before, "since": note.since} for note in audit.in_flight
        ],
        "violations": [
            {
                "kind": str(v.kind),
                "position": v.position,
                "since": v.since,
                "detail": v.detail,
                **_send(v.send),
            }
            for v in audit.violations
        ],
        "chain": {
            "aggregates": report.aggregates,
            "stored_events": report.stored_events,
            "intact": report.chain_break is None,
            "break": str(report.chain_break) if report.chain_break else None,
        },
    }


def print_report(report: ConsentReport, form: str, out: TextIO) -> None:
    if form == "json":
        json.dump(as_json(report), out, indent=2)
        out.write("\n")
        return
    audit = report.consent
    out.write(f"consent audit of brand {report.brand_id}\n\n")
    for name, value in counts(report).items():
        out.write(f"{name.replace('_', ' '):<18} {value:>9,}\n")
    default = QuietHours()
    out.write(
        f"\ntexts and calls allowed (the contact's local time): {default.allowed_from}-"
        f"{default.allowed_until}, the defaults, until a change is recorded\n"
    )
    for position, hours in audit.hours:
        out.write(f"  from log position {position}: {hours.allowed_from}-{hours.allowed_until}\n")
    chain = "intact" if report.chain_break is None else f"BROKEN: {report.chain_break}"
    out.write(
        f"\nhash chain of {report.aggregates:,} aggregates ({report.stored_events:,} events): {chain}\n"
    )
    for note in audit.in_flight:
        out.write(f"note: {note}\n")
    for violation in audit.violations:
        out.write(f"VIOLATION {violation}\n")
