#!/usr/bin/env bash
# Federation (issue 10): two gateways, two PostgreSQL clusters. The province
# gateway (gwp, database prov) owns the catalog and receives liên thông
# dossiers over our own HTTP contract; the lower gateway (gww, database
# ward) serves the ward systems of district 244 and:
#   - forwards dossiers up: district 244's system address in gww's unit tree
#     is gwp (units url), with a parent token that gwp issued for 244
#     (units.tokens), so the liên thông leg is POST {gwp}/v1/dossiers;
#   - follows gwp's catalog: catalog.url = {gwp}/v1/catalog, which makes the
#     periodic sync read our GET /v1/catalog?since= feed (lt_catalog_feed)
#     instead of the national API.
# Checked: `lienthong catalog sync` reads the feed too; gww's catalog equals gwp's (codes, content hashes, state) before
# any dossier; a ward pushes dossiers of a district-level procedure with
# status changes through gww; every acknowledged record is stored once in
# ward, and every dossier is in prov with the same content as in ward (the
# current record, byte for byte as JSON values), gww's outbox drained; then
# a catalog change at the province (a procedure renamed, one added, one
# abolished by a full sync) reaches gww's catalog (the abolition through the
# feed's `removed`, which makes gww re-read the whole catalog).
source "$(dirname "$0")/lib.sh"

PUSH=${LT_PUSH:?LT_PUSH must name the lt_push tool}

# ---- the province: database, fixture (units, catalog, a parent token for 244) ---
lt_pg_start prov
PROV_URL=$LT_PG_URL
lt_ingest_fixture
up_token=$LT_PARENT_TOKEN
lt_gw_start gwp LIENTHONG_DATABASE_URL="$PROV_URL"
lt_wait 30 status_is gwp /readyz 200 || lt_fail "gwp not ready"
prov_base=$(lt_url gwp "")

# ---- the lower gateway: its own database, the same tree with 244 -> gwp ----------
lt_pg_start ward
WARD_URL=$LT_PG_URL
export LIENTHONG_DATABASE_URL=$WARD_URL
jq --arg url "$prov_base" 'map(.url = (if .code == "244" then $url else null end) | .dialect = null)' \
  "$LT_SOURCE_DIR/deploy/units/example-3tier.json" >"$LT_TMP/ward-units.json"
"$LIENTHONG_BIN" migrate >/dev/null 2>&1 || lt_fail "migrate ward"
"$LIENTHONG_BIN" units import "$LT_TMP/ward-units.json" >/dev/null || lt_fail "units import ward"
# A ward system of commune 08872 (agency 000.02.06.H56, under district 244).
ward_token=$("$LIENTHONG_BIN" token create --unit 08872 --role ward | tail -n 1)
# `lienthong catalog sync` reads the same feed once, whole (as at onboarding).
out=$(LIENTHONG_CATALOG_URL="$prov_base/v1/catalog" "$LIENTHONG_BIN" catalog sync --json 2>"$LT_TMP/sync1.log") ||
  lt_fail "catalog sync from the province's feed: $(tail -2 "$LT_TMP/sync1.log")"
lt_assert_eq "5 0 0" "$(jq -r '"\(.added) \(.changed) \(.abolished)"' <<<"$out")" "first sync from the feed"
lt_gw_start gww LIENTHONG_DATABASE_URL="$WARD_URL" LIENTHONG_CATALOG_URL="$prov_base/v1/catalog" \
  LIENTHONG_CATALOG_INTERVAL=1s LIENTHONG_UNITS_TOKENS="244=$up_token"
lt_wait 30 status_is gww /readyz 200 || lt_fail "gww not ready"

pq() { lt_psql "$PROV_URL" "$1"; }
wq() { lt_psql "$WARD_URL" "$1"; }
catalog_of() { # URL: every procedure with its content and state
  lt_psql "$1" "SELECT code || ' ' || encode(content_hash, 'hex') || ' ' || status || ' '
                || (abolished_at IS NULL) FROM procedures ORDER BY code"
}
same_catalog() { [ "$(catalog_of "$PROV_URL")" = "$(catalog_of "$WARD_URL")" ]; }

# ---- 1. the catalog follows the province ---------------------------------------
lt_wait 30 same_catalog ||
  lt_fail "gww's catalog is not gwp's: $(diff <(catalog_of "$PROV_URL") <(catalog_of "$WARD_URL") | head -5)"
lt_assert_eq 5 "$(wq "SELECT count(*) FROM procedures")" "procedures at the ward"
lt_assert_contains "$(wq "SELECT source FROM catalog_sync_runs WHERE outcome = 'ok' ORDER BY id LIMIT 1")" \
  "/v1/catalog" "the ward's sync source"

# ---- 2. dossiers go up over our own contract -----------------------------------
LT_PG_URL=$WARD_URL
"$PUSH" --http "$(lt_url gww "")" --token "$ward_token" --unit-agency 000.02.06.H56 \
  --procedure 1.001193 --senders 4 --batch 5 --count 400 --updates 30 --deadline 60 \
  --run-id 1 --seed 1 --ack-log "$LT_TMP/acks.txt" --json >"$LT_TMP/push.json" 2>"$LT_TMP/push.err" ||
  lt_fail "lt_push through gww failed ($(tail -2 "$LT_TMP/push.err"))"
lt_assert_eq 400 "$(wc -l <"$LT_TMP/acks.txt")" "records acknowledged by gww"
lt_acks_stored "$LT_TMP/acks.txt"
open_rows() { wq "SELECT count(*) FROM outbox WHERE state IN ('pending', 'inflight', 'retrying', 'unrouted')"; }
routed() { [ "$(wq "SELECT last_seq FROM delivery_router")" = "$(wq "SELECT coalesce(max(seq), 0) FROM dossier_events")" ]; }
lt_wait 90 eval 'routed && [ "$(open_rows)" = 0 ]' || lt_fail "gww did not drain: $(open_rows) open rows"
lt_assert_eq 0 "$(wq "SELECT count(*) FROM outbox WHERE state = 'dead'")" \
  "dead letters at gww: $(wq "SELECT string_agg(DISTINCT left(last_error, 200), ' | ') FROM outbox WHERE state = 'dead'")"
lt_assert_eq "unit:244" "$(wq "SELECT string_agg(DISTINCT destination, ',') FROM outbox")" "gww's destinations"
dossiers_of() { lt_psql "$1" "SELECT code || ' ' || md5(record::text) FROM dossiers ORDER BY code"; }
ndos=$(wq "SELECT count(*) FROM dossiers")
[ "$ndos" -gt 0 ] || lt_fail "no dossier stored at the ward"
lt_assert_eq "$(dossiers_of "$WARD_URL")" "$(dossiers_of "$PROV_URL")" "dossiers at the province (code and current record)"
lt_assert_eq "$(wq "SELECT count(*) FROM dossiers WHERE competent_unit = '244'")" "$ndos" "competent unit at the ward"
lt_log "$ndos dossiers ($(wc -l <"$LT_TMP/acks.txt") acknowledged records) at the province as at the ward"

# ---- 3. a catalog change at the province reaches the ward ---------------------------
v0=$(wq "SELECT coalesce(max(version), 0) FROM catalog_versions")
jq 'map(select(.MATTHC != "1.001612.000.00.00.H56")
        | if .MATTHC == "2.000908" then .TENTTHC = "Cấp bản sao trích lục hộ tịch (sửa đổi)" else . end)
    + [{"MATTHC": "1.000001", "TENTTHC": "Thủ tục mới", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "2"}]}]' \
  "$LT_TMP/fixture-catalog.json" >"$LT_TMP/catalog2.json"
LIENTHONG_DATABASE_URL=$PROV_URL "$LIENTHONG_BIN" catalog sync --file "$LT_TMP/catalog2.json" --full \
  >"$LT_TMP/sync2.log" 2>&1 || lt_fail "catalog sync at the province"
lt_assert_eq "f" "$(pq "SELECT abolished_at IS NULL FROM procedures WHERE code = '1.001612.000.00.00.H56'")" \
  "abolished at the province"
lt_wait 30 same_catalog ||
  lt_fail "the province's change did not reach gww: $(diff <(catalog_of "$PROV_URL") <(catalog_of "$WARD_URL") | head -5)"
lt_assert_eq "Cấp bản sao trích lục hộ tịch (sửa đổi)" "$(wq "SELECT name FROM procedures WHERE code = '2.000908'")" \
  "renamed at the ward"
lt_assert_eq "t" "$(wq "SELECT published FROM procedures WHERE code = '1.000001'")" "added at the ward"
lt_assert_eq "f" "$(wq "SELECT abolished_at IS NULL FROM procedures WHERE code = '1.001612.000.00.00.H56'")" \
  "abolished at the ward"
[ "$(wq "SELECT max(version) FROM catalog_versions")" -gt "$v0" ] || lt_fail "no new catalog version at the ward"
# The ward's own subscribers hear it: catalog events in its sequence.
[ "$(wq "SELECT count(*) FROM dossier_events WHERE kind = 'catalog' AND seq > (SELECT min(seq) FROM dossier_events WHERE kind = 'dossier')")" -ge 3 ] ||
  lt_fail "no catalog events at the ward for the change"
# Rounds after the first read only what changed (since=): runs that staged
# nothing at all, where a full round would count every procedure unchanged.
[ "$(wq "SELECT count(*) FROM catalog_sync_runs WHERE outcome = 'ok'
          AND added + changed + abolished + unchanged = 0")" -gt 0 ] ||
  lt_fail "every round of gww re-read the whole catalog (since= unused)"
lt_gw_stop gww TERM
lt_gw_stop gwp TERM
lt_log "ok"
