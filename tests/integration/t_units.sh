#!/usr/bin/env bash
# `lienthong units import FILE`: a three-tier and a two-tier tree load; a
# re-import of the same file changes nothing; a renamed unit is one update;
# every broken file is refused whole, naming the entry and the rule, and
# leaves the tables exactly as they were.
source "$(dirname "$0")/lib.sh"

lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
ex="$LT_SOURCE_DIR/deploy/units"

import() { "$LIENTHONG_BIN" units import "$@"; }
snapshot() { # every unit and alias row, for before/after comparisons
  lt_psql "$LIENTHONG_DATABASE_URL" "SELECT (SELECT count(*) FROM units) || '/' || (SELECT count(*) FROM unit_aliases) || ' ' ||
    coalesce((SELECT md5(string_agg(u::text, ',' ORDER BY code)) FROM units u), '') || ' ' ||
    coalesce((SELECT md5(string_agg(a::text, ',' ORDER BY id)) FROM unit_aliases a), '')"
}

# Three-tier: everything added (the schema is migrated on the way).
out=$(import "$ex/example-3tier.json" --json 2>"$LT_TMP/i1.log") || lt_fail "3-tier import failed: $(cat "$LT_TMP/i1.log")"
lt_assert_eq "8 0 0 1" "$(jq -r '"\(.added) \(.updated) \(.unchanged) \(.aliases)"' <<<"$out")" "3-tier import"
lt_assert_eq "8/1" "$(snapshot | cut -d' ' -f1)" "rows after the 3-tier import"
lt_assert_eq "3|244|vendor-a" "$(lt_psql "$LIENTHONG_DATABASE_URL" "SELECT level, parent, dialect FROM units WHERE code = '08869'")" "commune row"
lt_assert_eq "H56.06.02||2020-12-31" "$(lt_psql "$LIENTHONG_DATABASE_URL" "SELECT agency_id, valid_from, valid_to FROM unit_aliases WHERE unit_code = '08872'")" "alias row"

# Re-import unchanged: nothing changes, not even updated_at.
before=$(snapshot)
out=$(import "$ex/example-3tier.json" 2>&1) || lt_fail "re-import failed: $out"
lt_assert_contains "$out" "0 added, 0 updated, 8 unchanged; 0 alias row(s) written" "re-import summary"
lt_assert_eq "$before" "$(snapshot)" "tables after an unchanged re-import"

# A renamed unit: one update, in place.
jq '(.[] | select(.code == "08878") | .name) = "Xã Cao Minh (đổi tên)"' "$ex/example-3tier.json" >"$LT_TMP/renamed.json"
out=$(import "$LT_TMP/renamed.json" --json 2>/dev/null) || lt_fail "renamed import failed"
lt_assert_eq "0 1 7 0 0" "$(jq -r '"\(.added) \(.updated) \(.unchanged) \(.aliases) \(.kept)"' <<<"$out")" "renamed import"
lt_assert_eq "Xã Cao Minh (đổi tên)" "$(lt_psql "$LIENTHONG_DATABASE_URL" "SELECT name FROM units WHERE code = '08878'")" "renamed unit"

# A partial file: a new commune under a stored district; the rest is kept.
cat >"$LT_TMP/partial.json" <<'JSON'
[{"code": "08881", "name": "Xã Ngọc Thanh", "level": "commune", "parent": "244", "agency_id": "000.07.06.H56"}]
JSON
out=$(import "$LT_TMP/partial.json" --json 2>/dev/null) || lt_fail "partial import failed"
lt_assert_eq "1 8" "$(jq -r '"\(.added) \(.kept)"' <<<"$out")" "partial import keeps the others"

# Broken files: refused whole, entry and rule named, nothing written.
refuse() { # NAME RULE NEEDLE FILTER: apply the jq FILTER to the 3-tier file and import it
  local name=$1 rule=$2 needle=$3 filter=$4 rc=0 out before
  jq "$filter" "$ex/example-3tier.json" >"$LT_TMP/$name.json"
  before=$(snapshot)
  out=$(import "$LT_TMP/$name.json" --json 2>"$LT_TMP/$name.err") || rc=$?
  lt_assert_eq 1 "$rc" "$name: exit status"
  lt_assert_eq "$rule" "$(jq -r .error.rule <<<"$out")" "$name: rule"
  lt_assert_contains "$(cat "$LT_TMP/$name.err")" "$needle" "$name: message"
  lt_assert_contains "$(cat "$LT_TMP/$name.err")" "nothing written" "$name: message"
  lt_assert_eq "$before" "$(snapshot)" "$name: tables unchanged"
}
# Each case also renames a valid unit first, so a partial write would show.
r='(.[0].name = "Tỉnh Vĩnh Phúc (x)") | '
refuse unknown_parent unknown-parent "entry [7] (code 08878): parent 999" "$r"'(.[7].parent = "999")'
refuse duplicate_code duplicate-code "entry [4] (code 08707): code already used by entry [3]" "$r"'(.[4].code = "08707")'
refuse cycle cycle "parent chain comes back" "$r"'(.[1].parent = "244") | (.[2].parent = "243")'
refuse bad_level level "entry [2] (code 244)" "$r"'(.[2].level = "huyen")'
refuse bad_level_number level "entry [5] (code 08869)" "$r"'(.[5].level = 4)'
refuse bad_date date "valid_to 2020-02-30" "$r"'(.[6].aliases[0].valid_to = "2020-02-30")'
refuse date_order date "valid_from 2021-01-01 is after valid_to 2020-12-31" "$r"'(.[6].aliases[0].valid_from = "2021-01-01")'
refuse alias_both alias "exactly one of" "$r"'(.[6].aliases[0].code = "0999")'
refuse alias_neither alias "exactly one of" "$r"'(.[6].aliases[0] |= del(.agency_id))'
refuse alias_collision alias-collision "alias code 08710 of unit 08872 is the code of live unit 08710" "$r"'(.[6].aliases += [{"code": "08710"}])'
refuse alias_collision_stored alias-collision "alias code 08881" "$r"'(.[6].aliases += [{"code": "08881"}])'
refuse agency_dup duplicate-agency-id "agency id 000.01.06.H56" "$r"'(.[7].agency_id = "000.01.06.H56")'
refuse unknown_key shape "unknown key agencyid" "$r"'(.[3].agencyid = "x")'
refuse level_order level-order "a district cannot hang under 08707" "$r"'(.[2].parent = "08707")'
echo 'not json' >"$LT_TMP/garbage.json"
rc=0; import "$LT_TMP/garbage.json" >/dev/null 2>"$LT_TMP/garbage.err" || rc=$?
lt_assert_eq 1 "$rc" "garbage file: exit status"
lt_assert_contains "$(cat "$LT_TMP/garbage.err")" "not valid JSON" "garbage file: message"

# Usage errors.
rc=0; "$LIENTHONG_BIN" units >/dev/null 2>&1 || rc=$?
lt_assert_eq 2 "$rc" "units without an action"
rc=0; "$LIENTHONG_BIN" units import >/dev/null 2>&1 || rc=$?
lt_assert_eq 2 "$rc" "units import without a file"
"$LIENTHONG_BIN" units --help | grep -q "KEPT, not deleted" || lt_fail "units --help"

# Two-tier: a fresh database (the old communes are aliases there, which a
# database still holding them as live units refuses).
lt_psql "$LIENTHONG_DATABASE_URL" "CREATE DATABASE lt2tier" >/dev/null
export LIENTHONG_DATABASE_URL="${LT_PG_URL/\/lienthong\?/\/lt2tier?}"
out=$(import "$ex/example-2tier.json" --json 2>"$LT_TMP/i2.log") || lt_fail "2-tier import failed: $(cat "$LT_TMP/i2.log")"
lt_assert_eq "4 0 0 5" "$(jq -r '"\(.added) \(.updated) \(.unchanged) \(.aliases)"' <<<"$out")" "2-tier import"
lt_assert_eq "0" "$(lt_psql "$LIENTHONG_DATABASE_URL" "SELECT count(*) FROM units WHERE level = 2")" "no districts"
lt_assert_eq "08866" "$(lt_psql "$LIENTHONG_DATABASE_URL" "SELECT unit_code FROM unit_aliases WHERE code = '08869' AND valid_to = '2025-06-30'")" "old code as alias"
out=$(import "$ex/example-2tier.json" 2>&1) || lt_fail "2-tier re-import failed"
lt_assert_contains "$out" "0 added, 0 updated, 4 unchanged" "2-tier re-import"

# The embedded cluster: started for the import's own duration, then stopped.
out=$(env -u LIENTHONG_DATABASE_URL LIENTHONG_DATA_DIR="$LT_TMP/emb" "$LIENTHONG_BIN" units import \
  "$ex/example-2tier.json" --json 2>"$LT_TMP/emb.log") || lt_fail "embedded import failed"
lt_assert_eq "4" "$(jq -r .added <<<"$out")" "embedded import"
[ ! -e "$LT_TMP/emb/pg/postmaster.pid" ] || lt_fail "units import left its cluster running"
lt_log "ok"
