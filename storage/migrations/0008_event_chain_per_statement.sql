-- depends: 0003_ledger_chain
-- 0008_event_chain_per_statement: the hash chain of 0003, written once per INSERT statement
-- instead of once per row.
--
-- The links are the same (event_chain_link, unchanged): what changes is how they are written. The
-- row trigger ran a query for the previous link, a query for the hash and an INSERT for every
-- stored event; the event store stores its events in batches of hundreds in one statement, so
-- this trigger reads the statement's new rows once (a transition table), joined to the previous
-- links already stored, computes the links in version order in memory (a batch may hold several
-- new versions of one aggregate: each takes the link just computed) and inserts them all in one
-- statement. Owner of event_chain stays storage/event_chain.py.
--
-- event_chain_link keeps its body (0003); it is declared STABLE (as convert_to is), not IMMUTABLE,
-- which lets PostgreSQL inline it into the loop instead of running it as a query per row.

ALTER FUNCTION event_chain_link(bytea, uuid, bigint, text, bytea) STABLE;

CREATE OR REPLACE FUNCTION event_chain_append_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row record;
    link bytea;
    previous bytea;
    last_id uuid;
    last_version bigint;
    ids uuid[] := '{}';
    versions bigint[] := '{}';
    links bytea[] := '{}';
BEGIN
    FOR row IN
        SELECT n.originator_id, n.originator_version, n.topic, n.state, c.chain_hash AS stored_previous
          FROM new_events n
          LEFT JOIN event_chain c
            ON n.originator_version > 1 AND c.originator_id = n.originator_id
           AND c.originator_version = n.originator_version - 1
         ORDER BY n.originator_id, n.originator_version
    LOOP
        IF row.originator_id = last_id AND row.originator_version = last_version + 1 THEN
            previous := link;  -- computed just now: the previous version is in this statement too
        ELSE
            previous := row.stored_previous;
        END IF;
        link := event_chain_link(previous, row.originator_id, row.originator_version, row.topic, row.state);
        last_id := row.originator_id;
        last_version := row.originator_version;
        ids := ids || row.originator_id;
        versions := versions || row.originator_version;
        links := links || link;
    END LOOP;
    INSERT INTO event_chain (originator_id, originator_version, chain_hash)
    SELECT * FROM unnest(ids, versions, links);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS event_chain_append ON campaigns_events;
DROP TRIGGER IF EXISTS event_chain_append_rows ON campaigns_events;
CREATE TRIGGER event_chain_append_rows AFTER INSERT ON campaigns_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION event_chain_append_rows();
DROP FUNCTION IF EXISTS event_chain_append();
