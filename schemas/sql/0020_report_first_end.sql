-- 0020_report_first_end.sql: the end of processing is the FIRST of the
-- final states 9, 10, 8 or 3 (DOMAIN.md, "Classification"), also when the
-- dossier has left it since. Status 9 is not terminal, so a legal 9 -> 4
-- (re-opened) made lt_report_end (0013) forget the end: the dossier counted
-- as open, then overdue, instead of resolved when it was decided.
--
-- The record carries its steps (QuaTrinhXuLy[].TrangThai, ThoiDiemXuLy):
-- when the current status is not final, the first step into a final state
-- is the end. At a final status nothing changes: NgayKetThucXuLy (what
-- on-time figures use), else that first step, else NgayTuChoi. A withdrawn
-- dossier (7) keeps no end: it counts as withdrawn, whatever came before.
-- Without a history entry into a final state a re-opened dossier is open,
-- as before: nothing else in the record says it had ended.

CREATE OR REPLACE FUNCTION lt_report_end(record jsonb, status smallint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH first_final AS (
        SELECT min(h->>'ThoiDiemXuLy') AS at
          FROM jsonb_array_elements(CASE jsonb_typeof(record->'QuaTrinhXuLy')
                                    WHEN 'array' THEN record->'QuaTrinhXuLy' ELSE '[]' END) h
         WHERE h->>'TrangThai' IN ('3', '8', '9', '10'))
    SELECT CASE WHEN status IN (3, 8, 9, 10)
                THEN lt_report_ts(coalesce(nullif(record->>'NgayKetThucXuLy', ''), f.at,
                                           nullif(record->>'NgayTuChoi', '')))
                WHEN status <> 7 THEN lt_report_ts(f.at) END
      FROM first_final f
$$;

-- rp_end is stored: recompute it where the new rule can differ (a dossier
-- at a non-final status other than 7 whose history has a final step). An
-- UPDATE that sets a column to itself recomputes the generated columns.
UPDATE dossiers SET record = record
 WHERE status NOT IN (3, 7, 8, 9, 10)
   AND jsonb_typeof(record->'QuaTrinhXuLy') = 'array'
   AND jsonb_path_exists(record->'QuaTrinhXuLy',
                         '$[*] ? (@.TrangThai == "3" || @.TrangThai == "8" || @.TrangThai == "9" || @.TrangThai == "10")');

COMMENT ON COLUMN dossiers.rp_end IS
    'On-time report: end of processing (lt_report_end): at a final status NgayKetThucXuLy, else the first history step into 3/8/9/10, else NgayTuChoi; at 1, 2, 4, 5, 6 (re-opened) that first history step; NULL = not ended (or withdrawn).';
