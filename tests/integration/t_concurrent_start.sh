#!/usr/bin/env bash
# Two gateways started at once against one empty database both come up, and
# the schema is applied exactly once (the advisory lock serialises them).
source "$(dirname "$0")/lib.sh"

lt_pg_start pg
known=$(ls "$LT_SOURCE_DIR"/schemas/sql/*.sql | wc -l)
lt_gw_spawn a LIENTHONG_DATABASE_URL="$LT_PG_URL"
lt_gw_spawn b LIENTHONG_DATABASE_URL="$LT_PG_URL"
lt_gw_listening a
lt_gw_listening b
lt_wait 60 status_is a /readyz 200 || lt_fail "gateway a not ready: $(lt_http a /readyz)"
lt_wait 60 status_is b /readyz 200 || lt_fail "gateway b not ready: $(lt_http b /readyz)"
lt_assert_eq "$known" "$(lt_psql "$LT_PG_URL" "SELECT count(*) FROM schema_migrations")" \
  "migrations recorded"
applied=$(cat "$LT_TMP/a.log" "$LT_TMP/b.log" | grep -c '"applied migration 0001_init"' || true)
lt_assert_eq 1 "$applied" "times 0001_init was applied across both gateways"
lt_gw_stop a TERM
lt_gw_stop b TERM
lt_log "ok"
