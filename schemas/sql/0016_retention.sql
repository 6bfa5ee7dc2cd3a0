-- 0016_retention.sql: personal data is not kept longer than needed (issue 9,
-- Decree 13/2023). Refused records keep the bytes a ward sent, names and ID
-- numbers included; the audit log says who read whose dossier. Both are
-- purged after `retention.days` by the retention job of `serve`
-- (gateway/lt_retention.c).
--
-- Why batches in their own statements: a DELETE of months of rows would hold
-- its locks and bloat one transaction; max_rows at a time, each call its own
-- short transaction, lets ingest (which only inserts into rejects and
-- audit_log) run between them. Why a transaction-level advisory lock: several
-- gateways on one database would otherwise purge the same rows at once; the
-- loser of pg_try_advisory_xact_lock skips this run and nobody waits.

CREATE FUNCTION lt_rejects_purge(keep interval, max_rows integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF keep IS NULL OR keep < interval '1 day' THEN
        RAISE EXCEPTION 'lt_rejects_purge: keep at least one day, got %', keep;
    END IF;
    DELETE FROM rejects WHERE id IN
        (SELECT id FROM rejects WHERE received_at < now() - keep ORDER BY id LIMIT max_rows);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION lt_rejects_purge(interval, integer) IS
    'Deletes refused records (and their payloads) received more than keep ago, max_rows at a time.';

-- One batch of both purges, if no other gateway is running one (the lock
-- keys spell "lien" and "ret"). ran = false: another gateway holds it.
CREATE FUNCTION lt_retention_run(keep interval, max_rows integer,
                                 OUT ran boolean, OUT audit_rows integer, OUT reject_rows integer)
LANGUAGE plpgsql AS $$
BEGIN
    audit_rows := 0;
    reject_rows := 0;
    ran := pg_try_advisory_xact_lock(1818846574, 7497076);
    IF NOT ran THEN
        RETURN;
    END IF;
    audit_rows := lt_audit_purge(keep, max_rows);
    reject_rows := lt_rejects_purge(keep, max_rows);
END;
$$;
COMMENT ON FUNCTION lt_retention_run(interval, integer) IS
    'One batch of the retention purge (audit_log, rejects), skipped when another gateway runs one.';
