-- depends: 0022_campaign_checkpoints
-- 0023_read_model_space: what the read models keep per sent contact (issue 29, target 2; decision
-- record 31, measured with benchmarks/bytes_per_send.py).
--
-- step_executions_contact (campaign, contact) served one query: a campaign's executions filtered
-- by contact. A contact's rows in a campaign are one enrollment's, whose id is derived from both
-- (Enrollment.create_id), so that query now reads them by the primary key; the index cost 100
-- bytes per sent contact and no query uses it.

-- Owner: projections/step_executions.py
DROP INDEX IF EXISTS step_executions_contact;

-- A StepExecutions row is written when its contact is enrolled and rewritten as its step is
-- attempted and sent (later delivered, opened, replied). With every page filled to the brim, each
-- rewrite went to another page, with a new entry in every index, and left a dead copy behind:
-- 20,000 sent one-step contacts kept 825 bytes of heap each for 320 of live rows, and 0.1 of their
-- 1.9 rewrites were HOT. Half of each page left free lets a rewrite land beside its row (a HOT
-- update: no new index entry, the old copy pruned in place): 1.7 of 1.9 HOT, the table 1,159 -> 957
-- bytes per sent contact (60% free gave 1,021). Only pages written from now on keep the room.
ALTER TABLE step_executions SET (fillfactor = 50);

-- The paging key `id` (`<enrollment id>/<step id>`, 74 bytes of text) was stored in every row
-- and every entry of step_executions_campaign; the page query makes it from the two columns it
-- joins and pages by them (projections/step_executions.py), so cursors handed out before read the
-- same. Dropping the column rewrites nothing: old rows keep its bytes until they are rewritten.
DROP INDEX IF EXISTS step_executions_campaign;
ALTER TABLE step_executions DROP COLUMN IF EXISTS id;
CREATE INDEX IF NOT EXISTS step_executions_campaign
    ON step_executions (campaign_id, created_at, enrollment_id, step_id);
