"""A step deferred at the daily cap is due at the next 00:00 UTC, whatever the server's own zone."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from commands.sending.send_decisions import next_quota_reset


@pytest.fixture
def server_in_tokyo(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # where 23:30 UTC is already the next day
    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


def test_the_next_reset_is_the_next_utc_midnight_on_a_server_whose_own_zone_is_ahead(server_in_tokyo):
    late = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    assert next_quota_reset(late) == datetime(2026, 12, 8, tzinfo=UTC)


def test_a_moment_given_in_another_zone_is_read_in_utc():
    morning_in_auckland = datetime(2026, 12, 8, 9, 0, tzinfo=ZoneInfo("Pacific/Auckland"))  # 20:00 UTC, Dec 7
    assert next_quota_reset(morning_in_auckland) == datetime(2026, 12, 8, tzinfo=UTC)
