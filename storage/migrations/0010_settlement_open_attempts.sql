-- depends: 0009_event_chain_planned_per_statement
-- 0010_settlement_open_attempts: the steps the settlement process knows to be at a provider.
--
-- A step is attempted (StepAttempted) before its provider call, and its credit must stay
-- reserved until the call's outcome is known: archiving a campaign while one of its steps is at
-- the provider releases everything but those units, which the step's outcome then consumes (it
-- was sent) or releases (it was not). The settlement process keeps, as it follows the log, one
-- row per attempted step with no outcome yet: the log position and time of its first attempt.
-- A deferral keeps the row (an answer lost in transit may still have been a send); a sent,
-- failed, withdrawn or cancelled step removes it. Rows live for the length of a provider call,
-- or of a deferral's backoff, so the table stays small.

-- Owner: commands/credits/open_attempts.py
CREATE TABLE IF NOT EXISTS settlement_open_attempts (
    message_key  text PRIMARY KEY,        -- '<enrollment id>:<step id>'
    campaign_id  uuid NOT NULL,
    enrollment_id uuid NOT NULL,
    step_id      text NOT NULL,
    position     bigint NOT NULL,         -- the log position of the step's first open attempt
    attempted_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS settlement_open_attempts_campaign
    ON settlement_open_attempts (campaign_id, position);
