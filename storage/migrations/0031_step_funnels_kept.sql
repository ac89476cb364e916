-- depends: 0030_deliverability_waiting_windows
-- 0031_step_funnels_kept: each campaign's funnel per step kept as counts by the StepExecutions
-- projector, now and in buckets of time, so the console's campaign page reads a few rows for its
-- funnel instead of counting the campaign's StepExecutions (issue 29, target 1;
-- docs/decisions/0036-the-funnel-kept-as-counts.md).
--
-- The counts are the difference of each batch's rows before and after it, from the first row on:
-- the StepExecutions read model is emptied and its position set back, so the projector folds the
-- log into it and the counts together (the events are untouched; until it has caught up the As of
-- view folds every event instead, and the live page shows what is built so far), as 0024 did.

-- Owner: projections/step_funnels.py
-- Now: per campaign and planned step, how many of its rows each stage's expression holds for.
CREATE TABLE IF NOT EXISTS step_funnel_counts (
    campaign_id uuid NOT NULL,
    step_id text NOT NULL,
    enrolled integer NOT NULL,
    sent integer NOT NULL,
    delivered integer NOT NULL,
    opened integer NOT NULL,
    clicked integer NOT NULL,
    replied integer NOT NULL,
    bounced integer NOT NULL,
    unsubscribed integer NOT NULL,
    PRIMARY KEY (campaign_id, step_id)
);
-- Owner: projections/step_funnels.py
-- As of a moment: per campaign, bucket of time (width in seconds: a day, an hour, a minute) and
-- step, how many rows reached each stage within the bucket; a minute's rows also list those times
-- (microseconds since 2000-01-01 UTC times 8 plus the stage), and the times a row left when one
-- of its first times moved earlier.
CREATE TABLE IF NOT EXISTS step_funnel_moments (
    campaign_id uuid NOT NULL,
    width integer NOT NULL,
    bucket timestamptz NOT NULL,
    step_id text NOT NULL,
    enrolled integer NOT NULL,
    sent integer NOT NULL,
    delivered integer NOT NULL,
    opened integer NOT NULL,
    clicked integer NOT NULL,
    replied integer NOT NULL,
    bounced integer NOT NULL,
    unsubscribed integer NOT NULL,
    added bigint[] NOT NULL,
    removed bigint[] NOT NULL,
    PRIMARY KEY (campaign_id, width, bucket, step_id)
);
-- Appended to by each batch, as campaign_event_positions' arrays are (0025): stored out of line
-- uncompressed, not compressed again at each append.
ALTER TABLE step_funnel_moments ALTER COLUMN added SET STORAGE EXTERNAL;
ALTER TABLE step_funnel_moments ALTER COLUMN removed SET STORAGE EXTERNAL;

DELETE FROM step_executions;
DELETE FROM projection_positions WHERE projection = 'step_executions';
DELETE FROM parked_items WHERE follower = 'projection:step_executions';
