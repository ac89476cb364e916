"""The clock shared through CLOCK_OFFSET_FILE (commands/clock.py): every process given the file
reads the same advance, the offset never goes back, and a missing or torn file keeps the last
offset seen. Roles of the soak, each a process of its own, move days ahead together by it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from commands.clock import SharedOffsetClock
from runtime.bootstrap import _clock
from runtime.settings import Settings


def ahead(clock: SharedOffsetClock) -> float:
    return (clock.now() - datetime.now(UTC)).total_seconds()


def test_two_clocks_on_one_file_move_together(tmp_path: Path):
    offset = tmp_path / "offset"
    first, second = SharedOffsetClock(offset), SharedOffsetClock(offset)
    assert abs(ahead(first)) < 1  # no file yet: the machine's clock
    offset.write_text(str(timedelta(days=1).total_seconds()))
    assert 86_399 < ahead(first) < 86_401
    assert 86_399 < ahead(second) < 86_401


def test_the_offset_never_goes_back_and_a_torn_file_keeps_the_last(tmp_path: Path):
    offset = tmp_path / "offset"
    clock = SharedOffsetClock(offset)
    offset.write_text("7200")
    assert 7_199 < ahead(clock) < 7_201
    for unreadable in ("", "12O0", "3600"):  # half written, garbled, and smaller than before
        offset.write_text(unreadable)
        assert 7_199 < ahead(clock) < 7_201
    offset.unlink()
    assert 7_199 < ahead(clock) < 7_201


def test_the_setting_picks_the_shared_clock(tmp_path: Path):
    chosen = _clock(Settings(clock_offset_file=tmp_path / "offset", _env_file=None))  # type: ignore[call-arg]
    assert isinstance(chosen, SharedOffsetClock) and chosen.path == tmp_path / "offset"
