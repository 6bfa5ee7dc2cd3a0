#!/usr/bin/env bash
# PostgreSQL stopped under load: pushes get 503 with Retry-After within a
# second, nothing hangs, the gateway keeps serving; PostgreSQL back: ingest
# resumes by itself, and the senders' retries end with every record
# acknowledged and stored once.
source "$(dirname "$0")/lib.sh"

PUSH=${LT_PUSH:?LT_PUSH must name the lt_push tool}
EX=$LT_SOURCE_DIR/schemas/examples
lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
"$LIENTHONG_BIN" migrate >/dev/null 2>&1 || lt_fail "migrate"
"$LIENTHONG_BIN" units import "$LT_SOURCE_DIR/deploy/units/example-3tier.json" >/dev/null || lt_fail "units"
cat >"$LT_TMP/catalog.json" <<'EOF'
[{"MATTHC": "2.000908", "TENTTHC": "Cấp bản sao trích lục hộ tịch", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}]}]
EOF
"$LIENTHONG_BIN" catalog sync --file "$LT_TMP/catalog.json" >/dev/null 2>&1 || lt_fail "catalog sync"
token=$("$LIENTHONG_BIN" token create --unit 244 --role parent | tail -n 1)
lt_gw_start gw
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"
ack=$LT_TMP/acks.txt

"$PUSH" --http "$(lt_url gw "")" --token "$token" --unit-agency 000.00.06.H56 \
  --procedure 2.000908 --senders 4 --batch 5 --seconds 14 --retry --timeout-ms 5000 \
  --deadline 90 --ack-log "$ack" --json >"$LT_TMP/push.json" 2>"$LT_TMP/push.err" &
pusher=$!
LT_PIDS+=("$pusher")
lt_wait 20 test -s "$ack" || lt_fail "nothing acknowledged before the outage"
sleep 1

now_ms() { date +%s%3N; }
lt_pg_stop pg fast
stopped=$(now_ms)
seen=""
while [ $(($(now_ms) - stopped)) -le 1000 ]; do
  hdr=$(curl -s -m 1 -D - -o "$LT_TMP/503.json" -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $token" --data-binary "@$EX/valid/07-cong-dan-rut-ho-so.json" \
    "$(lt_url gw /v1/dossiers)" || true)
  if grep -q '^HTTP/1.1 503' <<<"$hdr"; then
    seen=$(($(now_ms) - stopped))
    break
  fi
  sleep 0.05
done
[ -n "$seen" ] || lt_fail "no 503 within a second of the database stopping"
grep -qi '^Retry-After: [0-9]' <<<"$hdr" || lt_fail "503 without Retry-After: $hdr"
lt_log "503 after ${seen} ms: $(cat "$LT_TMP/503.json")"

# Down for a while: every call is answered (none hangs) and the process lives.
for _ in 1 2 3; do
  st=$(curl -s -m 3 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $token" --data-binary "@$EX/valid/07-cong-dan-rut-ho-so.json" \
    "$(lt_url gw /v1/dossiers)" || true)
  lt_assert_eq 503 "$st" "a push while the database is down"
  lt_assert_eq 200 "$(lt_status gw /healthz)" "liveness while the database is down"
  sleep 1
done
kill -0 "${LT_GW_PID[gw]}" || lt_fail "the gateway died with its database"

lt_pg_start pg
lt_wait 30 status_is gw /readyz 200 || lt_fail "not ready again after the database came back"
out=$(lt_http gw /v1/dossiers -X POST -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $token" --data-binary "@$EX/valid/07-cong-dan-rut-ho-so.json")
lt_assert_eq 200 "$(cut -d' ' -f1 <<<"$out")" "a push once the database is back ($out)"

wait "$pusher" || lt_fail "lt_push: $(cat "$LT_TMP/push.err")"
lt_assert_eq 0 "$(jq .unacknowledged "$LT_TMP/push.json")" "every record acknowledged in the end (retries)"
[ "$(jq '.http_status["503"] // 0' "$LT_TMP/push.json")" -gt 0 ] || lt_fail "the senders never saw the outage"
psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 <<EOF >"$LT_TMP/check.txt" || lt_fail "check query"
CREATE TEMP TABLE acks (code text, seq bigint);
\copy acks FROM '$ack' WITH (FORMAT text, DELIMITER ' ')
SELECT 'missing', count(*) FROM acks a
  WHERE (SELECT count(*) FROM dossier_events e WHERE e.seq = a.seq AND e.dossier_code = a.code) <> 1;
SELECT 'gap', (SELECT max(seq) FROM dossier_events) - (SELECT count(*) FROM dossier_events);
EOF
lt_assert_eq "missing|0" "$(grep '^missing|' "$LT_TMP/check.txt")" "acknowledged records stored"
lt_assert_eq "gap|0" "$(grep '^gap|' "$LT_TMP/check.txt")" "gap-free sequence"
lt_gw_stop gw
lt_log "ok"
