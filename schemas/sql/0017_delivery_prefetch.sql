-- 0017_delivery_prefetch.sql: the drain's per-row lookup made independent
-- of planner statistics, and claimed rows given back without an attempt
-- (issue 7; tests/bench/RESULTS.md, "Drain").
--
-- is_updating ("was an earlier event of this dossier delivered here?") is
-- an EXISTS per claimed row (lt_claim_set, 0011), meant for
-- outbox_delivered_dossier_idx (0009). With statistics taken while every
-- row was pending (a backlog routed at once, then analysed), the planner
-- estimates no delivered row at all, and of the two partial indexes on
-- delivered rows it preferred the narrower outbox_delivered_at_idx (0012:
-- destination, delivered_at), filtering on dossier_code: every claimed row
-- walked every delivered row of the destination, 6 ms a row at 10,000
-- delivered, three quarters of PostgreSQL's time in a 20,000-row drain
-- (perf). outbox_delivered_at_idx is made again with a predicate the EXISTS
-- does not imply, delivered_at IS NOT NULL (the same rows: 0001's CHECK
-- ties it to state = 'delivered'), so that only outbox_delivered_dossier_idx
-- can answer it, whatever the statistics. The status query's two uses
-- still match it: max(delivered_at) is planned with delivered_at IS NOT
-- NULL added, and delivered_at > now() - ... implies it.
DROP INDEX outbox_delivered_at_idx;
CREATE INDEX outbox_delivered_at_idx ON outbox (destination, delivered_at)
    WHERE delivered_at IS NOT NULL;

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

-- A claim planned its candidate query again on every call (a custom plan
-- each time, since the plan depends on max_rows): about 1 ms of a claim's
-- few, as much as running it. The generic plan is the same index-ordered
-- scan; it is made again whenever the outbox is analysed. The same for
-- lt_settle (below), whose statements all name their rows by id.
ALTER FUNCTION lt_claim_set(text, bigint, integer) SET plan_cache_mode = force_generic_plan;

-- lt_settle (0011) with its outcomes read once and the retry and dead-letter
-- statements run only when a round has such outcomes: the same arguments,
-- effects and answer.
CREATE OR REPLACE FUNCTION lt_settle(dest text, outcomes jsonb, horizon interval, threshold integer,
                          probe interval)
RETURNS TABLE (delivered integer, retried integer, dead integer, expired integer,
               circuit_was text, circuit_now text, failures integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    nd   integer;
    nr   integer;
    nx   integer;
    ne   integer;
    nok  integer;
    nret integer;
    nref integer;
    err  text;
    ids  bigint[];
    oks  bigint[];
    was  text;
    now_ text;
    f    integer;
BEGIN
    IF threshold IS NULL OR threshold < 1 THEN
        RAISE EXCEPTION 'lt_settle: threshold must be positive, got %', threshold;
    END IF;

    -- Every statement below names its rows by id = ANY (ids): the planner
    -- cannot size a jsonb_to_recordset and, joined to it alone, scanned the
    -- whole outbox once per statement (60 ms a round at 100,000 rows).
    -- The outcomes are read once here (0017): joined to the outbox as a
    -- function scan, the list was parsed again for every row updated, a
    -- quadratic cost (16 ms of a 256-row round).
    SELECT array_agg(x.id), array_agg(x.id) FILTER (WHERE x.v = 'ok'),
           count(*) FILTER (WHERE x.v = 'ok'), count(*) FILTER (WHERE x.v = 'retry'),
           count(*) FILTER (WHERE x.v = 'dead'),
           (array_agg(x.herr ORDER BY x.ord DESC) FILTER (WHERE x.v <> 'ok'))[1]
    INTO ids, oks, nok, nret, nref, err
    FROM ROWS FROM (jsonb_to_recordset(outcomes) AS (id bigint, v text, herr text))
         WITH ORDINALITY AS x (id, v, herr, ord);

    -- retrying too: an instance thought stale may still report a success,
    -- and the receiver did get the record (same idempotency key).
    UPDATE outbox o SET state = 'delivered', delivered_at = now(), claimed_by = NULL,
                        claimed_at = NULL, last_error = NULL, updated_at = now()
    WHERE o.id = ANY (oks) AND o.state IN ('inflight', 'retrying');
    GET DIAGNOSTICS nd = ROW_COUNT;
    nr := 0;
    ne := 0;
    nx := 0;

    -- A retry past the horizon is a dead letter with the answer that ended
    -- it; the horizon counts from the first failure of this run (attempts 0:
    -- a new row or a replayed one starts a run).
    IF nret > 0 THEN
    WITH u AS (
        UPDATE outbox o
        SET state = CASE WHEN o.attempts > 0 AND o.retry_since IS NOT NULL
                               AND o.retry_since <= now() - horizon
                          THEN 'dead' ELSE 'retrying' END,
            retry_since = CASE WHEN o.attempts = 0 OR o.retry_since IS NULL THEN now()
                               ELSE o.retry_since END,
            answer = CASE WHEN o.attempts > 0 AND o.retry_since IS NOT NULL
                                AND o.retry_since <= now() - horizon
                          THEN x.ans ELSE o.answer END,
            attempts = o.attempts + 1,
            next_attempt_at = now() + greatest(coalesce(x.delay_ms, 0), 0) * interval '1 millisecond',
            last_error = coalesce(x.err, 'failed'), last_status = x.st,
            claimed_by = NULL, claimed_at = NULL, updated_at = now()
        FROM jsonb_to_recordset(outcomes) AS x (id bigint, v text, delay_ms bigint, err text,
                                                st integer, ans text)
        WHERE x.v = 'retry' AND o.id = x.id AND o.id = ANY (ids) AND o.state = 'inflight'
        RETURNING o.state)
    SELECT count(*) FILTER (WHERE u.state = 'retrying'), count(*) FILTER (WHERE u.state = 'dead')
    INTO nr, ne FROM u;
    END IF;

    IF nref > 0 THEN
    UPDATE outbox o SET state = 'dead', attempts = o.attempts + 1,
                        last_error = coalesce(x.err, 'refused'), last_status = x.st,
                        answer = x.ans, claimed_by = NULL, claimed_at = NULL, updated_at = now()
    FROM jsonb_to_recordset(outcomes) AS x (id bigint, v text, err text, st integer, ans text)
    WHERE x.v = 'dead' AND o.id = x.id AND o.id = ANY (ids) AND o.state IN ('inflight', 'retrying');
    GET DIAGNOSTICS nx = ROW_COUNT;
    END IF;

    -- The destination's health counts calls as they came back (nok, nret,
    -- nref above), whatever the rows' states became (a row reclaimed
    -- meanwhile still tells us the receiver answered).

    SELECT d.circuit INTO was FROM destinations d WHERE d.name = dest FOR UPDATE;
    -- A success or a refusal means the receiver answers: the failures in a
    -- row stop there and the circuit closes. Only retryable failures count
    -- towards opening it; a failed probe opens it again at once.
    UPDATE destinations d
    SET failures = CASE WHEN nok + nref > 0 THEN 0 ELSE least(d.failures + nret, 1000000000) END,
        circuit = CASE WHEN nok + nref > 0 THEN 'closed'
                       WHEN nret > 0 AND (d.circuit = 'half_open'
                                          OR (d.circuit = 'closed'
                                              AND d.failures + nret >= threshold)) THEN 'open'
                       ELSE d.circuit END,
        circuit_until = CASE WHEN nok + nref > 0 THEN NULL
                             WHEN nret > 0 AND (d.circuit = 'half_open'
                                                OR (d.circuit = 'closed'
                                                    AND d.failures + nret >= threshold))
                             THEN now() + probe
                             ELSE d.circuit_until END,
        last_success_at = CASE WHEN nok > 0 AND (d.last_success_at IS NULL
                                                 OR d.last_success_at < now() - interval '1 second')
                               THEN now() ELSE d.last_success_at END,
        last_error_at = CASE WHEN nret + nref > 0 THEN now() ELSE d.last_error_at END,
        last_error = CASE WHEN nret + nref > 0 THEN left(err, 200) ELSE d.last_error END
    WHERE d.name = dest
      AND (nret + nref > 0 OR d.failures <> 0 OR d.circuit <> 'closed'
           OR (nok > 0 AND (d.last_success_at IS NULL
                            OR d.last_success_at < now() - interval '1 second')))
    RETURNING d.circuit, d.failures INTO now_, f;
    IF now_ IS NULL THEN
        SELECT d.circuit, d.failures INTO now_, f FROM destinations d WHERE d.name = dest;
    END IF;

    -- Closed again after an outage: rows that backed off during it go now,
    -- the receiver has just shown it takes calls.
    IF was <> 'closed' AND now_ = 'closed' THEN
        UPDATE outbox o SET next_attempt_at = now()
        WHERE o.destination = dest AND o.state = 'retrying' AND o.next_attempt_at > now();
    END IF;
    RETURN QUERY SELECT nd, nr, nx, ne, was, now_, f;
END;
$$;
ALTER FUNCTION lt_settle(text, jsonb, interval, integer, interval)
    SET plan_cache_mode = force_generic_plan;
