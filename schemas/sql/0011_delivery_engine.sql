-- 0011_delivery_engine.sql: the delivery engine's per-destination circuit
-- breaker, the retry horizon, and outcomes recorded many rows at a time
-- (issue 7; DESIGN.md "Contract: outbound calls").
--
-- lt_claim_due wraps lt_claim_set (0009's lt_claim in set statements)
-- with the destination's circuit
-- (0010's columns): closed → a normal claim; open until circuit_until → no
-- claim at all; then one process wins the probe (the row goes half_open, one
-- row is claimed whatever its back-off), and the probe's outcome, recorded by
-- lt_settle, closes the circuit or opens it again. The state is in the
-- destinations row so that every gateway on this database obeys it.
--
-- lt_settle records the outcomes of many rows of one destination in one
-- statement (the engine keeps several sends in flight per destination, and
-- a commit per row was what held the drain back: tests/bench/RESULTS.md,
-- "Drain"), turns a row still failing after the retry horizon into a dead
-- letter with its last answer, and keeps the destination's health columns
-- with the meaning 0010 gives them.

-- When the retries of a row began: the horizon counts from here. NULL until
-- its first retryable failure; a replay (attempts back to 0) starts again.
ALTER TABLE outbox ADD COLUMN retry_since timestamptz;
COMMENT ON COLUMN outbox.retry_since IS
    'Time of the first retryable failure of this row''s current run of attempts (lt_settle); a row '
    'still failing retryably delivery.retry_horizon after it becomes a dead letter.';

-- lt_claim's rules in a few set statements instead of a loop of five per
-- dossier: the claim was half of what a drain cost once outcomes were
-- recorded many at a time. Same candidates (due rows heading their
-- dossier, in due order, bounded scan), same one-claimer-per-dossier
-- advisory lock, same checks under the row locks (no inflight row, every
-- open row locked by us, the oldest due), same superseding. A dossier
-- rejected by the checks is simply not claimed this time: the next claim
-- takes it or another.
CREATE FUNCTION lt_claim_set(dest text, instance bigint, max_rows integer)
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
           EXISTS (SELECT 1 FROM outbox q
                    WHERE q.destination = dest AND q.dossier_code = o.dossier_code
                      AND q.state = 'delivered' AND q.event_seq < o.event_seq),
           o.idempotency_key, o.attempts, c.sup
    FROM unnest(newest, nsup) AS c (cid, sup)
    JOIN outbox o ON o.id = c.cid
    JOIN dossier_events e ON e.seq = o.event_seq
    ORDER BY o.event_seq;
END;
$$;
COMMENT ON FUNCTION lt_claim_set(text, bigint, integer) IS
    'lt_claim (0009) in set statements: the same rows, locks, checks and superseding, the same '
    'columns; used by lt_claim_due.';

CREATE FUNCTION lt_claim_due(dest text, instance bigint, max_rows integer, probe interval)
RETURNS TABLE (id bigint, event_seq bigint, dossier_code text, record jsonb, status smallint,
               is_updating boolean, idempotency_key text, attempts integer, superseded integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c     text;
    until timestamptz;
    n     integer;
BEGIN
    SELECT d.circuit, d.circuit_until INTO c, until FROM destinations d WHERE d.name = dest;
    IF c IS NULL OR c = 'closed' THEN
        RETURN QUERY SELECT * FROM lt_claim_set(dest, instance, max_rows);
        RETURN;
    END IF;
    -- open, or half_open with a probe that should have come back by now
    -- (its gateway died: lt_reclaim gives its row back).
    IF until IS NOT NULL AND until > now() THEN
        RETURN;
    END IF;
    -- One prober across gateways: whoever moves the row on.
    UPDATE destinations d SET circuit = 'half_open', circuit_until = now() + probe
    WHERE d.name = dest AND d.circuit = c AND d.circuit_until IS NOT DISTINCT FROM until;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN;
    END IF;
    -- The probe does not wait for a row's back-off: the circuit is what
    -- paces this destination now. The earliest row that heads its dossier.
    UPDATE outbox o SET next_attempt_at = now()
    WHERE o.id = (SELECT q.id FROM outbox q
                   WHERE q.destination = dest AND q.state IN ('pending', 'retrying')
                     AND NOT EXISTS (SELECT 1 FROM outbox p
                                      WHERE p.destination = dest
                                        AND p.dossier_code = q.dossier_code
                                        AND p.state IN ('pending', 'inflight', 'retrying')
                                        AND p.event_seq < q.event_seq)
                   ORDER BY q.next_attempt_at, q.event_seq LIMIT 1)
      AND o.next_attempt_at > now();
    RETURN QUERY SELECT * FROM lt_claim_set(dest, instance, 1);
    IF NOT FOUND THEN
        -- Nothing to probe with: open, probed as soon as a row is due.
        UPDATE destinations d SET circuit = 'open', circuit_until = now()
        WHERE d.name = dest AND d.circuit = 'half_open';
    END IF;
END;
$$;
COMMENT ON FUNCTION lt_claim_due(text, bigint, integer, interval) IS
    'lt_claim_set behind the destination''s circuit breaker: closed → lt_claim_set(dest, '
    'instance, max_rows); open (or half_open) before circuit_until → nothing; after it, one caller across '
    'gateways sets half_open with circuit_until = now() + probe and claims one row as the probe '
    '(made due whatever its back-off). Same columns as lt_claim.';

-- outcomes: a JSON array of {"id", "v" ("ok", "retry" or "dead"), "delay_ms"
-- (retry), "err" (the row's last_error), "herr" (the destination's: HTTP
-- status or transport error, no personal data; the caller writes it so),
-- "st" (HTTP status or null), "ans" (the answer or null)}.
CREATE FUNCTION lt_settle(dest text, outcomes jsonb, horizon interval, threshold integer,
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
    SELECT array_agg(x.id) INTO ids FROM jsonb_to_recordset(outcomes) AS x (id bigint);

    -- retrying too: an instance thought stale may still report a success,
    -- and the receiver did get the record (same idempotency key).
    UPDATE outbox o SET state = 'delivered', delivered_at = now(), claimed_by = NULL,
                        claimed_at = NULL, last_error = NULL, updated_at = now()
    WHERE o.id = ANY (SELECT x.id FROM jsonb_to_recordset(outcomes) AS x (id bigint, v text)
                      WHERE x.v = 'ok')
      AND o.id = ANY (ids) AND o.state IN ('inflight', 'retrying');
    GET DIAGNOSTICS nd = ROW_COUNT;

    -- A retry past the horizon is a dead letter with the answer that ended
    -- it; the horizon counts from the first failure of this run (attempts 0:
    -- a new row or a replayed one starts a run).
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

    UPDATE outbox o SET state = 'dead', attempts = o.attempts + 1,
                        last_error = coalesce(x.err, 'refused'), last_status = x.st,
                        answer = x.ans, claimed_by = NULL, claimed_at = NULL, updated_at = now()
    FROM jsonb_to_recordset(outcomes) AS x (id bigint, v text, err text, st integer, ans text)
    WHERE x.v = 'dead' AND o.id = x.id AND o.id = ANY (ids) AND o.state IN ('inflight', 'retrying');
    GET DIAGNOSTICS nx = ROW_COUNT;

    -- The destination's health counts calls as they came back, whatever the
    -- rows' states became (a row reclaimed meanwhile still tells us the
    -- receiver answered).
    SELECT count(*) FILTER (WHERE x.v = 'ok'), count(*) FILTER (WHERE x.v = 'retry'),
           count(*) FILTER (WHERE x.v = 'dead'),
           (array_agg(x.herr ORDER BY x.ord DESC) FILTER (WHERE x.v <> 'ok'))[1]
    INTO nok, nret, nref, err
    FROM ROWS FROM (jsonb_to_recordset(outcomes) AS (v text, herr text)) WITH ORDINALITY
         AS x (v, herr, ord);

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
COMMENT ON FUNCTION lt_settle(text, jsonb, interval, integer, interval) IS
    'Records the outcomes of many rows of dest at once (outcomes: [{id, v: ok|retry|dead, '
    'delay_ms, err, st, ans}]): delivered; retrying after delay_ms, or dead with its answer once '
    'its failures began more than horizon ago; dead with the answer. Then the destination''s '
    'health (0010): failures, the circuit (opens after threshold consecutive retryable failures '
    'or a failed probe, until now() + probe; closes on any answered call), last_success_at (at '
    'most once a second), last_error(_at). Returns the counts, the circuit before and after, and '
    'the failures.';
