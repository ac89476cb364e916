"""The export reads stored states with orjson when that gives exactly what the json module gives,
and with the json module otherwise: the values, and the text written from them, never differ."""

from __future__ import annotations

import json

import pytest

from storage.event_json import decoded_state, json_text

MODULE = json.JSONDecoder()
TEXT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@pytest.mark.parametrize(
    "state",
    [
        b'{"count":18446744073709551616}',  # past 64 bits: orjson reads a float
        b'{"n":[-9223372036854775809]}',
        b'{"rate":1e16}',  # orjson writes 1e16, the json module 1e+16
        b'{"rate":{"a":[0.1]}}',
        b'{"x":NaN}',  # orjson reads neither
        b'{"x":[-Infinity]}',
    ],
)
def test_a_state_with_a_number_orjson_would_change_is_read_and_written_as_the_json_module_does(state):
    value, exact = decoded_state(state)
    expected = MODULE.decode(state.decode())
    assert not exact
    assert json_text(value, exact) == TEXT(expected)
    assert repr(value) == repr(expected)


def test_a_plain_state_reads_the_same_by_orjson_wrappers_unwrapped_innermost_first():
    state = (
        '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-01T00:00:00+00:00"},'
        '"campaign_id":{"_type_":"uuid_hex","_data_":"283b9a137fc6492e9bf76201794f153e"},'
        '"plan":[{"id":"s1","at":{"_type_":"datetime_iso","_data_":"2026-11-01T08:00:00+00:00"}}],'
        '"amount":{"_type_":"decimal_str","_data_":"12.50"},"n":-9223372036854775808,"u":18446744073709551615,'
        '"text":"\\u0000\\"é😀\\u2028\\t1.5","pair":{"_type_":"x","_data_":{"a":1}},"class_version":2}'
    )
    value, exact = decoded_state(state.encode())
    assert exact
    assert value == {
        "timestamp": "2026-11-01T00:00:00Z",
        "campaign_id": "283b9a13-7fc6-492e-9bf7-6201794f153e",
        "plan": [{"id": "s1", "at": "2026-11-01T08:00:00Z"}],
        "amount": "12.50",
        "n": -9223372036854775808,
        "u": 18446744073709551615,
        "text": '\x00"é😀\u2028\t1.5',
        "pair": {"a": 1},
    }
    assert json_text(value, exact) == TEXT(value)
