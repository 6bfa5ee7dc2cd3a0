-- 0008_catalog_sync_speed.sql: a catalog sync's events appended in one
-- streaming statement, and stored event records compressed with lz4.
--
-- Measured by tests/bench/catalog (RESULTS.md, "Catalog sync"): in a first
-- sync of 100,000 procedures the events statement took ~20 s of the ~50 s
-- (server CPU, same database, 0007 applied): array_agg sorted 100,000
-- envelopes of ~2.5 KB seven times over to pass them to lt_append_events,
-- and compressing the new event records with pglz took ~6 s of it.
--
--   * lt_event_chain_agg: the hash chain as a running aggregate. Used as a
--     window function over events in the order they get their numbers,
--       lt_event_chain_agg(head, seq, kind, topic, record)
--           OVER (ORDER BY ... ROWS UNBOUNDED PRECEDING)
--     is each event's hash, head being event_counter.last_hash before them;
--     lag() of it is prev_hash. One INSERT ... SELECT then numbers, chains
--     and inserts the events as they stream out of a query, with no arrays
--     and no sort of wide rows (gateway/lt_catalog.c). Each step is
--     lt_event_hash, so the byte layout stays defined in one place (0002)
--     and existing chains stay valid.
--   * lt_event_hash is declared STABLE, which its body is (convert_to is
--     stable): declared IMMUTABLE it could never be inlined, so every call
--     ran as a separate SQL-function execution (~10 µs: 1 s of the events
--     of a 100,000 sync). Same body, same bytes.
--   * dossier_events.record with lz4: new event records are compressed
--     about four times faster than with pglz, to about the same size (100,000
--     catalog envelopes: 157 MB pglz, 160 MB lz4), and read back faster.
--     Existing rows keep their pglz datums (PostgreSQL decompresses either);
--     partitions created later inherit the parent's setting. A server built
--     without lz4 keeps pglz: nothing else depends on it.

ALTER FUNCTION lt_event_hash(bytea, bigint, text, text, jsonb) STABLE;

CREATE FUNCTION lt_event_chain_step(state bytea, head bytea, seq bigint, kind text, topic text,
                                    record jsonb)
RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN lt_event_hash(coalesce(state, head), seq, kind, topic, record);
END;
$$;
COMMENT ON FUNCTION lt_event_chain_step(bytea, bytea, bigint, text, text, jsonb) IS
    'Transition function of lt_event_chain_agg: lt_event_hash chained after state (head first).';

CREATE AGGREGATE lt_event_chain_agg(head bytea, seq bigint, kind text, topic text, record jsonb) (
    SFUNC = lt_event_chain_step,
    STYPE = bytea
);
COMMENT ON AGGREGATE lt_event_chain_agg(bytea, bigint, text, text, jsonb) IS
    'The event hash chain after head (lt_event_hash), as a running aggregate: over a window '
    'ordered by sequence with ROWS UNBOUNDED PRECEDING it is each event''s hash.';

-- SET COMPRESSION on a partitioned table sets the default for partitions
-- created later; the existing ones are altered one by one. Only the
-- catalog changes: no row is rewritten.
DO $$
DECLARE
    part regclass;
BEGIN
    ALTER TABLE dossier_events ALTER COLUMN record SET COMPRESSION lz4;
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits
                WHERE inhparent = 'dossier_events'::regclass LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN record SET COMPRESSION lz4', part);
    END LOOP;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: stored event records stay pglz-compressed';
END;
$$;
