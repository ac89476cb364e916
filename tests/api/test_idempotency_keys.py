"""Idempotency-Key on the POSTs that create or launch, over HTTP on real PostgreSQL.

A repeat of a create (campaign, template, sender account, lead group, suppression) or of a launch
with the same key and the same body returns the first answer and does nothing more: one campaign is
created however often the create is repeated, even while the read model lags behind, and credits
are reserved once however often the launch is repeated. The same key with another body or on
another route is a 422. A claim whose request died before answering is taken over once its lease
(60 s) has passed. Keys belong to a brand, so another brand using the same key is a request of its own.
"""

from __future__ import annotations

from tests.api.api_support import EMAIL_STEP, assert_problem, launchable_campaign, service_on_own_database
from tests.support import Client, credits_without_renewal, eventually

# Launches need only the read model kept up to date. With the senders and the settlement running,
# the credits a launch reserves are consumed as its emails go out, and `reserved_outstanding`
# read after a launch would be whatever had been settled by then.
SERVICE_ROLES = ("projector",)


def test_repeating_a_create_with_the_same_key_returns_the_first_campaign_and_creates_one(service):
    client = Client(service)
    key = {"Idempotency-Key": "create-q4-once"}
    body = {"name": "Q4 outreach", "steps": [EMAIL_STEP]}

    first = client.post("/v1/campaign/", body, headers=key)
    again = client.post("/v1/campaign/", body, headers=key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    listed = client.ok(client.get("/v1/campaign/"))["items"]
    assert [c["id"] for c in listed] == [first.json()["id"]]


def test_creates_with_different_keys_or_without_a_key_each_create_a_campaign(service):
    client = Client(service)
    body = {"name": "n", "steps": [EMAIL_STEP]}
    ids = {
        client.ok(client.post("/v1/campaign/", body, headers={"Idempotency-Key": "a"}), 201)["id"],
        client.ok(client.post("/v1/campaign/", body, headers={"Idempotency-Key": "b"}), 201)["id"],
        client.ok(client.post("/v1/campaign/", body), 201)["id"],
        client.ok(client.post("/v1/campaign/", body), 201)["id"],
    }
    assert len(ids) == 4
    assert len(client.ok(client.get("/v1/campaign/"))["items"]) == 4


def test_a_key_belongs_to_its_brand(service):
    first, second = Client(service), Client(service)
    key = {"Idempotency-Key": "shared-key"}
    mine = first.ok(first.post("/v1/campaign/", {"name": "first's"}, headers=key), 201)
    theirs = second.ok(second.post("/v1/campaign/", {"name": "second's"}, headers=key), 201)

    assert mine["id"] != theirs["id"]
    assert theirs["name"] == "second's"
    assert [c["id"] for c in second.ok(second.get("/v1/campaign/"))["items"]] == [theirs["id"]]
    assert [c["id"] for c in first.ok(first.get("/v1/campaign/"))["items"]] == [mine["id"]]


def test_repeating_a_launch_with_the_same_key_returns_the_first_answer_and_reserves_once(service):
    client = Client(service)
    campaign_id = launchable_campaign(client, contact_count=7)
    key = {"Idempotency-Key": "launch-once"}

    first = client.post(f"/v1/campaign/{campaign_id}/launch", headers=key)
    again = client.post(f"/v1/campaign/{campaign_id}/launch", headers=key)

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == {"id": campaign_id, "status": "ACTIVE", "credits_reserved": 7}
    assert credits_without_renewal(client.ok(client.get("/v1/credits"))) == {
        "plan": "basic",
        "balance": 1000 - 7,
        "reserved_outstanding": 7,
    }
    assert client.ok(client.get(f"/v1/campaign/{campaign_id}"))["credits"]["reserved"] == 7
    # Without the key, a second launch is a new request: the campaign is no longer a DRAFT.
    assert client.post(f"/v1/campaign/{campaign_id}/launch").status_code == 409


def test_a_create_answers_201_and_stays_idempotent_while_the_read_model_lags(server_url):
    with service_on_own_database(server_url, roles=()) as api_alone:  # no projector running
        client = Client(api_alone)
        key = {"Idempotency-Key": "create-while-lagging"}
        first = client.post("/v1/campaign/", {"name": "lagging"}, headers=key)
        assert first.status_code == 201, first.text
        again = client.post("/v1/campaign/", {"name": "lagging"}, headers=key)
        assert again.status_code == 201, again.text
        assert again.json()["id"] == first.json()["id"]


def test_a_campaign_created_while_the_read_model_lags_is_answered_as_it_reads_once_caught_up(server_url):
    with service_on_own_database(server_url, roles=()) as api_alone:  # no projector running yet
        client = Client(api_alone)
        window = {"days": ["mon", "tue"], "start": "09:00", "end": "17:30"}
        steps = [EMAIL_STEP, {"type": "WAIT", "group": 1, "wait_days": 2}, {**EMAIL_STEP, "group": 1}]
        body = {"name": "lagging", "steps": steps, "timezone": "Europe/Paris", "sending_window": window}
        lagging = client.ok(client.post("/v1/campaign/", body), 201)
        assert lagging["metrics"] == {
            "enrolled": 0,
            "sent": {"email": 0, "sms": 0, "voicemail": 0},
            **dict.fromkeys(
                [
                    "delivered",
                    "opened",
                    "clicked",
                    "replied",
                    "bounced",
                    "failed",
                    "unsubscribed",
                    "cancelled",
                ],
                0,
            ),
        }
        assert lagging["credits"] == {"reserved": 0, "consumed": 0, "released": 0, "outstanding": 0}
        assert (lagging["status"], lagging["pause"], lagging["estimated_credits"]) == ("DRAFT", None, 0)
        api_alone.start(("projector",))
        read = eventually(lambda: (a := client.get(f"/v1/campaign/{lagging['id']}")).status_code == 200 and a)
        assert lagging == read.json()


def test_the_same_key_with_another_body_or_on_another_route_is_a_422(service):
    client = Client(service)
    key = {"Idempotency-Key": "reused"}
    first = client.ok(client.post("/v1/campaign/", {"name": "Q4", "steps": [EMAIL_STEP]}, headers=key), 201)

    refused = assert_problem(
        client.post("/v1/campaign/", {"name": "Q1", "steps": [EMAIL_STEP]}, headers=key), 422
    )
    said = "Idempotency-Key 'reused' was used for another request; use a new key"
    assert refused["detail"] == said
    assert refused["errors"] == [{"field": "header.Idempotency-Key", "error": said}]
    assert_problem(client.post("/v1/lead-groups", {"name": "Q4"}, headers=key), 422)
    assert_problem(client.post(f"/v1/campaign/{first['id']}/launch", headers=key), 422)
    assert [c["id"] for c in client.ok(client.get("/v1/campaign/"))["items"]] == [first["id"]]
    assert client.ok(client.get("/v1/lead-groups"))["items"] == []


def test_a_key_claimed_by_a_request_that_died_is_taken_over_after_its_lease(service):
    client = Client(service)
    body = {"name": "after a crash", "steps": [EMAIL_STEP]}
    for key, age_seconds in [("died-long-ago", 120), ("still-running", 1)]:
        service.db.execute(
            """INSERT INTO idempotency_keys (brand_id, key, scope, created_at)
               VALUES (%s, %s, 'POST /v1/campaign/', now() - make_interval(secs => %s))""",
            (client.brand_id, key, age_seconds),
        )

    taken_over = client.post("/v1/campaign/", body, headers={"Idempotency-Key": "died-long-ago"})
    assert taken_over.status_code == 201, taken_over.text
    again = client.post("/v1/campaign/", body, headers={"Idempotency-Key": "died-long-ago"})
    assert again.json() == taken_over.json()
    running = assert_problem(
        client.post("/v1/campaign/", body, headers={"Idempotency-Key": "still-running"}), 409
    )
    assert running["detail"] == "a request with Idempotency-Key 'still-running' is still running"
    assert len(client.ok(client.get("/v1/campaign/"))["items"]) == 1


def test_lead_group_and_suppression_creates_take_a_key(service):
    client = Client(service)
    key = {"Idempotency-Key": "group-once"}
    groups = [client.post("/v1/lead-groups", {"name": "fair"}, headers=key) for _ in range(2)]
    assert groups[0].status_code == groups[1].status_code == 201
    assert groups[0].json() == groups[1].json()
    assert len(client.ok(client.get("/v1/lead-groups"))["items"]) == 1

    key = {"Idempotency-Key": "suppress-once"}
    body = {"address": "ann@example.com", "reason": "asked"}
    answers = [client.post("/v1/suppressions", body, headers=key) for _ in range(2)]
    assert answers[0].status_code == answers[1].status_code == 201  # the first answer, replayed
    assert answers[0].json() == answers[1].json()
