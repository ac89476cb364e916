"""A key's event and its digest's row are one write: the recorder runs a save's `alongside`
statements in the events' transaction, so neither can exist without the other."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from eventsourcing.persistence import IntegrityError

from commands.access.api_keys import digest, issue_api_key, key_row, new_key, revoke_api_key
from commands.access.key_lookup import key_holder, latest_revocation, revoked_since
from commands.application import CampaignApplication
from commands.credits.brands import create_brand
from domain.api_keys import ApiKeys
from domain.credit_ledger import Plan
from storage.database import Database, event_store_env
from storage.schema import upgrade

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def store_and_db(database_url):
    upgrade(database_url)
    store, db = CampaignApplication(env=event_store_env(database_url)), Database(database_url)
    yield store, db
    store.close()
    db.close()


def test_a_row_that_cannot_be_written_leaves_no_event_behind(store_and_db):
    store, db = store_and_db
    brand = create_brand(store, db, "acme", Plan.BASIC, NOW)
    keys = store.repository.get(ApiKeys.create_id(brand.brand_id))
    key = new_key("twin", NOW)
    keys.issue(key.id, key.name, key.prefix, "test", NOW)
    statement, params = key_row(brand.brand_id, key)
    clashing = (params[0], brand.brand_id, *params[2:4], params[4], NOW)  # same id twice: the second fails

    with pytest.raises(IntegrityError):  # the library's name for the row's unique violation
        store.save(keys, alongside=[(statement, params), (statement, clashing)])

    assert [type(e).__name__ for e in store.events.get(ApiKeys.create_id(brand.brand_id))] == [
        "ApiKeysOpened",
        "ApiKeyIssued",
    ]
    assert db.fetch_all("SELECT id FROM api_keys WHERE id = %s", (key.id,)) == []


def test_revocations_are_numbered_in_order_and_the_key_is_no_longer_anyones(store_and_db):
    store, db = store_and_db
    brand = create_brand(store, db, "acme", Plan.BASIC, NOW)
    first, second = (issue_api_key(store, db, brand.brand_id, name, "test", NOW) for name in ("a", "b"))
    before = latest_revocation(db)
    revoke_api_key(store, db, brand.brand_id, first.id, "test", NOW)
    revoke_api_key(store, db, brand.brand_id, second.id, "test", NOW)

    revoked = revoked_since(db, before)
    assert [d for d, _ in revoked] == [digest(first.api_key), digest(second.api_key)]
    assert revoked[0][1] < revoked[1][1] == latest_revocation(db)
    assert key_holder(db, digest(first.api_key)) is None
    holder = key_holder(db, digest(brand.api_key))
    assert holder is not None and (holder.brand_id, holder.plan) == (brand.brand_id, "basic")
