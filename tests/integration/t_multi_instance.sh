#!/usr/bin/env bash
# Several gateways on one database (issue 10): two `lienthong serve` (gwa,
# gwb) share one PostgreSQL, a portal simulator and a national catalog
# simulator. Senders push new dossiers through both at once (HTTP, lt_push);
# gwb is killed with SIGKILL in the middle of the load while it holds
# delivery claims; gwa carries on alone. Then:
#   - every record either gateway acknowledged is stored exactly once, with
#     the sequence it was given, and the event sequence has no gap;
#   - every stored dossier event reached the portal exactly once in its
#     de-duplicated view (by Idempotency-Key lt-<seq>), no stranger there,
#     so every acknowledged record was delivered;
#   - nothing is left `inflight` (gwb's claims were taken back by gwa), no
#     claim of gwb remains, nothing dead-lettered;
#   - the periodic catalog sync (catalog.interval 1 s, a slow catalog) ran
#     in one process at a time: the advisory lock made the other skip its
#     round (logged), and no two finished sync runs overlap in time (a
#     run gwb had going when it was killed stays `running`: left out).
# Each wait is bounded; the checks read documented tables and the
# simulators' views only.
LT_TEST_TIMEOUT=${LT_TEST_TIMEOUT:-200}
source "$(dirname "$0")/lib.sh"

PUSH=${LT_PUSH:?LT_PUSH must name the lt_push tool}
simcat=${LT_SIMCATALOG:?LT_SIMCATALOG must name tests/sim lt_simcatalog}

lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
q() { lt_psql "$LT_PG_URL" "$1"; }

# ---- the catalog simulator: every call takes 1.5 s, so that a round of one
# gateway is still running when the other's timer fires (interval 1 s).
"$simcat" --count 40 --latency-ms 1500 --max-seconds 190 >"$LT_TMP/cat.out" 2>"$LT_TMP/cat.err" &
LT_PIDS+=("$!")
lt_wait 20 grep -q '"port"' "$LT_TMP/cat.out" || lt_fail "the catalog simulator did not start"
caturl="http://127.0.0.1:$(grep -o '"port": [0-9]*' "$LT_TMP/cat.out" | grep -o '[0-9]*$')"

# ---- fixture: units, the catalog from the simulator, a parent token ----------
"$LIENTHONG_BIN" migrate >/dev/null 2>&1 || lt_fail "migrate"
"$LIENTHONG_BIN" units import "$LT_SOURCE_DIR/deploy/units/example-3tier.json" >/dev/null ||
  lt_fail "units import"
LIENTHONG_CATALOG_URL=$caturl "$LIENTHONG_BIN" catalog sync >"$LT_TMP/sync0.log" 2>&1 ||
  lt_fail "first catalog sync from the simulator"
# A published commune-level procedure: dossiers of ward 000.00.06.H56 stay
# at the ward (portal leg only), so the portal sees every event.
proc=$(q "SELECT code FROM procedures WHERE published AND levels = '{3}' ORDER BY code LIMIT 1")
[ -n "$proc" ] || lt_fail "no commune-level procedure in the simulated catalog"
token=$("$LIENTHONG_BIN" token create --unit 244 --role parent | tail -n 1)
runs0=$(q "SELECT count(*) FROM catalog_sync_runs")

lt_portal_sim_start p
ctl() { lt_sim_control p "$1"; }
view() { lt_sim_view p "$1" 30; }

GW_ENV=("${LT_PORTAL_ENV[@]}" LIENTHONG_CATALOG_URL="$caturl" LIENTHONG_CATALOG_INTERVAL=1s
  LIENTHONG_CATALOG_TIMEOUT=10s)
lt_gw_start gwa "${GW_ENV[@]}"
lt_gw_start gwb "${GW_ENV[@]}"
for gw in gwa gwb; do
  lt_wait 30 status_is $gw /readyz 200 || lt_fail "$gw not ready"
done
pida=${LT_GW_PID[gwa]} pidb=${LT_GW_PID[gwb]}
instance_of() { q "SELECT id FROM gateway_instances WHERE pid = $1 ORDER BY id DESC LIMIT 1"; }
lt_wait 30 eval '[ -n "$(instance_of $pida)" ] && [ -n "$(instance_of $pidb)" ]' ||
  lt_fail "both gateways must register in gateway_instances"
ib=$(instance_of $pidb)
# While both run, their rounds (1.5 s each, every 1 s) meet the lock.
lt_wait 30 grep -q "another process is syncing the catalog; skipping this round" \
  "$LT_TMP/gwa.log" "$LT_TMP/gwb.log" ||
  lt_fail "neither gateway ever found the catalog lock taken (rounds of 1.5 s every 1 s)"

# ---- load through both -----------------------------------------------------------
# A bounded rate (the backlog must drain in the time below through one
# gateway) for 10 s, through each gateway at once.
push() { # GW RUN
  "$PUSH" --http "$(lt_url "$1" "")" --token "$token" --unit-agency 000.00.06.H56 \
    --procedure "$proc" --senders 4 --batch 5 --rate 80 --seconds 10 --deadline 40 \
    --timeout-ms 5000 --run-id "$2" --seed "$2" --ack-log "$LT_TMP/acks-$1.txt" --json \
    >"$LT_TMP/push-$1.json" 2>"$LT_TMP/push-$1.err"
}
: >"$LT_TMP/acks-gwa.txt"
: >"$LT_TMP/acks-gwb.txt"
push gwa 1 &
pusha=$!
LT_PIDS+=("$pusha")
push gwb 2 &
pushb=$!
LT_PIDS+=("$pushb")

# Slow portal answers, so that gwb surely holds a call in flight when it is killed.
ctl '{"latency_ms": 300}'
held_by_b() { q "SELECT count(*) FROM outbox WHERE state = 'inflight' AND claimed_by = $ib"; }
lt_wait 30 eval '[ "$(wc -l <"$LT_TMP/acks-gwb.txt")" -gt 50 ] && [ "$(held_by_b)" -gt 0 ]' ||
  lt_fail "gwb neither acknowledged nor claimed under load (acks $(wc -l <"$LT_TMP/acks-gwb.txt"), claims $(held_by_b))"
kill -KILL "$pidb"
wait "$pidb" 2>/dev/null || true
nheld=$(held_by_b)
[ "$nheld" -gt 0 ] || lt_fail "gwb held no claim at the kill (the reclaim would prove nothing)"
lt_log "gwb killed: $(wc -l <"$LT_TMP/acks-gwb.txt") acknowledged through it, $nheld claim(s) frozen"
ctl '{"latency_ms": 0}'
# gwb's sender now meets refused connections (nothing acknowledged): it ends at its deadline.
wait "$pusha" || lt_fail "lt_push through gwa failed ($(tail -2 "$LT_TMP/push-gwa.err"))"
wait "$pushb" || true
acka=$(wc -l <"$LT_TMP/acks-gwa.txt")
[ "$acka" -gt 300 ] || lt_fail "gwa did not carry on: only $acka records acknowledged through it"
cat "$LT_TMP/acks-gwa.txt" "$LT_TMP/acks-gwb.txt" >"$LT_TMP/acks.txt"
lt_acks_stored "$LT_TMP/acks.txt"

# ---- gwa alone drains the backlog and takes back gwb's claims ------------------
routed() { [ "$(q "SELECT last_seq FROM delivery_router")" = "$(q "SELECT coalesce(max(seq), 0) FROM dossier_events")" ]; }
open_rows() { q "SELECT count(*) FROM outbox WHERE state IN ('pending', 'inflight', 'retrying')"; }
lt_wait 120 eval 'routed && [ "$(open_rows)" = 0 ]' ||
  lt_fail "gwa did not drain: $(open_rows) open rows, $(held_by_b) still held by gwb"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE state = 'inflight'")" "nothing stuck inflight"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE claimed_by = $ib")" "no claim of gwb left"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE state = 'dead'")" "no dead letter"

# Stored == delivered, once each, by idempotency key. New dossiers only
# (no --updates), so every stored event is one portal record lt-<seq>.
q "SELECT 'lt-' || seq || ' ' || dossier_code FROM dossier_events WHERE kind = 'dossier'" |
  sort >"$LT_TMP/stored.txt"
view /_records >"$LT_TMP/records.json" || lt_fail "cannot read the portal's records"
jq -r '.records[] | select(.service == "DongBoHoSoMC" and .duplicate == false)
  | "\(.idempotency_key) \(.MaHoSo)"' "$LT_TMP/records.json" | sort >"$LT_TMP/portal.txt"
lt_assert_eq "" "$(sort "$LT_TMP/portal.txt" | uniq -d | head -3)" "an event twice in the portal's de-duplicated view"
lt_assert_eq "" "$(comm -23 "$LT_TMP/stored.txt" "$LT_TMP/portal.txt" | head -3)" "stored events missing at the portal"
lt_assert_eq "" "$(comm -13 "$LT_TMP/stored.txt" "$LT_TMP/portal.txt" | head -3)" "portal records no stored event explains"
sed 's/^\([^ ]*\) \(.*\)$/lt-\2 \1/' "$LT_TMP/acks.txt" | sort >"$LT_TMP/acked.txt"
lt_assert_eq "" "$(comm -23 "$LT_TMP/acked.txt" "$LT_TMP/portal.txt" | head -3)" "acknowledged records not delivered"
dups=$(jq '[.records[] | select(.duplicate == true)] | length' "$LT_TMP/records.json")
lt_log "$(wc -l <"$LT_TMP/acked.txt") acknowledged, $(wc -l <"$LT_TMP/stored.txt") stored, $(wc -l <"$LT_TMP/portal.txt") delivered once each ($dups repeat(s) after the kill or a lost answer)"

# ---- the periodic catalog sync: one process at a time ---------------------------
lt_wait 30 eval '[ "$(q "SELECT count(*) FROM catalog_sync_runs WHERE outcome = '"'ok'"'")" -gt "$runs0" ]' ||
  lt_fail "no periodic catalog sync ran in serve"
lt_assert_eq 0 "$(q "SELECT count(*) FROM catalog_sync_runs a JOIN catalog_sync_runs b ON a.id < b.id
  WHERE tstzrange(a.started_at, a.finished_at) && tstzrange(b.started_at, b.finished_at)
    AND a.id > $runs0 AND a.outcome <> 'running' AND b.outcome <> 'running'")" \
  "catalog sync runs that overlap in time"
# The survivor keeps syncing after gwb is gone.
n=$(q "SELECT count(*) FROM catalog_sync_runs WHERE outcome = 'ok'")
lt_wait 30 eval '[ "$(q "SELECT count(*) FROM catalog_sync_runs WHERE outcome = '"'ok'"'")" -gt "$n" ]' ||
  lt_fail "gwa stopped syncing the catalog after gwb died"
lt_gw_stop gwa TERM
lt_log "ok"
