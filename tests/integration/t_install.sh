#!/usr/bin/env bash
# `cmake --install` puts the binary, migrations, schemas, dialect files, sample config and
# systemd unit under a prefix, and the installed binary finds its data there,
# even after the prefix is moved.
source "$(dirname "$0")/lib.sh"

prefix="$LT_TMP/prefix"
cmake --install "$LT_BUILD_DIR" --prefix "$prefix" >"$LT_TMP/install.log" 2>&1 ||
  lt_fail "cmake --install failed"
for f in bin/lienthong share/lienthong/sql/0001_init.sql share/lienthong/lienthong.example.json \
  share/lienthong/systemd/lienthong.service share/lienthong/schemas/openapi.yaml \
  share/lienthong/units/example-2tier.json \
  share/lienthong/dialects/vendor-a.json share/lienthong/dialects/portal-national.json; do
  [ -e "$prefix/$f" ] || lt_fail "$f not installed"
done
mv "$prefix" "$LT_TMP/moved"
lt_pg_start pg
out=$(LIENTHONG_DATABASE_URL="$LT_PG_URL" "$LT_TMP/moved/bin/lienthong" migrate 2>&1) ||
  lt_fail "installed binary: $out"
lt_assert_contains "$out" "applied" "installed binary applies its migrations"
out=$("$LT_TMP/moved/bin/lienthong" serve -n --config "$LT_TMP/moved/share/lienthong/lienthong.example.json")
lt_assert_eq "configuration OK" "$out" "installed sample config"
lt_log "ok"
