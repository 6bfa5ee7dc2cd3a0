#!/usr/bin/env bash
# A subscriber that joins after 10,000 dossier events loses nothing (the
# zguide's Clone pattern): it subscribes to the PUB socket, replays from 0
# while new pushes keep arriving, merges both by sequence, and ends with
# every stored dossier event up to the last one it saw, in order, once.
source "$(dirname "$0")/lib.sh"

PUSH=${LT_PUSH:?LT_PUSH must name the lt_push tool}
ZMQCAT=${LT_ZMQCAT:?LT_ZMQCAT must name the lt_zmqcat tool}
lt_pg_start pg
lt_ingest_fixture
token=$LT_PARENT_TOKEN
operator=$LT_OPERATOR_TOKEN
lt_gw_start gw
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"

push() { # RUN-ID ARGS...
  local run=$1; shift
  "$PUSH" --http "$(lt_url gw "")" --token "$token" --unit-agency 000.00.06.H56 \
    --procedure 2.000908 --run-id "$run" --seed "$run" --deadline 120 --json "$@"
}
out=$(push 1 --count 10000 --batch 100 --senders 4) || lt_fail "the first 10,000: $out"
lt_assert_eq 10000 "$(jq '.results.accepted' <<<"$out")" "10,000 accepted before the subscriber joins"

# Group commit: 16 senders pushing one record at a time share transactions
# (rows written by one transaction carry its xmin).
out=$(push 3 --count 2000 --batch 1 --senders 16) || lt_fail "2,000 single pushes: $out"
lt_assert_eq 2000 "$(jq '.results.accepted' <<<"$out")" "2,000 single pushes accepted"
tx=$(lt_psql "$LT_PG_URL" "SELECT count(DISTINCT d.xmin::text) FROM dossiers d JOIN dossier_events e ON e.seq = d.last_seq WHERE e.seq > (SELECT max(seq) FROM dossier_events) - 2000")
lt_log "2,000 single-record pushes from 16 senders took $tx transactions"
[ "$tx" -lt 1000 ] || lt_fail "no group commit: $tx transactions for 2,000 pushes"

# New events keep arriving while the late subscriber catches up.
push 2 --seconds 6 --batch 10 --senders 2 >"$LT_TMP/live.json" 2>"$LT_TMP/live.err" &
live=$!
LT_PIDS+=("$live")
request=$(jq -cn --arg t "$operator" '{from: 0, prefix: "dossier.", token: $t}')
"$ZMQCAT" --sub "${LT_GW_EVENTS[gw]}" --topic dossier. --replay "${LT_GW_REPLAY[gw]}" \
  --request "$request" --idle-ms 3000 --timeout-ms 100000 >"$LT_TMP/late.jsonl" 2>"$LT_TMP/late.err" ||
  lt_fail "lt_zmqcat: $(cat "$LT_TMP/late.err")"
wait "$live" || lt_fail "live pushes: $(cat "$LT_TMP/live.err")"
[ "$(jq '.results.accepted' "$LT_TMP/live.json")" -gt 0 ] || lt_fail "no live events during the replay"

grep -q '"topic":"\$ERROR"' "$LT_TMP/late.jsonl" && lt_fail "replay refused: $(grep ERROR "$LT_TMP/late.jsonl")"
# The replayed part alone: strictly increasing, so no duplicates.
jq -r 'select(.via == "replay" and (.topic | startswith("dossier."))) | .seq' "$LT_TMP/late.jsonl" >"$LT_TMP/replayed"
sort -n -c -u "$LT_TMP/replayed" 2>/dev/null || lt_fail "replay out of order or repeated"
# Merged by sequence, duplicates dropped: every stored dossier event up to
# the last one seen, in order.
jq -r 'select(.topic | startswith("dossier.")) | .seq' "$LT_TMP/late.jsonl" | sort -n -u >"$LT_TMP/merged"
last=$(tail -n 1 "$LT_TMP/merged")
lt_psql "$LT_PG_URL" "SELECT seq FROM dossier_events WHERE kind = 'dossier' AND seq <= $last ORDER BY seq" >"$LT_TMP/stored"
n=$(wc -l <"$LT_TMP/merged")
[ "$n" -gt 10000 ] || lt_fail "only $n events after the merge"
cmp -s "$LT_TMP/merged" "$LT_TMP/stored" || lt_fail "merged stream differs from the stored events: $(diff "$LT_TMP/merged" "$LT_TMP/stored" | head -5)"
# The live part overlapped the replay: the Clone pattern's point.
[ "$(jq -r 'select(.via == "sub") | .seq' "$LT_TMP/late.jsonl" | wc -l)" -gt 0 ] || lt_fail "nothing came live"
lt_gw_stop gw
lt_log "ok: $n events in order, none lost, none twice"
