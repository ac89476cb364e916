"""Launch reserves credits atomically: concurrent launches cannot together overspend a balance."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from tests.support import Client, contacts, credits_without_renewal, running_service

SIX_EMAILS = [{"type": "EMAIL", "group": g, "subject": "s", "body": "b"} for g in range(6)]


def test_two_concurrent_launches_against_a_balance_for_one_succeed_exactly_once(database_url):
    # Only the read side runs: with every role, group 0 can go out and the settlement consume its
    # credits before the balance below is read (reserved_outstanding 500, not 600).
    with running_service(database_url, roles=("projector",)) as service:
        client = Client(service)  # basic plan: 1,000 credits
        client.sender("email", "sales@brand.example")
        group = client.lead_group(contacts(100, phones=False))
        campaigns = [client.campaign(group, SIX_EMAILS, name=f"c{i}") for i in range(2)]  # 600 each
        barrier = threading.Barrier(2)
        answers: dict[str, tuple[int, dict]] = {}

        def launch(campaign_id: str) -> None:
            http = TestClient(service.http_app(), headers={"Authorization": f"Bearer {client.api_key}"})
            barrier.wait()
            response = http.post(f"/v1/campaign/{campaign_id}/launch")
            answers[campaign_id] = (response.status_code, response.json())

        threads = [threading.Thread(target=launch, args=(c,)) for c in campaigns]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert sorted(status for status, _ in answers.values()) == [200, 402]
        (winner,) = [c for c, (status, _) in answers.items() if status == 200]
        (loser,) = [c for c, (status, _) in answers.items() if status == 402]
        assert answers[winner][1]["credits_reserved"] == 600
        assert answers[loser][1]["needed"] == 600
        assert answers[loser][1]["available"] == 400
        assert credits_without_renewal(client.ok(client.get("/v1/credits"))) == {
            "plan": "basic",
            "balance": 400,
            "reserved_outstanding": 600,
        }
        assert client.ok(client.get(f"/v1/campaign/{loser}"))["status"] == "DRAFT"
        assert client.ok(client.get(f"/v1/campaign/{winner}"))["status"] == "ACTIVE"
