#!/usr/bin/env bash
# POST /v1/dossiers on the real binary and a real PostgreSQL: accepted,
# duplicate, stale, correction, every class of invalid record, an illegal
# transition, unknown and abolished procedures, an unknown unit, oversized
# and malformed bodies, a mixed batch, both vendor dialects, credentials
# (401/403, revocation at once), the stored rows (state, events, rejects)
# and the published events; no personal data in the gateway's log.
source "$(dirname "$0")/lib.sh"

EX=$LT_SOURCE_DIR/schemas/examples
# Every answer is kept and held to schemas/openapi.yaml at the end.
export LT_ANSWERS_DIR=$LT_TMP/answers
lt_pg_start pg
# The example tree, with ward 08872 on vendor-b (08869 is on vendor-a).
jq 'map(if .code == "08872" then .dialect = "vendor-b" else . end)' \
  "$LT_SOURCE_DIR/deploy/units/example-3tier.json" >"$LT_TMP/units.json"
UNITS_FILE=$LT_TMP/units.json lt_ingest_fixture
parent=$LT_PARENT_TOKEN
ward=$("$LIENTHONG_BIN" token create --unit 08707 --role ward | tail -n 1)
ward_a=$("$LIENTHONG_BIN" token create --unit 08869 --role ward | tail -n 1)
ward_b=$("$LIENTHONG_BIN" token create --unit 08872 --role ward | tail -n 1)
operator=$LT_OPERATOR_TOKEN

lt_gw_start gw
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"

# push TOKEN FILE [curl args]: "STATUS BODY" of POST /v1/dossiers.
push() {
  local token=$1 file=$2; shift 2
  lt_http_save gw /v1/dossiers -X POST -H 'Content-Type: application/json' \
    ${token:+-H "Authorization: Bearer $token"} --data-binary "@$file" "$@"
}
body_of() { cut -d' ' -f2- <<<"$1"; }
status_of() { cut -d' ' -f1 <<<"$1"; }
expect() { # WHAT STATUS JQ-FILTER EXPECTED RESPONSE
  lt_assert_eq "$2" "$(status_of "$5")" "$1: status (answer: $(body_of "$5" | head -c 400))"
  lt_assert_eq "$4" "$(body_of "$5" | jq -r "$3")" "$1: $3"
}
count() { lt_psql "$LT_PG_URL" "$1"; }

# ---- accepted, duplicate, stale, correction ---------------------------------
rec=$EX/valid/09-da-xu-ly-xong.json # 000.00.06.H56 = district 244
out=$(push "$parent" "$rec")
expect "first push" 200 '.results[0].result' accepted "$out"
seq1=$(body_of "$out" | jq .results[0].sequence)
[ "$seq1" -gt 0 ] || lt_fail "accepted without a sequence: $out"
lt_assert_eq "9|244|$seq1" "$(count "SELECT status, receiving_unit, last_seq FROM dossiers WHERE code = '000.00.06.H56-241031-0361'")" "stored state"
lt_assert_eq "dossier.244.9" "$(count "SELECT topic FROM dossier_events WHERE seq = $seq1")" "event topic"

out=$(push "$parent" "$rec")
expect "same record again" 200 '.results[0].result + " " + (.results[0].sequence|tostring)' "duplicate $seq1" "$out"
lt_assert_eq 1 "$(count "SELECT count(*) FROM dossier_events WHERE dossier_code = '000.00.06.H56-241031-0361'")" "a duplicate writes nothing"

# Older: the same dossier before its last step.
jq '.QuaTrinhXuLy |= .[:1] | .NgayKetThucXuLy = "" | .TrangThaiHoSo = "2"' "$rec" >"$LT_TMP/older.json"
out=$(push "$parent" "$LT_TMP/older.json")
expect "older record" 200 '.results[0].result + " " + (.results[0].sequence|tostring)' "stale $seq1" "$out"

# A correction: same point in time, different content.
jq '.TenTTHC = "Cấp bản sao trích lục hộ tịch (sửa)"' "$rec" >"$LT_TMP/corrected.json"
out=$(push "$parent" "$LT_TMP/corrected.json")
expect "correction" 200 '.results[0].result' accepted "$out"
lt_assert_eq 2 "$(count "SELECT count(*) FROM dossier_events WHERE dossier_code = '000.00.06.H56-241031-0361'")" "a correction appends an event"

# ---- illegal transition: 3 is terminal -------------------------------------
out=$(push "$parent" "$EX/valid/03-khong-duoc-tiep-nhan.json")
expect "terminal record" 200 '.results[0].result' accepted "$out"
jq '.TrangThaiHoSo = "2" | .NgayTiepNhan = "20231027093000" | .NgayHenTra = "20231030170000" | .QuaTrinhXuLy += [.QuaTrinhXuLy[-1] | .ThoiDiemXuLy = "20991231235959" | .TrangThai = "2"]' \
  "$EX/valid/03-khong-duoc-tiep-nhan.json" >"$LT_TMP/reopen.json"
out=$(push "$parent" "$LT_TMP/reopen.json")
expect "leaving a terminal status" 409 '[.results[0].from, .results[0].to, .results[0].field, .error.code] | join(" ")' \
  "3 2 TrangThaiHoSo illegal_transition" "$out"

# ---- rules that need the database -------------------------------------------
jq '.MaTTHC = "9.999999"' "$rec" | jq '.MaHoSo = "000.00.06.H56-241031-0900"' >"$LT_TMP/unknown-proc.json"
out=$(push "$parent" "$LT_TMP/unknown-proc.json")
expect "unknown procedure" 422 '.results[0].field' MaTTHC "$out"
jq '.MaTTHC = "1.009999" | .MaHoSo = "000.00.06.H56-241031-0901"' "$rec" >"$LT_TMP/abolished.json"
out=$(push "$parent" "$LT_TMP/abolished.json")
expect "abolished procedure" 422 '.results[0].field' MaTTHC "$out"
lt_assert_contains "$(body_of "$out")" "abolished or not published" "abolished message"
jq '.MaHoSo = "000.99.99.H56-241031-0902"' "$rec" >"$LT_TMP/unknown-unit.json"
out=$(push "$parent" "$LT_TMP/unknown-unit.json")
expect "unknown unit" 422 '.results[0].field' MaHoSo "$out"

# ---- credentials and unit scope ---------------------------------------------
out=$(push "" "$rec")
expect "no token" 401 '.error.code' unauthorized "$out"
hdr=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary "@$rec" "$(lt_url gw /v1/dossiers)")
lt_assert_contains "$hdr" "WWW-Authenticate: Bearer" "401 challenge"
out=$(push "lt_0000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$rec")
expect "unknown token" 401 '.error.code' unauthorized "$out"
out=$(push "$operator" "$rec")
expect "operator may not push" 403 '.error.code' forbidden "$out"
jq '.MaHoSo = "000.00.06.H56-241031-0777" | .ChuHoSo = 5' "$rec" >"$LT_TMP/foreign.json"
out=$(push "$ward" "$LT_TMP/foreign.json")
expect "a ward writing another unit's dossier (invalid too)" 403 '.results[0].code' 403 "$out"
lt_assert_eq 0 "$(count "SELECT count(*) FROM dossiers WHERE code = '000.00.06.H56-241031-0777'")" "nothing written for a 403"
# The ward's own dossier of a district-level procedure: competent unit 243.
jq '.MaHoSo = "000.01.22.H56-241031-0001" | .MaTTHC = "1.001193" | .QuaTrinhXuLy[].MaHoSo = "000.01.22.H56-241031-0001"' "$rec" >"$LT_TMP/own.json"
out=$(push "$ward" "$LT_TMP/own.json")
expect "ward's own dossier" 200 '.results[0].result' accepted "$out"
lt_assert_eq "08707|243" "$(count "SELECT receiving_unit, competent_unit FROM dossiers WHERE code = '000.01.22.H56-241031-0001'")" "receiving and competent units"
# A parent writes its subtree: ward 08869's dossier through district 244.
jq '.MaHoSo = "000.01.06.H56-241031-0002" | .QuaTrinhXuLy[].MaHoSo = "000.01.06.H56-241031-0002"' "$rec" >"$LT_TMP/child.json"
out=$(push "$parent" "$LT_TMP/child.json")
expect "parent writes its subtree" 200 '.results[0].result' accepted "$out"
# Revocation takes effect at once in the running gateway.
"$LIENTHONG_BIN" token revoke "${ward:3:10}" >/dev/null || lt_fail "revoke"
out=$(push "$ward" "$LT_TMP/own.json")
expect "revoked token" 401 '.error.code' unauthorized "$out"

# ---- whole-request refusals ---------------------------------------------------
out=$(lt_http_save gw /v1/dossiers -X POST -H 'Content-Type: text/plain' -H "Authorization: Bearer $parent" --data-binary "@$rec")
expect "wrong media type" 415 '.error.code' unsupported_media_type "$out"
printf '{"MaHoSo": ' >"$LT_TMP/cut.json"
out=$(push "$parent" "$LT_TMP/cut.json")
expect "malformed JSON" 400 '.error.code' malformed "$out"
printf '{"MaHoSo": "000.00.06.H56-241031-0361\xff"}' >"$LT_TMP/utf8.json"
out=$(push "$parent" "$LT_TMP/utf8.json")
expect "invalid UTF-8" 400 '.error.code' malformed "$out"
jq -c '[range(1001) | {}]' -n >"$LT_TMP/1001.json"
out=$(push "$parent" "$LT_TMP/1001.json")
expect "1,001 records" 413 '.error.code' too_large "$out"
head -c 5000000 /dev/zero | tr '\0' ' ' >"$LT_TMP/huge.json"
out=$(push "$parent" "$LT_TMP/huge.json")
lt_assert_eq 413 "$(status_of "$out")" "a body over http.max_body"

# ---- a mixed batch keeps the good records -----------------------------------
jq -s '[.[0], .[1], .[2]]' "$EX/valid/02-duoc-tiep-nhan-truc-tiep.json" \
  "$EX/invalid/ChuHoSo-number.json" "$EX/valid/07-cong-dan-rut-ho-so.json" >"$LT_TMP/mixed.json"
out=$(push "$parent" "$LT_TMP/mixed.json")
expect "mixed batch" 200 '[.results[].result] | join(",")' "accepted,rejected,accepted" "$out"
lt_assert_eq ChuHoSo "$(body_of "$out" | jq -r '.results[1].field')" "the bad record's field"

# ---- every class of invalid record (a gateway without auth: no scope) ----
lt_gw_start open LIENTHONG_AUTH_REQUIRED=false
lt_wait 30 status_is open /readyz 200 || lt_fail "gateway open not ready"
n=0
while read -r file field; do
  out=$(lt_http_save open /v1/dossiers -X POST -H 'Content-Type: application/json' --data-binary "@$EX/invalid/$file")
  st=$(status_of "$out")
  got=$(body_of "$out" | jq -r '.results[0].field // .error.code')
  [ "$st" = 422 ] || [ "$st" = 400 ] || lt_fail "$file: status $st ($out)"
  [ "$st" = 400 ] || lt_assert_eq "$field" "$got" "$file: the field named"
  n=$((n + 1))
done < <(jq -r 'to_entries[] | "\(.key) \(.value.field)"' "$EX/invalid/MANIFEST.json")
[ "$n" -ge 50 ] || lt_fail "only $n invalid examples ran"

# ---- vendor dialects: each ward's own format ------------------------------------
for v in a b; do
  tok=ward_$v; unit_agency=$([ $v = a ] && echo 000.01.06.H56 || echo 000.02.06.H56)
  src=$LT_SOURCE_DIR/adapters/dialects/examples/vendor-$v/01-dang-xu-ly.json
  sed "s/000\.00\.06\.H56-/$unit_agency-/g" "$src" >"$LT_TMP/v$v.json"
  out=$(push "${!tok}" "$LT_TMP/v$v.json")
  expect "vendor-$v record" 200 '.results[0].result' accepted "$out"
  code=$(body_of "$out" | jq -r .results[0].MaHoSo)
  want=$(sed "s/000\.00\.06\.H56-/$unit_agency-/g" "${src%.json}.canonical.json" | jq -S -c .)
  have=$(count "SELECT record::text FROM dossiers WHERE code = '$code'" | jq -S -c .)
  lt_assert_eq "$want" "$have" "vendor-$v stored as the canonical record"
  out=$(push "${!tok}" "$LT_TMP/$([ $v = a ] && echo va || echo vb).json")
  expect "vendor-$v again" 200 '.results[0].result' duplicate "$out"
done

# A unit that changes dialect is read in its new one at once (the writer's
# early preparation guessed the old one from its last credential lookup).
jq 'map(if .code == "08869" then .dialect = null else . end)' "$LT_TMP/units.json" >"$LT_TMP/units2.json"
"$LIENTHONG_BIN" units import "$LT_TMP/units2.json" >/dev/null || lt_fail "units re-import"
jq '.MaHoSo = "000.01.06.H56-241031-0003" | .QuaTrinhXuLy[].MaHoSo = "000.01.06.H56-241031-0003"' "$rec" >"$LT_TMP/a-canonical.json"
out=$(push "$ward_a" "$LT_TMP/a-canonical.json")
expect "ward 08869 now canonical" 200 '.results[0].result' accepted "$out"

# ---- what was refused is kept; the log holds no personal data ------------------
rejects=$(count "SELECT count(*) FROM rejects")
[ "$rejects" -ge 60 ] || lt_fail "rejects kept: $rejects"
lt_assert_eq 0 "$(count "SELECT count(*) FROM rejects WHERE octet_length(payload) = 0")" "every reject has its payload"
lt_assert_contains "$(count "SELECT convert_from(payload, 'UTF8') FROM rejects WHERE reason->>'field' = 'ChuHoSo' LIMIT 1")" \
  '"ChuHoSo"' "the refused bytes are kept"
# Event sequence: gap-free from the catalog's events on.
lt_assert_eq "t" "$(count "SELECT max(seq) = count(*) FROM dossier_events")" "gap-free sequence"
lt_gw_stop gw
lt_gw_stop open
for pii in "Nguyễn Thị Ánh" "001088012345" "0912345678"; do
  if grep -q "$pii" "$LT_TMP/gw.log" "$LT_TMP/open.log"; then lt_fail "personal data in the log: $pii"; fi
done
lt_answers_check
lt_log "ok"
