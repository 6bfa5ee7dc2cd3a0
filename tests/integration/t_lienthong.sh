#!/usr/bin/env bash
# The liên thông legs end to end (gateway/lt_delivery_{parent,ward,webhook}.c)
# against four lt_simpeer processes: a district-level procedure (1.001193)
# received at ward 08707 goes up to the competent unit 243's gateway (our
# own POST /v1/dossiers, 243's bearer token from units.tokens) once 243 is
# given a URL by `units import` (the row waited unrouted) and to the portal;
# a status change pushed by 243 comes back down to 08707's callback in its
# dialect (vendor-a) and to the portal, never back up; a commune-level
# procedure (2.000908) goes to the portal only; the webhook gets one notice
# per status change, with no personal data. Every call carries the row's
# Idempotency-Key. Then the same in two-tier mode (routing.model 2-tier, a
# fresh database with deploy/units/example-2tier.json): commune 08866
# receives a province-level procedure, competent unit 25.
source "$(dirname "$0")/lib.sh"

EX=$LT_SOURCE_DIR/schemas/examples/valid/02-duoc-tiep-nhan-truc-tiep.json

lt_pg_start pg
lt_ingest_fixture
lt=$LIENTHONG_BIN
ward=$("$lt" token create --unit 08707 --role ward | tail -n 1)
district=$("$lt" token create --unit 243 --role parent | tail -n 1)
q() { lt_psql "$LT_PG_URL" "$1"; }

lt_portal_sim_start portal
lt_sim_start parent parent --token sesame-parent
lt_sim_start ward ward
lt_sim_start webhook webhook

GW_ENV=("${LT_PORTAL_ENV[@]}" LIENTHONG_UNITS_TIMEOUT=5s
  LIENTHONG_UNITS_TOKENS="99999=wrong,243=sesame-parent,25=sesame-parent"
  LIENTHONG_WEBHOOK_URL="http://127.0.0.1:${LT_SIM_PORT[webhook]}/notify" LIENTHONG_LOG_LEVEL=debug)
lt_gw_start gw "${GW_ENV[@]}"
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"
lt_wait 30 grep -q 'registered as gateway instance' "$LT_TMP/gw.log" ||
  lt_fail "the delivery actor did not start"

# rec CODE PROC STATUS STEP: a record of dossier CODE at history step STEP.
rec() {
  jq --arg c "$1" --arg p "$2" --arg s "$3" --argjson n "$4" '
    .MaHoSo = $c | .MaTTHC = $p | .TrangThaiHoSo = $s | .NgayTiepNhan = "20250101080000"
    | .NgayNopHoSo = "20250101073000" | .NgayHenTra = "20250110170000"
    | .QuaTrinhXuLy = [range(0; $n) as $i | .QuaTrinhXuLy[0] | .MaHoSo = $c
        | .ThoiDiemXuLy = "2025010\(1 + $i)090000" | .NgayBatDau = "20250101083000"
        | .TrangThai = (if $i == 0 then "2" else $s end)]' "$EX"
}
push() { # TOKEN JSON
  local out
  out=$(curl -s -m 10 -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $1" \
    --data-binary "$2" "$(lt_url "${GW:-gw}" /v1/dossiers)")
  [ "$(jq -r '[.results[].result] | unique | join(",")' <<<"$out")" = accepted ] ||
    lt_fail "push not accepted: $out"
}
open_rows() { q "SELECT count(*) FROM outbox WHERE state IN ('pending','inflight','retrying')"; }
routed() { [ "$(q "SELECT last_seq FROM delivery_router")" = "$(q "SELECT coalesce(max(seq), 0) FROM dossier_events")" ]; }
settled() { routed && [ "$(open_rows)" = 0 ]; }
states() { # DOSSIER DEST: the states of its rows in event order
  q "SELECT string_agg(state, ' ' ORDER BY event_seq) FROM outbox WHERE dossier_code = '$1' AND destination = '$2'"
}
# The dossiers a simulator applied, "MaHoSo key" per record in arrival order.
seen() { lt_sim_view "$1" /_records | jq -r '.records[] | "\(.MaHoSo) \(.idempotency_key)"'; }

# scenario TAG TREE WARD UP WARD_TOKEN UP_TOKEN PROC_UP D1 D2: in the example
# tree TREE, ward WARD receives a commune-level dossier D1 and a dossier D2 of
# procedure PROC_UP implemented by UP above it.
scenario() {
  local tag=$1 tree=$2 wu=$3 up=$4 ward=$5 district=$6 proc=$7 D1=$8 D2=$9
  lt_log "$tag: commune-level $D1, $D2 of $proc competent at $up (without a URL yet)"
  push "$ward" "$(rec "$D1" 2.000908 2 1)"
  push "$ward" "$(rec "$D2" "$proc" 2 1)"
  lt_assert_eq "$wu|$up" "$(q "SELECT receiving_unit, competent_unit FROM dossiers WHERE code = '$D2'")" "$tag: D2's units"
  lt_wait 30 eval 'routed && [ "$(states '"$D2"' portal)" = delivered ]' ||
    lt_fail "$tag: D2 not delivered to the portal: $(states "$D2" portal)"
  lt_assert_eq "unrouted" "$(states "$D2" unit:$up)" "$tag: the liên thông leg waits without a URL"
  lt_assert_eq "" "$(q "SELECT string_agg(destination, ' ') FROM outbox WHERE dossier_code = '$D1' AND destination NOT IN ('portal', 'webhook')")" \
    "$tag: the commune-level dossier goes to the portal (and webhook) only"

  lt_log "$tag: units import gives $up a URL and $wu a callback"
  jq --arg up "$up" --arg wu "$wu" --arg pu "http://127.0.0.1:${LT_SIM_PORT[parent]}/" \
    --arg wurl "http://127.0.0.1:${LT_SIM_PORT[ward]}/cb" \
    'map(del(.url) | if .code == $up then .url = $pu elif .code == $wu then .url = $wurl | .dialect = "vendor-a" else . end)' \
    "$tree" >"$LT_TMP/units-$tag.json"
  "$lt" units import "$LT_TMP/units-$tag.json" >/dev/null || lt_fail "units import"
  lt_wait 30 eval '[ "$(states '"$D2"' unit:$up)" = delivered ]' ||
    lt_fail "$tag: D2 did not reach $up: $(states "$D2" unit:$up)"
  local key2
  key2=$(q "SELECT idempotency_key FROM outbox WHERE dossier_code = '$D2' AND destination = 'unit:$up'")
  lt_assert_eq "$D2 $key2" "$(seen parent | grep -F "$D2")" "$tag: $up's gateway applied D2 once, under its key"
  lt_assert_eq "Bearer sesame-parent application/json" \
    "$(lt_sim_view parent /_received | jq -r --arg c "$D2" '[.calls[] | select(.MaHoSo | index($c))][0] | "\(.authorization) \(.content_type)"')" \
    "$tag: with $up's token"
  lt_assert_eq "" "$(seen parent | grep -F "$D1")" "$tag: the commune-level dossier never goes up"

  lt_log "$tag: $up moves D2 on; the change comes back down to $wu and to the portal"
  push "$district" "$(rec "$D2" "$proc" 4 2)"
  lt_wait 30 settled || lt_fail "$tag: not settled: $(open_rows) open"
  local seq
  seq=$(q "SELECT max(seq) FROM dossier_events WHERE dossier_code = '$D2'")
  lt_assert_eq "portal ward:$wu webhook" \
    "$(q "SELECT string_agg(destination, ' ' ORDER BY destination) FROM outbox WHERE event_seq = $seq")" \
    "$tag: $up's change goes to the ward, the portal and the webhook, not back up"
  lt_assert_eq "delivered" "$(states "$D2" ward:$wu)" "$tag: delivered to the ward"
  # The ward got its own dialect: vendor-a's camelCase, status as a word.
  local body
  body=$(lt_sim_view ward /_received | jq -c --arg k "lt-$seq" '[.calls[] | select(.idempotency_key == $k)][0]')
  lt_assert_eq "/cb $D2 null" "$(jq -r '"\(.path) \(.body.maHoSo) \(.body.MaHoSo)"' <<<"$body")" \
    "$tag: the ward callback got the record in vendor-a, under key lt-$seq"
  lt_assert_eq "lt-$seq" "$(lt_sim_view portal /_records | jq -r --arg c "$D2" '[.records[] | select(.MaHoSo == $c and .service == "DongBoHoSoMC")] | last | .idempotency_key')" \
    "$tag: the portal has $up's change"
  lt_assert_eq "4" "$(lt_sim_view portal /_latest | jq -r --arg c "$D2" '.[$c].TrangThaiHoSo')" "$tag: the portal's latest status"

  lt_assert_eq "$D2 $key2" "$(seen parent | grep -F "$D2")" "$tag: $up's own change never goes back up"
  lt_log "$tag: the webhook: one notice per status change, no personal data"
  lt_sim_view webhook /_received >"$LT_TMP/hook-$tag.json"
  lt_assert_eq "$D1:2 $D2:2 $D2:4" \
    "$(jq -r --arg a "$D1" --arg b "$D2" '[.calls[] | .body | select(.MaHoSo == $a or .MaHoSo == $b) | "\(.MaHoSo):\(.TrangThaiHoSo)"] | join(" ")' "$LT_TMP/hook-$tag.json")" \
    "$tag: a notice per status change"
  lt_assert_eq "DonViXuLy MaHoSo MaTTHC TrangThaiHoSo sequence" \
    "$(jq -r '[.calls[].body | keys[]] | unique | join(" ")' "$LT_TMP/hook-$tag.json")" \
    "$tag: the notice holds only these fields"
  for pii in "$(jq -r .ChuHoSo "$EX")" "$(jq -r .SoDienThoai "$EX")" "$(jq -r .SoGiayToChuHoSo "$EX")"; do
    if [ -n "$pii" ] && grep -qF "$pii" "$LT_TMP/hook-$tag.json"; then lt_fail "$tag: personal data in a webhook notice"; fi
  done
  lt_assert_eq "" "$(jq -r '.calls[] | select((.idempotency_key // "") | test("^lt-[0-9]+$") | not) | .n' "$LT_TMP/hook-$tag.json")" \
    "$tag: every notice carries its row's key"
}

T3=$LT_SOURCE_DIR/deploy/units/example-3tier.json
scenario 3tier "$T3" 08707 243 "$ward" "$district" 1.001193 \
  000.01.22.H56-250101-0001 000.01.22.H56-250101-0002

# The liên thông leg judged by our contract: 503 is retried under the same
# key until it goes through; a 422 refusal is a dead letter with the answer,
# and the next dossier still flows.
ctl() { curl -sf -m 5 -X POST "http://127.0.0.1:${LT_SIM_CTL[$1]}/_control" -d "$2" >/dev/null || lt_fail "control $1 $2"; }
lt_log "3tier: the district's gateway answers 503 twice, then 422 once"
# Pushed by ward 08710 (08707 now speaks vendor-a).
ward10=$("$lt" token create --unit 08710 --role ward | tail -n 1)
D3=000.02.22.H56-250101-0003 D4=000.02.22.H56-250101-0004 D5=000.02.22.H56-250101-0005
ctl parent '{"status": 503, "for_calls": 2}'
push "$ward10" "$(rec $D3 1.001193 2 1)"
lt_wait 30 eval '[ "$(states '"$D3"' unit:243)" = delivered ]' || lt_fail "D3 not delivered after 503s: $(states $D3 unit:243)"
lt_assert_eq "2" "$(q "SELECT attempts FROM outbox WHERE dossier_code = '$D3' AND destination = 'unit:243'")" "two failed attempts recorded"
k3=$(q "SELECT idempotency_key FROM outbox WHERE dossier_code = '$D3' AND destination = 'unit:243'")
lt_assert_eq "$k3 $k3 $k3" "$(lt_sim_view parent /_received | jq -r --arg c "$D3" '[.calls[] | select(.MaHoSo | index($c)) | .idempotency_key] | join(" ")')" \
  "every attempt under the same key"
ctl parent '{"status": 422, "for_calls": 1}'
push "$ward10" "$(rec $D4 1.001193 2 1)"
lt_wait 30 eval '[ "$(states '"$D4"' unit:243)" = dead ]' || lt_fail "D4 not dead after a 422: $(states $D4 unit:243)"
lt_assert_eq "422 true" "$(q "SELECT last_status || ' ' || (answer IS NOT NULL AND answer <> '') FROM outbox WHERE dossier_code = '$D4' AND destination = 'unit:243'")" \
  "the dead letter keeps the status and the answer"
push "$ward10" "$(rec $D5 1.001193 2 1)"
lt_wait 30 eval '[ "$(states '"$D5"' unit:243)" = delivered ]' || lt_fail "D5 held up: $(states $D5 unit:243)"

# Two-tier (commune -> province since 2025-07-01): commune 08866 of the
# example tree receives a province-level procedure, competent unit 25.
lt_log "two-tier mode"
lt_gw_stop gw
# A fresh database: the two example trees share agency ids.
lt_pg_stop pg
lt_pg_start pg2
T2=$LT_SOURCE_DIR/deploy/units/example-2tier.json
jq 'map(del(.url, .dialect))' "$T2" >"$LT_TMP/units2-bare.json"
export LIENTHONG_DATABASE_URL=$LT_PG_URL
"$lt" migrate >/dev/null 2>&1 || lt_fail "migrate (2-tier)"
out=$("$lt" units import "$LT_TMP/units2-bare.json" 2>&1) || lt_fail "units import 2-tier: $out"
jq '. + [{"MATTHC": "1.000100", "TENTTHC": "Thủ tục cấp tỉnh", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "1"}]}]' \
  "$LT_TMP/fixture-catalog.json" >"$LT_TMP/catalog2.json"
"$lt" catalog sync --file "$LT_TMP/catalog2.json" >/dev/null 2>&1 || lt_fail "catalog sync"
ward2=$("$lt" token create --unit 08866 --role ward | tail -n 1)
province=$("$lt" token create --unit 25 --role parent | tail -n 1)
GW=gw2
lt_gw_start gw2 "${GW_ENV[@]}" LIENTHONG_ROUTING_MODEL=2-tier
lt_wait 30 status_is gw2 /readyz 200 || lt_fail "gateway not ready (2-tier)"
scenario 2tier "$T2" 08866 25 "$ward2" "$province" 1.000100 \
  000.06.00.H56-250101-0001 000.06.00.H56-250101-0002

if grep -q sesame-parent "$LT_TMP"/gw*.log; then lt_fail "a unit's token reached a log"; fi
lt_log "ok"
