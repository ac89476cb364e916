"""A poison event in the new read models is parked, and every other campaign's rows keep coming.

The poison is injected below the API: an enrollment whose step id holds a NUL (which no text
column stores) and a grant too large for the ledger's amount column.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from storage import parked
from tests.support import Client, contacts, eventually, running_service

EMAIL_STEP = {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}


def test_poison_events_are_parked_and_other_brands_rows_keep_coming(database_url):
    with running_service(database_url) as service:
        hostile, other = Client(service), Client(service)
        now = datetime.now(UTC)
        bad_step = Step("bad\x00step", StepType.EMAIL, 0, order=0, subject="s", body="b")
        poison = Enrollment.enroll(
            uuid4(), hostile.brand_id, uuid4(), {"email": "a@x.example"}, [bad_step], now
        )
        ledger = service.store.ledger(hostile.brand_id)
        ledger.grant(2**40, "too much for the column", now)
        service.store.save_all([poison, ledger])

        other.sender("email", "sales@other.example")
        campaign_id = other.campaign(other.lead_group(contacts(2, phones=False)), [EMAIL_STEP])
        other.ok(other.post(f"/v1/campaign/{campaign_id}/launch"))

        def sent() -> list[dict]:
            items = other.ok(other.get(f"/v1/campaign/{campaign_id}/executions", params={"status": "sent"}))
            return items["items"] if len(items["items"]) == 2 else []

        eventually(sent)
        entries = other.ok(other.get("/v1/credits/ledger"))["items"]
        assert [(e["type"], e["balance_after"]) for e in entries][:2] == [
            ("granted", 1000),
            ("reserved", 998),
        ]

        executions = eventually(lambda: parked.listing(service.db, "projection:step_executions"))
        assert len(executions) == 1 and executions[0]["brand_id"] == hostile.brand_id
        assert "0x00" in executions[0]["error"]  # PostgreSQL names the NUL it refused
        grants = eventually(lambda: parked.listing(service.db, "projection:credit_ledger_entries"))
        assert len(grants) == 1 and grants[0]["brand_id"] == hostile.brand_id
        # The poisoned enrollment's lead is fine: only its steps could not be stored.
        lead = service.db.fetch_one("SELECT * FROM campaign_leads WHERE enrollment_id = %s", (poison.id,))
        assert lead is not None and lead["state"] == "active"
        # The hostile brand's ledger shows what could be stored; its later entries go on from there.
        assert [
            (e["type"], e["balance_after"]) for e in hostile.ok(hostile.get("/v1/credits/ledger"))["items"]
        ] == [("granted", 1000)]
