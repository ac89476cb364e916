"""The export's read-ahead: a thread fetches the next pages while the caller works on this one. It
must hand over every page in order (however slow the caller), hold at most two pages ahead, raise
the fetch's own error, and let go at once when the caller stops early."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from storage.stored_events import read_ahead


class PageFetchFailed(Exception):
    pass


def counted(items: list[object], fetched: list[object]) -> Iterator[object]:
    for item in items:
        fetched.append(item)
        yield item


def settled(read: list[object], seconds: float = 0.5) -> int:
    """How many items were fetched once the count stopped moving for a while."""
    last, still_since = -1, time.monotonic()
    while time.monotonic() - still_since < seconds:
        if len(read) != last:
            last, still_since = len(read), time.monotonic()
        time.sleep(0.02)
    return last


def test_every_page_is_handed_over_in_order_to_a_caller_slower_than_the_fetch():
    pages = list(range(6))
    handed = []
    for page in read_ahead(iter(pages)):
        time.sleep(0.25)  # the fetch finds the two places ahead taken, again and again
        handed.append(page)
    assert handed == pages


def test_a_page_that_is_none_is_handed_over_like_any_other():
    assert list(read_ahead(iter([1, None, 3]))) == [1, None, 3]


def test_at_most_two_pages_are_held_ahead_of_the_one_the_caller_works_on():
    fetched: list[object] = []
    pages = read_ahead(counted(list(range(20)), fetched))
    assert next(pages) == 0
    # The caller holds page 0; pages 1 and 2 wait in line; the fetch holds page 3 until a place frees.
    assert settled(fetched) == 4
    assert next(pages) == 1
    assert settled(fetched) == 5
    pages.close()


def test_an_error_in_the_page_fetch_is_raised_to_the_caller():
    def failing() -> Iterator[int]:
        yield 1
        raise PageFetchFailed("the page query failed")

    pages = read_ahead(failing())
    assert next(pages) == 1
    with pytest.raises(PageFetchFailed, match="the page query failed"):
        next(pages)


def started_since(before: set[threading.Thread]) -> list[threading.Thread]:
    """The threads named `read-ahead` started since `before` (one test's own)."""
    return [t for t in threading.enumerate() if t not in before and t.name == "read-ahead"]


def test_a_caller_that_stops_early_lets_the_fetching_thread_go_at_once():
    before = set(threading.enumerate())
    pages = read_ahead(iter(range(100)))
    assert next(pages) == 0
    time.sleep(0.2)  # the fetch now waits for a free place
    fetching = started_since(before)

    started = time.monotonic()
    pages.close()

    assert time.monotonic() - started < 3  # not the five seconds a hung fetch is given
    assert fetching and not any(t.is_alive() for t in fetching)


def test_the_fetching_thread_is_named_for_thread_dumps_and_never_keeps_the_process_alive():
    before = set(threading.enumerate())
    pages = read_ahead(iter(range(10)))
    next(pages)
    fetching = started_since(before)
    pages.close()
    assert len(fetching) == 1 and fetching[0].daemon is True


@pytest.mark.timeout(30)
def test_a_caller_that_stops_while_a_page_fetch_hangs_gives_up_waiting_for_it_after_five_seconds():
    release = threading.Event()

    def hanging() -> Iterator[int]:
        yield 1
        release.wait(12)  # a page query that does not come back
        yield 2

    pages = read_ahead(hanging())
    assert next(pages) == 1
    started = time.monotonic()
    pages.close()
    waited = time.monotonic() - started
    release.set()
    assert 4.5 < waited < 5.8
