#!/usr/bin/env bash
# Ingest benchmark (README.md next to this file): dossier records pushed into
# lienthong over HTTP and ZeroMQ, against a PostgreSQL with fsync on, each
# rate set against two baselines measured in the same run:
#
#   1. the ceiling: bench_ceiling writes the rows the writer writes (a
#      dossiers upsert + a hash-chained dossier_events row per record, the
#      event_counter per transaction) the fastest ways libpq can — pipelined
#      multi-row INSERTs on one and on two connections, and COPY; the best
#      of the three is the ceiling;
#   2. a naive peer: the same rows, one transaction per record;
#      (both baselines run before and after step 3, each counted at its
#      better round: the VM is shared, and a busy minute must not flatter
#      the ratios)
#   3. lienthong: `lienthong serve` on that PostgreSQL (units imported, a
#      catalog synced, a ward token), lt_push over HTTP and over ZeroMQ with
#      1, 8 and 64 senders and requests of 1 and 100 records; then, for each
#      transport, its best case again at half its best rate (--rate) for the
#      p99 at a load the gateway keeps up with; the gateway's RSS before and
#      after (/proc).
#
# Builds Release first (LT_BUILD_DIR, default ./build-release), then prints a
# Markdown table; appends nothing anywhere. Bounded: every step under
# `timeout`, the run after the build under a watchdog, everything started
# (PostgreSQL, the gateway) stopped by PID on exit, failure or time-out.
# Loopback only: PostgreSQL on a Unix socket in a private directory, the
# gateway on 127.0.0.1.
#
# Environment: LT_BUILD_DIR; LT_BENCH_CASE_SECONDS (s per lienthong case,
# default 6); LT_BENCH_CEILING_COUNT (records per ceiling run, 20000);
# LT_BENCH_NAIVE_COUNT (2000); LT_BENCH_TIMEOUT (s, the run after the build,
# default 540); LT_BENCH_KEEP=1 keeps the scratch directory and its logs;
# LT_BENCH_PG_OPTS adds server options.
set -euo pipefail

src=$(cd "$(dirname "$0")/../../.." && pwd)
build=${LT_BUILD_DIR:-$src/build-release}
case_s=${LT_BENCH_CASE_SECONDS:-6}
ceil_n=${LT_BENCH_CEILING_COUNT:-20000}
naive_n=${LT_BENCH_NAIVE_COUNT:-2000}
total_timeout=${LT_BENCH_TIMEOUT:-540}
pg_bin=${LT_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
unit=08710            # Phường Liên Bảo in deploy/units/example-3tier.json
agency=000.02.22.H56  # its agency id: the prefix of its dossier codes

bench_name=ingest
# shellcheck source=../lib.sh
. "$src/tests/bench/lib.sh"

# ---- build (before the watchdog: a first Release build takes minutes) --------
bench_build lienthong lt_push lt_gencatalog bench_ceiling
bin=$build/gateway/lienthong
push=$build/tests/lt_push
gen=$build/tests/lt_gencatalog
ceiling=$build/tests/bench/ingest/bench_ceiling
[ -x "$pg_bin/initdb" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
command -v jq >/dev/null || die "jq is missing (deploy/install-deps.sh installs it)"
command -v curl >/dev/null || die "curl is missing (deploy/install-deps.sh installs it)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (Debian package 'time'; deploy/install-deps.sh installs it)"

bench_init ingest "$total_timeout"
bench_pg_start

q() { psql "$(url "$1")" -qAt -v ON_ERROR_STOP=1 -c "$2"; }
checkpoint() { q "$1" "CHECKPOINT" >/dev/null; }

# prepare DB: an empty database, migrated, with the unit tree (the rows'
# foreign keys point at it) and the catalog.
prepare() {
  psql "host=$sock user=lienthong dbname=postgres" -qc "CREATE DATABASE $1"
  LIENTHONG_DATABASE_URL=$(url "$1") timeout 120 "$bin" migrate >"$tmp/migrate-$1.log" 2>&1 ||
    die "migrate $1 failed"
  LIENTHONG_DATABASE_URL=$(url "$1") timeout 120 "$bin" units import \
    "$src/deploy/units/example-3tier.json" >"$tmp/units-$1.log" 2>&1 || die "units import $1 failed"
  LIENTHONG_DATABASE_URL=$(url "$1") timeout 120 "$bin" catalog sync --file "$tmp/catalog.json" \
    >"$tmp/catalog-$1.log" 2>&1 || die "catalog sync $1 failed"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- inputs: a catalog, and 20 published commune-level procedures to push -----
timeout 60 "$gen" --count 200 >"$tmp/catalog.json"
mapfile -t procs < <(jq -r '.[] | select(.TRANGTHAI == "1"
    and ([.CAPTHUCHIEN[]?.CAPTHUCHIEN | tostring] | index("3"))) | .MATTHC' "$tmp/catalog.json" | head -20)
[ ${#procs[@]} -ge 5 ] || die "too few commune-level procedures in the generated catalog"
proc_args=()
for p in "${procs[@]}"; do proc_args+=(--procedure "$p"); done
log "PostgreSQL $pg_version, fsync on; ${#procs[@]} procedures"

# ---- 1. the ceiling, 2. the naive peer -----------------------------------------
prepare ceil
declare -A C PGCPU
run_ceiling() { # NAME RUN_ID ARGS...
  local name=$1 run_id=$2; shift 2
  checkpoint ceil
  local pg0
  pg0=$(pg_ticks)
  timeout 300 "$ceiling" --db "host=$sock user=lienthong dbname=ceil" --unit "$unit" \
    --agency "$agency" "${proc_args[@]}" --run-id "$run_id" "$@" >"$tmp/$name.out" 2>"$tmp/$name.log" ||
    die "$name failed (see $tmp/$name.log)"
  C[$name]=$(jq -r .events_per_s "$tmp/$name.out")
  # bench_ceiling prepares its rows before the clock starts, with the
  # database idle: PostgreSQL's ticks all fall in the timed part.
  PGCPU[$name]=$(cpu_pct $(($(pg_ticks) - pg0)) "$(jq -r .seconds "$tmp/$name.out")")
  log "$name: ${C[$name]} events/s ($(jq -c . "$tmp/$name.out"))"
}
# The baselines run twice, before and after the lienthong cases, and each
# counts with its better round: the VM's other tenants come and go, and a
# ceiling measured in a busy minute would flatter the ratios. Run ids 10
# apart: each run's dossier codes are its own below a million records
# (lt_dossiergen.h).
baselines() { # ROUND
  local r=$1 base=$(($1 * 100))
  run_ceiling "pipe1_$r" $((base + 10)) --count "$ceil_n" --batch 500 --method pipeline --conns 1
  run_ceiling "pipe2_$r" $((base + 20)) --count "$ceil_n" --batch 500 --method pipeline --conns 2
  run_ceiling "copy1_$r" $((base + 30)) --count "$ceil_n" --batch 500 --method copy
  run_ceiling "naive_$r" $((base + 40)) --count "$naive_n" --method naive
}
baselines 1
rec_bytes=$(jq -r .bytes_per_record "$tmp/pipe1_1.out")

# ---- 3. lienthong ---------------------------------------------------------------
prepare gw
token=$(LIENTHONG_DATABASE_URL=$(url gw) timeout 60 "$bin" token create --unit "$unit" --role ward --json |
  jq -r .token)
[ -n "$token" ] && [ "$token" != null ] || die "token create failed"
: >"$tmp/gw.log"
env LIENTHONG_DATABASE_URL="$(url gw)" LIENTHONG_DATA_DIR="$tmp/gw-data" LIENTHONG_LIMITS_RATE=0 \
  LIENTHONG_HTTP_LISTEN=127.0.0.1:0 LIENTHONG_ZMQ_INGRESS='tcp://127.0.0.1:*' \
  LIENTHONG_ZMQ_EVENTS='tcp://127.0.0.1:*' LIENTHONG_ZMQ_REPLAY='tcp://127.0.0.1:*' \
  "$bin" serve >>"$tmp/gw.log" 2>&1 &
gw_pid=$!
bench_track "$gw_pid"
for _ in $(seq 1 600); do
  grep -q '"http_listen"' "$tmp/gw.log" && grep -q '"zmq_ingress"' "$tmp/gw.log" && break
  kill -0 "$gw_pid" 2>/dev/null || die "the gateway exited (see $tmp/gw.log)"
  sleep 0.1
done
port=$(grep -o '"port":[0-9]*' "$tmp/gw.log" | head -1 | cut -d: -f2)
ingress=$(grep -o '"zmq_ingress":"[^"]*"' "$tmp/gw.log" | head -1 | cut -d'"' -f4)
[ -n "$port" ] && [ -n "$ingress" ] || die "the gateway did not log its HTTP port and ingress endpoint"
# Listening is not ready: pushes before the database connection is up get 503.
for _ in $(seq 1 600); do
  [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)" = 200 ] && break
  kill -0 "$gw_pid" 2>/dev/null || die "the gateway exited (see $tmp/gw.log)"
  sleep 0.1
done
[ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)" = 200 ] ||
  die "the gateway did not become ready (see $tmp/gw.log)"
rss() { awk -v k="$2" '$1 == k":" { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
rss_before=$(rss "$gw_pid" VmRSS)
log "gateway pid $gw_pid on port $port and $ingress, RSS $rss_before MiB"

declare -A R P50 P99 BAD CPU GWCPU
case_n=0
run_case() { # NAME TRANSPORT SENDERS BATCH [RATE]
  local name=$1 tr=$2 senders=$3 batch=$4 rate=${5:-} ep
  [ "$tr" = http ] && ep=(--http "http://127.0.0.1:$port") || ep=(--zmq "$ingress")
  local extra=()
  [ -n "$rate" ] && extra=(--rate "$rate")
  case_n=$((case_n + 1))
  checkpoint gw
  local gw0 pg0
  gw0=$(ticks "$gw_pid")
  pg0=$(pg_ticks)
  timeout $((case_s + 120)) /usr/bin/time -f '%U %S' -o "$tmp/$name.time" "$push" "${ep[@]}" --token "$token" --unit-agency "$agency" \
    "${proc_args[@]}" --senders "$senders" --batch "$batch" --seconds "$case_s" \
    --run-id $((100 + case_n * 10)) --seed "$case_n" --timeout-ms 30000 --json \
    "${extra[@]}" >"$tmp/$name.out" 2>"$tmp/$name.log" || die "$name: lt_push failed (see $tmp/$name.log)"
  R[$name]=$(jq -r .results.accepted "$tmp/$name.out" | awk -v s="$(jq -r .elapsed_s "$tmp/$name.out")" '{ printf "%.1f", $1 / s }')
  P50[$name]=$(jq -r .latency_ms.p50 "$tmp/$name.out")
  P99[$name]=$(jq -r .latency_ms.p99 "$tmp/$name.out")
  # Everything sent must come back accepted: anything else is a wrong answer.
  BAD[$name]=$(jq -r '.records_sent - .results.accepted' "$tmp/$name.out")
  # The sender's own CPU, in % of one core over the run: it shares the
  # machine with the gateway and PostgreSQL.
  local el
  el=$(jq -r .elapsed_s "$tmp/$name.out")
  CPU[$name]=$(awk -v s="$el" 'NR == 1 { printf "%.0f", ($1 + $2) / s * 100 }' "$tmp/$name.time")
  GWCPU[$name]=$(cpu_pct $(($(ticks "$gw_pid") - gw0)) "$el")
  PGCPU[$name]=$(cpu_pct $(($(pg_ticks) - pg0)) "$el")
  log "$name: ${R[$name]} records/s, p50 ${P50[$name]} ms, p99 ${P99[$name]} ms, not accepted ${BAD[$name]}"
  [ "${BAD[$name]}" = 0 ] ||
    log "$name: $(jq -c '{results, unacknowledged, http_status, zmq_errors, transport_errors}' "$tmp/$name.out")"
}
cases=()
for tr in http zmq; do
  for senders in 1 8 64; do
    for batch in 1 100; do
      run_case "${tr}_${senders}_${batch}" "$tr" "$senders" "$batch"
      cases+=("${tr}_${senders}_${batch}")
    done
  done
done
declare -A BEST
for tr in http zmq; do
  best=
  for c in "${cases[@]}"; do
    case $c in "$tr"_*) ;; *) continue ;; esac
    if [ -z "$best" ] || awk -v a="${R[$c]}" -v b="${R[$best]}" 'BEGIN { exit !(a > b) }'; then best=$c; fi
  done
  BEST[$tr]=$best
  half=$(awk -v r="${R[$best]}" 'BEGIN { printf "%.0f", r / 2 }')
  IFS=_ read -r _ s b <<<"$best"
  run_case "${tr}_half" "$tr" "$s" "$b" "$half"
done
rss_after=$(rss "$gw_pid" VmRSS)
rss_peak=$(rss "$gw_pid" VmHWM)
baselines 2

# The ceiling's rows are right: every event's hash is lt_event_hash of its
# content and the chain is unbroken, as `lienthong verify` would check; one
# dossier per record.
bad=$(q ceil "WITH e AS (SELECT hash, prev_hash, lag(hash) OVER (ORDER BY seq) AS lh,
                 hash <> lt_event_hash(prev_hash, seq, kind, topic, record) AS wrong
               FROM dossier_events)
             SELECT count(*) FILTER (WHERE wrong OR (lh IS NOT NULL AND lh <> prev_hash)) FROM e")
[ "$bad" = 0 ] || die "the ceiling wrote $bad events whose hash chain does not verify"
want=$((2 * (3 * ceil_n + naive_n)))
[ "$(q ceil "SELECT count(*) FROM dossiers")" = "$want" ] || die "the ceiling did not write $want dossiers"
# Each baseline at its better round; the ceiling is the best method.
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
for n in pipe1 pipe2 copy1 naive; do C[$n]=$(max "${C[${n}_1]}" "${C[${n}_2]}"); done
best_ceiling=0
best_ceiling_name=
for n in pipe1 pipe2 copy1; do
  if awk -v a="${C[$n]}" -v b="$best_ceiling" 'BEGIN { exit !(a > b) }'; then
    best_ceiling=${C[$n]}
    best_ceiling_name=$n
  fi
done

# The database holds exactly what was acknowledged: one event and one
# dossier per accepted record (every record is a new dossier).
acked=0
for f in "$tmp"/http_*.out "$tmp"/zmq_*.out; do acked=$((acked + $(jq -r .results.accepted "$f"))); done
events=$(q gw "SELECT count(*) FROM dossier_events WHERE kind = 'dossier'")
dossiers=$(q gw "SELECT count(*) FROM dossiers")
[ "$events" = "$acked" ] && [ "$dossiers" = "$acked" ] ||
  die "acknowledged $acked records, but the database holds $events events and $dossiers dossiers"

# ---- report -------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
int() { awk -v a="$1" 'BEGIN { printf "%.0f", a }'; }
rounds() { echo "before: $(int "${C[${1}_1]}"), after: $(int "${C[${1}_2]}")"; }
describe() {
  case $1 in
    pipe1) echo "ceiling: pipelined multi-row INSERTs, 1 connection, 500 per transaction" ;;
    pipe2) echo "ceiling: pipelined multi-row INSERTs, 2 connections, 500 per transaction" ;;
    copy1) echo "ceiling: COPY + INSERT ... SELECT upsert, 1 connection, 500 per transaction" ;;
  esac
}
cat <<EOF

Ingest, PostgreSQL $pg_version (fsync on), $(nproc) CPUs, build $build_type, $(date +%F);
records ~$rec_bytes bytes (compact JSON, all new dossiers), $case_s s per lienthong case;
load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)

| path | senders | records/request | records/s | p50 ack (ms) | p99 ack (ms) | ÷ ceiling | ÷ naive | CPU: gateway / PostgreSQL / lt_push |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
EOF
for n in pipe1 pipe2 copy1; do
  mark=
  [ "$n" = "$best_ceiling_name" ] && mark=" **(the ceiling)**"
  echo "| $(describe "$n")$mark ($(rounds "$n")) | | 500 | $(int "${C[$n]}") | | | $(ratio "${C[$n]}" "$best_ceiling") | $(ratio "${C[$n]}" "${C[naive]}") | – / ${PGCPU[${n}_1]}, ${PGCPU[${n}_2]} % / – |"
done
echo "| naive peer: one transaction per record ($(rounds naive)) | 1 | 1 | $(int "${C[naive]}") | | | $(ratio "${C[naive]}" "$best_ceiling") | 1.00 | – / ${PGCPU[naive_1]}, ${PGCPU[naive_2]} % / – |"
for c in "${cases[@]}" http_half zmq_half; do
  IFS=_ read -r tr s b <<<"$c"
  label="lienthong $tr"
  if [ "$s" = half ]; then
    IFS=_ read -r _ s b <<<"${BEST[$tr]}"
    label="lienthong $tr at half its best rate (--rate $(jq -r .rate_limit "$tmp/$c.out" | awk '{ printf "%.0f", $1 }'))"
  fi
  flag=
  [ "${BAD[$c]}" != 0 ] && flag=" (${BAD[$c]} not accepted)"
  echo "| $label$flag | $s | $b | $(int "${R[$c]}") | ${P50[$c]} | ${P99[$c]} | $(ratio "${R[$c]}" "$best_ceiling") | $(ratio "${R[$c]}" "${C[naive]}") | ${GWCPU[$c]} / ${PGCPU[$c]} / ${CPU[$c]} % |"
done
cat <<EOF

Baselines: measured before and after the lienthong cases, each counted at its better round.
CPU in % of one core over the timed part (/proc; PostgreSQL = postmaster and all its processes;
for the baselines, PostgreSQL's in each round).
Gateway RSS: $rss_before MiB after start, $rss_after MiB after the run (peak $rss_peak MiB).
Database check: $acked records acknowledged = $events events = $dossiers dossiers; the ceiling's
hash chain verifies.
EOF
