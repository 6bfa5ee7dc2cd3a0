#!/usr/bin/env bash
# The on-time report (issue 8): a hand-computed fixture that touches every
# rule of DOMAIN.md "Due dates and on-time figures" is pushed through a real
# gateway by two ward systems, then `lienthong report` (json, csv, table;
# by unit, month, field; --unit) and GET /v1/reports/ontime are checked row
# by row against figures written by hand below. The period is March-April
# 2025 with the shipped holiday table: Mon 7/4 (Giỗ Tổ) and Wed 30/4 off,
# Sat 26/4 a compensatory working day. Every answer of the route is held to
# schemas/openapi.yaml at the end.
source "$(dirname "$0")/lib.sh"

export LT_ANSWERS_DIR=$LT_TMP/answers
lt_pg_start pg
lt_ingest_fixture
lt="$LIENTHONG_BIN"

# Two procedures with a time limit, for the dossiers without a due date.
cat >"$LT_TMP/limits.json" <<'JSON'
[
 {"MATTHC": "1.000100", "TENTTHC": "Thủ tục bốn giờ", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}],
  "CACHTHUCTHUCHIEN": [{"KENH": "1", "THOIGIAN": [{"THOIGIANGIAIQUYET": "4", "DONVITINH": "Giờ"}]}]},
 {"MATTHC": "1.000101", "TENTTHC": "Thủ tục một ngày", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}],
  "CACHTHUCTHUCHIEN": [{"KENH": "1", "THOIGIAN": [{"THOIGIANGIAIQUYET": "1", "DONVITINH": "Ngày làm việc"}]}]},
 {"MATTHC": "1.000102", "TENTTHC": "Thủ tục trong ngày", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}],
  "CACHTHUCTHUCHIEN": [{"KENH": "1", "THOIGIAN": [{"THOIGIANGIAIQUYET": "2", "DONVITINH": "Ngày làm việc"}]}]},
 {"MATTHC": "1.000103", "TENTTHC": "Thủ tục tính lại thời hạn", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}],
  "CACHTHUCTHUCHIEN": [{"KENH": "1", "THOIGIAN": [{"THOIGIANGIAIQUYET": "1", "DONVITINH": "Ngày làm việc"}]}]},
 {"MATTHC": "1.000105", "TENTTHC": "Thủ tục không ghi thời hạn", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}],
  "CACHTHUCTHUCHIEN": [{"KENH": "1"}]}
]
JSON
"$lt" catalog sync --file "$LT_TMP/limits.json" >/dev/null 2>&1 || lt_fail "catalog sync (limits)"
T_A=$("$lt" token create --unit 08878 --role ward | tail -n 1) # agency 000.05.06.H56
T_B=$("$lt" token create --unit 08872 --role ward | tail -n 1) # agency 000.02.06.H56

lt_gw_start gw

# rec CODE STATUS CHANNEL TIEPNHAN HENTRA KETTHUC [PROCEDURE] [extra JSON members]
rec() {
  jq -nc --arg c "$1" --arg s "$2" --arg k "$3" --arg tn "$4" --arg ht "$5" --arg kt "$6" \
    --arg p "${7:-2.000908}" --argjson x "${8:-{\}}" \
    '{MaHoSo: $c, MaTTHC: $p, TrangThaiHoSo: $s, KenhThucHien: $k, NgayTiepNhan: $tn,
      NgayHenTra: $ht, NgayKetThucXuLy: $kt} + $x'
}
A=000.05.06.H56 B=000.02.06.H56
LV_A='{"MaLinhVuc": "G01-HT", "TenLinhVuc": "Hộ tịch"}'
LV_B='{"MaLinhVuc": "G01-CT", "TenLinhVuc": "Chứng thực"}'
{
  # A1 early: due Wed 5/3 17:00, ended Tue 4/3 -> an earlier day. Online.
  rec $A-250303-0001 10 2 20250303090000 20250305170000 20250304100000 "" "$LV_A"
  # A2 on time: ended 15:00 on the due day (12/3 17:00).
  rec $A-250310-0002 9 1 20250310080000 20250312170000 20250312150000 "" "$LV_A"
  # A3 late: due 19/3 17:00, ended 20/3 09:00.
  rec $A-250317-0003 9 1 20250317080000 20250319170000 20250320090000 "" "$LV_A"
  # A4 supplement pause -> on time: due before the round Tue 4/3 10:00;
  # requested Mon 3/3 09:00, completed 16:00 = 5 working hours paused ->
  # due Tue 17:00; ended Tue 16:00. Without the pause: late. The ward already
  # moved NgayHenTra to 17:00: counting the pause twice would make it early.
  rec $A-250303-0004 9 1 20250303080000 20250304170000 20250304160000 "" \
    "$(jq -nc --argjson lv "$LV_A" '$lv + {DanhSachHoSoBoSung: [{NgayYeuCauBoSung: "20250303090000",
       NgayTiepNhanBoSung: "20250303160000", NgayHenTraTruoc: "20250304100000",
       NgayHenTraMoi: "20250304170000"}]}')"
  # A5 second supplement request -> late, although it ended ten days early. Online.
  rec $A-250305-0005 10 2 20250305080000 20250320170000 20250310100000 "" \
    "$(jq -nc --argjson lv "$LV_A" '$lv + {DanhSachHoSoBoSung: [
       {NgayYeuCauBoSung: "20250306090000", NgayTiepNhanBoSung: "20250306100000"},
       {NgayYeuCauBoSung: "20250307090000", NgayTiepNhanBoSung: "20250307100000"}]}')"
  # A6 no due date, received after 17:00 (Mon 10/3 17:30), limit 4 working
  # hours: the clock starts Tue 07:00 -> due 11:30; ended Tue 11:00: on time
  # (4 calendar hours from 17:30 would make it late).
  rec $A-250310-0006 9 1 20250310173000 "" 20250311110000 1.000100 "$LV_A"
  # A7 no due date, compensatory Saturday: received Fri 25/4 14:00, limit 1
  # working day: 3 h Friday + 5 h on Sat 26/4 (worked) -> due Sat 14:00;
  # ended Mon 28/4 09:00: late (on time if Saturday were off).
  rec $A-250425-0007 9 1 20250425140000 "" 20250428090000 1.000101 "$LV_A"
  # A8 open at the period's end, in time (due 6/5).
  rec $A-250428-0008 4 1 20250428080000 20250506170000 "" "" "$LV_A"
  # A9 open at the period's end, overdue (due 20/4). Online.
  rec $A-250401-0009 4 2 20250401080000 20250420170000 "" "" "$LV_A"
  # A10 withdrawn after receipt: received and withdrawn.
  rec $A-250312-0010 7 1 20250312080000 "" "" "" "$LV_A"
  # A11 withdrawn before receipt (online, submitted 13/3): not counted at all.
  jq -nc --arg c $A-250313-0011 '{MaHoSo: $c, MaTTHC: "2.000908", TrangThaiHoSo: "7",
    KenhThucHien: "2", NgayNopHoSo: "20250313080000", MaLinhVuc: "G01-HT"}'
  # A12 waiting for a supplement requested 16/4 09:00: measured at the request,
  # before its due date 18/4 -> in progress (at the period's end it would be overdue).
  rec $A-250414-0012 5 1 20250414080000 20250418170000 "" "" \
    "$(jq -nc --argjson lv "$LV_A" '$lv + {DanhSachHoSoBoSung: [{NgayYeuCauBoSung: "20250416090000",
       NgayHenTraTruoc: "20250418170000"}]}')"
} | jq -s . >"$LT_TMP/a.json"
{
  # B1 received in February, resolved on time in March: resolved, not received.
  rec $B-250225-0001 10 2 20250225080000 20250305170000 20250305090000 "" "$LV_B"
  # B2 received 28/4, due 29/4, ended 5/5: open and overdue at the period's end.
  rec $B-250428-0002 9 1 20250428100000 20250429100000 20250505080000 "" "$LV_B"
  # B3 online, not yet received (status 1): received (by NgayNopHoSo) and online only.
  jq -nc --arg c $B-250320-0003 '{MaHoSo: $c, MaTTHC: "2.000908", TrangThaiHoSo: "1",
    KenhThucHien: "2", NgayNopHoSo: "20250320100000", MaLinhVuc: "G01-CT"}'
  # B4 no due date and a procedure without a time limit: on time.
  rec $B-250402-0004 9 1 20250402080000 "" 20250415100000 "" "$LV_B"
  # B5 stopped (status 8) after its due date: resolved late.
  rec $B-250401-0005 8 1 20250401080000 20250408170000 20250410100000 "" "$LV_B"
  # B6 early, online: due Fri 11/4, ended Wed 9/4.
  rec $B-250408-0006 10 2 20250408080000 20250411170000 20250409150000 "" "$LV_B"
  # B7 received in February, still open, due 1/3: overdue (open dossiers
  # count whenever they were received).
  rec $B-250220-0007 4 1 20250220080000 20250301170000 "" "" "$LV_B"
  # B8 received and resolved in February: outside the period entirely.
  rec $B-250210-0008 10 1 20250210080000 20250214170000 20250213100000 "" "$LV_B"
} | jq -s . >"$LT_TMP/b.json"

push() { # TOKEN FILE
  local out
  out=$(curl -s -m 20 -H 'Content-Type: application/json' -H "Authorization: Bearer $1" \
    --data-binary @"$2" "$(lt_url gw /v1/dossiers)")
  [ "$(jq '[.results[] | select(.result != "accepted")] | length' <<<"$out")" = 0 ] ||
    lt_fail "push $2: $out"
}
push "$T_A" "$LT_TMP/a.json"
push "$T_B" "$LT_TMP/b.json"
lt_assert_eq 20 "$(lt_psql "$LT_PG_URL" 'SELECT count(*) FROM dossiers')" "dossiers stored"

# ---- by unit: the hand computation -------------------------------------------
# 08878: received A1-A10, A12 = 11 (A11 never received); online A1 A5 A9;
#   resolved A1-A7 = 7: early A1; on time A2 A4 A6; late A3 A5 A7;
#   in progress A8 A12; overdue A9; withdrawn A10; 4/7 = 57.14 %, 4/11 = 36.36 %.
# 08872: received B2-B6 = 5; online B3 B6; resolved B1 B4 B5 B6: early B6,
#   on time B1 B4, late B5; overdue B2 B7; 3/4 = 75 %, 3/5 = 60 %.
# total: 16 5 11 2 5 4 2 3 1; 7/11 = 63.64 %, 7/16 = 43.75 %.
fig='[.key, .received, .online, .resolved, .early, .on_time, .late, .in_progress, .overdue,
      .withdrawn, .rate_of_resolved, .rate_of_received] | map(tostring) | join(" ")'
check_rows() { # JSON WHAT EXPECTED-LINES
  lt_assert_eq "$3" "$(jq -r "(.rows[] | $fig), (.total | .key = \"total\" | $fig)" <<<"$1")" "$2"
}
J=$("$lt" report --from 2025-03-01 --to 2025-04-30 --format json) || lt_fail "report json"
lt_assert_eq '2025-03-01 2025-04-30 unit' "$(jq -r '"\(.from) \(.to) \(.group)"' <<<"$J")" "header"
check_rows "$J" "report by unit" "08872 5 2 4 1 2 1 0 2 0 75 60
08878 11 3 7 1 3 3 2 1 1 57.14 36.36
total 16 5 11 2 5 4 2 3 1 63.64 43.75"

# ---- by month ------------------------------------------------------------------
# March: received A1-A6 A10 B3 = 8, online A1 A5 B3; resolved A1-A6 B1: early
#   A1, on time A2 A4 A6 B1, late A3 A5; open at 31/3: B7 overdue; withdrawn A10.
# April: received A7 A8 A9 A12 B2 B4 B5 B6 = 8, online A9 B6; resolved A7 B4 B5
#   B6: early B6, on time B4, late A7 B5; open at 30/4: A8 A12 in progress, A9
#   B2 B7 overdue. Total: the whole period, as by unit.
M=$("$lt" report --from 2025-03-01 --to 2025-04-30 --group month --json) || lt_fail "report month"
check_rows "$M" "report by month" "2025-03 8 3 7 1 4 2 0 1 1 71.43 62.5
2025-04 8 2 4 1 1 2 2 3 0 50 25
total 16 5 11 2 5 4 2 3 1 63.64 43.75"

# ---- by field, one unit's subtree -------------------------------------------------
F=$("$lt" report --from 2025-03-01 --to 2025-04-30 --group field --json) || lt_fail "report field"
check_rows "$F" "report by field" "G01-CT 5 2 4 1 2 1 0 2 0 75 60
G01-HT 11 3 7 1 3 3 2 1 1 57.14 36.36
total 16 5 11 2 5 4 2 3 1 63.64 43.75"
U=$("$lt" report --from 2025-03-01 --to 2025-04-30 --unit 08872 --json) || lt_fail "report unit"
check_rows "$U" "report of 08872" "08872 5 2 4 1 2 1 0 2 0 75 60
total 5 2 4 1 2 1 0 2 0 75 60"
# A period with nothing in it: no rows, zero totals, rates null.
E=$("$lt" report --from 2024-01-01 --to 2024-01-31 --json) || lt_fail "report empty"
lt_assert_eq '0 0 null' "$(jq -r '"\(.rows | length) \(.total.received) \(.total.rate_of_resolved)"' <<<"$E")" "empty period"

# ---- csv and table ---------------------------------------------------------------
C=$("$lt" report --from 2025-03-01 --to 2025-04-30 --format csv) || lt_fail "report csv"
lt_assert_eq "key,received,online,resolved,early,on_time,late,in_progress,overdue,withdrawn,rate_of_resolved,rate_of_received
08872,5,2,4,1,2,1,0,2,0,75.00,60.00
08878,11,3,7,1,3,3,2,1,1,57.14,36.36
total,16,5,11,2,5,4,2,3,1,63.64,43.75" "$(tr -d '\r' <<<"$C")" "csv"
lt_assert_eq 4 "$(grep -c $'\r$' <<<"$C")" "csv lines end in CRLF"
T=$("$lt" report --from 2025-03-01 --to 2025-04-30) || lt_fail "report table"
lt_assert_contains "$T" "Phường Hùng Vương" "table names the unit"
# Aligned: every line but the rule is as wide in characters as the header.
widths=$(grep -v '^-' <<<"$T" | while IFS= read -r line; do printf '%s\n' "$line" | LC_ALL=C.UTF-8 wc -m; done | sort -u | wc -l)
lt_assert_eq 1 "$widths" "table lines are aligned"

# ---- usage errors ------------------------------------------------------------------
rc=0; "$lt" report --to 2025-04-30 >/dev/null 2>&1 || rc=$?
lt_assert_eq 2 "$rc" "missing --from"
rc=0; "$lt" report --from 2025-04-30 --to 2025-03-01 >/dev/null 2>&1 || rc=$?
lt_assert_eq 2 "$rc" "period ends before it starts"
rc=0; "$lt" report --from 2025-03-01 --to 2025-04-30 --group week >/dev/null 2>&1 || rc=$?
lt_assert_eq 2 "$rc" "unknown group"

# ---- GET /v1/reports/ontime: the same answer, no token -----------------------------
out=$(lt_http_save gw "/v1/reports/ontime?from=2025-03-01&to=2025-04-30")
lt_assert_eq 200 "${out%% *}" "route status"
lt_assert_eq "$(jq -S . <<<"$J")" "$(jq -S . <<<"${out#* }")" "route = CLI (by unit)"
out=$(lt_http_save gw "/v1/reports/ontime?from=2025-03-01&to=2025-04-30&group=month")
lt_assert_eq "$(jq -S . <<<"$M")" "$(jq -S . <<<"${out#* }")" "route = CLI (by month)"
out=$(lt_http_save gw "/v1/reports/ontime?from=2025-03-01&to=2025-04-30&unit=08872")
lt_assert_eq "$(jq -S . <<<"$U")" "$(jq -S . <<<"${out#* }")" "route = CLI (unit)"
out=$(lt_http_save gw "/v1/reports/ontime?to=2025-04-30")
lt_assert_eq "400 from" "${out%% *} $(jq -r .error.field <<<"${out#* }")" "route: missing from"
out=$(lt_http_save gw "/v1/reports/ontime?from=2025-03-01&to=2025-04-30&group=week")
lt_assert_eq "400 group" "${out%% *} $(jq -r .error.field <<<"${out#* }")" "route: bad group"
out=$(lt_http_save gw "/v1/reports/ontime?from=2025-03-01&to=2025-04-30&unit=99999")
lt_assert_eq "404 not_found" "${out%% *} $(jq -r .error.code <<<"${out#* }")" "route: unknown unit"
rc=0; "$lt" report --from 2025-03-01 --to 2025-04-30 --unit 99999 >/dev/null 2>&1 || rc=$?
lt_assert_eq 1 "$rc" "CLI: unknown unit"

# ---- per-procedure due-date rules (overlays): same day, restart ------------------
# June 2025 (no holiday), by procedure; only these three procedures' rows are
# looked at (the open dossiers above show up in every later period).
# 1.000102, limit 2 working days, no NgayHenTra, both ended Mon 9/6 16:00:
#   S1 received Fri 6/6 14:59 -> due Tue 14:59 (on time); same day: Fri 17:00 (late).
#   S2 received Fri 6/6 15:01 -> due Tue 15:01 (on time); same day, after
#      15:00: next working day Mon 17:00 (on time).
# 1.000103, limit 1 working day; R1 received Mon 2/6 08:00, due Tue 08:00; a
#   supplement requested Tue 07:30 comes back Wed 09:00; ended Wed 15:00.
#   pause: 9.5 h paused -> Wed 09:30 (late); restart: the limit again from
#   Wed 09:00 -> Thu 09:00 (early: an earlier day).
# 1.000105, no limit anywhere; R2 received Mon 2/6 08:00, due Wed 4/6 08:00
#   (16 working hours); requested Wed 07:30, back Thu 09:00; ended Fri 14:00.
#   pause: 9.5 h -> Thu 09:30 (late); restart: the 16 h the dossier had, from
#   Thu 09:00 -> Mon 9/6 09:00 (early). 8 h (a wrong duration) would be late.
one_round() { jq -nc --arg q "$1" --arg d "$2" --arg b "$3" \
  '{DanhSachHoSoBoSung: [{NgayYeuCauBoSung: $q, NgayTiepNhanBoSung: $d, NgayHenTraTruoc: $b}]}'; }
{
  rec $A-250606-0101 9 1 20250606145900 "" 20250609160000 1.000102
  rec $A-250606-0102 9 1 20250606150100 "" 20250609160000 1.000102
  rec $A-250602-0103 9 1 20250602080000 20250604093000 20250604150000 1.000103 \
    "$(one_round 20250603073000 20250604090000 20250603080000)"
  rec $A-250602-0104 9 1 20250602080000 20250605093000 20250606140000 1.000105 \
    "$(one_round 20250604073000 20250605090000 20250604080000)"
} | jq -s . >"$LT_TMP/rules.json"
push "$T_A" "$LT_TMP/rules.json"
by_proc() {
  "$lt" report --from 2025-06-01 --to 2025-06-30 --group procedure --json |
    jq -r ".rows[] | select(.key | test(\"^1[.]00010[235]$\")) | $fig"
}
lt_assert_eq "1.000102 2 0 2 0 2 0 0 0 0 100 100
1.000103 1 0 1 0 0 1 0 0 0 0 0
1.000105 1 0 1 0 0 1 0 0 0 0 0" "$(by_proc)" "due-date rules: defaults (no same day, pause)"
overlay() { "$lt" catalog overlay set "$@" >/dev/null 2>&1 || lt_fail "overlay set $*"; }
overlay 1.000102 --base 1.000102 --same-day
overlay 1.000103 --base 1.000103 --supplement restart
overlay 1.000105 --base 1.000105 --supplement restart
lt_assert_eq "1.000102 2 0 2 0 1 1 0 0 0 50 50
1.000103 1 0 1 1 0 0 0 0 0 100 100
1.000105 1 0 1 1 0 0 0 0 0 100 100" "$(by_proc)" "due-date rules: same day, restart"
# ---- the end of processing is the first final state (re-opened 9 -> 4) -----------
# Procedure 1.000101 (1 working day), June 2025, both now back at status 4:
#   X1 received Tue 10/6 08:00, due Wed 11/6 17:00, decided (9) Wed 10:00,
#      re-opened Thu: resolved on time on Wed (it was overdue at the period's
#      end while the re-opening erased the end). SQL sums it.
#   X2 the same without NgayHenTra: due Wed 08:00 from the limit, decided Tue
#      15:00: resolved on time (a computed due is never early). C classifies it.
hist() { jq -nc --arg d "$1" '{QuaTrinhXuLy: [
  {TrangThai: "2", ThoiDiemXuLy: "20250610080000"}, {TrangThai: "4", ThoiDiemXuLy: "20250610090000"},
  {TrangThai: "9", ThoiDiemXuLy: $d}, {TrangThai: "4", ThoiDiemXuLy: "20250612090000"}]}'; }
{
  rec $A-250610-0105 4 1 20250610080000 20250611170000 "" 1.000101 "$(hist 20250611100000)"
  rec $A-250610-0106 4 1 20250610080000 "" "" 1.000101 "$(hist 20250610150000)"
} | jq -s . >"$LT_TMP/reopened.json"
push "$T_A" "$LT_TMP/reopened.json"
lt_assert_eq "1.000101 2 0 2 0 2 0 0 0 0 100 100" \
  "$("$lt" report --from 2025-06-01 --to 2025-06-30 --group procedure --json |
    jq -r ".rows[] | select(.key == \"1.000101\") | $fig")" "re-opened dossiers keep their first end"
# Before their end (the period 1-10 June) they were open and in time.
lt_assert_eq "1.000101 2 0 1 0 1 0 1 0 0 100 50" \
  "$("$lt" report --from 2025-06-01 --to 2025-06-10 --group procedure --json |
    jq -r ".rows[] | select(.key == \"1.000101\") | $fig")" "open before their first end"

# Back to the defaults: the report reads the overlays when it runs.
overlay 1.000102 --base 1.000102
overlay 1.000103 --base 1.000103 --supplement pause
lt_assert_eq "1.000102 2 0 2 0 2 0 0 0 0 100 100
1.000103 1 0 1 0 0 1 0 0 0 0 0
1.000105 1 0 1 1 0 0 0 0 0 100 100" "$(by_proc)" "due-date rules: reset"

lt_gw_stop gw
lt_answers_check
# Every JSON rendering is held to schemas/report.schema.json too.
for doc in J M F U E; do printf '%s\n' "${!doc}" >"$LT_TMP/report-$doc.json"; done
node "$LT_SOURCE_DIR/tests/schema/validate.js" "$LT_SOURCE_DIR/schemas/report.schema.json" \
  "$LT_TMP"/report-*.json >"$LT_TMP/report-valid.json" || lt_fail "validate.js"
lt_assert_eq 5 "$(jq '[.[] | select(.valid)] | length' "$LT_TMP/report-valid.json")" \
  "reports valid against report.schema.json: $(jq -c '[.[] | .errors] | add' "$LT_TMP/report-valid.json")"
lt_log "ok"
