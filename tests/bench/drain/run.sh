#!/usr/bin/env bash
# Drain benchmark (README.md next to this file): 100,000 pending portal
# deliveries drained by `lienthong serve` to `lt_simpeer --role portal
# --lean`, against a raw libcurl-multi client (lt_simpeer_load) posting
# portal sync calls of the same generated records to the same simulator in
# the same run.
#
#   1. fill: a gateway without portal.url takes N new dossiers over HTTP
#      (lt_push, 8 senders x 100 records: real events, hash chain and all);
#      it is stopped, the portal destination is upserted and the stored
#      events are routed with the migration's own lt_route_events(), so the
#      outbox holds N pending portal rows before any drain starts. Each drain
#      gets a copy of that database (CREATE DATABASE ... TEMPLATE): same
#      rows, no back-off left over from an outage.
#   2. baseline: lt_simpeer_load, DongBoHoSoMC with one record per call, with
#      1 call in flight (what the delivery actor does) and with 16 (the
#      simulator's ceiling); before and after the drains, the better round
#      counts.
#   3. drains: for each portal.batch_size (LT_BENCH_BATCHES, "1 10"): the
#      simulator's memory cleared, a gateway started on a fresh copy with
#      portal.url set and delivery.inflight sends in flight (LT_BENCH_INFLIGHT,
#      16: the baseline's concurrency); timed from spawn until no portal row
#      is open; the gateway's RSS sampled from /proc every 0.5 s.
#
# Builds Release first (LT_BUILD_DIR, default ./build-release), prints a
# Markdown table; appends nothing anywhere. Bounded: the run after the build
# under a watchdog (LT_BENCH_TIMEOUT, default 570 s), each drain cut at
# LT_BENCH_DRAIN_SECONDS (default 200; a cut drain reports the rows it
# delivered), everything started stopped by PID. Loopback only.
#
# Environment: LT_BUILD_DIR, LT_BENCH_COUNT (100000), LT_BENCH_BATCHES, LT_BENCH_INFLIGHT,
# LT_BENCH_DRAIN_SECONDS, LT_BENCH_TIMEOUT, LT_BENCH_KEEP=1 keeps the logs, LT_BENCH_PERF=DIR
# profiles each drain (README).
set -euo pipefail

src=$(cd "$(dirname "$0")/../../.." && pwd)
build=${LT_BUILD_DIR:-$src/build-release}
count=${LT_BENCH_COUNT:-100000}
batches=${LT_BENCH_BATCHES:-1 10}
inflight=${LT_BENCH_INFLIGHT:-16}
drain_s=${LT_BENCH_DRAIN_SECONDS:-200}
total_timeout=${LT_BENCH_TIMEOUT:-570}
pg_bin=${LT_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
unit=08710            # Phường Liên Bảo in deploy/units/example-3tier.json
agency=000.02.22.H56  # its agency id: the prefix of its dossier codes
proc=2.000908         # commune level: the portal is the only destination

bench_name=drain
# shellcheck source=../lib.sh
. "$src/tests/bench/lib.sh"

# ---- build (before the watchdog: a first Release build takes minutes) --------
bench_build lienthong lt_push lt_simpeer lt_simpeer_load
bin=$build/gateway/lienthong
push=$build/tests/lt_push
peer=$build/tests/lt_simpeer
load=$build/tests/lt_simpeer_load
[ -x "$pg_bin/initdb" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
command -v jq >/dev/null || die "jq is missing (deploy/install-deps.sh installs it)"
command -v curl >/dev/null || die "curl is missing (deploy/install-deps.sh installs it)"

gw_pid=
peer_pid=
sampler=
# The gateway is restarted between cases: its PID changes, so the cleanup
# asks for it here rather than through bench_track.
bench_on_exit() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  [ -n "$gw_pid" ] && bench_stop "$gw_pid"
  [ -n "$peer_pid" ] && bench_stop "$peer_pid"
}
bench_init drain "$total_timeout"
bench_pg_start
q() { psql "$(url "$1")" -qAt -v ON_ERROR_STOP=1 -c "$2"; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

gw_spawn() { # NAME DB [VAR=value ...]
  local name=$1 db=$2; shift 2
  : >"$tmp/$name.log"
  env LIENTHONG_DATABASE_URL="$(url "$db")" LIENTHONG_DATA_DIR="$tmp/$name-data" LIENTHONG_LIMITS_RATE=0 \
    LIENTHONG_HTTP_LISTEN=127.0.0.1:0 LIENTHONG_ZMQ_INGRESS='tcp://127.0.0.1:*' \
    LIENTHONG_ZMQ_EVENTS='tcp://127.0.0.1:*' LIENTHONG_ZMQ_REPLAY='tcp://127.0.0.1:*' "$@" \
    "$bin" serve >>"$tmp/$name.log" 2>&1 &
  gw_pid=$!
}
gw_stop() {
  bench_stop "$gw_pid"
  wait "$gw_pid" 2>/dev/null || true
  gw_pid=
}

# ---- 1. fill ------------------------------------------------------------------------
psql "host=$sock user=lienthong dbname=postgres" -qc "CREATE DATABASE fill"
bench_fixture "$(url fill)" "$unit"

gw_spawn fill fill
for _ in $(seq 1 600); do
  grep -q '"http_listen"' "$tmp/fill.log" && break
  kill -0 "$gw_pid" 2>/dev/null || die "the fill gateway exited (see $tmp/fill.log)"
  sleep 0.1
done
port=$(grep -o '"port":[0-9]*' "$tmp/fill.log" | head -1 | cut -d: -f2)
for _ in $(seq 1 600); do
  [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)" = 200 ] && break
  sleep 0.1
done
fill_t0=$SECONDS
timeout 300 "$push" --http "http://127.0.0.1:$port" --token "$token" --unit-agency "$agency" \
  --procedure "$proc" --senders 8 --batch 100 --count "$count" --run-id 1 --seed 1 \
  --timeout-ms 60000 --json >"$tmp/push.out" 2>"$tmp/push.log" || die "lt_push failed (see $tmp/push.log)"
fill_s=$((SECONDS - fill_t0))
[ "$(jq -r .results.accepted "$tmp/push.out")" = "$count" ] ||
  die "not every record accepted: $(jq -c .results "$tmp/push.out")"
gw_stop
# Route with the gateway's own function (the actor calls it 1,000 at a time).
q fill "SELECT lt_destination_upsert('portal', 'portal', 'http://127.0.0.1:9', NULL, NULL)" >/dev/null
while [ "$(q fill "SELECT lt_route_events(20000)")" != 0 ]; do :; done
pending=$(q fill "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state = 'pending'")
[ "$pending" = "$count" ] || die "expected $count pending portal rows, found $pending"
[ "$(q fill "SELECT count(*) FROM outbox")" = "$count" ] || die "rows for other destinations than the portal"
# Statistics as autovacuum would have them after a backlog built up over
# time: right after a burst the planner believes the outbox empty and
# lt_claim's anti-join goes quadratic (RESULTS.md, Drain).
q fill "VACUUM ANALYZE" >/dev/null
fill_mb=$(q fill "SELECT pg_database_size('fill') / 1048576")
log "fill: $count records pushed in ${fill_s}s, $pending pending portal rows (database ${fill_mb} MiB)"
for b in $batches; do
  psql "host=$sock user=lienthong dbname=postgres" -qc "CREATE DATABASE drain_$b TEMPLATE fill"
done

# ---- the simulator ------------------------------------------------------------------
"$peer" --role portal --lean --port-file "$tmp/peer.port" --max-seconds "$((total_timeout + 60))" \
  >"$tmp/peer.out" 2>"$tmp/peer.log" &
peer_pid=$!
for _ in $(seq 1 200); do [ -s "$tmp/peer.port" ] && break; sleep 0.1; done
[ -s "$tmp/peer.port" ] || die "the portal simulator did not start"
pport=$(jq -r .port "$tmp/peer.port")
cport=$(jq -r .control_port "$tmp/peer.port")
ctl() { curl -sf -m 10 -X POST "http://127.0.0.1:$cport/_control" -d "$1" >/dev/null || die "control $1"; }
stats() { curl -sf -m 10 "http://127.0.0.1:$cport/_stats"; }

# ---- 2. baseline ----------------------------------------------------------------------
declare -A BASE
baseline() { # ROUND CONCURRENCY
  local name="load_$2_$1" n=$count
  ctl '{"clear": true}'
  # One call in flight is slow: a fifth of the records measures it well.
  [ "$2" = 1 ] && n=$((count / 5))
  timeout 300 "$load" --url "http://127.0.0.1:$pport/sync" --shape portal \
    --login "http://127.0.0.1:$pport/login" --requests "$n" --concurrency "$2" --pool 20000 \
    --deadline 240 >"$tmp/$name.out" 2>"$tmp/$name.log" || die "$name failed (see $tmp/$name.out)"
  BASE[$name]=$(jq -r .per_second "$tmp/$name.out")
  log "baseline $name: ${BASE[$name]} calls/s ($(jq -c . "$tmp/$name.out"))"
}
baseline 1 1
baseline 1 16

# ---- 3. drains --------------------------------------------------------------------------
declare -A RATE WALL DELIV CALLS RSS0 RSSQ RSSMAX HWM GWCPU PGCPU ERRS
open_rows() { q "$1" "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state IN ('pending','inflight','retrying')"; }
for b in $batches; do
  db=drain_$b
  ctl '{"clear": true}'
  q "$db" "CHECKPOINT" >/dev/null
  pg0=$(pg_ticks)
  t0=$(date +%s.%N)
  gw_spawn "drain_$b" "$db" LIENTHONG_PORTAL_URL="http://127.0.0.1:$pport" \
    LIENTHONG_PORTAL_USERNAME=lienthong LIENTHONG_PORTAL_PASSWORD=lienthong \
    LIENTHONG_PORTAL_AGENCY=000.00.00.H56 LIENTHONG_PORTAL_BATCH_SIZE="$b" \
    LIENTHONG_DELIVERY_INFLIGHT="$inflight"
  # RSS in KiB every 0.5 s while the gateway lives.
  bash -c 'while [ -r /proc/$1/status ]; do awk '"'"'$1 == "VmRSS:" { print $2 }'"'"' /proc/$1/status; sleep 0.5; done' \
    sampler "$gw_pid" >"$tmp/rss_$b.txt" 2>/dev/null &
  sampler=$!
  cut=0
  deadline=$((SECONDS + drain_s))
  sleep 1
  if [ -n "${LT_BENCH_PERF:-}" ]; then
    # Profiles (perf record -g) of the gateway and of its database
    # backends, LT_BENCH_PERF_SECONDS (20) from 1 s after the start.
    mkdir -p "$LT_BENCH_PERF"
    be=$(q "$db" "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid()")
    timeout 120 perf record -q -g -o "$LT_BENCH_PERF/gw_$b.data" -p "$gw_pid" -- sleep "${LT_BENCH_PERF_SECONDS:-20}" >/dev/null 2>&1 &
    [ -n "$be" ] && timeout 120 perf record -q -g -o "$LT_BENCH_PERF/pg_$b.data" -p "$be" -- sleep "${LT_BENCH_PERF_SECONDS:-20}" >/dev/null 2>&1 &
  fi
  while [ "$(open_rows "$db")" != 0 ]; do
    kill -0 "$gw_pid" 2>/dev/null || die "the gateway exited mid-drain (see $tmp/drain_$b.log)"
    if [ $SECONDS -ge $deadline ]; then cut=1; break; fi
    sleep 1
  done
  t1=$(date +%s.%N)
  gw_ticks=$(ticks "$gw_pid")
  PGCPU[$b]=$(cpu_pct $(($(pg_ticks) - pg0)) "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
  HWM[$b]=$(awk '$1 == "VmHWM:" { printf "%.1f", $2 / 1024 }' "/proc/$gw_pid/status")
  kill "$sampler" 2>/dev/null || true
  sampler=
  gw_stop
  WALL[$b]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  GWCPU[$b]=$(cpu_pct "$gw_ticks" "${WALL[$b]}")
  DELIV[$b]=$(q "$db" "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state = 'delivered'")
  # The rate between the first and the last recorded delivery (start-up,
  # login and the 1 s polling above stay out of it); the wall time includes
  # them.
  RATE[$b]=$(q "$db" "SELECT round(count(*) / greatest(extract(epoch FROM max(updated_at) - min(updated_at)), 0.001), 1)
                      FROM outbox WHERE destination = 'portal' AND state = 'delivered'")
  stats >"$tmp/stats_$b.json"
  CALLS[$b]=$(jq -r '.calls - .logins' "$tmp/stats_$b.json")
  ERRS[$b]=$(jq -c '.by_error_code' "$tmp/stats_$b.json")
  [ "$(jq -r .unique "$tmp/stats_$b.json")" -ge "${DELIV[$b]}" ] ||
    die "batch $b: the portal holds fewer records than delivered rows ($(jq -c . "$tmp/stats_$b.json"))"
  # RSS: after start-up (the first sample past 2 s), the quartiles, the peak.
  RSS0[$b]=$(awk 'NR == 5 { printf "%.1f", $1 / 1024 }' "$tmp/rss_$b.txt")
  RSSQ[$b]=$(sort -n "$tmp/rss_$b.txt" | awk '{ v[NR] = $1 } END { printf "%.1f / %.1f / %.1f", v[int(NR/4)+1]/1024, v[int(NR/2)+1]/1024, v[int(3*NR/4)]/1024 }')
  RSSMAX[$b]=$(sort -n "$tmp/rss_$b.txt" | tail -1 | awk '{ printf "%.1f", $1 / 1024 }')
  log "batch $b: ${DELIV[$b]} delivered in ${WALL[$b]}s wall (cut: $cut), ${RATE[$b]}/s first-to-last; ${CALLS[$b]} sync calls, error codes ${ERRS[$b]}; RSS ${RSS0[$b]} then ${RSSQ[$b]} max ${RSSMAX[$b]} MiB (HWM ${HWM[$b]}); CPU gateway ${GWCPU[$b]} %, PostgreSQL ${PGCPU[$b]} %"
done
baseline 2 1
baseline 2 16
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
b1=$(max "${BASE[load_1_1]}" "${BASE[load_1_2]}")
b16=$(max "${BASE[load_16_1]}" "${BASE[load_16_2]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }

# ---- table ---------------------------------------------------------------------------------
cat <<EOF

Drain of $count pending portal deliveries (one new dossier each, ~1.7 KB records from
lt_dossiergen) to \`lt_simpeer --role portal --lean\`; PostgreSQL $pg_version with fsync on;
load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg). Fill: $count records
pushed over HTTP in ${fill_s} s, routed with lt_route_events(); database ${fill_mb} MiB.

| what | calls in flight | records per call | deliveries | wall (s) | records/s | ÷ raw c=16 | ÷ raw c=1 | gateway RSS MiB: at 2 s / quartiles / max (HWM) | CPU gateway / PostgreSQL |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |
| raw libcurl multi (lt_simpeer_load), before / after: ${BASE[load_16_1]} / ${BASE[load_16_2]} | 16 | 1 | | | $b16 | 1.00 | $(ratio "$b16" "$b1") | | |
| raw libcurl multi (lt_simpeer_load), before / after: ${BASE[load_1_1]} / ${BASE[load_1_2]} | 1 | 1 | | | $b1 | $(ratio "$b1" "$b16") | 1.00 | | |
EOF
for b in $batches; do
  echo "| lienthong drain, portal.batch_size=$b, delivery.inflight=$inflight | $inflight | $b | ${DELIV[$b]} | ${WALL[$b]} | ${RATE[$b]} | $(ratio "${RATE[$b]}" "$b16") | $(ratio "${RATE[$b]}" "$b1") | ${RSS0[$b]} / ${RSSQ[$b]} / ${RSSMAX[$b]} (${HWM[$b]}) | ${GWCPU[$b]} / ${PGCPU[$b]} % |"
done
echo
for b in $batches; do
  echo "batch_size=$b: ${CALLS[$b]} sync calls, error codes ${ERRS[$b]}"
done
