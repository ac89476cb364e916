"""Contact imports (JSON and CSV) and the suppression list, over HTTP on real PostgreSQL.

A CSV upload keeps unknown columns as custom fields, reports each bad row by its number (the first
data row after the header is row 1) and keeps the good ones; importing the same file again changes
nothing. A contact in two lead groups is enrolled and charged once, and a suppressed address is
never enrolled or charged. The suppression list is paged, idempotent and per brand. Uploads that
are not JSON or CSV, CSV files without a usable header and unknown groups are problems.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tests.support import Client, contacts, eventually, running_service

EMAIL_STEP = {"type": "EMAIL", "group": 0, "subject": "Hi {{first_name|there}}", "body": "Hello"}
SMS_STEP = {"type": "SMS", "group": 0, "body": "Hi {{first_name|there}}"}
PROBLEM = "application/problem+json"
NOTHING_INVALID = {"invalid": [], "invalid_count": 0}
CSV = {"Content-Type": "text/csv"}

MIXED_CSV = (
    "email,phone,first_name,last_name,company,timezone,plan,source\n"
    "ada@example.com,+1 (415) 555-0100,Ada,Lovelace,Engines,Europe/London,gold,fair\n"  # 1
    "not-an-email,,Bad,,,,,\n"  # 2
    ",,Nobody,,No address Ltd,,,\n"  # 3
    "grace@example.com,,Grace,,,Mars/Olympus,,\n"  # 4
    "\n"  # 5: a blank line, skipped
    "tex@example.com,12,Tex,,,,,\n"  # 6
    ",415.555.0101,Phone only,,,america/new_york,silver,\n"  # 7
    "ADA@example.com,,Ada,,,,,\n"  # 8: Ada again, nothing new
)


def _group(client: Client, name: str = "leads") -> str:
    return client.ok(client.post("/v1/lead-groups", {"name": name}), 201)["id"]


def _upload_csv(client: Client, group_id: str, text: str | bytes, content_type: str = "text/csv"):
    body = text.encode() if isinstance(text, str) else text
    return client.http.post(
        f"/v1/lead-groups/{group_id}/contacts", content=body, headers={"Content-Type": content_type}
    )


def _suppress(client: Client, address: str, status: int = 201, reason: str = "manual") -> dict:
    return client.ok(client.post("/v1/suppressions", {"address": address, "reason": reason}), status)


def _count(client: Client, group_id: str) -> int:
    return client.ok(client.get(f"/v1/lead-groups/{group_id}"))["contact_count"]


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return response.json()


def test_a_csv_upload_keeps_unknown_columns_as_fields_and_normalises_addresses(database_url):
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        group = _group(client)
        report = client.ok(_upload_csv(client, group, MIXED_CSV))
        assert (report["added"], report["updated"]) == (2, 0)

        stored = service.db.fetch_all(
            "SELECT email, phone, timezone, fields FROM contacts WHERE brand_id = %s ORDER BY phone",
            (client.brand_id,),
        )
        assert [tuple(row.values()) for row in stored] == [
            ("ada@example.com", "+14155550100", "Europe/London", {"plan": "gold", "source": "fair"}),
            (None, "+14155550101", "America/New_York", {"plan": "silver"}),
        ]


def test_bad_csv_rows_are_reported_by_row_number_and_the_good_rows_kept(database_url):
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        group = _group(client)
        report = client.ok(_upload_csv(client, group, MIXED_CSV))

        assert [row["row"] for row in report["invalid"]] == [2, 3, 4, 6]
        reasons = ["invalid email", "needs an email or a phone", "unknown time zone", "invalid phone"]
        assert all(reason in row["error"] for reason, row in zip(reasons, report["invalid"], strict=True))
        assert _count(client, group) == 2


def test_importing_the_same_file_again_changes_nothing(database_url):
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        group = _group(client)
        first = client.ok(_upload_csv(client, group, MIXED_CSV))
        again = client.ok(_upload_csv(client, group, MIXED_CSV))
        assert (again["added"], again["updated"]) == (0, 0)
        assert again["invalid"] == first["invalid"]
        assert _count(client, group) == 2

        path, rows = f"/v1/lead-groups/{group}/contacts", {"contacts": contacts(1500, start=2000)}
        two_chunks = client.ok(client.post(path, rows))
        assert two_chunks == {"added": 1500, "updated": 0, **NOTHING_INVALID}
        assert client.ok(client.post(path, rows)) == {"added": 0, "updated": 0, **NOTHING_INVALID}
        assert _count(client, group) == 1502


def test_rows_naming_one_contact_twice_or_two_contacts_at_once(database_url):
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        group = _group(client)
        client.ok(client.post(f"/v1/lead-groups/{group}/contacts", {"contacts": contacts(2)}))

        text = (
            "email,phone,first_name\n"
            "new@example.com,,New\n"  # 1: added
            "NEW@example.com,+1 415 555 0199,\n"  # 2: the same contact, now with a phone
            "lead0@example.com,+14155550001,\n"  # 3: lead0's email, lead1's phone: not merged
            ",4155550199,Newer\n"  # 4: row 1's contact again, by its new phone
        )
        report = client.ok(_upload_csv(client, group, text))
        assert (report["added"], report["updated"]) == (1, 2)
        assert [row["row"] for row in report["invalid"]] == [3]
        assert "not merged" in report["invalid"][0]["error"]
        assert _count(client, group) == 3
        merged = service.db.fetch_one(
            "SELECT phone, first_name FROM contacts WHERE email = 'new@example.com' AND brand_id = %s",
            (client.brand_id,),
        )
        assert merged == {"phone": "+14155550199", "first_name": "Newer"}


def test_a_contact_in_two_lead_groups_is_charged_once_at_launch(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        first = _group(client, "first")
        client.ok(
            _upload_csv(
                client, first, "email,first_name\n" + "".join(f"lead{i}@example.com,L{i}\n" for i in range(5))
            )
        )
        second = client.lead_group([{"email": f"LEAD{i}@Example.com"} for i in range(3, 8)])
        body = {"name": "both groups", "lead_group_ids": [first, second], "steps": [EMAIL_STEP]}
        campaign = client.ok(client.post("/v1/campaign/", body), 201)["id"]

        launched = client.ok(client.post(f"/v1/campaign/{campaign}/launch"))
        assert launched["credits_reserved"] == 8
        outbox = eventually(lambda: (items := client.outbox(campaign)) and len(items) >= 8 and items)
        assert sorted(item["to"] for item in outbox) == sorted(f"lead{i}@example.com" for i in range(8))


def test_suppressed_addresses_are_neither_enrolled_nor_charged(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155559000")
        group = client.lead_group([*contacts(4), {"email": "gone@example.com"}])
        for address in (" Lead1@Example.com", "(415) 555-0002", "gone@example.com"):
            _suppress(client, address)
        campaign = client.campaign(group, [EMAIL_STEP, SMS_STEP])

        launched = client.ok(client.post(f"/v1/campaign/{campaign}/launch"))
        assert launched["credits_reserved"] == 3 + 3  # emails of lead0, 2, 3; phones of lead0, 1, 3

        def all_sent():
            detail = client.ok(client.get(f"/v1/campaign/{campaign}"))
            return detail if detail["metrics"]["sent"] == {"email": 3, "sms": 3, "voicemail": 0} else None

        detail = eventually(all_sent, timeout=60)
        assert detail["metrics"]["enrolled"] == 4
        sent_to = {item["to"] for item in client.outbox(campaign)}
        assert sent_to.isdisjoint({"lead1@example.com", "+14155550002", "gone@example.com"})


def test_the_suppression_list_adds_idempotently_pages_and_removes(database_url):
    with running_service(database_url, roles=()) as service:
        client, stranger = Client(service), Client(service)
        added = _suppress(client, "Ann@Example.com ", reason="asked to stop")
        assert (added["address"], added["channel"], added["reason"]) == (
            "ann@example.com",
            "email",
            "asked to stop",
        )
        assert _suppress(client, "ann@example.com", 200, reason="other") == added
        phone = _suppress(client, "+1 415-555-0100", reason="STOP")
        assert (phone["address"], phone["channel"]) == ("+14155550100", "phone")

        page = client.ok(client.get("/v1/suppressions", params={"limit": 1}))
        assert page["items"] == [added] and page["next_cursor"]
        rest = client.ok(client.get("/v1/suppressions", params={"limit": 1, "cursor": page["next_cursor"]}))
        assert rest == {"items": [phone], "next_cursor": None}
        assert client.ok(client.get("/v1/suppressions", params={"channel": "phone"}))["items"] == [phone]
        assert stranger.ok(stranger.get("/v1/suppressions")) == {"items": [], "next_cursor": None}
        _problem(client.get("/v1/suppressions", params={"cursor": "forged"}), 400)
        _problem(client.post("/v1/suppressions", {"address": "not a phone", "reason": "x"}), 422)

        _problem(stranger.http.delete("/v1/suppressions/ann@example.com"), 404)
        assert client.http.delete("/v1/suppressions/ANN@example.com").status_code == 204
        assert client.http.delete("/v1/suppressions/+14155550100").status_code == 204
        gone = _problem(client.http.delete("/v1/suppressions/ann@example.com"), 404)
        assert "suppression of ann@example.com" in gone["detail"]
        assert client.ok(client.get("/v1/suppressions"))["items"] == []


def test_the_suppression_list_pages_past_the_longest_address_in_a_non_latin_script(database_url):
    # 254 characters, none of them ASCII but the @ and the dots: the next page's cursor carries it
    # and must still fit the 2,000 characters a cursor may have.
    longest = "ж" * 64 + "@" + ".".join(["ж" * 60] * 3) + "." + "ж" * 6
    assert len(longest) == 254
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        first = _suppress(client, longest)
        second = _suppress(client, "+14155550100")

        page = client.ok(client.get("/v1/suppressions", params={"limit": 1}))
        assert page["items"] == [first] and page["next_cursor"]
        rest = client.ok(client.get("/v1/suppressions", params={"limit": 1, "cursor": page["next_cursor"]}))
        assert rest == {"items": [second], "next_cursor": None}


def test_uploads_that_are_not_contacts_are_problems(database_url):
    with running_service(database_url, roles=()) as service:
        client, stranger = Client(service), Client(service)
        group = _group(client)
        _problem(_upload_csv(client, group, "email\nann@example.com\n", "text/plain"), 415)
        _problem(client.http.post(f"/v1/lead-groups/{group}/contacts", content=b"email\n"), 415)
        assert "empty" in _problem(_upload_csv(client, group, ""), 422)["detail"]
        no_address = _problem(_upload_csv(client, group, "name,company\nAnn,Acme\n"), 422)
        assert "no email or phone column" in no_address["detail"]
        _problem(_upload_csv(client, group, b"email\nan\xff@x.co\n"), 422)  # not UTF-8
        _problem(client.post(f"/v1/lead-groups/{group}/contacts", {"contacts": [{"email": 5}]}), 422)

        unknown = "00000000-0000-4000-8000-000000000000"
        _problem(_upload_csv(client, unknown, "email\nann@example.com\n"), 404)
        _problem(client.post(f"/v1/lead-groups/{unknown}/contacts", {"contacts": contacts(1)}), 404)
        _problem(_upload_csv(stranger, group, "email\nann@example.com\n"), 404)
        assert _count(client, group) == 0

        latin = "email,company\nann@example.com,Café\n".encode("latin-1")
        assert client.ok(_upload_csv(client, group, latin, "text/csv; charset=latin-1"))["added"] == 1


def test_concurrent_uploads_of_the_same_new_contacts_create_each_once(database_url):
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        groups = [_group(client, "first"), _group(client, "second")]
        text = "email,phone\n" + "".join(f"c{i}@example.com,+1415555{i:04d}\n" for i in range(300))

        def upload(group: str) -> dict:  # a client per thread, as two callers would have
            http = TestClient(service.http_app(), headers={"Authorization": f"Bearer {client.api_key}"})
            return client.ok(http.post(f"/v1/lead-groups/{group}/contacts", content=text, headers=CSV))

        with ThreadPoolExecutor(2) as pool:
            reports = list(pool.map(upload, groups))
        assert sorted(report["added"] for report in reports) == [0, 300]
        assert all(report["invalid"] == [] for report in reports)
        assert [_count(client, group) for group in groups] == [300, 300]
