"""What becomes of an Idempotency-Key after its first request (commands/idempotency.py).

A request that was refused (a 4xx the use case raised) stored nothing, so its key is free again:
the client may send the corrected request, or the same one once the cause is fixed, under the
same key, and that answer is the one replayed from then on. A key that was answered is never taken
over: not by the same brand with another body however long ago it was answered (422), and not by
another brand's request under the same key string, even one that is refused.
"""

from __future__ import annotations

from uuid import uuid4

from tests.api.api_support import EMAIL_STEP, assert_problem
from tests.support import Client, contacts, eventually


def _campaign_ids(client: Client) -> list[str]:
    return [c["id"] for c in client.ok(client.get("/v1/campaign/"))["items"]]


def test_a_create_refused_for_a_missing_lead_group_may_be_sent_again_corrected_under_the_same_key(service):
    client = Client(service)
    key = {"Idempotency-Key": "create-after-a-typo"}
    group = client.lead_group(contacts(1, phones=False))

    refused = client.post(
        "/v1/campaign/", {"name": "Q4", "lead_group_ids": [str(uuid4())], "steps": [EMAIL_STEP]}, headers=key
    )
    assert_problem(refused, 404)
    corrected = {"name": "Q4", "lead_group_ids": [group], "steps": [EMAIL_STEP]}
    created = client.ok(client.post("/v1/campaign/", corrected, headers=key), 201)
    again = client.ok(client.post("/v1/campaign/", corrected, headers=key), 201)

    assert again == created
    assert _campaign_ids(client) == [created["id"]]


def test_a_launch_refused_for_want_of_a_sender_goes_through_under_the_same_key_once_one_is_added(service):
    client = Client(service)
    campaign_id = client.campaign(client.lead_group(contacts(2, phones=False)), [EMAIL_STEP])
    key = {"Idempotency-Key": "launch-when-ready"}

    assert_problem(client.post(f"/v1/campaign/{campaign_id}/launch", headers=key), 422)
    client.sender("email", "sales@brand.example")
    launched = client.ok(client.post(f"/v1/campaign/{campaign_id}/launch", headers=key))
    again = client.ok(client.post(f"/v1/campaign/{campaign_id}/launch", headers=key))

    assert launched == again == {"id": campaign_id, "status": "ACTIVE", "credits_reserved": 2}
    # Reserved once: once both sends consumed their credits (the sends may beat any read of
    # what is outstanding), the campaign's reservation is still the one launch's.
    credits = eventually(
        lambda: (c := client.ok(client.get(f"/v1/campaign/{campaign_id}"))["credits"])["consumed"] == 2 and c
    )
    assert credits == {"reserved": 2, "consumed": 2, "released": 0, "outstanding": 0}
    eventually(lambda: client.ok(client.get("/v1/credits"))["reserved_outstanding"] == 0)


def test_an_answered_key_is_never_taken_over_however_long_ago_it_was_answered(service):
    client = Client(service)
    key = {"Idempotency-Key": "answered-long-ago"}
    first = client.ok(client.post("/v1/campaign/", {"name": "Q4", "steps": [EMAIL_STEP]}, headers=key), 201)
    service.db.execute(  # answered well over a lease ago
        """UPDATE idempotency_keys SET claimed_at = claimed_at - interval '1 day',
                  created_at = created_at - interval '1 day'
           WHERE brand_id = %s AND key = %s""",
        (client.brand_id, key["Idempotency-Key"]),
    )

    assert_problem(client.post("/v1/campaign/", {"name": "Q1", "steps": [EMAIL_STEP]}, headers=key), 422)
    again = client.ok(client.post("/v1/campaign/", {"name": "Q4", "steps": [EMAIL_STEP]}, headers=key), 201)

    assert again == first
    assert _campaign_ids(client) == [first["id"]]


def test_another_brands_refused_request_under_the_same_key_leaves_the_first_brands_answer(service):
    first, second = Client(service), Client(service)
    key = {"Idempotency-Key": "the-same-string"}
    body = {"name": "first's", "steps": [EMAIL_STEP]}
    mine = first.ok(first.post("/v1/campaign/", body, headers=key), 201)

    theirs = second.post(
        "/v1/campaign/", {"name": "x", "lead_group_ids": [str(uuid4())], "steps": [EMAIL_STEP]}, headers=key
    )
    assert_problem(theirs, 404)

    assert first.ok(first.post("/v1/campaign/", body, headers=key), 201) == mine
    assert _campaign_ids(first) == [mine["id"]]
    assert _campaign_ids(second) == []
