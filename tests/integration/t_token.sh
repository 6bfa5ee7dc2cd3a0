#!/usr/bin/env bash
# `lienthong token create|list|revoke`: the token is printed once (last line,
# or {"token"} with --json) and stored only as a salted hash; list never shows
# it; revoke by id or prefix; unit-scoped roles need a known unit; usage
# errors exit 2 before any database work.
source "$(dirname "$0")/lib.sh"

lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
"$LIENTHONG_BIN" units import "$LT_SOURCE_DIR/deploy/units/example-3tier.json" >/dev/null ||
  lt_fail "units import failed"

out=$("$LIENTHONG_BIN" token create --unit 08707 --role ward 2>"$LT_TMP/create.err") ||
  lt_fail "token create failed: $(cat "$LT_TMP/create.err")"
token=$(tail -n 1 <<<"$out")
[[ "$token" =~ ^lt_[0-9a-f]{10}_[A-Za-z0-9_-]{43}$ ]] || lt_fail "token shape: [$token]"
prefix=${token:3:10}

# Only a salted hash is stored: neither the token nor its secret is in the table.
dump=$(lt_psql "$LT_PG_URL" "SELECT token_hash || ' ' || token_prefix || ' ' || role || ' ' || unit_code FROM credentials")
case "$dump" in *"${token#lt_*_}"*) lt_fail "the token's secret is stored" ;; esac
lt_assert_contains "$dump" "$prefix ward 08707" "stored row"
lt_assert_contains "$dump" 'b2k$' "hash form"

json=$("$LIENTHONG_BIN" token create --role operator --json)
op_token=$(jq -r .token <<<"$json")
op_id=$(jq -r .id <<<"$json")
[ "$op_token" != "$token" ] && [ -n "$op_token" ] || lt_fail "second token"
lt_assert_eq operator "$(jq -r .role <<<"$json")" "--json role"
lt_assert_eq null "$(jq -r .unit <<<"$json")" "--json unit of an operator token"

list=$("$LIENTHONG_BIN" token list)
lt_assert_contains "$list" "$prefix" "list shows the prefix"
case "$list" in *"$token"* | *"$op_token"*) lt_fail "list printed a token" ;; esac
lt_assert_eq 2 "$("$LIENTHONG_BIN" token list --json | jq '.tokens | length')" "two active tokens"
lt_assert_eq 1 "$("$LIENTHONG_BIN" token list --unit 08707 --json | jq '.tokens | length')" \
  "tokens of one unit"

# Revoke by prefix, then by id; revoked ones show only with --all.
out=$("$LIENTHONG_BIN" token revoke "$prefix") || lt_fail "revoke by prefix"
lt_assert_contains "$out" "revoked" "revoke message"
"$LIENTHONG_BIN" token revoke "$op_id" >/dev/null || lt_fail "revoke by id"
lt_assert_eq 0 "$("$LIENTHONG_BIN" token list --json | jq '.tokens | length')" "active after revoke"
lt_assert_eq 2 "$("$LIENTHONG_BIN" token list --all --json | jq '[.tokens[] | select(.revoked != "")] | length')" \
  "revoked ones kept for the audit trail"
rc=0; "$LIENTHONG_BIN" token revoke "$prefix" 2>/dev/null || rc=$?
lt_assert_eq 1 "$rc" "revoking twice"

# Refusals.
rc=0; out=$("$LIENTHONG_BIN" token create --unit 99999 --role ward 2>&1) || rc=$?
lt_assert_eq 1 "$rc" "unknown unit"
lt_assert_contains "$out" "unit 99999 is not in the unit tree" "unknown unit message"
for args in "create --role ward" "create --unit 08707 --role admin" "create" "frob" \
  "revoke" "list extra"; do
  rc=0
  # shellcheck disable=SC2086
  LIENTHONG_DATABASE_URL="postgresql:///nowhere?host=/nonexistent" \
    "$LIENTHONG_BIN" token $args >/dev/null 2>&1 || rc=$?
  lt_assert_eq 2 "$rc" "usage error for: token $args"
done
# The token never reaches a log line or stderr.
case "$(cat "$LT_TMP"/*.err 2>/dev/null)" in *"$token"*) lt_fail "token in stderr" ;; esac
lt_log "ok"
