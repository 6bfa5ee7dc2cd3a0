#!/usr/bin/env bash
# The ZeroMQ ingress (ROUTER on zmq.ingress): [token, JSON] from DEALER and
# REQ peers answered after commit with the HTTP answer's document —
# accepted, duplicate, stale, rejected, a mixed batch, a vendor dialect —
# and the whole-message refusals (no token, bad token, malformed JSON,
# 1,001 records); pushes from both fronts share one event sequence.
source "$(dirname "$0")/lib.sh"

EX=$LT_SOURCE_DIR/schemas/examples
ZMQREQ=${LT_ZMQREQ:?LT_ZMQREQ must name the lt_zmqreq tool}
lt_pg_start pg
lt_ingest_fixture
parent=$LT_PARENT_TOKEN
ward_a=$("$LIENTHONG_BIN" token create --unit 08869 --role ward | tail -n 1)

lt_gw_start gw
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"
ep=${LT_GW_INGRESS[gw]}
[ -n "$ep" ] || lt_fail "no zmq_ingress endpoint logged"

zpush() { "$ZMQREQ" "$ep" "$@"; }

# A subscriber from the start: every accepted event comes out on PUB, in
# sequence, without personal data.
"$LT_ZMQCAT" --sub "${LT_GW_EVENTS[gw]}" --topic dossier. --idle-ms 4000 --timeout-ms 60000 \
  >"$LT_TMP/sub.jsonl" 2>"$LT_TMP/sub.err" &
sub=$!
LT_PIDS+=("$sub")
lt_wait 10 grep -q ready "$LT_TMP/sub.err" || lt_fail "subscriber not ready"
jqv() { jq -r "$1" <<<"$2"; }

rec=$EX/valid/09-da-xu-ly-xong.json
out=$(zpush --token "$parent" "$rec") || lt_fail "no answer"
lt_assert_eq accepted "$(jqv '.results[0].result' "$out")" "first push over ZeroMQ ($out)"
seq1=$(jqv '.results[0].sequence' "$out")
lt_assert_eq "9|$seq1" "$(lt_psql "$LT_PG_URL" "SELECT status, last_seq FROM dossiers WHERE code = '000.00.06.H56-241031-0361'")" "stored after the answer"

out=$(zpush --req --token "$parent" "$rec") || lt_fail "no answer to a REQ peer"
lt_assert_eq "duplicate $seq1" "$(jqv '.results[0].result + " " + (.results[0].sequence|tostring)' "$out")" "duplicate from a REQ socket"

jq '.QuaTrinhXuLy |= .[:1] | .NgayKetThucXuLy = "" | .TrangThaiHoSo = "2"' "$rec" >"$LT_TMP/older.json"
out=$(zpush --token "$parent" "$LT_TMP/older.json")
lt_assert_eq stale "$(jqv '.results[0].result' "$out")" "stale"

jq -s '.' "$EX/valid/02-duoc-tiep-nhan-truc-tiep.json" "$EX/invalid/ChuHoSo-number.json" >"$LT_TMP/mixed.json"
out=$(zpush --token "$parent" "$LT_TMP/mixed.json")
lt_assert_eq "accepted,rejected" "$(jqv '[.results[].result] | join(",")' "$out")" "mixed batch"
lt_assert_eq ChuHoSo "$(jqv '.results[1].field' "$out")" "the rejected record's field"

# A single refused record carries "error" as over HTTP.
jq '.MaTTHC = "9.999999" | .MaHoSo = "000.00.06.H56-241031-0900"' "$rec" >"$LT_TMP/unknown.json"
out=$(zpush --token "$parent" "$LT_TMP/unknown.json")
lt_assert_eq "MaTTHC 422 invalid" "$(jqv '[.results[0].field, (.results[0].code|tostring), .error.code] | join(" ")' "$out")" "refused single record"

# vendor-a: ward 08869's own format, stored canonical.
sed 's/000\.00\.06\.H56-/000.01.06.H56-/g' "$LT_SOURCE_DIR/adapters/dialects/examples/vendor-a/01-dang-xu-ly.json" >"$LT_TMP/va.json"
out=$(zpush --token "$ward_a" "$LT_TMP/va.json")
lt_assert_eq accepted "$(jqv '.results[0].result' "$out")" "vendor-a over ZeroMQ ($out)"

# Whole-message refusals.
out=$(zpush "$rec")
lt_assert_eq unauthorized "$(jqv '.error.code' "$out")" "no token frame"
out=$(zpush --token "lt_0000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$rec")
lt_assert_eq unauthorized "$(jqv '.error.code' "$out")" "unknown token"
printf '[{"MaHoSo": ' >"$LT_TMP/cut.json"
out=$(zpush --token "$parent" "$LT_TMP/cut.json")
lt_assert_eq malformed "$(jqv '.error.code' "$out")" "malformed JSON"
jq -c -n '[range(1001) | {}]' >"$LT_TMP/1001.json"
out=$(zpush --token "$parent" "$LT_TMP/1001.json")
lt_assert_eq too_large "$(jqv '.error.code' "$out")" "1,001 records"

# Both fronts write one gap-free sequence.
out=$(lt_http gw /v1/dossiers -X POST -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $parent" --data-binary "@$EX/valid/07-cong-dan-rut-ho-so.json")
http_seq=$(cut -d' ' -f2- <<<"$out" | jq .results[0].sequence)
lt_assert_eq "$http_seq" "$(lt_psql "$LT_PG_URL" "SELECT max(seq) FROM dossier_events")" "HTTP after ZeroMQ"
lt_assert_eq t "$(lt_psql "$LT_PG_URL" "SELECT max(seq) = count(*) FROM dossier_events")" "gap-free"
wait "$sub" || lt_fail "subscriber: $(cat "$LT_TMP/sub.err")"
lt_assert_eq "$(lt_psql "$LT_PG_URL" "SELECT string_agg(seq || ' ' || topic, ',' ORDER BY seq) FROM dossier_events WHERE kind = 'dossier'")" \
  "$(jq -r '"\(.seq) \(.topic)"' "$LT_TMP/sub.jsonl" | paste -sd,)" "published: every dossier event, in order"
if grep -q -e ChuHoSo -e SoGiayToChuHoSo -e SoDienThoai "$LT_TMP/sub.jsonl"; then
  lt_fail "personal data on the PUB socket"
fi
lt_assert_contains "$(head -1 "$LT_TMP/sub.jsonl")" '"MaHoSo"' "published records carry the dossier"
lt_gw_stop gw
lt_log "ok"
