"""What a campaign's lead keeps per sent contact (issue 29, target 2; decision record 35, migration
0033): half of each page is left free, so the rewrite of a lead as it finishes lands beside it (a
HOT update: no new entry in either index), also in the table a replay rebuilds."""

from __future__ import annotations

from uuid import uuid4

import psycopg

from commands.application import CampaignApplication
from projections.campaign_leads import CampaignLeads
from projections.shadow_rebuild import rebuild
from storage.database import Database, event_store_env


def test_a_lead_finishing_is_rewritten_beside_itself_with_no_new_index_entry(database_url):
    campaign = uuid4()
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute(
            """INSERT INTO campaign_leads (enrollment_id, campaign_id, contact_id, state, current_group,
                   next_due_at, created_at)
               SELECT gen_random_uuid(), %s, gen_random_uuid(), 'active', 0, now(), now()
               FROM generate_series(1, 2000)""",
            (campaign,),
        )
        conn.execute(
            """UPDATE campaign_leads SET state = 'finished', current_group = NULL, next_due_at = NULL
               WHERE campaign_id = %s""",
            (campaign,),
        )
        updated, hot = conn.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'campaign_leads'"
        ).fetchone() or (0, 0)
    assert updated == 2000
    assert hot >= 0.8 * updated  # a page whose rows all grew may still run out of room


def test_a_rebuilt_campaign_leads_table_keeps_the_room_in_its_pages(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    db = Database(database_url)
    try:
        rebuild(store, db, [CampaignLeads()])
        options = db.fetch_one("SELECT reloptions FROM pg_class WHERE oid = 'campaign_leads'::regclass")
    finally:
        db.close()
        store.close()
    assert options == {"reloptions": ["fillfactor=50"]}
