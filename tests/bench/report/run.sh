#!/usr/bin/env bash
# Report benchmark (outside CI): a province's year of dossiers (N, default
# 500,000) generated straight into `dossiers` with realistic records
# (about 2 KiB of jsonb each: history, files, supplement rounds on 5 %, no
# due date on 2 %), then `lienthong report` for the year by unit and by
# month, and GET /v1/reports/ontime, each timed three times.
#   LIENTHONG_BIN=build-release/gateway/lienthong LT_SOURCE_DIR=$PWD \
#     bash tests/bench/report/run.sh [N]
set -euo pipefail
N=${1:-500000}
export LT_TEST_TIMEOUT=${LT_TEST_TIMEOUT:-3000}
source "$(dirname "$0")/../../integration/lib.sh"
lt_pg_start pg
lt_ingest_fixture
lt_log "generating $N dossiers"
psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 -v n="$N" <<'SQL'
\timing on
INSERT INTO dossiers (code, record, status, procedure_code, receiving_unit, competent_unit,
                      recency_at, history_len, content_hash, last_seq)
SELECT g.code, g.rec, g.st, '2.000908', g.unit, g.unit, now(), 3,
       sha256(g.code::bytea), g.i
FROM (
  SELECT i, code, st, unit,
    jsonb_build_object('MaHoSo', code, 'MaTTHC', '2.000908', 'TenTTHC', 'Cấp bản sao trích lục hộ tịch',
      'MaLinhVuc', 'G01-HT' || (i % 7), 'TenLinhVuc', 'Hộ tịch',
      'ChuHoSo', 'Nguyễn Văn A', 'SoDienThoai', '0912345678', 'Email', 'a@example.vn',
      'TrangThaiHoSo', st::text, 'KenhThucHien', CASE WHEN i % 10 < 8 THEN '2' ELSE '1' END,
      'NgayNopHoSo', to_char(tn - interval '1 hour', 'YYYYMMDDHH24MISS'),
      'NgayTiepNhan', CASE WHEN st IN (1, 3) THEN '' ELSE to_char(tn, 'YYYYMMDDHH24MISS') END,
      'NgayHenTra', CASE WHEN i % 50 = 0 THEN '' ELSE to_char(tn + interval '5 days', 'YYYYMMDDHH24MISS') END,
      'NgayKetThucXuLy', CASE WHEN st IN (9, 10) THEN to_char(tn + ((i % 9) || ' days')::interval, 'YYYYMMDDHH24MISS') ELSE '' END,
      'DanhSachHoSoBoSung', CASE WHEN i % 20 = 0 THEN jsonb_build_array(jsonb_build_object(
         'NgayYeuCauBoSung', to_char(tn + interval '1 day', 'YYYYMMDDHH24MISS'),
         'NgayTiepNhanBoSung', to_char(tn + interval '2 days', 'YYYYMMDDHH24MISS'))) ELSE '[]'::jsonb END,
      'TaiLieuNop', jsonb_build_array(jsonb_build_object('TenTepDinhKem', 'to-khai.pdf', 'DuongDanTaiTepTin', '/files/' || code || '/1.pdf'),
                                      jsonb_build_object('TenTepDinhKem', 'cccd.pdf', 'DuongDanTaiTepTin', '/files/' || code || '/2.pdf')),
      'QuaTrinhXuLy', jsonb_build_array(
         jsonb_build_object('MaHoSo', code, 'NguoiXuLy', 'Trần Thị B', 'ThoiDiemXuLy', to_char(tn, 'YYYYMMDDHH24MISS'), 'TrangThai', '2', 'NoiDungXuLy', 'Tiếp nhận hồ sơ'),
         jsonb_build_object('MaHoSo', code, 'NguoiXuLy', 'Lê Văn C', 'ThoiDiemXuLy', to_char(tn + interval '2 hours', 'YYYYMMDDHH24MISS'), 'TrangThai', '4', 'NoiDungXuLy', 'Thẩm định hồ sơ'),
         jsonb_build_object('MaHoSo', code, 'NguoiXuLy', 'Phạm Văn D', 'ThoiDiemXuLy', to_char(tn + interval '3 days', 'YYYYMMDDHH24MISS'), 'TrangThai', st::text, 'NoiDungXuLy', 'Xử lý'))) AS rec
  FROM (
    SELECT i, (ARRAY['08707', '08710', '08869', '08872', '08878'])[1 + i % 5] AS unit,
      '000.00.06.H56-' || to_char(timestamp '2025-01-01' + (i % 365) * interval '1 day', 'YYMMDD') || '-' || lpad(i::text, 7, '0') AS code,
      timestamp '2025-01-01 07:30' + (i % 365) * interval '1 day' + (i % 540) * interval '1 minute' AS tn,
      (ARRAY[10, 10, 10, 9, 9, 4, 5, 7, 8, 1, 3, 2])[1 + i % 12] AS st
    FROM generate_series(1, :n) i) x) g;
ANALYZE dossiers;
SELECT pg_size_pretty(pg_total_relation_size('dossiers')), count(*) FROM dossiers;
SQL
if [ -n "${LT_BENCH_EXPLAIN:-}" ]; then
  for group in unit month; do
    { echo 'EXPLAIN (ANALYZE, BUFFERS)'
      python3 "$(dirname "$0")/sql.py" "$LT_SOURCE_DIR" 20250101000000 20251231235959 '' "$group" 20261127000000
    } | psql "$LT_PG_URL" -qAt >&2
  done
fi
# Baselines in the same run: one bare pass over the table, and one pass that
# reads a single field out of each record (what any jsonb-reading report pays
# at least).
for run in 1 2 3; do
  psql "$LT_PG_URL" -qAt -c '\timing on' -c 'SELECT count(*) FROM dossiers' |
    sed -n 's/^Time: /baseline count(*): /p' >&2
  psql "$LT_PG_URL" -qAt -c '\timing on' \
    -c "SELECT count(*) FROM dossiers WHERE record->>'NgayTiepNhan' >= '2025'" |
    sed -n 's/^Time: /baseline one jsonb field: /p' >&2
done
for group in unit month; do
  for run in 1 2 3; do
    s=$(date +%s.%N)
    "$LIENTHONG_BIN" report --from 2025-01-01 --to 2025-12-31 --group "$group" --json >"$LT_TMP/r.json"
    e=$(date +%s.%N)
    lt_log "report by $group, run $run: $(echo "$e - $s" | bc) s; total $(jq -c '.total' "$LT_TMP/r.json")"
  done
done
lt_gw_start gw
for run in 1 2 3; do
  t=$(curl -s -o "$LT_TMP/h.json" -w '%{time_total}' -m 30 "$(lt_url gw '/v1/reports/ontime?from=2025-01-01&to=2025-12-31')")
  lt_log "GET /v1/reports/ontime by unit, run $run: $t s, $(jq '.rows | length' "$LT_TMP/h.json") rows"
done
lt_gw_stop gw
