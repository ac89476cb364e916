"""Two launches of one campaign at the same moment: one wins, the other is told so, nobody is lost."""

from __future__ import annotations

import threading

import psycopg
from fastapi.testclient import TestClient

from tests.support import Client, contacts, eventually, running_service


def _waiting_on_locks(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return row[0] if row else 0


def test_overlapping_launches_keep_the_winners_audience_and_answer_409(database_url: str) -> None:
    with running_service(database_url, roles=("projector", "enroller")) as service:
        client = Client(service)  # basic plan: 1,000 credits, enough for one launch of 600
        group = client.lead_group(contacts(600, phones=False))
        client.sender("email", "sales@acme.example")
        campaign = client.campaign(group, [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}])
        answers: list[tuple[int, str]] = []

        def launch() -> None:
            http = TestClient(service.http_app())
            response = http.post(
                f"/v1/campaign/{campaign}/launch", headers={"Authorization": f"Bearer {client.api_key}"}
            )
            answers.append((response.status_code, response.text))

        # Hold the snapshot table so that both launches are under way before either takes its snapshot.
        with psycopg.connect(database_url) as blocker:
            blocker.execute("LOCK TABLE launch_audiences IN ACCESS EXCLUSIVE MODE")
            launches = [threading.Thread(target=launch) for _ in range(2)]
            for thread in launches:
                thread.start()
            eventually(lambda: _waiting_on_locks(database_url) >= 2, timeout=20)
            blocker.rollback()
        for thread in launches:
            thread.join(timeout=60)

        assert sorted(status for status, _ in answers) == [200, 409], answers
        detail = client.ok(client.get(f"/v1/campaign/{campaign}"))
        assert detail["status"] == "ACTIVE"
        assert detail["credits"]["reserved"] == 600
        assert client.ok(client.get("/v1/credits"))["balance"] == 400
        enrolled = eventually(
            lambda: (
                (m := client.ok(client.get(f"/v1/campaign/{campaign}"))["metrics"])["enrolled"] == 600 and m
            )
        )
        assert enrolled["enrolled"] == 600
