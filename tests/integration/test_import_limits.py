"""A contact upload's bounds, over HTTP on real PostgreSQL: whatever a file holds, the answer and
the memory behind it stay bounded.

The report lists the first 1,000 bad rows (lowest row numbers first) and counts all of them, for
CSV and JSON alike; a CSV of more than 1,000,000 rows is a 413 that stores nothing; a header of more
than 1,000 columns, naming a column twice or a column no text can hold, or a record of more than
2,000,000 characters (however many cells it makes), is a 422 naming the limit or the column. A
JSON upload that does not validate lists at most 100 problems, its sizes checked before its items.
"""

from __future__ import annotations

from tests.support import Client, running_service

PROBLEM = "application/problem+json"


def _group(client: Client) -> str:
    return client.ok(client.post("/v1/lead-groups", {"name": "leads"}), 201)["id"]


def _upload_csv(client: Client, group_id: str, text: str):
    return client.http.post(
        f"/v1/lead-groups/{group_id}/contacts", content=text.encode(), headers={"Content-Type": "text/csv"}
    )


def _count(client: Client, group_id: str) -> int:
    return client.ok(client.get(f"/v1/lead-groups/{group_id}"))["contact_count"]


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith(PROBLEM)
    return response.json()


def test_a_csv_of_many_bad_rows_reports_the_first_thousand_and_counts_them_all(database_url):
    # Every 7th row is good; the bad ones span several chunks of the import. Row 3 names one
    # existing contact's email and another's phone: it is reported in a later round than the
    # unreadable rows of its chunk, and must still come out in row order among the first thousand.
    rows = [f"c{n}@example.com," if n % 7 == 0 else "x,12" for n in range(1, 3501)]
    rows[3 - 1] = "first@example.com,+14155550100"
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        group = _group(client)
        before = client.ok(_upload_csv(client, group, "email,phone\nfirst@example.com,\n,+14155550100\n"))
        assert before["added"] == 2
        report = client.ok(_upload_csv(client, group, "email,phone\n" + "\n".join(rows) + "\n"))

    bad = [n for n in range(1, 3501) if n % 7 != 0]
    assert report["added"] == 500 and report["invalid_count"] == len(bad) == 3000
    assert [entry["row"] for entry in report["invalid"]] == bad[:1000]
    assert "invalid email" in report["invalid"][0]["error"]
    assert "not merged" in report["invalid"][2]["error"]


def test_a_json_upload_of_bad_contacts_reports_the_first_thousand_and_counts_them_all(database_url):
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        group = _group(client)
        upload = [{"email": "not-an-email"}] * 1500 + [{"email": "ann@example.com"}]
        report = client.ok(client.post(f"/v1/lead-groups/{group}/contacts", {"contacts": upload}))
        assert _count(client, group) == 1

    assert report["added"] == 1 and report["invalid_count"] == 1500
    assert [entry["row"] for entry in report["invalid"]] == list(range(1, 1001))


def test_a_csv_of_more_than_a_million_rows_is_refused_whole(database_url):
    first = "email\nann@example.com\n"
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        group = _group(client)
        # Blank lines count as rows (they keep the row numbers of the lines after them).
        too_many = _problem(_upload_csv(client, group, first + "\n" * 999_999 + "bob@example.com\n"), 413)
        assert "1,000,000 rows" in too_many["detail"] and "nothing was imported" in too_many["detail"]
        assert _count(client, group) == 0  # ann, row 1, was rolled back with the rest

        at_most = client.ok(_upload_csv(client, group, first + "\n" * 999_998 + "bob@example.com\n"))
        assert at_most["added"] == 2 and at_most["invalid_count"] == 0
        assert _count(client, group) == 2


def test_a_csv_header_past_a_thousand_columns_or_naming_one_twice_is_refused(database_url):
    extra = [f"field{n}" for n in range(999)]
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        group = _group(client)

        wide = ",".join(["email", *extra, "one_more"])
        problem = _problem(_upload_csv(client, group, wide + "\nann@example.com\n"), 422)
        assert "1,001 columns" in problem["detail"] and "at most 1,000" in problem["detail"]

        for unreadable, reason in [
            ("a\x00b", "contains a NUL character at position 1"),
            ("n" * 101, "is longer than 100 characters"),
        ]:
            problem = _problem(_upload_csv(client, group, f"email,{unreadable}\nann@example.com,x\n"), 422)
            assert problem["detail"] == f"the CSV header's column 2 {reason}"

        twice = ",".join(["email", *extra[:-1], "Field7"])
        problem = _problem(_upload_csv(client, group, twice + "\nann@example.com\n"), 422)
        assert problem["detail"].endswith("names these columns twice: field7")
        assert _count(client, group) == 0

        # A thousand distinct columns, and as many unnamed ones as fit, are a header.
        widest = ",".join(["email", *extra])
        assert client.ok(_upload_csv(client, group, widest + "\nann@example.com\n"))["added"] == 1
        unnamed = ",".join(["email", *[""] * 999])
        assert client.ok(_upload_csv(client, group, unnamed + "\nbob@example.com\n"))["added"] == 1


def test_a_csv_record_of_more_than_two_million_characters_is_refused_whole(database_url):
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        group = _group(client)
        commas = "email\nann@example.com\nbob@example.com" + "," * 2_000_000 + "\n"
        problem = _problem(_upload_csv(client, group, commas), 422)
        assert "from line 3 on is longer than 2,000,000 characters" in problem["detail"]
        header = "email" + "," * 2_000_000 + "\nann@example.com\n"
        assert "from line 1 on" in _problem(_upload_csv(client, group, header), 422)["detail"]
        assert _count(client, group) == 0

        # Quoted line breaks belong to their record; a long record under the bound is a row.
        quoted = 'email,notes\nann@example.com,"' + "\n" * 1_000 + '"\nbob@example.com,' + "x" * 10_000 + "\n"
        assert client.ok(_upload_csv(client, group, quoted))["added"] == 2


def test_a_json_upload_is_refused_with_a_bounded_list_of_problems(database_url):
    bad_fields = {"email": "ann@example.com", "fields": {f"k{n}": [] for n in range(100)}}
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        group = _group(client)
        path = f"/v1/lead-groups/{group}/contacts"

        # 100 contacts of 100 unreadable fields each: pydantic alone would list 40,000 problems.
        problem = _problem(client.post(path, {"contacts": [bad_fields] * 100}), 422)
        assert len(problem["errors"]) == 100
        assert problem["errors"][0]["field"].startswith("body.contacts.0.fields.k0")

        # Sizes are checked before any item is: one problem naming the limit.
        for body, field, limit in [
            ({"contacts": [0] * 10_001}, "body.contacts", "at most 10,000 contacts, not 10,001"),
            (
                {"contacts": [{"email": "a@b.co", "fields": {f"k{n}": 1 for n in range(101)}}]},
                "body.contacts.0.fields",
                "at most 100 fields, not 101",
            ),
            (
                {"contacts": [{f"k{n}": 1 for n in range(101)}]},
                "body.contacts.0",
                "at most 100 keys, not 101",
            ),
            ({"contacts": [], **{f"k{n}": 1 for n in range(100)}}, "body", "at most 100 keys, not 101"),
        ]:
            problem = _problem(client.post(path, body), 422)
            assert problem["errors"] == [{"field": field, "error": limit}], problem["errors"][:3]
        assert _count(client, group) == 0
