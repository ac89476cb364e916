-- depends: 0020_message_retention
-- 0021_reseal_event_rows: rewrites a batch of stored events in place and their hash-chain links,
-- for `campaign-service events reseal` (decision record 0028), which seals the personal data of
-- events stored before sealing.
--
-- Owner: commands/personal_data/resealing.py
-- The caller reads the batch's aggregates, checks their chains, computes the new states and every
-- new link (storage/event_chain.py), and calls this inside the transaction that records the batch
-- as an EventsResealed event (the event store's recorder, `alongside` its insert). It takes the
-- lock every writer of the event store takes (EXCLUSIVE on campaigns_events: the recorder's own),
-- so no event can be appended to an aggregate while its links change; the chain trigger of a
-- writer that waited for it then reads the new links. An aggregate that changed between the read
-- and the lock (a new version, another head, a rewritten row) refuses the whole batch, which the
-- caller reads again: the links it computed would leave the new version's link on the old chain.
CREATE OR REPLACE FUNCTION reseal_event_rows(
    row_ids uuid[], row_versions bigint[], old_states bytea[], new_states bytea[],
    head_ids uuid[], head_versions bigint[], old_heads bytea[],
    link_ids uuid[], link_versions bigint[], new_links bytea[]
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    moved integer;
    changed integer;
BEGIN
    LOCK TABLE campaigns_events IN EXCLUSIVE MODE;
    SELECT count(*) INTO moved
      FROM unnest(head_ids, head_versions, old_heads) AS h(id, version, link)
     WHERE NOT EXISTS (SELECT 1 FROM event_chain c
                        WHERE c.originator_id = h.id AND c.originator_version = h.version
                          AND c.chain_hash = h.link)
        OR EXISTS (SELECT 1 FROM event_chain c
                    WHERE c.originator_id = h.id AND c.originator_version > h.version);
    IF moved > 0 THEN
        RAISE EXCEPTION 'reseal: % aggregate(s) changed since they were read', moved;
    END IF;
    UPDATE campaigns_events e SET state = r.new_state
      FROM unnest(row_ids, row_versions, old_states, new_states) AS r(id, version, old_state, new_state)
     WHERE e.originator_id = r.id AND e.originator_version = r.version AND e.state = r.old_state;
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed <> cardinality(row_ids) THEN
        RAISE EXCEPTION 'reseal: % of % stored event(s) changed since they were read',
            cardinality(row_ids) - changed, cardinality(row_ids);
    END IF;
    UPDATE event_chain c SET chain_hash = l.link
      FROM unnest(link_ids, link_versions, new_links) AS l(id, version, link)
     WHERE c.originator_id = l.id AND c.originator_version = l.version;
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed <> cardinality(link_ids) THEN
        RAISE EXCEPTION 'reseal: % of % chain link(s) missing', cardinality(link_ids) - changed,
            cardinality(link_ids);
    END IF;
    RETURN changed;
END
$$;
