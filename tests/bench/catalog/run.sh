#!/usr/bin/env bash
# Catalog sync benchmark (README.md next to this file): `lienthong catalog
# sync --file` of generated exports against a throwaway PostgreSQL with fsync
# on, each figure next to a baseline measured in the same run:
#
#   1. full sync of SMALL (2,000) and BIG (100,000) procedures, each against a
#      raw COPY of the same rows (same columns, the normalized record as jsonb
#      and its hash) into a table shaped like `procedures`;
#   2. an unchanged re-sync of BIG;
#   3. a re-sync of BIG with 1 % of the records changed;
#   4. the sync process's peak RSS (SMALL against BIG).
#
# Prints a Markdown table. Bounded: every step runs under `timeout`, the whole
# run under a watchdog, and everything started (PostgreSQL included) is
# stopped by PID on exit, failure or time-out. Loopback only: PostgreSQL
# listens on a Unix socket in a private directory.
#
# Builds Release first (tests/bench/lib.sh bench_build).
#
# Environment: LT_BUILD_DIR (default ./build-release), LT_BENCH_SMALL,
# LT_BENCH_BIG, LT_BENCH_CHANGE (percent, default 1), LT_BENCH_STEP_TIMEOUT
# (s, default 240), LT_BENCH_TIMEOUT (s, whole run, default 900); for profiling,
# LT_BENCH_PG_OPTS (more server options, e.g. "-c log_min_duration_statement=0")
# and LT_BENCH_KEEP=1 (keep the scratch directory and its logs).
set -euo pipefail

src=$(cd "$(dirname "$0")/../../.." && pwd)
small=${LT_BENCH_SMALL:-2000}
big=${LT_BENCH_BIG:-100000}
change=${LT_BENCH_CHANGE:-1}
step_timeout=${LT_BENCH_STEP_TIMEOUT:-240}
total_timeout=${LT_BENCH_TIMEOUT:-900}
pg_bin=${LT_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

bench_name=catalog
# shellcheck source=../lib.sh
. "$src/tests/bench/lib.sh"

bench_build lienthong lt_gencatalog bench_catalog_rows
bin=$build/gateway/lienthong
gen=$build/tests/lt_gencatalog
rows=$build/tests/bench/catalog/bench_catalog_rows
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (Debian package 'time'; deploy/install-deps.sh installs it)"
[ -x "$pg_bin/initdb" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"

bench_init catalog "$total_timeout"
bench_pg_start
q() { psql "$(url "$1")" -qAt -v ON_ERROR_STOP=1 -c "$2"; }

# ---- timing -------------------------------------------------------------------
# timed NAME CMD...: runs CMD under timeout and /usr/bin/time; sets
# T[NAME] (wall seconds) and RSS[NAME] (peak RSS, KiB). CMD's stdout goes to
# $tmp/NAME.out, its stderr to $tmp/NAME.log.
declare -A T RSS
timed() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  timeout -k 5 "$step_timeout" /usr/bin/time -f '%M' -o "$tmp/$name.rss" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.log" || die "$name: exit $? (see $tmp/$name.log)"
  t1=$(date +%s%N)
  T[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  RSS[$name]=$(tail -1 "$tmp/$name.rss")
  log "$name: ${T[$name]} s, peak RSS ${RSS[$name]} KiB"
}

# The checkpoint before each timed step keeps one step's dirty pages from
# being written during the next one.
checkpoint() { q "$1" "CHECKPOINT" >/dev/null; }

# expect NAME 'jq expression' VALUE: what the sync says it did.
expect() {
  local got
  got=$(jq -r "$2" "$tmp/$1.out")
  [ "$got" = "$3" ] || die "$1: expected $2 = $3, got $got"
}

# prepare DB: an empty database, migrated (untimed; a sync migrates first
# otherwise), with raw_procedures shaped like procedures (columns, generated
# column, defaults, checks, indexes; not the foreign key, nothing to point at).
prepare() {
  psql "host=$sock user=lienthong dbname=postgres" -qc "CREATE DATABASE $1"
  LIENTHONG_DATABASE_URL=$(url "$1") timeout "$step_timeout" "$bin" migrate \
    >"$tmp/migrate-$1.log" 2>&1 || die "migrate $1 failed"
  q "$1" "CREATE TABLE raw_procedures (LIKE procedures INCLUDING ALL);
          ALTER TABLE raw_procedures ALTER COLUMN catalog_version SET DEFAULT 1"
}

# The steps: timeout runs commands, not shell functions.
copy_cmd() { # DB ROWSFILE
  cmd=(psql "$(url "$1")" -qAt -v ON_ERROR_STOP=1 -c "\\copy raw_procedures (code, base_code, name, levels, status, field_code, content_hash, record) FROM '$2'")
}
sync_cmd() { # DB FILE
  cmd=(env LIENTHONG_DATABASE_URL="$(url "$1")" "$bin" catalog sync --file "$2" --json)
}

# Other work on the machine moves absolute times (a shared 2-CPU VM); the
# load average before and after is printed with the results.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- inputs (untimed) -------------------------------------------------------------
log "PostgreSQL $pg_version, fsync on; generating $small and $big procedures (+${change}% changed)"
timeout "$step_timeout" "$gen" --count "$small" >"$tmp/small.json"
timeout "$step_timeout" "$gen" --count "$big" >"$tmp/big.json"
timeout "$step_timeout" "$gen" --count "$big" --change "$change" >"$tmp/big-changed.json"
log "normalizing the baseline rows"
timeout "$step_timeout" "$rows" "$tmp/small.json" >"$tmp/small.copy"
timeout "$step_timeout" "$rows" "$tmp/big.json" >"$tmp/big.copy"
n_changed=$(awk -v n="$big" -v p="$change" 'BEGIN { printf "%d", n * p / 100 + 0.5 }')
# The inputs are ~800 MB of dirty page cache: written back now, not while
# the first (small) steps are timed.
sync

# ---- 1. full sync against a raw COPY, SMALL then BIG ---------------------------------
for size in small big; do
  n=${!size}
  prepare "b_$size"
  checkpoint "b_$size"
  copy_cmd "b_$size" "$tmp/$size.copy"
  timed "raw_$size" "${cmd[@]}"
  [ "$(q "b_$size" "SELECT count(*) FROM raw_procedures")" = "$n" ] || die "raw copy of $size"
  checkpoint "b_$size"
  sync_cmd "b_$size" "$tmp/$size.json"
  timed "sync_$size" "${cmd[@]}"
  expect "sync_$size" '"\(.added) \(.changed) \(.unchanged)"' "$n 0 0"
  # The sync normalizes in one pass over the bytes; the baseline's rows come
  # from the jansson path (bench_catalog_rows). Both must store the same.
  [ "$(q "b_$size" "SELECT count(*) FROM procedures p FULL JOIN raw_procedures r USING (code)
                    WHERE p.content_hash IS DISTINCT FROM r.content_hash
                       OR p.record IS DISTINCT FROM r.record OR p.levels IS DISTINCT FROM r.levels
                       OR p.field_code IS DISTINCT FROM r.field_code
                       OR p.base_code IS DISTINCT FROM r.base_code")" = 0 ] ||
    die "sync_$size: the stored procedures differ from the baseline's rows"
done

# ---- 2. unchanged re-sync of BIG; 3. BIG with CHANGE % changed ------------------------
checkpoint b_big
sync_cmd b_big "$tmp/big.json"
timed resync_same "${cmd[@]}"
expect resync_same '"\(.added) \(.changed) \(.unchanged) \(.version)"' "0 0 $big null"
checkpoint b_big
sync_cmd b_big "$tmp/big-changed.json"
timed resync_changed "${cmd[@]}"
expect resync_changed '"\(.added) \(.changed) \(.unchanged)"' "0 $n_changed $((big - n_changed))"

# ---- report -------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
verdict() { awk -v v="$1" -v lim="$2" 'BEGIN { print (v <= lim ? "met" : "MISSED") }'; }
cat <<EOF

Catalog sync, PostgreSQL $pg_version (fsync on), $(nproc) CPUs, build $build_type, $(date +%F);
load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)

| step | records | time (s) | baseline (s) | ratio | peak RSS (MiB) | aim |
| --- | ---: | ---: | ---: | ---: | ---: | --- |
| raw COPY of the normalized rows | $small | ${T[raw_small]} | | 1.00 | | baseline |
| full sync (empty catalog) | $small | ${T[sync_small]} | ${T[raw_small]} | $(ratio "${T[sync_small]}" "${T[raw_small]}") | $(mib "${RSS[sync_small]}") | ≤ 3×: $(verdict "$(ratio "${T[sync_small]}" "${T[raw_small]}")" 3) |
| raw COPY of the normalized rows | $big | ${T[raw_big]} | | 1.00 | | baseline |
| full sync (empty catalog) | $big | ${T[sync_big]} | ${T[raw_big]} | $(ratio "${T[sync_big]}" "${T[raw_big]}") | $(mib "${RSS[sync_big]}") | ≤ 3×: $(verdict "$(ratio "${T[sync_big]}" "${T[raw_big]}")" 3) |
| unchanged re-sync | $big | ${T[resync_same]} | ${T[raw_big]} | $(ratio "${T[resync_same]}" "${T[raw_big]}") | $(mib "${RSS[resync_same]}") | ≤ 1 s: $(verdict "${T[resync_same]}" 1) |
| re-sync, $change % changed ($n_changed) | $big | ${T[resync_changed]} | ${T[raw_big]} | $(ratio "${T[resync_changed]}" "${T[raw_big]}") | $(mib "${RSS[resync_changed]}") | |

Peak RSS of the sync, $big against $small records: $(ratio "${RSS[sync_big]}" "${RSS[sync_small]}")× (aim: flat, ~1×)
EOF
