#!/usr/bin/env bash
# Replay with tokens (DESIGN.md "Contract: ZeroMQ", schemas/zmq.md): a ward
# token replays the dossier events of its own unit, a parent token those of
# its subtree, operator every event, all three with whole records; a reader
# gets every event with personal fields left out; catalog events are public
# to all. A missing, unknown or revoked token for a non-catalog prefix gets
# $ERROR, which never echoes the token. With auth.required=false a request
# without a token gets everything. Events are written straight into the
# database with lt_append_events, as the writer does. Events follow the
# dossier read rule: a dossier received at a commune (08707) and competent in
# a commune of another district (08869, as since 2025 a dossier may be
# received at another commune's centre, or a transferred one) has its events
# replayed to, and listed by GET /v1/events for, the competent unit and its
# parent, not for an unrelated ward.
source "$(dirname "$0")/lib.sh"

zcat=${LT_ZMQCAT:?LT_ZMQCAT must name tests/tools lt_zmqcat}
lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
q() { lt_psql "$LT_PG_URL" "$1"; }

# The three-tier example: province 26 > districts 243, 244 > communes
# 08707, 08710 (under 243) and 08869, 08872, 08878 (under 244).
"$LIENTHONG_BIN" units import "$LT_SOURCE_DIR/deploy/units/example-3tier.json" >/dev/null ||
  lt_fail "units import failed"
token() { "$LIENTHONG_BIN" token create "$@" --json | jq -r .token; }
ward=$(token --unit 08707 --role ward)
parent=$(token --unit 243 --role parent)
operator=$(token --role operator)
reader=$(token --role reader)
revoked=$(token --unit 08707 --role ward)
"$LIENTHONG_BIN" token revoke "${revoked:3:10}" >/dev/null || lt_fail "revoke"

# Five stored events: dossiers of 08707, 08710 and 243 (all in 243's
# subtree), one of 08869 (under 244), and a catalog change. Each dossier
# record carries a citizen ID number (SoGiayToChuHoSo) and a name.
CCCD=001090012345
rec() { # CODE STATUS
  jq -cn --arg c "$1" --arg s "$2" --arg id "$CCCD" \
    '{MaHoSo: $c, MaTTHC: "1.001", TrangThaiHoSo: $s, KenhThucHien: "1",
      NgayTiepNhan: "20250101080000", ChuHoSo: "Nguyen Van A", SoGiayToChuHoSo: $id,
      SoDienThoai: "0912345678", QuaTrinhXuLy: [{TrangThai: $s, ThoiDiemXuLy: "20250101080000",
      GhiChu: "goi lai 0912345678"}]}'
}
psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 \
  -v r1="$(rec 000.01.22.H56-250101-0001 2)" -v r2="$(rec 000.02.22.H56-250101-0002 2)" \
  -v r3="$(rec 000.01.06.H56-250101-0003 4)" -v r5="$(rec 000.00.22.H56-250101-0005 9)" \
  >/dev/null <<'SQL' || lt_fail "appending events"
SELECT lt_append_events(
  ARRAY['dossier', 'dossier', 'dossier', 'catalog', 'dossier'],
  ARRAY['dossier.08707.2', 'dossier.08710.2', 'dossier.08869.4', 'catalog.1.001', 'dossier.243.9'],
  ARRAY['000.01.22.H56-250101-0001', '000.02.22.H56-250101-0002', '000.01.06.H56-250101-0003',
        NULL, '000.00.22.H56-250101-0005'],
  ARRAY['1.001', '1.001', '1.001', '1.001', '1.001'],
  ARRAY['08707', '08710', '08869', NULL, '243'],
  ARRAY[2, 2, 4, NULL, 9]::smallint[],
  ARRAY[:'r1'::jsonb, :'r2'::jsonb, :'r3'::jsonb,
        '{"change": "added", "code": "1.001", "name": "Cap ban sao"}'::jsonb, :'r5'::jsonb]);
SQL
lt_assert_eq 5 "$(q "SELECT last_seq FROM event_counter")" "events stored"

lt_gw_start gw
lt_gw_start open LIENTHONG_AUTH_REQUIRED=false
lt_wait 60 status_is gw /readyz 200 || lt_fail "gateway not ready"
lt_wait 60 status_is open /readyz 200 || lt_fail "second gateway not ready"

# replay GW PREFIX [TOKEN]: the answer, one JSON line per message.
replay() {
  local req
  req=$(jq -cn --arg p "$2" --arg t "${3:-}" '{from: 1, prefix: $p} + (if $t == "" then {} else {token: $t} end)')
  "$zcat" --replay "${LT_GW_REPLAY[$1]}" --request "$req" --timeout-ms 30000
}
# seqs GW PREFIX [TOKEN]: "1 4 $END:5", the sequences sent then the marker.
seqs() {
  replay "$@" | jq -r 'if .topic == "$END" then "$END:\(.seq)" elif .topic == "$ERROR" then "$ERROR"
                       else .seq end' | paste -sd' '
}
error_of() { replay "$@" | jq -r 'select(.topic == "$ERROR") | .data'; }

# ---- who sees what -----------------------------------------------------------
lt_log "scopes"
lt_assert_eq '1 4 $END:5' "$(seqs gw "" "$ward")" "ward, every prefix: its unit and the catalog"
lt_assert_eq '1 $END:5' "$(seqs gw dossier. "$ward")" "ward, dossier.: its unit only"
lt_assert_eq '$END:5' "$(seqs gw dossier.08869. "$ward")" "ward asking for another unit: nothing"
lt_assert_eq '1 2 5 $END:5' "$(seqs gw dossier. "$parent")" "parent: its subtree"
lt_assert_eq '2 $END:5' "$(seqs gw dossier.08710. "$parent")" "parent, one unit of its subtree"
lt_assert_eq '1 2 3 5 $END:5' "$(seqs gw dossier. "$operator")" "operator: every dossier event"
lt_assert_eq '1 2 3 4 5 $END:5' "$(seqs gw "" "$reader")" "reader: every event"
lt_assert_eq '4 $END:5' "$(seqs gw catalog.)" "catalog without a token"
lt_assert_eq '4 $END:5' "$(seqs gw catalog. "lt_0000000000_not-a-token")" \
  "catalog with a token that is not read"

# ---- whole records for ward, parent and operator; masked for reader --------
lt_log "records"
out=$(replay gw dossier.08707. "$ward")
lt_assert_eq "$CCCD|Nguyen Van A|0912345678" \
  "$(jq -r 'select(.seq == 1) | "\(.data.SoGiayToChuHoSo)|\(.data.ChuHoSo)|\(.data.SoDienThoai)"' <<<"$out")" \
  "ward gets the whole record"
lt_assert_eq 3 "$(jq -r 'select(.seq == 1) | .frames' <<<"$out")" "frames of a replayed event"
lt_assert_eq "dossier.08707.2" "$(jq -r 'select(.seq == 1) | .topic' <<<"$out")" "topic of a replayed event"
out=$(replay gw dossier. "$parent")
lt_assert_eq "$CCCD $CCCD $CCCD" "$(jq -r 'select(.topic | startswith("dossier.")) | .data.SoGiayToChuHoSo' <<<"$out" | paste -sd' ')" \
  "parent gets whole records"
out=$(replay gw dossier. "$operator")
lt_assert_eq 4 "$(grep -c "$CCCD" <<<"$out")" "operator gets whole records"
out=$(replay gw "" "$reader")
case "$out" in *"$CCCD"* | *0912345678* | *"Nguyen Van A"*) lt_fail "personal data replayed to a reader: $out" ;; esac
lt_assert_eq "000.01.22.H56-250101-0001 2 20250101080000" \
  "$(jq -r 'select(.seq == 1) | "\(.data.MaHoSo) \(.data.TrangThaiHoSo) \(.data.QuaTrinhXuLy[0].ThoiDiemXuLy)"' <<<"$out")" \
  "reader still gets the rest of the record"
lt_assert_eq "Cap ban sao" "$(jq -r 'select(.seq == 4) | .data.name' <<<"$out")" "catalog event unchanged"

# ---- refusals ------------------------------------------------------------------
lt_log "refusals"
lt_assert_contains "$(error_of gw dossier.)" 'a token is required for prefix "dossier."' "no token"
lt_assert_contains "$(error_of gw "")" 'a token is required for prefix ""' "no token, empty prefix"
bad="lt_${ward:3:10}_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
for t in "$bad" "lt_0123456789_nope" "not-a-token" "$revoked"; do
  e=$(error_of gw dossier. "$t")
  lt_assert_contains "$e" "the token is not valid" "refused token [$t]"
  case "$e" in *"$t"*) lt_fail "the refusal echoes the token: $e" ;; esac
done
lt_assert_eq '$ERROR' "$(seqs gw "" "$revoked")" "a revoked token gets nothing, not even the catalog part"
# A token revoked now stops working at once (no cache in the gateway).
"$LIENTHONG_BIN" token revoke "${reader:3:10}" >/dev/null || lt_fail "revoke reader"
lt_assert_contains "$(error_of gw "" "$reader")" "the token is not valid" "reader after revoke"
# No token ever reaches the log.
for t in "$ward" "$parent" "$operator" "$reader" "$revoked" "$bad"; do
  grep -qF -- "${t:14}" "$LT_TMP/gw.log" && lt_fail "a token's secret is in the log"
done
grep -q 'replay: credential [0-9]* (ward of unit 08707) from 1' "$LT_TMP/gw.log" ||
  lt_fail "the replay's credential is not logged"

# ---- auth.required = false -----------------------------------------------------
lt_log "auth off"
lt_assert_eq '1 2 3 4 5 $END:5' "$(seqs open "")" "no token with auth off: everything"
lt_assert_eq 4 "$(replay open dossier. | grep -c "$CCCD")" "whole records with auth off"
# A token given is still checked and still scopes.
lt_assert_eq '1 $END:5' "$(seqs open dossier. "$ward")" "a ward token with auth off"
lt_assert_contains "$(error_of open dossier. "$bad")" "the token is not valid" "bad token with auth off"

# ---- a dossier competent outside its receiving chain ----------------------
lt_log "competent unit"
ward69=$(token --unit 08869 --role ward)
parent44=$(token --unit 244 --role parent)
ward72=$(token --unit 08872 --role ward)
R6=$(rec 000.01.22.H56-250101-0006 4)
psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 -v r6="$R6" >/dev/null <<'SQL' || lt_fail "appending event 6"
SELECT lt_append_events(ARRAY['dossier'], ARRAY['dossier.08707.4'],
  ARRAY['000.01.22.H56-250101-0006'], ARRAY['1.001'], ARRAY['08707'], ARRAY[4]::smallint[],
  ARRAY[:'r6'::jsonb]);
-- The dossier's state, as the writer keeps it: received at 08707, competent 08869.
INSERT INTO dossiers (code, record, status, procedure_code, receiving_unit, competent_unit,
                      content_hash, last_seq)
VALUES ('000.01.22.H56-250101-0006', :'r6'::jsonb, 4, '1.001', '08707', '08869',
        sha256(convert_to(:'r6', 'UTF8')), 6);
SQL
lt_assert_eq '3 6 $END:6' "$(seqs gw dossier. "$ward69")" "replay: the competent ward sees the dossier's events"
lt_assert_eq '6 $END:6' "$(seqs gw dossier.08707. "$ward69")" "replay: under the receiving unit's topic"
lt_assert_eq '3 6 $END:6' "$(seqs gw dossier. "$parent44")" "replay: the competent unit's parent too"
lt_assert_eq '1 6 $END:6' "$(seqs gw dossier. "$ward")" "replay: the receiving ward still sees it"
lt_assert_eq '$END:6' "$(seqs gw dossier. "$ward72")" "replay: an unrelated ward sees none"
lt_assert_eq "$CCCD" "$(replay gw dossier. "$ward69" | jq -r 'select(.seq == 6 and .topic != "$END") | .data.SoGiayToChuHoSo')" \
  "replay: the competent ward gets the whole record"
# events GW TOKEN [QUERY]: the dossier events' sequences of GET /v1/events.
events() {
  local out
  out=$(lt_http "$1" "/v1/events?${3:-since=0}" -H "Authorization: Bearer $2")
  [ "${out%% *}" = 200 ] || lt_fail "GET /v1/events: $out"
  jq -r '[.events[] | select(.kind == "dossier") | .sequence | tostring] | join(" ")' <<<"${out#* }"
}
lt_assert_eq '3 6' "$(events gw "$ward69")" "GET /v1/events: the competent ward"
lt_assert_eq '6' "$(events gw "$ward69" 'since=0&prefix=dossier.08707.')" \
  "GET /v1/events: under the receiving unit's prefix"
lt_assert_eq '' "$(events gw "$ward69" 'since=0&prefix=dossier.08710.')" \
  "GET /v1/events: another prefix leaves it out"
lt_assert_eq '3 6' "$(events gw "$parent44")" "GET /v1/events: the competent unit's parent"
lt_assert_eq '1 6' "$(events gw "$ward")" "GET /v1/events: the receiving ward"
lt_assert_eq '1 2 5 6' "$(events gw "$parent")" "GET /v1/events: the receiving ward's parent"
lt_assert_eq '' "$(events gw "$ward72")" "GET /v1/events: an unrelated ward sees none"
lt_assert_eq '3' "$(events gw "$ward69" 'since=0&limit=1&prefix=dossier.')" "GET /v1/events: a page of one"
lt_assert_eq '6' "$(events gw "$ward69" 'since=3&limit=1&prefix=dossier.')" "GET /v1/events: the next page"

lt_gw_stop open
lt_gw_stop gw
