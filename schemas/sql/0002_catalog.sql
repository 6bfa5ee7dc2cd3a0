-- 0002_catalog.sql: what `lienthong catalog sync` needs beyond 0001.
--
--   * procedures.field_code: the procedure's field (LINHVUCTHUCHIEN), a
--     column because on-time reports group by field;
--   * catalog_sync_runs: whether the run was a full list, how many records
--     it read, and the event sequence range it appended, so `status` and the
--     publisher can say what a run did;
--   * lt_event_hash / lt_append_events: the one definition of the event hash
--     chain and of taking numbers from event_counter (see 0001's
--     event_counter comment). Catalog syncs use them now; the dossier writer
--     and `lienthong verify` are meant to use the same two functions.

ALTER TABLE procedures ADD COLUMN field_code text;
COMMENT ON COLUMN procedures.field_code IS
    'First non-empty LINHVUCTHUCHIEN[].MALINHVUC of the record (e.g. G03-GD10); NULL when none.';
CREATE INDEX procedures_field_code_idx ON procedures (field_code) WHERE field_code IS NOT NULL;

ALTER TABLE procedure_history ADD COLUMN field_code text;
COMMENT ON COLUMN procedure_history.field_code IS 'procedures.field_code of the archived row.';
-- `catalog diff` reads the state at a version: the rows current then.
CREATE INDEX procedure_history_superseded_idx ON procedure_history (superseded_in);

ALTER TABLE catalog_sync_runs
    ADD COLUMN full_list boolean NOT NULL DEFAULT false,
    ADD COLUMN records   integer CHECK (records >= 0),
    ADD COLUMN first_seq bigint CHECK (first_seq > 0),
    ADD COLUMN last_seq  bigint CHECK (last_seq >= first_seq),
    ADD CONSTRAINT catalog_sync_runs_seq_pair CHECK ((first_seq IS NULL) = (last_seq IS NULL));
COMMENT ON COLUMN catalog_sync_runs.full_list IS
    'The source claimed to be the whole catalog (--full): procedures missing from it were soft-abolished.';
COMMENT ON COLUMN catalog_sync_runs.records IS 'Records read from the source (up to the error, for a failed run).';
COMMENT ON COLUMN catalog_sync_runs.first_seq IS
    'First event sequence the run appended (one catalog event per change); NULL when nothing changed.';
COMMENT ON COLUMN catalog_sync_runs.last_seq IS
    'Last event sequence the run appended; NOTIFY lt_events carried it after commit.';

-- The hash of one stored event, chained to the previous one. Byte layout
-- (this is the only place it is defined):
--   prev_hash (32 bytes) || seq as 8 bytes big-endian || kind (UTF-8) || 0x00
--   || topic (UTF-8) || 0x00 || record::text (jsonb's canonical text, UTF-8)
-- jsonb's text form is canonical (keys ordered, whitespace fixed), so the
-- hash does not depend on how a writer spelled the JSON it inserted.
CREATE FUNCTION lt_event_hash(prev_hash bytea, seq bigint, kind text, topic text, record jsonb)
RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT sha256(prev_hash || int8send(seq) || convert_to(kind, 'UTF8') || '\x00'::bytea
                  || convert_to(topic, 'UTF8') || '\x00'::bytea || convert_to(record::text, 'UTF8'))
$$;
COMMENT ON FUNCTION lt_event_hash(bytea, bigint, text, text, jsonb) IS
    'SHA-256 of one stored event chained to prev_hash; the layout `lienthong verify` recomputes.';

-- Appends events (the arrays are parallel, one element per event, in the
-- order they get their numbers) inside the caller's transaction: takes the
-- numbers with UPDATE event_counter ... RETURNING (the row lock orders
-- concurrent writers and a rollback returns the numbers, so the sequence
-- stays gap-free), chains the hashes, inserts the rows and moves the chain's
-- head. Returns the first sequence number taken, 0 when the arrays are empty.
CREATE FUNCTION lt_append_events(kinds text[], topics text[], dossier_codes text[],
                                 procedure_codes text[], unit_codes text[], statuses smallint[],
                                 records jsonb[])
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n     integer := coalesce(array_length(kinds, 1), 0);
    first bigint;
    h     bytea;
    prev  bytea;
    s     bigint;
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
    FOR i IN 1 .. n LOOP
        s := first + i - 1;
        prev := h;
        h := lt_event_hash(prev, s, kinds[i], topics[i], records[i]);
        INSERT INTO dossier_events (seq, kind, topic, dossier_code, procedure_code, unit_code,
                                    status, record, hash, prev_hash)
        VALUES (s, kinds[i], topics[i], dossier_codes[i], procedure_codes[i], unit_codes[i],
                statuses[i], records[i], h, prev);
    END LOOP;
    UPDATE event_counter SET last_hash = h;
    RETURN first;
END;
$$;
COMMENT ON FUNCTION lt_append_events(text[], text[], text[], text[], text[], smallint[], jsonb[]) IS
    'Appends stored events in the caller''s transaction with gap-free numbers from event_counter '
    'and the hash chain of lt_event_hash; returns the first sequence (0 for none).';
