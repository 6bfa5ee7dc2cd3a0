-- 0015_curve.sql: CurveZMQ public keys of the units' systems (issue 9).
--
-- A ward's (or a district's) system that talks to the ZeroMQ ingress or
-- replay socket proves who it is with a CURVE key pair made by
-- `lienthong keygen --unit CODE`: the public key is stored here, the secret
-- is printed once and never stored. The gateway's ZAP handler (lt_zap.c)
-- accepts a connection only when its key is one of these rows, and names the
-- connection with the row's unit code. One key per unit: running keygen
-- again replaces the row, and the old key stops working (rotation).
--
-- Every change is announced with NOTIFY lt_curve_keys, so that the running
-- gateways reload their copy of the table at once; they also reload every
-- few seconds in case a notification was lost with a connection.

CREATE TABLE curve_keys (
    unit_code  text PRIMARY KEY REFERENCES units (code) ON UPDATE CASCADE ON DELETE CASCADE,
    public_key text NOT NULL UNIQUE CHECK (length(public_key) = 40),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE curve_keys IS
    'CurveZMQ public key (Z85, 40 characters) of each unit''s system, from `lienthong keygen '
    '--unit`; the secret is never stored. One per unit: keygen again replaces it.';

CREATE FUNCTION lt_curve_keys_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lt_curve_keys', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER curve_keys_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON curve_keys
    FOR EACH STATEMENT EXECUTE FUNCTION lt_curve_keys_notify();

-- keygen --unit writes its audit row like token create does.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check
    CHECK (action IN ('token.create', 'token.rotate', 'token.revoke', 'deadletter.replay',
                      'reject.resubmit', 'config.reload', 'dossier.read', 'curve.keygen'));
