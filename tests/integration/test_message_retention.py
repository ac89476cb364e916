"""Message bodies and provider payloads are kept for debugging only as long as their brand says
(90 days by default): the daily cron forgets what is older, brand by brand."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from commands.personal_data.retention import forget_old_messages, retention_days, set_retention_days
from consumers.timed_jobs import DailyCron
from domain.errors import InvalidInput
from runtime.cli import main
from tests.support import Client, eventually, running_service

STEPS = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]
LEADS = [{"email": "ann@example.com"}]


def _sent(client: Client) -> str:
    client.sender("email", f"sales@{client.brand_id.hex[:8]}.example")
    campaign_id = client.campaign(client.lead_group(LEADS), STEPS)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    eventually(lambda: len(client.outbox(campaign_id)) == 1)
    return campaign_id


def test_each_brands_message_bodies_are_forgotten_after_its_retention(database_url):
    with running_service(database_url) as service:
        short, default = Client(service), Client(service)
        set_retention_days(service.db, short.brand_id, 7, service.clock.now())
        kept_short, kept_default = _sent(short), _sent(default)
        now = service.clock.now()

        assert forget_old_messages(service.db, now + timedelta(days=6)) == 0
        assert forget_old_messages(service.db, now + timedelta(days=8)) == 1
        assert short.outbox(kept_short) == [] and len(default.outbox(kept_default)) == 1
        assert DailyCron(service.store, service.db, lambda: now + timedelta(days=91)).tick() >= 1
        assert default.outbox(kept_default) == []
        assert forget_old_messages(service.db, now + timedelta(days=91)) == 0  # twice changes nothing more


def test_a_retention_outside_one_day_to_ten_years_is_refused_naming_the_field(database_url):
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        for days in (0, 3651):
            with pytest.raises(InvalidInput) as refused:
                set_retention_days(service.db, client.brand_id, days, service.clock.now())
            assert str(refused.value) == f"message bodies are kept 1 to 3650 days, not {days}"
            assert refused.value.errors == [{"field": "message_days", "error": "between 1 and 3650"}]
        assert retention_days(service.db, client.brand_id) == 90


def test_a_retention_of_one_day_or_of_ten_years_is_kept_and_read_back(database_url):
    with running_service(database_url, roles=()) as service:
        client, other = Client(service), Client(service)
        for days in (1, 3650):
            assert set_retention_days(service.db, client.brand_id, days, service.clock.now()) == days
            assert retention_days(service.db, client.brand_id) == days
        assert retention_days(service.db, other.brand_id) == 90  # another brand keeps the default


def test_the_command_line_shows_and_sets_a_brands_retention(database_url, monkeypatch, capsys):
    with running_service(database_url, roles=()) as service:
        brand = str(Client(service).brand_id)
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["brand", "retention", brand]) == 0
    assert json.loads(capsys.readouterr().out)["message_days"] == 90
    assert main(["brand", "retention", brand, "--message-days", "30"]) == 0
    assert json.loads(capsys.readouterr().out)["message_days"] == 30
    assert main(["brand", "retention", brand]) == 0  # read back as stored
    assert json.loads(capsys.readouterr().out)["message_days"] == 30
    assert main(["brand", "retention", brand, "--message-days", "0"]) == 1
