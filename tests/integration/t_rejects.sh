#!/usr/bin/env bash
# `lienthong rejects list|show|resubmit`: list shows one line per reject
# (table and --json), never the payload, messages masked; --unit, --since
# and --limit select; show prints everything, the payload included (base64
# when it is not UTF-8); an unknown id exits 1 naming it; usage errors exit 2
# before any database work. resubmit runs a stored payload through ingest
# again for the stored unit: a record refused for an unknown procedure is
# accepted once the catalog has it, the result is kept on the row, a second
# resubmit is a duplicate, and a record still invalid is rejected again
# (exit 1).
source "$(dirname "$0")/lib.sh"

lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
q() { lt_psql "$LT_PG_URL" "$1"; }
lt="$LIENTHONG_BIN"

"$lt" units import "$LT_SOURCE_DIR/deploy/units/example-3tier.json" >/dev/null ||
  lt_fail "units import failed"

# ---- usage errors: exit 2, no database needed --------------------------------
for args in "" "frob" "show" "show abc" "show 0" "resubmit" "resubmit -1" "show 1 2" \
  "list --limit 0" "list --limit 10001" "list --since x" "list extra" "list --unit"; do
  rc=0
  # shellcheck disable=SC2086
  LIENTHONG_DATABASE_URL="postgresql:///nowhere?host=/nonexistent" \
    "$lt" rejects $args >/dev/null 2>"$LT_TMP/usage.err" || rc=$?
  lt_assert_eq 2 "$rc" "usage error for: rejects $args"
  lt_assert_contains "$(cat "$LT_TMP/usage.err")" "lienthong rejects" "usage message for: rejects $args"
done
help=$("$lt" rejects --help) || lt_fail "rejects --help"
for word in list show resubmit "--since" "--unit" "resubmitted again" "Exit status"; do
  lt_assert_contains "$help" "$word" "--help mentions $word"
done

# ---- rejects as the writer stores them ---------------------------------------
CCCD=001090012345
rec=$(jq -cn --arg id "$CCCD" '{MaHoSo: "000.01.22.H56-250101-0001", MaTTHC: "1.001",
  TrangThaiHoSo: "2", KenhThucHien: "1", NgayTiepNhan: "20250101080000", NgayHenTra: "31/10/2024",
  ChuHoSo: "Nguyen Van A", SoGiayToChuHoSo: $id}')
reason1='{"MaHoSo": "000.01.22.H56-250101-0001", "result": "rejected", "code": 422,
  "field": "NgayHenTra", "path": "NgayHenTra",
  "message": "field NgayHenTra: expected yyyyMMddHHmmss, got \"31/10/2024\"",
  "errors": [{"field": "NgayHenTra", "path": "NgayHenTra", "expected": "yyyyMMddHHmmss", "got": "\"31/10/2024\""}]}'
reason2='{"error": {"code": "malformed", "message": "invalid UTF-8 at byte 1"}}'
reason3='{"MaHoSo": "000.01.06.H56-250101-0003", "result": "rejected", "code": 403,
  "field": "MaHoSo", "path": "MaHoSo", "message": "unit 08710 may not write dossiers of 000.01.06.H56",
  "errors": []}'
reason4='{"error": {"code": "malformed", "message": "the body is not JSON: invalid token near '"'"'0912345678'"'"'"}}'
psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 -v rec="$rec" -v r1="$reason1" -v r2="$reason2" \
  -v r3="$reason3" -v r4="$reason4" >/dev/null <<'SQL' || lt_fail "inserting rejects"
INSERT INTO rejects (received_at, sender_unit, channel, dialect, dossier_code, payload, reason) VALUES
  ('2025-01-01 01:00:00+00', '08707', 'http', NULL, '000.01.22.H56-250101-0001',
   convert_to(:'rec', 'UTF8'), :'r1'::jsonb),
  ('2025-01-01 02:00:00+00', '08869', 'zmq', 'vendor-a', NULL, '\x7bff7d'::bytea, :'r2'::jsonb),
  ('2025-01-01 03:00:00+00', '08710', 'http', NULL, '000.01.06.H56-250101-0003',
   convert_to('{"MaHoSo": "000.01.06.H56-250101-0003"}', 'UTF8'), :'r3'::jsonb),
  ('2025-01-01 04:00:00+00', '08707', 'http', NULL, NULL,
   convert_to('{"MaHoSo": 0912345678', 'UTF8'), :'r4'::jsonb);
SQL

# ---- list --------------------------------------------------------------------
lt_log "list"
out=$("$lt" rejects list) || lt_fail "rejects list"
lt_assert_eq 5 "$(wc -l <<<"$out")" "header and four rows"
lt_assert_contains "$(head -1 <<<"$out")" "dossier code" "table header"
lt_assert_eq "1 2 3 4" "$(tail -n +2 <<<"$out" | awk '{print $1}' | paste -sd' ')" "oldest first"
row1=$(awk '$1 == 1' <<<"$out")
for want in "2025-01-01 08:00:00" 08707 http 000.01.22.H56-250101-0001 422 "field NgayHenTra"; do
  lt_assert_contains "$row1" "$want" "row 1 shows $want"
done
lt_assert_contains "$(awk '$1 == 2' <<<"$out")" malformed "row 2 code"
for secret in "$CCCD" "Nguyen Van A" 0912345678; do
  case "$out" in *"$secret"*) lt_fail "list printed personal data ($secret): $out" ;; esac
done
json=$("$lt" rejects list --json) || lt_fail "rejects list --json"
lt_assert_eq "1 2 3 4" "$(jq -r '[.rejects[].id] | join(" ")' <<<"$json")" "--json ids"
lt_assert_eq '422 "malformed" 403 "malformed"' "$(jq -r '[.rejects[].code | tojson] | join(" ")' <<<"$json")" \
  "--json codes keep their type"
lt_assert_eq "2025-01-01T08:00:00+07:00|08707|http|null|000.01.22.H56-250101-0001|null|null" \
  "$(jq -r '.rejects[0] | [.received_at, .unit, .channel, (.dialect | tojson), .dossier_code,
     (.resubmitted_at | tojson), (.resubmit | tojson)] | join("|")' <<<"$json")" "--json first row"
lt_assert_eq "vendor-a 3" "$(jq -r '.rejects[1] | "\(.dialect) \(.payload_bytes)"' <<<"$json")" "--json second row"
case "$json" in *"$CCCD"* | *0912345678* | *payload\"*) lt_fail "list --json printed the payload: $json" ;; esac
lt_assert_eq "1 4" "$("$lt" rejects list --unit 08707 --json | jq -r '[.rejects[].id] | join(" ")')" "--unit"
lt_assert_eq "" "$("$lt" rejects list --unit 99999 --json | jq -r '[.rejects[].id] | join(" ")')" "--unit with nothing"
lt_assert_eq "2 3" "$("$lt" rejects list --since 1 --limit 2 --json | jq -r '[.rejects[].id] | join(" ")')" \
  "--since walks forward"
lt_assert_eq "3 4" "$("$lt" --json rejects list --limit 2 | jq -r '[.rejects[].id] | join(" ")')" \
  "--limit alone gives the newest"
lt_assert_eq "" "$("$lt" rejects list --since 4 --json | jq -r '[.rejects[].id] | join(" ")')" "nothing after the last"

# ---- show --------------------------------------------------------------------
lt_log "show"
out=$("$lt" rejects show 1) || lt_fail "rejects show 1"
for want in "reject 1" "$CCCD" "Nguyen Van A" "NgayHenTra: expected yyyyMMddHHmmss, got \"31/10/2024\"" \
  "resubmitted    never" "payload ("; do
  lt_assert_contains "$out" "$want" "show 1 prints $want"
done
json=$("$lt" rejects show 1 --json) || lt_fail "rejects show 1 --json"
lt_assert_eq "$CCCD" "$(jq -r '.payload | fromjson | .SoGiayToChuHoSo' <<<"$json")" "show --json payload is the record as sent"
lt_assert_eq "$rec" "$(jq -r .payload <<<"$json")" "payload byte for byte"
lt_assert_eq "422 NgayHenTra 1" "$(jq -r '"\(.reason.code) \(.reason.field) \(.reason.errors | length)"' <<<"$json")" \
  "show --json reason"
json=$("$lt" rejects show 2 --json) || lt_fail "rejects show 2 --json"
lt_assert_eq "null e/99 3" "$(jq -r '"\(.payload) \(.payload_base64) \(.payload_bytes)"' <<<"$json")" \
  "a payload that is not UTF-8 comes as base64"
lt_assert_contains "$("$lt" rejects show 2)" "not UTF-8; base64" "table for a binary payload"
lt_assert_contains "$("$lt" rejects show 4)" "invalid token near '0912345678'" "show is not masked"
rc=0
"$lt" rejects show 999 >"$LT_TMP/show.out" 2>"$LT_TMP/show.err" || rc=$?
lt_assert_eq 1 "$rc" "show of an unknown id"
lt_assert_contains "$(cat "$LT_TMP/show.err")" "no reject with id 999" "unknown id message"
lt_assert_eq "" "$(cat "$LT_TMP/show.out")" "nothing on stdout for an unknown id"
rc=0
"$lt" rejects resubmit 999 >/dev/null 2>"$LT_TMP/resub.err" || rc=$?
lt_assert_eq 1 "$rc" "resubmit of an unknown id"
lt_assert_contains "$(cat "$LT_TMP/resub.err")" "no reject with id 999" "resubmit unknown id message"

# ---- resubmit ----------------------------------------------------------------
lt_log "resubmit"
gen=${LT_GENCATALOG:?LT_GENCATALOG must name tests/sim lt_gencatalog}
"$gen" --count 2 >"$LT_TMP/catalog.json"
proc=$(jq -r '.[0].MATTHC' "$LT_TMP/catalog.json")
ward=$("$lt" token create --unit 08707 --role ward --json | jq -r .token)
# The rejects above were received in 2025, past retention.days: the
# retention job would purge them (t_retention.sh tests that).
lt_gw_start gw LIENTHONG_RETENTION_INTERVAL=0s
lt_wait 60 status_is gw /readyz 200 || lt_fail "gateway not ready"
# A valid record whose procedure the catalog does not know yet: refused and
# kept as a reject.
push=$(jq -cn --arg p "$proc" --arg id "$CCCD" '{MaHoSo: "000.01.22.H56-250101-0007", MaTTHC: $p,
  TrangThaiHoSo: "2", KenhThucHien: "1", LoaiDoiTuong: "1", NgayNopHoSo: "20250101075000",
  NgayTiepNhan: "20250101080000", NgayHenTra: "20250110170000", ChuHoSo: "Nguyen Van B",
  SoGiayToChuHoSo: $id, QuaTrinhXuLy: []}')
out=$(lt_http gw /v1/dossiers -X POST -H "Authorization: Bearer $ward" \
  -H 'Content-Type: application/json' --data-binary "$push")
lt_assert_eq 422 "${out%% *}" "a record of an unknown procedure is refused"
lt_assert_eq "rejected MaTTHC" "$(jq -r '.results[0] | "\(.result) \(.field)"' <<<"${out#* }")" "refusal names MaTTHC"
id=$(q "SELECT id FROM rejects WHERE dossier_code = '000.01.22.H56-250101-0007'")
[ -n "$id" ] || lt_fail "the refused record was not kept as a reject"
lt_assert_eq "08707 http" "$(q "SELECT sender_unit || ' ' || channel FROM rejects WHERE id = $id")" "reject's sender"
lt_assert_contains "$("$lt" rejects list --unit 08707)" "000.01.22.H56-250101-0007" "the new reject is listed"
# Still unknown: resubmitting is refused again, exit 1, and the result is kept.
rc=0
"$lt" rejects resubmit "$id" --json >"$LT_TMP/again.json" 2>"$LT_TMP/again.err" || rc=$?
lt_assert_eq 1 "$rc" "resubmit before the fix: exit 1 ($(cat "$LT_TMP/again.err"))"
lt_assert_eq "rejected" "$(jq -r .outcome "$LT_TMP/again.json")" "resubmit before the fix: outcome"
lt_assert_eq "rejected" "$(q "SELECT resubmit_result->'results'->0->>'result' FROM rejects WHERE id = $id")" \
  "a failed resubmission is recorded"
# The fix: the catalog learns the procedure. Then the same bytes are accepted.
"$lt" catalog sync --file "$LT_TMP/catalog.json" >/dev/null 2>"$LT_TMP/sync.err" || lt_fail "catalog sync"
out=$("$lt" rejects resubmit "$id") || lt_fail "resubmit after the fix: $out"
lt_assert_contains "$out" "000.01.22.H56-250101-0007: accepted (sequence" "resubmit prints the result"
lt_assert_eq "accepted|true" "$(q "SELECT resubmit_result->'results'->0->>'result' || '|' || (resubmitted_at IS NOT NULL)
  FROM rejects WHERE id = $id")" "the accepted resubmission is recorded"
lt_assert_eq "08707" "$(q "SELECT unit_code FROM dossier_events WHERE dossier_code = '000.01.22.H56-250101-0007'")" \
  "stored for the reject's unit"
lt_assert_eq "accepted" "$("$lt" rejects list --since $((id - 1)) --limit 1 --json | jq -r '.rejects[0].resubmit')" \
  "list shows the outcome"
out=$(lt_http gw /v1/dossiers -X POST -H "Authorization: Bearer $ward" \
  -H 'Content-Type: application/json' --data-binary "$push")
lt_assert_eq "200 duplicate" "${out%% *} $(jq -r '.results[0].result' <<<"${out#* }")" "the sender's retry is a duplicate"
# Again: a duplicate now, still exit 0, and the latest result is kept.
json=$("$lt" rejects resubmit "$id" --json) || lt_fail "a second resubmit"
lt_assert_eq "duplicate" "$(jq -r .outcome <<<"$json")" "a second resubmit is a duplicate"
lt_assert_eq "duplicate" "$(q "SELECT resubmit_result->'results'->0->>'result' FROM rejects WHERE id = $id")" \
  "the latest result is kept"
# A reject whose record is still invalid is rejected again (exit 1).
rc=0
"$lt" rejects resubmit 1 >"$LT_TMP/r1.out" 2>&1 || rc=$?
lt_assert_eq 1 "$rc" "an invalid record resubmitted"
lt_assert_contains "$(cat "$LT_TMP/r1.out")" "rejected" "rejected again"
lt_assert_eq "t" "$(q "SELECT resubmitted_at IS NOT NULL FROM rejects WHERE id = 1")" "recorded on the row"
# A body that is not even UTF-8 stays malformed.
rc=0
json=$("$lt" rejects resubmit 2 --json 2>/dev/null) || rc=$?
lt_assert_eq "1 rejected malformed" "$rc $(jq -r '"\(.outcome) \(.answer.error.code)"' <<<"$json")" \
  "a malformed body resubmitted"
# Resubmitting wrote no new rejects: the outcome lives on the original rows.
lt_assert_eq 5 "$(q "SELECT count(*) FROM rejects")" "no reject rows added by resubmissions"
lt_gw_stop gw
