"""One brand's poison event or row is parked; every other brand's campaigns keep moving.

The poison is injected below the API (the API refuses such input since issue 7): a stored event
that the campaign read model cannot apply, a campaign whose due dates overflow, an account that
the midnight reset cannot update. Each time, another brand runs a whole campaign meanwhile.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import psycopg

from commands.sending.daily_reset import reset_daily_quotas
from domain.campaign import Campaign
from runtime import cli
from storage import containment, parked
from storage.database import Database
from storage.schema import upgrade
from tests.support import Client, contacts, eventually, running_service

EMAIL_STEP = {"type": "EMAIL", "group": 0, "subject": "Hi {{first_name|there}}", "body": "Hello"}


def _run_campaign_to_completion(client: Client, name: str) -> dict:
    group = client.lead_group(contacts(3, phones=False))
    client.sender("email", f"{uuid4().hex[:8]}@acme.example")
    campaign = client.campaign(group, [EMAIL_STEP], name=name)
    client.ok(client.post(f"/v1/campaign/{campaign}/launch"))

    def settled() -> dict | None:  # completed, and settlement has caught up with it
        detail = client.ok(client.get(f"/v1/campaign/{campaign}"))
        done = detail["status"] == "COMPLETED" and detail["credits"]["outstanding"] == 0
        return detail if done else None

    return eventually(settled)


def _inject_campaign(service, brand_id: UUID, **fields) -> UUID:
    """Save a Campaign's creation event as given, skipping the checks of Campaign.create."""
    campaign_id = uuid4()
    values = {
        "brand_id": brand_id,
        "name": "injected",
        "audience_type": "leads",
        "ai_personalization": False,
        "lead_group_ids": [],
        "steps": [],
        "timezone": "UTC",
        "sending_window": {},
        "created_at": datetime.now(UTC),
        **fields,
    }
    service.store.save(Campaign._create(Campaign.CampaignCreated, id=campaign_id, **values))
    return campaign_id


def test_an_event_the_read_model_cannot_apply_is_parked_and_other_brands_keep_moving(
    database_url, capsys, monkeypatch
):
    with running_service(database_url) as service:
        hostile, other = Client(service), Client(service)
        poison = _inject_campaign(service, hostile.brand_id, name="bad\x00name")

        done = _run_campaign_to_completion(other, "after the poison")
        assert done["metrics"]["sent"]["email"] == 3
        assert done["credits"] == {"reserved": 3, "consumed": 3, "released": 0, "outstanding": 0}
        # The hostile brand's own next campaign is not held back either.
        assert _run_campaign_to_completion(hostile, "its next one")["metrics"]["sent"]["email"] == 3

        items = parked.listing(service.db, "projection:campaign_summaries")
        assert len(items) == 1
        assert items[0]["brand_id"] == hostile.brand_id
        assert items[0]["status"] == "parked"
        assert items[0]["attempts"] == containment.IN_PLACE_TRIES
        assert "NUL" in items[0]["error"]
        assert hostile.get(f"/v1/campaign/{poison}").status_code == 404
        assert 'parked_items{follower="projection:campaign_summaries"} 1.0' in other.get("/metrics").text
        assert other.ok(other.get("/readyz"))["parked"] == {"projection:campaign_summaries": 1}

        # The operator sees it from the CLI, and a retry of an item that still fails parks it again.
        monkeypatch.setenv("DATABASE_URL", database_url)
        status = cli.main(["parked", "list", "--follower", "projection:campaign_summaries"])
        listed = capsys.readouterr().out
        assert status == 0
        assert str(hostile.brand_id) in listed and "NUL" in listed
        assert cli.main(["parked", "retry", str(items[0]["id"])]) == 0
        eventually(lambda: parked.listing(service.db)[0]["status"] == "parked")
        assert cli.main(["parked", "retry", "999999"]) == 1


def test_a_campaign_whose_due_dates_overflow_is_parked_by_the_enroller_alone(database_url):
    with running_service(database_url) as service:
        hostile, other = Client(service), Client(service)
        group = hostile.lead_group(contacts(2, phones=False))
        hostile.sender("email", "sales@hostile.example")
        steps = [  # a WAIT delays its own group: group 0 falls due after year 9999
            {"id": "s1", "type": "WAIT", "group": 0, "order": 0, "wait_days": 3_000_000},
            {"id": "s2", "type": "EMAIL", "group": 0, "order": 1, "subject": "Hi", "body": "Hello"},
        ]
        poison = _inject_campaign(service, hostile.brand_id, steps=steps, lead_group_ids=[group])
        hostile.ok(hostile.post(f"/v1/campaign/{poison}/launch"))

        assert _run_campaign_to_completion(other, "while the enroller chokes")["status"] == "COMPLETED"

        def parked_after_its_backoffs() -> list[dict]:
            # Time passes for the failing item: its backoff (2, 4, 8, 16 s) is spent at once.
            service.db.execute(
                "UPDATE parked_items SET last_seen = last_seen - interval '1 hour' WHERE status = 'failing'"
            )
            return [i for i in parked.listing(service.db, "enroller") if i["status"] == "parked"]

        item = eventually(parked_after_its_backoffs)
        assert item[0]["item"] == str(poison)
        assert item[0]["brand_id"] == hostile.brand_id
        assert item[0]["attempts"] == containment.PERIODIC_TRIES
        assert "Overflow" in item[0]["error"]


def test_a_dispatch_whose_outcome_cannot_be_recorded_is_parked_by_the_worker_alone(database_url):
    with running_service(database_url) as service:
        hostile, other = Client(service), Client(service)
        group = hostile.lead_group(contacts(2, phones=False))
        hostile.sender("email", "sales@hostile.example")
        steps = [  # group 0 goes out; scheduling group 1 when it is sent overflows
            {"id": "s0", "type": "EMAIL", "group": 0, "order": 0, "subject": "Hi", "body": "Hello"},
            {"id": "s1", "type": "WAIT", "group": 1, "order": 0, "wait_days": 3_000_000},
            {"id": "s2", "type": "EMAIL", "group": 1, "order": 1, "subject": "Hi", "body": "Hello"},
        ]
        poison = _inject_campaign(service, hostile.brand_id, steps=steps, lead_group_ids=[group])
        hostile.ok(hostile.post(f"/v1/campaign/{poison}/launch"))

        assert _run_campaign_to_completion(other, "while the worker chokes")["status"] == "COMPLETED"
        items = eventually(
            lambda: len(parked.listing(service.db, "worker:email")) == 2 and parked.listing(service.db)
        )
        assert {item["brand_id"] for item in items} == {hostile.brand_id}
        assert all("Overflow" in item["error"] for item in items)
        # Tried three times each, yet the provider got each message once (attempts are reconciled).
        assert len(hostile.outbox(str(poison))) == 2


def test_an_enormous_warmup_increment_no_longer_stops_the_midnight_reset(database_url):
    with running_service(database_url, roles=()) as service:
        hostile, other = Client(service), Client(service)
        bad = hostile.sender("email", "warm@hostile.example")
        good = other.sender("email", "sales@other.example")
        service.db.execute(
            """UPDATE sender_accounts SET warmup_enabled = true, warmup_daily_increment = 2000000000,
                      warmup_day = 5, sends_today = 3 WHERE id = %s""",
            (bad["id"],),
        )
        service.db.execute("UPDATE sender_accounts SET sends_today = 7 WHERE id = %s", (good["id"],))
        assert reset_daily_quotas(service.db, datetime.now(UTC) + timedelta(days=1)) == 2
        rows = {str(r["id"]): r for r in service.db.fetch_all("SELECT * FROM sender_accounts")}
        assert rows[good["id"]]["sends_today"] == 0
        assert rows[bad["id"]]["sends_today"] == 0
        assert rows[bad["id"]]["limit_today"] == rows[bad["id"]]["daily_limit"]  # capped, not overflowed


def test_an_account_the_reset_cannot_update_is_parked_and_the_others_are_reset(database_url, caplog):
    with running_service(database_url, roles=()) as service:
        hostile, other = Client(service), Client(service)
        bad = hostile.sender("email", "broken@hostile.example")
        good = other.sender("email", "sales@other.example")
        service.db.execute("UPDATE sender_accounts SET sends_today = 1")
        # A fault in one row, injected in PostgreSQL itself: updating that account raises.
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                """CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS
                   $$ BEGIN RAISE EXCEPTION 'this row cannot be updated'; END $$"""
            )
            conn.execute(
                f"""CREATE TRIGGER refuse BEFORE UPDATE ON sender_accounts FOR EACH ROW
                    WHEN (OLD.id = '{bad["id"]}') EXECUTE FUNCTION refuse_update()"""
            )
        day = datetime.now(UTC)
        for days in range(1, containment.PERIODIC_TRIES + 1):
            service.db.execute(
                "UPDATE parked_items SET last_seen = now() - interval '1 hour'"
            )  # backoff over
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="commands.sending.daily_reset"):
                reset_daily_quotas(service.db, day + timedelta(days=days))
            if days == 1:  # the operator is told why the one statement for everyone was not enough
                [told] = [r.getMessage() for r in caplog.records if r.name == "commands.sending.daily_reset"]
                assert told.startswith("daily reset of every account at once failed (")
                assert "this row cannot be updated" in told
                assert told.endswith("); resetting them one by one")
            assert service.db.fetch_one(
                "SELECT sends_today FROM sender_accounts WHERE id = %s", (good["id"],)
            ) == {"sends_today": 0}
        [item] = parked.listing(service.db, "daily_reset")
        assert (item["item"], item["status"], item["brand_id"]) == (bad["id"], "parked", hostile.brand_id)
        assert item["attempts"] == containment.PERIODIC_TRIES
        assert "this row cannot be updated" in item["error"]
        # Parked, the account is left out of the one statement that resets everyone else.
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="commands.sending.daily_reset"):
            assert reset_daily_quotas(service.db, day + timedelta(days=containment.PERIODIC_TRIES + 1)) == 1
        assert "one by one" not in caplog.text


def test_a_periodic_jobs_failing_item_is_logged_as_retried_then_as_parked_at_its_last_try(
    database_url, caplog
):
    upgrade(database_url)
    db = Database(database_url)
    brand = uuid4()
    try:
        with caplog.at_level(logging.WARNING, logger="storage.parked"):
            outcomes = [
                parked.record_failure(db, "enroller", "campaign-7", brand, ValueError("bad date"))
                for _ in range(containment.PERIODIC_TRIES)
            ]
        assert outcomes == [False] * (containment.PERIODIC_TRIES - 1) + [True]
        lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "storage.parked"]
        assert lines == [
            (logging.WARNING, "enroller: campaign-7 failed (ValueError: bad date); will retry")
        ] * (containment.PERIODIC_TRIES - 1) + [
            (logging.ERROR, "enroller: campaign-7 failed (ValueError: bad date); parked")
        ]
        [row] = parked.listing(db, "enroller")
        assert (row["item"], row["brand_id"], row["status"]) == ("campaign-7", brand, "parked")
    finally:
        db.close()


def test_an_item_parked_at_once_is_logged_with_its_follower_brand_attempts_and_error(database_url, caplog):
    db = Database(database_url)
    brand = uuid4()
    try:
        with caplog.at_level(logging.ERROR, logger="storage.parked"), db.transaction() as cur:
            parked.park(cur, "relay:email", "42", brand, ValueError("no such\ncampaign"), 5)
        lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "storage.parked"]
        assert lines == [
            (
                logging.ERROR,
                f"relay:email: parked 42 (brand {brand}) after 5 attempts: ValueError: no such campaign",
            )
        ]
    finally:
        db.close()


def test_the_sweeper_knows_each_enrollment_whose_dispatch_a_channel_worker_parked(database_url):
    """So it leaves their steps in flight alone until an operator retries them."""
    db = Database(database_url)
    ann, bob, cy = uuid4(), uuid4(), uuid4()
    try:
        with db.transaction() as cur:
            parked.park(cur, "worker:email", f"{ann}:s0", None, ValueError("bad"), 3)
            parked.park(cur, "worker:email", f"{ann}:s2", None, ValueError("bad"), 3)
            parked.park(cur, "worker:sms", f"{bob}:s1", None, ValueError("bad"), 3)
            parked.park(cur, "worker:sms", f"{cy}:s1", None, ValueError("bad"), 3)
            parked.park(cur, "enroller", str(uuid4()), None, ValueError("bad"), 3)  # not a dispatch
        [handed_back] = [
            row["id"] for row in parked.listing(db, "worker:sms") if row["item"].startswith(str(cy))
        ]
        parked.hand_back(db, [handed_back])  # an operator retries Cy's

        assert parked.parked_dispatches(db) == {str(ann), str(bob)}
    finally:
        db.close()
