"""Credits as money, on real PostgreSQL: a purchase is granted once per brand and reference however
often and however concurrently it is sent (20 threads at once: exactly one entry), and through the
command line: `credits grant` prints the grant as JSON and the first grant again on a repeat,
refuses an amount outside 1..10,000,000 with exit 2, an unknown brand with exit 1, and `audit
credits` shows each grant with its reference and still finds every invariant kept."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from commands.credits.brands import create_brand
from commands.credits.grant_credits import grant_credits
from domain.credit_ledger import CreditLedger, Plan
from projections.credit_ledger_entries import CreditLedgerEntries, entries
from projections.runner import ReadModelRunner
from runtime.cli import main
from tests.support import running_service

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)


def test_twenty_grants_at_once_with_one_reference_make_exactly_one_entry(database_url):
    with running_service(database_url, roles=()) as service:
        brand = create_brand(service.store, service.db, "acme", Plan.BASIC, NOW).brand_id
        start = threading.Barrier(20)

        def send(attempt: int):
            start.wait()
            return grant_credits(service.store, brand, 500 + attempt, "inv-42", f"try {attempt}", NOW)

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(send, range(20)))
        history = list(service.store.events.get(CreditLedger.create_id(brand)))
        purchases = [e for e in history if isinstance(e, CreditLedger.CreditsGranted) and e.reference]
        assert len(purchases) == 1
        [first] = purchases
        assert sum(a.created for a in answers) == 1
        assert {(a.amount, a.reason) for a in answers} == {(first.amount, first.reason)}
        assert service.store.ledger(brand).balance == 1_000 + first.amount


def test_the_ledger_listing_waits_for_a_grant_made_outside_the_api_to_be_applied(database_url):
    """Read-your-writes: the ledger's page is read once its read model has applied the ledger's
    latest event, so a grant made a moment ago (by `credits grant`, say) is on it, with its balance."""
    with running_service(database_url, roles=()) as service:  # no projector: the test applies it
        brand = create_brand(service.store, service.db, "acme", Plan.BASIC, NOW).brand_id
        runner = ReadModelRunner(service.store, service.db, CreditLedgerEntries())
        runner.run_once()
        grant_credits(service.store, brand, 250, "inv-7", None, NOW)
        listed: list[list[dict]] = []
        reader = threading.Thread(
            target=lambda: listed.append(entries(service.store, service.db, brand, 50, None)[0])
        )
        reader.start()
        time.sleep(0.5)  # the listing is waiting now; the read model applies the grant after it asked
        runner.run_once()
        reader.join(10)
        assert [(row["type"], row["amount"], row["balance_after"]) for row in listed[0]] == [
            ("granted", 1_000, 1_000),
            ("granted", 250, 1_250),
        ]


def test_twenty_purchases_at_once_with_twenty_references_are_each_granted(database_url):
    with running_service(database_url, roles=()) as service:
        brand = create_brand(service.store, service.db, "acme", Plan.BASIC, NOW).brand_id
        start = threading.Barrier(20)

        def send(attempt: int):
            start.wait()
            return grant_credits(service.store, brand, 100, f"inv-{attempt}", None, NOW)

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(send, range(20)))
        assert all(a.created for a in answers)
        assert service.store.ledger(brand).balance == 1_000 + 20 * 100


@pytest.fixture
def cli_brand(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    with running_service(database_url, roles=()) as service:
        brand = create_brand(service.store, service.db, "acme", Plan.BASIC, NOW).brand_id
    return str(brand)


def grant(capsys, *args: str) -> tuple[int, dict | None, str]:
    status = main(["credits", "grant", *args])
    captured = capsys.readouterr()
    return status, json.loads(captured.out) if captured.out.strip() else None, captured.err


def test_credits_grant_prints_the_grant_and_the_first_one_again_on_a_repeat(cli_brand, capsys):
    status, first, _ = grant(
        capsys, "--brand", cli_brand, "--amount", "2500", "--reference", "inv-7", "--reason", "invoice 7"
    )
    assert status == 0
    assert (first["amount"], first["reference"], first["reason"], first["created"]) == (
        2_500,
        "inv-7",
        "invoice 7",
        True,
    )
    assert first["balance"] == 3_500
    status, again, _ = grant(capsys, "--brand", cli_brand, "--amount", "9000", "--reference", "inv-7")
    assert status == 0 and again == {**first, "created": False}

    assert main(["audit", "credits", "--brand", cli_brand, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["violations"] == [] and report["balance"] == 3_500
    assert [(e["kind"], e["amount"], e["reference"]) for e in report["entries"]] == [
        ("grant", 1_000, None),
        ("grant", 2_500, "inv-7"),
    ]
    assert main(["audit", "credits", "--brand", cli_brand]) == 0
    assert "invoice 7 (reference inv-7)" in capsys.readouterr().out


@pytest.mark.parametrize("amount", ["0", "-3", "10000001"])
def test_credits_grant_refuses_an_amount_out_of_range_with_exit_2(cli_brand, capsys, amount):
    status, out, err = grant(capsys, "--brand", cli_brand, "--amount", amount, "--reference", "inv-8")
    assert (status, out) == (2, None) and "1 to 10,000,000" in err


def test_credits_grant_refuses_a_bad_reference_or_an_unknown_brand(cli_brand, capsys):
    status, out, err = grant(capsys, "--brand", cli_brand, "--amount", "5", "--reference", "  ")
    assert (status, out) == (2, None) and "reference" in err
    status, out, err = grant(capsys, "--brand", str(uuid4()), "--amount", "5", "--reference", "inv-9")
    assert (status, out) == (1, None) and "does not exist" in err
    with pytest.raises(SystemExit) as refused:  # not a number: argparse's own exit 2
        main(["credits", "grant", "--brand", cli_brand, "--amount", "ten", "--reference", "inv-9"])
    assert refused.value.code == 2
