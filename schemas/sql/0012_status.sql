-- 0012_status.sql: indexes that keep the status query (gateway/lt_status.c,
-- GET /v1/status, /metrics, `lienthong status`) cheap however large the
-- outbox and the event log grow. Status reads; it writes nothing.
--
-- What the query asks, per destination, and which index answers it:
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
