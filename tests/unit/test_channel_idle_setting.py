"""CHANNEL_IDLE_SECONDS, how long a channel's process waits for work before it stops: a number of
seconds above zero and at most a day, refused at start otherwise, naming the setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from runtime.settings import Settings


def test_a_channels_process_waits_five_minutes_for_work_by_default():
    assert Settings(_env_file=None).channel_idle_seconds == 300.0


@pytest.mark.parametrize("seconds", ["0", "-1", "86401", "soon"])
def test_an_idle_period_that_is_not_a_positive_number_of_seconds_up_to_a_day_is_refused(seconds, monkeypatch):
    monkeypatch.setenv("CHANNEL_IDLE_SECONDS", seconds)
    with pytest.raises(ValidationError, match="channel_idle_seconds"):
        Settings(_env_file=None)
