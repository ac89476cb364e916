-- depends: 0023_read_model_space
-- 0024_funnel_first_reached: when each contact first reached each stage of a step's funnel, so the
-- console's As of view counts its funnel with one grouped query instead of folding every
-- enrollment's events (issue 29, target 1; docs/decisions/0029-time-travel-from-checkpoints.md).
--
-- The columns are new, and the rows already stored hold no such times, nor the clicks (the read
-- model now follows StepClicked too): the read model is emptied and its position set back, so the
-- projector folds the log into it again from the start (the events are untouched; until it has
-- caught up, the As of view folds every event instead, and the live page shows the rows built so far).

-- Owner: projections/step_executions.py
ALTER TABLE step_executions
    ADD COLUMN sent_first_at timestamptz,
    ADD COLUMN delivered_first_at timestamptz,
    ADD COLUMN opened_first_at timestamptz,
    ADD COLUMN clicked_first_at timestamptz,
    ADD COLUMN replied_first_at timestamptz,
    ADD COLUMN bounced_first_at timestamptz,
    ADD COLUMN unsubscribed_first_at timestamptz;
DELETE FROM step_executions;
DELETE FROM projection_positions WHERE projection = 'step_executions';
DELETE FROM parked_items WHERE follower = 'projection:step_executions';
