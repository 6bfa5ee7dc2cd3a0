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
-- lt_settle, whose statements all name their rows by id.
ALTER FUNCTION lt_claim_set(text, bigint, integer) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION lt_settle(text, jsonb, interval, integer, interval)
    SET plan_cache_mode = force_generic_plan;
