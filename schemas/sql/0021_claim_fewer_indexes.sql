-- 0021_claim_fewer_indexes.sql: a claimed row written into one index fewer
-- (issue 7; tests/bench/RESULTS.md, "Drain").
--
-- The claim's UPDATE to 'inflight' cannot be a HOT update: state is in the
-- predicate of most of the outbox's partial indexes, and PostgreSQL 15
-- makes a new index entry in every index whose predicate the new version
-- matches as soon as a predicate column changes (fillfactor does not help
-- that). An inflight row went into five: the primary key, (event_seq,
-- destination), outbox_open_dossier_idx, outbox_status_idx and
-- outbox_inflight_idx (0001). Index insertions were the largest part of
-- the database's time in a drain (28 % of its samples, perf).
--
-- outbox_inflight_idx only served lt_reclaim's "inflight rows of stale or
-- gone instances", which outbox_status_idx (0012: destination, state,
-- created_at) answers as well when asked one destination at a time:
-- inflight rows are few (the claims ahead of each gateway's send slots),
-- and destinations are few. So the index goes, and lt_reclaim names the
-- destinations. Same rows taken back, same columns written.
DROP INDEX outbox_inflight_idx;

CREATE OR REPLACE FUNCTION lt_reclaim(stale interval) RETURNS integer
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
    WHERE o.destination IN (SELECT d.name FROM destinations d)
      AND o.state = 'inflight'
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
