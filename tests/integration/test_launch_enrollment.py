"""Enrollment of a launch audience, chunk by chunk, exactly: each contact's addresses per channel,
the progress the completion check counts on, a chunk saved before a crash enrolled again without a
duplicate, and campaigns that are not running enrolled by no one.

The clock is in the test's hand (tests/integration/desk.py); enrollment runs when the test says.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from commands.campaigns.campaign_lifecycle import archive_campaign
from commands.campaigns.launch_audience import advance, campaigns_to_enrol, fully_enrolled
from commands.campaigns.launch_campaign import launch_campaign
from commands.sending.enroll_contacts import enroll_next_chunk, enroll_pending_campaigns
from domain.campaign import Campaign
from domain.enrollment import Enrollment, dispatched_steps
from storage import parked
from tests.integration.desk import desk

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
EVERY_CHANNEL = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
    {"type": "SMS", "group": 0, "body": "Hello"},
    {"type": "VOICEMAIL", "group": 0, "audio_url": "https://brand.example/hello.mp3"},
]


def _senders(d) -> None:
    d.client.sender("email", "sales@brand.example")
    d.client.sender("sms", "+14155550000")
    d.client.sender("voice", "+14155550001")


def test_chunks_enrol_each_contact_once_with_its_address_for_every_channel(database_url):
    with desk(database_url) as d:
        _senders(d)
        people = [{"email": f"c{i}@example.com", "phone": f"+1415555010{i}"} for i in range(5)]
        people.append({"email": "mail-only@example.com"})
        campaign = d.campaign(people, EVERY_CHANNEL)
        launch_campaign(d.store, d.service.db, d.client.brand_id, campaign, NOW)
        assert campaign in campaigns_to_enrol(d.service.db)

        counts = [enroll_next_chunk(d.store, d.service.db, campaign, NOW, chunk_size=2) for _ in range(4)]
        assert counts == [2, 2, 2, 0]
        assert fully_enrolled(d.service.db) == {campaign: 6}
        assert campaign not in campaigns_to_enrol(d.service.db)

        rows = d.service.db.fetch_all(
            "SELECT contact_id, email, phone FROM launch_audiences WHERE campaign_id = %s", (campaign,)
        )
        for row in rows:
            [enrolled] = d.events(
                Enrollment.create_id(campaign, row["contact_id"]), Enrollment.ContactEnrolled
            )
            expected = {"email": row["email"], "sms": row["phone"], "voicemail": row["phone"]}
            assert enrolled.addresses == {channel: a for channel, a in expected.items() if a}
            assert enrolled.enrolled_at == NOW
        dispatched = [
            channel
            for row in rows
            for e in d.events(Enrollment.create_id(campaign, row["contact_id"]), object)
            for _, channel in dispatched_steps(e)
        ]
        assert sorted(dispatched) == sorted(["email"] * 6 + ["sms"] * 5 + ["voicemail"] * 5)


def test_a_chunk_saved_before_a_crash_is_enrolled_again_without_a_duplicate(database_url):
    with desk(database_url) as d:
        _senders(d)
        people = [{"email": f"c{i}@example.com"} for i in range(3)]
        campaign = d.campaign(people, EVERY_CHANNEL[:1])
        launch_campaign(d.store, d.service.db, d.client.brand_id, campaign, NOW)
        assert enroll_next_chunk(d.store, d.service.db, campaign, NOW, chunk_size=2) == 2
        # The crash: the chunk was saved but its progress was not.
        d.service.db.execute(
            "UPDATE enrollment_progress SET last_contact_id = NULL, enrolled = 0 WHERE campaign_id = %s",
            (campaign,),
        )
        assert enroll_next_chunk(d.store, d.service.db, campaign, NOW, chunk_size=2) == 0  # both known
        assert enroll_next_chunk(d.store, d.service.db, campaign, NOW, chunk_size=2) == 1
        assert enroll_next_chunk(d.store, d.service.db, campaign, NOW, chunk_size=2) == 0
        assert fully_enrolled(d.service.db) == {campaign: 3}


def test_a_draft_is_not_enrolled_and_an_archived_campaign_stops_enrolling(database_url):
    with desk(database_url) as d:
        _senders(d)
        campaign = d.campaign([{"email": f"c{i}@example.com"} for i in range(3)], EVERY_CHANNEL[:1])
        launch_campaign(d.store, d.service.db, d.client.brand_id, campaign, NOW)
        assert enroll_next_chunk(d.store, d.service.db, campaign, NOW, chunk_size=1) == 1
        archive_campaign(d.store, d.client.brand_id, campaign, NOW)
        assert enroll_pending_campaigns(d.store, d.service.db, NOW) == 0
        assert fully_enrolled(d.service.db) == {campaign: 1}  # done: the completion check sees one

        draft = d.campaign([{"email": "ann@example.com"}], EVERY_CHANNEL[:1])
        d.service.db.execute(  # a snapshot whose launch was never saved
            "INSERT INTO enrollment_progress (campaign_id, brand_id) VALUES (%s, %s)",
            (draft, d.client.brand_id),
        )
        assert enroll_next_chunk(d.store, d.service.db, draft, NOW) == 0
        assert draft in campaigns_to_enrol(d.service.db)  # left for its launch to finish or undo
        advance(d.service.db, draft, None)
        assert draft not in campaigns_to_enrol(d.service.db)


def test_an_enrolment_that_fails_is_parked_with_its_brand_and_other_campaigns_enrol(database_url):
    with desk(database_url) as d:
        _senders(d)
        poison = uuid4()
        d.store.save(  # saved as given, past Campaign.create's checks: group 0 falls due after year 9999
            Campaign._create(
                Campaign.CampaignCreated,
                id=poison,
                brand_id=d.client.brand_id,
                name="overflows",
                audience_type="leads",
                ai_personalization=False,
                lead_group_ids=[d.client.lead_group([{"email": "ann@example.com"}])],
                steps=[
                    {"id": "s1", "type": "WAIT", "group": 0, "order": 0, "wait_days": 3_000_000},
                    {"id": "s2", "type": "EMAIL", "group": 0, "order": 1, "subject": "Hi", "body": "Hello"},
                ],
                timezone="UTC",
                sending_window={},
                created_at=NOW,
            )
        )
        launch_campaign(d.store, d.service.db, d.client.brand_id, poison, NOW)
        fine = d.campaign([{"email": "bob@example.com"}], EVERY_CHANNEL[:1])
        launch_campaign(d.store, d.service.db, d.client.brand_id, fine, NOW)

        assert enroll_pending_campaigns(d.store, d.service.db, NOW) == 1
        assert enroll_pending_campaigns(d.store, d.service.db, NOW) == 0  # the poison waits its backoff
        assert fully_enrolled(d.service.db) == {fine: 1}
        [item] = parked.listing(d.service.db)
        assert (item["follower"], item["item"]) == ("enroller", str(poison))
        assert item["brand_id"] == d.client.brand_id
        assert (item["status"], item["attempts"]) == ("failing", 1) and "Overflow" in item["error"]
