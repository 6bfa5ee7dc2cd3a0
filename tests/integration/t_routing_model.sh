#!/usr/bin/env bash
# routing.model (gateway/lt_wbatch.c competent_of): which unit is competent
# for a procedure the catalog lists at district level (1.001193), received
# at a commune, under each model and unit tree:
#   - three-tier tree (example-3tier.json, ward 08707 under district 243):
#     auto and 3-tier walk up to the district, 243, and the router makes a
#     liên thông row unit:243; 2-tier forced on that tree keeps it at the
#     commune (no district in the two-tier model), no liên thông row;
#   - two-tier tree (example-2tier.json, commune 08866 under province 25):
#     auto and 2-tier keep it at the commune (the 2025 reform gave district
#     tasks to communes), while a province-level procedure still goes up to
#     25; 3-tier forced on it finds no district: accepted, competent unit
#     unknown, no liên thông row.
# A commune-level procedure stays at the commune in every case.
source "$(dirname "$0")/lib.sh"

EX=$LT_SOURCE_DIR/schemas/examples/valid/02-duoc-tiep-nhan-truc-tiep.json
lt=$LIENTHONG_BIN
q() { lt_psql "$LT_PG_URL" "$1"; }

# rec CODE PROC: a received dossier (status 2) of procedure PROC.
rec() {
  jq --arg c "$1" --arg p "$2" '.MaHoSo = $c | .MaTTHC = $p | .TrangThaiHoSo = "2"
    | .NgayTiepNhan = "20250801080000" | .NgayNopHoSo = "20250801073000" | .NgayHenTra = "20250810170000"
    | .QuaTrinhXuLy = [.QuaTrinhXuLy[0] | .MaHoSo = $c | .ThoiDiemXuLy = "20250801090000"
        | .NgayBatDau = "20250801083000" | .TrangThai = "2"]' "$EX"
}
push() { # GW TOKEN JSON
  local out
  out=$(curl -s -m 10 -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $2" \
    --data-binary "$3" "$(lt_url "$1" /v1/dossiers)")
  lt_assert_eq accepted "$(jq -r '[.results[].result] | unique | join(",")' <<<"$out")" "push: $out"
}
# expect CODE RECEIVING COMPETENT LEGS WHAT: the stored units of dossier CODE
# ("" = unknown) and its outbox destinations after routing (the router runs
# from SQL: no destination is configured, so no gateway routes by itself).
expect() {
  q "SELECT lt_route_events(1000)" >/dev/null
  lt_assert_eq "$2|$3" "$(q "SELECT receiving_unit, coalesce(competent_unit, '') FROM dossiers WHERE code = '$1'")" \
    "$5: receiving and competent units"
  lt_assert_eq "$4" "$(q "SELECT coalesce(string_agg(destination || '=' || state, ' ' ORDER BY destination), '') FROM outbox WHERE dossier_code = '$1'")" \
    "$5: outbox rows"
}
# run_model NAME MODEL WARD_TOKEN AGENCY N: starts a gateway with routing.model
# MODEL and pushes dossiers N1 (district-level), N2 (commune-level) and N3
# (province-level), coded under AGENCY.
run_model() {
  local name=$1 model=$2 token=$3 agency=$4 n=$5
  lt_gw_start "$name" LIENTHONG_ROUTING_MODEL="$model"
  lt_wait 30 status_is "$name" /readyz 200 || lt_fail "$name: gateway not ready"
  push "$name" "$token" "$(rec "$agency-250801-${n}1" 1.001193)"
  push "$name" "$token" "$(rec "$agency-250801-${n}2" 2.000908)"
  push "$name" "$token" "$(rec "$agency-250801-${n}3" 1.000100)"
  lt_gw_stop "$name"
}

# cases TREE WARD_TOKEN AGENCY RECEIVING, a table on descriptor 3 of
# "GATEWAY MODEL N COMPETENT LEGS WHAT" ("-" = empty): one run_model per
# GATEWAY (its first row's N without the last digit), then expect for each
# row's dossier AGENCY-250801-N.
cases() {
  local tree=$1 token=$2 agency=$3 unit=$4 name model n competent legs what last= rows=0
  while read -r name model n competent legs what <&3; do
    rows=$((rows + 1))
    [ "$name" = "$last" ] || run_model "$name" "$model" "$token" "$agency" "${n%?}"
    last=$name
    [ "$competent" = - ] && competent=
    [ "$legs" = - ] && legs=
    expect "$agency-250801-$n" "$unit" "$competent" "$legs" "$tree, $model: $what"
  done
  [ "$rows" -gt 0 ] || lt_fail "$tree: no cases read"
}

lt_pg_start pg3
# Units without system addresses: every liên thông row waits unrouted.
jq 'map(del(.url, .dialect))' "$LT_SOURCE_DIR/deploy/units/example-3tier.json" >"$LT_TMP/units3.json"
UNITS_FILE=$LT_TMP/units3.json lt_ingest_fixture
# A province-level procedure beside the fixture's commune- and district-level ones.
jq '. + [{"MATTHC": "1.000100", "TENTTHC": "Thủ tục cấp tỉnh", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "1"}]}]' \
  "$LT_TMP/fixture-catalog.json" >"$LT_TMP/catalog.json"
"$lt" catalog sync --file "$LT_TMP/catalog.json" >/dev/null 2>&1 || lt_fail "catalog sync"
ward=$("$lt" token create --unit 08707 --role ward | tail -n 1)
A=000.01.22.H56

lt_log "three-tier tree"
cases "3-tier tree" "$ward" $A 08707 3<<'CASES'
auto3  auto   1001 243   unit:243=unrouted  district-level
auto3  auto   1002 08707 -                  commune-level
auto3  auto   1003 26    unit:26=unrouted   province-level
three3 3-tier 2001 243   unit:243=unrouted  district-level
three3 3-tier 2002 08707 -                  commune-level
two3   2-tier 3001 08707 -                  district-level stays at the commune
two3   2-tier 3002 08707 -                  commune-level
two3   2-tier 3003 26    unit:26=unrouted   province-level
CASES

lt_log "two-tier tree"
# A fresh database: the two example trees share agency ids.
lt_pg_stop pg3
lt_pg_start pg2
export LIENTHONG_DATABASE_URL=$LT_PG_URL
"$lt" migrate >/dev/null 2>&1 || lt_fail "migrate (2-tier)"
jq 'map(del(.url, .dialect))' "$LT_SOURCE_DIR/deploy/units/example-2tier.json" >"$LT_TMP/units2.json"
out=$("$lt" units import "$LT_TMP/units2.json" 2>&1) || lt_fail "units import 2-tier: $out"
"$lt" catalog sync --file "$LT_TMP/catalog.json" >/dev/null 2>&1 || lt_fail "catalog sync (2-tier)"
lt_assert_eq 0 "$(q "SELECT count(*) FROM units WHERE level = 2")" "the two-tier tree has no district"
ward=$("$lt" token create --unit 08866 --role ward | tail -n 1)
B=000.06.00.H56
cases "2-tier tree" "$ward" $B 08866 3<<'CASES'
auto2  auto   4001 08866 -                  district-level stays at the commune
auto2  auto   4002 08866 -                  commune-level
auto2  auto   4003 25    unit:25=unrouted   province-level goes up
two2   2-tier 5001 08866 -                  district-level stays at the commune
two2   2-tier 5003 25    unit:25=unrouted   province-level goes up
three2 3-tier 6001 -     -                  no district to find, no liên thông leg
three2 3-tier 6003 25    unit:25=unrouted   province-level goes up
CASES
lt_log "ok"
