-- 0007_event_chain_linear.sql: make appending events linear in their number.
--
-- Measured on a batch of 400 realistic records (tests/bench/ingest): the
-- group commit took ~200 ms, most of it in spots that grow faster than the
-- batch (lt_ingest_apply in 0005 avoids them; catalog syncs still append
-- through these functions):
--   * lt_event_chain walked records[n] in a loop; subscripting an array of
--     variable-length values walks it from the start, so n events cost n²/2
--     element skips (400 records of 1.6 KB: ~130 MB of memory scanned);
--   * sorting the events by ordinality before chaining and inserting them:
--     a sort of 400 rows of 1.6 KB records cost ~270 ms on this machine.
-- The chain now iterates the rows as the set-returning function produces
-- them, in order (a function scan keeps its function's order; the loop
-- checks the ordinality anyway and refuses to chain out of order), and the
-- inserts need no order at all: every row carries its sequence. The hash
-- layout (lt_event_hash) is unchanged, so existing chains stay valid.

CREATE OR REPLACE FUNCTION lt_event_chain(prev_hash bytea, first_seq bigint, kinds text[],
                                          topics text[], records jsonb[])
RETURNS TABLE (i integer, hash bytea, prev bytea)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    h bytea := prev_hash;
    r record;
BEGIN
    FOR r IN SELECT u.k, u.t, u.rec, u.o
             FROM unnest(kinds, topics, records) WITH ORDINALITY AS u (k, t, rec, o) LOOP
        IF r.o <> coalesce(i, 0) + 1 THEN
            RAISE EXCEPTION 'lt_event_chain: events came out of order (% after %)', r.o, i;
        END IF;
        i := r.o;
        prev := h;
        h := lt_event_hash(h, first_seq + r.o - 1, r.k, r.t, r.rec);
        hash := h;
        RETURN NEXT;
    END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION lt_append_events(kinds text[], topics text[], dossier_codes text[],
                                            procedure_codes text[], unit_codes text[],
                                            statuses smallint[], records jsonb[])
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n     integer := coalesce(array_length(kinds, 1), 0);
    first bigint;
    h     bytea;
BEGIN
    IF n = 0 THEN
        RETURN 0;
    END IF;
    IF coalesce(array_length(topics, 1), 0) <> n OR coalesce(array_length(dossier_codes, 1), 0) <> n
       OR coalesce(array_length(procedure_codes, 1), 0) <> n
       OR coalesce(array_length(unit_codes, 1), 0) <> n
       OR coalesce(array_length(statuses, 1), 0) <> n
       OR coalesce(array_length(records, 1), 0) <> n THEN
        RAISE EXCEPTION 'lt_append_events: the arrays must all have % elements', n;
    END IF;
    UPDATE event_counter SET last_seq = last_seq + n, updated_at = now()
    RETURNING last_seq - n + 1, last_hash INTO first, h;
    WITH c AS MATERIALIZED (SELECT * FROM lt_event_chain(h, first, kinds, topics, records)),
    ins AS (
        INSERT INTO dossier_events (seq, kind, topic, dossier_code, procedure_code, unit_code,
                                    status, record, hash, prev_hash)
        SELECT first + u.i - 1, u.kind, u.topic, u.dossier_code, u.procedure_code, u.unit_code,
               u.status, u.record, c.hash, c.prev
        FROM unnest(kinds, topics, dossier_codes, procedure_codes, unit_codes, statuses, records)
             WITH ORDINALITY AS u (kind, topic, dossier_code, procedure_code, unit_code, status,
                                   record, i)
        JOIN c ON c.i = u.i)
    SELECT c.hash INTO h FROM c WHERE c.i = n;
    UPDATE event_counter SET last_hash = h;
    RETURN first;
END;
$$;
