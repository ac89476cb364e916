-- 0001_initial: every plain table of the service, in its shape of 2026-11-28.
--
-- Idempotent on purpose: a database made before migrations existed (by the old
-- `Database.ensure_schema`) already has these tables and no migration log; this
-- migration then creates nothing, adds the columns a database from an older
-- release lacks (the ALTER ... ADD COLUMN IF NOT EXISTS below each table), and
-- yoyo records it as applied. On an empty database the ALTERs change nothing.
--
-- Above each table: its owner, the one module whose code writes it (and the
-- only place a later migration should be asked to change it). The event store's
-- own tables are created by the eventsourcing library, not here.

-- Owner: commands/credits/brands.py
CREATE TABLE IF NOT EXISTS brands (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    plan text NOT NULL,
    api_key_sha256 text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

-- Owner: commands/audience/lead_groups.py
CREATE TABLE IF NOT EXISTS lead_groups (
    id uuid PRIMARY KEY,
    brand_id uuid NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL
);

-- Owner: commands/audience/import_contacts.py
CREATE TABLE IF NOT EXISTS contacts (
    id uuid PRIMARY KEY,
    brand_id uuid NOT NULL,
    email text,
    phone text,
    first_name text,
    last_name text,
    company text,
    timezone text,
    fields jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    UNIQUE (brand_id, email),
    UNIQUE (brand_id, phone)
);

-- Owner: commands/audience/import_contacts.py
CREATE TABLE IF NOT EXISTS lead_group_members (
    lead_group_id uuid NOT NULL REFERENCES lead_groups(id),
    contact_id uuid NOT NULL REFERENCES contacts(id),
    PRIMARY KEY (lead_group_id, contact_id)
);

-- Owner: commands/audience/suppressions.py
-- `channel` is derived from the address, so writers never set it.
CREATE TABLE IF NOT EXISTS suppressions (
    brand_id uuid NOT NULL,
    address text NOT NULL,
    reason text NOT NULL,
    created_at timestamptz NOT NULL,
    channel text GENERATED ALWAYS AS (CASE WHEN address LIKE '%@%' THEN 'email' ELSE 'phone' END) STORED,
    PRIMARY KEY (brand_id, address)
);
ALTER TABLE suppressions ADD COLUMN IF NOT EXISTS channel text
    GENERATED ALWAYS AS (CASE WHEN address LIKE '%@%' THEN 'email' ELSE 'phone' END) STORED;

-- Owner: commands/campaigns/launch_audience.py
CREATE TABLE IF NOT EXISTS launch_audiences (
    campaign_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    email text,
    phone text,
    timezone text,
    PRIMARY KEY (campaign_id, contact_id)
);
ALTER TABLE launch_audiences ADD COLUMN IF NOT EXISTS timezone text;

-- Owner: commands/campaigns/launch_audience.py
CREATE TABLE IF NOT EXISTS enrollment_progress (
    campaign_id uuid PRIMARY KEY,
    brand_id uuid NOT NULL,
    last_contact_id uuid,
    done boolean NOT NULL DEFAULT false,
    enrolled integer NOT NULL DEFAULT 0
);
ALTER TABLE enrollment_progress ADD COLUMN IF NOT EXISTS enrolled integer NOT NULL DEFAULT 0;

-- Owner: commands/sending/sender_accounts.py
-- (Today commands/sending/daily_reset.py also updates the daily counters and
-- last_reset_on, and commands/sending/claim_senders.py sends_today: the
-- columns are declared here, by the owner, and by no one else.)
CREATE TABLE IF NOT EXISTS sender_accounts (
    id uuid PRIMARY KEY,
    brand_id uuid NOT NULL,
    channel text NOT NULL,
    provider text NOT NULL,
    address text NOT NULL,
    daily_limit integer NOT NULL CHECK (daily_limit >= 0),
    warmup_enabled boolean NOT NULL DEFAULT false,
    warmup_start_limit integer NOT NULL DEFAULT 0,
    warmup_daily_increment integer NOT NULL DEFAULT 0,
    warmup_day integer NOT NULL DEFAULT 0,
    limit_today integer NOT NULL,
    sends_today integer NOT NULL DEFAULT 0,
    status text NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL,
    credentials bytea,
    last_reset_on date NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')::date,
    UNIQUE (brand_id, channel, address),
    CHECK (sends_today <= limit_today)
);
ALTER TABLE sender_accounts ADD COLUMN IF NOT EXISTS credentials bytea;
ALTER TABLE sender_accounts
    ADD COLUMN IF NOT EXISTS last_reset_on date NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')::date;

-- Owner: commands/sending/claim_senders.py
CREATE TABLE IF NOT EXISTS contact_senders (
    brand_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    channel text NOT NULL,
    sender_account_id uuid NOT NULL,
    PRIMARY KEY (brand_id, contact_id, channel)
);

-- Owner: commands/credits/settle_credits.py
CREATE TABLE IF NOT EXISTS settlement_position (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    position bigint NOT NULL
);

-- Owner: commands/idempotency.py
-- claimed_at: when the running request claimed the key (null on claims older
-- than the lease: created_at). fingerprint: sha256 of the route and body that
-- claimed the key (null on keys claimed before it was kept).
CREATE TABLE IF NOT EXISTS idempotency_keys (
    brand_id uuid NOT NULL,
    key text NOT NULL,
    scope text NOT NULL,
    status integer,
    body jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    claimed_at timestamptz,
    fingerprint text,
    PRIMARY KEY (brand_id, key)
);
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS claimed_at timestamptz;
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS fingerprint text;

-- Owner: commands/campaigns/campaign_templates.py
CREATE TABLE IF NOT EXISTS campaign_templates (
    id uuid PRIMARY KEY,
    brand_id uuid NOT NULL,
    name text NOT NULL,
    steps jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS campaign_templates_brand ON campaign_templates (brand_id, created_at, id);

-- Owner: consumers/relay.py
CREATE TABLE IF NOT EXISTS relay_positions (
    relay text PRIMARY KEY,
    position bigint NOT NULL
);

-- Owner: consumers/providers/sandbox.py
CREATE TABLE IF NOT EXISTS sandbox_outbox (
    seq bigserial PRIMARY KEY,
    provider_message_id text NOT NULL,
    message_key text NOT NULL,
    channel text NOT NULL,
    "to" text NOT NULL,
    "from" text NOT NULL,
    subject text,
    body text,
    audio_url text,
    campaign_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    step_id text NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    brand_id uuid
);
ALTER TABLE sandbox_outbox ADD COLUMN IF NOT EXISTS brand_id uuid;
CREATE INDEX IF NOT EXISTS sandbox_outbox_key ON sandbox_outbox (message_key);
CREATE INDEX IF NOT EXISTS sandbox_outbox_brand ON sandbox_outbox (brand_id, seq);
CREATE INDEX IF NOT EXISTS sandbox_outbox_campaign ON sandbox_outbox (campaign_id, seq);

-- Owner: consumers/providers/sandbox.py
CREATE TABLE IF NOT EXISTS sandbox_refusals (
    seq bigserial PRIMARY KEY,
    message_key text NOT NULL,
    error text NOT NULL,
    refused_at timestamptz NOT NULL DEFAULT now()
);

-- Owner: storage/parked.py
-- (projections/runner.py also deletes its own follower's items when it rebuilds.)
CREATE TABLE IF NOT EXISTS parked_items (
    id bigserial PRIMARY KEY,
    follower text NOT NULL,
    item text NOT NULL,
    brand_id uuid,
    error text NOT NULL,
    attempts integer NOT NULL,
    status text NOT NULL CHECK (status IN ('failing', 'parked', 'retry')),
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    UNIQUE (follower, item)
);

-- Read models: each projection owns its tables; its reset() empties them
-- (DELETE, never DROP) before a replay rebuilds them.

-- Owner: projections/runner.py
CREATE TABLE IF NOT EXISTS projection_positions (
    projection text PRIMARY KEY,
    position bigint NOT NULL
);

-- Owner: projections/campaign_summaries.py
CREATE TABLE IF NOT EXISTS campaign_summaries (
    id uuid PRIMARY KEY,
    brand_id uuid NOT NULL,
    name text NOT NULL,
    status text NOT NULL,
    audience_type text NOT NULL,
    ai_personalization boolean NOT NULL,
    lead_group_ids jsonb NOT NULL,
    steps jsonb NOT NULL,
    timezone text NOT NULL,
    sending_window jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    launched_at timestamptz,
    completed_at timestamptz,
    archived_at timestamptz,
    credits_reserved integer NOT NULL DEFAULT 0,
    enrolled integer NOT NULL DEFAULT 0,
    sent_email integer NOT NULL DEFAULT 0,
    sent_sms integer NOT NULL DEFAULT 0,
    sent_voicemail integer NOT NULL DEFAULT 0,
    delivered integer NOT NULL DEFAULT 0,
    opened integer NOT NULL DEFAULT 0,
    clicked integer NOT NULL DEFAULT 0,
    replied integer NOT NULL DEFAULT 0,
    bounced integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    unsubscribed integer NOT NULL DEFAULT 0,
    cancelled integer NOT NULL DEFAULT 0,
    credits_consumed integer NOT NULL DEFAULT 0,
    credits_released integer NOT NULL DEFAULT 0,
    finished integer NOT NULL DEFAULT 0
);
ALTER TABLE campaign_summaries ADD COLUMN IF NOT EXISTS finished integer NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS campaign_summaries_brand ON campaign_summaries (brand_id, created_at, id);

-- Owner: projections/due_steps.py
CREATE TABLE IF NOT EXISTS due_steps (
    enrollment_id uuid PRIMARY KEY,
    campaign_id uuid NOT NULL,
    due_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS due_steps_due ON due_steps (due_at);

-- Owner: projections/due_steps.py
CREATE TABLE IF NOT EXISTS steps_in_flight (
    enrollment_id uuid NOT NULL,
    step_id text NOT NULL,
    campaign_id uuid NOT NULL,
    since timestamptz NOT NULL,
    PRIMARY KEY (enrollment_id, step_id)
);
CREATE INDEX IF NOT EXISTS steps_in_flight_since ON steps_in_flight (since);
