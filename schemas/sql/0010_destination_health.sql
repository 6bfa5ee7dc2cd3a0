-- 0010_destination_health.sql: each destination's health, shared by every
-- gateway process on this database.
--
-- The delivery engine writes these columns (on a state change, and at most
-- about once a second per destination for last_success_at); status, metrics
-- and the dashboard read them. They live in the database and not in one
-- process's memory because several gateways drain the same destinations:
-- a circuit opened by one must pause the others, and `lienthong status`
-- run from a shell must see what the serving processes see.

ALTER TABLE destinations
    ADD COLUMN circuit text NOT NULL DEFAULT 'closed'
        CHECK (circuit IN ('closed', 'open', 'half_open')),
    ADD COLUMN circuit_until timestamptz,
    ADD COLUMN failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    ADD COLUMN last_success_at timestamptz,
    ADD COLUMN last_error_at timestamptz,
    ADD COLUMN last_error text;

COMMENT ON COLUMN destinations.circuit IS
    'closed: deliveries flow; open: consecutive retryable failures paused this destination until '
    'circuit_until; half_open: one probe is in flight, its outcome closes or re-opens the circuit.';
COMMENT ON COLUMN destinations.circuit_until IS
    'While open: when the next probe may be sent (the contract''s default: every 15 s).';
COMMENT ON COLUMN destinations.failures IS
    'Consecutive retryable failures (408, 429, 5xx, transport) since the last success.';
COMMENT ON COLUMN destinations.last_success_at IS 'Time of the last delivered call (coarse: ~1 s).';
COMMENT ON COLUMN destinations.last_error_at IS 'Time of the last failed call.';
COMMENT ON COLUMN destinations.last_error IS
    'The last failure in a few words (HTTP status or transport error); no personal data.';
