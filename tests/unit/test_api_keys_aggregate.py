"""ApiKeys, one per brand: a key is issued with a name (1 to 200 characters, stripped) and a visible
prefix, and revoked once; a brand keeps at least one live key, so revoking its last is refused;
keys from before keys were events are carried over when the brand's ApiKeys opens. Every event
names who and when, is stamped with that time, and replays to the same keys. Refusals say why in
the words the client sees (a 404, a 409 or a 422 with the field).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from eventsourcing.application import Application

from domain.api_keys import MAX_KEY_NAME, ApiKeyEntry, ApiKeys, LastApiKey
from domain.errors import DomainError, InvalidInput, NotFound
from tests.unit.messages import exactly

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
BRAND = UUID(int=42)
OLD, FIRST, SECOND = UUID(int=1), UUID(int=2), UUID(int=3)


def keys_with(*key_ids: UUID) -> ApiKeys:
    keys = ApiKeys.open(BRAND, T0)
    for n, key_id in enumerate(key_ids):
        keys.issue(key_id, f"key {n}", f"cs_{n:08d}", "cli: ops", T0 + n * MINUTE)
    return keys


def replayed(keys: ApiKeys) -> ApiKeys:
    app: Application[UUID] = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.save(keys)
    copy: ApiKeys = app.repository.get(keys.id)
    return copy


def test_the_api_keys_of_a_brand_keep_the_id_they_were_stored_under() -> None:
    # uuid5(NAMESPACE_URL, "/api-keys/<brand>"): stored ApiKeys are found under this id.
    assert ApiKeys.create_id(BRAND) == UUID("ec2399ac-8dbf-54ff-a388-59f6e72c44ea")
    assert ApiKeys.create_id(BRAND) != ApiKeys.create_id(UUID(int=43))
    assert ApiKeys.open(BRAND, T0).id == ApiKeys.create_id(BRAND)


def test_opening_a_brands_keys_records_the_brand_and_the_time() -> None:
    keys = ApiKeys.open(BRAND, T0)
    [opened] = keys.collect_events()
    assert isinstance(opened, ApiKeys.ApiKeysOpened)
    assert (opened.brand_id, opened.carried_over, opened.timestamp) == (BRAND, [], T0)
    assert (keys.brand_id, keys.keys, keys.live, keys.created_on) == (BRAND, {}, [], T0)


def test_keys_from_before_keys_were_events_are_carried_over_live_and_survive_a_replay() -> None:
    old = ApiKeyEntry(OLD, "default", "cs_")
    keys = ApiKeys.open(BRAND, T0, carried_over=[old])
    [opened] = keys.pending_events
    assert opened.carried_over == [{"key_id": str(OLD), "name": "default", "prefix": "cs_"}]
    assert keys.keys == {OLD: old} and keys.live == [old]
    assert replayed(keys).keys == {OLD: old}


def test_an_issued_key_is_live_with_its_stripped_name_and_prefix_and_the_event_says_who_and_when() -> None:
    keys = ApiKeys.open(BRAND, T0)
    keys.issue(FIRST, "  billing export  ", "cs_AbCdEfGh", "api key 1", T0 + MINUTE)
    assert keys.keys == {FIRST: ApiKeyEntry(FIRST, "billing export", "cs_AbCdEfGh")}
    assert keys.live == [ApiKeyEntry(FIRST, "billing export", "cs_AbCdEfGh", revoked=False)]
    _, issued = keys.collect_events()
    assert isinstance(issued, ApiKeys.ApiKeyIssued)
    assert (issued.key_id, issued.name, issued.prefix, issued.issued_by, issued.issued_at) == (
        FIRST,
        "billing export",
        "cs_AbCdEfGh",
        "api key 1",
        T0 + MINUTE,
    )
    assert issued.timestamp == T0 + MINUTE


@pytest.mark.parametrize("name", ["", "   ", "x" * (MAX_KEY_NAME + 1)])
def test_a_key_with_a_blank_or_too_long_name_is_refused_naming_the_field(name: str) -> None:
    keys = ApiKeys.open(BRAND, T0)
    keys.collect_events()
    with pytest.raises(InvalidInput, match=exactly("a key's name has 1 to 200 characters")) as refused:
        keys.issue(FIRST, name, "cs_x", "cli: ops", T0)
    assert refused.value.errors == [{"field": "name", "error": "1 to 200 characters, not blank"}]
    assert keys.keys == {} and keys.collect_events() == []


@pytest.mark.parametrize("name", ["k", "x" * MAX_KEY_NAME])
def test_a_key_name_of_one_or_two_hundred_characters_is_accepted(name: str) -> None:
    keys = ApiKeys.open(BRAND, T0)
    keys.issue(FIRST, name, "cs_x", "cli: ops", T0)
    assert keys.keys[FIRST].name == name


def test_a_name_padded_past_two_hundred_characters_is_refused_before_stripping() -> None:
    keys = ApiKeys.open(BRAND, T0)
    with pytest.raises(InvalidInput):
        keys.issue(FIRST, " " + "x" * MAX_KEY_NAME, "cs_x", "cli: ops", T0)


def test_a_key_id_cannot_be_issued_twice_even_after_its_revocation() -> None:
    keys = keys_with(FIRST, SECOND)
    with pytest.raises(DomainError, match=exactly(f"API key {FIRST} exists already")):
        keys.issue(FIRST, "again", "cs_y", "cli: ops", T0)
    keys.revoke(FIRST, "cli: ops", T0 + 5 * MINUTE)
    with pytest.raises(DomainError, match=exactly(f"API key {FIRST} exists already")):
        keys.issue(FIRST, "again", "cs_y", "cli: ops", T0 + 6 * MINUTE)
    assert keys.keys[FIRST].name == "key 0"


def test_a_revoked_key_is_no_longer_live_and_the_event_says_who_and_when() -> None:
    keys = keys_with(FIRST, SECOND)
    keys.collect_events()
    keys.revoke(FIRST, "api key 3", T0 + 5 * MINUTE)
    assert keys.keys[FIRST] == ApiKeyEntry(FIRST, "key 0", "cs_00000000", revoked=True)
    assert [key.key_id for key in keys.live] == [SECOND]
    [revoked] = keys.collect_events()
    assert isinstance(revoked, ApiKeys.ApiKeyRevoked)
    assert (revoked.key_id, revoked.revoked_by, revoked.revoked_at, revoked.timestamp) == (
        FIRST,
        "api key 3",
        T0 + 5 * MINUTE,
        T0 + 5 * MINUTE,
    )


def test_a_revoked_key_cannot_be_revoked_again() -> None:
    keys = keys_with(FIRST, SECOND, UUID(int=4))
    keys.revoke(FIRST, "cli: ops", T0 + 5 * MINUTE)
    keys.collect_events()
    with pytest.raises(NotFound, match=exactly(f"API key {FIRST}")):
        keys.revoke(FIRST, "cli: ops", T0 + 6 * MINUTE)
    assert keys.collect_events() == [] and len(keys.live) == 2


def test_revoking_a_key_the_brand_does_not_have_is_not_found() -> None:
    keys = keys_with(FIRST, SECOND)
    with pytest.raises(NotFound, match=exactly(f"API key {UUID(int=99)}")):
        keys.revoke(UUID(int=99), "cli: ops", T0)


def test_the_brands_last_live_key_cannot_be_revoked() -> None:
    keys = keys_with(FIRST, SECOND)
    keys.revoke(FIRST, "cli: ops", T0 + 5 * MINUTE)
    keys.collect_events()
    message = f"API key {SECOND} is the brand's last: create another before revoking this one"
    with pytest.raises(LastApiKey, match=exactly(message)):
        keys.revoke(SECOND, "cli: ops", T0 + 6 * MINUTE)
    assert keys.collect_events() == [] and [key.key_id for key in keys.live] == [SECOND]


def test_a_brand_with_one_carried_over_key_cannot_revoke_it_but_can_once_it_has_another() -> None:
    keys = ApiKeys.open(BRAND, T0, carried_over=[ApiKeyEntry(OLD, "default", "cs_")])
    with pytest.raises(LastApiKey):
        keys.revoke(OLD, "cli: ops", T0)
    keys.issue(FIRST, "new", "cs_new", "cli: ops", T0 + MINUTE)
    keys.revoke(OLD, "cli: ops", T0 + 2 * MINUTE)
    assert [key.key_id for key in keys.live] == [FIRST]


def test_a_brand_with_three_live_keys_can_revoke_two_of_them() -> None:
    keys = keys_with(FIRST, SECOND, UUID(int=4))
    keys.revoke(FIRST, "cli: ops", T0 + 5 * MINUTE)
    keys.revoke(SECOND, "cli: ops", T0 + 6 * MINUTE)
    assert [key.key_id for key in keys.live] == [UUID(int=4)]


def test_a_command_given_an_earlier_time_than_the_last_event_is_stamped_with_the_last_events_time() -> None:
    keys = keys_with(FIRST, SECOND)  # the second issued at T0 + 1 minute
    keys.revoke(FIRST, "cli: ops", T0)
    *_, revoked = keys.collect_events()
    assert revoked.revoked_at == revoked.timestamp == T0 + MINUTE


def test_keys_issued_and_revoked_replay_to_the_same_keys() -> None:
    keys = ApiKeys.open(BRAND, T0, carried_over=[ApiKeyEntry(OLD, "default", "cs_")])
    keys.issue(FIRST, "ci", "cs_ci", "cli: ops", T0 + MINUTE)
    keys.revoke(OLD, "cli: ops", T0 + 2 * MINUTE)
    copy = replayed(keys)
    assert copy.keys == keys.keys and copy.brand_id == BRAND
    assert [key.key_id for key in copy.live] == [FIRST]
