#!/usr/bin/env bash
# The read side of dossier ingest: GET /v1/dossiers/{code}, GET /v1/dossiers
# (reconciliation), GET /v1/events and GET /v1/rejects against dossiers,
# events, deliveries and rejects stored the way the writer stores them.
# Every role: a ward sees the dossiers whose receiving or competent unit is
# its own (a foreign one is 404, like an unknown one), a parent its subtree,
# an operator everything, a reader everything with personal data masked;
# rejects are operator-only. 401 with WWW-Authenticate for a missing, wrong,
# malformed or revoked token (revoked while the gateway runs), 403, 404, 400
# naming the parameter, paging with `next`, and auth.required=false; then
# records pushed through the writer, read back. Every answer, the writer's
# included, is saved and held to schemas/openapi.yaml at the end.
source "$(dirname "$0")/lib.sh"

export LT_ANSWERS_DIR=$LT_TMP/answers
lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
lt="$LIENTHONG_BIN"
q() { lt_psql "$LT_PG_URL" "$1"; }

# ---- the unit tree and the tokens -------------------------------------------
# 26 (province) > 243 (district) > 08707, 08710; 26 > 244 > 08869, 08872, 08878.
"$lt" migrate >/dev/null 2>&1 || lt_fail "migrate failed"
"$lt" units import "$LT_SOURCE_DIR/deploy/units/example-3tier.json" >/dev/null ||
  lt_fail "units import failed"
token() { # UNIT ROLE
  local args=(token create --role "$2" --json)
  [ -n "$1" ] && args+=(--unit "$1")
  "$lt" "${args[@]}" | jq -r .token
}
T_W07=$(token 08707 ward)
T_W69=$(token 08869 ward)
T_P243=$(token 243 parent)
T_P244=$(token 244 parent)
T_OP=$(token "" operator)
T_RD=$(token "" reader)
T_GONE=$(token 08707 ward)
for t in "$T_W07" "$T_W69" "$T_P243" "$T_P244" "$T_OP" "$T_RD" "$T_GONE"; do
  [[ "$t" =~ ^lt_ ]] || lt_fail "token create gave [$t]"
done

# ---- dossiers, events, deliveries and rejects, shaped as the writer's -------
CCCD=001203004567 PHONE=0912345678 EMAIL=an.nguyen@example.vn
BASE=$LT_SOURCE_DIR/schemas/examples/valid/04-dang-xu-ly-lien-thong.json
record() { # CODE STATUS: a canonical record carrying personal data
  jq -c --arg c "$1" --arg s "$2" --arg id "$CCCD" --arg ph "$PHONE" --arg em "$EMAIL" \
    '.MaHoSo = $c | .TrangThaiHoSo = $s | .ChuHoSo = "Nguyễn Văn An" | .SoGiayToChuHoSo = $id
     | .SoDienThoai = $ph | .Email = $em | .QuaTrinhXuLy |= map(.MaHoSo = $c)
     | if ($s | tonumber) >= 9 then .NgayKetThucXuLy = "20240201100000" else . end' "$BASE"
}
# store CODE RECEIVING COMPETENT STATUS...: one event per status (through
# lt_append_events, as the writer appends), then the dossier's current state.
store() {
  local code=$1 recv=$2 comp=$3 st
  shift 3
  for st in "$@"; do
    psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 -v code="$code" -v recv="$recv" -v st="$st" \
      -v rec="$(record "$code" "$st")" >/dev/null <<'SQL' || lt_fail "cannot store an event of $code"
SELECT lt_append_events(ARRAY['dossier'], ARRAY['dossier.' || :'recv' || '.' || :'st'],
  ARRAY[:'code'], ARRAY['2.002621.H56'], ARRAY[:'recv'], ARRAY[:'st']::smallint[],
  ARRAY[:'rec'::jsonb]);
SQL
  done
  psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 -v code="$code" -v recv="$recv" -v comp="$comp" \
    >/dev/null <<'SQL' || lt_fail "cannot store dossier $code"
INSERT INTO dossiers (code, record, status, procedure_code, receiving_unit, competent_unit,
                      processing_unit, history_len, content_hash, last_seq)
SELECT :'code', e.record, e.status, e.procedure_code, :'recv', nullif(:'comp', ''),
       e.record->>'DonViXuLy', jsonb_array_length(e.record->'QuaTrinhXuLy'),
       sha256(convert_to(e.record::text, 'UTF8')), e.seq
  FROM dossier_events e WHERE e.dossier_code = :'code' ORDER BY e.seq DESC LIMIT 1
ON CONFLICT (code) DO UPDATE SET record = EXCLUDED.record, status = EXCLUDED.status,
  content_hash = EXCLUDED.content_hash, last_seq = EXCLUDED.last_seq, updated_at = now();
SQL
}
D1=000.01.22.H56-240115-0001 # received by 08707, competent 243
D2=000.02.22.H56-240116-0002 # received by 08710
D3=000.01.06.H56-240117-0003 # received by 08869, competent 244
D4=000.01.06.H56-240118-0004 # received by 08869, transferred to 08707
store "$D1" 08707 243 2 4 # events 1, 2
store "$D2" 08710 08710 2 # event 3
q "SELECT lt_append_events(ARRAY['catalog'], ARRAY['catalog.2.002621.H56'], ARRAY[NULL]::text[],
   ARRAY['2.002621.H56'], ARRAY[NULL]::text[], ARRAY[NULL]::smallint[],
   ARRAY['{\"change\": \"added\", \"code\": \"2.002621.H56\", \"catalog_version\": 1,
           \"procedure\": {\"MATTHC\": \"2.002621.H56\", \"TENTTHC\": \"Cấp phép\", \"TRANGTHAI\": \"1\"}}'::jsonb])" \
  >/dev/null # event 4
store "$D3" 08869 244 4 9 # events 5, 6
store "$D4" 08869 08707 2 # event 7
store "$D2" 08710 08710 4 # event 8: D2 is now the most recent
lt_assert_eq 8 "$(q 'SELECT last_seq FROM event_counter')" "events stored"
# A delivery of D1's last event that is being retried.
q "INSERT INTO destinations (name, kind, url) VALUES ('portal', 'portal', 'http://127.0.0.1:9/');
   INSERT INTO outbox (event_seq, destination, dossier_code, state, attempts, last_error,
                       last_status, idempotency_key)
   VALUES (2, 'portal', '$D1', 'retrying', 2, 'HTTP 503 from the portal', 503, 'lt-2')" >/dev/null
# Three rejects; their payloads hold the citizen ID.
psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 -v id="$CCCD" >/dev/null <<'SQL' || lt_fail "rejects"
INSERT INTO rejects (sender_unit, channel, dialect, dossier_code, payload, reason) VALUES
 ('08707', 'http', NULL, '000.01.22.H56-240115-0009',
  convert_to('{"MaHoSo": "000.01.22.H56-240115-0009", "SoGiayToChuHoSo": "' || :'id' || '"}', 'UTF8'),
  '{"results": [{"MaHoSo": "000.01.22.H56-240115-0009", "result": "rejected", "code": 422,
    "field": "MaTTHC", "path": "MaTTHC", "message": "missing",
    "errors": [{"field": "MaTTHC", "path": "MaTTHC", "expected": "a procedure code", "got": ""}]}],
    "error": {"code": "invalid", "message": "missing", "field": "MaTTHC"}}'),
 ('08869', 'zmq', 'vendor-a', NULL, '\xff'::bytea,
  '{"error": {"code": "malformed", "message": "invalid UTF-8 at byte 0"}}'),
 ('08707', 'http', NULL, NULL, convert_to('[' || :'id' || ']', 'UTF8'),
  '{"error": {"code": "malformed", "message": "not a record or an array"}}');
SQL
R1=$(q "SELECT min(id) FROM rejects")

lt_gw_start gw
lt_wait 60 status_is gw /readyz 200 || lt_fail "gateway not ready"

# get TOKEN PATH [curl args]: sets ST (status), BODY and HDRS (headers).
GW=gw
get() {
  local tok=$1 path=$2 out
  shift 2
  if [ -n "$tok" ]; then
    out=$(lt_http_save "$GW" "$path" -H "Authorization: Bearer $tok" "$@")
  else
    out=$(lt_http_save "$GW" "$path" "$@")
  fi
  ST=${out%% *} BODY=${out#* } HDRS=$(cat "$LT_TMP/headers")
}
expect() { # STATUS WHAT
  [ "$ST" = "$1" ] || lt_fail "$2: expected HTTP $1, got $ST: $BODY"
}
field() { jq -r "$1" <<<"$BODY"; }
wrong() { [ "${1: -1}" = A ] && echo "${1%?}B" || echo "${1%?}A"; } # the same prefix, a wrong secret
codes() { jq -r '[.dossiers[].MaHoSo] | join(" ")' <<<"$BODY"; }
seqs() { jq -r '[.events[].sequence] | join(" ")' <<<"$BODY"; }

# ---- 401: missing, malformed, wrong, revoked ---------------------------------
lt_log "401"
for path in "/v1/dossiers/$D1" /v1/dossiers /v1/events /v1/rejects; do
  get "" "$path"
  expect 401 "no token on $path"
  lt_assert_eq unauthorized "$(field .error.code)" "401 code on $path"
  lt_assert_contains "$HDRS" "www-authenticate: Bearer" "challenge on $path"
done
get "" /v1/events -H "Authorization: Basic dXNlcjpwdw=="
expect 401 "a Basic header"
lt_assert_contains "$HDRS" 'www-authenticate: Bearer error="invalid_token"' "challenge for a bad header"
get "$(wrong "$T_W07")" "/v1/dossiers/$D1"
expect 401 "a wrong secret"
lt_assert_contains "$HDRS" 'www-authenticate: Bearer error="invalid_token"' "challenge for a wrong token"
get "lt_0000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" /v1/events
expect 401 "an unknown token"
get "$T_GONE" "/v1/dossiers/$D1"
expect 200 "a live token before its revocation"
"$lt" token revoke "${T_GONE:3:10}" >/dev/null || lt_fail "token revoke failed"
get "$T_GONE" "/v1/dossiers/$D1"
expect 401 "a token revoked while the gateway runs"
lt_assert_contains "$HDRS" "www-authenticate: Bearer" "challenge for a revoked token"
# No token, no secret in the log.
case "$(cat "$LT_TMP/gw.log")" in *"${T_W07:14}"* | *"${T_GONE:14}"*) lt_fail "a token in the log" ;; esac

# ---- GET /v1/dossiers/{code} ---------------------------------------------------
lt_log "one dossier"
get "$T_OP" "/v1/dossiers/$D1"
expect 200 "operator reads D1"
lt_assert_eq "$D1 4 $CCCD $PHONE" "$(field '[.record.MaHoSo, .record.TrangThaiHoSo, .record.SoGiayToChuHoSo, .record.SoDienThoai] | join(" ")')" "operator's record"
lt_assert_eq '{"receiving":"08707","competent":"243","processing":"Phòng Quản lý đô thị"}' \
  "$(jq -c .units <<<"$BODY")" "units"
lt_assert_eq '[{"sequence":1,"status":"2","topic":"dossier.08707.2"},{"sequence":2,"status":"4","topic":"dossier.08707.4"}]' \
  "$(jq -c '[.events[] | {sequence, status, topic}]' <<<"$BODY")" "events of D1, in order, without records"
lt_assert_eq 2 "$(jq '[.events[].at | select(test("^20[0-9-]{8}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$"))] | length' <<<"$BODY")" "event times"
lt_assert_eq '{"sequence":2,"destination":"portal","state":"retrying","attempts":2,"last_status":503,"last_error":"HTTP 503 from the portal","delivered_at":null}' \
  "$(jq -c '.deliveries[0] | del(.next_attempt_at)' <<<"$BODY")" "D1's delivery"
lt_assert_eq 1 "$(jq '.deliveries | length' <<<"$BODY")" "one delivery"
get "$T_OP" "/v1/dossiers/$D2"
lt_assert_eq "[]" "$(jq -c .deliveries <<<"$BODY")" "no deliveries"

get "$T_RD" "/v1/dossiers/$D1"
expect 200 "reader reads D1"
for secret in "$CCCD" "$PHONE" "$EMAIL" "Nguyễn Văn An"; do
  case "$BODY" in *"$secret"*) lt_fail "reader's answer shows [$secret]" ;; esac
done
lt_assert_eq "$D1 2.002621.H56 20240115090000" "$(field '[.record.MaHoSo, .record.MaTTHC, .record.NgayTiepNhan] | join(" ")')" \
  "reader still sees codes and dates"
lt_assert_eq 2 "$(jq '.events | length' <<<"$BODY")" "reader sees the events"

get "" "/v1/dossiers/000.09.22.H56-240101-0001" -H "Authorization: Bearer $T_OP"
expect 404 "an unknown dossier"
lt_assert_eq "not_found no dossier 000.09.22.H56-240101-0001" "$(field '"\(.error.code) \(.error.message)"')" "404 body"
unknown_body=$BODY

# Ward 08707: its own (received) and the one transferred to it; the others are 404.
for c in "$D1" "$D4"; do
  get "$T_W07" "/v1/dossiers/$c"
  expect 200 "ward 08707 reads $c"
done
for c in "$D2" "$D3"; do
  get "$T_W07" "/v1/dossiers/$c"
  expect 404 "ward 08707 reads foreign $c"
  lt_assert_eq "${unknown_body/000.09.22.H56-240101-0001/$c}" "$BODY" "a foreign dossier looks unknown"
done
get "$T_W69" "/v1/dossiers/$D1"
expect 404 "ward 08869 reads D1"
get "$T_W69" "/v1/dossiers/$D4"
expect 200 "ward 08869 reads D4 it received"
# Parent 243: everything of 08707 and 08710, and D4 (competent 08707); not D3.
for c in "$D1" "$D2" "$D4"; do
  get "$T_P243" "/v1/dossiers/$c"
  expect 200 "parent 243 reads $c"
done
get "$T_P243" "/v1/dossiers/$D3"
expect 404 "parent 243 reads D3 of the other district"
get "$T_P244" "/v1/dossiers/$D3"
expect 200 "parent 244 reads D3"
get "$T_OP" "/v1/dossiers/$D1?x=1"
expect 400 "a parameter on one dossier"
lt_assert_eq x "$(field .error.field)" "400 names x"
lt_assert_eq 404 "$(lt_status gw "/v1/dossiers/$D1/events" -H "Authorization: Bearer $T_OP")" \
  "a path below a dossier"
st=$(lt_status gw "/v1/dossiers/$D1" -X POST -H "Authorization: Bearer $T_OP")
lt_assert_eq 405 "$st" "POST on a dossier"

# ---- GET /v1/dossiers: reconciliation ------------------------------------------
lt_log "reconciliation"
get "$T_OP" /v1/dossiers
expect 200 "operator lists"
lt_assert_eq "$D1 $D3 $D4 $D2" "$(codes)" "every dossier, by last sequence"
lt_assert_eq "2 6 7 8" "$(jq -r '[.dossiers[].sequence] | join(" ")' <<<"$BODY")" "their sequences"
lt_assert_eq null "$(field .next)" "one page"
lt_assert_eq "$(q "SELECT encode(content_hash, 'hex') FROM dossiers WHERE code = '$D3'")" \
  "$(jq -r --arg c "$D3" '.dossiers[] | select(.MaHoSo == $c) | .content_hash' <<<"$BODY")" "content_hash in hex"
lt_assert_eq '{"MaHoSo":"000.01.06.H56-240117-0003","status":"9","MaTTHC":"2.002621.H56","units":{"receiving":"08869","competent":"244","processing":"Phòng Quản lý đô thị"},"sequence":6}' \
  "$(jq -c '.dossiers[1] | {MaHoSo, status, MaTTHC, units, sequence}' <<<"$BODY")" "a listed dossier"
case "$BODY" in *"$CCCD"* | *SoGiayToChuHoSo*) lt_fail "the list carries records" ;; esac
get "$T_RD" /v1/dossiers
expect 200 "reader lists"
lt_assert_eq "$D1 $D3 $D4 $D2" "$(codes)" "reader sees all"

get "$T_W07" /v1/dossiers
lt_assert_eq "$D1 $D4" "$(codes)" "ward 08707: received and transferred"
get "$T_W07" "/v1/dossiers?unit=08707&since=2"
lt_assert_eq "$D4" "$(codes)" "ward 08707 since 2"
get "$T_W07" "/v1/dossiers?unit=08710"
expect 403 "ward 08707 asks for 08710"
lt_assert_eq "forbidden unit" "$(field '"\(.error.code) \(.error.field)"')" "403 names unit"
get "$T_W07" "/v1/dossiers?unit=243"
expect 403 "ward 08707 asks for its parent"
get "$T_P243" /v1/dossiers
lt_assert_eq "$D1 $D4 $D2" "$(codes)" "parent 243: its subtree"
get "$T_P243" "/v1/dossiers?unit=08710"
lt_assert_eq "$D2" "$(codes)" "parent 243, unit 08710"
get "$T_P243" "/v1/dossiers?unit=243"
lt_assert_eq "$D1" "$(codes)" "parent 243, its own unit (competent)"
get "$T_P243" "/v1/dossiers?unit=08869"
expect 403 "parent 243 asks for 08869"
get "$T_P244" /v1/dossiers
lt_assert_eq "$D3 $D4" "$(codes)" "parent 244"
get "$T_OP" "/v1/dossiers?unit=244"
lt_assert_eq "$D3" "$(codes)" "operator, unit 244"
get "$T_OP" "/v1/dossiers?status=4"
lt_assert_eq "$D1 $D2" "$(codes)" "status 4"
get "$T_OP" "/v1/dossiers?status=2&unit=08869"
lt_assert_eq "$D4" "$(codes)" "status 2 of 08869"
# Paging: two pages of two; next is the last sequence, then null.
get "$T_OP" "/v1/dossiers?limit=2"
lt_assert_eq "$D1 $D3 6" "$(codes) $(field .next)" "first page"
get "$T_OP" "/v1/dossiers?limit=2&since=6"
lt_assert_eq "$D4 $D2 null" "$(codes) $(field .next)" "last page"
get "$T_OP" "/v1/dossiers?since=8"
lt_assert_eq " null" "$(codes) $(field .next)" "nothing after 8"
for bad in "foo=1:foo" "since=1&since=2:since" "since=-1:since" "status=11:status" "status=0:status" \
  "limit=0:limit" "limit=5001:limit" "unit=:unit" "since=x:since" "prefix=dossier.:prefix"; do
  get "$T_OP" "/v1/dossiers?${bad%:*}"
  expect 400 "GET /v1/dossiers?${bad%:*}"
  lt_assert_eq "bad_request ${bad##*:}" "$(field '"\(.error.code) \(.error.field)"')" "400 for ${bad%:*}"
done

# ---- GET /v1/events ----------------------------------------------------------
lt_log "events"
get "$T_OP" /v1/events
expect 200 "operator events"
lt_assert_eq "1 2 3 4 5 6 7 8" "$(seqs)" "every event"
lt_assert_eq "8 null" "$(field '"\(.last) \(.next)"')" "last and next"
lt_assert_eq "catalog catalog.2.002621.H56 added" \
  "$(jq -r '.events[3] | "\(.kind) \(.topic) \(.record.change)"' <<<"$BODY")" "the catalog event"
lt_assert_eq "dossier dossier.08869.9 $D3 $CCCD" \
  "$(jq -r '.events[5] | "\(.kind) \(.topic) \(.record.MaHoSo) \(.record.SoGiayToChuHoSo)"' <<<"$BODY")" \
  "a dossier event carries its record"
get "$T_RD" /v1/events
expect 200 "reader events"
lt_assert_eq "1 2 3 4 5 6 7 8" "$(seqs)" "reader sees every event"
for secret in "$CCCD" "$PHONE" "$EMAIL"; do
  case "$BODY" in *"$secret"*) lt_fail "reader's events show [$secret]" ;; esac
done
lt_assert_eq "Cấp phép" "$(jq -r '.events[3].record.procedure.TENTTHC' <<<"$BODY")" "catalog record as is"
# A ward's or parent's events are those of every dossier it reads (received
# or competent in its units) and the catalog's: D4's events go to 08869,
# which received it, and to 08707, its competent unit (audit A.2).
get "$T_W07" /v1/events
lt_assert_eq "1 2 4 7" "$(seqs)" "ward 08707: D1, the catalog and D4 (competent)"
lt_assert_eq "8 null" "$(field '"\(.last) \(.next)"')" "a scoped page still gives the last sequence"
get "$T_W69" /v1/events
lt_assert_eq "4 5 6 7" "$(seqs)" "ward 08869"
get "$T_P243" /v1/events
lt_assert_eq "1 2 3 4 7 8" "$(seqs)" "parent 243: 08707 and 08710, and D4 (competent 08707)"
get "$T_P244" /v1/events
lt_assert_eq "4 5 6 7" "$(seqs)" "parent 244: 08869"
get "$T_W07" "/v1/events?prefix=catalog."
lt_assert_eq "4" "$(seqs)" "catalog prefix"
get "$T_W07" "/v1/events?prefix=dossier."
lt_assert_eq "1 2 7" "$(seqs)" "dossier prefix"
get "$T_W07" "/v1/events?prefix=dossier.08710."
lt_assert_eq "" "$(seqs)" "a foreign unit's prefix gives nothing"
get "$T_P243" "/v1/events?prefix=dossier.08710.2"
lt_assert_eq "3" "$(seqs)" "a unit and status prefix"
get "$T_OP" "/v1/events?prefix=dossier.08869."
lt_assert_eq "5 6 7" "$(seqs)" "a unit's prefix"
get "$T_OP" "/v1/events?prefix=catalog."
lt_assert_eq "4" "$(seqs)" "operator, catalog prefix"
get "$T_W07" "/v1/events?since=4"
lt_assert_eq "7 8 null" "$(seqs) $(field .last) $(field .next)" "ward 08707 since 4"
get "$T_W69" "/v1/events?limit=2"
lt_assert_eq "4 5 5" "$(seqs) $(field .next)" "a ward's first page"
get "$T_W69" "/v1/events?limit=2&since=5"
lt_assert_eq "6 7 null" "$(seqs) $(field .next)" "a ward's last page"
# Paging one event at a time walks all of them once.
since=0 walked="" pages=0
while :; do
  get "$T_OP" "/v1/events?since=$since&limit=3"
  expect 200 "events page after $since"
  walked="$walked $(seqs)"
  pages=$((pages + 1))
  [ "$(field .next)" = null ] && break
  since=$(field .next)
  [ $pages -lt 10 ] || lt_fail "paging does not end"
done
lt_assert_eq " 1 2 3 4 5 6 7 8" "$walked" "events walked in pages"
lt_assert_eq 3 "$pages" "pages of 3"
for bad in "since=-1:since" "limit=0:limit" "unit=08707:unit" "prefix=a&prefix=b:prefix"; do
  get "$T_OP" "/v1/events?${bad%:*}"
  expect 400 "GET /v1/events?${bad%:*}"
  lt_assert_eq "${bad##*:}" "$(field .error.field)" "400 for ${bad%:*}"
done

# ---- GET /v1/rejects -------------------------------------------------------------
lt_log "rejects"
get "$T_OP" /v1/rejects
expect 200 "operator rejects"
lt_assert_eq "$R1 $((R1 + 1)) $((R1 + 2))" "$(jq -r '[.rejects[].id] | join(" ")' <<<"$BODY")" "every reject, oldest first"
lt_assert_eq "08869 zmq vendor-a null malformed" \
  "$(jq -r '.rejects[1] | "\(.sender_unit) \(.channel) \(.dialect) \(.MaHoSo) \(.reason.error.code)"' <<<"$BODY")" "a reject"
lt_assert_eq "000.01.22.H56-240115-0009 422 null" \
  "$(jq -r '.rejects[0] | "\(.MaHoSo) \(.reason.results[0].code) \(.resubmitted_at)"' <<<"$BODY")" "a reject's reason"
lt_assert_eq 0 "$(jq '[.rejects[] | select(has("payload"))] | length' <<<"$BODY")" "no payload"
case "$BODY" in *"$CCCD"*) lt_fail "a payload's citizen ID in the list" ;; esac
get "$T_OP" "/v1/rejects?unit=08707"
lt_assert_eq "$R1 $((R1 + 2))" "$(jq -r '[.rejects[].id] | join(" ")' <<<"$BODY")" "rejects of 08707"
get "$T_OP" "/v1/rejects?limit=1&since=$R1"
lt_assert_eq "$((R1 + 1)) $((R1 + 1))" "$(jq -r '"\(.rejects[0].id) \(.next)"' <<<"$BODY")" "a page of one"
get "$T_OP" "/v1/rejects?limit=1&since=$((R1 + 1))"
lt_assert_eq "$((R1 + 2)) null" "$(jq -r '"\(.rejects[0].id) \(.next)"' <<<"$BODY")" "the last page"
for t in "$T_W07" "$T_P243" "$T_RD"; do
  get "$t" /v1/rejects
  expect 403 "rejects for a non-operator"
  lt_assert_eq forbidden "$(field .error.code)" "403 code"
done
get "$T_OP" "/v1/rejects?status=1"
expect 400 "rejects take no status"

# ---- auth.required=false: loopback development -----------------------------------
lt_log "auth.required=false"
lt_gw_start open LIENTHONG_AUTH_REQUIRED=false
lt_wait 60 status_is open /readyz 200 || lt_fail "open gateway not ready"
GW=open
get "" "/v1/dossiers/$D1"
expect 200 "no token, no auth"
lt_assert_eq "$CCCD" "$(field .record.SoGiayToChuHoSo)" "unmasked without a token"
get "" /v1/dossiers
lt_assert_eq "$D1 $D3 $D4 $D2" "$(codes)" "everything listed"
get "" /v1/events
lt_assert_eq "1 2 3 4 5 6 7 8" "$(seqs)" "every event"
get "" /v1/rejects
expect 200 "rejects without a token"
get "$T_W69" "/v1/dossiers/$D1"
expect 404 "a token sent is still scoped"
get "$(wrong "$T_W69")" /v1/events
expect 401 "a wrong token is still refused"
lt_gw_stop open
GW=gw

# ---- pushed through the writer, read back ---------------------------------------
# The writer's answers are held to the contract too: accepted, duplicate, a
# refused single record (422), a mixed array, a foreign dossier (403) and a
# missing token (401); then the reads show what it stored.
lt_log "the writer's records read back"
echo '[{"MATTHC": "2.000908", "TENTTHC": "Cấp bản sao trích lục hộ tịch", "TRANGTHAI": "1",
        "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}]}]' >"$LT_TMP/catalog.json"
"$lt" catalog sync --file "$LT_TMP/catalog.json" >/dev/null 2>&1 || lt_fail "catalog sync"
D5=000.01.22.H56-240201-0005 # issued by 08707
jq --arg c "$D5" '.MaHoSo = $c | .QuaTrinhXuLy |= map(.MaHoSo = $c)' \
  "$LT_SOURCE_DIR/schemas/examples/valid/02-duoc-tiep-nhan-truc-tiep.json" >"$LT_TMP/d5.json"
jq '.NgayHenTra = "31/10/2023"' "$LT_TMP/d5.json" >"$LT_TMP/d5-bad.json"
jq -s '.' "$LT_TMP/d5.json" "$LT_TMP/d5-bad.json" >"$LT_TMP/d5-both.json"
post() { # TOKEN FILE
  get "$1" /v1/dossiers -X POST -H 'Content-Type: application/json' --data-binary "@$2"
}
post "$T_W07" "$LT_TMP/d5.json"
expect 200 "a ward pushes its dossier"
lt_assert_eq accepted "$(field '.results[0].result')" "pushed"
S5=$(field '.results[0].sequence')
post "$T_W07" "$LT_TMP/d5.json"
lt_assert_eq "200 duplicate $S5" "$ST $(field '.results[0] | "\(.result) \(.sequence)"')" "pushed again"
post "$T_W07" "$LT_TMP/d5-bad.json"
expect 422 "a refused record"
post "$T_W07" "$LT_TMP/d5-both.json"
lt_assert_eq "200 duplicate rejected" "$ST $(field '[.results[].result] | join(" ")')" "a mixed array"
post "$T_P244" "$LT_TMP/d5.json" # 08707 is not in 244's subtree
expect 403 "a foreign parent pushes"
post "" "$LT_TMP/d5.json"
expect 401 "a push without a token"
get "$T_W07" "/v1/dossiers/$D5"
expect 200 "the ward reads what it pushed"
lt_assert_eq "$D5 08707 $S5" "$(field '"\(.record.MaHoSo) \(.units.receiving) \(.events[-1].sequence)"')" \
  "the stored dossier"
get "$T_W07" "/v1/dossiers?since=8"
lt_assert_eq "$D5 $S5" "$(codes) $(jq -r '.dossiers[0].sequence' <<<"$BODY")" "reconciliation sees it"
get "$T_W07" "/v1/events?since=8"
lt_assert_eq "catalog dossier $S5" "$(field '[.events[].kind] | join(" ")') $(field '.events[-1].sequence')" \
  "the catalog sync's event and the push's"
get "$T_OP" "/v1/rejects?since=$((R1 + 2))"
# The foreign parent's 403 is not kept: its bytes are another unit's data.
lt_assert_eq "08707 $D5" "$(jq -r '[.rejects[] | "\(.sender_unit) \(.MaHoSo)"] | unique | join(",")' <<<"$BODY")" \
  "the writer's rejects"

# ---- the answers against the contract --------------------------------------------
lt_gw_stop gw
lt_answers_check
lt_log "ok"
