#!/usr/bin/env bash
# CurveZMQ on the ingress and replay sockets (schemas/zmq.md, "CURVE"):
# zmq.curve = false is refused off loopback and a CURVE gateway without its
# key file does not start; `lienthong keygen` writes the server key (0600)
# and gives a unit a key pair (ward, or --role parent); with curve on, a
# client with its unit's key pushes `[JSON]` as the key's ward or parent
# (DESIGN.md: the key identifies the unit) and replays scoped like GET
# /v1/events for that role; `[token, JSON]` still works, the token's unit
# must match the key's; an unknown key and a plain-text client get nothing
# while the gateway keeps serving;
# keygen --unit again makes the old key fail, on new connections and on one
# already open; with curve off on loopback, plain text works as before.
source "$(dirname "$0")/lib.sh"

EX=$LT_SOURCE_DIR/schemas/examples
ZMQREQ=${LT_ZMQREQ:?LT_ZMQREQ must name the lt_zmqreq tool}
zcat=${LT_ZMQCAT:?LT_ZMQCAT must name the lt_zmqcat tool}
push=${LT_PUSH:?LT_PUSH must name the lt_push tool}
lt_pg_start pg
lt_ingest_fixture
parent=$LT_PARENT_TOKEN # unit 244, agency 000.00.06.H56
ward=$("$LIENTHONG_BIN" token create --unit 08869 --role ward | tail -n 1)
jqv() { jq -r "$1" <<<"$2"; }

# ---- configuration ------------------------------------------------------------------
out=$(LIENTHONG_ZMQ_CURVE=false LIENTHONG_ZMQ_INGRESS=tcp://192.0.2.1:5570 \
  "$LIENTHONG_BIN" serve -n 2>&1) && lt_fail "curve=false off loopback was accepted: $out"
lt_assert_contains "$out" "zmq.curve" "the refusal names the key"
LIENTHONG_ZMQ_CURVE=false LIENTHONG_ZMQ_REPLAY='tcp://[::1]:5572' "$LIENTHONG_BIN" serve -n \
  >/dev/null || lt_fail "curve=false on loopback refused"
out=$("$LIENTHONG_BIN" serve -n --json) || lt_fail "serve -n with curve auto: $out"
lt_assert_eq auto "$(jqv .zmq.curve "$out")" "zmq.curve defaults to auto"
# auto is on off loopback, and the dry run reads the server key as serve
# would: none yet, so exit 2 naming the key and the file.
rc=0
out=$(LIENTHONG_DATA_DIR=$LT_TMP/nokey LIENTHONG_ZMQ_REPLAY=tcp://192.0.2.1:5572 \
  "$LIENTHONG_BIN" serve -n 2>&1) || rc=$?
lt_assert_eq 2 "$rc" "serve -n with curve on and no server key: $out"
lt_assert_contains "$out" "zmq.curve_key: cannot read $LT_TMP/nokey/curve/server.key" \
  "serve -n names the key and the file"

# auto is on off loopback: without the server key the gateway does not start,
# refused as a configuration error (exit 2) naming the key, before it opens
# anything.
rc=0
LIENTHONG_DATA_DIR=$LT_TMP/nokey timeout 60 env LIENTHONG_HTTP_LISTEN=127.0.0.1:0 \
  LIENTHONG_ZMQ_INGRESS=tcp://192.0.2.1:5570 "$LIENTHONG_BIN" serve >"$LT_TMP/nokey.log" 2>&1 ||
  rc=$?
lt_assert_eq 2 "$rc" "a CURVE gateway without its key exits 2"
lt_assert_contains "$(cat "$LT_TMP/nokey.log")" "zmq.curve_key" "and names the key"

# ---- keys ----------------------------------------------------------------------------
data=$LT_TMP/gw-data
server=$(LIENTHONG_DATA_DIR=$data "$LIENTHONG_BIN" keygen --json) || lt_fail "server keygen"
spub=$(jqv .server_public "$server")
lt_assert_eq 40 "${#spub}" "server public key (Z85)"
lt_assert_eq 600 "$(stat -c %a "$data/curve/server.key")" "server secret key file mode"
lt_assert_eq "$spub" "$(cat "$data/curve/server.pub")" "server.pub"
grep -qF "$spub" "$data/curve/server.key" && lt_fail "the secret file holds the public key"
out=$(LIENTHONG_DATA_DIR=$data LIENTHONG_ZMQ_REPLAY=tcp://192.0.2.1:5572 "$LIENTHONG_BIN" serve -n \
  2>&1) || lt_fail "serve -n with curve on and the server key: $out"
echo "not a key" >"$LT_TMP/bad.key"
chmod 600 "$LT_TMP/bad.key"
rc=0
out=$(LIENTHONG_ZMQ_CURVE=true LIENTHONG_ZMQ_CURVE_KEY=$LT_TMP/bad.key "$LIENTHONG_BIN" serve -n \
  2>&1) || rc=$?
lt_assert_eq 2 "$rc" "serve -n with a server key file that is not a key: $out"
lt_assert_contains "$out" "zmq.curve_key: $LT_TMP/bad.key: the first line is not a Z85" \
  "serve -n names the key and the file"

unitkey() { LIENTHONG_DATA_DIR=$data "$LIENTHONG_BIN" keygen --unit "$1" --json; }
k244=$(unitkey 244) || lt_fail "keygen --unit 244"
k08869=$(unitkey 08869) || lt_fail "keygen --unit 08869"
lt_assert_eq "$spub" "$(jqv .server_public "$k244")" "keygen --unit prints the server key"
lt_assert_eq "$(jqv .public "$k244")" \
  "$(lt_psql "$LT_PG_URL" "SELECT public_key FROM curve_keys WHERE unit_code = '244'")" \
  "only the public key is stored"
lt_assert_eq 0 "$(lt_psql "$LT_PG_URL" "SELECT count(*) FROM curve_keys WHERE public_key = '$(jqv .secret "$k244")'")" \
  "the secret is not stored"
lt_assert_eq 2 "$(lt_psql "$LT_PG_URL" "SELECT count(*) FROM audit_log WHERE action = 'curve.keygen'")" \
  "each keygen --unit is audited"
"$LIENTHONG_BIN" keygen --unit 99999 >/dev/null 2>&1 && lt_fail "keygen for an unknown unit"
rc=0
"$LIENTHONG_BIN" keygen --unit 26 --role operator >/dev/null 2>&1 || rc=$?
lt_assert_eq 2 "$rc" "keygen --role operator is a usage error"
lt_assert_eq ward "$(lt_psql "$LT_PG_URL" "SELECT role FROM curve_keys WHERE unit_code = '244'")" \
  "a unit key is a ward's by default"
# The province's key stands for a parent: its subtree is every unit.
k26=$(LIENTHONG_DATA_DIR=$data "$LIENTHONG_BIN" keygen --unit 26 --role parent --json) ||
  lt_fail "keygen --unit 26 --role parent"
lt_assert_eq parent "$(jqv .role "$k26")" "keygen --json names the role"
lt_assert_eq parent "$(lt_psql "$LT_PG_URL" "SELECT role FROM curve_keys WHERE unit_code = '26'")" \
  "the role is stored with the key"
curve() { # KEYGEN-JSON: the client options of the test tools
  printf '%s\n' --curve-server "$spub" --curve-public "$(jqv .public "$1")" \
    --curve-secret "$(jqv .secret "$1")"
}
mapfile -t c244 < <(curve "$k244")
mapfile -t c08869 < <(curve "$k08869")
mapfile -t c26 < <(curve "$k26")
k08707=$(unitkey 08707) || lt_fail "keygen --unit 08707"
mapfile -t c08707 < <(curve "$k08707")
# A key pair nobody registered.
stranger=$(LIENTHONG_DATA_DIR=$LT_TMP/stranger "$LIENTHONG_BIN" keygen --json) || lt_fail "keygen"
mapfile -t cstranger < <(printf '%s\n' --curve-server "$spub" --curve-public \
  "$(cat "$LT_TMP/stranger/curve/server.pub")" --curve-secret "$(head -1 "$LT_TMP/stranger/curve/server.key")")

# ---- curve on ------------------------------------------------------------------------
lt_gw_spawn gw LIENTHONG_ZMQ_CURVE=true # its data_dir is $LT_TMP/gw-data = $data
lt_gw_listening gw
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"
ing=${LT_GW_INGRESS[gw]}
rep=${LT_GW_REPLAY[gw]}
grep -qF "server public key $spub" "$LT_TMP/gw.log" || lt_fail "the server key in use is not logged"
# The ZAP handler loads the keys when it connects: wait until it says so.
lt_wait 30 grep -q 'unit CURVE key(s) loaded' "$LT_TMP/gw.log" || lt_fail "keys not loaded"

rec=$EX/valid/09-da-xu-ly-xong.json
out=$("$ZMQREQ" "$ing" "${c244[@]}" --token "$parent" "$rec") || lt_fail "no answer with a unit key"
lt_assert_eq accepted "$(jqv '.results[0].result' "$out")" "push with unit 244's key ($out)"
seq1=$(jqv '.results[0].sequence' "$out")

# A token sent along must be of the key's unit.
jq '.MaHoSo = "000.00.06.H56-241031-0977"' "$rec" >"$LT_TMP/other.json"
out=$("$ZMQREQ" "$ing" "${c08869[@]}" --token "$parent" "$LT_TMP/other.json") || lt_fail "no answer"
lt_assert_eq forbidden "$(jqv '.error.code' "$out")" "unit 08869's key with unit 244's token ($out)"
lt_assert_contains "$(jqv '.error.message' "$out")" "CURVE" "the refusal says why"
lt_assert_eq 0 "$(lt_psql "$LT_PG_URL" "SELECT count(*) FROM dossiers WHERE code = '000.00.06.H56-241031-0977'")" \
  "nothing written by the mismatch"

# Replay: the key alone scopes the answer to its unit; a token must match it.
out=$("$zcat" --replay "$rep" "${c244[@]}" --request '{"from": 1, "prefix": "dossier."}' \
  --timeout-ms 20000) || lt_fail "replay with a unit key"
lt_assert_eq "dossier.244.9 $seq1" "$(jq -r 'select(.topic != "$END") | "\(.topic) \(.seq)"' <<<"$out" | paste -sd,)" \
  "replay by key: unit 244's events ($out)"
lt_assert_eq '$END' "$(jq -r .topic <<<"$out" | tail -1)" "replay ends with \$END"
out=$("$zcat" --replay "$rep" "${c08869[@]}" --request '{"from": 1, "prefix": "dossier."}' \
  --timeout-ms 20000) || lt_fail "replay with 08869's key"
lt_assert_eq '$END' "$(jq -r .topic <<<"$out" | paste -sd,)" "08869's key sees none of 244's events"
out=$("$zcat" --replay "$rep" "${c08869[@]}" \
  --request "{\"from\": 1, \"prefix\": \"dossier.\", \"token\": \"$parent\"}" --timeout-ms 20000)
lt_assert_eq '$ERROR' "$(jq -r .topic <<<"$out")" "replay: token of another unit than the key's"
out=$("$zcat" --replay "$rep" "${c244[@]}" \
  --request "{\"from\": 1, \"prefix\": \"dossier.\", \"token\": \"$parent\"}" --timeout-ms 20000)
lt_assert_eq "dossier.244.9,\$END" "$(jq -r .topic <<<"$out" | paste -sd,)" "replay: key and token agree"
# The province's parent key alone: the whole subtree; a ward key of 08869 none of 244's.
out=$("$zcat" --replay "$rep" "${c26[@]}" --request '{"from": 1, "prefix": "dossier."}' \
  --timeout-ms 20000) || lt_fail "replay with 26's parent key"
lt_assert_eq "dossier.244.9 $seq1" "$(jq -r 'select(.topic != "$END") | "\(.topic) \(.seq)"' <<<"$out" | paste -sd,)" \
  "replay by a parent key: its subtree ($out)"
grep -qF 'by the CURVE key of unit 26 (parent)' "$LT_TMP/gw.log" ||
  lt_fail "the key's replay is not logged with its role"

# [JSON] alone (DESIGN.md): the key is the credential. Unit 244's ward key
# writes 244's dossier, in its name (the reject of a bad record is filed
# under 244); 08707's ward key may not write 244's; the province's parent
# key may (its subtree); 08869's key is read in 08869's dialect (vendor-a).
jq '.MaHoSo = "000.00.06.H56-241031-0980"' "$rec" >"$LT_TMP/bare.json"
out=$("$ZMQREQ" "$ing" "${c244[@]}" "$LT_TMP/bare.json") || lt_fail "no answer to [JSON] with a key"
lt_assert_eq accepted "$(jqv '.results[0].result' "$out")" "[JSON] with unit 244's ward key ($out)"
lt_assert_eq 244 "$(lt_psql "$LT_PG_URL" "SELECT receiving_unit FROM dossiers WHERE code = '000.00.06.H56-241031-0980'")" \
  "the push acted for the key's unit"
jq '.MaHoSo = "000.00.06.H56-241031-0981"' "$rec" >"$LT_TMP/bare2.json"
out=$("$ZMQREQ" "$ing" "${c08707[@]}" "$LT_TMP/bare2.json") || lt_fail "no answer"
lt_assert_eq forbidden "$(jqv '.error.code' "$out")" \
  "[JSON] with 08707's ward key for 244's dossier ($out)"
out=$("$ZMQREQ" "$ing" "${c08869[@]}" "$LT_TMP/bare2.json") || lt_fail "no answer"
lt_assert_eq maHoSo "$(jqv '.results[0].field' "$out")" \
  "[JSON] with 08869's key is mapped from 08869's dialect ($out)"
out=$("$ZMQREQ" "$ing" "${c26[@]}" "$LT_TMP/bare2.json") || lt_fail "no answer"
lt_assert_eq accepted "$(jqv '.results[0].result' "$out")" "[JSON] with the province's parent key ($out)"
jq '.TrangThaiHoSo = "77" | .MaHoSo = "000.00.06.H56-241031-0982"' "$rec" >"$LT_TMP/bad.json"
out=$("$ZMQREQ" "$ing" "${c244[@]}" "$LT_TMP/bad.json") || lt_fail "no answer"
lt_assert_eq rejected "$(jqv '.results[0].result' "$out")" "a bad record with a key ($out)"
lt_assert_eq 244 "$(lt_psql "$LT_PG_URL" "SELECT sender_unit FROM rejects WHERE dossier_code = '000.00.06.H56-241031-0982'")" \
  "its reject is filed under the key's unit"

# An unknown key and a plain-text client get nothing at all.
"$ZMQREQ" "$ing" "${cstranger[@]}" --token "$parent" --timeout-ms 2000 "$rec" >"$LT_TMP/s.out" 2>&1 &&
  lt_fail "an unknown key got an answer: $(cat "$LT_TMP/s.out")"
lt_wait 10 grep -q 'zap: refused CURVE key' "$LT_TMP/gw.log" || lt_fail "refusal not logged"
"$ZMQREQ" "$ing" --token "$parent" --timeout-ms 2000 "$rec" >"$LT_TMP/p.out" 2>&1 &&
  lt_fail "a plain-text client got an answer: $(cat "$LT_TMP/p.out")"
out=$("$zcat" --replay "$rep" --request '{"from": 1, "prefix": "catalog."}' --timeout-ms 2000)
lt_assert_eq "" "$out" "plain-text replay gets nothing, not even the public catalog"
out=$("$zcat" --replay "$rep" "${cstranger[@]}" --request '{"from": 1, "prefix": "catalog."}' \
  --timeout-ms 2000)
lt_assert_eq "" "$out" "unknown-key replay gets nothing"
out=$("$ZMQREQ" "$ing" "${c244[@]}" --token "$parent" "$rec") || lt_fail "gateway stopped serving"
lt_assert_eq duplicate "$(jqv '.results[0].result' "$out")" "still serving after the refusals"

# lt_push over CURVE, then rotation while its connection is open: the
# messages after keygen are refused on that same connection.
ack=$LT_TMP/acks.txt
: >"$ack"
timeout 60 "$push" --zmq "$ing" "${c244[@]}" --token "$parent" --unit-agency 000.00.06.H56 \
  --procedure 1.003560.000.00.00.H56 --seconds 8 --rate 10 --senders 1 --timeout-ms 5000 \
  --deadline 50 --run-id 7100 --json --ack-log "$ack" >"$LT_TMP/push.json" 2>"$LT_TMP/push.err" &
pushpid=$!
LT_PIDS+=("$pushpid")
lt_wait 20 test -s "$ack" || lt_fail "lt_push over CURVE: nothing accepted ($(cat "$LT_TMP/push.err"))"
k244b=$(unitkey 244) || lt_fail "keygen --unit 244 again"
mapfile -t c244b < <(curve "$k244b")
wait "$pushpid" || lt_fail "lt_push over CURVE exited $? ($(cat "$LT_TMP/push.err"))"
out=$(cat "$LT_TMP/push.json")
jq -e '.results.accepted > 0 and .zmq_errors > 0 and .ack_lines == .results.accepted' \
  <<<"$out" >/dev/null ||
  lt_fail "the open connection kept working after rotation: $out"
lt_log "lt_push across the rotation: $(jq -c '{accepted: .results.accepted, zmq_errors}' <<<"$out")"
lt_acks_stored "$ack"

"$ZMQREQ" "$ing" "${c244[@]}" --token "$parent" --timeout-ms 2000 "$rec" >"$LT_TMP/o.out" 2>&1 &&
  lt_fail "the replaced key got an answer on a new connection: $(cat "$LT_TMP/o.out")"
out=$("$ZMQREQ" "$ing" "${c244b[@]}" --token "$parent" "$rec") || lt_fail "the new key gets no answer"
lt_assert_eq duplicate "$(jqv '.results[0].result' "$out")" "the new key works"
lt_gw_stop gw

# ---- curve off on loopback: plain text as before ----------------------------------------
lt_gw_start gw2 LIENTHONG_ZMQ_CURVE=false
lt_wait 30 status_is gw2 /readyz 200 || lt_fail "gateway 2 not ready"
grep -q 'plain text on zmq.ingress' "$LT_TMP/gw2.log" || lt_fail "plain text not logged"
jq '.MaHoSo = "000.00.06.H56-241031-0978"' "$rec" >"$LT_TMP/plain.json"
out=$("$ZMQREQ" "${LT_GW_INGRESS[gw2]}" --token "$parent" "$LT_TMP/plain.json") ||
  lt_fail "plain push with curve off"
lt_assert_eq accepted "$(jqv '.results[0].result' "$out")" "plain push with curve off ($out)"
out=$("$zcat" --replay "${LT_GW_REPLAY[gw2]}" \
  --request "{\"from\": 1, \"prefix\": \"dossier.\", \"token\": \"$parent\"}" --timeout-ms 20000)
lt_assert_eq '$END' "$(jq -r .topic <<<"$out" | tail -1)" "plain replay with curve off"
"$ZMQREQ" "${LT_GW_INGRESS[gw2]}" "${c244b[@]}" --token "$parent" --timeout-ms 2000 "$rec" \
  >/dev/null 2>&1 && lt_fail "a CURVE client got an answer from a plain-text gateway"
lt_gw_stop gw2
lt_log "ok"
