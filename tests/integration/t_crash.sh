#!/usr/bin/env bash
# Accepted means committed: senders push continuously (HTTP and ZeroMQ, in
# turn), the gateway is killed with SIGKILL at a random moment, five times,
# and restarted. Every record answered `accepted` is in the database exactly
# once, with the sequence it was given; the event sequence has no gap; and
# nothing is half-written (every state has its event, every event its state).
source "$(dirname "$0")/lib.sh"

PUSH=${LT_PUSH:?LT_PUSH must name the lt_push tool}
lt_pg_start pg
lt_ingest_fixture
token=$LT_PARENT_TOKEN
ack=$LT_TMP/acks.txt
: >"$ack"

for round in 1 2 3 4 5; do
  name=gw$round
  lt_gw_start "$name"
  lt_wait 30 status_is "$name" /readyz 200 || lt_fail "$name not ready"
  if [ $((round % 2)) -eq 1 ]; then
    target=(--http "$(lt_url "$name" "")")
  else
    target=(--zmq "${LT_GW_INGRESS[$name]}")
  fi
  # Updates too, so that killed batches hold status changes of stored
  # dossiers, not only new ones.
  "$PUSH" "${target[@]}" --token "$token" --unit-agency 000.00.06.H56 \
    --procedure 2.000908 --procedure 1.001193 --senders 8 --batch 5 --updates 30 \
    --seconds 8 --deadline 30 --timeout-ms 3000 --run-id "$round" --seed "$round" \
    --ack-log "$ack" --json >"$LT_TMP/push$round.json" 2>"$LT_TMP/push$round.err" &
  pusher=$!
  LT_PIDS+=("$pusher")
  # A random moment once acknowledgements are flowing.
  lt_wait 20 test -s "$ack" || lt_fail "round $round: nothing acknowledged"
  sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
  before=$(wc -l <"$ack")
  kill -KILL "${LT_GW_PID[$name]}"
  wait "${LT_GW_PID[$name]}" 2>/dev/null || true
  wait "$pusher" || lt_fail "round $round: lt_push failed ($(cat "$LT_TMP/push$round.err"))"
  lt_log "round $round: killed after $before acknowledgement(s) in total"
done

# The acknowledgements against what the database holds.
n=$(wc -l <"$ack")
[ "$n" -ge 50 ] || lt_fail "only $n records acknowledged in five rounds"
lt_acks_stored "$ack"
psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 <<EOF >"$LT_TMP/check.txt" || lt_fail "check query"
SELECT 'state_without_event', count(*) FROM dossiers d
  WHERE NOT EXISTS (SELECT 1 FROM dossier_events e WHERE e.seq = d.last_seq AND e.dossier_code = d.code);
SELECT 'event_without_state', count(*) FROM (SELECT DISTINCT dossier_code FROM dossier_events
  WHERE kind = 'dossier') e WHERE NOT EXISTS (SELECT 1 FROM dossiers d WHERE d.code = e.dossier_code);
SELECT 'stale_state', count(*) FROM dossiers d
  WHERE d.last_seq <> (SELECT max(seq) FROM dossier_events e WHERE e.dossier_code = d.code);
EOF
for check in state_without_event event_without_state stale_state; do
  lt_assert_eq "$check|0" "$(grep "^$check|" "$LT_TMP/check.txt")" "$check"
done
lt_log "ok: $n acknowledged records, all stored once, sequence gap-free"
