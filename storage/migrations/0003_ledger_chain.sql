-- depends: 0001_initial
-- 0003_ledger_chain: a per-aggregate hash chain over the event store, written as events are stored.
--
-- Every row inserted into the event store's table gets a row in `event_chain` holding
--   sha256(previous hash of that aggregate || originator_id || 0x00 || version || 0x00 || topic
--          || 0x00 || state)
-- (the previous hash is empty for an aggregate's first event; 0x00 cannot occur in a text column,
-- so the fields cannot be shifted into one another). `campaign-service audit credits` recomputes
-- the chains of a brand's aggregates from the stored rows: an edited, deleted or smuggled row no
-- longer matches. One chain per aggregate, not one global chain: a global one would make every
-- insert wait for the last hash, a lock the event store's writers do not need (decision record 6).
--
-- The event store's table is the eventsourcing library's own; it is created here, in the
-- library's exact shape and only if missing, because the trigger needs it before the library's
-- first start. Rows stored before this migration are chained here, once, in version order.

-- Owner: commands/application.py
-- (written by the eventsourcing library's recorder of CampaignApplication, "campaigns"; the
-- library's own CREATE TABLE IF NOT EXISTS finds it made and changes nothing.)
CREATE TABLE IF NOT EXISTS campaigns_events (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);
CREATE UNIQUE INDEX IF NOT EXISTS campaigns_events_notification_id_idx
    ON campaigns_events (notification_id ASC);

-- Owner: storage/event_chain.py
-- (written only by the trigger below; checked by that module for the credit audit.)
CREATE TABLE IF NOT EXISTS event_chain (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    chain_hash bytea NOT NULL,
    PRIMARY KEY (originator_id, originator_version)
);

CREATE OR REPLACE FUNCTION event_chain_link(previous bytea, originator_id uuid, version bigint,
                                            topic text, state bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(coalesce(previous, ''::bytea)
                  || convert_to(originator_id::text, 'UTF8') || '\x00'::bytea
                  || convert_to(version::text, 'UTF8') || '\x00'::bytea
                  || convert_to(coalesce(topic, ''), 'UTF8') || '\x00'::bytea
                  || coalesce(state, ''::bytea))
$$;

CREATE OR REPLACE FUNCTION event_chain_append() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    previous bytea;
BEGIN
    -- The store's versions of an aggregate run 1, 2, 3...: the previous link is one key probe
    -- away, and an aggregate's first event (most of a batch of new ones) needs none.
    IF NEW.originator_version > 1 THEN
        SELECT chain_hash INTO previous FROM event_chain
         WHERE originator_id = NEW.originator_id AND originator_version = NEW.originator_version - 1;
    END IF;
    INSERT INTO event_chain (originator_id, originator_version, chain_hash)
    VALUES (NEW.originator_id, NEW.originator_version,
            event_chain_link(previous, NEW.originator_id, NEW.originator_version, NEW.topic, NEW.state));
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS event_chain_append ON campaigns_events;
CREATE TRIGGER event_chain_append AFTER INSERT ON campaigns_events
    FOR EACH ROW EXECUTE FUNCTION event_chain_append();

-- Chain what was stored before this migration, aggregate by aggregate, in version order.
DO $$
DECLARE
    row record;
    previous bytea;
    current_id uuid;
BEGIN
    FOR row IN
        SELECT e.originator_id, e.originator_version, e.topic, e.state FROM campaigns_events e
         WHERE NOT EXISTS (SELECT 1 FROM event_chain c WHERE c.originator_id = e.originator_id
                             AND c.originator_version = e.originator_version)
         ORDER BY e.originator_id, e.originator_version
    LOOP
        IF current_id IS DISTINCT FROM row.originator_id THEN
            current_id := row.originator_id;
            previous := NULL;
        END IF;
        previous := event_chain_link(previous, row.originator_id, row.originator_version, row.topic, row.state);
        INSERT INTO event_chain VALUES (row.originator_id, row.originator_version, previous);
    END LOOP;
END
$$;
