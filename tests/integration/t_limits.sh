#!/usr/bin/env bash
# Limits on everything a peer controls (issue 9), each hit once against the
# real gateway: header size (431), JSON depth (400), records per array
# (413), per-sender rate (429 + Retry-After over HTTP, rate_limited +
# retry_after over ZeroMQ), the front -> writer queue (503 + Retry-After),
# ZeroMQ message size and frames, connections per client address and in
# total, and a stalled half request dropped after limits.timeout while
# others are answered. After each refusal the gateway keeps serving, and the
# database holds nothing of the refused request.
source "$(dirname "$0")/lib.sh"

EX=$LT_SOURCE_DIR/schemas/examples
ZMQREQ=${LT_ZMQREQ:?LT_ZMQREQ must name the lt_zmqreq tool}
lt_pg_start pg
lt_ingest_fixture
newtok() { "$LIENTHONG_BIN" token create --unit 244 --role parent | tail -n 1; }
tok=$LT_PARENT_TOKEN # the checks that are not about the rate
tok_rate=$(newtok)   # drained over HTTP
tok_zrate=$(newtok)  # drained over ZeroMQ

lt_gw_start gw LIENTHONG_LIMITS_RATE=1 LIENTHONG_LIMITS_BURST=3 \
  LIENTHONG_LIMITS_DEPTH=8 LIENTHONG_LIMITS_RECORDS=5 LIENTHONG_LIMITS_QUEUE=1 \
  LIENTHONG_LIMITS_TIMEOUT=2s LIENTHONG_LIMITS_REQUEST_TIME=3s LIENTHONG_LIMITS_CONNECTIONS_PER_IP=3 \
  LIENTHONG_LIMITS_HEADER_SIZE=16KiB LIENTHONG_LIMITS_ZMQ_MESSAGE=16KiB
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"
ep=${LT_GW_INGRESS[gw]}

# rec N: example record 02 as dossier 000.00.06.H56-231027-1NNN.
rec() { jq -c --arg c "$(printf '000.00.06.H56-231027-1%03d' "$1")" '.MaHoSo = $c' \
  "$EX/valid/02-duoc-tiep-nhan-truc-tiep.json"; }
recs() { local i; for i in "$@"; do rec "$i"; done | jq -cs .; }
rows() { lt_psql "$LT_PG_URL" "SELECT count(*) FROM dossiers"; }
events() { lt_psql "$LT_PG_URL" "SELECT count(*) FROM dossier_events"; }
# hold GW: three connections to GW kept alive with a header byte every 0.3 s
# (under limits.timeout), never completing their request; release ends them.
holders=()
hold() {
  local i
  for i in 1 2 3; do
    bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
             printf "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Hold: " >&3
             while printf x >&3 2>/dev/null; do sleep 0.3; done' hold "${LT_GW_PORT[$1]}" &
    holders+=("$!")
    LT_PIDS+=("$!")
  done
}
release() {
  local p
  for p in "${holders[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  holders=()
}
# push TOKEN FILE: "STATUS BODY"; response headers in $LT_TMP/h.
push() {
  local out
  out=$(curl -s -m 20 -o "$LT_TMP/b" -D "$LT_TMP/h" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $1" \
    --data-binary "@$2" "$(lt_url gw /v1/dossiers)") || true
  echo "$out $(cat "$LT_TMP/b" 2>/dev/null)"
}
header() { tr -d '\r' <"$LT_TMP/h" | sed -n "s/^$1: //Ip"; }
serving() { lt_assert_eq 200 "$(lt_status gw /readyz)" "still serving after: $1"; }

rec 1 >"$LT_TMP/one.json"
r=$(push "$tok" "$LT_TMP/one.json")
lt_assert_eq accepted "$(jq -r '.results[0].result' <<<"${r#* }")" "a first push ($r)"
rows0=$(rows) events0=$(events)

# ---- header size: libmicrohttpd answers 431 itself ---------------------------
big=$(head -c 20000 /dev/zero | tr '\0' 'a')
lt_assert_eq 431 "$(lt_status gw /healthz -H "X-Big: $big")" "headers over limits.header_size"
serving "431"

# ---- JSON depth: 400 naming the limit, before jansson builds a tree ------------
jq -c '.Extra = [[[[[[[[["deep"]]]]]]]]]' "$LT_TMP/one.json" | jq -c '.MaHoSo = "000.00.06.H56-231027-1002"' \
  >"$LT_TMP/deep.json"
r=$(push "$tok" "$LT_TMP/deep.json")
lt_assert_eq 400 "${r%% *}" "nested deeper than limits.depth ($r)"
lt_assert_contains "$(jq -r .error.message <<<"${r#* }")" "limits.depth" "the 400 names the limit"
lt_assert_contains "$(jq -r .error.message <<<"${r#* }")" "8 levels" "the 400 names the depth"
serving "depth"

# ---- records per array: 413 for the whole request ------------------------------
recs 10 11 12 13 14 15 >"$LT_TMP/six.json"
r=$(push "$tok" "$LT_TMP/six.json")
lt_assert_eq 413 "${r%% *}" "six records over limits.records=5 ($r)"
lt_assert_contains "$(jq -r .error.message <<<"${r#* }")" "limits.records" "the 413 names the limit"
serving "413"

# ---- per-sender rate over HTTP: 429 with Retry-After, nothing stored ------------
recs 20 21 22 >"$LT_TMP/r3a.json"
recs 23 24 25 >"$LT_TMP/r3b.json"
r=$(push "$tok_rate" "$LT_TMP/r3a.json")
lt_assert_eq "200 accepted,accepted,accepted" "${r%% *} $(jq -r '[.results[].result]|join(",")' <<<"${r#* }")" \
  "three records fill the burst ($r)"
# Three more need three seconds of refill at 1 record/s: refused at once.
r=$(push "$tok_rate" "$LT_TMP/r3b.json")
lt_assert_eq 429 "${r%% *}" "over limits.rate ($r)"
lt_assert_eq rate_limited "$(jq -r .error.code <<<"${r#* }")" "429 error code"
lt_assert_contains "$(jq -r .error.message <<<"${r#* }")" "limits.rate" "the 429 names the limit"
ra=$(header Retry-After)
[[ "$ra" =~ ^[1-3]$ ]] || lt_fail "Retry-After in whole seconds, at most 3: [$ra]"
lt_assert_eq 0 "$(lt_psql "$LT_PG_URL" "SELECT count(*) FROM dossiers WHERE code IN ('000.00.06.H56-231027-1023', '000.00.06.H56-231027-1024', '000.00.06.H56-231027-1025')")" \
  "nothing of the refused request stored"
# Another sender is not held back by this one's bucket.
rec 26 >"$LT_TMP/r26.json"
r=$(push "$tok" "$LT_TMP/r26.json")
lt_assert_eq 200 "${r%% *}" "another token in the meantime ($r)"
# A token nobody issued has a bucket of its own and still meets the writer: 401.
r=$(push "lt_0000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$LT_TMP/r26.json")
lt_assert_eq 401 "${r%% *}" "an unknown token is the writer's 401 ($r)"
# After Retry-After the same request goes through (a bounded wait).
sleep "$ra"
lt_wait 5 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -H 'Authorization: Bearer $tok_rate' --data-binary @$LT_TMP/r3b.json $(lt_url gw /v1/dossiers))\" = 200 ]" ||
  lt_fail "not accepted after Retry-After"

# ---- per-sender rate over ZeroMQ: rate_limited with retry_after ----------------
recs 30 31 32 >"$LT_TMP/z3a.json"
recs 33 34 35 >"$LT_TMP/z3b.json"
out=$("$ZMQREQ" "$ep" --token "$tok_zrate" "$LT_TMP/z3a.json") || lt_fail "no ZeroMQ answer"
lt_assert_eq "accepted,accepted,accepted" "$(jq -r '[.results[].result]|join(",")' <<<"$out")" "ZeroMQ burst ($out)"
out=$("$ZMQREQ" "$ep" --token "$tok_zrate" "$LT_TMP/z3b.json") || lt_fail "no ZeroMQ answer"
lt_assert_eq rate_limited "$(jq -r .error.code <<<"$out")" "ZeroMQ over limits.rate ($out)"
[[ "$(jq -r .error.retry_after <<<"$out")" =~ ^[1-3]$ ]] || lt_fail "retry_after in whole seconds: $out"
lt_assert_eq 0 "$(lt_psql "$LT_PG_URL" "SELECT count(*) FROM dossiers WHERE code IN ('000.00.06.H56-231027-1033', '000.00.06.H56-231027-1034', '000.00.06.H56-231027-1035')")" \
  "nothing of the refused ZeroMQ message stored"

# ---- ZeroMQ frames and message size --------------------------------------------
out=$("$ZMQREQ" "$ep" --frame extra --token "$tok" "$LT_TMP/one.json") || lt_fail "no answer to three frames"
lt_assert_eq malformed "$(jq -r .error.code <<<"$out")" "three frames"
lt_assert_contains "$(jq -r .error.message <<<"$out")" "at most 2" "the frame limit named"
# Over limits.zmq_message ZeroMQ drops the peer unread: no answer, nothing stored.
jq -c --arg pad "$(head -c 20000 /dev/zero | tr '\0' 'x')" '.MaHoSo = "000.00.06.H56-231027-1040" | .GhiChu = $pad' \
  "$LT_TMP/one.json" >"$LT_TMP/zbig.json"
if "$ZMQREQ" "$ep" --token "$tok" --timeout-ms 2000 "$LT_TMP/zbig.json" >/dev/null 2>&1; then
  lt_fail "a message over limits.zmq_message was answered"
fi
lt_assert_eq 0 "$(lt_psql "$LT_PG_URL" "SELECT count(*) FROM dossiers WHERE code = '000.00.06.H56-231027-1040'")" \
  "nothing of the oversized message stored"
rec 41 >"$LT_TMP/z41.json"
out=$("$ZMQREQ" "$ep" --token "$tok" "$LT_TMP/z41.json") || lt_fail "ZeroMQ ingress stopped answering"
lt_assert_eq accepted "$(jq -r '.results[0].result' <<<"$out")" "ZeroMQ still serving ($out)"

# ---- the front -> writer queue: 503 + Retry-After when full ---------------------
# A transaction holding dossiers keeps the writer's first push waiting; with
# limits.queue=1 the second push is refused by the front at once.
PGAPPNAME=lt_limits_lock psql "$LT_PG_URL" -qAt \
  -c "BEGIN; LOCK TABLE dossiers IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;" \
  >/dev/null 2>&1 &
locker=$!
LT_PIDS+=("$locker")
lt_wait 10 bash -c "[ \"\$(psql '$LT_PG_URL' -qAt -c \"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'dossiers' AND l.granted AND l.mode = 'AccessExclusiveLock'\")\" = 1 ]" ||
  lt_fail "lock not taken"
rec 50 >"$LT_TMP/q1.json"
rec 51 >"$LT_TMP/q2.json"
curl -s -m 30 -o "$LT_TMP/q1.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $tok" --data-binary "@$LT_TMP/q1.json" "$(lt_url gw /v1/dossiers)" \
  >"$LT_TMP/q1.status" &
q1=$!
LT_PIDS+=("$q1")
lt_wait 10 bash -c "[ \"\$(psql '$LT_PG_URL' -qAt -c 'SELECT count(*) FROM pg_locks WHERE NOT granted')\" -ge 1 ]" ||
  lt_fail "the first push did not reach the writer"
r=$(push "$tok" "$LT_TMP/q2.json")
lt_assert_eq 503 "${r%% *}" "second push over limits.queue ($r)"
lt_assert_contains "$(jq -r .error.message <<<"${r#* }")" "limits.queue" "the 503 names the limit"
[[ "$(header Retry-After)" =~ ^[0-9]+$ ]] || lt_fail "503 without Retry-After"
lt_psql "$LT_PG_URL" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lt_limits_lock'" >/dev/null
wait "$q1" || true
lt_assert_eq 200 "$(cat "$LT_TMP/q1.status")" "the waiting push commits once the lock goes ($(cat "$LT_TMP/q1.out"))"
lt_assert_eq 0 "$(lt_psql "$LT_PG_URL" "SELECT count(*) FROM dossiers WHERE code = '000.00.06.H56-231027-1051'")" \
  "nothing of the refused push stored"

# ---- a stalled half request is dropped; others are answered meanwhile -----------
exec {stall}<>"/dev/tcp/127.0.0.1/${LT_GW_PORT[gw]}"
printf 'POST /v1/dossiers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"MaHoSo": ' >&"$stall"
for i in 1 2 3; do
  lt_assert_eq 200 "$(lt_status gw /healthz)" "answered while a client stalls ($i)"
done
# limits.timeout=2s: the server closes the stalled connection (EOF), bounded.
timeout 15 cat <&"$stall" >/dev/null || lt_fail "stalled connection not closed after limits.timeout"
exec {stall}>&-

# ---- a trickled body is cut off after limits.request_time ----------------------------
# A byte every second keeps the connection from ever being silent for
# limits.timeout (2 s); limits.request_time (3 s) closes it anyway, bounded.
exec {trickle}<>"/dev/tcp/127.0.0.1/${LT_GW_PORT[gw]}"
printf 'POST /v1/dossiers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{' >&"$trickle"
cut=0
for i in $(seq 1 15); do
  sleep 1
  # In a subshell: a write to the closed socket kills its writer (SIGPIPE).
  (printf ' ' >&"$trickle") 2>/dev/null || { cut=$i; break; }
done
[ "$cut" -gt 0 ] || lt_fail "a trickling client was not cut off after limits.request_time"
exec {trickle}>&-
lt_wait 10 grep -q 'limits.request_time' "$LT_TMP/gw.log" || lt_fail "no log line names limits.request_time"
lt_assert_eq 200 "$(lt_status gw /healthz)" "still serving after the trickling client"

# ---- connections per client address -----------------------------------------------
# Three connections held open (hold); the fourth from 127.0.0.1 is closed.
hold gw
lt_wait 10 bash -c "[ \"\$(curl -s -m 5 -o /dev/null -w '%{http_code}' $(lt_url gw /healthz))\" = 000 ]" ||
  lt_fail "a fourth connection from one address was served (limits.connections_per_ip=3)"
lt_wait 5 grep -q 'connection limit' "$LT_TMP/gw.log" || lt_fail "the refused connection is not logged"
release
lt_wait 10 status_is gw /healthz 200 || lt_fail "not serving once the holders left"

# Nothing partial: exactly the accepted records (26, 20-25, 30-32, 41, 50) were
# written, one dossier and one event each.
lt_assert_eq "$((rows0 + 12)) $((events0 + 12))" "$(rows) $(events)" "dossiers and events: the accepted records only"
lt_gw_stop gw TERM

# ---- connections in total ---------------------------------------------------------
# At limits.connections libmicrohttpd stops accepting: a fourth client waits
# in the listen backlog (unanswered here within curl's 2 s) until one leaves.
lt_gw_start gw2 LIENTHONG_LIMITS_CONNECTIONS=3 LIENTHONG_LIMITS_CONNECTIONS_PER_IP=0
lt_wait 30 status_is gw2 /readyz 200 || lt_fail "gw2 not ready"
hold gw2
lt_wait 10 bash -c "[ \"\$(curl -s -m 2 -o /dev/null -w '%{http_code}' $(lt_url gw2 /healthz))\" = 000 ]" ||
  lt_fail "a fourth connection was served (limits.connections=3)"
release
lt_wait 10 status_is gw2 /healthz 200 || lt_fail "gw2 not serving once the holders left"
lt_gw_stop gw2 TERM
lt_log "ok"
