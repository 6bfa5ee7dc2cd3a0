-- 0005_ingest.sql: the writer's one statement per group commit.
--
-- The writer (gateway/lt_writer*.c) reads what it needs (stored states,
-- procedures, units) with one query, judges every pushed record in C, then
-- writes the whole group with one call of lt_ingest_apply: a single
-- statement in autocommit is a single transaction and a single round trip,
-- so the fsync is shared by every record of every sender in the group.
--
-- Several gateways may write one database. The writer read the states
-- without locks, so the apply checks that each state is still the one it
-- judged against (compare-and-set on last_seq; a new dossier's INSERT meets
-- the primary key): when another writer got there first the whole statement
-- fails with SQLSTATE 40001 or 23505, nothing is written, and the writer
-- reads again and judges again. The event_counter row lock (lt_append_events)
-- orders the writers' sequences.
--
-- It appends the events itself rather than through lt_append_events: it
-- chains their hashes while streaming them out of the one JSON parameter and
-- inserts them set-based, with no copy into arrays and no sort (a batch of
-- 400 records: ~200 ms through arrays, ~80 ms this way), and it reads each
-- state's record from the same parameter. The hash layout is lt_event_hash's.
--
-- Delivery bookkeeping: no outbox row is written here. A router turns the
-- stored events into outbox rows behind its own cursor, in its own
-- transaction (0009), so the hot path pays nothing for delivery.

ALTER TABLE dossier_events ADD COLUMN sender_unit text;
COMMENT ON COLUMN dossier_events.sender_unit IS
    'Unit of the credential that pushed the record (NULL: no authentication, or an operator). '
    'Routing sends a status change made by the competent unit back down to the receiving ward, '
    'and never sends the competent unit its own change.';

CREATE FUNCTION lt_ingest_apply(events jsonb, states jsonb, rejected jsonb,
                                credential_ids bigint[])
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    first  bigint := 0;
    n      integer := jsonb_array_length(events);
    h      bytea;
    hs     bytea[] := '{}';
    ps     bytea[] := '{}';
    ev     record;
    want   integer;
    got    integer;
BEGIN
    IF n > 0 THEN
        UPDATE event_counter SET last_seq = last_seq + n, updated_at = now()
        RETURNING last_seq - n + 1, last_hash INTO first, h;
        FOR ev IN SELECT x.o, x.e->>'t' AS t, x.e->'r' AS rec
                 FROM jsonb_array_elements(events) WITH ORDINALITY AS x (e, o) LOOP
            IF ev.o <> coalesce(array_length(hs, 1), 0) + 1 THEN
                RAISE EXCEPTION 'lt_ingest_apply: events came out of order';
            END IF;
            ps := array_append(ps, h);
            h := lt_event_hash(h, first + ev.o - 1, 'dossier', ev.t, ev.rec);
            hs := array_append(hs, h);
        END LOOP;
        UPDATE event_counter SET last_hash = h;

        INSERT INTO dossier_events (seq, kind, topic, dossier_code, procedure_code, unit_code,
                                    status, record, hash, prev_hash, sender_unit)
        SELECT first + x.o - 1, 'dossier', x.e->>'t', x.e->>'c', x.e->>'p', x.e->>'u',
               (x.e->>'s')::smallint, x.e->'r', x.h, x.p, x.e->>'su'
        FROM ROWS FROM (jsonb_array_elements(events), unnest(hs), unnest(ps))
             WITH ORDINALITY AS x (e, h, p, o);

        SELECT count(*) INTO want FROM jsonb_to_recordset(states) AS s (x bigint) WHERE s.x > 0;
        IF want > 0 THEN
            UPDATE dossiers d
            SET record = events->(s.e - 1)->'r', status = s.s, procedure_code = s.p,
                competent_unit = s.cu, processing_unit = s.pu,
                recency_at = to_timestamp(s.ra, 'YYYYMMDDHH24MISS')::timestamp
                             AT TIME ZONE 'Asia/Ho_Chi_Minh',
                history_len = s.h, content_hash = decode(s.hh, 'hex'),
                last_seq = first + s.e - 1, updated_at = now()
            FROM jsonb_to_recordset(states)
                 AS s (c text, e integer, x bigint, p text, cu text, pu text, ra text,
                       h integer, hh text, s smallint)
            WHERE s.x > 0 AND d.code = s.c AND d.last_seq = s.x;
            GET DIAGNOSTICS got = ROW_COUNT;
            IF got <> want THEN
                RAISE EXCEPTION 'lt_ingest_apply: % of % stored states changed since they were read',
                    want - got, want USING ERRCODE = '40001';
            END IF;
        END IF;
        INSERT INTO dossiers (code, record, status, procedure_code, receiving_unit, competent_unit,
                              processing_unit, recency_at, history_len, content_hash, last_seq)
        SELECT s.c, events->(s.e - 1)->'r', s.s, s.p, s.ru, s.cu, s.pu,
               to_timestamp(s.ra, 'YYYYMMDDHH24MISS')::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh',
               s.h, decode(s.hh, 'hex'), first + s.e - 1
        FROM jsonb_to_recordset(states)
             AS s (c text, e integer, x bigint, p text, ru text, cu text, pu text, ra text,
                   h integer, hh text, s smallint)
        WHERE s.x = 0;

        PERFORM pg_notify('lt_events', (first + n - 1)::text);
    END IF;

    INSERT INTO rejects (sender_unit, channel, dialect, dossier_code, payload, reason)
    SELECT r.u, r.ch, r.d, r.c, decode(r.p, 'hex'), r.r
    FROM jsonb_to_recordset(rejected) AS r (u text, ch text, d text, c text, p text, r jsonb);

    UPDATE credentials SET last_used_at = now()
    WHERE id = ANY (credential_ids)
      AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');
    RETURN first;
END;
$$;
COMMENT ON FUNCTION lt_ingest_apply(jsonb, jsonb, jsonb, bigint[]) IS
    'One group commit of the writer: events (JSON array of {t topic, c code, p procedure, u unit, '
    's status, su sender unit or null, r record}) appended in order; states ({c, e 1-based event '
    'index, x expected last_seq or 0 for a new dossier, p, ru, cu, pu, ra recency '
    'yyyyMMddHHmmss, h history length, hh content hash hex, s status}) set as the dossiers'' '
    'current state; rejected ({u, ch, d, c, p payload hex, r reason}) kept for operators. '
    'Returns the first event''s sequence (0 without events). Fails with 40001 or 23505, writing '
    'nothing, when a state changed since the writer read it.';
