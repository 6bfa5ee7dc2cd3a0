-- 0009_delivery.sql: the storage side of delivery (issue 7).
--
-- Delivery is split in two steps that may run in different gateway
-- processes sharing this database:
--
--   routing  lt_route_events(max) turns stored dossier events into outbox
--            rows, one per event per destination it goes to. One router at
--            a time (the delivery_router row lock); its cursor advances in
--            the same transaction as the rows it wrote, so an event is
--            routed exactly once whoever crashes.
--   claiming lt_claim(destination, instance, max) hands due rows to one
--            delivery thread, in order per dossier, newest record only
--            (older waiting rows are superseded), and several threads or
--            processes never get the same row or the same dossier.
--
-- The outcome functions (lt_delivered, lt_retry, lt_dead, lt_reclaim) and
-- the operators' replay close the loop. The protocol client and the actor
-- that drives these functions are not here: they only call them.
--
-- One row per event and destination rather than a cursor per destination
-- with rows only for exceptions: per-dossier order, coalescing and claims
-- shared by several processes are simpler and safer on rows, and routing
-- off the hot path keeps ingest's cost where it was. destinations.cursor_seq
-- is unused (commented below).
--
-- Why routing is a separate step and not part of lt_ingest_apply: the
-- writer's statement is the ingest hot path (one fsync for a whole group);
-- routing reads the unit tree and the destinations, which change under
-- operators, and it can lag by a fraction of a second without harm. The
-- router's cursor starts at 0: events stored before this migration were
-- never delivered, so they are routed too.
--
-- Destinations (names are the contract between routing and delivery):
--   portal           the provincial portal (kind portal), upserted by the
--                    gateway at start when portal.url is set;
--   unit:<code>      a competent unit's system for the liên thông leg (kind
--                    parent; url/dialect from units);
--   ward:<code>      a receiving ward's callback for status changes made at
--                    the competent unit (kind ward; url/dialect from units);
--   webhook          citizen notifications on status change (kind webhook).

-- Routing needs who sent each event: dossier_events.sender_unit, stored by
-- the writer (0005).

-- ---------------------------------------------------------------------------
-- Destinations and outbox states
-- ---------------------------------------------------------------------------

ALTER TABLE destinations DROP CONSTRAINT destinations_kind_check;
ALTER TABLE destinations ADD CONSTRAINT destinations_kind_check
    CHECK (kind IN ('portal', 'parent', 'ward', 'webhook'));
COMMENT ON COLUMN destinations.kind IS
    'portal: national dossier-sync protocol ("portal"); parent: our own POST /v1/dossiers '
    '("unit:<code>"); ward: the ward''s callback ("ward:<code>"); webhook: citizen notifications '
    '("webhook").';

ALTER TABLE outbox DROP CONSTRAINT outbox_state_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_state_check
    CHECK (state IN ('unrouted', 'pending', 'inflight', 'retrying', 'delivered', 'superseded',
                     'dead'));
ALTER TABLE outbox ADD COLUMN superseded_by bigint REFERENCES outbox (id);
ALTER TABLE outbox ADD COLUMN answer text;
ALTER TABLE outbox ADD CONSTRAINT outbox_superseded_check
    CHECK ((state = 'superseded') = (superseded_by IS NOT NULL));
COMMENT ON COLUMN outbox.state IS
    'unrouted (liên thông leg to a unit without a URL: waits for lt_route_unrouted) → pending '
    '(due at next_attempt_at) → inflight (claimed) → delivered; or retrying (408, 429, 5xx, '
    'transport error; due at next_attempt_at) or dead (refused, or retries exhausted; replayable). '
    'superseded: an older row of the same dossier and destination that a newer row carried (the '
    'record is the whole state), counted as delivered with it.';
COMMENT ON COLUMN outbox.superseded_by IS 'The row that carried this one''s dossier state (state superseded).';
COMMENT ON COLUMN outbox.answer IS
    'The receiver''s answer body as it came (truncated by the caller), kept with dead letters so an '
    'operator can read why it was refused.';

CREATE INDEX outbox_unrouted_idx ON outbox (destination) WHERE state = 'unrouted';
-- isUpdating: "was an earlier event of this dossier delivered here?"
CREATE INDEX outbox_delivered_dossier_idx ON outbox (destination, dossier_code, event_seq)
    WHERE state = 'delivered';

-- Upserts a destination; NULL url/dialect are stored as given (NULL url =
-- not configured). Returns nothing: configuration is idempotent.
CREATE FUNCTION lt_destination_upsert(dest_name text, dest_kind text, dest_url text,
                                      dest_dialect text, dest_unit text)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO destinations (name, kind, url, dialect, unit_code)
    VALUES (dest_name, dest_kind, dest_url, dest_dialect, dest_unit)
    ON CONFLICT (name) DO UPDATE
    SET kind = EXCLUDED.kind, url = EXCLUDED.url, dialect = EXCLUDED.dialect,
        unit_code = EXCLUDED.unit_code, updated_at = now()
    WHERE (destinations.kind, destinations.url, destinations.dialect, destinations.unit_code)
          IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.url, EXCLUDED.dialect, EXCLUDED.unit_code);
$$;
COMMENT ON FUNCTION lt_destination_upsert(text, text, text, text, text) IS
    'Creates or updates one destination (portal and webhook from configuration at start-up).';

-- Refreshes every unit:/ward: destination from its unit (url, dialect).
CREATE FUNCTION lt_destinations_sync_units() RETURNS integer
LANGUAGE sql AS $$
    WITH u AS (
        UPDATE destinations d SET url = u.url, dialect = u.dialect, updated_at = now()
        FROM units u
        WHERE d.kind IN ('parent', 'ward') AND d.unit_code = u.code
          AND (d.url, d.dialect) IS DISTINCT FROM (u.url, u.dialect)
        RETURNING 1)
    SELECT count(*)::integer FROM u;
$$;
COMMENT ON FUNCTION lt_destinations_sync_units() IS
    'Copies units.url/dialect into the unit:<code> and ward:<code> destinations; returns how many changed.';

-- ---------------------------------------------------------------------------
-- Routing
-- ---------------------------------------------------------------------------

CREATE TABLE delivery_router (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_seq   bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE delivery_router IS
    'The router''s cursor over the event sequence (one row): events up to last_seq have their '
    'outbox rows. lt_route_events locks the row, so one router runs at a time across gateways.';
INSERT INTO delivery_router (id) VALUES (true);

-- The dossier events of (from_seq, to_seq] with what routing needs: the
-- previous event's status, the sender, the dossier's stored units and their
-- URLs. Read twice by lt_route_events (destinations, then rows): cheaper
-- than a temporary table, bounded by its max_events.
CREATE FUNCTION lt_route_window(from_seq bigint, to_seq bigint)
RETURNS TABLE (seq bigint, code text, status smallint, prev_status smallint, su text, ru text,
               cu text, cu_url text, ru_url text)
LANGUAGE sql STABLE AS $$
    SELECT e.seq, e.dossier_code, e.status,
           (SELECT p.status FROM dossier_events p
             WHERE p.dossier_code = e.dossier_code AND p.seq < e.seq
             ORDER BY p.seq DESC LIMIT 1),
           e.sender_unit, d.receiving_unit, d.competent_unit, cu.url, ru.url
    FROM dossier_events e
    JOIN dossiers d ON d.code = e.dossier_code
    LEFT JOIN units cu ON cu.code = d.competent_unit
    LEFT JOIN units ru ON ru.code = d.receiving_unit
    WHERE e.seq > from_seq AND e.seq <= to_seq AND e.kind = 'dossier';
$$;

CREATE FUNCTION lt_route_events(max_events integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    from_seq bigint;
    to_seq   bigint;
    n        integer;
    portal   boolean := EXISTS (SELECT 1 FROM destinations WHERE name = 'portal');
    webhook  boolean := EXISTS (SELECT 1 FROM destinations WHERE name = 'webhook');
BEGIN
    IF max_events IS NULL OR max_events < 1 THEN
        RAISE EXCEPTION 'lt_route_events: max_events must be positive, got %', max_events;
    END IF;
    SELECT last_seq INTO from_seq FROM delivery_router FOR UPDATE;
    -- Events are committed in sequence order (the event_counter row lock is
    -- held to commit), so what is visible after from_seq is a prefix of the
    -- sequence: no event can appear later below to_seq.
    SELECT max(seq), count(*) INTO to_seq, n
    FROM (SELECT seq FROM dossier_events WHERE seq > from_seq ORDER BY seq LIMIT max_events) x;
    IF n = 0 THEN
        RETURN 0;
    END IF;

    -- The units' destinations must exist before rows refer to them.
    PERFORM lt_destination_upsert(x.name, x.kind, u.url, u.dialect, u.code)
    FROM (SELECT DISTINCT 'unit:' || cu AS name, 'parent' AS kind, cu AS code
            FROM lt_route_window(from_seq, to_seq)
           WHERE cu IS NOT NULL AND cu <> ru AND su IS DISTINCT FROM cu
          UNION
          SELECT DISTINCT 'ward:' || ru, 'ward', ru
            FROM lt_route_window(from_seq, to_seq)
           WHERE cu IS NOT NULL AND cu <> ru AND su = cu AND ru_url IS NOT NULL) x
    JOIN units u ON u.code = x.code;

    INSERT INTO outbox (event_seq, destination, dossier_code, state, idempotency_key)
    SELECT ev.seq, r.dest, ev.code, r.state, 'lt-' || ev.seq
    FROM lt_route_window(from_seq, to_seq) ev
    CROSS JOIN LATERAL (VALUES
        ('portal', 'pending', portal),
        -- liên thông: up to the competent unit, unless it made the change.
        ('unit:' || ev.cu, CASE WHEN ev.cu_url IS NULL THEN 'unrouted' ELSE 'pending' END,
         ev.cu IS NOT NULL AND ev.cu <> ev.ru AND ev.su IS DISTINCT FROM ev.cu),
        -- and back down: a change made at the competent unit.
        ('ward:' || ev.ru, 'pending',
         ev.cu IS NOT NULL AND ev.cu <> ev.ru AND ev.su = ev.cu AND ev.ru_url IS NOT NULL),
        -- a dossier's first event counts as a status change (the citizen
        -- hears that it was received).
        ('webhook', 'pending', webhook AND ev.status IS DISTINCT FROM ev.prev_status)
    ) AS r (dest, state, wanted)
    WHERE r.wanted
    ORDER BY ev.seq
    ON CONFLICT (event_seq, destination) DO NOTHING;

    UPDATE delivery_router SET last_seq = to_seq, updated_at = now();
    RETURN n;
END;
$$;
COMMENT ON FUNCTION lt_route_events(integer) IS
    'Routes at most max_events stored events after the router''s cursor into outbox rows '
    '(portal; unit:<competent> for liên thông, unrouted without a URL; ward:<receiving> for '
    'changes made by the competent unit; webhook on a status change) and advances the cursor, '
    'in one transaction, one router at a time. Returns how many events it passed (catalog events '
    'included, which go nowhere).';

CREATE FUNCTION lt_route_unrouted() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    PERFORM lt_destinations_sync_units();
    UPDATE outbox o SET state = 'pending', next_attempt_at = now(), updated_at = now()
    FROM destinations d
    WHERE o.state = 'unrouted' AND d.name = o.destination AND d.url IS NOT NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION lt_route_unrouted() IS
    'After units change: refreshes the units'' destinations and turns the unrouted rows of those '
    'that now have a URL pending. Returns how many rows it released.';

-- ---------------------------------------------------------------------------
-- Claiming
-- ---------------------------------------------------------------------------

-- The claim's scan: a destination's due rows in order.
CREATE INDEX outbox_claim_idx ON outbox (destination, next_attempt_at, event_seq)
    WHERE state IN ('pending', 'retrying');

CREATE FUNCTION lt_claim(dest text, instance bigint, max_rows integer)
RETURNS TABLE (id bigint, event_seq bigint, dossier_code text, record jsonb, status smallint,
               is_updating boolean, idempotency_key text, attempts integer, superseded integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    cand     record;
    claimed  bigint[] := '{}';
    nsup     integer[] := '{}';
    rows_    bigint[];
    open_n   integer;
    blocked  boolean;
    due      boolean;
    newest   bigint;
BEGIN
    IF max_rows IS NULL OR max_rows < 1 THEN
        RAISE EXCEPTION 'lt_claim: max_rows must be positive, got %', max_rows;
    END IF;
    -- Candidates: due rows that are their dossier's oldest open row here
    -- (an older open row, inflight or waiting its back-off, holds the
    -- dossier back: deliveries leave in order).
    FOR cand IN
        SELECT o.dossier_code AS code FROM outbox o
        WHERE o.destination = dest AND o.state IN ('pending', 'retrying')
          AND o.next_attempt_at <= now()
          AND NOT EXISTS (SELECT 1 FROM outbox p
                           WHERE p.destination = dest AND p.dossier_code = o.dossier_code
                             AND p.state IN ('pending', 'inflight', 'retrying')
                             AND p.event_seq < o.event_seq)
        ORDER BY o.next_attempt_at, o.event_seq
        -- Bounded: without it the whole backlog was sorted on every claim
        -- (593 ms a claim at 100,000 open rows, tests/bench/drain); with
        -- outbox_claim_idx the scan stops after a few candidates. Some may
        -- be skipped below (locked, blocked): the next claim takes others.
        LIMIT max_rows * 4 + 16
    LOOP
        EXIT WHEN array_length(claimed, 1) >= max_rows;
        -- One claimer per dossier and destination: row locks alone would let
        -- a second claimer take a row routed after the first one's snapshot.
        -- The two-key form keeps these apart from single-key advisory locks.
        CONTINUE WHEN NOT pg_try_advisory_xact_lock(7400, hashtext(dest || '/' || cand.code));
        -- Read again under the lock: another claimer may have committed.
        SELECT array_agg(x.id ORDER BY x.event_seq), bool_or(x.state = 'inflight'),
               (array_agg(x.next_attempt_at ORDER BY x.event_seq))[1] <= now()
        INTO rows_, blocked, due
        FROM (SELECT o.id, o.event_seq, o.state, o.next_attempt_at
              FROM outbox o
              WHERE o.destination = dest AND o.dossier_code = cand.code
                AND o.state IN ('pending', 'inflight', 'retrying')
              FOR UPDATE SKIP LOCKED) x;
        SELECT count(*) INTO open_n FROM outbox o
        WHERE o.destination = dest AND o.dossier_code = cand.code
          AND o.state IN ('pending', 'inflight', 'retrying');
        -- A row locked by someone else (an outcome being recorded) or an
        -- inflight one: this dossier waits.
        CONTINUE WHEN rows_ IS NULL OR blocked OR NOT due OR array_length(rows_, 1) <> open_n;
        newest := rows_[array_length(rows_, 1)];
        UPDATE outbox o SET state = 'superseded', superseded_by = newest, claimed_by = NULL,
                            claimed_at = NULL, updated_at = now()
        WHERE o.id = ANY (rows_) AND o.id <> newest;
        UPDATE outbox o SET state = 'inflight', claimed_by = instance, claimed_at = now(),
                            updated_at = now()
        WHERE o.id = newest;
        claimed := claimed || newest;
        nsup := nsup || (array_length(rows_, 1) - 1);
    END LOOP;

    RETURN QUERY
    SELECT o.id, o.event_seq, o.dossier_code, e.record, e.status,
           EXISTS (SELECT 1 FROM outbox q
                    WHERE q.destination = dest AND q.dossier_code = o.dossier_code
                      AND q.state = 'delivered' AND q.event_seq < o.event_seq),
           o.idempotency_key, o.attempts, c.sup
    FROM unnest(claimed, nsup) AS c (cid, sup)
    JOIN outbox o ON o.id = c.cid
    JOIN dossier_events e ON e.seq = o.event_seq
    ORDER BY o.event_seq;
END;
$$;
COMMENT ON FUNCTION lt_claim(text, bigint, integer) IS
    'Claims at most max_rows due rows of one destination for a gateway instance: per dossier the '
    'newest waiting row (older waiting rows become superseded by it), only when the dossier has '
    'no inflight row and its oldest waiting row is due. Rows become inflight. Returns the row id, '
    'event seq, dossier code, the event''s record and status, is_updating (an earlier event of '
    'the dossier was delivered here), the idempotency key, attempts so far, and how many rows it '
    'superseded. Safe from several sessions at once (advisory lock per dossier, SKIP LOCKED).';

-- ---------------------------------------------------------------------------
-- Outcomes
-- ---------------------------------------------------------------------------

CREATE FUNCTION lt_delivered(ids bigint[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    -- retrying too: an instance thought stale may still report a success,
    -- and the receiver did get the record (same idempotency key).
    UPDATE outbox SET state = 'delivered', delivered_at = now(), claimed_by = NULL,
                      claimed_at = NULL, last_error = NULL, updated_at = now()
    WHERE id = ANY (ids) AND state IN ('inflight', 'retrying');
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION lt_delivered(bigint[]) IS
    'Marks inflight (or reclaimed, retrying) rows delivered; returns how many changed.';

CREATE FUNCTION lt_retry(row_id bigint, delay interval, error text, http_status integer)
RETURNS boolean
LANGUAGE sql AS $$
    WITH u AS (
        UPDATE outbox SET state = 'retrying', attempts = attempts + 1,
                          next_attempt_at = now() + delay, last_error = error,
                          last_status = http_status, claimed_by = NULL, claimed_at = NULL,
                          updated_at = now()
        WHERE id = row_id AND state = 'inflight'
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u);
$$;
COMMENT ON FUNCTION lt_retry(bigint, interval, text, integer) IS
    'An inflight row failed in a way worth retrying: attempts + 1, due again after delay (the '
    'caller computes the back-off). False when the row was not inflight.';

CREATE FUNCTION lt_dead(row_id bigint, error text, http_status integer, answer_text text)
RETURNS boolean
LANGUAGE sql AS $$
    WITH u AS (
        UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = error,
                          last_status = http_status, answer = answer_text, claimed_by = NULL,
                          claimed_at = NULL, updated_at = now()
        WHERE id = row_id AND state IN ('inflight', 'retrying')
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u);
$$;
COMMENT ON FUNCTION lt_dead(bigint, text, integer, text) IS
    'A row refused outright or out of retries becomes a dead letter, the answer kept. False when '
    'the row was neither inflight nor retrying.';

CREATE FUNCTION lt_reclaim(stale interval) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    -- claimed_by NULL while inflight: its instance row was deleted.
    UPDATE outbox o SET state = 'retrying', next_attempt_at = now(), claimed_by = NULL,
                        claimed_at = NULL, updated_at = now(),
                        last_error = 'reclaimed: gateway instance '
                                     || coalesce(o.claimed_by::text, '(gone)')
                                     || ' stopped before recording an outcome'
    WHERE o.state = 'inflight'
      AND (o.claimed_by IS NULL
           OR o.claimed_by IN (SELECT g.id FROM gateway_instances g
                                WHERE g.heartbeat_at < now() - stale));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION lt_reclaim(interval) IS
    'Returns to retrying (due now) every inflight row whose instance''s heartbeat is older than '
    'stale, or whose instance is gone: a crashed gateway loses no claimed row. Returns how many.';

CREATE FUNCTION lt_replay_dead(dest text, row_id bigint) RETURNS TABLE (replayed integer, superseded integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r integer;
    s integer;
BEGIN
    -- A dead row whose dossier has a newer row here that is delivered or on
    -- its way must not be sent: it would put an older state on top of a
    -- newer one. It is superseded by that row instead.
    WITH newer AS (
        SELECT o.id, (SELECT q.id FROM outbox q
                       WHERE q.destination = o.destination AND q.dossier_code = o.dossier_code
                         AND q.event_seq > o.event_seq
                         AND q.state IN ('pending', 'inflight', 'retrying', 'delivered', 'unrouted')
                       ORDER BY q.event_seq DESC LIMIT 1) AS by_id
        FROM outbox o
        WHERE o.state = 'dead' AND o.destination = dest AND (row_id IS NULL OR o.id = row_id)
        FOR UPDATE)
    UPDATE outbox o SET state = 'superseded', superseded_by = n.by_id, updated_at = now()
    FROM newer n WHERE o.id = n.id AND n.by_id IS NOT NULL;
    GET DIAGNOSTICS s = ROW_COUNT;
    UPDATE outbox o SET state = 'pending', attempts = 0, next_attempt_at = now(),
                        updated_at = now()
    WHERE o.state = 'dead' AND o.destination = dest AND (row_id IS NULL OR o.id = row_id);
    GET DIAGNOSTICS r = ROW_COUNT;
    RETURN QUERY SELECT r, s;
END;
$$;
COMMENT ON FUNCTION lt_replay_dead(text, bigint) IS
    'Operator replay (`lienthong replay`): dead rows of dest (all, or the one row_id) become '
    'pending now with attempts reset, except those a newer row of their dossier already carries, '
    'which become superseded. Returns (replayed, superseded).';

COMMENT ON COLUMN destinations.cursor_seq IS
    'Unused: delivery keeps one outbox row per event and destination (0009), routed behind '
    'delivery_router.last_seq. Kept so that 0001 stays as applied.';
