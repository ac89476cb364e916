"""The operators' API (/admin/v1), for a billing system: absent without ADMIN_API_KEY, a 401 with a
wrong key; brands created (their first key answered once), listed and shown; purchases granted once
per reference; plan changes; suspension (the brand's /v1 calls answer 403 brand-suspended within a
second) and reinstatement, each an event naming who did it. Over HTTP, on real PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.credit_ledger import CreditLedger
from tests.api.api_support import assert_problem, service_on_own_database
from tests.support import Client, eventually

SERVICE_ROLES = ("projector",)
ADMIN_KEY = "admin-" + uuid4().hex


@pytest.fixture(scope="module")
def operated(server_url):
    """The service with ADMIN_API_KEY set."""
    with service_on_own_database(server_url, roles=SERVICE_ROLES, admin_api_key=ADMIN_KEY) as running:
        yield running


@pytest.fixture
def admin(operated) -> TestClient:
    http = TestClient(operated.http_app())
    http.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
    return http


def new_brand(admin: TestClient, plan: str = "basic") -> dict:
    answer = admin.post("/admin/v1/brands", json={"name": f"brand-{uuid4().hex[:6]}", "plan": plan})
    assert answer.status_code == 201, answer.text
    return answer.json()


def as_brand(operated, api_key: str) -> TestClient:
    http = TestClient(operated.http_app())
    http.headers["Authorization"] = f"Bearer {api_key}"
    return http


def test_without_the_admin_key_setting_the_admin_routes_do_not_exist(service):
    http = TestClient(service.http_app())
    for method, path in [
        ("GET", "/admin/v1/brands"),
        ("POST", "/admin/v1/brands"),
        ("GET", f"/admin/v1/brands/{uuid4()}"),
    ]:
        assert_problem(http.request(method, path, headers={"Authorization": "Bearer anything"}), 404)
    assert not [p for p in http.get("/openapi.json").json()["paths"] if p.startswith("/admin")]


def test_a_missing_or_wrong_admin_key_is_a_401_before_the_body_is_read(operated):
    http = TestClient(operated.http_app())
    assert_problem(http.get("/admin/v1/brands"), 401)
    wrong = {"Authorization": f"Bearer {ADMIN_KEY}x"}
    assert_problem(http.get("/admin/v1/brands", headers=wrong), 401)
    assert_problem(http.post("/admin/v1/brands", headers=wrong, content=b"{" * 3_000_000), 401)
    brand = Client(operated)  # a brand's own key opens nothing here
    assert_problem(http.get("/admin/v1/brands", headers={"Authorization": f"Bearer {brand.api_key}"}), 401)


def test_an_admin_401_says_whether_the_key_is_missing_or_not_valid(operated):
    http = TestClient(operated.http_app())
    missing = "send Authorization: Bearer <ADMIN_API_KEY>"
    for headers in ({}, {"Authorization": f"Basic {ADMIN_KEY}"}, {"Authorization": "Bearer  "}):
        problem = assert_problem(http.get("/admin/v1/brands", headers=headers), 401)
        assert (problem["title"], problem["detail"]) == ("Unauthorized", missing), headers
    for wrong in (f"Bearer {ADMIN_KEY}x", f"Bearer {ADMIN_KEY[:-1]}", "Bearer admin"):
        problem = assert_problem(http.get("/admin/v1/brands", headers={"Authorization": wrong}), 401)
        assert problem["detail"] == "the admin key is not valid", wrong
    assert http.get("/admin/v1/brands", headers={"Authorization": f"bearer {ADMIN_KEY}"}).status_code == 200


def test_everything_under_admin_is_behind_the_admin_key_and_only_that(operated):
    http = TestClient(operated.http_app())
    for path in ("/admin", "/admin/", "/admin/v2/anything", "/admin/v1/brands"):
        assert_problem(http.get(path), 401)
    assert assert_problem(http.get("/administrator"), 404)["title"] == "Not Found"
    assert http.get("/healthz").status_code == 200


def test_a_brand_made_by_the_billing_system_gets_its_key_once_and_is_listed_and_shown(admin, operated):
    made = new_brand(admin, "standard")
    assert made["api_key"].startswith("cs_") and made["brand_id"] == made["id"]
    assert (made["plan"], made["balance"], made["status"], made["key_count"]) == (
        "standard",
        10_000,
        "active",
        1,
    )
    own = as_brand(operated, made["api_key"])
    credits = own.get("/v1/credits").json()
    assert credits["balance"] == 10_000 and credits["renews_at"] == made["renews_at"]
    created = datetime.fromisoformat(made["created_at"])
    renews = datetime.fromisoformat(made["renews_at"])
    assert renews > created and renews.hour == renews.minute == 0
    shown = admin.get(f"/admin/v1/brands/{made['id']}").json()
    assert "api_key" not in shown and shown["name"] == made["name"]
    listed, cursor = [], None
    while True:
        page = admin.get(
            "/admin/v1/brands", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
        ).json()
        listed += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert made["id"] in [b["id"] for b in listed] and all("api_key" not in b for b in listed)
    assert_problem(admin.get(f"/admin/v1/brands/{uuid4()}"), 404)
    assert_problem(admin.post("/admin/v1/brands", json={"name": "x", "plan": "gold"}), 422)
    assert_problem(admin.post("/admin/v1/brands", json={"name": "   ", "plan": "basic"}), 422)


def test_a_purchase_is_granted_once_per_reference_and_shows_in_the_brands_ledger(admin, operated):
    made = new_brand(admin)
    path = f"/admin/v1/brands/{made['id']}/credits"
    first = admin.post(path, json={"amount": 5_000, "reference": "inv-2026-0001", "reason": "invoice paid"})
    assert first.status_code == 201, first.text
    again = admin.post(path, json={"amount": 7_000, "reference": "inv-2026-0001", "reason": "sent twice"})
    assert again.status_code == 200
    for answer in (first.json(), again.json()):
        assert (answer["amount"], answer["reason"], answer["reference"]) == (
            5_000,
            "invoice paid",
            "inv-2026-0001",
        )
    assert first.json()["created"] and not again.json()["created"]
    assert admin.get(f"/admin/v1/brands/{made['id']}").json()["balance"] == 6_000
    own = as_brand(operated, made["api_key"])
    entries = own.get("/v1/credits/ledger").json()["items"]
    assert [(e["type"], e["amount"], e["reference"]) for e in entries] == [
        ("granted", 1_000, None),
        ("granted", 5_000, "inv-2026-0001"),
    ]
    assert entries[1]["balance_after"] == 6_000 and entries[1]["reason"] == "invoice paid"


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 0, "reference": "r"},
        {"amount": 10_000_001, "reference": "r"},
        {"amount": -5, "reference": "r"},
        {"amount": "100", "reference": "r"},
        {"amount": True, "reference": "r"},
        {"amount": 100},
        {"amount": 100, "reference": ""},
        {"amount": 100, "reference": "nul\u0000"},
        {"amount": 100, "reference": "r", "reason": "x" * 501},
    ],
)
def test_a_purchase_out_of_bounds_is_a_422_and_grants_nothing(admin, body):
    made = new_brand(admin)
    answer = assert_problem(admin.post(f"/admin/v1/brands/{made['id']}/credits", json=body), 422)
    assert answer["errors"]
    assert admin.get(f"/admin/v1/brands/{made['id']}").json()["balance"] == 1_000


def test_a_purchase_for_an_unknown_brand_is_a_404(admin):
    assert_problem(
        admin.post(f"/admin/v1/brands/{uuid4()}/credits", json={"amount": 5, "reference": "r"}), 404
    )


def test_twenty_billing_calls_at_once_with_one_reference_grant_once(admin, operated):
    made = new_brand(admin)
    path = f"/admin/v1/brands/{made['id']}/credits"
    with ThreadPoolExecutor(20) as pool:
        answers = list(
            pool.map(lambda _: admin.post(path, json={"amount": 300, "reference": "pay-1"}), range(20))
        )
    assert sorted(a.status_code for a in answers) == [200] * 19 + [201]
    assert admin.get(f"/admin/v1/brands/{made['id']}").json()["balance"] == 1_300


def test_a_plan_change_is_an_event_and_is_granted_from_the_next_renewal_on(admin, operated):
    made = new_brand(admin)
    changed = admin.put(
        f"/admin/v1/brands/{made['id']}/plan", json={"plan": "premium"}, headers={"X-Operator": "bob"}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["plan"], changed.json()["balance"]) == ("premium", 1_000)  # nothing granted now
    assert_problem(admin.put(f"/admin/v1/brands/{made['id']}/plan", json={"plan": "gold"}), 422)
    [event] = [
        e
        for e in operated.store.events.get(CreditLedger.create_id(UUID(made["id"])))
        if isinstance(e, CreditLedger.PlanChanged)
    ]
    assert (event.plan, event.previous_plan, event.changed_by) == ("premium", "basic", "admin api: bob")


def test_a_suspended_brand_is_refused_within_a_second_and_answered_again_after_reinstatement(admin, operated):
    made = new_brand(admin)
    own = as_brand(operated, made["api_key"])
    assert own.get("/v1/credits").status_code == 200  # its standing is known to this app now
    suspended = admin.post(
        f"/admin/v1/brands/{made['id']}/suspend",
        json={"reason": "invoice unpaid"},
        headers={"X-Operator": "alice"},
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    assert suspended.json()["suspension_reason"] == "invoice unpaid"
    refused = eventually(lambda: (a := own.get("/v1/credits")).status_code == 403 and a, timeout=1.0)
    problem = assert_problem(refused, 403)
    assert problem["type"].endswith("/brand-suspended") and problem["title"] == "Brand suspended"
    assert problem["detail"] == (
        "this brand is suspended: its API calls are refused and nothing of it is sent"
    )
    for method, path in [("GET", "/v1/campaign/"), ("POST", "/v1/lead-groups")]:
        assert_problem(own.request(method, path, json={"name": "x"}), 403)
    other = Client(operated)  # another brand goes on
    assert other.get("/v1/credits").status_code == 200

    reinstated = admin.post(f"/admin/v1/brands/{made['id']}/reinstate")
    assert reinstated.status_code == 200 and reinstated.json()["status"] == "active"
    eventually(lambda: own.get("/v1/credits").status_code == 200, timeout=1.0)
    history = list(operated.store.events.get(CreditLedger.create_id(UUID(made["id"]))))
    [down] = [e for e in history if isinstance(e, CreditLedger.BrandSuspended)]
    [up] = [e for e in history if isinstance(e, CreditLedger.BrandReinstated)]
    assert (down.reason, down.suspended_by, up.reinstated_by) == (
        "invoice unpaid",
        "admin api: alice",
        "admin api",
    )
    assert down.suspended_at <= up.reinstated_at
    assert_problem(admin.post(f"/admin/v1/brands/{made['id']}/suspend", json={"reason": ""}), 422)
    assert_problem(admin.post(f"/admin/v1/brands/{uuid4()}/suspend", json={"reason": "x"}), 404)


def test_the_openapi_document_describes_the_admin_routes_and_their_problems(admin):
    document = admin.get("/openapi.json").json()
    paths = document["paths"]
    expected = {
        ("/admin/v1/brands", "get"),
        ("/admin/v1/brands", "post"),
        ("/admin/v1/brands/{brand_id}", "get"),
        ("/admin/v1/brands/{brand_id}/credits", "post"),
        ("/admin/v1/brands/{brand_id}/plan", "put"),
        ("/admin/v1/brands/{brand_id}/suspend", "post"),
        ("/admin/v1/brands/{brand_id}/reinstate", "post"),
    }
    assert expected <= {(p, m) for p, ops in paths.items() for m in ops}
    for path, method in expected:
        responses = paths[path][method]["responses"]
        assert {"401", "422", "500"} <= responses.keys(), (path, method)
        assert "application/problem+json" in responses["401"]["content"]
        assert paths[path][method]["security"] == [{"admin": []}]
        assert not {"403", "429"} & responses.keys(), (path, method)  # no brand's standing or rate here
        assert not [s for s, answer in responses.items() if "headers" in answer], (path, method)
    assert "404" in paths["/admin/v1/brands/{brand_id}/credits"]["post"]["responses"]
    assert "403" in paths["/v1/credits"]["get"]["responses"]
    assert "renews_at" in document["components"]["schemas"]["CreditsOut"]["properties"]
