"""The operators' commands on a brand, through the CLI's main() on real PostgreSQL: `brand list`
and `brand show` (plan, balance, status, renewal date, key count, as JSON or a table), `brand plan`
(granted from the next renewal), `brand suspend --reason` and `brand reinstate`, each recorded as
an event naming the operator; an unknown brand exits 1."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from domain.credit_ledger import CreditLedger
from runtime.cli import main
from tests.support import running_service


@pytest.fixture
def brand_id(database_url, monkeypatch, capsys) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["brand", "create", "Acme", "--plan", "standard"]) == 0
    return json.loads(capsys.readouterr().out)["brand_id"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_brand_list_and_show_give_plan_balance_status_renewal_and_keys(brand_id, capsys):
    status, out, _ = run(capsys, "brand", "list", "--format", "json")
    assert status == 0
    [listed] = json.loads(out)
    assert listed["id"] == brand_id and listed["name"] == "Acme"
    assert (listed["plan"], listed["balance"], listed["status"], listed["key_count"]) == (
        "standard",
        10_000,
        "active",
        1,
    )
    renews = datetime.fromisoformat(listed["renews_at"])
    assert renews > datetime.now(UTC) and (renews.hour, renews.minute) == (0, 0)

    status, out, _ = run(capsys, "brand", "show", brand_id, "--format", "json")
    assert status == 0 and json.loads(out) == listed
    status, table, _ = run(capsys, "brand", "list")
    assert (
        status == 0 and brand_id in table and "standard" in table and "active" in table and "10000" in table
    )
    assert run(capsys, "brand", "show", str(uuid4()))[0] == 1


def test_plan_suspension_and_reinstatement_are_recorded_with_who_did_them(brand_id, capsys, database_url):
    status, out, _ = run(capsys, "brand", "plan", brand_id, "premium")
    assert status == 0 and json.loads(out)["plan"] == "premium" and json.loads(out)["balance"] == 10_000
    status, out, _ = run(capsys, "brand", "suspend", brand_id, "--reason", "chargeback on invoice 12")
    shown = json.loads(out)
    assert status == 0 and (shown["status"], shown["suspension_reason"]) == (
        "suspended",
        "chargeback on invoice 12",
    )
    status, table, _ = run(capsys, "brand", "show", brand_id)
    assert "suspended" in table and "chargeback on invoice 12" in table
    status, out, _ = run(capsys, "brand", "reinstate", brand_id)
    assert status == 0 and json.loads(out)["status"] == "active" and json.loads(out)["suspended_at"] is None
    assert run(capsys, "brand", "suspend", brand_id, "--reason", "")[0] == 2

    with running_service(database_url, roles=()) as service:
        history = list(service.store.events.get(CreditLedger.create_id(UUID(brand_id))))
    changed = [e for e in history if isinstance(e, CreditLedger.PlanChanged)]
    down = [e for e in history if isinstance(e, CreditLedger.BrandSuspended)]
    up = [e for e in history if isinstance(e, CreditLedger.BrandReinstated)]
    assert [(e.previous_plan, e.plan) for e in changed] == [("standard", "premium")]
    assert [e.reason for e in down] == ["chargeback on invoice 12"] and len(up) == 1
    assert all(
        who.startswith("cli") for who in (changed[0].changed_by, down[0].suspended_by, up[0].reinstated_by)
    )
