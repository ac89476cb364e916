"""The boundary refuses what storage or later arithmetic cannot hold, with a 422 problem naming the field.

No text field (bodies, query strings, contact fields, template text) takes a NUL character or an
unpaired surrogate; lengths, counts and numbers stay within CONTRACT.md's Limits. A CSV row holding
such a cell is reported as an invalid row while the rest of the file imports. Nothing refused here
reaches storage: the brand's lists stay empty.
"""

from __future__ import annotations

import json

import pytest

from tests.api.api_support import EMAIL_STEP, SMS_STEP, assert_problem
from tests.support import Client

SERVICE_ROLES = ("projector",)  # nothing here launches

BAD_TEXT = {"NUL": "Q4\x00outreach", "unpaired surrogate": "Q4\ud800outreach"}


def _post_raw(client: Client, path: str, body: object, **params):
    """JSON that may hold lone surrogates (escaped, as JSON allows), sent byte for byte."""
    return client.http.post(
        path, content=json.dumps(body), headers={"Content-Type": "application/json"}, params=params
    )


def _fields(problem: dict) -> set[str]:
    return {error["field"] for error in problem.get("errors", [])}


@pytest.mark.parametrize("bad", BAD_TEXT.values(), ids=BAD_TEXT.keys())
def test_bad_characters_in_any_text_field_are_a_422_naming_the_field(service, bad):
    client = Client(service)
    group = client.ok(client.post("/v1/lead-groups", {"name": "leads"}), 201)["id"]
    cases = [
        ("/v1/campaign/", {"name": bad, "steps": [EMAIL_STEP]}, "body.name"),
        ("/v1/campaign/", {"name": "n", "steps": [{**EMAIL_STEP, "subject": bad}]}, "body.steps.0.subject"),
        ("/v1/campaign/", {"name": "n", "steps": [{**SMS_STEP, "body": bad}]}, "body.steps.0.body"),
        ("/v1/campaign/", {"name": "n", "audience_type": bad}, "body.audience_type"),
        ("/v1/templates", {"name": bad, "steps": [EMAIL_STEP]}, "body.name"),
        ("/v1/templates", {"name": "t", "steps": [{**EMAIL_STEP, "body": bad}]}, "body.steps.0.body"),
        ("/v1/lead-groups", {"name": bad}, "body.name"),
        ("/v1/suppressions", {"address": "a@example.com", "reason": bad}, "body.reason"),
        (
            "/v1/sender-accounts",
            {"channel": "email", "provider": "sandbox", "address": f"a{bad}@example.com"},
            "body.address",
        ),
        (
            f"/v1/lead-groups/{group}/contacts",
            {"contacts": [{"email": "a@example.com", "first_name": bad}]},
            "body.contacts.0.first_name",
        ),
        (
            f"/v1/lead-groups/{group}/contacts",
            {"contacts": [{"email": "a@example.com", "fields": {"plan": bad}}]},
            "body.contacts.0.fields.plan",
        ),
    ]
    for path, body, field in cases:
        problem = assert_problem(_post_raw(client, path, body), 422)
        assert any(name.startswith(field) for name in _fields(problem)), (path, field, problem)

    # A query string is percent-encoded UTF-8, which has no surrogates; it can carry a NUL.
    for path in ["/v1/campaign/", "/v1/suppressions", "/v1/templates"]:
        problem = assert_problem(client.get(f"{path}?cursor=Q4%00x"), 422)
        assert "query.cursor" in _fields(problem), problem
    assert client.ok(client.get("/v1/campaign/"))["items"] == []
    assert client.ok(client.get("/v1/templates"))["items"] == []
    assert client.ok(client.get(f"/v1/lead-groups/{group}"))["contact_count"] == 0


def test_a_csv_row_with_a_nul_is_an_invalid_row_and_the_rest_imports(service):
    client = Client(service)
    group = client.ok(client.post("/v1/lead-groups", {"name": "leads"}), 201)["id"]
    csv = "email,first_name,plan\nann@example.com,Ann,gold\nbob@example.com,B\x00b,silver\ncy@example.com,Cy,\x00\n"
    report = client.ok(
        client.http.post(
            f"/v1/lead-groups/{group}/contacts", content=csv.encode(), headers={"Content-Type": "text/csv"}
        )
    )
    assert report["added"] == 1, report
    assert [entry["row"] for entry in report["invalid"]] == [2, 3], report
    assert "first_name" in report["invalid"][0]["error"]
    assert client.ok(client.get(f"/v1/lead-groups/{group}"))["contact_count"] == 1


def _campaign(**overrides) -> dict:
    return {"name": "limits", "steps": [EMAIL_STEP], **overrides}


def test_lengths_counts_and_numbers_past_the_limits_are_422_problems(service):
    client = Client(service)
    email = {"channel": "email", "provider": "sandbox", "address": "sales@brand.example"}
    cases = [
        ("/v1/campaign/", _campaign(steps=[EMAIL_STEP] * 101), "body.steps"),
        (
            "/v1/campaign/",
            _campaign(lead_group_ids=[str(i).zfill(32) for i in range(51)]),
            "body.lead_group_ids",
        ),
        ("/v1/campaign/", _campaign(name="n" * 201), "body.name"),
        ("/v1/campaign/", _campaign(steps=[{**EMAIL_STEP, "group": 366}]), "body.steps.0.group"),
        ("/v1/campaign/", _campaign(steps=[{"type": "WAIT", "wait_days": 366}]), "body.steps.0.wait_days"),
        ("/v1/campaign/", _campaign(steps=[{**EMAIL_STEP, "subject": "s" * 999}]), "body.steps.0.subject"),
        ("/v1/campaign/", _campaign(steps=[{**EMAIL_STEP, "body": "b" * 102_401}]), "body.steps.0.body"),
        ("/v1/campaign/", _campaign(steps=[{**SMS_STEP, "body": "b" * 1601}]), "body.steps.0.body"),
        ("/v1/campaign/", _campaign(timezone="Mars/Olympus_Mons"), "body.timezone"),
        (
            "/v1/campaign/",
            _campaign(steps=[{"type": "VOICEMAIL", "audio_url": "file:///etc/passwd"}]),
            "body.steps.0.audio_url",
        ),
        ("/v1/templates", {"name": "t", "steps": [EMAIL_STEP] * 101}, "body.steps"),
        ("/v1/templates", {"name": "t", "steps": [{**SMS_STEP, "body": "b" * 1601}]}, "body.steps.0.body"),
        ("/v1/sender-accounts", {**email, "daily_limit": 0}, "body.daily_limit"),
        ("/v1/sender-accounts", {**email, "daily_limit": 100_001}, "body.daily_limit"),
        (
            "/v1/sender-accounts",
            {**email, "warmup": {"enabled": True, "start_limit": 100_001}},
            "body.warmup.start_limit",
        ),
        (
            "/v1/sender-accounts",
            {**email, "warmup": {"enabled": True, "daily_increment": 10**12}},
            "body.warmup.daily_increment",
        ),
    ]
    for path, body, field in cases:
        problem = assert_problem(client.post(path, body), 422)
        assert any(name.startswith(field) for name in _fields(problem)), (path, field, problem)
    assert client.ok(client.get("/v1/campaign/"))["items"] == []
    assert client.ok(client.get("/v1/sender-accounts"))["items"] == []


def test_contact_fields_are_bounded_in_keys_lengths_and_nesting(service):
    client = Client(service)
    group = client.ok(client.post("/v1/lead-groups", {"name": "leads"}), 201)["id"]
    for fields in [
        {f"k{i}": "v" for i in range(101)},
        {"k" * 101: "v"},
        {"plan": "v" * 10_001},
        {"nested": {"deeper": {"deepest": "v"}}},
        {"list": ["a", "b"]},
    ]:
        body = {"contacts": [{"email": "a@example.com", "fields": fields}]}
        problem = assert_problem(client.post(f"/v1/lead-groups/{group}/contacts", body), 422)
        assert any(name.startswith("body.contacts.0.fields") for name in _fields(problem)), problem
    accepted = {"plan": "gold", "seats": 12, "vip": True, "note": None}
    body = {"contacts": [{"email": "a@example.com", "fields": accepted}]}
    assert client.ok(client.post(f"/v1/lead-groups/{group}/contacts", body))["added"] == 1


def test_values_at_the_limits_are_accepted(service):
    client = Client(service)
    steps = [{**EMAIL_STEP, "group": 365, "subject": "s" * 998, "body": "b" * 102_400}]
    steps += [{"type": "WAIT", "group": 0, "wait_days": 365}, {**SMS_STEP, "body": "b" * 1600}] * 49
    created = client.ok(client.post("/v1/campaign/", _campaign(name="n" * 200, steps=steps)), 201)
    assert len(created["steps"]) == 99
    body = {
        "channel": "email",
        "provider": "sandbox",
        "address": "sales@brand.example",
        "daily_limit": 100_000,
        "warmup": {"enabled": True, "start_limit": 100_000, "daily_increment": 100_000},
    }
    assert client.ok(client.post("/v1/sender-accounts", body), 201)["daily_limit"] == 100_000


def test_unknown_body_fields_are_refused_by_every_create(service):
    client = Client(service)
    for path, body in [
        ("/v1/campaign/", _campaign(nmae="typo")),
        ("/v1/campaign/", _campaign(sending_window={"days": ["mon"], "strat": "09:00"})),
        ("/v1/lead-groups", {"name": "leads", "colour": "red"}),
        ("/v1/suppressions", {"address": "a@example.com", "why": "asked"}),
        ("/v1/templates", {"name": "t", "steps": [EMAIL_STEP], "shared": True}),
        ("/v1/sender-accounts", {"channel": "sms", "provider": "sandbox", "address": "+14155550100", "x": 1}),
    ]:
        assert_problem(client.post(path, body), 422)


def test_an_unknown_time_zone_is_refused_saying_what_a_zone_name_looks_like(service):
    client = Client(service)
    problem = assert_problem(client.post("/v1/campaign/", _campaign(timezone="Mars/Olympus_Mons")), 422)
    [error] = [e["error"] for e in problem["errors"] if e["field"] == "body.timezone"]
    assert "unknown time zone 'Mars/Olympus_Mons': use an IANA name such as Europe/Paris" in error
    assert client.ok(client.post("/v1/campaign/", _campaign(timezone="Europe/Paris")), 201)["timezone"] == (
        "Europe/Paris"
    )
