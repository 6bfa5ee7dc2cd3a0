#!/usr/bin/env bash
# Soak (issue 10, README.md next to this file): steady ingest into one
# `lienthong serve` for LT_SOAK_SECONDS (default 600) while faults are
# injected on a schedule, then a check that nothing acknowledged was lost.
#
#   load     lt_push over HTTP, LT_SOAK_RATE records/s (default 40), 4
#            senders x 5 records, --retry (a 503, a refused connection or a
#            lost answer is resent with the same bytes), --ack-log;
#   faults   at 20 % of the run: the gateway killed with SIGKILL and started
#            again on the same port and database; at 35 %: the portal
#            simulator down ({"down": true}: connections refused) for 60 s
#            (a fifth of the run if shorter); at 65 %: PostgreSQL restarted
#            (pg_ctl restart -m fast) under the gateway. A database failover
#            (pg_auto_failover) is NOT part of this soak: the failover test
#            (tests/integration/t_failover.sh) covers it, under load, on its
#            own;
#   samples  the gateway's VmRSS and open descriptors (/proc/PID/status,
#            /proc/PID/fd) every LT_SOAK_SAMPLE s (default 5) into
#            samples.txt, following the gateway across its restart;
#   check    after the load, once the outbox drained (bounded): every
#            acknowledged record stored exactly once with its sequence, the
#            sequence gap-free; stored == acknowledged + answered
#            `duplicate`; every stored event in the portal simulator's
#            de-duplicated view (Idempotency-Key lt-<seq>) once, nothing
#            else there; nothing open, nothing dead-lettered.
#
# Prints a Markdown table; exits 1 if a check failed (the table still
# printed). Builds Release first (LT_BUILD_DIR, default ./build-release).
# Bounded: a watchdog (LT_SOAK_TIMEOUT, default LT_SOAK_SECONDS + 420),
# everything started stopped by PID. PostgreSQL with fsync on, on a private
# Unix socket; the gateway and the simulator on loopback.
#
# Environment: LT_BUILD_DIR, LT_SOAK_SECONDS, LT_SOAK_RATE, LT_SOAK_SAMPLE,
# LT_SOAK_TIMEOUT, LT_BENCH_KEEP=1 keeps the logs (samples.txt, faults.txt).
set -euo pipefail

src=$(cd "$(dirname "$0")/../../.." && pwd)
build=${LT_BUILD_DIR:-$src/build-release}
dur=${LT_SOAK_SECONDS:-600}
rate=${LT_SOAK_RATE:-40}
every=${LT_SOAK_SAMPLE:-5}
total_timeout=${LT_SOAK_TIMEOUT:-$((dur + 420))}
unit=08710            # Phường Liên Bảo in deploy/units/example-3tier.json
agency=000.02.22.H56  # its agency id: the prefix of its dossier codes
proc=2.000908         # commune level: the portal is the only destination

bench_name=soak
# shellcheck source=../lib.sh
. "$src/tests/bench/lib.sh"

# ---- build (before the watchdog) ----------------------------------------------
log "building Release in $build"
mkdir -p "$build"
timeout 1800 cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$build/bench-cmake.log" 2>&1 ||
  die "cmake failed (see $build/bench-cmake.log)"
timeout 1800 cmake --build "$build" -j2 --target lienthong lt_push lt_simpeer \
  >"$build/bench-build.log" 2>&1 || die "build failed (see $build/bench-build.log)"
build=$(cd "$build" && pwd)
bin=$build/gateway/lienthong
push=$build/tests/lt_push
peer=$build/tests/lt_simpeer
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
[ "$build_type" = Release ] || log "warning: $build is a '${build_type:-unknown}' build; figures are meant for Release"
command -v jq >/dev/null || die "jq is missing (deploy/install-deps.sh installs it)"
command -v curl >/dev/null || die "curl is missing (deploy/install-deps.sh installs it)"

gw_pid=
peer_pid=
push_pid=
sampler=
# The gateway is killed and restarted: its PID changes, so the cleanup
# stops the current one rather than one bench_track knew.
bench_on_exit() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  [ -n "$push_pid" ] && bench_stop "$push_pid"
  [ -n "$gw_pid" ] && bench_stop "$gw_pid"
  [ -n "$peer_pid" ] && bench_stop "$peer_pid"
}
bench_init soak "$total_timeout"
bench_pg_start
dburl=$(url postgres)
psql "$dburl" -qc "CREATE DATABASE soak"
dburl=$(url soak)
q() { psql "$dburl" -qAt -v ON_ERROR_STOP=1 -c "$1"; }
t0=$SECONDS
fault() { echo "$((SECONDS - t0)) $*" >>"$tmp/faults.txt"; log "t=$((SECONDS - t0))s: $*"; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- fixture ----------------------------------------------------------------------
export LIENTHONG_DATABASE_URL=$dburl
timeout 120 "$bin" migrate >"$tmp/migrate.log" 2>&1 || die "migrate failed"
timeout 120 "$bin" units import "$src/deploy/units/example-3tier.json" >"$tmp/units.log" 2>&1 ||
  die "units import failed"
cat >"$tmp/catalog.json" <<'JSON'
[{"MATTHC": "2.000908", "TENTTHC": "Cấp bản sao trích lục hộ tịch", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}]}]
JSON
timeout 120 "$bin" catalog sync --file "$tmp/catalog.json" >"$tmp/catalog.log" 2>&1 || die "catalog sync failed"
token=$(timeout 60 "$bin" token create --unit "$unit" --role ward --json | jq -r .token)
[ -n "$token" ] && [ "$token" != null ] || die "token create failed"
unset LIENTHONG_DATABASE_URL

# ---- the portal simulator (keeps every record: the de-duplicated view) ------------
"$peer" --role portal --username cong --password matkhau --port-file "$tmp/peer.port" \
  --max-seconds "$((total_timeout + 60))" >"$tmp/peer.out" 2>"$tmp/peer.log" &
peer_pid=$!
for _ in $(seq 1 200); do [ -s "$tmp/peer.port" ] && break; sleep 0.1; done
[ -s "$tmp/peer.port" ] || die "the portal simulator did not start"
pport=$(jq -r .port "$tmp/peer.port")
cport=$(jq -r .control_port "$tmp/peer.port")
ctl() { curl -sf -m 10 -X POST "http://127.0.0.1:$cport/_control" -d "$1" >/dev/null || die "control $1"; }

# ---- the gateway ------------------------------------------------------------------
gw_n=0
port=0
gw_start() {
  gw_n=$((gw_n + 1))
  local log=$tmp/gw$gw_n.log
  : >"$log"
  env LIENTHONG_DATABASE_URL="$dburl" LIENTHONG_DATA_DIR="$tmp/gw-data" LIENTHONG_LIMITS_RATE=0 \
    LIENTHONG_HTTP_LISTEN="127.0.0.1:$port" LIENTHONG_ZMQ_INGRESS='tcp://127.0.0.1:*' \
    LIENTHONG_ZMQ_EVENTS='tcp://127.0.0.1:*' LIENTHONG_ZMQ_REPLAY='tcp://127.0.0.1:*' \
    LIENTHONG_PORTAL_URL="http://127.0.0.1:$pport" LIENTHONG_PORTAL_USERNAME=cong \
    LIENTHONG_PORTAL_PASSWORD=matkhau LIENTHONG_PORTAL_AGENCY=000.00.00.H56 \
    LIENTHONG_PORTAL_TIMEOUT=5s "$bin" serve >>"$log" 2>&1 &
  gw_pid=$!
  echo "$gw_pid" >"$tmp/gw.pid"
  for _ in $(seq 1 600); do
    grep -q '"http_listen"' "$log" && break
    kill -0 "$gw_pid" 2>/dev/null || die "the gateway exited (see $log)"
    sleep 0.1
  done
  grep -q '"http_listen"' "$log" || die "the gateway did not listen (see $log)"
  # The first start takes a free port; a restart binds the same one, so
  # that the senders find it again.
  port=$(grep -o '"port":[0-9]*' "$log" | head -1 | cut -d: -f2)
  for _ in $(seq 1 600); do
    [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)" = 200 ] && return 0
    kill -0 "$gw_pid" 2>/dev/null || die "the gateway exited (see $log)"
    sleep 0.1
  done
  die "the gateway did not become ready (see $log)"
}
gw_start
log "PostgreSQL $pg_version (fsync on); gateway pid $gw_pid on port $port; portal simulator on $pport"

# ---- the sampler: seconds, pid, VmRSS KiB, open descriptors ------------------------
bash -c 'while :; do
    p=$(cat "$1/gw.pid" 2>/dev/null) || p=
    if [ -n "$p" ] && [ -r "/proc/$p/status" ]; then
      r=$(awk '"'"'$1 == "VmRSS:" { print $2 }'"'"' "/proc/$p/status" 2>/dev/null)
      f=$(ls "/proc/$p/fd" 2>/dev/null | wc -l)
      [ -n "$r" ] && [ "$f" -gt 0 ] && echo "$(($(date +%s) - $2)) $p $r $f"
    fi
    sleep "$3"
  done' sampler "$tmp" "$(date +%s)" "$every" >"$tmp/samples.txt" 2>/dev/null &
sampler=$!

# ---- load -------------------------------------------------------------------------
: >"$tmp/acks.txt"
"$push" --http "http://127.0.0.1:$port" --token "$token" --unit-agency "$agency" --procedure "$proc" \
  --senders 4 --batch 5 --rate "$rate" --seconds "$dur" --deadline "$((dur + 120))" --retry \
  --timeout-ms 10000 --run-id 7 --seed 7 --ack-log "$tmp/acks.txt" --json \
  >"$tmp/push.json" 2>"$tmp/push.log" &
push_pid=$!

# ---- the fault schedule -------------------------------------------------------------
at() { # FRACTION: sleeps until that point of the run
  local due
  due=$(awk -v d="$dur" -v f="$1" 'BEGIN { printf "%d", d * f }')
  while [ $((SECONDS - t0)) -lt "$due" ]; do
    kill -0 "$push_pid" 2>/dev/null || die "lt_push ended early (see $tmp/push.log)"
    sleep 1
  done
}
outage=60
[ $((dur / 5)) -lt $outage ] && outage=$((dur / 5))

at 0.20
fault "gateway $gw_pid: SIGKILL ($(wc -l <"$tmp/acks.txt") acknowledged so far)"
kill -KILL "$gw_pid"
wait "$gw_pid" 2>/dev/null || true
gw_start
fault "gateway restarted as $gw_pid, ready"

at 0.35
ctl '{"down": true}'
fault "portal down for ${outage}s"
sleep "$outage"
ctl '{"down": false}'
fault "portal up"

at 0.65
fault "PostgreSQL: pg_ctl restart -m fast"
as_pg "$pg_bin/pg_ctl" -D "$pgdata" -m fast -w -t 60 restart >"$tmp/pg-restart.log" 2>&1 ||
  die "PostgreSQL did not restart (see $tmp/pg-restart.log)"
pm_pid=$(head -1 "$pgdata/postmaster.pid")
fault "PostgreSQL up again (postmaster $pm_pid)"
for _ in $(seq 1 600); do
  [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)" = 200 ] && break
  sleep 0.1
done
fault "gateway ready again after the database restart"

push_rc=0
wait "$push_pid" || push_rc=$?
push_pid=
fault "load ended (lt_push exit $push_rc)"

# ---- drain, bounded -------------------------------------------------------------------
routed() { [ "$(q "SELECT last_seq FROM delivery_router")" = "$(q "SELECT coalesce(max(seq), 0) FROM dossier_events")" ]; }
open_rows() { q "SELECT count(*) FROM outbox WHERE state IN ('pending', 'inflight', 'retrying')"; }
drained=0
for _ in $(seq 1 300); do
  if routed && [ "$(open_rows)" = 0 ]; then drained=1; break; fi
  sleep 1
done
fault "drain: $([ $drained = 1 ] && echo done || echo "NOT done, $(open_rows) open rows")"
sleep "$every" # one more sample after the drain
kill "$sampler" 2>/dev/null || true
sampler=

# ---- checks ---------------------------------------------------------------------------
fails=()
check() { # WHAT EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then log "ok: $1 ($3)"; else fails+=("$1: expected $2, got $3"); log "FAILED: $1: expected $2, got $3"; fi
}
check "lt_push finished before its deadline" 0 "$push_rc"
check "outbox drained" 1 "$drained"
psql "$dburl" -qAt -v ON_ERROR_STOP=1 <<SQL >"$tmp/acks-check.txt" || die "ack check query"
CREATE TEMP TABLE acks (code text, seq bigint);
\copy acks FROM '$tmp/acks.txt' WITH (FORMAT text, DELIMITER ' ')
SELECT 'missing', count(*) FROM acks a
  WHERE (SELECT count(*) FROM dossier_events e WHERE e.seq = a.seq AND e.dossier_code = a.code) <> 1;
SELECT 'acked_twice', count(*) FROM (SELECT seq FROM acks GROUP BY seq HAVING count(*) > 1) x;
SELECT 'gap', (SELECT max(seq) FROM dossier_events) - (SELECT count(*) FROM dossier_events);
SELECT 'counter', (SELECT last_seq FROM event_counter) - (SELECT max(seq) FROM dossier_events);
SQL
for c in missing acked_twice gap counter; do
  check "acknowledged records: $c" 0 "$(grep "^$c|" "$tmp/acks-check.txt" | cut -d'|' -f2)"
done
acked=$(wc -l <"$tmp/acks.txt")
accepted=$(jq -r .results.accepted "$tmp/push.json")
dupl=$(jq -r .results.duplicate "$tmp/push.json")
unack=$(jq -r '.unacknowledged // 0' "$tmp/push.json")
stored=$(q "SELECT count(*) FROM dossier_events WHERE kind = 'dossier'")
dossiers=$(q "SELECT count(*) FROM dossiers")
check "ack log lines = accepted answers" "$accepted" "$acked"
check "one dossier per stored event" "$stored" "$dossiers"
# A record whose answer was lost (the kill, the restart) was committed and
# is answered `duplicate` when resent; nothing else may be stored.
check "stored = acknowledged + answered duplicate" "$((acked + dupl))" "$stored"
check "dead letters" 0 "$(q "SELECT count(*) FROM outbox WHERE state = 'dead'")"
q "SELECT 'lt-' || seq || ' ' || dossier_code FROM dossier_events WHERE kind = 'dossier'" |
  sort >"$tmp/stored.txt"
curl -sf -m 120 "http://127.0.0.1:$cport/_records" >"$tmp/records.json" || die "cannot read the portal's records"
jq -r '.records[] | select(.service == "DongBoHoSoMC" and .duplicate == false)
  | "\(.idempotency_key) \(.MaHoSo)"' "$tmp/records.json" | sort >"$tmp/portal.txt"
delivered=$(wc -l <"$tmp/portal.txt")
repeats=$(jq '[.records[] | select(.duplicate == true)] | length' "$tmp/records.json")
check "events twice in the portal's de-duplicated view" 0 "$(uniq -d "$tmp/portal.txt" | wc -l)"
check "stored events missing at the portal" 0 "$(comm -23 "$tmp/stored.txt" "$tmp/portal.txt" | wc -l)"
check "portal records no stored event explains" 0 "$(comm -13 "$tmp/stored.txt" "$tmp/portal.txt" | wc -l)"
sed 's/^\([^ ]*\) \(.*\)$/lt-\2 \1/' "$tmp/acks.txt" | sort >"$tmp/acked.txt"
check "acknowledged records not delivered" 0 "$(comm -23 "$tmp/acked.txt" "$tmp/portal.txt" | wc -l)"

# ---- RSS and descriptors, per gateway process ------------------------------------------
# Per process: the first sample 10 s after its start (start-up allocations
# and the first connections settled), the last, the max.
series() { # PID COLUMN(3 rss KiB, 4 fds) -> "first / last / max"
  awk -v p="$1" -v c="$2" '$2 == p { n++; v[n] = $c; t[n] = $1 }
    END { s = 1; while (s < n && t[s] - t[1] < 10) s++
          m = 0; for (i = s; i <= n; i++) if (v[i] > m) m = v[i]
          if (c == 3) printf "%.1f / %.1f / %.1f", v[s] / 1024, v[n] / 1024, m / 1024
          else printf "%d / %d / %d", v[s], v[n], m }' "$tmp/samples.txt"
}
span() { awk -v p="$1" '$2 == p { if (!a) a = $1; b = $1; n++ } END { printf "%d–%d s (%d samples)", a, b, n }' "$tmp/samples.txt"; }
mapfile -t pids < <(awk '!seen[$2]++ { print $2 }' "$tmp/samples.txt")

cat <<EOF

Soak: ${dur} s of ingest at ${rate} records/s over HTTP (lt_push, 4 senders x 5 records, --retry),
one gateway, PostgreSQL $pg_version (fsync on), $(nproc) CPUs, build $build_type, $(date +%F);
load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg).

| t (s) | event |
| ---: | --- |
EOF
while read -r t what; do echo "| $t | $what |"; done <"$tmp/faults.txt"
cat <<EOF

| check | value |
| --- | --- |
| records acknowledged (accepted, ack log) | $acked |
| answered \`duplicate\` (resent after a lost answer) | $dupl |
| left unacknowledged by lt_push | $unack |
| stored (dossier events) | $stored |
| delivered to the portal, de-duplicated by Idempotency-Key | $delivered |
| repeat deliveries the portal de-duplicated | $repeats |
| acknowledged == stored once == delivered | $([ ${#fails[@]} = 0 ] && echo yes || echo "**NO**") |

| gateway process | sampled | RSS MiB first / last / max | open fds first / last / max |
| --- | --- | --- | --- |
EOF
for p in "${pids[@]}"; do echo "| $p | $(span "$p") | $(series "$p" 3) | $(series "$p" 4) |"; done
echo
echo "Samples every ${every} s; \"first\" is the first sample 10 s or more after the process started."
if [ ${#fails[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${fails[@]}"
  LT_BENCH_KEEP=1
  exit 1
fi
