-- depends: 0020_message_retention
-- 0023_read_model_space: what the read models keep per sent contact (issue 29, target 2; decision
-- record 31, measured with benchmarks/bytes_per_send.py).
--
-- step_executions_contact (campaign, contact) served one query: a campaign's executions filtered
-- by contact. A contact's rows in a campaign are one enrollment's, whose id is derived from both
-- (Enrollment.create_id), so that query now reads them by the primary key; the index cost 100
-- bytes per sent contact and no query uses it.

-- Owner: projections/step_executions.py
DROP INDEX IF EXISTS step_executions_contact;
