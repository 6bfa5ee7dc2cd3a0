-- 0014_credentials_audit.sql: tokens that expire and rotate without
-- downtime, and the audit log (issue 9, Decree 13/2023).
--
-- Rotation: `lienthong token rotate` makes a new token for the same unit and
-- role and gives the old one an expiry a grace period ahead (default 7 days),
-- so a ward's system can switch to the new token at its own pace: both work
-- until then, and the gateway never has to restart. Expiry is checked on
-- every lookup (lt_auth.c), like revocation.
--
-- The audit log records what operators did (tokens created, rotated and
-- revoked; dead letters replayed; rejects resubmitted; configuration
-- reloaded) and every read of a dossier's personal data (who read which
-- dossier, when). It is append-only by trigger, as dossier_events is: only
-- lt_audit_purge, the retention job, may delete, and only rows older than
-- what it is given. A gateway connected as the tables' owner could still
-- drop the trigger; deploy/README.md says how to run it as a role that owns
-- nothing.

ALTER TABLE credentials
    ADD COLUMN expires_at  timestamptz,
    ADD COLUMN replaced_by bigint REFERENCES credentials (id);
COMMENT ON COLUMN credentials.expires_at IS
    'After this the token is refused like a revoked one; NULL = no expiry. Set at creation '
    '(--expires) or by rotation (the grace period of the token it replaced).';
COMMENT ON COLUMN credentials.replaced_by IS 'The token `lienthong token rotate` made to replace this one.';

CREATE TABLE audit_log (
    id     bigserial PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT now(),
    actor  text NOT NULL,
    action text NOT NULL CHECK (action IN ('token.create', 'token.rotate', 'token.revoke',
                                           'deadletter.replay', 'reject.resubmit',
                                           'config.reload', 'dossier.read')),
    target text,
    detail jsonb
);
COMMENT ON TABLE audit_log IS
    'Operator actions and reads of personal data (Decree 13/2023): who did what to which object, '
    'when. Append-only (lt_audit_append_only); purged only by lt_audit_purge after the retention '
    'period. Never holds personal data itself: targets are dossier codes, token prefixes, ids.';
COMMENT ON COLUMN audit_log.actor IS
    'token:<prefix> (role, unit in detail) for HTTP callers; cli:<os user> for commands; '
    'gateway for the process itself (a configuration reload).';
COMMENT ON COLUMN audit_log.target IS
    'What was acted on: a token prefix, a dead letter id or destination, a reject id, a dossier '
    'code, or a query for reads of several dossiers.';
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_target_idx ON audit_log (target, at);

CREATE FUNCTION lt_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('lienthong.audit_purge', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only (% of id %)', TG_OP, OLD.id
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION lt_audit_append_only();

-- Retention: deletes rows older than keep, at most max_rows at a time (a
-- purge job must never hold long locks); returns how many it deleted.
CREATE FUNCTION lt_audit_purge(keep interval, max_rows integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF keep IS NULL OR keep < interval '1 day' THEN
        RAISE EXCEPTION 'lt_audit_purge: keep at least one day, got %', keep;
    END IF;
    PERFORM set_config('lienthong.audit_purge', 'on', true);
    DELETE FROM audit_log WHERE id IN
        (SELECT id FROM audit_log WHERE at < now() - keep ORDER BY id LIMIT max_rows);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('lienthong.audit_purge', 'off', true);
    RETURN n;
END;
$$;
COMMENT ON FUNCTION lt_audit_purge(interval, integer) IS
    'The only way rows leave audit_log: older than keep (at least a day), max_rows at a time.';
