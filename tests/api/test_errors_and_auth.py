"""Authentication and the shape of errors, over HTTP against the service on real PostgreSQL.

Every `/v1` call needs `Authorization: Bearer <api_key>`; without one, or with a key no brand holds,
the answer is a 401 RFC 9457 problem (`application/problem+json` with type, title, status and
detail) and nothing is done. Malformed requests answer 422 problems that list the offending fields,
unknown resources 404 problems, and the probes `/healthz` and `/readyz` need no key.
"""

from __future__ import annotations

from uuid import uuid4

from fastapi.testclient import TestClient

from tests.api.api_support import EMAIL_STEP, assert_problem
from tests.support import Client, credits_without_renewal

ROUTES = [
    ("GET", "/v1/campaign/", None),
    ("POST", "/v1/campaign/", {"name": "sneaky", "steps": [EMAIL_STEP]}),
    ("GET", f"/v1/campaign/{uuid4()}", None),
    ("POST", f"/v1/campaign/{uuid4()}/launch", None),
    ("POST", f"/v1/campaign/{uuid4()}/pause", None),
    ("GET", "/v1/lead-groups", None),
    ("POST", "/v1/lead-groups", {"name": "sneaky"}),
    ("POST", "/v1/sender-accounts", {"channel": "email", "provider": "sandbox", "address": "a@b.example"}),
    ("GET", "/v1/sender-accounts", None),
    ("GET", "/v1/credits", None),
]


def _call(http: TestClient, method: str, path: str, body, headers: dict[str, str]):
    return http.request(method, path, json=body, headers=headers)


SERVICE_ROLES = ("projector",)  # these tests never launch


def test_requests_without_a_bearer_key_get_a_401_problem_and_change_nothing(service):
    owner = Client(service)
    anonymous = TestClient(service.http_app())
    for method, path, body in ROUTES:
        problem = assert_problem(_call(anonymous, method, path, body, {}), 401)
        assert problem["title"], (method, path)

    assert owner.ok(owner.get("/v1/campaign/"))["items"] == []
    assert owner.ok(owner.get("/v1/lead-groups"))["items"] == []
    assert owner.ok(owner.get("/v1/sender-accounts"))["items"] == []


def test_a_wrong_or_malformed_bearer_key_gets_a_401_problem(service):
    owner = Client(service)
    anonymous = TestClient(service.http_app())
    wrong = [
        "Bearer not-a-key",
        f"Bearer {owner.api_key}x",
        f"Bearer {owner.api_key[:-1]}",
        f"Basic {owner.api_key}",
        owner.api_key,
        "Bearer ",
    ]
    for authorization in wrong:
        for method, path, body in ROUTES:
            response = _call(anonymous, method, path, body, {"Authorization": authorization})
            assert_problem(response, 401)

    assert owner.ok(owner.get("/v1/campaign/"))["items"] == []
    assert owner.ok(owner.get("/v1/credits"))["balance"] == 1000


def test_the_right_key_is_accepted_and_decides_the_brand(service):
    first, second = Client(service), Client(service)
    first.ok(first.post("/v1/campaign/", {"name": "first's", "steps": [EMAIL_STEP]}), 201)

    assert [c["name"] for c in first.ok(first.get("/v1/campaign/"))["items"]] == ["first's"]
    assert second.ok(second.get("/v1/campaign/"))["items"] == []
    credits = credits_without_renewal(first.ok(first.get("/v1/credits")))
    assert credits == {"plan": "basic", "balance": 1000, "reserved_outstanding": 0}


def test_validation_errors_are_422_problems_listing_every_bad_field(service):
    client = Client(service)
    group = client.ok(client.post("/v1/lead-groups", {"name": "leads"}), 201)["id"]
    body = {
        "lead_group_ids": [group],
        "steps": [
            {"type": "FAX", "group": 0, "body": "beep"},
            {"type": "EMAIL", "group": -1, "subject": "s", "body": "b"},
        ],
    }
    problem = assert_problem(client.post("/v1/campaign/", body), 422)

    fields = {error["field"] for error in problem["errors"]}
    assert {"body.name", "body.steps.0.type", "body.steps.1.group"} <= fields, problem
    for field in ("name", "steps.0.type", "steps.1.group"):
        assert field in problem["detail"]
    assert client.ok(client.get("/v1/campaign/"))["items"] == []


def test_bad_query_or_path_parameters_are_422_problems_naming_the_parameter(service):
    client = Client(service)
    for params, field in [
        ({"limit": 0}, "query.limit"),
        ({"limit": 501}, "query.limit"),
        ({"limit": "many"}, "query.limit"),
        ({"status": "SLEEPING"}, "query.status"),
    ]:
        problem = assert_problem(client.get("/v1/campaign/", params=params), 422)
        assert field in {error["field"] for error in problem["errors"]}, (params, problem)

    assert client.ok(client.get("/v1/campaign/", params={"limit": 500}))["next_cursor"] is None

    problem = assert_problem(client.get("/v1/campaign/not-a-uuid"), 422)
    assert "path.campaign_id" in {error["field"] for error in problem["errors"]}


def test_unknown_resources_and_routes_are_404_problems(service):
    client = Client(service)
    missing = uuid4()
    for response in [
        client.get(f"/v1/campaign/{missing}"),
        client.post(f"/v1/campaign/{missing}/launch"),
        client.post(f"/v1/campaign/{missing}/pause"),
        client.post(f"/v1/campaign/{missing}/resume"),
        client.post(f"/v1/campaign/{missing}/archive"),
        client.get(f"/v1/lead-groups/{missing}"),
        client.post(f"/v1/lead-groups/{missing}/contacts", {"contacts": []}),
        client.get("/v1/no-such-thing"),
    ]:
        assert_problem(response, 404)


def test_health_and_readiness_probes_answer_without_a_key(service):
    anonymous = TestClient(service.http_app())
    assert anonymous.get("/healthz").status_code == 200
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["ready"] is True
