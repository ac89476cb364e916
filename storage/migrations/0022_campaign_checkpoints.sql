-- depends: 0021_reseal_event_rows
-- 0022_campaign_checkpoints: checkpoints of each campaign's figures, so `as_of` adds up a few
-- rows instead of folding every enrollment's events (docs/decisions/0029-time-travel-from-checkpoints.md).

-- Owner: projections/campaign_checkpoints.py
-- One row per campaign and projector batch: the figures (metrics and credits) its counted events
-- with log positions first_position..last_position move, the earliest and latest of their own
-- times, and each event's time with what it moves (`moments`), for a moment that falls between.
CREATE TABLE IF NOT EXISTS campaign_checkpoints (
    campaign_id uuid NOT NULL,
    last_position bigint NOT NULL,
    first_position bigint NOT NULL,
    earliest timestamptz NOT NULL,
    latest timestamptz NOT NULL,
    figures jsonb NOT NULL,
    moments jsonb NOT NULL,
    PRIMARY KEY (campaign_id, last_position)
);
