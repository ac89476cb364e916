-- depends: 0008_event_chain_per_statement
-- 0009_event_chain_planned_per_statement: the chain trigger of 0008 plans its lookup of the
-- previous links for each statement instead of once per connection.
--
-- PL/pgSQL keeps the plan of a static query for the life of the connection. A connection that
-- first stored events while event_chain was nearly empty kept a hash join over the whole of
-- event_chain and ran it for every later batch: on 100,000 sends the lookup took 60 ms per
-- statement at the end against 2.6 ms at the start, and PostgreSQL's CPU per send tripled
-- (docs/performance-profile.md, stop 18). EXECUTE plans the query each time from the table's
-- current size, so a batch looks up its previous links through the primary key however long the
-- log has grown; planning costs a fraction of a millisecond per statement of hundreds of events.
-- Everything else (the links, the order, the insert) is 0008's.

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
    FOR row IN EXECUTE
        'SELECT n.originator_id, n.originator_version, n.topic, n.state, c.chain_hash AS stored_previous
           FROM new_events n
           LEFT JOIN event_chain c
             ON n.originator_version > 1 AND c.originator_id = n.originator_id
            AND c.originator_version = n.originator_version - 1
          ORDER BY n.originator_id, n.originator_version'
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
