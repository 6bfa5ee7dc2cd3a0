#!/usr/bin/env bash
# Database failover under load (issue 10): PostgreSQL high availability by an
# existing engine, pg_auto_failover (Debian postgresql-15-auto-failover), not
# by the gateway. The test starts, all on loopback ports and private
# directories, as the postgres user: a monitor, a primary (node1) and a
# standby (node2) with synchronous replication (pg_auto_failover sets
# synchronous_standby_names once the standby is secondary, so a commit the
# gateway acknowledged is on both). The gateway's database.url is a libpq
# multi-host URL with target_session_attrs=read-write.
#
# Load pushes through HTTP (lt_push --retry: a 503 or a lost answer is sent
# again) while a portal simulator receives deliveries. The primary is
# stopped at once (pg_autoctl stop --immediate: its keeper and its
# PostgreSQL, like a lost machine); the monitor promotes the standby. Then:
#   - during the switch /readyz answered 503 with Retry-After, and pushes
#     got 200 or 503, nothing else;
#   - the same gateway process reconnected by itself (ready again, the
#     same PID, new pushes accepted);
#   - every acknowledged record is stored once on the new primary, the
#     sequence gap-free; stored == acknowledged + answered `duplicate`
#     (a record whose answer was lost before the switch, resent);
#   - every stored event was delivered to the portal once in its
#     de-duplicated view (Idempotency-Key lt-<seq>), nothing else there.
# Skips (77) when pg_autoctl is not installed (deploy/install-deps.sh
# installs it).
LT_TEST_TIMEOUT=${LT_TEST_TIMEOUT:-240}
source "$(dirname "$0")/lib.sh"

PUSH=${LT_PUSH:?LT_PUSH must name the lt_push tool}
peer=${LT_SIMPEER:?LT_SIMPEER must name tests/sim lt_simpeer}
if ! command -v pg_autoctl >/dev/null; then
  lt_log "SKIP: pg_autoctl (postgresql-15-auto-failover) is not installed"
  exit 77
fi

# ---- pg_auto_failover: monitor, primary, standby -------------------------------
pgaf_as_pg() { lt_as_pg "$@"; }
pgaf_track() { LT_PIDS+=("$1"); } # lib.sh's clean-up also stops every postmaster under LT_TMP
# shellcheck source=../lib/pgaf.sh
source "$LT_SOURCE_DIR/tests/lib/pgaf.sh"
pgaf_init "$LT_TMP/af" "$LT_PG_BIN"
pgaf_pair_start || lt_fail "$PGAF_ERR"
sync_names=$(psql "$(pgaf_node_url node1)" -Atc "SHOW synchronous_standby_names")
lt_log "primary node1 :${PGAF_PORT[node1]}, synchronous standby node2 :${PGAF_PORT[node2]} ($sync_names)"

# ---- the gateway on the multi-host URL --------------------------------------------
LT_PG_URL=$(pgaf_multihost_url lienthong node1 node2)
export LT_PG_URL
lt_ingest_fixture
token=$LT_PARENT_TOKEN
q() { lt_psql "$LT_PG_URL" "$1"; }

"$peer" --role portal --username cong --password matkhau --port-file "$LT_TMP/p.port" \
  --log "$LT_TMP/p.log" --max-seconds 230 >"$LT_TMP/p.out" 2>"$LT_TMP/p.err" &
LT_PIDS+=("$!")
lt_wait 20 test -s "$LT_TMP/p.port" || lt_fail "the portal simulator did not start"
pport=$(jq -r .port "$LT_TMP/p.port")
cport=$(jq -r .control_port "$LT_TMP/p.port")

lt_gw_start gw LIENTHONG_PORTAL_URL="http://127.0.0.1:$pport" LIENTHONG_PORTAL_USERNAME=cong \
  LIENTHONG_PORTAL_PASSWORD=matkhau LIENTHONG_PORTAL_AGENCY=000.00.00.H56 \
  LIENTHONG_PORTAL_TIMEOUT=5s LIENTHONG_DATABASE_HEALTH_INTERVAL=200ms \
  LIENTHONG_DATABASE_CONNECT_TIMEOUT=2s
lt_wait 30 status_is gw /readyz 200 || lt_fail "gw not ready"
pid=${LT_GW_PID[gw]}

# Readiness as a load balancer sees it, every 0.1 s: "status retry-after".
(
  set +e
  while :; do
    curl -s -m 2 -o /dev/null -D - "$(lt_url gw /readyz)" | tr -d '\r' |
      awk 'NR == 1 {s = $2} tolower($1) == "retry-after:" {r = $2} END {print s, (r == "" ? "-" : r)}'
    sleep 0.1
  done
) >"$LT_TMP/readyz.txt" 2>/dev/null &
LT_PIDS+=("$!")
sampler=$!

# ---- load, then the primary is lost ---------------------------------------------
"$PUSH" --http "$(lt_url gw "")" --token "$token" --unit-agency 000.00.06.H56 \
  --procedure 2.000908 --senders 4 --batch 5 --rate 100 --seconds 25 --retry --deadline 100 \
  --timeout-ms 5000 --run-id 1 --seed 1 --ack-log "$LT_TMP/acks.txt" --json \
  >"$LT_TMP/push.json" 2>"$LT_TMP/push.err" &
pusher=$!
LT_PIDS+=("$pusher")
lt_wait 30 eval '[ "$(wc -l <"$LT_TMP/acks.txt" 2>/dev/null || echo 0)" -gt 200 ]' ||
  lt_fail "nothing acknowledged before the failover"
before=$(wc -l <"$LT_TMP/acks.txt")
pgaf_node_kill node1 || lt_fail "pg_autoctl stop --immediate node1"
lt_log "primary node1 stopped (immediate) after $before acknowledgement(s)"
lt_wait 60 eval '[ "$(pgaf_state node2)" = wait_primary ] || [ "$(pgaf_state node2)" = primary ]' ||
  lt_fail "node2 was not promoted ($(pgaf_state node2))"
lt_log "node2 promoted ($(pgaf_state node2))"
lt_wait 60 status_is gw /readyz 200 || lt_fail "the gateway did not reconnect: $(lt_http gw /readyz)"
wait "$pusher" || lt_fail "lt_push failed ($(tail -2 "$LT_TMP/push.err"))"
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null || true
kill -0 "$pid" || lt_fail "the gateway process died"
lt_assert_eq "$pid" "${LT_GW_PID[gw]}" "the same gateway process"
grep -q "^503 [0-9]" "$LT_TMP/readyz.txt" ||
  lt_fail "no 503 with Retry-After during the switch (seen: $(sort "$LT_TMP/readyz.txt" | uniq -c | tr '\n' ';'))"
lt_log "readiness during the run: $(sort "$LT_TMP/readyz.txt" | uniq -c | tr -s ' ' | tr '\n' ';')"
lt_assert_eq 0 "$(jq .unacknowledged "$LT_TMP/push.json")" "records lt_push could not get answered"
# Pushes during the switch are refused with 503 (and retried), never another error.
lt_assert_eq "[]" "$(jq -c '.http_status | keys - ["200", "503"]' "$LT_TMP/push.json")" \
  "HTTP statuses of pushes other than 200 and 503"
after=$(wc -l <"$LT_TMP/acks.txt")
[ "$after" -gt "$before" ] || lt_fail "nothing acknowledged after the failover"
lt_log "lt_push: $(jq -c '{results, http_status, transport_errors, retries}' "$LT_TMP/push.json")"

# ---- acknowledged == stored == delivered ------------------------------------------
lt_acks_stored "$LT_TMP/acks.txt"
stored=$(q "SELECT count(*) FROM dossier_events WHERE kind = 'dossier'")
dupl=$(jq .results.duplicate "$LT_TMP/push.json")
lt_assert_eq "$stored" "$((after + dupl))" "stored = acknowledged + answered duplicate after a lost answer"

routed() { [ "$(q "SELECT last_seq FROM delivery_router")" = "$(q "SELECT coalesce(max(seq), 0) FROM dossier_events")" ]; }
open_rows() { q "SELECT count(*) FROM outbox WHERE state IN ('pending', 'inflight', 'retrying')"; }
# Claims the gateway held when the primary went are taken back once their
# heartbeat is stale: bounded, not immediate.
lt_wait 120 eval 'routed && [ "$(open_rows)" = 0 ]' || lt_fail "deliveries did not drain: $(open_rows) open"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE state = 'dead'")" "no dead letter"
lt_stored_keys "$LT_PG_URL" >"$LT_TMP/stored.txt"
curl -sf -m 30 "http://127.0.0.1:$cport/_records" >"$LT_TMP/records.json" ||
  lt_fail "cannot read the portal's records"
lt_portal_keys "$LT_TMP/records.json" >"$LT_TMP/portal.txt"
lt_assert_eq "" "$(uniq -d "$LT_TMP/portal.txt" | head -3)" "an event twice in the portal's de-duplicated view"
lt_assert_eq "" "$(comm -23 "$LT_TMP/stored.txt" "$LT_TMP/portal.txt" | head -3)" "stored events not delivered"
lt_assert_eq "" "$(comm -13 "$LT_TMP/stored.txt" "$LT_TMP/portal.txt" | head -3)" "portal records no stored event explains"
lt_log "$after acknowledged (+$dupl duplicate answers), $stored stored, $(wc -l <"$LT_TMP/portal.txt") delivered once each"
lt_gw_stop gw TERM
lt_log "ok"
