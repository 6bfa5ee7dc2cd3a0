#!/usr/bin/env bash
# The delivery actor's portal leg end to end (gateway/lt_delivery.c): pushes
# through the gateway reach lt_simpeer --role portal in order per dossier
# (isUpdating False first, True after, key lt-<seq>); the portal down while
# records keep arriving leaves ingest at 200 and a backlog that drains by
# itself once it is back; a portal refusal (error_code 3) becomes a dead
# letter with the answer while other dossiers flow, and `lienthong replay`
# delivers it; a SIGKILL mid-drain loses nothing (the restart takes the
# claims back) and the portal holds each event once under its key.
source "$(dirname "$0")/lib.sh"

PUSH=${LT_PUSH:?LT_PUSH must name the lt_push tool}
EX=$LT_SOURCE_DIR/schemas/examples

lt_pg_start pg
lt_ingest_fixture
token=$LT_PARENT_TOKEN

lt_portal_sim_start p
cport=${LT_SIM_CTL[p]}
ctl() { lt_sim_control p "$1"; }
view() { lt_sim_view p "$1"; }

GW_ENV=("${LT_PORTAL_ENV[@]}" LIENTHONG_LOG_LEVEL=debug)
lt_gw_start gw "${GW_ENV[@]}"
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"
lt_wait 30 grep -q 'registered as gateway instance' "$LT_TMP/gw.log" ||
  lt_fail "the delivery actor did not start"

q() { lt_psql "$LT_PG_URL" "$1"; }
# Portal rows not yet settled (pending, inflight, retrying).
open_rows() { q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state IN ('pending','inflight','retrying')"; }
drained() { [ "$(open_rows)" = 0 ] && [ "$(q "SELECT last_seq FROM delivery_router")" = "$(q "SELECT coalesce(max(seq), 0) FROM dossier_events")" ]; }
runs=0
push() { # COUNT ACKLOG [more lt_push args]: new dossiers each run (its own run id)
  local n=$1 log=$2; shift 2
  runs=$((runs + 1))
  "$PUSH" --http "$(lt_url "${GW:-gw}" "")" --token "$token" --unit-agency 000.00.06.H56 \
    --procedure 2.000908 --count "$n" --run-id "$runs" --seed "$runs" --ack-log "$log" --json "$@" >"$log.json" 2>"$log.err" ||
    lt_fail "lt_push failed: $(tail -3 "$log.err")"
}
# Every delivered portal row's key is at the portal under its dossier, once
# in _dedup; the latest event of every dossier is delivered (but for a
# dead letter's dossier).
check_portal() { # WHAT
  view /_dedup >"$LT_TMP/dedup.json"
  q "SELECT idempotency_key || ' ' || dossier_code FROM outbox WHERE destination = 'portal' AND state = 'delivered' ORDER BY 1" >"$LT_TMP/want.txt"
  jq -r '.records[] | select(.service == "DongBoHoSoMC") | "\(.idempotency_key) \(.MaHoSo)"' "$LT_TMP/dedup.json" |
    sort >"$LT_TMP/have.txt"
  lt_assert_eq "" "$(comm -23 "$LT_TMP/want.txt" "$LT_TMP/have.txt" | head -3)" "$1: delivered rows missing at the portal"
  lt_assert_eq "" "$(jq -r '.records[] | "\(.idempotency_key) \(.MaHoSo) \(.service)"' "$LT_TMP/dedup.json" | sort | uniq -d | head -3)" \
    "$1: _dedup holds each event once"
  lt_assert_eq 0 "$(q "SELECT count(*) FROM dossiers d WHERE NOT EXISTS (SELECT 1 FROM outbox x WHERE x.destination = 'portal' AND x.dossier_code = d.code AND x.state = 'dead') AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.destination = 'portal' AND o.dossier_code = d.code AND o.state = 'delivered' AND o.event_seq = (SELECT max(seq) FROM dossier_events e WHERE e.dossier_code = d.code))")" \
    "$1: every dossier's latest event is delivered"
}

# ---- 1. pushes reach the portal, in order per dossier ------------------------
push 60 "$LT_TMP/a1.txt" --senders 1 --batch 3 --updates 50
lt_assert_eq 60 "$(wc -l <"$LT_TMP/a1.txt")" "60 records accepted"
lt_wait 60 drained || lt_fail "the first pushes were not delivered: $(open_rows) open"
check_portal "first pushes"
lt_assert_eq "$(q "SELECT count(*) FROM outbox WHERE destination = 'portal'")" \
  "$(q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state IN ('delivered','superseded')")" \
  "every routed row delivered or carried by a newer one"
view /_records >"$LT_TMP/rec1.json"
# Per dossier, in arrival order: first isUpdating False, the rest True, keys
# ascending.
lt_assert_eq "[]" "$(jq -c '[.records | map(select(.service == "DongBoHoSoMC" and .duplicate == false))
  | group_by(.MaHoSo)[] | select(.[0].isUpdating != "False" or (.[1:] | any(.isUpdating != "True"))
     or (map(.idempotency_key | ltrimstr("lt-") | tonumber) as $k | $k != ($k | sort)))
  | .[0].MaHoSo]' "$LT_TMP/rec1.json")" "isUpdating False then True, in order, per dossier"
lt_assert_eq "[]" "$(jq -c '[.records[] | select(.idempotency_key | test("^lt-[0-9]+$") | not)] | .[:3]' "$LT_TMP/rec1.json")" \
  "every record carries its lt-<seq> key"
updated=$(jq '[.records[] | select(.isUpdating == "True")] | length' "$LT_TMP/rec1.json")
[ "$updated" -gt 0 ] || lt_fail "no update reached the portal (lt_push --updates)"
grep -q 'delivery portal: [0-9]* row(s) in' "$LT_TMP/gw.log" || lt_fail "no debug line per outcome batch"

# ---- 2. portal down: ingest unaffected, backlog grows, drains by itself ------
ctl '{"down": true}'
push 40 "$LT_TMP/a2.txt" --senders 2 --batch 4 --updates 30
lt_assert_eq 40 "$(wc -l <"$LT_TMP/a2.txt")" "ingest answers 200 while the portal is down"
lt_wait 30 bash -c "[ \"\$(psql '$LT_PG_URL' -qAtc \"SELECT count(*) FROM outbox WHERE destination = 'portal' AND state = 'retrying' AND attempts > 0\")\" -gt 0 ]" ||
  lt_fail "no row went back to retrying while the portal was down"
# The backlog in dossiers waiting (rows of one dossier coalesce into its
# newest): more records for new dossiers make it grow; nothing is delivered.
open_dossiers() { q "SELECT count(DISTINCT dossier_code) FROM outbox WHERE destination = 'portal' AND state IN ('pending','inflight','retrying')"; }
delivered_now() { q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state = 'delivered'"; }
b1=$(open_dossiers)
d1=$(delivered_now)
push 20 "$LT_TMP/a2b.txt" --senders 1 --batch 4
lt_assert_eq 20 "$(wc -l <"$LT_TMP/a2b.txt")" "ingest still answers 200 while the portal is down"
lt_wait 30 bash -c "[ \"\$(psql '$LT_PG_URL' -qAtc \"SELECT count(DISTINCT dossier_code) FROM outbox WHERE destination = 'portal' AND state IN ('pending','inflight','retrying')\")\" -ge $((b1 + 20)) ]" ||
  lt_fail "the backlog did not grow while the portal was down ($b1 then $(open_dossiers))"
b2=$(open_dossiers)
lt_assert_eq "$d1" "$(delivered_now)" "nothing delivered while the portal is down"
lt_log "backlog while down: $b1 then $b2 dossiers waiting"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state = 'dead'")" "no dead letter from an outage"
ctl '{"down": false}'
lt_wait 90 drained || lt_fail "the backlog did not drain after the portal came back: $(open_rows) open"
check_portal "after the outage"

# ---- 3. a refusal: dead letter with the answer; others flow; replay ----------
D=000.00.06.H56-240611-0777
jq --arg c "$D" '.MaHoSo = $c | if .QuaTrinhXuLy then .QuaTrinhXuLy |= map(.MaHoSo = $c) else . end' \
  "$EX/valid/07-cong-dan-rut-ho-so.json" >"$LT_TMP/d.json"
ctl '{"error_code": "3"}'
st=$(curl -s -m 10 -o "$LT_TMP/d.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $token" --data-binary "@$LT_TMP/d.json" "$(lt_url gw /v1/dossiers)")
lt_assert_eq 200 "$st" "the refused dossier is accepted by ingest: $(cat "$LT_TMP/d.out")"
dl() { "$LIENTHONG_BIN" deadletters list --destination portal --json 2>/dev/null; }
lt_wait 30 bash -c "'$LIENTHONG_BIN' deadletters list --destination portal --json 2>/dev/null | jq -e --arg c '$D' '.deadletters | any(.dossier_code == \$c)' >/dev/null" ||
  lt_fail "no dead letter for the refused dossier"
id=$(dl | jq -r --arg c "$D" '.deadletters[] | select(.dossier_code == $c) | .id')
lt_assert_eq 3 "$("$LIENTHONG_BIN" deadletters show "$id" --json | jq -r '.answer | fromjson | .error_code')" \
  "the portal's answer is kept with the dead letter"
grep -q "dead letter for dossier $D" "$LT_TMP/gw.log" || lt_fail "no warning for the dead letter"
ctl '{"error_code": null}'
push 10 "$LT_TMP/a3.txt" --senders 1 --batch 2
lt_wait 60 drained || lt_fail "other dossiers did not flow past the dead letter"
check_portal "past a dead letter"
lt_assert_eq dead "$(q "SELECT state FROM outbox WHERE id = $id")" "the dead letter stays until replayed"
"$LIENTHONG_BIN" replay --destination portal --id "$id" >/dev/null || lt_fail "replay"
lt_wait 30 bash -c "[ \"\$(psql '$LT_PG_URL' -qAtc 'SELECT state FROM outbox WHERE id = $id')\" = delivered ]" ||
  lt_fail "the replayed dead letter was not delivered"
key=$(q "SELECT idempotency_key FROM outbox WHERE id = $id")
lt_assert_eq 1 "$(view /_dedup | jq --arg k "$key" --arg c "$D" '[.records[] | select(.idempotency_key == $k and .MaHoSo == $c)] | length')" \
  "the replayed record is at the portal under its key"

# ---- 4. SIGKILL mid-drain, restart: at least once, same keys -----------------
ctl '{"latency_ms": 150}'
push 80 "$LT_TMP/a4.txt" --senders 2 --batch 5 --updates 30
delivered_before=$(q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state = 'delivered'")
lt_wait 30 bash -c "[ \"\$(psql '$LT_PG_URL' -qAtc \"SELECT count(*) FROM outbox WHERE destination = 'portal' AND state = 'delivered'\")\" -gt $((delivered_before + 3)) ]" ||
  lt_fail "the drain did not start"
inflight=$(q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state = 'inflight'")
kill -KILL "${LT_GW_PID[gw]}"
wait "${LT_GW_PID[gw]}" 2>/dev/null || true
lt_assert_eq 1 "$(q "SELECT (count(*) > 0)::int FROM outbox WHERE destination = 'portal' AND state IN ('pending','inflight','retrying')")" \
  "rows left undelivered by the kill"
ctl '{"latency_ms": 0}'
lt_gw_start gw2 "${GW_ENV[@]}"
lt_wait 90 drained || lt_fail "the drain did not finish after the restart: $(open_rows) open"
check_portal "after a SIGKILL"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE state = 'inflight'")" "nothing left inflight"
if [ "$inflight" -gt 0 ]; then
  grep -q 'took back [0-9]* row(s) claimed by a gateway that stopped' "$LT_TMP/gw2.log" ||
    lt_fail "the restart did not take back the killed gateway's claims"
fi
lt_log "rows inflight at the kill: $inflight"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state = 'dead'")" "no dead letter left"

# SIGTERM with a call in flight: the call finishes, its outcome is recorded,
# and the instance row goes (its claims cannot linger).
ctl '{"latency_ms": 1500}'
GW=gw2 push 1 "$LT_TMP/a5.txt" --senders 1 --batch 1
lt_wait 30 bash -c "curl -sf -m 5 http://127.0.0.1:$cport/_stats | jq -e '.in_flight > 0' >/dev/null" ||
  lt_fail "no portal call in flight"
lt_gw_stop gw2 TERM
last=$(cut -d' ' -f2 "$LT_TMP/a5.txt")
lt_assert_eq delivered "$(q "SELECT state FROM outbox WHERE destination = 'portal' AND event_seq = $last")" \
  "the call in flight at SIGTERM is recorded before the gateway leaves"
lt_assert_eq 0 "$(q "SELECT count(*) FROM gateway_instances WHERE pid = ${LT_GW_PID[gw2]}")" "the instance unregisters on stop"
if grep -q matkhau "$LT_TMP"/gw*.log; then lt_fail "the portal password reached a log"; fi
kill -TERM "${LT_SIM_PID[p]}"
lt_log "ok"
