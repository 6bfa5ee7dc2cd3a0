-- 0019_due_rules.sql: two per-procedure due-date rules of DOMAIN.md ("Due
-- dates and on-time figures") that the catalog cannot say, so they live in
-- the province's overlay beside its local time limit:
--   same_day            "same day, next working day if received after 15:00";
--   supplement_restart  after a completed supplement round the full duration
--                       runs again from the completion, instead of the due
--                       date moving by the paused working time.
-- Both default to false: the behaviour before this migration.
--
-- A same-day procedure has no other time limit: the two would disagree on
-- which due date a dossier without NgayHenTra has.

ALTER TABLE procedure_overlays
    ADD COLUMN same_day boolean NOT NULL DEFAULT false,
    ADD COLUMN supplement_restart boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT procedure_overlays_same_day_no_limit CHECK (NOT same_day OR time_limit IS NULL);

COMMENT ON COLUMN procedure_overlays.same_day IS
    'Same-day procedure: a dossier received on a working day by 15:00 is due at that day''s closing, later ones at the next working day''s closing (lt_calendar_due_same_day). Used for dossiers without NgayHenTra, and for the restart below.';
COMMENT ON COLUMN procedure_overlays.supplement_restart IS
    'After a completed supplement round the full duration restarts from its completion (the procedure''s limit, or the working time from receipt to the due date the round interrupted) instead of the due date pausing; false = pause.';
