#!/usr/bin/env bash
# Token expiry and rotation without downtime, and the audit log (issue 9).
# A token created with --expires works until then; rotate makes a new token
# for the same unit and role while the old one keeps working for the grace
# period, then only the new one works, in a running gateway, without a
# restart. Every create, rotate and revoke leaves an audit_log row with the
# OS user; the audit log refuses UPDATE and DELETE, and lt_audit_purge
# removes only rows older than it is told.
source "$(dirname "$0")/lib.sh"

lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
q() { lt_psql "$LT_PG_URL" "$1"; }
lt="$LIENTHONG_BIN"
"$lt" units import "$LT_SOURCE_DIR/deploy/units/example-3tier.json" >/dev/null ||
  lt_fail "units import failed"
# No purge job in the gateway: this test ages an audit row and purges it
# itself, and the job (a retry a minute after a failed first run) could
# take the row first.
lt_gw_start gw LIENTHONG_RETENTION_INTERVAL=0s
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"
# An authorized read of an unknown dossier is 404; a refused token is 401.
read_as() { lt_status gw /v1/dossiers/000.01.22.H56-250101-0001 -H "Authorization: Bearer $1"; }

# ---- usage ------------------------------------------------------------------------
for args in "create --role ward --unit 08707 --expires soon" "create --role operator --expires 2027-13-01" \
  "rotate" "rotate 1 --grace x" "create --role operator --grace 1d" "list --expires 1d"; do
  rc=0
  # shellcheck disable=SC2086
  LIENTHONG_DATABASE_URL="postgresql:///nowhere?host=/nonexistent" "$lt" token $args \
    >/dev/null 2>"$LT_TMP/usage.err" || rc=$?
  lt_assert_eq 2 "$rc" "usage error for: token $args"
done

# ---- expiry ---------------------------------------------------------------------
json=$("$lt" token create --unit 08707 --role ward --expires 2d --json) || lt_fail "create --expires"
t1=$(jq -r .token <<<"$json")
[ "$(jq -r .expires <<<"$json")" != null ] || lt_fail "--json shows the expiry"
lt_assert_eq 404 "$(read_as "$t1")" "a token before its expiry works"
day=$("$lt" token create --role reader --expires 2099-01-01 --json) || lt_fail "create --expires DAY"
lt_assert_eq "2099-01-01 00:00" "$(jq -r .expires <<<"$day")" "a day is midnight in Asia/Ho_Chi_Minh"
# Its time passes (moved into the past rather than waited for).
q "UPDATE credentials SET expires_at = now() - interval '1 second' WHERE token_prefix = '${t1:3:10}'"
lt_assert_eq 401 "$(read_as "$t1")" "an expired token is refused at once"
lt_assert_contains "$(lt_http gw /v1/dossiers/x -H "Authorization: Bearer $t1")" "expired" \
  "the 401 says expiry is among the reasons"
lt_assert_eq 0 "$("$lt" token list --unit 08707 --json | jq '.tokens | length')" \
  "an expired token is not listed as active"
lt_assert_eq 1 "$("$lt" token list --unit 08707 --all --json | jq '.tokens | length')" \
  "--all lists it"

# ---- rotation ---------------------------------------------------------------------
old=$("$lt" token create --unit 08710 --role ward --json | jq -r .token)
lt_assert_eq 404 "$(read_as "$old")" "the token to rotate works"
out=$("$lt" token rotate "${old:3:10}" --grace 1d) || lt_fail "rotate"
new=$(tail -n 1 <<<"$out")
[[ "$new" =~ ^lt_[0-9a-f]{10}_ ]] && [ "$new" != "$old" ] || lt_fail "rotate printed no new token"
lt_assert_contains "$out" "keeps working until" "rotate says until when the old one works"
lt_assert_eq 404 "$(read_as "$old")" "during the grace period the old token works"
lt_assert_eq 404 "$(read_as "$new")" "and so does the new one"
lt_assert_eq "ward|08710" "$(q "SELECT role || '|' || unit_code FROM credentials WHERE token_prefix = '${new:3:10}'")" \
  "the new token has the old one's role and unit"
lt_assert_eq 1 "$(q "SELECT count(*) FROM credentials o JOIN credentials n ON n.id = o.replaced_by
  WHERE o.token_prefix = '${old:3:10}' AND n.token_prefix = '${new:3:10}'")" "replaced_by links them"
# A second rotation with no grace ends the (new) old token at once.
newer=$("$lt" token rotate "${new:3:10}" --grace 0m --json | jq -r .token) || lt_fail "rotate --grace 0m"
lt_assert_eq 401 "$(read_as "$new")" "--grace 0m: the rotated token stops at once"
lt_assert_eq 404 "$(read_as "$newer")" "its replacement works"
rc=0; "$lt" token rotate "${new:3:10}" 2>"$LT_TMP/rot.err" || rc=$?
lt_assert_eq 1 "$rc" "a token that no longer works cannot be rotated"
"$lt" token revoke "${newer:3:10}" >/dev/null || lt_fail "revoke"
lt_assert_eq 401 "$(read_as "$newer")" "revoked"

# ---- the audit log ---------------------------------------------------------------
me=$(id -un)
lt_assert_eq "token.create|3 token.revoke|1 token.rotate|2" \
  "$(q "SELECT string_agg(action || '|' || n, ' ' ORDER BY action) FROM
        (SELECT action, count(*) n FROM audit_log GROUP BY action) x")" "one audit row per action"
lt_assert_eq "0" "$(q "SELECT count(*) FROM audit_log WHERE actor <> 'cli:$me'")" "actor is the OS user"
lt_assert_eq "1" "$(q "SELECT count(*) FROM audit_log WHERE action = 'token.rotate'
  AND target = '${old:3:10}' AND detail->>'new_prefix' = '${new:3:10}'")" "rotation row names both"
# No token in the audit log, only prefixes.
case "$(q "SELECT string_agg(coalesce(target,'') || coalesce(detail::text,''), ' ') FROM audit_log")" in
  *"${old#lt_*_}"* | *"${new#lt_*_}"*) lt_fail "a token secret is in the audit log" ;;
esac
rc=0; q "UPDATE audit_log SET actor = 'someone else'" 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] || lt_fail "the audit log accepted an UPDATE"
rc=0; q "DELETE FROM audit_log" 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] || lt_fail "the audit log accepted a DELETE"
lt_assert_eq 6 "$(q "SELECT count(*) FROM audit_log")" "audit rows intact"
# Retention: only rows older than what purge is given go.
q "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
   UPDATE audit_log SET at = now() - interval '100 days' WHERE action = 'token.revoke';
   ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only" >/dev/null
lt_assert_eq 1 "$(q "SELECT lt_audit_purge(interval '90 days', 1000)")" "purge removes the old row"
lt_assert_eq 5 "$(q "SELECT count(*) FROM audit_log")" "and keeps the rest"
rc=0; q "SELECT lt_audit_purge(interval '1 hour', 10)" 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] || lt_fail "purge accepted a retention under a day"
lt_gw_stop gw
lt_log "ok"
