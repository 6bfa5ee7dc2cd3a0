-- 0006_event_unit_index.sql: unit-scoped reads of the event log.
--
-- A ward's replay and GET /v1/events read "the events of these units from
-- sequence S on". Without this index a scoped page scanned the whole
-- sequence range (measured: ~170 ms a page at 400,000 events where the ward
-- had 0.1 % of them, and the bus publishes on the same connection); with it
-- the page is an index range scan per unit.
CREATE INDEX dossier_events_unit_seq_idx ON dossier_events (unit_code, seq)
    WHERE kind = 'dossier';
