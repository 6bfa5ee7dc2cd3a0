#!/usr/bin/env bash
# The newcomer's path (issue 11): ./deploy/quickstart.sh --once builds, runs
# the simulated working day and exits 0; its figures agree with what the
# simulators recorded: the portal has every dossier the wards got accepted
# (in its final status), the district office every district-level one, the
# wards' receivers the district's decisions; the report's received count is
# what the wards sent minus what was refused; every link is up with nothing
# waiting. A second run reuses the database and the catalog and plays
# another day (no duplicate). The interactive run stopped with Ctrl-C leaves
# no process behind.
LT_TEST_TIMEOUT=${LT_TEST_TIMEOUT:-540} # three days and a Release build (ctest TIMEOUT 600)
source "$(dirname "$0")/lib.sh"

# quickstart.sh builds and runs its own Release tree whatever build ctest
# runs from: under the sanitizer build it would test the same thing again.
if grep -q '^LIENTHONG_SANITIZE:BOOL=ON' "${LT_BUILD_DIR:-.}/CMakeCache.txt" 2>/dev/null; then
  lt_log "skipped in the sanitizer build (quickstart.sh builds Release)"
  exit 77
fi

data="$LT_TMP/demo"
export LIENTHONG_DATA_DIR="$data" LIENTHONG_HTTP_LISTEN=127.0.0.1:0
export LIENTHONG_ZMQ_EVENTS="tcp://127.0.0.1:*" LIENTHONG_ZMQ_REPLAY="tcp://127.0.0.1:*"
export LIENTHONG_ZMQ_INGRESS="tcp://127.0.0.1:*"
export LT_DEMO_PACE=0

check_run() { # check_run N: the figures of run N against its simulators
  local d="$data/demo/run-$1"
  local sent rejected dossiers
  sent=$(jq .wards_sent "$d/summary.json")
  rejected=$(jq .rejected "$d/summary.json")
  dossiers=$(jq .dossiers "$d/summary.json")
  [ "$sent" -gt 100 ] || lt_fail "run $1: only $sent dossiers sent"
  [ "$rejected" -gt 0 ] || lt_fail "run $1: no bad record was refused"
  lt_assert_eq 0 "$(jq '.results.duplicate // 0' "$d/summary.json")" "run $1: duplicates"
  lt_assert_eq 0 "$(jq '.results.stale // 0' "$d/summary.json")" "run $1: stale records"
  lt_assert_eq $((sent - rejected)) "$dossiers" "run $1: dossiers stored"
  # The portal has every stored dossier, in the status of its last record.
  jq -s '[.[] | select(.result == "accepted")] | group_by(.MaHoSo) | map({(.[0].MaHoSo): 1}) | add
         | keys' "$d/sent.jsonl" >"$d/t-accepted.json"
  lt_assert_eq "$(jq -c . "$d/t-accepted.json")" "$(jq -c 'keys' "$d/portal.latest.json")" \
    "run $1: the portal's dossiers"
  local finals
  finals=$(cat "$d"/day-*.jsonl "$d"/up-*.jsonl | jq -s '[.[] | select(.last)] | length')
  lt_assert_eq "$dossiers" "$finals" "run $1: every dossier has a closing record"
  # The district office got every district-level dossier the wards had accepted.
  lt_assert_eq "$(cat "$d"/up-*.jsonl | jq -s '[.[] | select(.first) | .MaHoSo] | unique | length')" \
    "$(jq 'length' "$d/district.latest.json")" "run $1: dossiers at the district"
  # The wards' receivers got results back down: every dossier the district
  # moved, in its last status (the canonical wards; vendor A's callbacks
  # carry maHoSo, which the receiver does not read as a code, so for that
  # ward only the arrival is checked).
  jq -s '[.[] | select(.who == "244") | .MaHoSo | select(startswith("000.01.06.") | not)]
         | unique' "$d/sent.jsonl" >"$d/t-moved.json"
  [ "$(jq length "$d/t-moved.json")" -gt 0 ] || lt_fail "run $1: the district sent nothing"
  lt_assert_eq "$(jq -c . "$d/t-moved.json")" "$(jq -c 'del(.null) | keys' "$d/wards.latest.json")" \
    "run $1: dossiers whose results came back down"
  cat "$d"/up-*.jsonl | jq -s 'map(select(.last)) | map({(.MaHoSo): .status}) | add' >"$d/t-final.json"
  lt_assert_eq 0 "$(jq --slurpfile f "$d/t-final.json" \
    '[del(.null) | to_entries[] | select(.value.TrangThaiHoSo != $f[0][.key])] | length' \
    "$d/wards.latest.json")" "run $1: wards' last statuses that differ from the district's last record"
  [ "$(jq '[.records[] | select(.path == "/08869")] | length' "$d/wards.records.json")" -gt 0 ] ||
    lt_fail "run $1: nothing came back down to the vendor-A ward"
  # The on-time report counts every dossier of the day once.
  lt_assert_eq $((sent - rejected)) "$(jq .total.received "$d/report.json")" "run $1: report received"
  # Status at the end: healthy, every link up, nothing waiting.
  jq -e '.healthy and all(.destinations[]; .state == "up" and .backlog == 0 and .retrying == 0
         and .unrouted == 0 and .dead_letters == 0)' "$d/status.json" >/dev/null ||
    lt_fail "run $1: status: $(jq -c '[.destinations[] | {name, state, backlog}]' "$d/status.json")"
  lt_assert_eq 6 "$(jq '.destinations | length' "$d/status.json")" "run $1: links (portal, district, 3 wards, webhook)"
}

lt_log "first run"
"$LT_SOURCE_DIR/deploy/quickstart.sh" --once >"$LT_TMP/run1.out" 2>&1 ||
  lt_fail "quickstart --once failed: $(tail -20 "$LT_TMP/run1.out")"
grep -q 'catalog sync ok' "$LT_TMP/run1.out" || lt_fail "no catalog sync in the output"
grep -q '2000 added' "$LT_TMP/run1.out" || lt_fail "the catalog did not load 2,000 procedures"
check_run 1
lt_wait 10 lt_no_process_with "$data" || lt_fail "a process of run 1 is left"

lt_log "second run: same database and catalog, another day"
"$LT_SOURCE_DIR/deploy/quickstart.sh" --once >"$LT_TMP/run2.out" 2>&1 ||
  lt_fail "the second run failed: $(tail -20 "$LT_TMP/run2.out")"
grep -q '0 added, 0 changed (0 restored), 0 abolished, 2000 unchanged' "$LT_TMP/run2.out" ||
  lt_fail "the second run did not reuse the catalog: $(grep 'catalog sync ok' "$LT_TMP/run2.out")"
check_run 2
lt_assert_eq "" "$(comm -12 <(jq -r '.[]' "$data/demo/run-1/t-accepted.json") \
  <(jq -r '.[]' "$data/demo/run-2/t-accepted.json"))" "dossier codes shared by the two runs"
lt_wait 10 lt_no_process_with "$data" || lt_fail "a process of run 2 is left"

lt_log "interactive run, then Ctrl-C"
LT_DEMO_DOSSIERS=6 setsid "$LT_SOURCE_DIR/deploy/quickstart.sh" >"$LT_TMP/run3.out" 2>&1 &
pid=$!
LT_PIDS+=("$pid")
serving() { grep -q 'Where to look' "$LT_TMP/run3.out" || ! kill -0 "$pid" 2>/dev/null; }
lt_wait 240 serving || lt_fail "the interactive run did not get to serving"
grep -q 'Where to look' "$LT_TMP/run3.out" || lt_fail "the interactive run stopped: $(tail -20 "$LT_TMP/run3.out")"
port=$(grep -o 'dashboard: *http://127.0.0.1:[0-9]*' "$LT_TMP/run3.out" | grep -o '[0-9]*$')
lt_assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" "dashboard"
kill -INT -- "-$pid" # Ctrl-C: the whole foreground process group
lt_wait 60 lt_no_process_with "$data" || lt_fail "Ctrl-C left a process: $(pgrep -af -- "$data")"
lt_log "ok"
