#!/usr/bin/env bash
# `lienthong catalog overlay set|rm|list`: a local variant is stored apart
# from the synced catalog, survives a full re-sync, is applied on read, and
# its changes reach the wards' delta feed: a new catalog version, the
# procedure again in GET /v1/catalog?since=, one "overlay" catalog event with
# the next sequence; `catalog diff` does not call it a content change.
source "$(dirname "$0")/lib.sh"

lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
q() { lt_psql "$LT_PG_URL" "$1"; }
"$LT_GENCATALOG" --count 50 >"$LT_TMP/c.json"
"$LIENTHONG_BIN" catalog sync --file "$LT_TMP/c.json" --full >/dev/null 2>&1 || lt_fail "sync"
code=$(jq -r '[.[] | select((.CACHTHUCTHUCHIEN | length) > 0)][0].MATTHC' "$LT_TMP/c.json")
v1=$(q "SELECT max(version) FROM catalog_versions")
seq1=$(q "SELECT max(seq) FROM dossier_events")

lt_gw_start gw
lt_wait 60 status_is gw /readyz 200 || lt_fail "gateway not ready"
lt_assert_eq 0 "$(lt_http gw "/v1/catalog?since=$v1" | cut -d' ' -f2- | jq '.procedures | length')" \
  "nothing new before the overlay"

echo '[{"MAPHILEPHI": "LP-H56", "SOTIEN": "15000", "MOTA": "Lệ phí địa phương"}]' >"$LT_TMP/fees.json"
out=$("$LIENTHONG_BIN" catalog overlay set "$code" --base "${code:0:8}" --time 1 --unit hour \
  --fees "$LT_TMP/fees.json" --note "Quyết định 12/QĐ-UBND" 2>&1) || lt_fail "overlay set: $out"
v2=$(q "SELECT max(version) FROM catalog_versions")
[ "$v2" -gt "$v1" ] || lt_fail "no new catalog version for the overlay"
lt_assert_eq "$((seq1 + 1))" "$(q "SELECT max(seq) FROM dossier_events")" "one more event"
lt_assert_eq "overlay catalog.$code" \
  "$(q "SELECT record->>'change' || ' ' || topic FROM dossier_events WHERE seq = $((seq1 + 1))")" \
  "the overlay event"
feed=$(lt_http gw "/v1/catalog?since=$v1" | cut -d' ' -f2-)
lt_assert_eq "$code" "$(jq -r '[.procedures[].MATTHC] | join(",")' <<<"$feed")" "the delta feed has it"
lt_assert_eq "15000" "$(jq -r '.procedures[0].CACHTHUCTHUCHIEN[0].PHILEPHI[0].SOTIEN' <<<"$feed")" \
  "overlay fees applied on read"
lt_assert_eq '[]' "$("$LIENTHONG_BIN" catalog diff "$v1" "$v2" --json | jq -c .changed)" \
  "diff compares contents, not overlays"
lt_assert_contains "$("$LIENTHONG_BIN" catalog overlay list)" "$code" "listed"

# A full re-sync of the same file keeps the overlay.
"$LIENTHONG_BIN" catalog sync --file "$LT_TMP/c.json" --full >/dev/null 2>&1 || lt_fail "re-sync"
lt_assert_eq 1 "$("$LIENTHONG_BIN" catalog overlay list --json | jq '.overlays | length')" \
  "overlay after a full re-sync"

# Removing it propagates the same way; removing twice is refused.
"$LIENTHONG_BIN" catalog overlay rm "$code" >/dev/null || lt_fail "overlay rm"
lt_assert_eq "overlay_removed" "$(q "SELECT record->>'change' FROM dossier_events ORDER BY seq DESC LIMIT 1")" \
  "removal event"
rc=0; "$LIENTHONG_BIN" catalog overlay rm "$code" 2>/dev/null || rc=$?
lt_assert_eq 1 "$rc" "removing a missing overlay"

# An overlay for a code not in the catalog yet: stored, no version, no event.
before=$(q "SELECT max(seq) FROM dossier_events")
"$LIENTHONG_BIN" catalog overlay set 9.999999.000.00.00.H56 --base 9.999999 >/dev/null ||
  lt_fail "overlay for a future procedure"
lt_assert_eq "$before" "$(q "SELECT max(seq) FROM dossier_events")" "no event for an unknown code"

# The due-date rules of the on-time report: stored, listed, carried by the
# catalog event; `set` replaces the whole overlay, so leaving them out resets.
"$LIENTHONG_BIN" catalog overlay set "$code" --base "${code:0:8}" --same-day --supplement restart \
  >/dev/null || lt_fail "overlay set with due-date rules"
lt_assert_eq "true restart" \
  "$("$LIENTHONG_BIN" catalog overlay list --json | jq -r --arg c "$code" \
    '.overlays[] | select(.local_code == $c) | "\(.same_day) \(.supplement)"')" "rules listed"
lt_assert_contains "$("$LIENTHONG_BIN" catalog overlay list)" "same day" "listed as a table"
lt_assert_eq "true true" \
  "$(q "SELECT (record->'overlay'->>'same_day') || ' ' || (record->'overlay'->>'supplement_restart')
        FROM dossier_events ORDER BY seq DESC LIMIT 1")" "the catalog event carries the rules"
"$LIENTHONG_BIN" catalog overlay set "$code" --base "${code:0:8}" >/dev/null || lt_fail "overlay reset"
lt_assert_eq "false pause" \
  "$("$LIENTHONG_BIN" catalog overlay list --json | jq -r --arg c "$code" \
    '.overlays[] | select(.local_code == $c) | "\(.same_day) \(.supplement)"')" "rules reset by set"

for args in "set $code" "set $code --base 1.000000 --time 5" "set $code --base 1.000000 --time 5 --unit week" \
  "set $code --base 1.000000 --same-day --time 1 --unit hour" "set $code --base 1.000000 --supplement wait" \
  "rm $code --same-day" "rm" "list $code" "frob"; do
  rc=0
  # shellcheck disable=SC2086
  "$LIENTHONG_BIN" catalog overlay $args >/dev/null 2>&1 || rc=$?
  lt_assert_eq 2 "$rc" "usage error for: overlay $args"
done
lt_gw_stop gw TERM
lt_log "ok"
