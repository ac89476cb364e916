-- depends: 0015_console_sessions
-- 0017_deliverability_guard: each brand's deliverability settings, the windows of recent sends with
-- their hard bounces and opt-outs, the guard's place in them, and what a pause or a paused mailbox
-- shows (decision record 0024).

-- Owner: commands/deliverability/settings.py
-- A brand with no row has the defaults (domain/deliverability.py).
CREATE TABLE IF NOT EXISTS deliverability_settings (
    brand_id uuid PRIMARY KEY,
    max_bounce_rate double precision NOT NULL CHECK (max_bounce_rate BETWEEN 0 AND 1),
    max_opt_out_rate double precision NOT NULL CHECK (max_opt_out_rate BETWEEN 0 AND 1),
    min_sends integer NOT NULL CHECK (min_sends >= 1),
    window_sends integer NOT NULL CHECK (window_sends >= min_sends),
    updated_at timestamptz NOT NULL
);

-- Owner: projections/deliverability_windows.py
-- One row per send (StepSent) of a running campaign, with whether it bounced hard or its contact
-- opted out; `outcome_position` is the log position of that outcome, which the guard follows.
CREATE TABLE IF NOT EXISTS deliverability_sends (
    enrollment_id uuid NOT NULL,
    step_id text NOT NULL,
    campaign_id uuid NOT NULL,
    channel text NOT NULL,
    sender_account_id text NOT NULL,
    position bigint NOT NULL,
    hard_bounced boolean NOT NULL DEFAULT false,
    opted_out boolean NOT NULL DEFAULT false,
    outcome_position bigint,
    PRIMARY KEY (enrollment_id, step_id)
);
CREATE INDEX IF NOT EXISTS deliverability_sends_campaign
    ON deliverability_sends (campaign_id, channel, position);
CREATE INDEX IF NOT EXISTS deliverability_sends_sender ON deliverability_sends (sender_account_id, position);
CREATE INDEX IF NOT EXISTS deliverability_sends_outcomes
    ON deliverability_sends (outcome_position) WHERE outcome_position IS NOT NULL;

-- Owner: projections/deliverability_windows.py
-- A campaign's window starts after its last resume (a user's resume starts it afresh).
CREATE TABLE IF NOT EXISTS deliverability_window_starts (
    campaign_id uuid PRIMARY KEY,
    after_position bigint NOT NULL
);

-- Owner: commands/deliverability/guard.py
-- How far in the outcomes the guard has looked (one row).
CREATE TABLE IF NOT EXISTS deliverability_guard_position (
    id integer PRIMARY KEY CHECK (id = 1),
    position bigint NOT NULL
);

-- Owner: commands/sending/sender_accounts.py (set by commands/deliverability/guard.py)
-- A mailbox's window starts after this position of deliverability_sends (its last resume).
ALTER TABLE sender_accounts ADD COLUMN IF NOT EXISTS deliverability_after bigint NOT NULL DEFAULT 0;
ALTER TABLE sender_accounts ADD COLUMN IF NOT EXISTS paused_reason text;

-- Owner: projections/campaign_summaries.py
-- Who paused the campaign, why and when (NULL while it is not paused).
ALTER TABLE campaign_summaries ADD COLUMN IF NOT EXISTS pause_by text;
ALTER TABLE campaign_summaries ADD COLUMN IF NOT EXISTS pause_reason text;
ALTER TABLE campaign_summaries ADD COLUMN IF NOT EXISTS paused_at timestamptz;

-- Owner: consumers/providers/sandbox.py
-- When the sandbox played out a `bounce...` or `optout...` recipient's bounce or opt-out.
ALTER TABLE sandbox_outbox ADD COLUMN IF NOT EXISTS reacted_at timestamptz;
CREATE INDEX IF NOT EXISTS sandbox_outbox_reactions ON sandbox_outbox (seq)
    WHERE reacted_at IS NULL AND ("to" LIKE 'bounce%' OR "to" LIKE 'optout%');
