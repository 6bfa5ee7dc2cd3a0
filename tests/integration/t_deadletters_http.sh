#!/usr/bin/env bash
# Dead letters over HTTP (gateway/lt_http_routes.c -> the reader actor):
# GET /v1/deadletters lists the portal's refusals (answer kept, no record,
# no personal data), paged by id; POST /v1/deadletters/replay sends one or
# all again and says how many went and how many a newer delivery already
# carried; both are operator-only (401 without a good token, 403 for a
# parent); bad parameters and bodies are 400 naming the field, an unknown
# id 404; GET /v1/dossiers/{code} shows the delivery state per destination.
# Every answer is held to schemas/openapi.yaml.
source "$(dirname "$0")/lib.sh"

EX=$LT_SOURCE_DIR/schemas/examples
export LT_ANSWERS_DIR=$LT_TMP/answers

lt_pg_start pg
lt_ingest_fixture
parent=$LT_PARENT_TOKEN
op=$LT_OPERATOR_TOKEN

lt_portal_sim_start p
ctl() { lt_sim_control p "$1"; }

lt_gw_start gw "${LT_PORTAL_ENV[@]}"
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"

q() { lt_psql "$LT_PG_URL" "$1"; }
state_of() { q "SELECT coalesce(string_agg(state, ',' ORDER BY event_seq), '') FROM outbox WHERE destination = 'portal' AND dossier_code = '$1'"; }
# push CODE EXAMPLE: the example record under another dossier code.
push() {
  jq --arg c "$1" '.MaHoSo = $c | if .QuaTrinhXuLy then .QuaTrinhXuLy |= map(.MaHoSo = $c) else . end' \
    "$EX/valid/$2" >"$LT_TMP/push.json"
  local st
  st=$(curl -s -m 10 -o "$LT_TMP/push.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $parent" --data-binary "@$LT_TMP/push.json" "$(lt_url gw /v1/dossiers)")
  lt_assert_eq 200 "$st" "push $1: $(cat "$LT_TMP/push.out")"
}
# call EXPECTED_STATUS PATH [curl args]: saves the answer, checks the status,
# leaves the body in $LT_TMP/body.
call() {
  local want=$1 path=$2; shift 2
  local out
  out=$(lt_http_save gw "$path" "$@")
  lt_assert_eq "$want" "${out%% *}" "$path $*: ${out#* }"
}
get() { call "$1" "$2" -H "Authorization: Bearer $op"; }
replay() { call "$1" /v1/deadletters/replay -X POST -H "Authorization: Bearer $op" -H 'Content-Type: application/json' --data-binary "$2"; }
body() { jq -c "$1" "$LT_TMP/body"; }

# ---- dead letters: two refused dossiers -------------------------------------
D1=000.00.06.H56-240611-0801
D2=000.00.06.H56-240611-0802
D3=000.00.06.H56-240611-0803
ctl '{"error_code": "3"}'
push "$D1" 02-duoc-tiep-nhan-truc-tiep.json
push "$D2" 02-duoc-tiep-nhan-truc-tiep.json
push "$D3" 02-duoc-tiep-nhan-truc-tiep.json
lt_wait 60 bash -c "[ \"\$(psql '$LT_PG_URL' -qAtc \"SELECT count(*) FROM outbox WHERE destination = 'portal' AND state = 'dead'\")\" = 3 ]" ||
  lt_fail "the refused dossiers did not become dead letters: $(q "SELECT string_agg(state, ',') FROM outbox")"
ctl '{"error_code": null}'

# ---- GET /v1/deadletters ------------------------------------------------------
get 200 /v1/deadletters
lt_assert_eq 3 "$(body '.deadletters | length')" "three dead letters listed"
lt_assert_eq null "$(body .next)" "one page"
lt_assert_eq "[\"$D1\",\"$D2\",\"$D3\"]" "$(body '[.deadletters[].MaHoSo]')" "oldest first, by id"
id1=$(body '.deadletters[0].id')
id3=$(body '.deadletters[2].id')
lt_assert_eq "$(q "SELECT id FROM outbox WHERE dossier_code = '$D1' AND destination = 'portal'")" "$id1" "the id is the outbox row's"
lt_assert_eq '"portal"' "$(body '.deadletters[0].destination')" "destination"
lt_assert_eq "$(q "SELECT event_seq FROM outbox WHERE id = $id1")" "$(body '.deadletters[0].sequence')" "event sequence"
lt_assert_eq true "$(body '.deadletters[0].attempts >= 1')" "attempts counted"
lt_assert_eq '"3"' "$(body '.deadletters[0].answer | fromjson | .error_code')" "the portal's answer is kept"
lt_assert_eq "\"lt-$(body '.deadletters[0].sequence')\"" "$(body '.deadletters[0].idempotency_key')" "the key replays reuse"
lt_assert_eq false "$(body '.deadletters[0] | has("record")')" "no record in the list"
for pii in "Nguyễn Văn An" "001203004567"; do
  grep -qF "$pii" "$LT_TMP/body" && lt_fail "personal data ($pii) in GET /v1/deadletters"
done

get 200 '/v1/deadletters?limit=2'
lt_assert_eq 2 "$(body '.deadletters | length')" "a page of two"
next=$(body .next)
lt_assert_eq "$(q "SELECT id FROM outbox WHERE dossier_code = '$D2' AND destination = 'portal'")" "$next" "next is the page's last id"
get 200 "/v1/deadletters?limit=2&since=$next"
lt_assert_eq "[\"$D3\"]" "$(body '[.deadletters[].MaHoSo]')" "the following page"
lt_assert_eq null "$(body .next)" "last page"
get 200 '/v1/deadletters?destination=portal&limit=5'
lt_assert_eq 3 "$(body '.deadletters | length')" "destination=portal"
get 200 '/v1/deadletters?destination=webhook'
lt_assert_eq '[]' "$(body .deadletters)" "another destination has none"

get 400 '/v1/deadletters?limit=0'
lt_assert_eq '"limit"' "$(body .error.field)" "400 names limit"
get 400 '/v1/deadletters?since=x'
lt_assert_eq '"since"' "$(body .error.field)" "400 names since"
get 400 '/v1/deadletters?destination='
lt_assert_eq '"destination"' "$(body .error.field)" "400 names destination"
get 400 '/v1/deadletters?unit=244'
lt_assert_eq '"unit"' "$(body .error.field)" "400 names an unknown parameter"

# ---- who may ----------------------------------------------------------------
call 401 /v1/deadletters
call 401 /v1/deadletters -H "Authorization: Bearer lt_nosuchtoken_0000000000"
call 403 /v1/deadletters -H "Authorization: Bearer $parent"
call 401 /v1/deadletters/replay -X POST -H 'Content-Type: application/json' --data-binary '{"destination":"portal","all":true}'
call 403 /v1/deadletters/replay -X POST -H "Authorization: Bearer $parent" -H 'Content-Type: application/json' \
  --data-binary '{"destination":"portal","all":true}'
lt_assert_eq 3 "$(q "SELECT count(*) FROM outbox WHERE state = 'dead'")" "refused callers replayed nothing"

# ---- POST /v1/deadletters/replay: refusals ------------------------------------
call 415 /v1/deadletters/replay -X POST -H "Authorization: Bearer $op" --data-binary '{"destination":"portal","all":true}'
replay 400 'not json'
lt_assert_eq '"body"' "$(body .error.field)" "400 names the body"
replay 400 '{"all": true}'
lt_assert_eq '"destination"' "$(body .error.field)" "400 names destination"
replay 400 '{"destination": "portal"}'
lt_assert_eq '"id"' "$(body .error.field)" "neither id nor all"
replay 400 "{\"destination\": \"portal\", \"id\": $id1, \"all\": true}"
lt_assert_eq '"all"' "$(body .error.field)" "both id and all"
replay 400 '{"destination": "portal", "id": "1"}'
lt_assert_eq '"id"' "$(body .error.field)" "id is a number"
replay 400 '{"destination": "portal", "all": true, "ids": [1]}'
lt_assert_eq '"ids"' "$(body .error.field)" "unknown member"
replay 404 '{"destination": "portal", "id": 999999}'
replay 404 "{\"destination\": \"webhook\", \"id\": $id1}"
lt_assert_eq 3 "$(q "SELECT count(*) FROM outbox WHERE state = 'dead'")" "refusals replayed nothing"

# ---- replay one --------------------------------------------------------------
replay 200 "{\"destination\": \"portal\", \"id\": $id1}"
lt_assert_eq '{"replayed":1,"superseded":0}' "$(jq -cS . "$LT_TMP/body")" "one replayed"
lt_wait 30 bash -c "[ \"\$(psql '$LT_PG_URL' -qAtc \"SELECT state FROM outbox WHERE id = $id1\")\" = delivered ]" ||
  lt_fail "the replayed dead letter was not delivered: $(state_of "$D1")"
get 200 "/v1/deadletters"
lt_assert_eq "[\"$D2\",\"$D3\"]" "$(body '[.deadletters[].MaHoSo]')" "D1 no longer dead"

# GET /v1/dossiers/{code}: the delivery state per destination.
get 200 "/v1/dossiers/$D1"
lt_assert_eq '[{"destination":"portal","state":"delivered"}]' \
  "$(body '[.deliveries[] | {destination, state}]')" "D1's delivery delivered"
lt_assert_eq true "$(body '.deliveries[0].delivered_at != null')" "delivered_at set"
get 200 "/v1/dossiers/$D2"
lt_assert_eq '[{"destination":"portal","state":"dead","last_status":200}]' \
  "$(body '[.deliveries[] | {destination, state, last_status}]')" "D2's delivery dead"

# ---- a newer delivery supersedes; replay all ----------------------------------
push "$D3" 07-cong-dan-rut-ho-so.json
lt_wait 30 bash -c "[ \"\$(psql '$LT_PG_URL' -qAtc \"SELECT string_agg(state, ',' ORDER BY event_seq) FROM outbox WHERE destination = 'portal' AND dossier_code = '$D3'\")\" = dead,delivered ]" ||
  lt_fail "D3's newer event was not delivered: $(state_of "$D3")"
replay 200 '{"destination": "portal", "all": true}'
lt_assert_eq '{"replayed":1,"superseded":1}' "$(jq -cS . "$LT_TMP/body")" "D2 replayed, D3's old event superseded"
lt_assert_eq superseded "$(q "SELECT state FROM outbox WHERE id = $id3")" "superseded, not sent"
lt_wait 30 bash -c "[ \"\$(psql '$LT_PG_URL' -qAtc \"SELECT state FROM outbox WHERE destination = 'portal' AND dossier_code = '$D2'\")\" = delivered ]" ||
  lt_fail "D2 was not delivered after replay all: $(state_of "$D2")"
get 200 "/v1/dossiers/$D3"
lt_assert_eq '["superseded","delivered"]' "$(body '[.deliveries[].state]')" "D3's deliveries"
replay 200 '{"destination": "portal", "all": true}'
lt_assert_eq '{"replayed":0,"superseded":0}' "$(jq -cS . "$LT_TMP/body")" "nothing left"
get 200 /v1/deadletters
lt_assert_eq '[]' "$(body .deadletters)" "no dead letters left"

lt_answers_check
lt_gw_stop gw
