-- 0017_delivery_prefetch.sql: the drain's per-row lookup made independent
-- of planner statistics, and claimed rows given back without an attempt
-- (issue 7; tests/bench/RESULTS.md, "Drain", "Prefetch").
--
-- is_updating ("was an earlier event of this dossier delivered here?") is
-- an EXISTS per claimed row. With statistics taken while every row was
-- pending (a backlog routed at once, then analysed), the planner estimates
-- no delivered row at all, and of the two partial indexes on delivered rows
-- it prefers the narrower outbox_delivered_at_idx (0012: destination,
-- delivered_at), filtering on dossier_code: every claimed row walked every
-- delivered row of the destination, 6 ms a row at 10,000 delivered, which
-- was three quarters of PostgreSQL's time in a 20,000-row drain (perf).
-- The lookup now says delivered_at IS NOT NULL, which 0001's CHECK makes
-- the same as state = 'delivered' but which implies the predicate of one
-- index only, this one: whatever the statistics, it is a single descent.
CREATE INDEX outbox_updating_idx ON outbox (destination, dossier_code, event_seq)
    WHERE delivered_at IS NOT NULL;

CREATE OR REPLACE FUNCTION lt_claim_set(dest text, instance bigint, max_rows integer)
RETURNS TABLE (id bigint, event_seq bigint, dossier_code text, record jsonb, status smallint,
               is_updating boolean, idempotency_key text, attempts integer, superseded integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    codes   text[];
    newest  bigint[];
    nsup    integer[];
BEGIN
    IF max_rows IS NULL OR max_rows < 1 THEN
        RAISE EXCEPTION 'lt_claim_set: max_rows must be positive, got %', max_rows;
    END IF;
    -- The advisory locks are tried candidate by candidate as the outer LIMIT
    -- pulls them, so a claimer stops at max_rows dossiers and another one
    -- running at the same time gets the next ones.
    SELECT array_agg(l.code) INTO codes
    FROM (SELECT c.code FROM (SELECT o.dossier_code AS code FROM outbox o
          WHERE o.destination = dest AND o.state IN ('pending', 'retrying')
            AND o.next_attempt_at <= now()
            AND NOT EXISTS (SELECT 1 FROM outbox p
                             WHERE p.destination = dest AND p.dossier_code = o.dossier_code
                               AND p.state IN ('pending', 'inflight', 'retrying')
                               AND p.event_seq < o.event_seq)
          ORDER BY o.next_attempt_at, o.event_seq
          LIMIT max_rows * 4 + 16) c
          WHERE pg_try_advisory_xact_lock(7400, hashtext(dest || '/' || c.code))
          LIMIT max_rows) l;
    IF codes IS NULL THEN
        RETURN;
    END IF;
    -- Read again under the locks (a new snapshot: another claimer may have
    -- committed), keep the dossiers that pass, at most max_rows.
    WITH r AS (
        SELECT o.id, o.dossier_code, o.event_seq, o.state, o.next_attempt_at
        FROM outbox o
        WHERE o.destination = dest AND o.dossier_code = ANY (codes)
          AND o.state IN ('pending', 'inflight', 'retrying')
        FOR UPDATE SKIP LOCKED),
    n AS (
        SELECT o.dossier_code, count(*) AS n FROM outbox o
        WHERE o.destination = dest AND o.dossier_code = ANY (codes)
          AND o.state IN ('pending', 'inflight', 'retrying')
        GROUP BY o.dossier_code),
    g AS (
        SELECT r.dossier_code, count(*) AS n, bool_or(r.state = 'inflight') AS blocked,
               (array_agg(r.next_attempt_at ORDER BY r.event_seq))[1] <= now() AS due,
               (array_agg(r.id ORDER BY r.event_seq DESC))[1] AS newest,
               min(r.next_attempt_at) AS first_due, min(r.event_seq) AS first_seq
        FROM r GROUP BY r.dossier_code),
    ok AS (
        SELECT g.newest, (g.n - 1)::integer AS sup FROM g JOIN n USING (dossier_code)
        WHERE NOT g.blocked AND g.due AND g.n = n.n
        ORDER BY g.first_due, g.first_seq
        LIMIT max_rows)
    SELECT array_agg(ok.newest), array_agg(ok.sup) INTO newest, nsup FROM ok;
    IF newest IS NULL THEN
        RETURN;
    END IF;
    UPDATE outbox o SET state = 'superseded', superseded_by = w.id, claimed_by = NULL,
                        claimed_at = NULL, updated_at = now()
    FROM outbox w
    WHERE w.id = ANY (newest) AND o.destination = w.destination
      AND o.dossier_code = w.dossier_code AND o.state IN ('pending', 'retrying')
      AND o.event_seq < w.event_seq;
    UPDATE outbox o SET state = 'inflight', claimed_by = instance, claimed_at = now(),
                        updated_at = now()
    WHERE o.id = ANY (newest);

    RETURN QUERY
    SELECT o.id, o.event_seq, o.dossier_code, e.record, e.status,
           -- delivered_at IS NOT NULL is state = 'delivered' (0001's CHECK),
           -- spelt so that only outbox_updating_idx matches it (see above).
           EXISTS (SELECT 1 FROM outbox q
                    WHERE q.destination = dest AND q.dossier_code = o.dossier_code
                      AND q.delivered_at IS NOT NULL AND q.event_seq < o.event_seq),
           o.idempotency_key, o.attempts, c.sup
    FROM unnest(newest, nsup) AS c (cid, sup)
    JOIN outbox o ON o.id = c.cid
    JOIN dossier_events e ON e.seq = o.event_seq
    ORDER BY o.event_seq;
END;
$$;
COMMENT ON FUNCTION lt_claim_set(text, bigint, integer) IS
    'lt_claim (0009) in set statements: the same rows, locks, checks and superseding, the same '
    'columns; used by lt_claim_due. is_updating through outbox_updating_idx (0017).';

-- The gateway claims ahead of its free send slots (a queue per destination,
-- so that a slot that comes back is refilled without waiting for the
-- database). Rows it claimed but has not sent are handed back when the
-- circuit opens: not sent, so no attempt counted and no back-off, and they
-- are due again at once for whoever claims next (here, the probe).
CREATE FUNCTION lt_unclaim(dest text, instance bigint, ids bigint[]) RETURNS integer
LANGUAGE sql AS $$
    WITH u AS (
        UPDATE outbox o SET state = CASE WHEN o.attempts > 0 THEN 'retrying' ELSE 'pending' END,
                            claimed_by = NULL, claimed_at = NULL, updated_at = now()
        WHERE o.id = ANY (ids) AND o.destination = dest AND o.state = 'inflight'
          AND o.claimed_by = instance
        RETURNING 1)
    SELECT count(*)::integer FROM u;
$$;
COMMENT ON FUNCTION lt_unclaim(text, bigint, bigint[]) IS
    'Gives back rows of dest that instance claimed and did not send (inflight → pending, or '
    'retrying when tried before), attempts and next_attempt_at unchanged. Returns how many.';
