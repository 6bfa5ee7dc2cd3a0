#!/usr/bin/env bash
# National-protocol benchmark: `lienthong catalog sync` over LayDanhSachTTHC +
# LayThuTuc from the simulator (tests/sim/lt_simcatalog) with a fixed latency
# per call, with the configured concurrency against one call at a time
# (catalog.concurrency=1), both measured in this run. Aim (catalog issue):
# ≥ 20× faster than one call at a time for 2,000 procedures at 50 ms a call.
#
# Bounded: each sync under `timeout`, the whole run under a watchdog; the
# simulator and PostgreSQL are stopped by PID on exit. Loopback only.
#
# Builds Release first (tests/bench/lib.sh bench_build).
#
# Environment: LT_BUILD_DIR (default ./build-release), LT_BENCH_COUNT (2000),
# LT_BENCH_LATENCY_MS (50), LT_BENCH_CONCURRENCY (32), LT_BENCH_TIMEOUT (600 s).
set -euo pipefail
src=$(cd "$(dirname "$0")/../../.." && pwd)
count=${LT_BENCH_COUNT:-2000}
latency=${LT_BENCH_LATENCY_MS:-50}
conc=${LT_BENCH_CONCURRENCY:-32}
total_timeout=${LT_BENCH_TIMEOUT:-600}
pg_bin=${LT_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
bench_name=catalog-api
# shellcheck source=../lib.sh
. "$src/tests/bench/lib.sh"
bench_build lienthong lt_simcatalog
bin=$build/gateway/lienthong
sim=$build/tests/lt_simcatalog

bench_init catalog-api "$total_timeout"
bench_pg_start
for db in parallel serial; do
  psql "host=$sock user=lienthong dbname=postgres" -qc "CREATE DATABASE $db" || die "createdb"
done

"$sim" --count "$count" --latency-ms "$latency" --max-seconds "$total_timeout" \
  >"$tmp/sim.out" 2>"$tmp/sim.log" &
bench_track $!
for _ in $(seq 1 100); do grep -q '"port"' "$tmp/sim.out" 2>/dev/null && break; sleep 0.1; done
port=$(grep -o '"port": *[0-9]*' "$tmp/sim.out" | head -1 | grep -o '[0-9]*$') || die "simulator did not start"

# sync DB CONCURRENCY: wall seconds of one full sync over the protocol.
sync() {
  local t0 t1
  t0=$(date +%s%N)
  LIENTHONG_DATABASE_URL="postgresql:///$1?host=$sock&user=lienthong" \
    LIENTHONG_CATALOG_URL="http://127.0.0.1:$port" LIENTHONG_CATALOG_CONCURRENCY="$2" \
    timeout -k 5 "$total_timeout" "$bin" catalog sync --json >"$tmp/$1.out" 2>"$tmp/$1.log" ||
    die "sync into $1 failed (see $tmp/$1.log)"
  t1=$(date +%s%N)
  [ "$(jq -r .added "$tmp/$1.out")" = "$count" ] || die "sync into $1 added $(jq -r .added "$tmp/$1.out"), not $count"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'
}
log "sync of $count procedures at ${latency} ms a call, $conc in flight"
t_par=$(sync parallel "$conc")
in_flight=$(jq -r '.api.max_in_flight // empty' "$tmp/parallel.out")
log "the same, one call at a time (~$((count * latency / 1000)) s)"
t_ser=$(sync serial 1)

printf '| sync over the national protocol | procedures | latency per call | calls in flight | time (s) | ratio |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: |\n'
printf '| one call at a time (baseline) | %d | %d ms | 1 | %s | 1.00 |\n' "$count" "$latency" "$t_ser"
printf '| catalog.concurrency=%d | %d | %d ms | %s | %s | %s× faster |\n' "$conc" "$count" "$latency" \
  "${in_flight:-?}" "$t_par" "$(awk -v a="$t_ser" -v b="$t_par" 'BEGIN { printf "%.1f", a / b }')"
