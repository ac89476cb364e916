"""`contain`: a failing batch is applied item by item, the poison parked, transient trouble never counted."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
import pytest

from storage.containment import (
    IN_PLACE_TRIES,
    LONGEST_PAUSE,
    TransportUnavailable,
    contain,
    describe,
    pause_after,
    transient,
)


class Recorder:
    """Applies integers; fails for the ones it is told to, the way a projection fails on a bad event."""

    def __init__(self, poison: set[int] = frozenset(), error: Exception | None = None) -> None:
        self.poison, self.error = poison, error
        self.applied: list[int] = []
        self.calls: list[list[int]] = []
        self.parked: list[tuple[int, str, int]] = []
        self.pauses: list[float] = []

    def apply(self, items: Sequence[int]) -> None:
        self.calls.append(list(items))
        if self.poison & set(items):
            raise self.error or ValueError(f"cannot apply {sorted(self.poison & set(items))}")
        self.applied.extend(items)

    def park(self, item: int, error: BaseException, tries: int) -> None:
        self.parked.append((item, describe(error), tries))

    def run(self, items: list[int]) -> None:
        contain(items, self.apply, self.park, pause=self.pauses.append)


def test_a_healthy_batch_is_applied_once_as_a_whole():
    recorder = Recorder()
    recorder.run([1, 2, 3])
    assert recorder.calls == [[1, 2, 3]]
    assert recorder.applied == [1, 2, 3]
    assert recorder.parked == [] and recorder.pauses == []


def test_the_poison_is_retried_with_pauses_then_parked_and_the_rest_applied_in_order():
    recorder = Recorder(poison={2})
    recorder.run([1, 2, 3])
    assert recorder.applied == [1, 3]
    assert recorder.calls == [[1, 2, 3], [1], *[[2]] * IN_PLACE_TRIES, [3]]
    assert recorder.parked == [(2, "ValueError: cannot apply [2]", IN_PLACE_TRIES)]
    assert len(recorder.pauses) == IN_PLACE_TRIES - 1
    assert all(pause > 0 for pause in recorder.pauses)
    assert recorder.pauses == sorted(recorder.pauses)  # backoff grows


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("server closed the connection"),
        TransportUnavailable("broker away"),
        TimeoutError(),
    ],
)
def test_trouble_that_is_not_the_items_fault_propagates_and_parks_nothing(error):
    recorder = Recorder(poison={2}, error=error)
    with pytest.raises(type(error)):
        recorder.run([1, 2, 3])
    assert recorder.parked == []
    assert recorder.calls == [[1, 2, 3]]  # not even split: the whole batch is read again later
    assert transient(error)


def test_a_data_error_from_postgresql_is_the_items_fault():
    assert not transient(psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"))
    assert not transient(OverflowError("date value out of range"))


def test_an_error_text_is_one_line_cut_short_and_free_of_nul():
    text = describe(ValueError("a\x00b\n" + "x" * 5000))
    assert "\x00" not in text and "\n" not in text
    assert text.startswith("ValueError: a\\0b x")
    assert len(text) <= 2000


def test_a_loop_that_keeps_failing_waits_twice_as_long_each_time_and_never_more_than_five_seconds():
    assert [pause_after(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert pause_after(100) == LONGEST_PAUSE == 5.0
