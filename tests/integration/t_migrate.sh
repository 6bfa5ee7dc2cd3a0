#!/usr/bin/env bash
# `lienthong migrate`: with nothing running it starts the embedded cluster
# for its own duration and stops it; twice is a no-op the second time; an
# edited applied migration is refused; a failing migration leaves no trace.
source "$(dirname "$0")/lib.sh"

data="$LT_TMP/mig"
known=$(ls "$LT_SOURCE_DIR"/schemas/sql/*.sql | wc -l)
out=$(LIENTHONG_DATA_DIR="$data" "$LIENTHONG_BIN" migrate 2>"$LT_TMP/m1.log")
lt_assert_contains "$out" "applied $known migration(s)" "first migrate"
lt_no_process_with "$data/pg" || lt_fail "migrate left its cluster running"
[ ! -e "$data/pg/postmaster.pid" ] || lt_fail "migrate left postmaster.pid"
out=$(LIENTHONG_DATA_DIR="$data" "$LIENTHONG_BIN" migrate 2>"$LT_TMP/m2.log")
lt_assert_contains "$out" "nothing to apply" "second migrate"
json=$(LIENTHONG_DATA_DIR="$data" "$LIENTHONG_BIN" migrate --status --json 2>/dev/null)
lt_assert_eq "true $known" "$(jq -r '"\(.current) \(.applied)"' <<<"$json")" "migrate --status --json"

# Against a database URL: the second run changes nothing.
lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
"$LIENTHONG_BIN" migrate >/dev/null 2>&1 || lt_fail "migrate on a URL failed"
before=$(lt_psql "$LT_PG_URL" "SELECT count(*), max(applied_at) FROM schema_migrations")
out=$("$LIENTHONG_BIN" migrate 2>&1)
lt_assert_contains "$out" "nothing to apply" "second migrate on a URL"
lt_assert_eq "$before" "$(lt_psql "$LT_PG_URL" "SELECT count(*), max(applied_at) FROM schema_migrations")" \
  "schema_migrations after a second run"

# An applied migration that was edited is refused, naming the file.
share="$LT_TMP/share"
mkdir -p "$share/sql"
cp "$LT_SOURCE_DIR"/schemas/sql/*.sql "$share/sql/"
first=$(ls "$share/sql" | head -1)
echo "-- edited" >>"$share/sql/$first"
rc=0; out=$(LIENTHONG_SHARE_DIR=$share "$LIENTHONG_BIN" migrate 2>&1) || rc=$?
lt_assert_eq 1 "$rc" "exit status for an edited migration"
lt_assert_contains "$out" "${first%.sql} was changed after it was applied" "edited migration message"

# A failing migration names itself and leaves nothing behind.
cp "$LT_SOURCE_DIR"/schemas/sql/*.sql "$share/sql/"
cat >"$share/sql/9999_broken.sql" <<'SQL'
CREATE TABLE half_done (id int);
SELECT no_such_function();
SQL
rc=0; out=$(LIENTHONG_SHARE_DIR=$share "$LIENTHONG_BIN" migrate 2>&1) || rc=$?
lt_assert_eq 1 "$rc" "exit status for a failing migration"
lt_assert_contains "$out" "migration 9999_broken failed" "failing migration message"
lt_assert_eq "" "$(lt_psql "$LT_PG_URL" "SELECT to_regclass('half_done')")" "half-applied table"
lt_assert_eq 0 "$(lt_psql "$LT_PG_URL" "SELECT count(*) FROM schema_migrations WHERE version = 9999")" \
  "failed migration recorded"
lt_log "ok"
