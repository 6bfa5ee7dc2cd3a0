#!/usr/bin/env bash
# Two gateway processes on one database drain one backlog together (issue 7:
# "no event is sent twice except through a retry after a failed or
# unanswered call"). One PostgreSQL, two `lienthong serve` (gwa, gwb: their
# own HTTP and ZeroMQ ports, the same database.url), one portal simulator.
#
# Round 1: the portal is down while a backlog of 3,000 events builds through
# both gateways; then it is up again (answering 3 % of the calls with a 500
# *after* storing the record: lost answers, so retries happen) while 400
# more records (dossiers with several updates) arrive through both. Once drained: every portal row is
# delivered (or carried by a newer row of its dossier), the portal's
# de-duplicated view holds exactly the delivered rows' events under their
# keys lt-<seq> (plus events whose answer was lost before a newer row
# carried them), per dossier in order (isUpdating False first, True after,
# keys ascending), and every duplicate the portal saw repeats an event whose
# first call failed; both processes held claims during the drain (sampled
# from outbox.claimed_by -> gateway_instances.pid).
#
# Round 2: another backlog (1,000 events); gwb is killed (SIGKILL) mid-drain while it holds
# claims; gwa takes them back once gwb's heartbeat is stale and finishes:
# nothing lost, the only new duplicates repeat calls gwb had in flight.
#
# Only the tables' documented columns and the simulator's views are read:
# nothing here depends on how the delivery engine schedules its sends.
# Two drains of thousands of rows on a shared 2-core machine: more time than
# the harness's default (ctest's own limit is 300 s).
LT_TEST_TIMEOUT=${LT_TEST_TIMEOUT:-280}
source "$(dirname "$0")/lib.sh"

PUSH=${LT_PUSH:?LT_PUSH must name the lt_push tool}

lt_pg_start pg
lt_ingest_fixture
token=$LT_PARENT_TOKEN
q() { lt_psql "$LT_PG_URL" "$1"; }

lt_portal_sim_start p
ctl() { lt_sim_control p "$1"; }
view() { lt_sim_view p "$1" 30; }

GW_ENV=("${LT_PORTAL_ENV[@]}")
lt_gw_start gwa "${GW_ENV[@]}"
lt_gw_start gwb "${GW_ENV[@]}"
for gw in gwa gwb; do
  lt_wait 30 status_is $gw /readyz 200 || lt_fail "$gw not ready"
done
pida=${LT_GW_PID[gwa]} pidb=${LT_GW_PID[gwb]}
instance_of() { q "SELECT id FROM gateway_instances WHERE pid = $1 ORDER BY id DESC LIMIT 1"; }
lt_wait 30 eval '[ -n "$(instance_of $pida)" ] && [ -n "$(instance_of $pidb)" ]' ||
  lt_fail "both gateways must register in gateway_instances"
ia=$(instance_of $pida) ib=$(instance_of $pidb)
lt_log "gwa pid $pida instance $ia, gwb pid $pidb instance $ib"

open_rows() { q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state IN ('pending','inflight','retrying')"; }
routed() { [ "$(q "SELECT last_seq FROM delivery_router")" = "$(q "SELECT coalesce(max(seq), 0) FROM dossier_events")" ]; }
drained() { routed && [ "$(open_rows)" = 0 ]; }
delivered() { q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state = 'delivered'"; }

# push GW RUN COUNT UPDATES%: new dossiers (run id RUN) through GW; returns
# non-zero instead of failing, as it runs in the background.
push() {
  local gw=$1 run=$2 n=$3 upd=$4 log=$LT_TMP/acks-$2.txt
  "$PUSH" --http "$(lt_url "$gw" "")" --token "$token" --unit-agency 000.00.06.H56 \
    --procedure 2.000908 --count "$n" --run-id "$run" --seed "$run" --ack-log "$log" \
    --senders 4 --batch 25 --updates "$upd" --deadline 120 --json >"$log.json" 2>"$log.err" &&
    [ "$(wc -l <"$log")" = "$n" ]
}
# push_both RUN COUNT UPDATES%: runs RUN (through gwa) and RUN+1 (gwb) at once.
push_both() {
  push gwa "$1" "$2" "$3" &
  local pa=$!
  push gwb $(($1 + 1)) "$2" "$3" &
  local pb=$!
  wait $pa || lt_fail "run $1 through gwa: not every record accepted ($(tail -2 "$LT_TMP/acks-$1.txt.err"))"
  wait $pb || lt_fail "run $(($1 + 1)) through gwb: not every record accepted"
}

# Samples which gateway processes hold claims (inflight rows) until stopped.
sampler_start() { # FILE
  (
    set +e
    while :; do
      psql "$LT_PG_URL" -qAt -c "SELECT DISTINCT g.pid FROM outbox o JOIN gateway_instances g ON g.id = o.claimed_by WHERE o.state = 'inflight'"
      sleep 0.05
    done
  ) >>"$1" 2>/dev/null &
  LT_PIDS+=("$!")
  SAMPLER=$!
}
sampler_stop() { kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true; }

# check WHAT EXPLAINED_KEYS_FILE: the portal and the outbox agree (see the
# header); EXPLAINED_KEYS_FILE lists keys whose call was in flight in a
# killed gateway (their repeat is a retry after an unanswered call).
check() {
  local what=$1 explained=$2
  lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state NOT IN ('delivered', 'superseded')")" \
    "$what: every portal row delivered or superseded"
  lt_assert_eq 0 "$(q "SELECT count(*) FROM dossier_events e WHERE e.kind = 'dossier' AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.destination = 'portal' AND o.event_seq = e.seq)")" \
    "$what: every dossier event has its portal row"
  lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox o WHERE o.destination = 'portal' AND o.idempotency_key <> 'lt-' || o.event_seq")" \
    "$what: every row's key is lt-<seq>"
  lt_assert_eq 0 "$(q "SELECT count(*) FROM dossiers d WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.destination = 'portal' AND o.dossier_code = d.code AND o.state = 'delivered' AND o.event_seq = (SELECT max(seq) FROM dossier_events e WHERE e.dossier_code = d.code))")" \
    "$what: every dossier's latest event is delivered"

  view /_records >"$LT_TMP/records.json"
  view /_received >"$LT_TMP/received.json"
  jq -r '.records[] | select(.service == "DongBoHoSoMC" and .duplicate == false) | "\(.idempotency_key) \(.MaHoSo)"' \
    "$LT_TMP/records.json" | sort >"$LT_TMP/portal.txt"
  q "SELECT idempotency_key || ' ' || dossier_code FROM outbox WHERE destination = 'portal' AND state = 'delivered' ORDER BY 1" \
    | sort >"$LT_TMP/delivered.txt"
  q "SELECT idempotency_key || ' ' || dossier_code FROM outbox WHERE destination = 'portal' AND state IN ('delivered', 'superseded') ORDER BY 1" \
    | sort >"$LT_TMP/rows.txt"
  lt_assert_eq "" "$(comm -23 "$LT_TMP/delivered.txt" "$LT_TMP/portal.txt" | head -3)" \
    "$what: delivered rows missing at the portal"
  # An event at the portal whose row is not delivered: its answer was lost
  # and a newer row of the dossier carried it on (superseded), never a
  # stranger.
  lt_assert_eq "" "$(comm -13 "$LT_TMP/rows.txt" "$LT_TMP/portal.txt" | head -3)" \
    "$what: events at the portal that no delivered or superseded row explains"
  lt_assert_eq "[]" "$(jq -c '[.records | map(select(.service == "DongBoHoSoMC" and .duplicate == false))
    | group_by(.MaHoSo)[] | sort_by(.seq)
    | select(.[0].isUpdating != "False" or (.[1:] | any(.isUpdating != "True"))
       or (map(.idempotency_key | ltrimstr("lt-") | tonumber) as $k | $k != ($k | sort)))
    | .[0].MaHoSo] | .[:3]' "$LT_TMP/records.json")" "$what: per dossier in order, False then True"

  # Raw minus de-duplicated = the repeats; each repeats an event whose first
  # call failed (a fault, a non-200, a non-success code) or was in flight in
  # a gateway that was killed.
  local raw uniq dups
  raw=$(jq '.records | length' "$LT_TMP/records.json")
  uniq=$(jq '[.records[] | select(.duplicate == false)] | length' "$LT_TMP/records.json")
  dups=$(jq '[.records[] | select(.duplicate == true)] | length' "$LT_TMP/records.json")
  lt_assert_eq "$((raw - uniq))" "$dups" "$what: raw - unique = duplicates"
  jq -R . "$explained" | jq -s . >"$LT_TMP/explained.json"
  jq -n --slurpfile rec "$LT_TMP/records.json" --slurpfile calls "$LT_TMP/received.json" \
    --slurpfile ex "$LT_TMP/explained.json" '
    ($calls[0].calls | map({key: (.n | tostring), value: .}) | from_entries) as $byn
    | ($ex[0] | map({key: ., value: true}) | from_entries) as $killed
    | ($rec[0].records | map(select(.duplicate == false))
       | map({key: "\(.idempotency_key) \(.MaHoSo) \(.service) \(.ThoiDiemXuLy) \(.TrangThai)", value: .call})
       | from_entries) as $first
    | [$rec[0].records[] | select(.duplicate == true)
       | . as $d | $first["\(.idempotency_key) \(.MaHoSo) \(.service) \(.ThoiDiemXuLy) \(.TrangThai)"] as $n
       | $byn[$n | tostring] as $c
       | select($c == null or ($c.status == 200 and $c.fault == null
                 and (($c.error_code // "0") | tostring | test("^0+$")) and ($killed[$d.idempotency_key] | not)))
       | "\(.idempotency_key) \(.MaHoSo) first call \($n)"] | .[:3]' >"$LT_TMP/unexplained.json" ||
    lt_fail "$what: cannot join _records with _received"
  lt_assert_eq "[]" "$(jq -c . "$LT_TMP/unexplained.json")" \
    "$what: repeats of an event whose first call had succeeded"
  lt_log "$what: $raw records at the portal, $uniq unique, $dups repeats (all after a failed or unanswered call)"
  DUPS=$dups
}

# ---- round 1: a backlog of 3,000 events while the portal is down ---------------
ctl '{"down": true}'
push_both 1 1500 30
lt_wait 60 routed || lt_fail "round 1: the backlog was not routed"
events1=$(q "SELECT count(*) FROM dossier_events WHERE kind = 'dossier'")
lt_assert_eq 3000 "$events1" "round 1: 3,000 events stored"
lt_assert_eq 0 "$(delivered)" "round 1: nothing delivered while the portal is down"
lt_log "round 1: backlog of $(open_rows) open portal rows ($(q "SELECT count(DISTINCT dossier_code) FROM outbox WHERE destination = 'portal' AND state IN ('pending','inflight','retrying')") dossiers)"

sampler_start "$LT_TMP/claims1.txt"
ctl '{"down": false, "error_ratio": 0.03, "seed": 11, "after_apply": true}'
# More records arrive through both gateways while they drain: new dossiers
# with several updates each, so one dossier's events are claimed by either
# process in turn.
push_both 3 200 60
lt_wait 150 drained || lt_fail "round 1: the backlog did not drain: $(open_rows) open"
sampler_stop
ctl '{"error_ratio": 0, "after_apply": false}'
: >"$LT_TMP/none.txt"
check "round 1" "$LT_TMP/none.txt"
[ "$DUPS" -gt 0 ] || lt_fail "round 1: the lost answers made no retry (the repeat check proved nothing)"
seen=$(sort -un "$LT_TMP/claims1.txt" | paste -sd' ')
case " $seen " in *" $pida "*) ;; *) lt_fail "round 1: gwa (pid $pida) never held a claim (seen: $seen)" ;; esac
case " $seen " in *" $pidb "*) ;; *) lt_fail "round 1: gwb (pid $pidb) never held a claim (seen: $seen)" ;; esac
lt_log "round 1: drained by both processes (claims seen from pids $seen)"

# ---- round 2: SIGKILL one gateway mid-drain ------------------------------------
ctl '{"down": true}'
push_both 5 500 30
lt_wait 60 routed || lt_fail "round 2: the backlog was not routed"
before=$(delivered)
# Slow answers, so that gwb surely holds a call in flight when it is killed.
ctl '{"down": false, "latency_ms": 300}'
held_by_b() { q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND state = 'inflight' AND claimed_by = $ib"; }
lt_wait 60 eval '[ "$(delivered)" -gt $((before + 5)) ] && [ "$(held_by_b)" -gt 0 ]' ||
  lt_fail "round 2: the drain did not start in both (delivered $(($(delivered) - before)), gwb holds $(held_by_b))"
kill -KILL "$pidb"
wait "$pidb" 2>/dev/null || true
# gwb's claims are frozen now (its rows wait for gwa's reclaim, which needs
# its heartbeat to go stale): these are the calls it may have left unanswered.
q "SELECT id FROM outbox WHERE destination = 'portal' AND state = 'inflight' AND claimed_by = $ib ORDER BY id" >"$LT_TMP/killed-ids.txt"
q "SELECT idempotency_key FROM outbox WHERE destination = 'portal' AND state = 'inflight' AND claimed_by = $ib" >"$LT_TMP/killed-keys.txt"
nkilled=$(wc -l <"$LT_TMP/killed-ids.txt")
[ "$nkilled" -gt 0 ] || lt_fail "round 2: gwb held no claim at the kill"
lt_log "round 2: gwb killed holding $nkilled claim(s), $(open_rows) rows open"
ctl '{"latency_ms": 0}'
lt_wait 120 drained || lt_fail "round 2: gwa did not finish the backlog: $(open_rows) open, $(held_by_b) still held by gwb"
lt_assert_eq "" "$(q "SELECT string_agg(id || '=' || state, ' ') FROM outbox WHERE id IN ($(paste -sd, "$LT_TMP/killed-ids.txt")) AND state <> 'delivered'")" \
  "round 2: gwa delivered the rows gwb held"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE claimed_by = $ib")" "round 2: no claim of gwb left"
lt_assert_eq 4400 "$(q "SELECT count(*) FROM dossier_events WHERE kind = 'dossier'")" "4,400 events stored in all"
dups1=$DUPS
check "round 2" "$LT_TMP/killed-keys.txt"
[ $((DUPS - dups1)) -le "$nkilled" ] ||
  lt_fail "round 2: $((DUPS - dups1)) new repeats, more than the $nkilled call(s) gwb left unanswered"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE state = 'dead'")" "no dead letter from outages, lost answers or a kill"
lt_gw_stop gwa TERM
if grep -q matkhau "$LT_TMP"/gw*.log; then lt_fail "the portal password reached a log"; fi
lt_log "ok"
