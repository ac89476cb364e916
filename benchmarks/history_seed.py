"""Seeds a realistic event history quickly, for the export, replay and sends-with-history benchmarks.

`seed`: one brand with a premium ledger, `campaigns` launched campaigns (EMAIL + SMS in group 0),
and enough enrollments to reach the wanted number of events: each enrollment is one contact
enrolled, scheduled, both steps dispatched, attempted and sent, then finished (9 events), as the
service records them. The domain makes one enrollment's stored events; the others are copies with
their ids replaced, written with PostgreSQL's COPY in log order (enrollments interleaved by batch,
as the enrollment process and the workers write them). The hash-chain trigger runs on every row.

`seed_year_of_use`: the same enrollments spread over a year of several brands, as the service
would have left them: brands made as `brand create` makes them, each campaign launched on its own
day (a brand's campaigns take turns with the other brands'), its contacts, lead group and launch
audience in the plain tables, its enrollments copied, then completed an hour later. Only events
and plain tables are written: the read models, settlement and the other log followers are left to
the service to catch up on (benchmarks/sends_with_history.py runs `serve` over it).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg

from commands.application import CampaignApplication
from commands.credits.brands import create_brand
from commands.personal_data.sealing import PersonalDataSeal
from commands.sending.credentials import CredentialCipher
from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger, Plan
from domain.enrollment import Enrollment
from domain.steps import Step
from runtime.embedded_postgres import EmbeddedPostgres
from storage.compact_states import expanded, stored_like
from storage.database import Database, event_store_env
from storage.schema import upgrade

STEPS = [
    {
        "type": "EMAIL",
        "group": 0,
        "order": 0,
        "id": "s1",
        "subject": "Hi {{first_name|there}}",
        "body": "Hello",
    },
    {"type": "SMS", "group": 0, "order": 1, "id": "s2", "body": "Hello from us"},
]
BATCH = 1_000  # enrollments written together, as the enrollment process batches them


def _template(store: CampaignApplication, campaign: Campaign, brand_id: UUID, now: datetime) -> list[Any]:
    """One enrollment's stored events, as the service writes them."""
    contact = UUID(int=0)
    enrollment = Enrollment.enroll(
        campaign.id,
        brand_id,
        contact,
        {"email": "lead0@example.com", "sms": "+14155550000"},
        campaign.steps,
        now,
    )
    if enrollment is None:
        raise RuntimeError("the template contact can receive no step")
    for step in enrollment.dispatch_due(now):
        enrollment.attempt(step.id, "sender-1", now)
        enrollment.record_sent(step.id, f"provider-{step.id}-{contact.hex}", 1, now + timedelta(seconds=1))
    return [store.mapper.to_stored_event(event) for event in enrollment.collect_events()]


def seed(url: str, events: int, campaigns: int = 10) -> int:
    """Write about `events` events; return how many the store holds."""
    upgrade(url)
    store = CampaignApplication(env=event_store_env(url))
    now = datetime(2026, 11, 1, tzinfo=UTC)
    brand_id = uuid4()
    ledger = CreditLedger.open(brand_id, Plan.PREMIUM, now)
    ledger.grant(10 * events, "benchmark top-up", now)
    per_campaign = max(1, events // 9 // campaigns)
    launched = []
    for n in range(campaigns):
        campaign = Campaign.create(uuid4(), brand_id, f"bench {n}", [Step.from_dict(s) for s in STEPS], now)
        campaign.launch(now, 2 * per_campaign)
        ledger.reserve(campaign.id, 2 * per_campaign, now)
        launched.append(campaign)
    store.save(ledger, *launched)
    with psycopg.connect(url) as conn:
        for campaign in launched:
            template = _template(store, campaign, brand_id, now)
            _copy_enrollments(conn, campaign.id, template, per_campaign)
        conn.execute("ANALYZE campaigns_events")
    return int(store.recorder.max_notification_id() or 0)


def seed_year_of_use(
    url: str, events: int, credentials_key: str, brands: int = 10, campaigns_per_brand: int = 12
) -> int:
    """Write about `events` events of finished campaigns over the year before 1 November 2026, by
    `brands` premium brands (`campaigns_per_brand` campaigns each, one a month); return how many
    events the store holds. Personal data are sealed as the service seals them under
    `credentials_key` (which every process that reads them needs); the copies of an enrollment
    share its contact's key."""
    upgrade(url)
    store = CampaignApplication(env=event_store_env(url))
    db = Database(url)
    store.seal_personal_data(PersonalDataSeal(db, CredentialCipher(credentials_key)))
    end = datetime(2026, 11, 1, tzinfo=UTC)
    start = end - timedelta(days=365)
    campaigns = brands * campaigns_per_brand
    steps = [Step.from_dict(s) for s in STEPS]
    sample = Campaign.create(uuid4(), uuid4(), "sample", steps, start)
    per_enrollment = len(_template(store, sample, sample.brand_id, start))  # events of one contact
    per_campaign = max(1, events // per_enrollment // campaigns)
    try:
        brand_ids = [
            create_brand(store, db, f"history {b}", Plan.PREMIUM, start).brand_id for b in range(brands)
        ]
        with psycopg.connect(url) as conn:
            for k in range(campaigns):  # in the order of their days; the brands take turns
                brand_id, at = brand_ids[k % brands], start + timedelta(days=365 * k / campaigns)
                ledger = store.ledger(brand_id)
                if ledger.balance < 2 * per_campaign:
                    ledger.grant(2 * per_campaign, f"history top-up {k}", at)
                campaign = Campaign.create(
                    uuid4(), brand_id, f"history {k}", [Step.from_dict(s) for s in STEPS], at
                )
                campaign.launch(at, 2 * per_campaign)
                ledger.reserve(campaign.id, 2 * per_campaign, at)
                store.save(ledger, campaign)
                contacts = _copy_enrollments(
                    conn, campaign.id, _template(store, campaign, brand_id, at), per_campaign
                )
                _copy_audience(conn, brand_id, campaign.id, contacts, at, first_number=k * per_campaign)
                campaign.complete(at + timedelta(hours=1))
                store.save(campaign)
            conn.execute("ANALYZE")
        return int(store.recorder.max_notification_id() or 0)
    finally:
        db.close()
        store.close()


def _copy_audience(
    conn: psycopg.Connection[Any],
    brand_id: UUID,
    campaign_id: UUID,
    contacts: list[UUID],
    at: datetime,
    first_number: int,
) -> None:
    """The campaign's contacts (phone numbers counted from `first_number`, unique in the run), its
    lead group and its launch audience, fully enrolled."""
    rows = [
        (contact, f"{contact.hex}@example.com", f"+1415{first_number + n:07d}")
        for n, contact in enumerate(contacts)
    ]
    group = uuid4()
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO lead_groups (id, brand_id, name, created_at) VALUES (%s, %s, %s, %s)",
            (group, brand_id, f"leads {campaign_id.hex[:8]}", at),
        )
        with cur.copy(
            "COPY contacts (id, brand_id, email, phone, first_name, created_at) FROM STDIN"
        ) as copy:
            for contact, email, phone in rows:
                copy.write_row((contact, brand_id, email, phone, "Lead", at))
        with cur.copy("COPY lead_group_members (lead_group_id, contact_id) FROM STDIN") as copy:
            for contact in contacts:
                copy.write_row((group, contact))
        with cur.copy("COPY launch_audiences (campaign_id, contact_id, email, phone) FROM STDIN") as copy:
            for contact, email, phone in rows:
                copy.write_row((campaign_id, contact, email, phone))
        cur.execute(
            """INSERT INTO enrollment_progress (campaign_id, brand_id, last_contact_id, done, enrolled)
               VALUES (%s, %s, %s, true, %s)""",
            (campaign_id, brand_id, max(contacts), len(contacts)),
        )
    conn.commit()


def _copy_enrollments(
    conn: psycopg.Connection[Any], campaign_id: UUID, template: list[Any], count: int
) -> list[UUID]:
    """Copies of the template enrollment for `count` new contacts, in batches; the contacts."""
    base_id = template[0].originator_id
    base_contact = UUID(int=0)
    written: list[UUID] = []
    with conn.cursor() as cur:
        for start in range(0, count, BATCH):
            contacts = [uuid4() for _ in range(min(BATCH, count - start))]
            written += contacts
            ids = [Enrollment.create_id(campaign_id, contact) for contact in contacts]
            with cur.copy(
                "COPY campaigns_events (originator_id, originator_version, topic, state) FROM STDIN"
            ) as copy:
                for stored in template:  # each event of the batch's enrollments, in turn
                    plain = expanded(stored.state)  # the JSON, also of a compacted state
                    for enrollment_id, contact in zip(ids, contacts, strict=True):
                        state = (
                            plain.replace(base_id.hex.encode(), enrollment_id.hex.encode())
                            .replace(str(base_id).encode(), str(enrollment_id).encode())
                            .replace(base_contact.hex.encode(), contact.hex.encode())
                        )
                        state = stored_like(stored.state, state)  # stored as it was
                        copy.write_row((enrollment_id, stored.originator_version, stored.topic, state))
            conn.commit()
    return written


if __name__ == "__main__":
    import sys

    started = time.perf_counter()
    print(seed(sys.argv[1], int(sys.argv[2])), f"events in {time.perf_counter() - started:.1f}s")


@contextmanager
def seeded_history(prefix: str, events: int) -> Iterator[tuple[Path, str, int]]:
    """An embedded PostgreSQL in a temporary folder, seeded with about `events` events: the folder,
    the database's URL and how many events were stored; stopped and removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        work = Path(folder)
        server = EmbeddedPostgres(work / "pg", durable=False)
        url = server.start()
        try:
            started = time.perf_counter()
            stored = seed(url, events)
            print(f"seeded {stored:,} events in {time.perf_counter() - started:.1f}s", file=sys.stderr)
            yield work, url, stored
        finally:
            server.stop()
