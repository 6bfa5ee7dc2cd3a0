#!/usr/bin/env bash
# The command line: help for every command, usage errors exit 2, version
# --json is JSON, global options stand before or after the command.
source "$(dirname "$0")/lib.sh"

# Every command of DESIGN.md's command line: its help (the same text both
# ways, listed at the top level), and an unknown option refused with exit 2
# before anything is opened: the database URL below answers nothing, so a
# command that connected first would exit 1, not 2.
commands=(serve migrate check units catalog status report replay deadletters rejects token keygen
  verify demo version help)
top=$("$LIENTHONG_BIN" --help)
export LIENTHONG_DATABASE_URL='postgresql://127.0.0.1:1/none?connect_timeout=1'
export LIENTHONG_DATA_DIR=$LT_TMP/no-data
for c in "${commands[@]}"; do
  out=$("$LIENTHONG_BIN" "$c" --help) || lt_fail "$c --help failed"
  lt_assert_contains "$out" "usage: lienthong $c" "$c --help"
  lt_assert_eq "$out" "$("$LIENTHONG_BIN" help "$c")" "help $c and $c --help agree"
  lt_assert_contains "$top" "  $c " "the command list names $c"
  rc=0; err=$(timeout 30 "$LIENTHONG_BIN" "$c" --bogus 2>&1 >/dev/null) || rc=$?
  lt_assert_eq 2 "$rc" "$c --bogus exit status"
  # It names the option, or, for a command that takes an action first, the actions.
  case $err in
  *--bogus* | *"which action?"*) ;;
  *) lt_fail "$c --bogus: the message names neither the option nor the actions: $err" ;;
  esac
done
[ ! -e "$LT_TMP/no-data" ] || lt_fail "a usage error created the data directory"
unset LIENTHONG_DATABASE_URL LIENTHONG_DATA_DIR

rc=0; out=$("$LIENTHONG_BIN" frobnicate 2>&1) || rc=$?
lt_assert_eq 2 "$rc" "unknown command exit status"
lt_assert_contains "$out" "unknown command frobnicate" "unknown command message"
rc=0; "$LIENTHONG_BIN" >/dev/null 2>&1 || rc=$?
lt_assert_eq 2 "$rc" "no command exit status"
rc=0; out=$("$LIENTHONG_BIN" serve --bogus 2>&1) || rc=$?
lt_assert_eq 2 "$rc" "unknown option exit status"
lt_assert_contains "$out" "unknown option --bogus" "unknown option message"
rc=0; "$LIENTHONG_BIN" serve --config 2>/dev/null || rc=$?
lt_assert_eq 2 "$rc" "--config without a file"

v=$("$LIENTHONG_BIN" version --json | jq -r .version) || lt_fail "version --json is not JSON"
[ -n "$v" ] && [ "$v" != null ] || lt_fail "version --json has no version"
lt_assert_eq "$v" "$("$LIENTHONG_BIN" --json version | jq -r .version)" "--json before the command"
lt_assert_contains "$("$LIENTHONG_BIN" version)" "lienthong $v" "version text"
lt_log "ok"
