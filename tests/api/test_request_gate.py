"""What every request meets before a route runs, and what an unexpected failure looks like.

The API key is checked before a body is read or parsed (a malformed or huge body without a valid
key is a 401), a body past its limit is a 413 whether its Content-Length says so or its stream
goes past it, a 405 names the allowed methods in `Allow`, and a bug is a 500 problem that shows
nothing of the code.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.gate import body_limit
from tests.api.api_support import assert_problem
from tests.support import Client

SERVICE_ROLES = ("projector",)  # nothing here launches
MIB = 1 << 20


def _chunks(total: int, size: int = 64 * 1024):
    yield b'{"name": "' + b"n" * 10
    sent = 0
    while sent < total:
        yield b" " * size
        sent += size


def test_a_malformed_or_huge_body_without_a_valid_key_is_a_401(service):
    anonymous = TestClient(service.http_app())
    json = {"Content-Type": "application/json"}
    for headers in [json, {**json, "Authorization": "Bearer not-a-key"}]:
        assert_problem(anonymous.post("/v1/campaign/", content=b"{not json", headers=headers), 401)
        assert_problem(anonymous.post("/v1/lead-groups", content=b"x" * (2 * MIB), headers=headers), 401)
        assert_problem(anonymous.post("/v1/templates", content=_chunks(2 * MIB), headers=headers), 401)


def test_a_body_past_its_limit_is_a_413_declared_or_streamed(service):
    client = Client(service)
    json = {"Content-Type": "application/json"}
    declared = client.http.post("/v1/campaign/", content=b" " * (MIB + 1), headers=json)
    assert_problem(declared, 413)
    streamed = client.http.post("/v1/lead-groups", content=_chunks(2 * MIB), headers=json)
    assert_problem(streamed, 413)
    assert client.ok(client.get("/v1/lead-groups"))["items"] == []


def test_a_json_contact_upload_may_pass_one_mib_but_not_sixteen(service):
    client = Client(service)
    group = client.ok(client.post("/v1/lead-groups", {"name": "leads"}), 201)["id"]
    path, json = f"/v1/lead-groups/{group}/contacts", {"Content-Type": "application/json"}
    padded = b'{"contacts": [{"email": "ann@example.com"}]' + b" " * (2 * MIB) + b"}"
    assert client.ok(client.http.post(path, content=padded, headers=json))["added"] == 1
    assert_problem(client.http.post(path, content=b" " * (16 * MIB + 1), headers=json), 413)


def test_a_method_a_route_does_not_take_is_a_405_problem_naming_the_allowed_ones(service):
    client = Client(service)
    response = client.http.put("/v1/campaign/", json={})
    assert_problem(response, 405)
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed <= {"GET", "HEAD", "POST"}, allowed


def test_an_unexpected_error_is_a_500_problem_that_shows_no_internals(service):
    client = Client(service)
    app = service.http_app()

    def broken() -> None:
        raise ValueError("secret internal detail at /srv/app.py line 42")

    app.add_api_route("/v1/broken", broken, methods=["GET"])
    http = TestClient(app, raise_server_exceptions=False)
    response = http.get("/v1/broken", headers={"Authorization": f"Bearer {client.api_key}"})
    problem = assert_problem(response, 500)
    assert "secret" not in response.text and "ValueError" not in response.text, problem


def test_contact_uploads_have_the_larger_limits():
    upload = "/v1/lead-groups/0f0e2b6c-5c61-4d6a-9a55-6f3f0e4c2a11/contacts"
    assert body_limit("POST", upload, "text/csv; charset=utf-8") == 256 * MIB
    assert body_limit("POST", upload, "application/json") == 16 * MIB
    assert body_limit("POST", "/v1/campaign/", "application/json") == MIB
    assert body_limit("POST", "/v1/lead-groups", "text/csv") == MIB


def test_a_401_says_whether_the_key_is_missing_or_not_the_brands(service):
    client = Client(service)
    anonymous = TestClient(service.http_app())
    missing = "send Authorization: Bearer <api_key>"
    for authorization in (None, "", f"Basic {client.api_key}", "Bearer", "Bearer    ", client.api_key):
        headers = {} if authorization is None else {"Authorization": authorization}
        problem = assert_problem(anonymous.get("/v1/credits", headers=headers), 401)
        assert (problem["title"], problem["detail"]) == ("Unauthorized", missing), authorization
        assert problem["type"].endswith("/unauthorized")
    for wrong in (f"Bearer {client.api_key}x", f"Bearer x{client.api_key}"):
        problem = assert_problem(anonymous.get("/v1/credits", headers={"Authorization": wrong}), 401)
        assert problem["detail"] == "the API key is not valid"
    for spelled in (f"bearer {client.api_key}", f"BEARER {client.api_key}  "):
        assert anonymous.get("/v1/credits", headers={"Authorization": spelled}).status_code == 200, spelled


def test_the_v1_root_needs_a_key_and_paths_that_merely_start_alike_do_not(service):
    anonymous = TestClient(service.http_app())
    assert_problem(anonymous.get("/v1"), 401)
    assert_problem(anonymous.get("/v1/"), 401)
    assert assert_problem(anonymous.get("/v1beta/credits"), 404)["title"] == "Not Found"


def test_a_413_says_how_large_the_body_may_be(service):
    client = Client(service)
    json = {"Content-Type": "application/json"}
    group = client.ok(client.post("/v1/lead-groups", {"name": "leads"}), 201)["id"]
    upload = f"/v1/lead-groups/{group}/contacts"
    for path, headers, body, limit in [
        ("/v1/campaign/", json, b" " * (MIB + 1), "1 MiB"),  # declared
        ("/v1/lead-groups", json, _chunks(2 * MIB), "1 MiB"),  # streamed past it
        (upload, json, b" " * (16 * MIB + 1), "16 MiB"),
        (upload, {"Content-Type": "text/csv", "Content-Length": str(256 * MIB + 1)}, b"email\n", "256 MiB"),
    ]:
        problem = assert_problem(client.http.post(path, content=body, headers=headers), 413)
        assert problem["title"] == "Content Too Large"
        assert problem["detail"] == f"the request body may hold at most {limit}", path
    assert client.ok(client.get(f"/v1/lead-groups/{group}"))["contact_count"] == 0
