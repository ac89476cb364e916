-- depends: 0001_initial
-- 0002_read_side: the read models behind a campaign's executions and leads, and the brand's
-- credit ledger with its running balance.
--
-- Each table is owned by the projection named above it (its only writer; its reset() empties
-- it before a replay rebuilds it), like the read models of 0001_initial.

-- Owner: projections/step_executions.py
-- One row per enrollment and planned step (WAIT steps send nothing and have none); `id` is the
-- row's paging key, `created_at` the enrollment's time, so pages list a contact's steps together.
CREATE TABLE IF NOT EXISTS step_executions (
    enrollment_id uuid NOT NULL,
    step_id text NOT NULL,
    id text GENERATED ALWAYS AS (enrollment_id::text || '/' || step_id) STORED,
    campaign_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    type text NOT NULL,
    step_group integer NOT NULL,
    step_order integer NOT NULL,
    status text NOT NULL,
    sender_account_id text,
    provider_message_id text,
    scheduled_for timestamptz,
    sent_at timestamptz,
    opened_at timestamptz,
    replied_at timestamptz,
    error text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (enrollment_id, step_id)
);
CREATE INDEX IF NOT EXISTS step_executions_campaign ON step_executions (campaign_id, created_at, id);
CREATE INDEX IF NOT EXISTS step_executions_contact ON step_executions (campaign_id, contact_id);

-- Owner: projections/campaign_leads.py
-- One row per enrollment (a contact in a campaign): where it stands in the steps.
CREATE TABLE IF NOT EXISTS campaign_leads (
    enrollment_id uuid PRIMARY KEY,
    campaign_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    state text NOT NULL CHECK (state IN ('active', 'finished')),
    current_group integer,
    next_due_at timestamptz,
    replied boolean NOT NULL DEFAULT false,
    unsubscribed boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS campaign_leads_campaign ON campaign_leads (campaign_id, created_at, enrollment_id);

-- Owner: projections/credit_ledger_entries.py
-- One row per ledger event, keyed by its log position; `balance_after` is the brand's balance
-- (what it can still reserve) once the entry is applied.
CREATE TABLE IF NOT EXISTS credit_ledger_entries (
    position bigint PRIMARY KEY,
    ledger_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    type text NOT NULL,
    amount integer NOT NULL,
    balance_after bigint NOT NULL,
    campaign_id uuid,
    reason text
);
CREATE INDEX IF NOT EXISTS credit_ledger_entries_ledger ON credit_ledger_entries (ledger_id, position);
