# shellcheck shell=bash
# Shared by the benchmarks (tests/bench/*/run.sh): a scratch directory, a
# throwaway PostgreSQL as in production (fsync on) on a private Unix socket,
# a watchdog for the whole run, and a cleanup that stops what was started by
# PID. Each benchmark sources this file, calls bench_init, registers its own
# processes with bench_track, and lets the EXIT trap do the rest.
#
# Why a library: four scripts carried the same forty lines of start, stop
# and watchdog, and a fix to one (the KILL after a hung shutdown) had to be
# made four times.
#
# `bench_fixture URL UNIT`: a migrated database with units, one procedure and
# a ward token ($token).
# `bench_build TARGETS...` (before bench_init: a first Release build takes
# minutes, and the watchdog is for the measurement): $build, absolute.
# After `bench_init NAME TIMEOUT`: $tmp $pgdata $sock $pg_bin, log, die,
# as_pg. After `bench_pg_start [OPTIONS]`: $pg_version $pm_pid, url DB,
# and the CPU accounting (ticks, pg_ticks, cpu_pct).
# A benchmark may define bench_on_exit (called first by the cleanup, with
# errexit off) to stop what bench_track does not know about.

# bench_init NAME TIMEOUT: the scratch directory and the watchdog.
bench_init() {
  bench_name=$1
  bench_timeout=$2
  pg_bin=${pg_bin:-${LT_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}}
  [ -x "$pg_bin/initdb" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
  # Short path: a Unix socket address holds ~107 bytes.
  tmp=$(mktemp -d "/tmp/lt-$bench_name.XXXXXX")
  chmod 755 "$tmp"
  pgdata=$tmp/pg/data
  sock=$tmp/pg/sock
  bench_pids=()
  bench_pg_started=0
  trap bench_cleanup EXIT
  trap 'log "time limit reached"; exit 124' TERM INT
  # The watchdog holds none of our output descriptors and takes its sleep
  # along when it is killed.
  bash -c 'sleep "$1" & s=$!; trap "kill $s; exit 0" TERM; wait $s; kill -TERM "$2"' \
    watchdog "$bench_timeout" $$ </dev/null >/dev/null 2>&1 &
  bench_watchdog=$!
}

# bench_build TARGETS...: configures a Release tree in $build (default
# LT_BUILD_DIR, else ./build-release under $src) and builds TARGETS there,
# each step bounded, its output in $build/bench-*.log; leaves $build
# absolute and $build_type (for the report). A tree configured otherwise (a reused LT_BUILD_DIR) is warned
# about: the figures are meant for Release.
bench_build() {
  build=${build:-${LT_BUILD_DIR:-$src/build-release}}
  log "building Release in $build"
  mkdir -p "$build"
  timeout 1800 cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$build/bench-cmake.log" 2>&1 ||
    die "cmake failed (see $build/bench-cmake.log)"
  timeout 1800 cmake --build "$build" -j2 --target "$@" >"$build/bench-build.log" 2>&1 ||
    die "build failed (see $build/bench-build.log)"
  build=$(cd "$build" && pwd)
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
  [ "$build_type" = Release ] || log "warning: $build is a '${build_type:-unknown}' build; figures are meant for Release"
}

log() { printf '[%s %s-bench] %s\n' "$(date +%T)" "${bench_name:-?}" "$*" >&2; }
die() {
  log "FAIL: $*"
  exit 1
}
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# bench_track PID: stopped (TERM, then KILL after 10 s) by the cleanup.
bench_track() { bench_pids+=("$1"); }

# bench_stop PID: TERM, wait up to 10 s, KILL.
bench_stop() {
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
}

# bench_pg_start [SERVER OPTIONS...]: initdb and start, fsync and
# synchronous_commit on; $LT_BENCH_PG_OPTS adds options (profiling).
bench_pg_start() {
  mkdir -p "$sock"
  [ "$(id -u)" -eq 0 ] && chown -R postgres "$tmp/pg"
  as_pg "$pg_bin/initdb" -D "$pgdata" -U lienthong --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-instructions >"$tmp/initdb.log" 2>&1 || die "initdb failed"
  bench_pg_started=1
  as_pg "$pg_bin/pg_ctl" -D "$pgdata" -l "$tmp/pg/postgres.log" -w -t 60 \
    -o "-c listen_addresses= -k $sock -c fsync=on -c synchronous_commit=on $* ${LT_BENCH_PG_OPTS:-}" \
    start >/dev/null || die "PostgreSQL did not start"
  pg_version=$(psql "host=$sock user=lienthong dbname=postgres" -qAtc "SHOW server_version")
  [ "$(psql "host=$sock user=lienthong dbname=postgres" -qAtc "SHOW fsync")" = on ] || die "fsync is off"
  pm_pid=$(head -1 "$pgdata/postmaster.pid")
}

url() { echo "postgresql:///$1?host=$sock&user=lienthong"; }

# CPU accounting from /proc, in clock ticks: where the time of a case went.
# ticks PID [with-reaped]: utime + stime (+ cutime + cstime) of a process.
# pg_ticks: our PostgreSQL's, the postmaster (with the children it already
# reaped) and its live children (backends, checkpointer, WAL writer).
# cpu_pct TICKS SECONDS: percent of one core.
ticks() {
  [ -r "/proc/$1/stat" ] || { echo 0; return; }
  sed 's/^.*) //' "/proc/$1/stat" | awk -v r="${2:-}" '{ print $12 + $13 + (r ? $14 + $15 : 0) }'
}
pg_ticks() {
  local t p
  t=$(ticks "$pm_pid" reaped)
  for p in $(pgrep -P "$pm_pid"); do t=$((t + $(ticks "$p"))); done
  echo "$t"
}
cpu_pct() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v s="$2" 'BEGIN { printf "%.0f", t / hz / s * 100 }'; }

# Our PostgreSQL, by the PID it wrote: a fast shutdown, then KILL if it hangs.
bench_pg_stop() {
  [ "$bench_pg_started" = 1 ] && [ -f "$pgdata/postmaster.pid" ] || return 0
  local pm
  pm=$(head -1 "$pgdata/postmaster.pid")
  [ -n "$pm" ] || return 0
  kill -INT "$pm" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pm" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pm" 2>/dev/null
}

bench_cleanup() {
  local rc=$? p
  set +e
  trap - EXIT TERM INT
  [ -n "${bench_watchdog:-}" ] && kill "$bench_watchdog" 2>/dev/null
  declare -F bench_on_exit >/dev/null && bench_on_exit
  for p in "${bench_pids[@]}"; do bench_stop "$p"; done
  bench_pg_stop
  if [ $rc -ne 0 ]; then
    log "failed (exit $rc); logs kept in $tmp"
    tail -n 20 "$tmp"/*.log "$tmp/pg/postgres.log" 2>/dev/null >&2
  elif [ "${LT_BENCH_KEEP:-0}" = 1 ]; then
    log "logs kept in $tmp"
  else
    rm -rf "$tmp"
  fi
  exit $rc
}

# bench_fixture URL UNIT: the database at URL migrated, the example
# three-tier unit tree imported, one commune-level procedure (2.000908:
# the portal is its only destination) in the catalog, and a ward token of
# UNIT in $token. Logs in $tmp/{migrate,units,catalog}.log.
bench_fixture() {
  local url=$1 unit=$2
  LIENTHONG_DATABASE_URL=$url timeout 120 "$bin" migrate >"$tmp/migrate.log" 2>&1 || die "migrate failed"
  LIENTHONG_DATABASE_URL=$url timeout 120 "$bin" units import "$src/deploy/units/example-3tier.json" \
    >"$tmp/units.log" 2>&1 || die "units import failed"
  cat >"$tmp/catalog.json" <<'JSON'
[{"MATTHC": "2.000908", "TENTTHC": "Cấp bản sao trích lục hộ tịch", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}]}]
JSON
  LIENTHONG_DATABASE_URL=$url timeout 120 "$bin" catalog sync --file "$tmp/catalog.json" \
    >"$tmp/catalog.log" 2>&1 || die "catalog sync failed"
  token=$(LIENTHONG_DATABASE_URL=$url timeout 60 "$bin" token create --unit "$unit" --role ward --json |
    jq -r .token)
  [ -n "$token" ] && [ "$token" != null ] || die "token create failed"
}
