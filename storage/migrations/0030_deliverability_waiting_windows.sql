-- depends: 0025_campaign_event_positions
-- 0030_deliverability_waiting_windows: the windows holding hard bounces or opt-outs but fewer sends
-- than the brand's `min_sends`. The guard judges them again at each pass until they reach it, as
-- sends after the outcomes (not only further outcomes) can take such a window over its limit.

-- Owner: commands/deliverability/guard.py
-- One row per waiting window, named as the guard names its items ("campaign <id> <channel>",
-- "sender <id>"), with the brand that owns it and the read model's position when it was last
-- judged: it is judged again only once a send past that position reaches it.
CREATE TABLE IF NOT EXISTS deliverability_waiting_windows (
    item text PRIMARY KEY,
    brand_id uuid,
    judged_through bigint NOT NULL DEFAULT 0
);
