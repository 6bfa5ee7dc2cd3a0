#!/usr/bin/env bash
# HTTP front: errors in the contract's JSON shape (404, 405 with Allow, 413
# before the body is read), and SIGHUP reloads what can be reloaded while a
# bad configuration is refused without stopping the gateway.
source "$(dirname "$0")/lib.sh"

lt_pg_start pg
conf="$LT_TMP/gw.json"
echo '{"http": {"max_body": "1KiB"}, "log": {"level": "info"}}' >"$conf"
lt_gw_start gw LIENTHONG_DATABASE_URL="$LT_PG_URL" -- --config "$conf"
lt_wait 30 status_is gw /readyz 200 || lt_fail "not ready"

r=$(lt_http gw /v1/nothing-here)
lt_assert_eq 404 "${r%% *}" "unknown path"
lt_assert_eq not_found "$(jq -r .error.code <<<"${r#* }")" "404 error code"
r=$(lt_http gw /healthz -X DELETE)
lt_assert_eq 405 "${r%% *}" "wrong method"
lt_assert_eq method_not_allowed "$(jq -r .error.code <<<"${r#* }")" "405 error code"
headers=$(curl -s -D - -o /dev/null -X DELETE "$(lt_url gw /healthz)")
lt_assert_contains "$headers" "Allow: GET" "Allow header on 405"

# 1.5 KiB against a 1 KiB limit: refused from the Content-Length alone.
head -c 1536 /dev/zero | tr '\0' 'a' >"$LT_TMP/big"
r=$(lt_http gw /healthz -X POST -H 'Content-Type: application/json' --data-binary @"$LT_TMP/big")
lt_assert_eq 413 "${r%% *}" "body over http.max_body"
lt_assert_eq too_large "$(jq -r .error.code <<<"${r#* }")" "413 error code"
# Chunked (no Content-Length): refused while streaming.
r=$(lt_http gw /healthz -X POST -H 'Transfer-Encoding: chunked' --data-binary @"$LT_TMP/big")
lt_assert_eq 413 "${r%% *}" "chunked body over http.max_body"
lt_assert_eq 200 "$(lt_status gw /healthz)" "still serving after 413"

# SIGHUP: http.max_body is reloadable, routing.model needs a restart.
echo '{"http": {"max_body": "2KiB"}, "routing": {"model": "2-tier"}, "log": {"level": "debug"}}' >"$conf"
kill -HUP "${LT_GW_PID[gw]}"
lt_wait 5 grep -q 'reloadable key(s) changed' "$LT_TMP/gw.log" || lt_fail "no reload"
grep -q 'need a restart to take effect: routing.model' "$LT_TMP/gw.log" ||
  lt_fail "restart-only key not reported"
lt_wait 5 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @$LT_TMP/big $(lt_url gw /healthz))\" = 405 ]" ||
  lt_fail "http.max_body not reloaded"

# A broken file on SIGHUP is refused; the gateway keeps its configuration.
echo '{"http": {"max_body": "lots"}}' >"$conf"
kill -HUP "${LT_GW_PID[gw]}"
lt_wait 5 grep -q 'reload refused' "$LT_TMP/gw.log" || lt_fail "bad reload not refused"
grep 'reload refused' "$LT_TMP/gw.log" | grep -q 'http.max_body' || lt_fail "refusal does not name the key"
lt_assert_eq 200 "$(lt_status gw /readyz)" "serving after a refused reload"
lt_gw_stop gw TERM
lt_log "ok"
