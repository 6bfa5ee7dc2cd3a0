#!/usr/bin/env bash
# Losing the database makes /readyz 503 (with Retry-After and a reason)
# within a second or two while /healthz stays 200; when the database comes
# back the gateway recovers by itself. Readiness also covers the schema:
# when the database lacks a migration the gateway knows, /readyz is 503.
source "$(dirname "$0")/lib.sh"

lt_pg_start pg
lt_gw_start gw LIENTHONG_DATABASE_URL="$LT_PG_URL" LIENTHONG_DATABASE_HEALTH_INTERVAL=200ms
lt_wait 30 status_is gw /readyz 200 || lt_fail "not ready at start: $(lt_http gw /readyz)"

lt_pg_stop pg fast
# A functional deadline: operators' load balancers poll readiness.
lt_wait 2 status_is gw /readyz 503 || lt_fail "readyz still $(lt_status gw /readyz) 2 s after the database stopped"
lt_assert_eq 200 "$(lt_status gw /healthz)" "healthz while the database is down"
body=$(lt_http gw /readyz | cut -d' ' -f2-)
lt_assert_eq "not_ready" "$(jq -r .error.code <<<"$body")" "error code"
lt_assert_contains "$(jq -r .error.message <<<"$body")" "database unreachable" "error message"
headers=$(curl -s -D - -o /dev/null "$(lt_url gw /readyz)")
lt_assert_contains "$headers" "Retry-After:" "Retry-After header on 503"

# Down for a few seconds (several reconnect attempts), then back.
sleep 3
lt_pg_start pg
lt_wait 15 status_is gw /readyz 200 || lt_fail "no recovery after the database came back"

# A database that lacks a migration this binary knows is not ready. Removing
# the record makes the gateway try to apply 0001 again, which fails because
# its tables exist: readiness must say so rather than claim the schema is fine.
lt_psql "$LT_PG_URL" "CREATE TABLE saved_migrations AS SELECT * FROM schema_migrations;
                      DELETE FROM schema_migrations"
lt_wait 5 status_is gw /readyz 503 || lt_fail "readyz ignored a missing migration"
lt_assert_contains "$(lt_http gw /readyz)" "migration 0001_init failed" "readyz reason"
lt_psql "$LT_PG_URL" "INSERT INTO schema_migrations SELECT * FROM saved_migrations"
lt_wait 5 status_is gw /readyz 200 || lt_fail "readyz did not recover after the record came back"
lt_gw_stop gw TERM
lt_log "ok"
