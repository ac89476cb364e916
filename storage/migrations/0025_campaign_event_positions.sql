-- depends: 0024_funnel_first_reached
-- 0025_campaign_event_positions: where in the log each campaign's events are, so the console's and
-- the API's page of a campaign's events reads a row or two instead of every enrollment's events
-- (issue 29, target 1; docs/decisions/0032-a-campaigns-events-through-their-positions.md).
--
-- A new read model: the projector folds the log into it from the start; until it has caught up
-- (more than 50,000 positions behind), a page of events is read from the streams as before.

-- Owner: projections/campaign_event_positions.py
-- One row per campaign and block of 4,096 log positions (block = position >> 12): the positions
-- of the campaign's events (its own and its enrollments') in that block, in order.
CREATE TABLE IF NOT EXISTS campaign_event_positions (
    campaign_id uuid NOT NULL,
    block bigint NOT NULL,
    positions bigint[] NOT NULL,
    PRIMARY KEY (campaign_id, block)
);
-- Stored out of line as they are, not compressed: each batch appends its positions to their block's
-- row, rewriting it (a dense campaign's row some 8 times as its block fills, at batches of 500), and
-- compressing it again each time made applying a batch about twice as slow (8 bytes a position
-- on disk instead of about 5).
ALTER TABLE campaign_event_positions ALTER COLUMN positions SET STORAGE EXTERNAL;
