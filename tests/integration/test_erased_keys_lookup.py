"""Which people of a batch of stored events were erased: the one query behind the `erased` that the
events' JSON shows (the relay's feed, the API's event routes). Only the keys the states' sealed
values name are asked about, and only those whose key was destroyed are answered."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from cryptography.fernet import Fernet

from commands.personal_data.sealing import PersonalDataSeal
from commands.sending.credentials import CredentialCipher
from storage.database import Database
from storage.event_log import erased_keys

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_only_the_keys_of_the_erased_people_named_in_the_states_are_answered(database_url):
    db = Database(database_url)
    try:
        seal = PersonalDataSeal(db, CredentialCipher(Fernet.generate_key()))
        brand, ann, bob, cy = uuid4(), uuid4(), uuid4(), uuid4()
        seal.ensure_keys([(ann, brand, "contact"), (bob, brand, "contact"), (cy, brand, "contact")])
        states = [
            f'{{"addresses":{{"email":"{seal.seal(person, f"{person.hex[:6]}@example.com")}"}}}}'.encode()
            for person in (ann, bob)
        ]
        seal.erase(brand, {ann: "contact", cy: "contact"}, NOW)  # Cy is erased, but named by no state

        assert erased_keys(db, [*states, b'{"name":"Q4"}']) == frozenset({str(ann)})
        assert erased_keys(db, [states[1]]) == frozenset()
        assert erased_keys(db, [b'{"name":"Q4"}', b""]) == frozenset()
    finally:
        db.close()
