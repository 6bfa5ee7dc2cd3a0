-- 0013_report.sql: the facts the on-time report reads, kept beside each
-- dossier's record.
--
-- Why stored columns: a report reads every dossier of its period, and
-- pulling six fields out of a ~2 KiB jsonb record means decompressing the
-- record once per field (PostgreSQL keeps no detoasted copy between
-- expressions): a province's year took ~10 s that way. Generated columns
-- compute the facts once, when the writer stores the record (a few jsonb
-- lookups inside a write that already hashes and serialises it), and the
-- report then reads narrow text columns. The rules are DOMAIN.md's "Due
-- dates and on-time figures"; gateway/lt_report.c says which part runs where.

-- A record date (yyyyMMddHHmmss, validated at ingest) as a number that
-- compares like the instant: integer comparisons are what make a year's
-- report fast (text comparisons go through the collation). NULL for "" or
-- anything that is not 14 digits.
CREATE FUNCTION lt_report_ts(d text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN d ~ '^[0-9]{14}$' THEN d::bigint END
$$;

-- When processing ended: for a dossier at a final status (3, 8, 9, 10),
-- NgayKetThucXuLy, or when empty the first history step into a final status,
-- or NgayTuChoi; NULL otherwise. A function because a generated column may
-- not hold a subquery; IMMUTABLE because it reads only its arguments.
CREATE FUNCTION lt_report_end(record jsonb, status smallint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN status IN (3, 8, 9, 10) THEN lt_report_ts(coalesce(
        nullif(record->>'NgayKetThucXuLy', ''),
        (SELECT min(h->>'ThoiDiemXuLy')
           FROM jsonb_array_elements(CASE jsonb_typeof(record->'QuaTrinhXuLy')
                                     WHEN 'array' THEN record->'QuaTrinhXuLy' ELSE '[]' END) h
          WHERE h->>'TrangThai' IN ('3', '8', '9', '10')),
        nullif(record->>'NgayTuChoi', ''))) END
$$;

ALTER TABLE dossiers
    ADD COLUMN rp_received bigint GENERATED ALWAYS AS (
        CASE WHEN coalesce(record->>'NgayTiepNhan', '') <> ''
             THEN lt_report_ts(record->>'NgayTiepNhan')
             WHEN record->>'KenhThucHien' = '2' AND status <> 7
             THEN lt_report_ts(record->>'NgayNopHoSo') END) STORED,
    ADD COLUMN rp_tiepnhan bigint GENERATED ALWAYS AS (lt_report_ts(record->>'NgayTiepNhan')) STORED,
    ADD COLUMN rp_due bigint GENERATED ALWAYS AS (lt_report_ts(record->>'NgayHenTra')) STORED,
    ADD COLUMN rp_end bigint GENERATED ALWAYS AS (lt_report_end(record, status)) STORED,
    ADD COLUMN rp_online boolean GENERATED ALWAYS AS (
        coalesce(record->>'KenhThucHien' = '2', false)) STORED,
    ADD COLUMN rp_field text GENERATED ALWAYS AS (coalesce(record->>'MaLinhVuc', '')) STORED,
    ADD COLUMN rp_channel text GENERATED ALWAYS AS (coalesce(record->>'KenhThucHien', '')) STORED,
    ADD COLUMN rp_supplements text GENERATED ALWAYS AS (
        CASE jsonb_typeof(record->'DanhSachHoSoBoSung')
        WHEN 'array' THEN CASE WHEN jsonb_array_length(record->'DanhSachHoSoBoSung') > 0
                               THEN (record->'DanhSachHoSoBoSung')::text END END) STORED,
    ADD COLUMN rp_calendar boolean GENERATED ALWAYS AS (
        coalesce(record->>'NgayHenTra', '') = '' OR status = 5
        OR CASE jsonb_typeof(record->'DanhSachHoSoBoSung')
           WHEN 'array' THEN jsonb_array_length(record->'DanhSachHoSoBoSung') > 0
           ELSE false END) STORED;

COMMENT ON COLUMN dossiers.rp_received IS
    'On-time report: when the dossier counts as received (NgayTiepNhan, or NgayNopHoSo for an online dossier not yet received and not withdrawn), as yyyyMMddHHmmss in a bigint; NULL = never.';
COMMENT ON COLUMN dossiers.rp_tiepnhan IS 'On-time report: NgayTiepNhan (NULL = not received; withdrawn dossiers count only when set).';
COMMENT ON COLUMN dossiers.rp_due IS 'On-time report: NgayHenTra as the record gives it (NULL = no due date).';
COMMENT ON COLUMN dossiers.rp_end IS 'On-time report: end of processing (lt_report_end); NULL = not ended.';
COMMENT ON COLUMN dossiers.rp_online IS 'On-time report: KenhThucHien = 2.';
COMMENT ON COLUMN dossiers.rp_field IS 'On-time report: MaLinhVuc, the field row of --group field.';
COMMENT ON COLUMN dossiers.rp_channel IS 'On-time report: KenhThucHien, to pick the procedure''s time limit of that channel.';
COMMENT ON COLUMN dossiers.rp_supplements IS 'On-time report: DanhSachHoSoBoSung as JSON text when it has rounds, else NULL.';
COMMENT ON COLUMN dossiers.rp_calendar IS
    'On-time report: the dossier needs the working-time calendar (no due date, a supplement round, or waiting at status 5), so C classifies it instead of SQL.';

-- The dossiers C classifies are a small share: this index finds them
-- without a second pass over the table.
CREATE INDEX dossiers_rp_calendar_idx ON dossiers (rp_received) WHERE rp_calendar;
