"""What makes two requests under one Idempotency-Key the same request: the route and the body's
content, whatever the order of its keys; any body the API can parse has one (uuids, times, a lone
surrogate in a string), and a fingerprint is the same from one release to the next, as keys
claimed before an upgrade are still checked against it after."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from commands.idempotency import fingerprint

BODY = {"name": "Spring", "lead_group_id": UUID(int=7), "start": datetime(2026, 3, 1, tzinfo=UTC)}


def test_the_same_content_in_another_key_order_is_the_same_request():
    reordered = {"start": BODY["start"], "lead_group_id": BODY["lead_group_id"], "name": "Spring"}
    assert fingerprint("POST /v1/campaign/", BODY) == fingerprint("POST /v1/campaign/", reordered)
    assert fingerprint("POST /v1/campaign/", BODY) != fingerprint("POST /v1/lead-groups/", BODY)
    assert fingerprint("POST /v1/campaign/", BODY) != fingerprint("POST /v1/campaign/", {**BODY, "name": "x"})


def test_a_string_holding_a_lone_surrogate_has_a_fingerprint_of_its_own():
    lone = fingerprint("POST /v1/campaign/", {"name": "\ud800"})
    assert lone != fingerprint("POST /v1/campaign/", {"name": "\ud801"})


def test_a_fingerprint_is_the_same_as_the_releases_before_computed_it():
    # Taken from this code on 2026-12-07. A change of the canonical form (key order, separators,
    # encoding) would make a key claimed before an upgrade and retried after it a 422.
    assert fingerprint("POST /v1/campaign/", BODY) == PINNED


PINNED = "d958e761f5cacd9f336efba03e8d595f49897f1582554c2b4e7a467aaea00f6a"
