#!/usr/bin/env bash
# The delivery engine's circuit breaker and retry horizon (gateway/lt_delivery.c,
# schemas/sql/0011_delivery_engine.sql), against lt_simpeer --role portal:
#
#   1. deliveries keep the portal's row healthy: circuit closed, failures 0,
#      last_success_at set;
#   2. the portal answers 503 to everything while records keep arriving: after
#      delivery.circuit_failures failures in a row the circuit opens (in the
#      destinations row, with last_error "HTTP 503" and no personal data), and
#      from then on the gateway only probes: over three probes the simulator
#      sees a handful of calls while dozens of dossiers wait;
#   3. the portal well again: a probe closes the circuit, the backlog drains,
#      every dossier's updates arrive in order with their keys, nothing dead;
#   4. a second gateway with delivery.retry_horizon=3s, the portal's sync
#      calls and a webhook sink failing: the rows become dead letters after
#      the horizon, not before their first retries, with the last status, the
#      portal's last error and the webhook's last answer kept; a replay starts
#      a new run of attempts and delivers them.
source "$(dirname "$0")/lib.sh"

PUSH=${LT_PUSH:?LT_PUSH must name the lt_push tool}

lt_pg_start pg
lt_ingest_fixture
token=$LT_PARENT_TOKEN

lt_portal_sim_start p
ctl() { lt_sim_control p "$1"; }
view() { lt_sim_view p "$1"; }
sync_calls() { view "/_received?since=0&limit=100000" | jq '[.calls[] | select(.path == "/sync")] | length'; }

GW_ENV=("${LT_PORTAL_ENV[@]}" LIENTHONG_LOG_LEVEL=debug LIENTHONG_DELIVERY_INFLIGHT=4
  LIENTHONG_DELIVERY_CIRCUIT_FAILURES=3 LIENTHONG_DELIVERY_PROBE_INTERVAL=2s)
lt_gw_start gw "${GW_ENV[@]}"
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"
lt_wait 30 grep -q 'registered as gateway instance' "$LT_TMP/gw.log" ||
  lt_fail "the delivery actor did not start"

q() { lt_psql "$LT_PG_URL" "$1"; }
open_rows() { q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state IN ('pending','inflight','retrying')"; }
drained() { [ "$(open_rows)" = 0 ] && [ "$(q "SELECT last_seq FROM delivery_router")" = "$(q "SELECT coalesce(max(seq), 0) FROM dossier_events")" ]; }
health() { q "SELECT circuit || ' ' || failures FROM destinations WHERE name = 'portal'"; }
circuit_is() { [ "$(q "SELECT circuit FROM destinations WHERE name = 'portal'")" = "$1" ]; }
runs=0
push() { # COUNT ACKLOG [more lt_push args]: new dossiers each run (its own run id)
  local n=$1 log=$2; shift 2
  runs=$((runs + 1))
  "$PUSH" --http "$(lt_url "${GW:-gw}" "")" --token "$token" --unit-agency 000.00.06.H56 \
    --procedure 2.000908 --count "$n" --run-id "$runs" --seed "$runs" --ack-log "$log" --json "$@" >"$log.json" 2>"$log.err" ||
    lt_fail "lt_push failed: $(tail -3 "$log.err")"
}

# ---- 1. healthy -----------------------------------------------------------------
push 20 "$LT_TMP/a1.txt" --senders 1 --batch 4 --updates 30
lt_wait 60 drained || lt_fail "the first pushes were not delivered: $(open_rows) open"
lt_assert_eq "closed 0" "$(health)" "a healthy portal: circuit closed, no failures"
lt_assert_eq t "$(q "SELECT last_success_at IS NOT NULL FROM destinations WHERE name = 'portal'")" \
  "last_success_at is kept"

# ---- 2. the portal fails: the circuit opens, the gateway only probes -------------
ctl '{"status": 503}'
push 60 "$LT_TMP/a2.txt" --senders 2 --batch 5 --updates 30
lt_assert_eq 60 "$(wc -l <"$LT_TMP/a2.txt")" "ingest answers 200 while the portal fails"
lt_wait 60 circuit_is open || lt_fail "the circuit did not open: $(health)"
lt_assert_eq "HTTP 503" "$(q "SELECT last_error FROM destinations WHERE name = 'portal'")" \
  "last_error says what the wire said"
lt_assert_eq t "$(q "SELECT last_error_at > last_success_at AND circuit_until > now() - interval '1 minute' FROM destinations WHERE name = 'portal'")" \
  "last_error_at and circuit_until are set"
grep -q 'delivery portal: circuit open after' "$LT_TMP/gw.log" || lt_fail "no log line for the open circuit"
# What status makes of the row (lt_status_doc reads 0010's columns).
lt_assert_eq circuit_open "$(LIENTHONG_HTTP_LISTEN="127.0.0.1:${LT_GW_PORT[gw]}" "$LIENTHONG_BIN" status --json |
  jq -r '.destinations[] | select(.name == "portal") | .state')" "lienthong status shows the open circuit"
waiting=$(q "SELECT count(DISTINCT dossier_code) FROM outbox WHERE destination = 'portal' AND state IN ('pending','inflight','retrying')")
[ "$waiting" -ge 40 ] || lt_fail "expected a backlog of dozens of dossiers, got $waiting"
# Three probes: each failed one moves circuit_until on. Counted from the
# destinations row, the calls from the simulator: no clock is read.
c1=$(sync_calls)
u0=$(q "SELECT circuit_until FROM destinations WHERE name = 'portal'")
for i in 1 2 3; do
  lt_wait 30 bash -c "[ \"\$(psql '$LT_PG_URL' -qAtc \"SELECT circuit_until FROM destinations WHERE name = 'portal'\")\" != '$u0' ]" ||
    lt_fail "probe $i did not come"
  u0=$(q "SELECT circuit_until FROM destinations WHERE name = 'portal'")
done
c2=$(sync_calls)
lt_log "backlog of $waiting dossiers; $((c2 - c1)) sync call(s) over three probes"
# Three probes, and at most the sends that were in flight when it opened
# (delivery.inflight=4) and one more probe: nowhere near one call per
# dossier waiting.
[ $((c2 - c1)) -le 8 ] || lt_fail "the gateway kept calling a failing portal: $((c2 - c1)) calls over three probes"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE state = 'dead'")" "no dead letter from an outage"
# The row says nothing about anyone: no dossier code, nothing but the status.
lt_assert_eq 0 "$(q "SELECT count(*) FROM destinations WHERE last_error LIKE '%H56%'")" "no dossier code in last_error"

# ---- 3. the portal is back: a probe closes it, the backlog drains in order --------
ctl '{"status": 0}'
lt_wait 30 circuit_is closed || lt_fail "no probe closed the circuit: $(health)"
grep -q 'delivery portal: circuit closed' "$LT_TMP/gw.log" || lt_fail "no log line for the closed circuit"
lt_wait 60 drained || lt_fail "the backlog did not drain: $(open_rows) open"
lt_assert_eq "closed 0" "$(health)" "healthy again"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE state = 'dead'")" "nothing dead after the outage"
view /_records >"$LT_TMP/rec.json"
lt_assert_eq "[]" "$(jq -c '[.records | map(select(.service == "DongBoHoSoMC" and .duplicate == false))
  | group_by(.MaHoSo)[] | select(.[0].isUpdating != "False" or (.[1:] | any(.isUpdating != "True"))
     or (map(.idempotency_key | ltrimstr("lt-") | tonumber) as $k | $k != ($k | sort)))
  | .[0].MaHoSo]' "$LT_TMP/rec.json")" "isUpdating False then True, in order, per dossier"
# Every dossier's latest event reached the portal under its key.
q "SELECT idempotency_key || ' ' || dossier_code FROM outbox WHERE destination = 'portal' AND state = 'delivered' ORDER BY 1" >"$LT_TMP/want.txt"
view /_dedup | jq -r '.records[] | select(.service == "DongBoHoSoMC") | "\(.idempotency_key) \(.MaHoSo)"' | sort >"$LT_TMP/have.txt"
lt_assert_eq "" "$(comm -23 "$LT_TMP/want.txt" "$LT_TMP/have.txt" | head -3)" "delivered rows missing at the portal"
lt_assert_eq 0 "$(q "SELECT count(*) FROM dossiers d WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.destination = 'portal' AND o.dossier_code = d.code AND o.state = 'delivered' AND o.event_seq = (SELECT max(seq) FROM dossier_events e WHERE e.dossier_code = d.code))")" \
  "every dossier's latest event is delivered"
lt_gw_stop gw TERM

# ---- 4. the retry horizon ---------------------------------------------------------
# The portal's sync calls fail (logins work) and so does a webhook sink: the
# webhook's driver keeps the receiver's answer of a retry, the portal client
# keeps its status and message.
lt_sim_start w webhook
wport=${LT_SIM_PORT[w]}
lt_sim_control w '{"status": 503}'
ctl '{"status": 503, "only_path": "/sync"}'
lt_gw_start gw2 "${GW_ENV[@]}" LIENTHONG_DELIVERY_RETRY_HORIZON=3s LIENTHONG_DELIVERY_CIRCUIT_FAILURES=1000 \
  LIENTHONG_WEBHOOK_URL="http://127.0.0.1:$wport/notify"
lt_wait 30 grep -q 'registered as gateway instance' "$LT_TMP/gw2.log" || lt_fail "gw2's delivery did not start"
lt_wait 30 status_is gw2 /readyz 200 || lt_fail "gw2 not ready" # else the push is answered 503
GW=gw2 push 3 "$LT_TMP/a4.txt" --senders 1 --batch 3
codes=$(cut -d' ' -f1 "$LT_TMP/a4.txt" | sort -u | paste -sd,)
dead_n() { q "SELECT count(*) FROM outbox WHERE state = 'dead'"; }
lt_wait 60 bash -c "[ \"\$(psql '$LT_PG_URL' -qAtc \"SELECT count(*) FROM outbox WHERE state = 'dead'\")\" = 6 ]" ||
  lt_fail "the rows did not become dead letters after the horizon: $(dead_n) dead"
lt_assert_eq 6 "$(q "SELECT count(*) FROM outbox WHERE state = 'dead' AND attempts >= 2 AND last_status = 503 AND retry_since <= updated_at - interval '3 seconds'")" \
  "dead after retries past the horizon, with the last status"
lt_assert_eq 3 "$(q "SELECT count(*) FROM outbox WHERE state = 'dead' AND destination = 'portal' AND last_error LIKE '%HTTP 503%'")" \
  "the portal's last error is kept"
lt_assert_eq "simulated status 503" "$(q "SELECT DISTINCT answer::jsonb -> 'error' ->> 'message' FROM outbox WHERE state = 'dead' AND destination = 'webhook'")" \
  "the webhook's last answer is kept"
lt_assert_eq "3" "$("$LIENTHONG_BIN" deadletters list --destination portal --json | jq '.deadletters | length')" \
  "the operators see them"
grep -q 'still failing after delivery.retry_horizon became dead letters' "$LT_TMP/gw2.log" ||
  lt_fail "no warning for the expired rows"
# Replay starts a new run of attempts: with the portal well they go.
ctl '{"status": 0, "only_path": null}'
"$LIENTHONG_BIN" replay --destination portal --all >/dev/null || lt_fail "replay"
lt_wait 30 drained || lt_fail "the replayed rows were not delivered: $(open_rows) open"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state = 'dead'")" \
  "no portal dead letter left after the replay"
lt_log "dossiers of the horizon run: $codes"
if grep -q matkhau "$LT_TMP"/gw*.log; then lt_fail "the portal password reached a log"; fi
lt_gw_stop gw2 TERM
kill -TERM "${LT_SIM_PID[p]}"
lt_log "ok"
