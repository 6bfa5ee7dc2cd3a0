#!/usr/bin/env bash
# `lienthong catalog sync` from the national catalog API (catalog.url) against
# tests/sim/lt_simcatalog on loopback: 500 procedures with 20 ms latency per
# call, concurrency proven from the simulator's own log (requests in flight at
# once), never from elapsed time; each fault in turn (a 500 that persists, a
# dropped connection, an answer that never comes, a malformed record) fails
# the whole sync with the code named, leaves the catalog unchanged and records
# the failed run; a fault that happens once is retried away; a re-sync skips
# unchanged procedures by NGAYCAPNHAT and a 1% changed upstream changes
# exactly those; the periodic sync in serve.
source "$(dirname "$0")/lib.sh"

sim=${LT_SIMCATALOG:?LT_SIMCATALOG must name tests/sim lt_simcatalog}
lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
# Fast retries and timeouts: the faults below exercise them.
export LIENTHONG_CATALOG_RETRIES=2 LIENTHONG_CATALOG_RETRY_DELAY=50ms
export LIENTHONG_CATALOG_TIMEOUT=2s LIENTHONG_CATALOG_CONCURRENCY=16
q() { lt_psql "$LT_PG_URL" "$1"; }
checksum() {
  q "SELECT count(*) || ':' || md5(coalesce(string_agg(code || encode(content_hash, 'hex')
       || coalesce(abolished_at::text, '-') || catalog_version, ',' ORDER BY code), ''))
     FROM procedures"
}
state() { echo "$(checksum) $(q "SELECT count(*) FROM dossier_events") $(q "SELECT count(*) FROM catalog_versions")"; }

# sim_start NAME ARGS...: starts the simulator, records its PID, sets SIM_URL.
declare -A SIM_PID
sim_start() {
  local name=$1; shift
  "$sim" --count 500 --max-seconds 200 "$@" >"$LT_TMP/$name.out" 2>"$LT_TMP/$name.log" &
  LT_PIDS+=("$!")
  SIM_PID[$name]=$!
  lt_wait 20 grep -q '"port"' "$LT_TMP/$name.out" || lt_fail "simulator $name did not start"
  SIM_URL="http://127.0.0.1:$(grep -o '"port": [0-9]*' "$LT_TMP/$name.out" | grep -o '[0-9]*$')"
  export LIENTHONG_CATALOG_URL=$SIM_URL
}
sim_stop() {
  kill "${SIM_PID[$1]}" 2>/dev/null || true
  wait "${SIM_PID[$1]}" 2>/dev/null || true
}
detail_calls() { grep -c '"path":"/LayThuTuc"' "$LT_TMP/$1.log" || true; }
sync_json() { # [ARGS]: the --json result; fails unless exit 0
  "$LIENTHONG_BIN" catalog sync --json "$@" 2>>"$LT_TMP/sync.log" || lt_fail "catalog sync failed"
}

# ---- 1. 500 procedures over the protocol, concurrently ----------------------
sim_start base --latency-ms 20
out=$(sync_json)
lt_assert_eq "500 0 0 0" "$(jq -r '"\(.added) \(.changed) \(.abolished) \(.unchanged)"' <<<"$out")" "first API sync counts"
lt_assert_eq "500 500 0" "$(jq -r '"\(.api.listed) \(.api.fetched) \(.api.skipped)"' <<<"$out")" "first API sync calls"
lt_assert_eq 500 "$(detail_calls base)" "detail calls seen by the simulator"
lt_assert_eq 500 "$(q "SELECT count(*) FROM procedures WHERE record->>'NGAYCAPNHAT' = '20250701080000'")" "stored records"
lt_assert_eq "ok|$SIM_URL" "$(q "SELECT outcome, source FROM catalog_sync_runs ORDER BY id DESC LIMIT 1")" "run row"
# Concurrency from the simulator's own count of requests it was answering at once.
maxfl=$(jq -s '[.[] | select(.path == "/LayThuTuc") | .in_flight] | max' "$LT_TMP/base.log")
[ "$maxfl" -gt 1 ] || lt_fail "detail calls never overlapped (max in flight $maxfl)"
[ "$maxfl" -le 16 ] || lt_fail "more than catalog.concurrency calls in flight ($maxfl)"
# Events follow the list's order, not the network's.
lt_assert_eq "$(curl -s "$SIM_URL/LayDanhSachTTHC" | jq -r '.data[].MATTHC')" \
  "$(q "SELECT procedure_code FROM dossier_events WHERE kind = 'catalog' ORDER BY seq")" "event order"

# ---- 2. the same upstream again: nothing fetched, nothing changed -------------
n0=$(detail_calls base)
out=$(sync_json)
lt_assert_eq "0 0 0 500" "$(jq -r '"\(.added) \(.changed) \(.abolished) \(.unchanged)"' <<<"$out")" "unchanged API re-sync"
lt_assert_eq "0 500" "$(jq -r '"\(.api.fetched) \(.api.skipped)"' <<<"$out")" "unchanged: detail calls skipped"
lt_assert_eq "$n0" "$(detail_calls base)" "no detail call for unchanged procedures"
# --full fetches everything, still nothing changes.
out=$(sync_json --full)
lt_assert_eq "500 0 0 500" "$(jq -r '"\(.api.fetched) \(.api.skipped) \(.changed) \(.unchanged)"' <<<"$out")" "--full re-sync"
sim_stop base

# ---- 3. faults: the whole sync fails, names the code, changes nothing --------
before=$(state)
refused() { # NAME NEEDLE...: sync exits 1, message names each needle, nothing changes
  local name=$1 rc=0 out; shift
  out=$("$LIENTHONG_BIN" catalog sync --full 2>&1) || rc=$?
  lt_assert_eq 1 "$rc" "exit status with fault $name"
  for n in "$@"; do lt_assert_contains "$out" "$n" "message with fault $name"; done
  lt_assert_contains "$out" "nothing was changed" "message with fault $name"
  lt_assert_eq "$before" "$(state)" "catalog after fault $name"
  lt_assert_eq "failed" "$(q "SELECT outcome FROM catalog_sync_runs ORDER BY id DESC LIMIT 1")" "run after fault $name"
  for n in "$@"; do
    lt_assert_contains "$(q "SELECT error FROM catalog_sync_runs ORDER BY id DESC LIMIT 1")" "$n" "recorded reason for $name"
  done
}
fault_code() { jq -r "select(.fault == \"$2\") | .code" "$LT_TMP/$1.log" | head -1; }

sim_start f500 --fault-500-at 37 --fault-always
refused f500 "failed all 3 times: HTTP 500" "LayThuTuc?maTTHC="
code=$(fault_code f500 500)
lt_assert_contains "$(q "SELECT error || ' ' || error_position FROM catalog_sync_runs ORDER BY id DESC LIMIT 1")" \
  "LayThuTuc?maTTHC=$code" "the failing code is recorded"
lt_assert_eq 3 "$(jq -r "select(.code == \"$code\" and .fault == \"500\") | .n" "$LT_TMP/f500.log" | wc -l)" "calls of the failing code (1 + 2 retries)"
sim_stop f500

sim_start fdrop --fault-drop-at 5 --fault-always
refused fdrop "LayThuTuc?maTTHC=$(fault_code fdrop drop | head -1)" "failed all 3 times"
sim_stop fdrop

sim_start ftime --fault-timeout-at 200 --fault-always
refused ftime "LayThuTuc?maTTHC=$(fault_code ftime timeout)" "timed out"
sim_stop ftime

# The code of list position 123, from a simulator without faults.
sim_start list
bad=$(curl -s "$SIM_URL/LayDanhSachTTHC" | jq -r '.data[123].MATTHC')
sim_stop list
sim_start fbad --fault-malformed "$bad"
refused fbad "LayThuTuc?maTTHC=$bad" "CAPTHUCHIEN[0].CAPTHUCHIEN" 'got "7"'
lt_assert_eq "[123].CAPTHUCHIEN[0].CAPTHUCHIEN" \
  "$(q "SELECT error_position FROM catalog_sync_runs ORDER BY id DESC LIMIT 1")" "position of the malformed record"
sim_stop fbad

# ---- 4. a fault that happens once is retried away -------------------------------
sim_start once --fault-500-at 3 --fault-drop-at 9
out=$(sync_json --full)
lt_assert_eq "500 0 500" "$(jq -r '"\(.api.fetched) \(.changed) \(.unchanged)"' <<<"$out")" "sync after retried faults"
# Both faults happened; the 500 is retried by us. (A dropped connection that
# libcurl had reused may be retried by libcurl itself, so it is not counted.)
lt_assert_eq "500 drop" "$(jq -r 'select(.fault != null) | .fault' "$LT_TMP/once.log" | tr '\n' ' ' | sed 's/ $//')" "faults served once"
[ "$(jq -r '.api.retried' <<<"$out")" -ge 1 ] || lt_fail "the 500 was not retried: $out"
lt_assert_eq "$before" "$(state)" "nothing changed by a clean re-sync"
sim_stop once

# ---- 5. a later run with 1% changed: exactly those ------------------------------
sim_start changed --changed 1 --list "$LT_TMP/changed.list"
want=$(awk '$1 == "changed" {print $2}' "$LT_TMP/changed.list" | LC_ALL=C sort)
lt_assert_eq 5 "$(wc -l <<<"$want")" "simulator: changed records"
out=$(sync_json)
lt_assert_eq "0 5 0 495" "$(jq -r '"\(.added) \(.changed) \(.abolished) \(.unchanged)"' <<<"$out")" "1% changed counts"
lt_assert_eq "5 495" "$(jq -r '"\(.api.fetched) \(.api.skipped)"' <<<"$out")" "only the changed were fetched"
lt_assert_eq "$want" "$(jq -r 'select(.path == "/LayThuTuc") | .code' "$LT_TMP/changed.log" | LC_ALL=C sort)" "the detail calls made"
lt_assert_eq "$want" "$(q "SELECT procedure_code FROM dossier_events WHERE seq > $(jq -r '.first_seq - 1' <<<"$out")" | LC_ALL=C sort)" \
  "one event per changed procedure"
sim_stop changed

# ---- 6. serve syncs periodically, one process at a time ------------------------
# Another process holds the catalog lock: the gateway's round is skipped, and
# the next round (catalog.interval later) syncs.
sim_start periodic --changed 2 --change-seed 11 --list "$LT_TMP/periodic.list"
psql "$LT_PG_URL" -qAt -c "SELECT pg_advisory_lock(1818846574, 6513012)" -c "SELECT pg_sleep(60)" \
  >/dev/null 2>&1 &
LT_PIDS+=("$!")
holder=$!
lock_held() { [ "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" -gt 0 ]; }
lt_wait 20 lock_held || lt_fail "the test could not take the catalog lock"
runs0=$(q "SELECT count(*) FROM catalog_sync_runs")
lt_gw_start gw LIENTHONG_CATALOG_INTERVAL=3s
lt_wait 30 grep -q "another process is syncing the catalog; skipping this round" "$LT_TMP/gw.log" ||
  lt_fail "the gateway did not skip its round while the lock was held"
lt_assert_eq "$runs0" "$(q "SELECT count(*) FROM catalog_sync_runs")" "no run while another holds the lock"
# The holder's backend sleeps on after its client is gone: end it.
q "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
     AND classid = 1818846574 AND objid = 6513012" >/dev/null
wait "$holder" 2>/dev/null || true
lt_wait 60 grep -q '"msg":"catalog sync done"' "$LT_TMP/gw.log" || lt_fail "the gateway did not sync"
# Changed now: the 2% this simulator changes, and the 1% of section 5 back
# to their original content (those two sets may overlap).
now=$(awk '$1 == "changed" {print $2}' "$LT_TMP/periodic.list" | LC_ALL=C sort)
expect=$(LC_ALL=C comm -3 <(echo "$want") <(echo "$now") | tr -d '\t' | grep -c . || true)
lt_assert_eq "ok $expect" "$(q "SELECT outcome || ' ' || changed FROM catalog_sync_runs WHERE id > 0 ORDER BY id LIMIT 1 OFFSET $runs0")" \
  "the gateway's round applied the 2% change"
lt_gw_stop gw

lt_check_sanitizer "$LT_TMP/sync.log"
lt_log "ok"
