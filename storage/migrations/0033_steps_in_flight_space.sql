-- depends: 0031_step_funnels_kept
-- 0033_steps_in_flight_space: what a step in flight and a campaign's lead leave behind (issue 29,
-- target 2; decision record 35, measured with benchmarks/bytes_per_send.py).
--
-- A steps_in_flight row is written when its step is dispatched and rewritten when it is attempted
-- (its `since` moves to the attempt), then deleted when the step lands. The rewrite changed an
-- indexed column (`since`, in steps_in_flight_since) on full pages, so none was HOT: each took a
-- new entry in both indexes, and 20,000 sent contacts left 147 bytes each of index pages behind,
-- emptied but kept for later rows. The one reader of `since` is the sweeper, every 30 seconds,
-- which scans the in-flight rows (the steps at the workers now, not the history) without the index
-- as cheaply; half of each page left free lets the attempt's rewrite land beside its row, with no
-- new index entry.

-- Owner: projections/due_steps.py
DROP INDEX IF EXISTS steps_in_flight_since;
ALTER TABLE steps_in_flight SET (fillfactor = 50);

-- A campaign_leads row is written at enrolment and rewritten once as its lead finishes; on full
-- pages no rewrite was HOT, each with a new entry in both indexes. Half of each page left free:
-- all of them HOT, 366-378 -> 352 bytes per sent contact (the heap keeps the same room either way:
-- the dead copy's before, the free half now; the indexes keep one entry per lead, not two).
-- Owner: projections/campaign_leads.py
ALTER TABLE campaign_leads SET (fillfactor = 50);
