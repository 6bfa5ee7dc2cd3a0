#!/usr/bin/env bash
# The on-time report off the shared reader (lt_reportd): reports have their
# own actor and connection, so a long report never holds up the reads, and
# their own limit (report.timeout, default 60 s) instead of the reads' 5 s.
#
# The slow report is real data and a real request: open dossiers received
# in 2016 (a backlog nobody closed), reported for ten years by month, so
# each of them is measured at every month's end (~115 buckets each). The
# data grows until that report takes over 6 s on this machine, then:
# - it completes (200) although it took longer than the reads' 5 s;
# - while it runs (its statement seen active in pg_stat_activity), a
#   dossier read and the status answer, and the statement is still active
#   after they did;
# - a second report waits its turn and then answers 200; with
#   LT_REPORTD_MAX_WAITING (4) waiting, one more gets 503 with Retry-After;
# - with report.timeout=2s the same report gets 504 naming report.timeout,
#   and a small report right after it still answers 200.
# Every answer of the route is held to schemas/openapi.yaml at the end.
export LT_TEST_TIMEOUT=${LT_TEST_TIMEOUT:-280}
source "$(dirname "$0")/lib.sh"

export LT_ANSWERS_DIR=$LT_TMP/answers
mkdir -p "$LT_ANSWERS_DIR"
lt_pg_start pg
lt_ingest_fixture

BIG='/v1/reports/ontime?from=2016-01-01&to=2025-12-31&group=month'
SMALL='/v1/reports/ontime?from=2016-03-01&to=2016-03-31&unit=08707'
CODE=000.00.06.H56-160101-0000001 # the first generated dossier (i = 1)

# gen FIRST LAST: open dossiers (status 4, due five days after receipt)
# received through 2016 in the five wards, straight into `dossiers` as the
# report benchmark does (the writer's generated columns derive the facts).
gen() {
  psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 -v a="$1" -v b="$2" >/dev/null <<'SQL' ||
INSERT INTO dossiers (code, record, status, procedure_code, receiving_unit, competent_unit,
                      recency_at, history_len, content_hash, last_seq)
SELECT code, jsonb_build_object('MaHoSo', code, 'MaTTHC', '2.000908', 'MaLinhVuc', 'G01-HT',
         'TrangThaiHoSo', '4', 'KenhThucHien', CASE WHEN i % 10 < 8 THEN '2' ELSE '1' END,
         'NgayTiepNhan', to_char(tn, 'YYYYMMDDHH24MISS'),
         'NgayHenTra', to_char(tn + interval '5 days', 'YYYYMMDDHH24MISS')),
       4, '2.000908', unit, unit, now(), 0, sha256(code::bytea), i
FROM (SELECT i, (ARRAY['08707', '08710', '08869', '08872', '08878'])[1 + i % 5] AS unit,
        '000.00.06.H56-' || to_char(date '2016-01-01' + ((i - 1) % 366), 'YYMMDD') || '-'
          || lpad(i::text, 7, '0') AS code,
        timestamp '2016-01-01 07:30' + ((i - 1) % 366) * interval '1 day' AS tn
      FROM generate_series(:a::int, :b::int) i) x;
ANALYZE dossiers;
SQL
    lt_fail "cannot generate dossiers $1..$2"
}

# The report's statement, running now (the reportd connection's).
report_active() {
  [ "$(lt_psql "$LT_PG_URL" "SELECT count(*) FROM pg_stat_activity
        WHERE state = 'active' AND query LIKE 'WITH RECURSIVE scope%'")" -ge 1 ]
}

# report FILE PATH: FILE gets "STATUS SECONDS", FILE.body the body,
# FILE.headers the headers (lower-case names); the answer is kept in
# LT_ANSWERS_DIR for lt_answers_check. Its own files, so several may run at
# once (lt_http_save shares one body file).
report() {
  curl -s -m 150 -o "$1.body" -D "$1.raw" -w '%{http_code} %{time_total}' \
    "$(lt_url gw "$2")" >"$1" || true
  tr -d '\r' <"$1.raw" | sed -n 's/^\([^:]*\):[[:space:]]*\(.*\)$/\L\1\E: \2/p' >"$1.headers"
  jq -n --arg path "$2" --argjson status "$(cut -d' ' -f1 "$1")" --rawfile body "$1.body" \
    --rawfile headers "$1.headers" \
    '{method: "GET", path: $path, status: $status, body: $body,
      headers: ([$headers | split("\n")[] | select(contains(": "))
                 | {key: .[: index(": ")], value: .[index(": ") + 2:]}] | from_entries)}' \
    >"$LT_ANSWERS_DIR/$(basename "$1").json"
}
big_report() { report "$1" "$BIG"; }

lt_gw_start gw

# ---- a report longer than 5 s completes ----------------------------------------
n=0 step=20000 secs=0
for round in 1 2 3 4 5 6; do
  gen $((n + 1)) $((n + step))
  n=$((n + step))
  big_report "$LT_TMP/cal"
  read -r code secs <"$LT_TMP/cal" || true
  lt_assert_eq 200 "$code" "the ten-year report by month over $n dossiers (round $round)"
  lt_assert_eq "$n" "$(jq '.total.received' "$LT_TMP/cal.body")" "received of $n dossiers"
  lt_log "$n open dossiers: the report took $secs s"
  awk -v s="$secs" 'BEGIN { exit !(s > 6) }' && break
done
awk -v s="$secs" 'BEGIN { exit !(s > 5) }' ||
  lt_fail "the report never took more than 5 s (last $secs s over $n dossiers): nothing shown"
long=$secs

# ---- reads answer while it runs; reports queue, then refuse ----------------------
big_report "$LT_TMP/big" &
big_pid=$!
lt_wait 20 report_active || lt_fail "the report's statement never showed as active"
read_out=$(lt_http gw "/v1/dossiers/$CODE" -H "Authorization: Bearer $LT_OPERATOR_TOKEN")
lt_assert_eq 200 "${read_out%% *}" "GET /v1/dossiers/{code} while a report runs"
lt_assert_eq "$CODE" "$(jq -r .record.MaHoSo <<<"${read_out#* }")" "the dossier read"
lt_assert_eq 200 "$(lt_status gw /v1/status)" "GET /v1/status while a report runs"
lt_assert_eq 200 "$(lt_status gw '/v1/catalog?limit=1')" "GET /v1/catalog while a report runs"
report_active || lt_fail "the report had finished before the reads answered: nothing shown"
kill -0 "$big_pid" 2>/dev/null || lt_fail "the report's caller had its answer before the reads"

# One report runs and LT_REPORTD_MAX_WAITING (4) wait: five small ones
# behind the big one, one of them refused at once.
small_pids=()
for i in 1 2 3 4 5; do
  report "$LT_TMP/small$i" "$SMALL" &
  small_pids+=($!)
done
refused_one() { grep -l '^503 ' "$LT_TMP"/small[1-5] 2>/dev/null | grep -q .; }
lt_wait 10 refused_one || lt_fail "no report was refused with five waiting"
report_active || lt_fail "the big report had finished before the queue was full: nothing shown"
wait "$big_pid"
read -r code secs <"$LT_TMP/big" || true
lt_assert_eq 200 "$code" "the big report, run while reads went on"
wait "${small_pids[@]}" # not a bare wait: the harness's watchdog is a job too
refused=$(grep -l '^503 ' "$LT_TMP"/small[1-5])
lt_assert_eq 1 "$(wc -l <<<"$refused")" "reports refused with one running and four waiting"
lt_assert_eq busy "$(jq -r .error.code "$refused.body")" "the refusal's code"
grep -q '^retry-after: ' "$refused.headers" || lt_fail "the busy 503 has no Retry-After"
lt_assert_eq 4 "$(grep -l '^200 ' "$LT_TMP"/small[1-5] | wc -l)" "queued reports answered"

# ---- over report.timeout: 504 naming it ---------------------------------------------
lt_gw_stop gw
lt_gw_start gw LIENTHONG_REPORT_TIMEOUT=2s
big_report "$LT_TMP/late"
read -r code secs <"$LT_TMP/late" || true
lt_assert_eq 504 "$code" "a report over report.timeout=2s"
lt_assert_contains "$(cat "$LT_TMP/late.body")" 'report.timeout (2 s)' "the 504 names the limit"
lt_assert_eq timeout "$(jq -r .error.code "$LT_TMP/late.body")" "the 504's code"
grep -q 'over report.timeout' "$LT_TMP/gw.log" || lt_fail "the 504 was not logged"
out=$(lt_http_save gw "$SMALL")
lt_assert_eq 200 "${out%% *}" "a small report after a 504"
lt_assert_eq 200 "$(lt_status gw "/v1/dossiers/$CODE" -H "Authorization: Bearer $LT_OPERATOR_TOKEN")" \
  "a dossier read after a 504"
lt_gw_stop gw

lt_answers_check
lt_log "PASS: a $long s report over $n dossiers completed beside reads; queue, 503 and 504 as documented"
