"""`campaign-service events export`: a real history in JSON lines, CSV and Parquet, read back with
DuckDB and pandas, typed columns, filters, and bad arguments that leave no file behind."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import psycopg
import pytest

from runtime.cli import main
from tests.stored_rows import edit_states
from tests.support import Client, contacts, eventually, running_service

STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
    {"type": "SMS", "group": 0, "body": "Hello"},
]


@pytest.fixture
def history(database_url, monkeypatch):
    """Two brands; one launches a campaign to 5 contacts who each get an email and an SMS."""
    with running_service(database_url) as service:
        client = Client(service)
        other = Client(service)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155550000")
        campaign_id = client.campaign(client.lead_group(contacts(5)), STEPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(
            lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"]["sms"] == 5
        )
    # Counted once every role has stopped: settlement and completion write on after the last send.
    with psycopg.connect(database_url) as conn:
        total = conn.execute("SELECT count(*) FROM campaigns_events").fetchone()[0]
    monkeypatch.setenv("DATABASE_URL", database_url)
    return {
        "brand": str(client.brand_id),
        "other": str(other.brand_id),
        "campaign": campaign_id,
        "total": total,
    }


def export(tmp_path: Path, form: str, *extra: str) -> Path:
    out = tmp_path / f"events.{form}"
    assert main(["events", "export", "--format", form, "--out", str(out), *extra]) == 0
    return out


def duck(query: str) -> list[tuple[Any, ...]]:
    """DuckDB's answer from an in-memory database of this call's own, not from `duckdb.sql`'s
    default one: a process forked after that one started its worker threads (mutmut forks one for
    each mutant) waits for them forever, and a surviving mutant was counted as timed out."""
    with duckdb.connect() as con:
        return con.sql(query).fetchall()


def column_types(relation: str) -> dict[str, str]:
    return {row[0]: row[1] for row in duck(f"DESCRIBE SELECT * FROM {relation}")}


TYPED = {
    "position": "BIGINT",
    "occurred_at": "TIMESTAMP WITH TIME ZONE",
    "type": "VARCHAR",
    "aggregate_id": "VARCHAR",
    "version": "BIGINT",
    "brand_id": "VARCHAR",
    "campaign_id": "VARCHAR",
    "data": "VARCHAR",
}


def test_parquet_export_has_every_event_with_typed_columns(history, tmp_path):
    out = export(tmp_path, "parquet")
    assert column_types(f"'{out}'") == TYPED
    frame = pd.read_parquet(out)
    assert len(frame) == history["total"]
    assert list(frame["position"]) == sorted(frame["position"])
    assert str(frame["occurred_at"].dtype) == "datetime64[us, UTC]"
    sent = frame[frame["type"] == "StepSent"]
    assert len(sent) == 10
    assert set(sent["campaign_id"]) == {history["campaign"]}
    assert set(sent["brand_id"]) == {history["brand"]}
    assert {json.loads(d)["channel"] for d in sent["data"]} == {"email", "sms"}
    attempted = frame[frame["type"] == "StepAttempted"]  # names no campaign itself: looked up
    assert set(attempted["campaign_id"]) == {history["campaign"]}


def test_csv_export_reads_back_with_the_same_types(history, tmp_path):
    out = export(tmp_path, "csv")
    assert column_types(f"read_csv('{out}')") == TYPED
    count = duck(f"SELECT count(*) FROM read_csv('{out}')")[0][0]
    assert count == history["total"]


def test_jsonl_export_has_one_event_per_line(history, tmp_path):
    lines = export(tmp_path, "jsonl").read_text().splitlines()
    assert len(lines) == history["total"]
    first = json.loads(lines[0])
    assert first["type"] == "LedgerOpened" and first["occurred_at"].endswith("Z")
    assert json.loads(first["data"])["plan"] == "basic"


def test_filters_by_type_brand_and_time(history, tmp_path):
    sent = pd.read_parquet(export(tmp_path, "parquet", "--type", "StepSent,StepAttempted"))
    assert set(sent["type"]) == {"StepSent", "StepAttempted"} and len(sent) == 20
    other = pd.read_parquet(export(tmp_path, "parquet", "--brand", history["other"]))
    # QuietHoursChanged: the test client lets its texts go out at any hour, and that is an event
    assert set(other["type"]) == {
        "LedgerOpened",
        "CreditsGranted",
        "ApiKeysOpened",
        "ApiKeyIssued",
        "QuietHoursChanged",
    }
    assert set(other["brand_id"]) == {history["other"]}
    everything = pd.read_parquet(export(tmp_path, "parquet"))
    middle = everything["occurred_at"].sort_values().iloc[len(everything) // 2]
    later = pd.read_parquet(export(tmp_path, "parquet", "--since", middle.isoformat()))
    earlier = pd.read_parquet(export(tmp_path, "parquet", "--until", middle.isoformat()))
    assert len(later) + len(earlier) == len(everything)
    assert (later["occurred_at"] >= middle).all() and (earlier["occurred_at"] < middle).all()


def test_an_export_of_events_that_name_no_brand_still_gives_each_its_brand(history, tmp_path):
    # A StepAttempted names neither its brand nor its campaign, and without the campaign's own
    # events in the export the brand is looked up from the campaign's first stored event.
    attempted = pd.read_parquet(export(tmp_path, "parquet", "--type", "StepAttempted"))
    assert len(attempted) == 10
    assert set(attempted["brand_id"]) == {history["brand"]}
    assert set(attempted["campaign_id"]) == {history["campaign"]}
    mine = pd.read_parquet(
        export(tmp_path, "parquet", "--type", "StepAttempted", "--brand", history["brand"])
    )
    assert len(mine) == 10
    theirs = pd.read_parquet(
        export(tmp_path, "parquet", "--type", "StepAttempted", "--brand", history["other"])
    )
    assert len(theirs) == 0


def test_no_secret_is_ever_exported(history, tmp_path):
    text = export(tmp_path, "jsonl").read_text()
    for word in ("credentials", "api_key", "refresh_token", "password"):
        assert word not in text


def test_a_secret_field_in_any_stored_event_is_left_out_of_the_export(history, tmp_path):
    # No event carries one today; one written by hand (or by a future event) is still never exported.
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        edited = edit_states(
            conn,
            "topic LIKE %s",
            ["%LedgerOpened"],
            b'"plan":"basic"',
            b'"plan":"basic","Password":"hunter2"',
        )
    assert len(edited) == 2
    text = export(tmp_path, "jsonl").read_text()
    assert "hunter2" not in text and "Password" not in text
    opened = [json.loads(line) for line in text.splitlines() if json.loads(line)["type"] == "LedgerOpened"]
    assert [json.loads(row["data"])["plan"] for row in opened] == ["basic", "basic"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--since", "yesterday"], "bad time 'yesterday'"),
        (["--type", "StepTeleported"], "unknown event type StepTeleported"),
        (["--brand", "acme"], "bad brand id 'acme'"),
    ],
)
def test_bad_arguments_are_refused_and_leave_no_file(history, tmp_path, capsys, arguments, message):
    out = tmp_path / "events.parquet"
    assert main(["events", "export", "--format", "parquet", "--out", str(out), *arguments]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_format_or_an_unwritable_path_is_refused(history, tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        main(["events", "export", "--format", "xlsx", "--out", str(tmp_path / "e.xlsx")])
    assert refused.value.code == 2 and "invalid choice: 'xlsx'" in capsys.readouterr().err
    missing = tmp_path / "no-such-folder" / "events.csv"
    assert main(["events", "export", "--format", "csv", "--out", str(missing)]) == 2
    assert "cannot write the export to" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_failed_export_keeps_the_previous_file_and_leaves_no_partial_one(history, tmp_path, monkeypatch):
    out = tmp_path / "events.csv"
    out.write_text("the previous export\n")

    def broken(*_args, **_kwargs):
        yield from ()
        raise RuntimeError("the database went away")

    monkeypatch.setattr("projections.history.export_rows.export_rows", broken)
    with pytest.raises(RuntimeError):
        main(["events", "export", "--format", "csv", "--out", str(out)])
    assert out.read_text() == "the previous export\n"
    assert list(tmp_path.iterdir()) == [out]


def test_an_attempt_stored_before_attempts_named_their_campaign_is_exported_under_its_campaign(
    history, tmp_path
):
    # Attempts recorded before version 2 name no campaign: the export takes their enrollment's
    # (its first event's), written as a UUID like every other campaign_id in the file.
    campaign_hex = history["campaign"].replace("-", "").encode()
    named = b'"campaign_id":{"_type_":"uuid_hex","_data_":"' + campaign_hex + b'"}'
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        edited = edit_states(conn, "topic LIKE %s", ["%StepAttempted"], named, b'"campaign_id":null')
    assert len(edited) == 10
    attempted = pd.read_parquet(export(tmp_path, "parquet", "--type", "StepAttempted"))
    assert sorted(attempted["position"]) == edited
    assert {json.loads(d).get("campaign_id") for d in attempted["data"]} == {None}
    assert set(attempted["campaign_id"]) == {history["campaign"]}
    assert set(attempted["brand_id"]) == {history["brand"]}
