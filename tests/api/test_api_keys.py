"""A brand's API keys over HTTP on real PostgreSQL: issued, listed without secrets, revoked.

A new key is shown once, in the 201 answer, and works at once; a list names keys and their
prefixes, never a secret; a revoked key answers 401; another brand's key is a 404 and the brand's
last key a 409; each change is an event on the brand's ApiKeys, saying who and when.
"""

from __future__ import annotations

import json
from uuid import uuid4

from fastapi.testclient import TestClient

from commands.access.api_keys import digest
from domain.api_keys import ApiKeys
from tests.api.api_support import assert_problem
from tests.support import Client, eventually

SERVICE_ROLES = ("projector",)  # these tests never launch


def _as(client: Client, api_key: str) -> TestClient:
    http = TestClient(client.container.http_app())
    http.headers["Authorization"] = f"Bearer {api_key}"
    return http


def test_a_created_key_is_shown_once_and_works_at_once(service):
    brand = Client(service)
    created = brand.ok(brand.post("/v1/api-keys", {"name": "crm sync"}), 201)

    assert set(created) == {"id", "name", "prefix", "api_key", "created_at"}
    assert created["name"] == "crm sync"
    assert created["api_key"].startswith(created["prefix"]) and len(created["prefix"]) < 16
    assert created["api_key"] != brand.api_key
    assert _as(brand, created["api_key"]).get("/v1/credits").status_code == 200


def test_the_list_shows_every_live_key_and_never_a_secret(service):
    brand = Client(service)
    created = brand.ok(brand.post("/v1/api-keys", {"name": "reporting"}), 201)

    listed = brand.ok(brand.get("/v1/api-keys"))
    assert listed["next_cursor"] is None
    assert [key["name"] for key in listed["items"]] == ["default", "reporting"]
    for key in listed["items"]:
        assert set(key) == {"id", "name", "prefix", "created_at", "last_used_at"}
    text = json.dumps(listed)
    for secret in (brand.api_key, created["api_key"], digest(brand.api_key), digest(created["api_key"])):
        assert secret not in text
    rows = service.db.fetch_all("SELECT * FROM api_keys WHERE brand_id = %s", (brand.brand_id,))
    assert brand.api_key not in str(rows) and created["api_key"] not in str(rows)  # only digests stored


def test_a_revoked_key_answers_401_and_leaves_the_list(service):
    brand = Client(service)
    spare = brand.ok(brand.post("/v1/api-keys", {"name": "spare"}), 201)
    spare_http = _as(brand, spare["api_key"])
    assert spare_http.get("/v1/credits").status_code == 200  # known to this process now

    assert brand.http.delete(f"/v1/api-keys/{spare['id']}").status_code == 204

    assert_problem(spare_http.get("/v1/credits"), 401)
    assert spare["id"] not in {key["id"] for key in brand.ok(brand.get("/v1/api-keys"))["items"]}
    assert_problem(brand.http.delete(f"/v1/api-keys/{spare['id']}"), 404)  # revoked already


def test_a_brand_may_revoke_the_key_it_calls_with_once_it_has_another(service):
    brand = Client(service)
    other = brand.ok(brand.post("/v1/api-keys", {"name": "next"}), 201)
    first_id = brand.ok(brand.get("/v1/api-keys"))["items"][0]["id"]

    assert brand.http.delete(f"/v1/api-keys/{first_id}").status_code == 204

    assert_problem(brand.get("/v1/credits"), 401)
    assert _as(brand, other["api_key"]).get("/v1/credits").status_code == 200


def test_revoking_the_brands_last_key_is_a_409_and_the_key_keeps_working(service):
    brand = Client(service)
    (only,) = brand.ok(brand.get("/v1/api-keys"))["items"]

    problem = assert_problem(brand.http.delete(f"/v1/api-keys/{only['id']}"), 409)

    assert "last" in problem["detail"]
    assert brand.get("/v1/credits").status_code == 200


def test_another_brands_key_is_a_404_and_stays_alive(service):
    owner, stranger = Client(service), Client(service)
    spare = owner.ok(owner.post("/v1/api-keys", {"name": "spare"}), 201)

    assert_problem(stranger.http.delete(f"/v1/api-keys/{spare['id']}"), 404)
    assert_problem(stranger.http.delete(f"/v1/api-keys/{uuid4()}"), 404)

    assert _as(owner, spare["api_key"]).get("/v1/credits").status_code == 200
    assert spare["id"] not in {k["id"] for k in stranger.ok(stranger.get("/v1/api-keys"))["items"]}


def test_a_key_needs_a_name(service):
    brand = Client(service)
    assert_problem(brand.post("/v1/api-keys", {"name": ""}), 422)
    assert_problem(brand.post("/v1/api-keys", {}), 422)
    assert_problem(brand.post("/v1/api-keys", {"name": "x", "api_key": "chosen"}), 422)


def test_key_changes_are_events_saying_who_and_when(service):
    brand = Client(service)
    spare = brand.ok(brand.post("/v1/api-keys", {"name": "spare"}), 201)
    brand.http.delete(f"/v1/api-keys/{spare['id']}")

    events = list(service.store.events.get(ApiKeys.create_id(brand.brand_id)))
    kinds = [type(event).__name__ for event in events]
    assert kinds == ["ApiKeysOpened", "ApiKeyIssued", "ApiKeyIssued", "ApiKeyRevoked"]
    first_key_id = events[1].key_id
    assert events[1].issued_by == "brand creation"
    assert str(events[2].key_id) == spare["id"] and events[2].name == "spare"
    assert events[2].issued_by == f"api key {first_key_id}"
    assert str(events[3].key_id) == spare["id"] and events[3].revoked_by == f"api key {first_key_id}"
    assert spare["api_key"] not in str([vars(event) for event in events])


def test_a_keys_last_use_is_recorded_in_the_background(service):
    brand = Client(service)
    assert brand.get("/v1/credits").status_code == 200

    def last_used():
        (key,) = brand.ok(brand.get("/v1/api-keys"))["items"]
        return key["last_used_at"]

    assert eventually(last_used, timeout=5)


def test_a_create_repeated_with_its_idempotency_key_names_the_first_key_without_its_secret(service):
    brand = Client(service)
    headers = {"Idempotency-Key": "create-crm-key"}
    first = brand.ok(brand.post("/v1/api-keys", {"name": "crm"}, headers=headers), 201)
    again = brand.ok(brand.post("/v1/api-keys", {"name": "crm"}, headers=headers), 201)

    assert again == {**first, "api_key": None}
    assert len(brand.ok(brand.get("/v1/api-keys"))["items"]) == 2  # default and crm: one created
    stored = service.db.fetch_all("SELECT body FROM idempotency_keys WHERE brand_id = %s", (brand.brand_id,))
    assert first["api_key"] not in str(stored)
