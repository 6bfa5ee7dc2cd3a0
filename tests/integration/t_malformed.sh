#!/usr/bin/env bash
# Bad input at the door (issue 9): a corpus of more than 200 malformed
# payloads — every example in schemas/examples/invalid plus mutations of
# every valid example (truncated, invalid UTF-8, a field of the wrong type, a
# required field missing, a value out of its set, a bad date, nesting past
# limits.depth, a duplicate key, not a record at all, too many records) —
# each pushed to POST /v1/dossiers with a token allowed to write them. Each
# gets a specific 4xx (never 5xx, never accepted; a batch is answered 200
# with every record refused with its own 4xx) that names the field or the
# problem; afterwards the database holds no dossier and no dossier event
# (nothing partial), every refusal the writer judged is kept in rejects, and
# the gateway still accepts a valid record.
source "$(dirname "$0")/lib.sh"

lt_pg_start pg
lt_ingest_fixture
q() { lt_psql "$LT_PG_URL" "$1"; }
# A parent token of the province: every unit of the example tree is in its
# scope, so refusals are about the payload, not about who sends it.
token=$("$LIENTHONG_BIN" token create --unit 26 --role parent | tail -n 1)
lt_gw_start gw LIENTHONG_LIMITS_RATE=0
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"

corpus=$LT_TMP/corpus
mkdir -p "$corpus"
ex=$LT_SOURCE_DIR/schemas/examples
manifest=$ex/invalid/MANIFEST.json
# add NAME FIELD, the payload on stdin: the answer must name FIELD ("" =
# any specific problem). add runs at the end of pipelines, in a subshell:
# the expectations go through a file.
add() {
  cat >"$corpus/$1"
  printf '%s\t%s\n' "$1" "$2" >>"$LT_TMP/expect.tsv"
}

# 1. The invalid examples, each breaking one rule named in the manifest.
for f in "$ex"/invalid/*.json; do
  n=$(basename "$f")
  [ "$n" = MANIFEST.json ] && continue
  add "inv-$n" "$(jq -r --arg n "$n" '.[$n].field // ""' "$manifest")" <"$f"
done

# 2. Mutations of each valid example.
strings=(MaHoSo MaTTHC TrangThaiHoSo KenhThucHien NgayTiepNhan NgayHenTra ChuHoSo TenTTHC)
for f in "$ex"/valid/*.json; do
  b=$(basename "$f" .json)
  size=$(stat -c %s "$f")
  head -c $((size / 2)) "$f" | add "$b-truncated" ""
  head -c $((size - 2)) "$f" | add "$b-unclosed" ""
  # A byte that is never UTF-8 inside the first string value.
  sed '0,/": "/s//": "\xff/' "$f" | add "$b-not-utf8" ""
  for k in "${strings[@]}"; do
    jq -e --arg k "$k" 'has($k)' "$f" >/dev/null || continue
    jq --arg k "$k" '.[$k] = 12345' "$f" | add "$b-$k-number" "$k"
  done
  for k in MaHoSo MaTTHC TrangThaiHoSo; do
    jq --arg k "$k" 'del(.[$k])' "$f" | add "$b-no-$k" "$k"
  done
  jq '.TrangThaiHoSo = "99"' "$f" | add "$b-status-99" TrangThaiHoSo
  jq '.KenhThucHien = "7"' "$f" | add "$b-channel-7" KenhThucHien
  jq '.NgayTiepNhan = "27/10/2023 08:30"' "$f" | add "$b-date-format" NgayTiepNhan
  jq '.NgayTiepNhan = "20231332083000"' "$f" | add "$b-date-invalid" NgayTiepNhan
  jq '.MaHoSo = "not a dossier code"' "$f" | add "$b-code-shape" MaHoSo
  jq '.QuaTrinhXuLy = "not a list"' "$f" | add "$b-history-not-list" QuaTrinhXuLy
  # Past limits.depth (32): a 40-deep value in an extra field.
  { printf '{"MaHoSo": "x", "Extra": '; printf '[%.0s' $(seq 40); printf '1'; printf ']%.0s' $(seq 40); printf '}'; } |
    add "$b-deep" ""
  # The same key twice: which value the sender meant cannot be known.
  sed '0,/"MaTTHC"/s//"MaTTHC": "1.001", "MaTTHC"/' "$f" | add "$b-duplicate-key" ""
done
# 3. Not records at all.
printf '42' | add not-a-record-number ""
printf '"text"' | add not-a-record-string ""
printf 'null' | add not-a-record-null ""
printf '[1, 2, 3]' | add array-of-numbers ""
printf '' | add empty-body ""
printf '{}' | add empty-object MaHoSo
printf '{"MaHoSo": ' | add cut-after-key ""
printf '\xef\xbb\xbf{"MaHoSo": "\\ud800"}' | add lone-surrogate ""
jq -n '[range(1001) | {MaHoSo: "x"}]' | add too-many-records ""

declare -A expect_field
while IFS=$'\t' read -r name field; do expect_field[$name]=$field; done <"$LT_TMP/expect.tsv"
n=$(ls "$corpus" | wc -l)
[ "$n" -ge 200 ] || lt_fail "the corpus holds only $n payloads"
lt_log "corpus: $n malformed payloads"

before_rejects=$(q "SELECT count(*) FROM rejects")
judged=0
for p in "$corpus"/*; do
  name=$(basename "$p")
  out=$(curl -s -m 10 -o "$LT_TMP/answer" -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' --data-binary @"$p" "$(lt_url gw /v1/dossiers)") || true
  # A batch (an array) is answered 200 with one result per record: then
  # every record must be refused with a 4xx of its own.
  if [ "$out" = 200 ] &&
    jq -e '.results | length > 0 and all(.result == "rejected" and .code >= 400 and .code < 500)' \
      "$LT_TMP/answer" >/dev/null 2>&1; then
    out=$(jq -r '.results[0].code' "$LT_TMP/answer")
  fi
  case "$out" in
    4??) ;;
    *) lt_fail "$name: answered $out, not a 4xx: $(head -c 300 "$LT_TMP/answer")" ;;
  esac
  # Specific: a record's refusal names a field; a body's refusal has a code
  # and a message.
  what=$(jq -r '(.results[0] // .) | if .field then "field:" + .field
                elif .error.code then "code:" + .error.code
                elif .code then "code:" + (.code | tostring) else "" end' "$LT_TMP/answer" 2>/dev/null) ||
    lt_fail "$name: the $out answer is not JSON: $(head -c 300 "$LT_TMP/answer")"
  [ -n "$what" ] || lt_fail "$name: the $out answer names no field or code: $(head -c 300 "$LT_TMP/answer")"
  want=${expect_field[$name]}
  if [ -n "$want" ]; then
    lt_assert_eq "field:$want" "$what" "$name: the answer names the broken field"
  fi
  [ "$out" = 422 ] && judged=$((judged + 1))
done

lt_assert_eq 0 "$(q "SELECT count(*) FROM dossiers")" "no dossier stored from the corpus"
lt_assert_eq 0 "$(q "SELECT count(*) FROM dossier_events WHERE kind = 'dossier'")" "no dossier event stored"
kept=$(($(q "SELECT count(*) FROM rejects") - before_rejects))
[ "$kept" -ge "$judged" ] || lt_fail "only $kept of $judged refused records kept in rejects"
# Still serving: a valid record goes in.
out=$(curl -s -m 10 -o "$LT_TMP/answer" -w '%{http_code}' -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' --data-binary @"$ex/valid/02-duoc-tiep-nhan-truc-tiep.json" \
  "$(lt_url gw /v1/dossiers)")
lt_assert_eq 200 "$out" "a valid record after the corpus: $(cat "$LT_TMP/answer")"
lt_gw_stop gw
lt_log "ok: $n payloads, each a specific 4xx; $kept refusals kept; nothing partial"
