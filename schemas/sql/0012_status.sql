-- 0012_status.sql: indexes that keep the status query (gateway/lt_status.c,
-- GET /v1/status, /metrics, `lienthong status`) cheap however large the
-- outbox and the event log grow. Status reads; it writes nothing.
--
-- What lt_status_doc() asks, per destination, and which index answers it:
--   rows by open state (unrouted, pending, inflight, retrying, dead) and the
--   oldest of the backlog       outbox_status_idx: an index-only count of the
--                               rows not yet settled, never the delivered
--                               history;
--   the last delivery and the deliveries of the last five minutes
--                               outbox_delivered_at_idx, read backwards;
--   the newest retry and its error
--                               outbox_retrying_idx, read backwards.
-- And per sender, today's stored records: dossier_events_day_idx, so that
-- counting today walks today's entries instead of the month's partition.
-- Measured with 100,000 outbox rows (tests/integration/t_status.sh prints
-- the plan; see README, "Status").

CREATE INDEX outbox_status_idx ON outbox (destination, state, created_at)
    WHERE state IN ('unrouted', 'pending', 'inflight', 'retrying', 'dead');
CREATE INDEX outbox_delivered_at_idx ON outbox (destination, delivered_at)
    WHERE state = 'delivered';
CREATE INDEX outbox_retrying_idx ON outbox (destination, updated_at)
    WHERE state = 'retrying';
CREATE INDEX dossier_events_day_idx ON dossier_events (created_at) INCLUDE (sender_unit)
    WHERE kind = 'dossier';

-- The status statement itself: one row, one JSON text with the numbers every
-- gateway on this database shares (lt_status_doc.c adds this process's
-- counters and the thresholds). A function so that it runs with jit off:
-- its cost estimate crosses jit_above_cost on any real outbox, and compiling
-- it (seconds on a small machine) would cost a hundred times the query.
-- PL/pgSQL so that a long-lived connection (the reader's) plans it once.
CREATE FUNCTION lt_status_doc() RETURNS text
LANGUAGE plpgsql STABLE
SET jit = off
AS $$
DECLARE
    doc text;
BEGIN
    WITH day AS (
      SELECT (date_trunc('day', now() AT TIME ZONE 'Asia/Ho_Chi_Minh')
              AT TIME ZONE 'Asia/Ho_Chi_Minh') AS start),
    dest AS (
      SELECT d.name, d.kind, d.unit_code AS unit, d.url, d.circuit,
             coalesce(o.pending, 0) AS pending, coalesce(o.inflight, 0) AS inflight,
             coalesce(o.retrying, 0) AS retrying, coalesce(o.unrouted, 0) AS unrouted,
             coalesce(o.dead, 0) AS dead_letters,
             greatest(d.failures, rt.attempts, fr.n) AS failures,
             extract(epoch FROM now() - o.oldest)::float8 AS oldest_pending_age_s,
             greatest(d.last_success_at, ok.at) AS last_success_at,
             CASE WHEN d.last_error_at IS NOT NULL
                       AND (rt.at IS NULL OR d.last_error_at >= rt.at) THEN d.last_error
                  ELSE rt.error END AS last_error,
             greatest(d.last_error_at, rt.at) AS last_error_at,
             coalesce(greatest(d.last_error_at, rt.at)
                      > coalesce(greatest(d.last_success_at, ok.at), '-infinity'), false)
               AS failing,
             coalesce(ok.recent, 0) / 5.0 AS delivered_per_min
      FROM destinations d
      LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE s.state = 'pending') AS pending,
               count(*) FILTER (WHERE s.state = 'inflight') AS inflight,
               count(*) FILTER (WHERE s.state = 'retrying') AS retrying,
               count(*) FILTER (WHERE s.state = 'unrouted') AS unrouted,
               count(*) FILTER (WHERE s.state = 'dead') AS dead,
               min(s.created_at) FILTER (WHERE s.state IN ('pending', 'inflight', 'retrying')) AS oldest
        FROM outbox s
        WHERE s.destination = d.name
          AND s.state IN ('unrouted', 'pending', 'inflight', 'retrying', 'dead')) o ON true
      LEFT JOIN LATERAL (
        SELECT (SELECT max(x.delivered_at) FROM outbox x
                 WHERE x.destination = d.name AND x.state = 'delivered') AS at,
               (SELECT count(*) FROM outbox x
                 WHERE x.destination = d.name AND x.state = 'delivered'
                   AND x.delivered_at > now() - interval '5 minutes') AS recent) ok ON true
      LEFT JOIN LATERAL (
        SELECT x.updated_at AS at, x.last_error AS error, x.attempts FROM outbox x
        WHERE x.destination = d.name AND x.state = 'retrying'
        ORDER BY x.updated_at DESC LIMIT 1) rt ON true
      -- Rows that failed since the last success (at most 1,000 are counted).
      LEFT JOIN LATERAL (
        SELECT count(*)::integer AS n FROM (
          SELECT 1 FROM outbox x
          WHERE x.destination = d.name AND x.state = 'retrying'
            AND x.updated_at > coalesce(greatest(d.last_success_at, ok.at), '-infinity')
          LIMIT 1000) y) fr ON true),
    send AS (
      SELECT unit, max(last_at) AS last_record_at, sum(records)::bigint AS records_today,
             sum(rejects)::bigint AS rejects_today
      FROM (SELECT e.sender_unit AS unit, max(e.created_at) AS last_at, count(*) AS records,
                   0 AS rejects
            FROM dossier_events e, day
            WHERE e.kind = 'dossier' AND e.created_at >= day.start
            GROUP BY e.sender_unit
            UNION ALL
            SELECT r.sender_unit, NULL, 0, count(*)
            FROM rejects r, day
            WHERE r.received_at >= day.start
            GROUP BY r.sender_unit) x
      GROUP BY unit)
    SELECT json_build_object(
      'now', now(),
      'destinations', (SELECT coalesce(json_agg(dest ORDER BY name), '[]') FROM dest),
      'senders', (SELECT coalesce(json_agg(send ORDER BY unit NULLS FIRST), '[]') FROM send),
      'catalog', json_build_object(
         'version', (SELECT max(version) FROM catalog_versions),
         'published', (SELECT count(*) FROM procedures WHERE published),
         'abolished', (SELECT count(*) FROM procedures WHERE abolished_at IS NOT NULL),
         'total', (SELECT count(*) FROM procedures),
         'last_run', (SELECT row_to_json(r) FROM (
            SELECT id, source, started_at, finished_at, outcome, added, changed, abolished,
                   unchanged, error
            FROM catalog_sync_runs ORDER BY id DESC LIMIT 1) r)),
      'last_sequence', (SELECT last_seq FROM event_counter),
      'routed_sequence', (SELECT last_seq FROM delivery_router),
      'gateways_live', (SELECT count(*) FROM gateway_instances
                        WHERE heartbeat_at > now() - interval '10 seconds'))::text
    INTO doc;
    RETURN doc;
END;
$$;
COMMENT ON FUNCTION lt_status_doc() IS
    'The shared part of the status document (GET /v1/status, /metrics, `lienthong status`) as '
    'JSON text: destinations with counts by open state, oldest backlog age, last success and '
    'error, deliveries in the last five minutes; senders today (Asia/Ho_Chi_Minh); catalog '
    'version, procedures by state and last sync run; last and routed sequence; live gateways.';
