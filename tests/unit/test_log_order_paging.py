"""Lists in event-log order (a campaign's events, the ledger's entries, the consumption's steps) page
by log position: no cursor starts before the log's first event, a cursor reads back as the position
of the last row it was given after, and a page that ends exactly at the list's end has no next one."""

from __future__ import annotations

import base64
import json

import pytest

from storage.paging import MAX_POSITION, InvalidCursor, page_by_position, position_after


def cursor_at(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def test_a_list_read_without_a_cursor_starts_before_the_logs_first_position():
    assert position_after(None) == 0
    assert position_after("") == 0


def test_the_next_pages_cursor_stands_at_the_last_row_of_this_page():
    rows = [{"position": p} for p in (3, 8, 9)]  # the query asks for one row more than the page
    shown, cursor = page_by_position(rows, 2)
    assert shown == rows[:2]
    assert cursor is not None and position_after(cursor) == 8


def test_a_page_that_ends_exactly_at_the_end_of_the_list_has_no_next_page():
    rows = [{"position": p} for p in (3, 8)]
    assert page_by_position(rows, 2) == (rows, None)


def test_a_cursor_at_either_end_of_the_logs_positions_is_read_and_one_past_them_is_refused():
    assert position_after(cursor_at(0)) == 0
    assert position_after(cursor_at(MAX_POSITION)) == MAX_POSITION
    for outside in (-1, MAX_POSITION + 1):
        with pytest.raises(InvalidCursor):
            position_after(cursor_at(outside))
