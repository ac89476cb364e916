"""Lead groups, contact imports and sender accounts over HTTP on real PostgreSQL.

An import, as JSON or as CSV, keeps the good rows and reports each bad one with its row number (the
first contact is row 1), also a row naming two different existing contacts; the same email or phone
within a brand is the same contact, so importing it again adds nothing, and phones are compared in
E.164. A group reports its contact count, and another brand's
group does not exist for the caller. Sender accounts answer their limits for today (a warm-up starts
below the daily limit) and never give back their credentials.
"""

from __future__ import annotations

import pytest

from tests.api.api_support import EMAIL_STEP, assert_problem, lenient
from tests.support import Client, contacts

NOTHING_INVALID = {"invalid": [], "invalid_count": 0}
ACCOUNT_KEYS = {"id", "channel", "provider", "address", "daily_limit", "limit_today", "sends_today", "status"}


def _group(client: Client, name: str = "leads") -> str:
    return client.ok(client.post("/v1/lead-groups", {"name": name}), 201)["id"]


def _import(client: Client, group_id: str, rows: list[dict]) -> dict:
    return client.ok(client.post(f"/v1/lead-groups/{group_id}/contacts", {"contacts": rows}))


def _count(client: Client, group_id: str) -> int:
    return client.ok(client.get(f"/v1/lead-groups/{group_id}"))["contact_count"]


SERVICE_ROLES = ("projector",)  # these tests never launch


def test_a_new_lead_group_is_empty_and_listed(service):
    client = Client(service)
    created = client.ok(client.post("/v1/lead-groups", {"name": "Trade fair"}), 201)
    assert created["name"] == "Trade fair" and created["contact_count"] == 0
    assert client.ok(client.get(f"/v1/lead-groups/{created['id']}")) == created
    listed = client.ok(client.get("/v1/lead-groups"))["items"]
    assert listed == [created]
    assert_problem(client.post("/v1/lead-groups", {"name": ""}), 422)


def test_an_import_reports_invalid_rows_by_number_and_keeps_the_good_ones(service):
    client = Client(service)
    group = _group(client)
    report = _import(
        client,
        group,
        [
            {"email": "ada@example.com", "first_name": "Ada"},
            {"email": "not-an-email"},
            {"first_name": "Nobody", "company": "No address Ltd"},
            {"phone": "12"},
            {"phone": "+1 (415) 555-0199", "first_name": "Phone only"},
            {"email": "grace@example.com", "phone": "+14155550123"},
        ],
    )

    assert report["added"] == 3 and report["updated"] == 0
    assert [row["row"] for row in report["invalid"]] == [2, 3, 4]
    assert all(isinstance(row["error"], str) and row["error"] for row in report["invalid"])
    assert _count(client, group) == 3
    assert client.ok(client.get("/v1/lead-groups"))["items"][0]["contact_count"] == 3


def test_importing_the_same_contacts_again_adds_nothing(service):
    client = Client(service)
    group = _group(client)
    assert _import(client, group, contacts(5)) == {"added": 5, "updated": 0, **NOTHING_INVALID}
    assert _import(client, group, contacts(5)) == {"added": 0, "updated": 0, **NOTHING_INVALID}
    assert _count(client, group) == 5

    other = _group(client, "second group")
    assert _import(client, other, contacts(3)) == {"added": 0, "updated": 0, **NOTHING_INVALID}
    assert _count(client, other) == 3 and _count(client, group) == 5


def test_a_contact_is_matched_by_email_or_by_phone_in_e164_and_updated(service):
    client = Client(service)
    group = _group(client)
    _import(client, group, [{"email": "ada@example.com"}, {"phone": "+1 (415) 555-0100"}])

    report = _import(
        client,
        group,
        [
            {"email": "ada@example.com", "first_name": "Ada"},
            {"phone": "+14155550100", "first_name": "Tex"},
        ],
    )
    assert report == {"added": 0, "updated": 2, **NOTHING_INVALID}
    assert _count(client, group) == 2


def test_another_brands_lead_group_answers_404_and_its_contacts_are_not_shared(service):
    owner, stranger = Client(service), Client(service)
    group = _group(owner)
    _import(owner, group, contacts(2))

    assert_problem(stranger.get(f"/v1/lead-groups/{group}"), 404)
    assert_problem(
        stranger.post(f"/v1/lead-groups/{group}/contacts", {"contacts": contacts(4, start=50)}), 404
    )
    body = {"name": "borrowed audience", "lead_group_ids": [group], "steps": [EMAIL_STEP]}
    assert_problem(stranger.post("/v1/campaign/", body), 404)

    assert stranger.ok(stranger.get("/v1/lead-groups"))["items"] == []
    assert stranger.ok(stranger.get("/v1/campaign/"))["items"] == []
    assert _count(owner, group) == 2

    theirs = _group(stranger)
    assert _import(stranger, theirs, contacts(2))["added"] == 2  # the same people, their own contacts
    assert _count(stranger, theirs) == 2 and _count(owner, group) == 2


def test_contacts_can_be_imported_as_csv_with_extra_columns_kept_as_fields(service):
    client = Client(service)
    group = _group(client)
    csv = (
        "email,phone,first_name,last_name,company,timezone,plan\n"
        "ada@example.com,+14155550100,Ada,Lovelace,Engines,Europe/London,gold\n"
        "not-an-email,,Bad,,,,\n"
        ",+14155550101,Tex,,,,silver\n"
    )
    response = client.http.post(
        f"/v1/lead-groups/{group}/contacts", content=csv, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["added"] == 2 and report["updated"] == 0
    assert len(report["invalid"]) == 1
    assert _count(client, group) == 2


def test_a_csv_in_the_charset_it_names_is_read_in_that_charset(service):
    client = Client(service)
    group = _group(client)
    csv = "email,first_name\nzoe@example.com,Zo\u00eb\n".encode("latin-1")
    headers = {"Content-Type": 'text/csv; charset="ISO-8859-1"'}
    response = client.http.post(f"/v1/lead-groups/{group}/contacts", content=csv, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 1
    row = service.db.fetch_one("SELECT first_name FROM contacts WHERE brand_id = %s", (client.brand_id,))
    assert row == {"first_name": "Zo\u00eb"}  # the byte 0xEB, which UTF-8 would refuse


@pytest.mark.parametrize(
    ("content_type", "detail"),
    [
        ("text/plain", "send contacts as application/json or text/csv, not text/plain"),
        (None, "send contacts as application/json or text/csv, not a body without a type"),
        ("text/csv; charset=klingon", "unknown charset 'klingon'"),
    ],
)
def test_contacts_in_a_type_or_charset_the_service_cannot_read_are_a_415_and_nothing_is_stored(
    service, content_type, detail
):
    client = Client(service)
    group = _group(client)
    headers = {"Content-Type": content_type} if content_type else {}
    body = b"email\nada@example.com\n"
    response = client.http.post(f"/v1/lead-groups/{group}/contacts", content=body, headers=headers)
    problem = assert_problem(response, 415)
    assert (problem["title"], problem["detail"]) == ("Unsupported media type", detail)
    assert _count(client, group) == 0


def test_a_row_matching_two_different_contacts_is_reported_and_the_others_are_kept(service):
    client = Client(service)
    group = _group(client)
    _import(client, group, contacts(2))  # lead0 +14155550000, lead1 +14155550001

    response = lenient(client).post(
        f"/v1/lead-groups/{group}/contacts",
        json={
            "contacts": [
                {"email": "new@example.com"},
                {"email": "lead0@example.com", "phone": "+14155550001"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["added"] == 1
    assert [row["row"] for row in report["invalid"]] == [2]
    assert _count(client, group) == 3


@pytest.mark.parametrize("path", ["/v1/lead-groups", "/v1/sender-accounts"])
def test_lead_group_and_sender_account_lists_are_paged(service, path):
    client = Client(service)
    for i in range(3):
        if path == "/v1/lead-groups":
            _group(client, f"group {i}")
        else:
            client.sender("email", f"sales{i}@brand.example")
    assert_problem(client.get(path, params={"limit": 0}), 422)
    first = client.ok(client.get(path, params={"limit": 2}))
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.ok(client.get(path, params={"limit": 2, "cursor": first["next_cursor"]}))
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_a_sender_account_answers_its_limits_for_today(service):
    client = Client(service)
    plain = client.ok(
        client.post(
            "/v1/sender-accounts",
            {"channel": "sms", "provider": "sandbox", "address": "+14155550000", "daily_limit": 200},
        ),
        201,
    )
    assert set(plain) >= ACCOUNT_KEYS
    assert plain["channel"] == "sms" and plain["provider"] == "sandbox"
    assert plain["address"] == "+14155550000"
    assert (plain["daily_limit"], plain["limit_today"], plain["sends_today"]) == (200, 200, 0)

    warming = client.ok(
        client.post(
            "/v1/sender-accounts",
            {
                "channel": "email",
                "provider": "sandbox",
                "address": "sales@brand.example",
                "daily_limit": 50,
                "warmup": {"enabled": True, "start_limit": 10, "daily_increment": 5},
            },
        ),
        201,
    )
    assert (warming["daily_limit"], warming["limit_today"], warming["sends_today"]) == (50, 10, 0)

    listed = client.ok(client.get("/v1/sender-accounts"))["items"]
    assert sorted(a["id"] for a in listed) == sorted([plain["id"], warming["id"]])
    stranger = Client(service)
    assert stranger.ok(stranger.get("/v1/sender-accounts"))["items"] == []


def test_sender_account_credentials_are_never_returned(service):
    client = Client(service)
    secret = "hunter2-very-secret-token"
    response = client.post(
        "/v1/sender-accounts",
        {
            "channel": "email",
            "provider": "sandbox",
            "address": "sales@brand.example",
            "credentials": {"password": secret, "refresh_token": secret},
        },
    )
    created = client.ok(response, 201)
    assert "credentials" not in created
    assert secret not in response.text

    listing = client.get("/v1/sender-accounts")
    assert secret not in listing.text
    assert all("credentials" not in account for account in listing.json()["items"])

    schema = client.ok(client.get("/openapi.json"))["components"]["schemas"]["SenderAccountOut"]
    assert "credentials" not in schema["properties"]


def test_a_sender_account_with_a_bad_channel_or_limit_is_a_422_naming_the_field(service):
    client = Client(service)
    for body, field in [
        ({"channel": "fax", "provider": "sandbox", "address": "+14155550000"}, "body.channel"),
        (
            {"channel": "sms", "provider": "sandbox", "address": "+14155550000", "daily_limit": -1},
            "body.daily_limit",
        ),
        ({"channel": "sms", "provider": "sandbox"}, "body.address"),
    ]:
        problem = assert_problem(client.post("/v1/sender-accounts", body), 422)
        assert field in {error["field"] for error in problem["errors"]}, (body, problem)
    assert client.ok(client.get("/v1/sender-accounts"))["items"] == []


def test_registering_the_same_sender_account_twice_is_a_problem_not_a_server_error(service):
    client = Client(service)
    body = {"channel": "sms", "provider": "sandbox", "address": "+14155550000"}
    first = client.ok(client.post("/v1/sender-accounts", body), 201)
    response = lenient(client).post("/v1/sender-accounts", json=body)
    if response.status_code == 409:
        assert_problem(response, 409)
    else:  # answering the existing account would honour the contract too
        assert response.status_code in (200, 201), response.text
        assert response.json()["id"] == first["id"]
    assert len(client.ok(client.get("/v1/sender-accounts"))["items"]) == 1
