"""What `campaign-service audit consent --format json` gives a tool: the brand, the counts, each
change of quiet hours where it lies in the log, each send already at the provider when a
suppression took effect, each violation with the send it names, and the chain's verdict."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from uuid import UUID

from domain.quiet_hours import QuietHours
from projections.history.consent_audit import ConsentReport
from projections.history.consent_rules import Breach, ConsentAudit, InFlight, Send, Violation
from runtime.consent_report import print_report
from storage.event_chain import ChainBreak

BRAND, CAMPAIGN, CONTACT, ENROLLMENT = (UUID(int=n) for n in (1, 2, 3, 4))
AT = datetime(2026, 12, 7, 21, 15, tzinfo=UTC)
SEND = Send(40, AT, 38, AT, ENROLLMENT, CAMPAIGN, CONTACT, "s0", "sms")
SEND_JSON = {
    "position": 40,
    "sent_at": "2026-12-07T21:15:00Z",
    "attempted_position": 38,
    "attempted_at": "2026-12-07T21:15:00Z",
    "enrollment_id": str(ENROLLMENT),
    "campaign_id": str(CAMPAIGN),
    "contact_id": str(CONTACT),
    "step_id": "s0",
    "channel": "sms",
}


def test_the_json_report_names_every_finding_with_its_send_and_place_in_the_log() -> None:
    audit = ConsentAudit(
        sends_checked=9, quiet_hour_sends=4, suppressions=3, opt_outs=2, lifts=1, suspensions=1
    )
    audit.hours.append((12, QuietHours("08:00", "20:00")))
    audit.in_flight.append(InFlight(SEND, "suppression", 39))
    audit.violations.append(Violation(Breach.SENT_IN_QUIET_HOURS, SEND, None, "21:15 local"))
    report = ConsentReport(BRAND, audit, ChainBreak(CAMPAIGN, 2, 7, "link"), aggregates=5, stored_events=60)
    out = io.StringIO()
    print_report(report, "json", out)
    assert out.getvalue().endswith("}\n")
    assert json.loads(out.getvalue()) == {
        "brand_id": str(BRAND),
        "counts": {
            "sends_checked": 9,
            "suppressions": 3,
            "opt_outs": 2,
            "opt_ins": 1,
            "quiet_hour_sends": 4,
            "suspensions": 1,
        },
        "quiet_hours": [{"position": 12, "allowed_from": "08:00", "allowed_until": "20:00"}],
        "in_flight": [{**SEND_JSON, "before": "suppression", "since": 39}],
        "violations": [
            {
                "kind": "sent-in-quiet-hours",
                "position": 40,
                "since": None,
                "detail": "21:15 local",
                **SEND_JSON,
            }
        ],
        "chain": {
            "aggregates": 5,
            "stored_events": 60,
            "intact": False,
            "break": f"stored event {CAMPAIGN} v2 (log position 7): link",
        },
    }
