"""A brand made when a brand had one key (its digest in `brands`) keeps it after migration 0014.

The key still works; the brand's first key change opens its ApiKeys carrying the old key over
(`ApiKeysOpened.carried_over`), so the old key can be listed, revoked, and is refused afterwards.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from uuid import uuid4

import psycopg
from fastapi.testclient import TestClient

from commands.access.api_keys import digest
from domain.api_keys import ApiKeys
from domain.credit_ledger import CreditLedger, Plan
from storage.schema import migration_ids
from tests.api.api_support import assert_problem
from tests.integration.test_migrations import apply_first
from tests.support import running_service


def test_a_key_from_before_keeps_working_and_can_be_revoked_once_another_exists(empty_database_url):
    apply_first(empty_database_url, migration_ids().index("0014_api_keys"))
    brand, old_key, now = uuid4(), "cs_" + secrets.token_urlsafe(32), datetime(2026, 11, 1, tzinfo=UTC)
    with psycopg.connect(empty_database_url) as conn:
        conn.execute(
            "INSERT INTO brands (id, name, plan, api_key_sha256, created_at) VALUES (%s, 'acme', 'basic', %s, %s)",
            (brand, digest(old_key), now),
        )

    with running_service(empty_database_url, roles=()) as service:  # upgrades the schema, as `api` does
        service.store.save(CreditLedger.open(brand, Plan.BASIC, now))
        old = TestClient(service.http_app(), headers={"Authorization": f"Bearer {old_key}"})
        assert old.get("/v1/credits").status_code == 200
        (listed,) = old.get("/v1/api-keys").json()["items"]
        assert (listed["name"], listed["prefix"]) == ("default", "cs_")

        created = old.post("/v1/api-keys", json={"name": "new"})
        assert created.status_code == 201, created.text
        new = TestClient(service.http_app(), headers={"Authorization": f"Bearer {created.json()['api_key']}"})
        assert new.delete(f"/v1/api-keys/{listed['id']}").status_code == 204

        assert_problem(old.get("/v1/credits"), 401)
        assert new.get("/v1/credits").status_code == 200
        opened, *_ = service.store.events.get(ApiKeys.create_id(brand))
        assert opened.carried_over == [{"key_id": listed["id"], "name": "default", "prefix": "cs_"}]
