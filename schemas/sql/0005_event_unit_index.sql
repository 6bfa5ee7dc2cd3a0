-- 0005_event_unit_index.sql: a ward's or parent's events without walking
-- everyone else's.
--
-- GET /v1/events for a ward or parent token returns the dossier events of
-- the units in its scope (dossier_events.unit_code) in sequence order. With
-- only the (seq, created_at) key that is a walk of the whole log from
-- `since`, filtered: measured on 1,000,000 events, a ward holding 0.1% of
-- them waited ~10 s for its first page (the reader's query timeout), while
-- one holding 25% waited 70 ms. With this index each unit in the scope is
-- read by (unit_code, seq), at most a page per unit, and then merged. Unit-
-- scoped replay (zmq.replay with a token) has the same need.
--
-- Partial: catalog events have no unit and have their own index.
CREATE INDEX dossier_events_unit_seq_idx ON dossier_events (unit_code, seq)
    WHERE kind = 'dossier';
