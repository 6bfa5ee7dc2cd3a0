#!/usr/bin/env bash
# The command line: help for every command, usage errors exit 2, version
# --json is JSON, global options stand before or after the command.
source "$(dirname "$0")/lib.sh"

for c in serve migrate version help; do
  out=$("$LIENTHONG_BIN" "$c" --help) || lt_fail "$c --help failed"
  lt_assert_contains "$out" "usage: lienthong $c" "$c --help"
  lt_assert_eq "$out" "$("$LIENTHONG_BIN" help "$c")" "help $c and $c --help agree"
done
out=$("$LIENTHONG_BIN" --help)
for c in serve migrate version; do lt_assert_contains "$out" "  $c " "command list"; done

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
