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

# Two gateways started at once on one fresh embedded data_dir: one
# initialises and starts the cluster, the other joins it. The cluster stays
# up while either runs and stops when the last one leaves.
data="$LT_TMP/shared"
lt_gw_spawn e1 LIENTHONG_DATA_DIR="$data"
lt_gw_spawn e2 LIENTHONG_DATA_DIR="$data"
lt_gw_listening e1
lt_gw_listening e2
lt_wait 60 status_is e1 /readyz 200 || lt_fail "e1 not ready: $(lt_http e1 /readyz)"
lt_wait 60 status_is e2 /readyz 200 || lt_fail "e2 not ready: $(lt_http e2 /readyz)"
inits=$(cat "$LT_TMP/e1.log" "$LT_TMP/e2.log" | grep -c 'initialising the embedded' || true)
lt_assert_eq 1 "$inits" "clusters initialised for one data_dir"
pm=$(head -1 "$data/pg/postmaster.pid")
lt_gw_stop e1 INT
kill -0 "$pm" || lt_fail "the first gateway to leave stopped a cluster still in use"
lt_wait 5 status_is e2 /readyz 200 || lt_fail "e2 lost its database when e1 stopped"
lt_gw_stop e2 INT
lt_wait 10 lt_no_process_with "$data/pg" || lt_fail "cluster still running after the last user left"
lt_log "ok"
