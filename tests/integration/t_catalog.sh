#!/usr/bin/env bash
# `lienthong catalog sync | show | diff` against a throwaway PostgreSQL with
# 2,000 generated procedures (tests/sim/lt_gencatalog): first load, unchanged
# re-sync, 1% changed (history, one event each, contiguous sequence), --full
# with records missing (soft-abolished, still shown) and back again
# (restored), an overlay that survives re-syncs and is applied on read,
# `diff` between versions, malformed files refused with index and field
# while nothing changes, and a second sync refused while one runs.
source "$(dirname "$0")/lib.sh"

gen=${LT_GENCATALOG:?LT_GENCATALOG must name tests/sim lt_gencatalog}
lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
q() { lt_psql "$LT_PG_URL" "$1"; }
lt_cat() { "$LIENTHONG_BIN" catalog "$@"; }
sync_json() { # FILE [--full]: prints the --json result; fails unless exit 0
  local f=$1; shift
  lt_cat sync --file "$f" "$@" --json 2>>"$LT_TMP/sync.log" || lt_fail "sync of $f failed"
}
counts() { jq -r '"\(.added) \(.changed) \(.abolished) \(.unchanged)"' <<<"$1"; }
checksum() {
  q "SELECT count(*) || ':' || md5(coalesce(string_agg(code || encode(content_hash, 'hex')
       || coalesce(abolished_at::text, '-') || catalog_version, ',' ORDER BY code), ''))
     FROM procedures"
}
catalog_events() { q "SELECT count(*) FROM dossier_events WHERE kind = 'catalog'"; }
# Every event numbered 1..last_seq without a gap, and the hash chain intact.
check_sequence() {
  lt_assert_eq "t" "$(q "SELECT count(*) = max(seq) AND min(seq) = 1
                           AND max(seq) = (SELECT last_seq FROM event_counter)
                         FROM dossier_events")" "contiguous sequence"
  lt_assert_eq "t" "$(q "WITH e AS (SELECT seq, hash, prev_hash, kind, topic, record,
                                 lag(hash) OVER (ORDER BY seq) AS before FROM dossier_events)
                         SELECT bool_and(hash = lt_event_hash(prev_hash, seq, kind, topic, record)
                                AND (before IS NULL OR prev_hash = before)) FROM e")" "hash chain"
  lt_assert_eq "t" "$(q "SELECT last_hash = (SELECT hash FROM dossier_events ORDER BY seq DESC LIMIT 1)
                         FROM event_counter")" "chain head"
}

# ---- 1. first load: 2,000 procedures ---------------------------------------
"$gen" --count 2000 >"$LT_TMP/v1.json"
out=$(sync_json "$LT_TMP/v1.json")
lt_assert_eq "2000 0 0 0" "$(counts "$out")" "first sync counts"
lt_assert_eq "1 1 2000" "$(jq -r '"\(.version) \(.first_seq) \(.last_seq)"' <<<"$out")" "first sync version and events"
lt_assert_eq 2000 "$(q "SELECT count(*) FROM procedures WHERE catalog_version = 1")" "procedures"
lt_assert_eq 2000 "$(catalog_events)" "catalog events after the first sync"
lt_assert_eq 0 "$(q "SELECT count(*) FROM dossier_events WHERE topic <> 'catalog.' || procedure_code
                      OR record->>'change' <> 'added'")" "event topics"
check_sequence
lt_assert_eq "ok|2000|2000|t" "$(q "SELECT outcome, added, records, finished_at >= started_at
                                  FROM catalog_sync_runs ORDER BY id DESC LIMIT 1")" "sync run row"
# Columns derived from the records: base codes of local variants, levels, fields.
lt_assert_eq 0 "$(q "SELECT count(*) FROM procedures WHERE base_code !~ '^[0-9]\.[0-9]{6}$'
                      OR left(code, 8) <> base_code OR field_code IS NULL
                      OR cardinality(levels) = 0")" "derived columns"
lt_assert_contains "$(q "SELECT count(*) > 0 FROM procedures WHERE code LIKE '%.000.00.00.H56'")" "t" "local variants"
# Not a terminal: progress as JSON log lines on stderr.
grep -q '"msg": *"catalog sync: 2000 records read"' "$LT_TMP/sync.log" ||
  grep -q 'catalog sync: 2000 records read' "$LT_TMP/sync.log" || lt_fail "no progress log line"

# ---- 2. the same file again: nothing changes --------------------------------
out=$(sync_json "$LT_TMP/v1.json")
lt_assert_eq "0 0 0 2000" "$(counts "$out")" "unchanged re-sync counts"
lt_assert_eq "null null" "$(jq -r '"\(.version) \(.last_seq)"' <<<"$out")" "unchanged re-sync version"
lt_assert_eq 2000 "$(catalog_events)" "events after an unchanged re-sync"
lt_assert_eq 1 "$(q "SELECT count(*) FROM catalog_versions")" "versions after an unchanged re-sync"

# ---- 3. 1% changed -----------------------------------------------------------
"$gen" --count 2000 --change 1 --list "$LT_TMP/list2" >"$LT_TMP/v2.json"
changed=$(awk '$1 == "changed" {print $2}' "$LT_TMP/list2" | LC_ALL=C sort)
lt_assert_eq 20 "$(wc -l <<<"$changed")" "generator: changed records"
out=$(sync_json "$LT_TMP/v2.json")
lt_assert_eq "0 20 0 1980" "$(counts "$out")" "1% change counts"
lt_assert_eq "2 2001 2020" "$(jq -r '"\(.version) \(.first_seq) \(.last_seq)"' <<<"$out")" "1% change events"
lt_assert_eq "$changed" "$(q "SELECT procedure_code FROM dossier_events WHERE seq > 2000 ORDER BY 1" | LC_ALL=C sort)" \
  "one event per changed procedure"
lt_assert_eq "$changed" "$(q "SELECT code FROM procedure_history WHERE superseded_in = 2 AND catalog_version = 1" | LC_ALL=C sort)" \
  "history rows of changed procedures"
lt_assert_eq 0 "$(q "SELECT count(*) FROM procedure_history h JOIN procedures p USING (code)
                      WHERE h.content_hash = p.content_hash")" "history keeps the previous content"
check_sequence

# ---- 4. an overlay entered by SQL -------------------------------------------
ocode=$(head -1 <<<"$changed")
q "INSERT INTO procedure_overlays (local_code, base_code, time_limit, time_limit_unit, fees, note)
   VALUES ('$ocode', left('$ocode', 8), 1, 'hour', '[{\"MAPHILEPHI\": \"LOCAL\", \"SOTIEN\": \"1000\"}]',
           'Quyết định 12/QĐ-UBND của tỉnh')"
check_overlay() {
  local doc
  doc=$(lt_cat show "$ocode" --json 2>/dev/null) || lt_fail "catalog show $ocode failed"
  lt_assert_eq "$ocode" "$(jq -r '.overlay.local_code' <<<"$doc")" "overlay shown"
  lt_assert_eq "1 Giờ" "$(jq -r '.record.CACHTHUCTHUCHIEN[0].THOIGIAN[0] | "\(.THOIGIANGIAIQUYET) \(.DONVITINH)"' <<<"$doc")" \
    "overlay time limit applied"
  lt_assert_eq "LOCAL" "$(jq -r '[.record.CACHTHUCTHUCHIEN[].PHILEPHI[0].MAPHILEPHI] | unique | join(",")' <<<"$doc")" \
    "overlay fees on every channel"
  lt_assert_eq "false" "$(jq -r '.catalog_record.CACHTHUCTHUCHIEN[0].THOIGIAN[0].DONVITINH == "Giờ" and
                                  .catalog_record.CACHTHUCTHUCHIEN[0].THOIGIAN[0].THOIGIANGIAIQUYET == "1"' <<<"$doc")" \
    "stored record unchanged"
  lt_assert_contains "$(lt_cat show "$ocode")" "overlay     local variant, time limit 1 hour" "overlay in the table"
}
check_overlay

# ---- 5. a full list with 2% missing: soft-abolished ---------------------------
"$gen" --count 2000 --change 1 --drop 2 --list "$LT_TMP/list3" >"$LT_TMP/v3.json"
dropped=$(awk '$1 == "dropped" {print $2}' "$LT_TMP/list3" | LC_ALL=C sort)
lt_assert_eq 40 "$(wc -l <<<"$dropped")" "generator: dropped records"
out=$(sync_json "$LT_TMP/v3.json" --full)
lt_assert_eq "0 0 40 1960" "$(counts "$out")" "full sync counts"
lt_assert_eq 2000 "$(q "SELECT count(*) FROM procedures")" "abolished rows kept"
lt_assert_eq "$dropped" "$(q "SELECT code FROM procedures WHERE abolished_at IS NOT NULL AND NOT published" | LC_ALL=C sort)" \
  "abolished codes"
gone=$(head -1 <<<"$dropped")
doc=$(lt_cat show "$gone" --json) || lt_fail "show of an abolished procedure failed"
lt_assert_eq "true false 3" "$(jq -r '"\(.abolished) \(.published) \(.catalog_version)"' <<<"$doc")" "abolished procedure shown"
lt_assert_contains "$(lt_cat show "$gone")" "ABOLISHED since" "abolished state in the table"
lt_assert_eq 2060 "$(catalog_events)" "events after the full sync"
lt_assert_eq 40 "$(q "SELECT count(*) FROM dossier_events WHERE record->>'change' = 'abolished'")" "abolition events"
check_sequence
check_overlay

# ---- 6. they come back: restored ---------------------------------------------
out=$(sync_json "$LT_TMP/v2.json" --full)
lt_assert_eq "0 40 0 1960 40" "$(jq -r '"\(.added) \(.changed) \(.abolished) \(.unchanged) \(.restored)"' <<<"$out")" \
  "restoring sync counts"
lt_assert_eq 0 "$(q "SELECT count(*) FROM procedures WHERE abolished_at IS NOT NULL")" "nothing abolished"
check_sequence
check_overlay

# ---- 7. diff between versions ------------------------------------------------
lt_assert_eq "$(tr '\n' ' ' <<<"$changed")" "$(lt_cat diff 1 2 --json | jq -r '.changed | join(" ")') " "diff 1 2"
lt_assert_eq "0 0" "$(lt_cat diff 1 2 --json | jq -r '"\(.added | length) \(.abolished | length)"')" "diff 1 2 only changes"
lt_assert_eq "$(tr '\n' ' ' <<<"$dropped")" "$(lt_cat diff 2 3 --json | jq -r '.abolished | join(" ")') " "diff 2 3"
lt_assert_eq "$(tr '\n' ' ' <<<"$dropped")" "$(lt_cat diff 3 4 --json | jq -r '.added | join(" ")') " "diff 3 4"
lt_assert_eq "0 0 0" "$(lt_cat diff 2 4 --json | jq -r '"\(.added | length) \(.changed | length) \(.abolished | length)"')" "diff 2 4"
lt_assert_eq 2000 "$(lt_cat diff 0 1 --json | jq -r '.added | length')" "diff 0 1"
lt_assert_contains "$(lt_cat diff 1 2)" "catalog versions 1 -> 2: 0 added, 20 changed, 0 abolished" "diff table"
rc=0; out=$(lt_cat diff 1 99 2>&1) || rc=$?
lt_assert_eq 1 "$rc" "diff with an unknown version"
lt_assert_contains "$out" "there is no catalog version 99" "unknown version message"

# ---- 7b. raw bytes: unchanged records are matched without parsing -----------
# Every live procedure carries the hash of the bytes it was last read from;
# a record whose bytes moved but whose content did not is unchanged, and one
# changed record among 1,999 byte-identical ones is exactly one change.
lt_assert_eq 0 "$(q "SELECT count(*) FROM procedures WHERE source_hash IS NULL OR octet_length(source_hash) <> 32")" \
  "source hashes kept"
events_now=$(catalog_events)
versions_now=$(q "SELECT count(*) FROM catalog_versions")
ws_code=$(jq -r '.[1].MATTHC' "$LT_TMP/v2.json")
ws_hash=$(q "SELECT encode(source_hash, 'hex') FROM procedures WHERE code = '$ws_code'")
# (record [1] now spans lines 3 and 4: record [k] is on line k + 3 below)
sed '3s/"MATTHC":/"MATTHC":   /; 3s/,"TENTTHC"/ ,\n  "TENTTHC"/' "$LT_TMP/v2.json" >"$LT_TMP/ws.json"
out=$(sync_json "$LT_TMP/ws.json" --full)
lt_assert_eq "0 0 0 2000" "$(counts "$out")" "whitespace moved: unchanged"
lt_assert_eq "$events_now $versions_now" "$(catalog_events) $(q "SELECT count(*) FROM catalog_versions")" \
  "whitespace moved: no event, no version"
lt_assert_eq "f" "$(q "SELECT encode(source_hash, 'hex') = '$ws_hash' FROM procedures WHERE code = '$ws_code'")" \
  "whitespace moved: the new bytes are remembered"
lt_assert_eq 1 "$(q "SELECT count(DISTINCT encode(source_hash, 'hex')) FROM procedures WHERE code = '$ws_code'")" \
  "whitespace moved: one hash"
out=$(sync_json "$LT_TMP/ws.json" --full)
lt_assert_eq "0 0 0 2000" "$(counts "$out")" "whitespace moved, again: unchanged"
one_code=$(jq -r '.[7].MATTHC' "$LT_TMP/ws.json")
sed '10s/"TENTTHC":"/"TENTTHC":"(sửa đổi) /' "$LT_TMP/ws.json" >"$LT_TMP/one.json"
cmp -s "$LT_TMP/ws.json" "$LT_TMP/one.json" && lt_fail "the test did not change record [7]"
out=$(sync_json "$LT_TMP/one.json" --full)
lt_assert_eq "0 1 0 1999" "$(counts "$out")" "one record changed"
lt_assert_eq "$one_code" "$(q "SELECT procedure_code FROM dossier_events WHERE seq > (SELECT max(seq) - 1 FROM dossier_events)")" \
  "one record changed: its event"
lt_assert_eq "$((events_now + 1))" "$(catalog_events)" "one record changed: one event"
lt_assert_contains "$(q "SELECT name FROM procedures WHERE code = '$one_code'")" "(sửa đổi)" "one record changed: stored"
check_sequence
# A bad record among byte-identical ones still refuses the whole sync, with
# the same position and the count of records read before it.
sed '14s/"MATTHC":/"MATTHC"/' "$LT_TMP/one.json" >"$LT_TMP/bad-among.json"
rc=0; out=$(lt_cat sync --file "$LT_TMP/bad-among.json" --full 2>&1) || rc=$?
lt_assert_eq 1 "$rc" "bad record among unchanged ones"
lt_assert_contains "$out" "record [11]" "bad record among unchanged ones: index"
lt_assert_contains "$out" "is not valid JSON" "bad record among unchanged ones: message"
lt_assert_eq "failed 11" "$(q "SELECT outcome || ' ' || records FROM catalog_sync_runs ORDER BY id DESC LIMIT 1")" \
  "bad record among unchanged ones: run"
sed '1002s/"CAPTHUCHIEN":"[0-9]"/"CAPTHUCHIEN":"7"/' "$LT_TMP/one.json" >"$LT_TMP/bad-level-among.json"
rc=0; out=$(lt_cat sync --file "$LT_TMP/bad-level-among.json" 2>&1) || rc=$?
lt_assert_eq 1 "$rc" "refused record among unchanged ones"
lt_assert_contains "$out" "record [999]" "refused record among unchanged ones: index"
lt_assert_contains "$out" 'got "7"' "refused record among unchanged ones: message"
jq -c '.[1500]' "$LT_TMP/one.json" >"$LT_TMP/rec1500"
awk -v rec="$(cat "$LT_TMP/rec1500")" 'NR == 1604 { print rec "," } { print }' "$LT_TMP/one.json" >"$LT_TMP/repeat-raw.json"
rc=0; out=$(lt_cat sync --file "$LT_TMP/repeat-raw.json" 2>&1) || rc=$?
lt_assert_eq 1 "$rc" "byte-identical record repeated"
lt_assert_contains "$out" "record [1601] repeats MATTHC $(jq -r .MATTHC "$LT_TMP/rec1500") of record [1500]" \
  "byte-identical record repeated: message"

# ---- 8. malformed files: refused, named, nothing changed ---------------------
before="$(checksum) $(catalog_events) $(q "SELECT count(*) FROM catalog_versions")"
refused() { # FILE NEEDLE...: sync must exit 1 naming each needle; nothing changes
  local f=$1 rc=0 out; shift
  out=$(lt_cat sync --file "$f" --full 2>&1) || rc=$?
  lt_assert_eq 1 "$rc" "exit status for $(basename "$f")"
  for n in "$@"; do lt_assert_contains "$out" "$n" "message for $(basename "$f")"; done
  lt_assert_contains "$out" "nothing was changed" "message for $(basename "$f")"
  lt_assert_eq "$before" "$(checksum) $(catalog_events) $(q "SELECT count(*) FROM catalog_versions")" \
    "catalog after $(basename "$f")"
  lt_assert_eq "failed" "$(q "SELECT outcome FROM catalog_sync_runs ORDER BY id DESC LIMIT 1")" "run of $(basename "$f")"
}
head -c 100000 "$LT_TMP/v1.json" >"$LT_TMP/truncated.json"
refused "$LT_TMP/truncated.json" "truncated file" "byte 100000"
jq 'del(.[17].MATTHC)' "$LT_TMP/v1.json" >"$LT_TMP/no-code.json"
refused "$LT_TMP/no-code.json" "record [17]" "MATTHC: expected a non-empty string" "position: [17].MATTHC"
jq '.[5].CAPTHUCHIEN[0].CAPTHUCHIEN = "7"' "$LT_TMP/v1.json" >"$LT_TMP/bad-level.json"
refused "$LT_TMP/bad-level.json" "record [5]" "CAPTHUCHIEN[0].CAPTHUCHIEN" 'got "7"'
jq '.[1999].THANHPHANHOSO = "Tờ khai"' "$LT_TMP/v1.json" >"$LT_TMP/not-array.json"
refused "$LT_TMP/not-array.json" "record [1999]" "THANHPHANHOSO: expected an array"
sed '3s/"MATTHC":/"MATTHC"/' "$LT_TMP/v1.json" >"$LT_TMP/bad-json.json"
refused "$LT_TMP/bad-json.json" "record [1]" "is not valid JSON"
jq '.[3].MATTHC = .[2].MATTHC' "$LT_TMP/v1.json" >"$LT_TMP/repeat.json"
refused "$LT_TMP/repeat.json" "record [3] repeats MATTHC"
echo '{"MATTHC": "1.000001"}' >"$LT_TMP/object.json"
refused "$LT_TMP/object.json" "expected a JSON array"
lt_assert_eq "[1999].THANHPHANHOSO" "$(q "SELECT error_position FROM catalog_sync_runs WHERE error LIKE '%[1999]%'")" \
  "error position recorded"
out=$(lt_cat sync --file "$LT_TMP/bad-level.json" --json 2>/dev/null) || true
lt_assert_eq "failed [5].CAPTHUCHIEN[0].CAPTHUCHIEN" "$(jq -r '"\(.outcome) \(.position)"' <<<"$out")" "--json failure"

# ---- 9. one sync at a time ----------------------------------------------------
psql "$LT_PG_URL" -qAt -c "SELECT pg_advisory_lock(1818846574, 6513012)" -c "SELECT pg_sleep(60)" \
  >/dev/null 2>&1 &
LT_PIDS+=("$!")
holder=$!
lock_held() { [ "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" -gt 0 ]; }
lt_wait 20 lock_held || lt_fail "the test could not take the catalog lock"
rc=0; out=$(lt_cat sync --file "$LT_TMP/v1.json" 2>&1) || rc=$?
lt_assert_eq 1 "$rc" "exit status while another sync runs"
lt_assert_contains "$out" "another catalog sync is running" "busy message"
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true

# ---- 10. usage -----------------------------------------------------------------
rc=0; lt_cat sync >/dev/null 2>&1 || rc=$?
lt_assert_eq 2 "$rc" "sync without --file"
rc=0; lt_cat frobnicate >/dev/null 2>&1 || rc=$?
lt_assert_eq 2 "$rc" "unknown subcommand"
rc=0; out=$(lt_cat show 9.999999 2>&1) || rc=$?
lt_assert_eq 1 "$rc" "show of an unknown code"
lt_assert_contains "$out" "no procedure 9.999999 in the catalog" "unknown code message"
lt_assert_contains "$("$LIENTHONG_BIN" catalog --help)" "catalog sync --file FILE" "help"

# ---- 11. the one-pass path and jansson store the same thing -------------------
# A file sync normalizes plain records in one pass over their bytes and
# leaves the rest (here: escaped keys, a real number) to jansson. The same
# content through either path is the same procedure: stored alike, hashed
# alike (a re-sync through the other path changes nothing), and its events
# chain like any other. In a database of its own.
q "CREATE DATABASE paths"
paths_url=${LT_PG_URL/\/\/\/lienthong\?/\/\/\/paths\?}
qp() { lt_psql "$paths_url" "$1"; }
cat >"$LT_TMP/paths-a.json" <<'JSON'
[{"MATTHC": "9.000001", "TENTTHC": "C\u1ea5p \"gi\u1EA5y\" \\ \/ tab\t nl\n \u001f \ud834\udd1e",
  "ID": 17, "X": {"b": [1, -2, {"z": null, "a": true}], "a": "", "\u00e9": {}},
  "CAPTHUCHIEN": [{"CAPTHUCHIEN": 2, "TENCAP": null}], "LINHVUCTHUCHIEN": [{"MALINHVUC": 7}],
  "TRANGTHAI": 1, "THANHPHANHOSO": null},
 {"MATTHC": "9.000002", "TENTTHC": "Không cấp", "CANCUPHAPLY": ["a", 1, [], {}]},
 {"MATTHC": "9.000003.H56", "TENTTHC": "T", "CACHTHUCTHUCHIEN": [{"KENH": "2",
  "THOIGIAN": [{"THOIGIANGIAIQUYET": 15, "DONVITINH": "Ngày"}], "PHILEPHI": null}]}]
JSON
# The same content, spelled so that jansson takes every record (an escaped
# key); then a real number, which only jansson reads, in the first.
sed 's/"TENTTHC"/"TENTTH\\u0043"/' "$LT_TMP/paths-a.json" >"$LT_TMP/paths-b.json"
sed 's/"ID": 17/"ID": 17, "R": 1.5/' "$LT_TMP/paths-a.json" >"$LT_TMP/paths-r.json"
out=$(LIENTHONG_DATABASE_URL=$paths_url sync_json "$LT_TMP/paths-a.json")
lt_assert_eq "3 0 0 0" "$(counts "$out")" "paths: first sync"
want_name='C\u1ea5p "gi\u1ea5y" \\ / tab\t nl\n \u001f \U0001D11E' # an E'' literal
lt_assert_eq "t|{2}|7|1" "$(qp "SELECT record->>'TENTTHC' = E'$want_name', levels, field_code, status
                             FROM procedures WHERE code = '9.000001'")" "paths: decoded strings and columns"
lt_assert_eq "{}||" "$(qp "SELECT levels, field_code, status FROM procedures WHERE code = '9.000002'")" \
  "paths: no levels, no field"
lt_assert_eq "9.000003" "$(qp "SELECT base_code FROM procedures WHERE code = '9.000003.H56'")" "paths: base code"
out=$(LIENTHONG_DATABASE_URL=$paths_url sync_json "$LT_TMP/paths-b.json")
lt_assert_eq "0 0 0 3" "$(counts "$out")" "paths: the jansson spelling is unchanged"
out=$(LIENTHONG_DATABASE_URL=$paths_url sync_json "$LT_TMP/paths-a.json")
lt_assert_eq "0 0 0 3" "$(counts "$out")" "paths: and back"
out=$(LIENTHONG_DATABASE_URL=$paths_url sync_json "$LT_TMP/paths-r.json")
lt_assert_eq "0 1 0 2" "$(counts "$out")" "paths: a real number is a change"
lt_assert_eq "1.5" "$(qp "SELECT record->>'R' FROM procedures WHERE code = '9.000001'")" "paths: the real number stored"
lt_assert_eq "t" "$(qp "WITH e AS (SELECT seq, hash, prev_hash, kind, topic, record,
                                 lag(hash) OVER (ORDER BY seq) AS before FROM dossier_events)
                         SELECT bool_and(hash = lt_event_hash(prev_hash, seq, kind, topic, record)
                                AND (before IS NULL OR prev_hash = before)) FROM e")" "paths: hash chain"
lt_assert_eq "9.000001,9.000002,9.000003.H56,9.000001" \
  "$(qp "SELECT string_agg(procedure_code, ',' ORDER BY seq) FROM dossier_events")" "paths: events in file order"
lt_check_sanitizer "$LT_TMP/sync.log"
lt_log "ok"
