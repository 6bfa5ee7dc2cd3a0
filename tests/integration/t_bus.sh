#!/usr/bin/env bash
# The bus and the catalog read path against a throwaway PostgreSQL: a
# subscriber receives exactly one PUB message per catalog change, with
# contiguous sequences, whichever process ran the sync; a late joiner
# replays "catalog." from 1 and ends with the catalog the database holds;
# malformed and unauthorised replay requests get "$ERROR"; GET /v1/catalog
# gives the changes since a version, pages walk every procedure once, bad
# parameters get 400 naming the parameter, and a database outage gives 503.
source "$(dirname "$0")/lib.sh"

gen=${LT_GENCATALOG:?LT_GENCATALOG must name tests/sim lt_gencatalog}
zcat=${LT_ZMQCAT:?LT_ZMQCAT must name tests/tools lt_zmqcat}
lt_lines() { grep -c . "$1" || true; }
lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
q() { lt_psql "$LT_PG_URL" "$1"; }
sync_file() { "$LIENTHONG_BIN" catalog sync --file "$1" --json >/dev/null 2>>"$LT_TMP/sync.log" || lt_fail "sync of $1 failed"; }

"$gen" --count 2000 >"$LT_TMP/v1.json"
"$gen" --count 2000 --change 1 --list "$LT_TMP/list2" >"$LT_TMP/v2.json"
changed=$(awk '$1 == "changed" {print $2}' "$LT_TMP/list2" | LC_ALL=C sort)

lt_gw_start gw
ev=${LT_GW_EVENTS[gw]} rp=${LT_GW_REPLAY[gw]}
lt_assert_contains "$ev" "tcp://127.0.0.1:" "bound events endpoint"
lt_assert_contains "$rp" "tcp://127.0.0.1:" "bound replay endpoint"
lt_wait 60 status_is gw /readyz 200 || lt_fail "gateway not ready"
lt_wait 30 grep -q 'bus: publishing events after sequence 0' "$LT_TMP/gw.log" || lt_fail "bus did not start"

# sub NAME [args]: a subscriber in the background, ready when it says so.
sub() {
  local name=$1; shift
  "$zcat" --sub "$ev" --idle-ms 3000 --timeout-ms 120000 "$@" >"$LT_TMP/$name.out" 2>"$LT_TMP/$name.err" &
  LT_PIDS+=("$!")
  SUB_PID=$!
  lt_wait 10 grep -q ready "$LT_TMP/$name.err" || lt_fail "subscriber $name not ready"
}
# seqs_contiguous FILE FIRST LAST: exactly the sequences FIRST..LAST, in order, once each.
seqs_contiguous() {
  [ "$3" -ge "$2" ] || lt_fail "no sequences expected in $1 (from $2 to $3)"
  lt_assert_eq "$(seq "$2" "$3")" "$(jq -r '.seq' "$1")" "sequences in $1"
}

# ---- 1. PUB: one message per change, contiguous ----------------------------
lt_log "section 1"
sub s1 --topic catalog.
sync_file "$LT_TMP/v1.json"
wait "$SUB_PID" || true
lt_assert_eq 2000 "$(lt_lines "$LT_TMP/s1.out")" "messages for the first sync"
seqs_contiguous "$LT_TMP/s1.out" 1 2000
lt_assert_eq 0 "$(jq -r 'select(.frames != 3 or .topic != "catalog." + .data.code or .data.change != "added") | .seq' \
  "$LT_TMP/s1.out" | lt_lines /dev/stdin)" "message shape"

sub s2
sync_file "$LT_TMP/v2.json"
wait "$SUB_PID" || true
seqs_contiguous "$LT_TMP/s2.out" 2001 2020
lt_assert_eq "$changed" "$(jq -r '.data.code' "$LT_TMP/s2.out" | LC_ALL=C sort)" "one message per changed procedure"

# ---- 2. replay: a late joiner ends with the database's catalog ---------------
lt_log "section 2"
replay() { "$zcat" --replay "$rp" --request "$1" --timeout-ms 60000; }
replay '{"from": 1, "prefix": "catalog."}' >"$LT_TMP/r1.out"
lt_assert_eq '$END 2020' "$(tail -1 "$LT_TMP/r1.out" | jq -r '"\(.topic) \(.seq)"')" "end marker"
head -n -1 "$LT_TMP/r1.out" >"$LT_TMP/r1.events"
seqs_contiguous "$LT_TMP/r1.events" 1 2020
# The last event of each code is the procedure as it stands: load those into
# PostgreSQL and compare with the stored records (equal jsonb = equal content
# hash), codes included.
jq -r -s 'group_by(.data.code) | map(max_by(.seq)) | map(select(.data.change != "abolished"))
          | .[] | [.data.code, (.data.procedure | tojson)] | @csv' "$LT_TMP/r1.events" >"$LT_TMP/r1.csv"
lt_assert_eq "2000|0" "$(psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 \
  -c "CREATE TEMP TABLE r (code text, rec jsonb)" -c "COPY r FROM STDIN WITH (FORMAT csv)" \
  -c "SELECT (SELECT count(*) FROM r), count(*) FROM r FULL JOIN
        (SELECT code, record FROM procedures WHERE abolished_at IS NULL) p USING (code)
      WHERE r.rec IS DISTINCT FROM p.record" <"$LT_TMP/r1.csv")" "replayed catalog = stored catalog"
# From the middle, with a narrower prefix.
code1=$(head -1 <<<"$changed")
replay "{\"from\": 1500, \"prefix\": \"catalog.$code1\"}" >"$LT_TMP/r2.out"
lt_assert_eq "$(q "SELECT seq FROM dossier_events WHERE seq >= 1500 AND topic = 'catalog.$code1' ORDER BY seq")
\$END 2020" "$(jq -r 'if .topic == "$END" then "$END \(.seq)" else .seq end' "$LT_TMP/r2.out")" "replay from 1500 of one code"
# Refusals.
err_of() { replay "$1" | jq -r 'select(.topic == "$ERROR") | .data'; }
lt_assert_contains "$(err_of 'not json')" "not JSON" "malformed request"
lt_assert_contains "$(err_of '{"from": -1, "prefix": "catalog."}')" "from:" "negative from"
lt_assert_contains "$(err_of '{"from": 1}')" "prefix: required" "missing prefix"
lt_assert_contains "$(err_of '{"from": 1, "prefix": "dossier."}')" 'a token is required for prefix "dossier."' "dossier prefix"
lt_assert_contains "$(err_of '{"from": 1, "prefix": ""}')" "a token is required" "empty prefix"

# ---- 3. GET /v1/catalog --------------------------------------------------------
lt_log "section 3"
out=$(lt_http gw '/v1/catalog?since=1')
lt_assert_eq 200 "${out%% *}" "since=1 status"
body=${out#* }
lt_assert_eq "2 null 0" "$(jq -r '"\(.version) \(.next) \(.removed | length)"' <<<"$body")" "since=1 version, next, removed"
lt_assert_eq "$changed" "$(jq -r '.procedures[].MATTHC' <<<"$body")" "since=1 gives exactly the changed procedures, by code"
lt_assert_eq 0 "$(lt_http gw '/v1/catalog?since=2' | cut -d' ' -f2- | jq '.procedures | length')" "nothing since the last version"
# Paging walks every procedure exactly once, in code order.
after=""
pages=0
: >"$LT_TMP/codes"
while :; do
  out=$(lt_http gw "/v1/catalog?limit=300${after:+&after=$after}")
  lt_assert_eq 200 "${out%% *}" "page status"
  jq -r '.procedures[].MATTHC' <<<"${out#* }" >>"$LT_TMP/codes"
  after=$(jq -r '.next // empty' <<<"${out#* }")
  pages=$((pages + 1))
  [ -n "$after" ] || break
  [ $pages -lt 20 ] || lt_fail "paging does not end"
done
lt_assert_eq 7 "$pages" "pages of 300"
lt_assert_eq "$(q "SELECT code FROM procedures ORDER BY code COLLATE \"C\"")" "$(cat "$LT_TMP/codes")" "paging walks every code once"
lvl=$(lt_http gw '/v1/catalog?level=3&limit=5000' | cut -d' ' -f2- | jq '.procedures | length')
lt_assert_eq "$(q "SELECT count(*) FROM procedures WHERE 3 = ANY (levels)")" "$lvl" "level=3"
# An overlay is applied on read.
ocode=$(head -1 "$LT_TMP/codes")
q "INSERT INTO procedure_overlays (local_code, base_code, fees)
   VALUES ('$ocode', left('$ocode', 8), '[{\"MAPHILEPHI\": \"X\", \"SOTIEN\": \"12345\", \"MOTA\": \"local\"}]')"
lt_assert_eq "12345" "$(lt_http gw '/v1/catalog?limit=1' | cut -d' ' -f2- | jq -r '.procedures[0].CACHTHUCTHUCHIEN[0].PHILEPHI[0].SOTIEN')" "overlay fees served"
# Bad parameters: 400 naming the parameter.
for case in "since=abc since" "since=-1 since" "level=7 level" "limit=0 limit" "limit=5001 limit" \
            "after= after" "sinse=1 sinse" "limit=5&limit=6 limit"; do
  set -- $case
  out=$(lt_http gw "/v1/catalog?$1")
  lt_assert_eq "400 $2" "${out%% *} $(jq -r '.error.field' <<<"${out#* }")" "GET /v1/catalog?$1"
done

# ---- 4. the database goes away and comes back ---------------------------------
lt_log "section 4"
lt_pg_stop pg
lt_wait 30 status_is gw /readyz 503 || lt_fail "readyz did not notice the outage"
out=$(curl -s -m 10 -D "$LT_TMP/hdr" -o "$LT_TMP/body" -w '%{http_code}' "$(lt_url gw /v1/catalog)")
lt_assert_eq 503 "$out" "GET /v1/catalog while the database is down"
grep -qi '^Retry-After:' "$LT_TMP/hdr" || lt_fail "503 without Retry-After"
lt_pg_start pg
lt_wait 60 status_is gw /readyz 200 || lt_fail "gateway did not recover"
lt_wait 30 status_is gw '/v1/catalog?limit=1' 200 || lt_fail "catalog did not recover"
# Publishing resumes where it stopped: the next change comes with the next sequence.
"$gen" --count 2000 --change 2 --change-seed 7 >"$LT_TMP/v3.json"
sub s3
sync_file "$LT_TMP/v3.json"
wait "$SUB_PID" || true
last=$(q "SELECT last_seq FROM event_counter")
seqs_contiguous "$LT_TMP/s3.out" 2021 "$last"

# ---- 5. an endpoint that cannot be bound stops the start ----------------------
lt_log "section 5"
lt_gw_spawn gw2 LIENTHONG_ZMQ_EVENTS="$ev"
wait "${LT_GW_PID[gw2]}" && lt_fail "a second gateway on the same PUB endpoint started"
grep -q "zmq.events: cannot bind $ev" "$LT_TMP/gw2.log" || lt_fail "bind failure does not name zmq.events"

lt_gw_stop gw
