#!/usr/bin/env bash
# PostgreSQL stopped under load: pushes get 503 with Retry-After within a
# second, nothing hangs, the gateway keeps serving; PostgreSQL back: ingest
# resumes by itself, and the senders' retries end with every record
# acknowledged and stored once.
source "$(dirname "$0")/lib.sh"

PUSH=${LT_PUSH:?LT_PUSH must name the lt_push tool}
EX=$LT_SOURCE_DIR/schemas/examples
lt_pg_start pg
lt_ingest_fixture
token=$LT_PARENT_TOKEN
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
# The 503 itself is the contract's.
export LT_ANSWERS_DIR=$LT_TMP/answers
out=$(lt_http_save gw /v1/dossiers -X POST -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $token" --data-binary "@$EX/valid/07-cong-dan-rut-ho-so.json")
lt_assert_eq 503 "$(cut -d' ' -f1 <<<"$out")" "saved 503"

lt_pg_start pg
lt_wait 30 status_is gw /readyz 200 || lt_fail "not ready again after the database came back"
out=$(lt_http gw /v1/dossiers -X POST -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $token" --data-binary "@$EX/valid/07-cong-dan-rut-ho-so.json")
lt_assert_eq 200 "$(cut -d' ' -f1 <<<"$out")" "a push once the database is back ($out)"

wait "$pusher" || lt_fail "lt_push: $(cat "$LT_TMP/push.err")"
lt_assert_eq 0 "$(jq .unacknowledged "$LT_TMP/push.json")" "every record acknowledged in the end (retries)"
[ "$(jq '.http_status["503"] // 0' "$LT_TMP/push.json")" -gt 0 ] || lt_fail "the senders never saw the outage"
lt_acks_stored "$ack"
lt_gw_stop gw
lt_answers_check
lt_log "ok"
