#!/usr/bin/env bash
# SIGTERM with a request in flight: the HTTP front stops accepting, the
# request in progress still gets its whole answer (here a GET /v1/catalog
# held up by a lock in the database), and only then does the gateway exit 0.
source "$(dirname "$0")/lib.sh"

lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
"$LT_GENCATALOG" --count 20 >"$LT_TMP/c.json"
"$LIENTHONG_BIN" catalog sync --file "$LT_TMP/c.json" >/dev/null 2>&1 || lt_fail "sync"
lt_gw_start gw
lt_wait 60 status_is gw /readyz 200 || lt_fail "not ready"

# Hold the catalog for 2 s, so the reader's query waits on the lock.
psql "$LT_PG_URL" -qc "BEGIN; LOCK TABLE procedures IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2); COMMIT;" \
  >/dev/null 2>&1 &
LT_PIDS+=("$!")
sleep 0.3
curl -s -m 20 -o "$LT_TMP/answer" -w '%{http_code}' "$(lt_url gw /v1/catalog?limit=5)" >"$LT_TMP/status" &
curl_pid=$!
sleep 0.5
kill -0 "$curl_pid" 2>/dev/null || lt_fail "the request was answered before the lock let go: $(cat "$LT_TMP/status")"
lt_gw_stop gw TERM # fails unless the gateway exits 0
wait "$curl_pid" || lt_fail "the request in flight was cut off (curl exit $?)"
lt_assert_eq 200 "$(cat "$LT_TMP/status")" "status of the request in flight"
lt_assert_eq 5 "$(jq '.procedures | length' "$LT_TMP/answer")" "its whole answer"
grep -q "no longer accepting connections; 1 request(s) in progress" "$LT_TMP/gw.log" ||
  lt_fail "the drain did not see the request in progress"
lt_log "ok"
