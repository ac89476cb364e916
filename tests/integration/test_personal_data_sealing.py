"""Personal data in events are sealed per person: a new enrolment stores no address in plain text
and reads back open with the brand's keyed hash; one stored before sealing (v4) still reads, its
hash computed; a brand's hash never matches another brand's; an erased key opens as `erased`, and
a key rotation re-seals the keys so the data still open under the new CREDENTIALS_KEY alone."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from uuid import uuid4

import psycopg
import pytest
from cryptography.fernet import Fernet

from commands.application import CampaignApplication
from commands.personal_data.sealing import KeyNotOpened, PersonalDataSeal
from commands.sending.credential_rotation import reseal_credentials
from commands.sending.credentials import CredentialCipher
from domain.address_consent import AddressConsent
from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from storage.compact_states import expanded
from storage.database import Database, event_store_env
from tests.support import running_service

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STEPS = [
    Step("e0", StepType.EMAIL, 0, order=0, subject="Hi", body="Hello"),
    Step("s0", StepType.SMS, 0, order=1, body="Hi"),
]
ADDRESSES = {"email": "ann@example.com", "sms": "+14155550100"}


def _enrolment(brand=None, contact=None) -> Enrollment:
    enrollment = Enrollment.enroll(uuid4(), brand or uuid4(), contact or uuid4(), dict(ADDRESSES), STEPS, T0)
    assert enrollment is not None
    return enrollment


def _stored_bytes(url: str) -> bytes:
    """Every stored state's JSON (an enrolment's is stored headed and deflated: read inside it)."""
    with psycopg.connect(url) as conn:
        return b"".join(expanded(bytes(row[0])) for row in conn.execute("SELECT state FROM campaigns_events"))


def test_a_new_enrolment_is_stored_sealed_and_reads_back_open_with_its_hashes(database_url):
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        store, seal = service.store, service.store.personal_data
        assert seal is not None
        enrollment = _enrolment()
        consent = AddressConsent.open(enrollment.brand_id, "bob@example.com", T0)
        store.save_all([enrollment, consent])
        stored = _stored_bytes(database_url)
        assert (
            b"ann@example.com" not in stored
            and b"4155550100" not in stored
            and b"bob@example.com" not in stored
        )
        assert stored.count(b'"pd1:') == 3  # the email, the number (once for texts), the consent's address

        fresh = CampaignApplication(env=event_store_env(database_url))  # a process that knows no key yet
        fresh.seal_personal_data(PersonalDataSeal(Database(database_url), service.parts.credential_cipher))
        loaded = fresh.enrollments([enrollment.id])[enrollment.id]
        assert loaded.addresses == ADDRESSES
        assert loaded.address_hashes == {
            channel: seal.address_hash(enrollment.brand_id, address) for channel, address in ADDRESSES.items()
        }
        assert fresh.find(consent.id).address == "bob@example.com"
        fresh.close()


def test_an_enrolment_stored_before_sealing_still_reads_and_gets_its_hash(database_url):
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        plain = CampaignApplication(env=event_store_env(database_url))  # no key: the v4 writer's mapper
        enrollment = _enrolment()
        rows = [plain.mapper.to_stored_event(event) for event in enrollment.collect_events()]
        state = plain.mapper.transcoder.decode(expanded(rows[0].state))
        assert state.pop("class_version") == 5 and state.pop("address_hashes") is None
        state["class_version"] = 4
        plain.recorder.insert_events(
            [dataclasses.replace(rows[0], state=plain.mapper.transcoder.encode(state))]
        )
        plain.close()

        loaded = service.store.enrollment(enrollment.id)
        assert loaded.addresses == ADDRESSES
        seal = service.store.personal_data
        assert seal is not None
        assert loaded.address_hashes["email"] == seal.address_hash(enrollment.brand_id, "ann@example.com")


def test_one_brands_hash_of_an_address_is_not_anothers(database_url):
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        seal = service.store.personal_data
        assert seal is not None
        one, other = uuid4(), uuid4()
        assert seal.address_hash(one, "ann@example.com") == seal.address_hash(one, "ann@example.com")
        assert seal.address_hash(one, "ann@example.com") != seal.address_hash(other, "ann@example.com")


def test_an_erased_key_opens_nothing_in_any_process_after_its_cache_expires(database_url):
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        store, seal = service.store, service.store.personal_data
        assert seal is not None
        enrollment = _enrolment()
        store.save_all([enrollment])
        other = PersonalDataSeal(Database(database_url), service.parts.credential_cipher, ttl_s=0.0)
        reader = CampaignApplication(env=event_store_env(database_url))
        reader.seal_personal_data(other)
        assert reader.enrollment(enrollment.id).addresses == ADDRESSES

        seal.erase(enrollment.brand_id, {enrollment.contact_id: "contact"}, T0)
        assert store.enrollment(enrollment.id).addresses == dict.fromkeys(ADDRESSES, "erased")
        assert reader.enrollment(enrollment.id).addresses == dict.fromkeys(ADDRESSES, "erased")
        reader.close()


def test_a_key_rotation_reseals_the_personal_data_keys(database_url):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with running_service(database_url, credentials_key=old, roles=()) as service:
        enrollment = _enrolment()
        service.store.save_all([enrollment])
        rotation = reseal_credentials(service.db, CredentialCipher(f"{new},{old}"))
        assert (
            rotation.resealed >= 2 and not rotation.unreadable
        )  # the contact's key, the brand's hashing key
    with running_service(database_url, credentials_key=new, roles=()) as service:
        assert service.store.enrollment(enrollment.id).addresses == ADDRESSES


def test_a_role_started_with_another_credentials_key_says_so_instead_of_an_empty_error(database_url):
    """Found by the two-worker crash test: each worker had a CREDENTIALS_KEY of its own, and every
    send it took was parked with `InvalidToken:` and nothing else."""
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        enrollment = _enrolment()
        service.store.save_all([enrollment])

        other = CampaignApplication(env=event_store_env(database_url))
        other.seal_personal_data(
            PersonalDataSeal(Database(database_url), CredentialCipher(Fernet.generate_key().decode()))
        )
        with pytest.raises(KeyNotOpened) as refused:
            other.enrollments([enrollment.id])
        assert "does not open with this process's CREDENTIALS_KEY" in str(refused.value)
        assert "every role must run with the key" in str(refused.value)
        other.close()
