-- 0018_event_scope_curve_role.sql: events follow the dossier read rule, and
-- CURVE keys name a role (contract audit A.1, A.2).
--
-- Events. A ward or parent reads the dossiers whose receiving OR competent
-- unit is in its scope; its events (GET /v1/events, ZeroMQ replay) used to
-- follow the receiving unit only (dossier_events.unit_code), so a competent
-- unit outside the receiving chain (a dossier received at a centre in another
-- commune, a transferred one) saw the dossier but never its events. The event
-- reads now add the events of the dossiers competent in the scope and
-- received outside it. Those are few (a ward normally receives what it
-- decides, a district's wards are in its own scope), so this partial index
-- holds only the dossiers whose competent unit is not their receiving unit:
-- the extra branch reads the few candidates by (competent_unit, last_seq >
-- since) and then their events by dossier_events (dossier_code, seq), instead
-- of walking every dossier of the unit.
CREATE INDEX dossiers_competent_elsewhere_idx ON dossiers (competent_unit, last_seq)
    WHERE competent_unit <> receiving_unit;

-- CURVE keys. `lienthong keygen --unit CODE [--role ward|parent]`: a key
-- stands for a ward or parent of its unit, like a token, so that `[JSON]` on
-- a CURVE connection (DESIGN.md, "Contract: ZeroMQ") acts with that role and
-- a replay without a token is scoped like GET /v1/events for it. Keys made
-- before this migration stand for a ward of their unit. A key's role never
-- changes: keygen makes a new pair each time (the old key stops working).
ALTER TABLE curve_keys ADD COLUMN role text NOT NULL DEFAULT 'ward'
    CHECK (role IN ('ward', 'parent'));
COMMENT ON COLUMN curve_keys.role IS
    'What the key''s connections may do without a token: ward (its unit) or parent (its subtree), '
    'as a token of that role and unit.';
