#!/usr/bin/env bash
# Soak (issue 10, README.md next to this file): steady ingest into one
# `lienthong serve` for LT_SOAK_SECONDS (default 600) while faults are
# injected on a schedule, then a check that nothing acknowledged was lost.
#
#   load     lt_push over HTTP, LT_SOAK_RATE records/s (default 40), 4
#            senders x 5 records, --retry (a 503, a refused connection or a
#            lost answer is resent with the same bytes), --ack-log;
#   database PostgreSQL high availability as in production: a pg_auto_failover
#            monitor, a primary and a synchronous standby (tests/lib/pgaf.sh),
#            the gateway on a multi-host URL with target_session_attrs=read-write;
#   faults   at 15 % of the load (from its start): the gateway killed with SIGKILL and started
#            again on the same port and database; at 30 %: the portal
#            simulator down ({"down": true}: connections refused) for 60 s
#            (a tenth of the run if shorter); at 50 %: the primary's
#            PostgreSQL restarted (pg_ctl restart -m fast; it stays primary);
#            at 70 %: failover: the primary lost at once (pg_autoctl stop
#            --immediate), the standby promoted, then the lost node started
#            again to rejoin as the new standby (pg_rewind);
#   ready    /readyz every 0.2 s: how long the gateway said 503 and whether
#            with Retry-After;
#   samples  the gateway's VmRSS and open descriptors (/proc/PID/status,
#            /proc/PID/fd) every LT_SOAK_SAMPLE s (default 5) into
#            samples.txt, following the gateway across its restart;
#   check    after the load, once the outbox drained (bounded): the gateway
#            process that followed the SIGKILL is the one that saw the
#            database restart and the failover through (it reconnected by
#            itself); its RSS and descriptors did not grow; every
#            acknowledged record stored exactly once with its sequence, the
#            sequence gap-free; stored == acknowledged + answered
#            `duplicate`; every stored event in the portal simulator's
#            de-duplicated view (Idempotency-Key lt-<seq>) once, nothing
#            else there; nothing open, nothing dead-lettered.
#
# Prints a Markdown table; exits 1 if a check failed (the table still
# printed). Builds Release first (LT_BUILD_DIR, default ./build-release).
# Needs pg_autoctl (deploy/install-deps.sh installs it).
# Bounded: a watchdog (LT_SOAK_TIMEOUT, default LT_SOAK_SECONDS + 420),
# everything started stopped by PID. The PostgreSQL nodes (fsync on), the
# gateway and the simulator on loopback.
#
# Environment: LT_BUILD_DIR, LT_SOAK_SECONDS, LT_SOAK_RATE, LT_SOAK_SAMPLE,
# LT_SOAK_TIMEOUT, LT_BENCH_KEEP=1 keeps the logs (samples.txt, faults.txt).
set -euo pipefail

src=$(cd "$(dirname "$0")/../../.." && pwd)
build=${LT_BUILD_DIR:-$src/build-release}
dur=${LT_SOAK_SECONDS:-600}
rate=${LT_SOAK_RATE:-40}
every=${LT_SOAK_SAMPLE:-5}
total_timeout=${LT_SOAK_TIMEOUT:-$((dur + 420))}
unit=08710            # Phường Liên Bảo in deploy/units/example-3tier.json
agency=000.02.22.H56  # its agency id: the prefix of its dossier codes
proc=2.000908         # commune level: the portal is the only destination

bench_name=soak
# shellcheck source=../lib.sh
. "$src/tests/bench/lib.sh"

# ---- build (before the watchdog) ----------------------------------------------
bench_build lienthong lt_push lt_simpeer
bin=$build/gateway/lienthong
push=$build/tests/lt_push
peer=$build/tests/lt_simpeer
command -v jq >/dev/null || die "jq is missing (deploy/install-deps.sh installs it)"
command -v curl >/dev/null || die "curl is missing (deploy/install-deps.sh installs it)"
command -v pg_autoctl >/dev/null || die "pg_autoctl is missing (deploy/install-deps.sh installs postgresql-15-auto-failover)"

gw_pid=
peer_pid=
push_pid=
sampler=
ready_sampler=
af_pids=()
# The gateway is killed and restarted: its PID changes, so the cleanup
# stops the current one rather than one bench_track knew. The cluster's
# supervisors go before their servers, or they would start them again.
bench_on_exit() {
  local p
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  [ -n "$ready_sampler" ] && kill "$ready_sampler" 2>/dev/null
  [ -n "$push_pid" ] && bench_stop "$push_pid"
  [ -n "$gw_pid" ] && bench_stop "$gw_pid"
  [ -n "$peer_pid" ] && bench_stop "$peer_pid"
  for p in "${af_pids[@]}"; do bench_stop "$p"; done
  pgaf_stop_all
}
bench_init soak "$total_timeout"
t0=$SECONDS
fault() { echo "$((SECONDS - t0)) $*" >>"$tmp/faults.txt"; log "t=$((SECONDS - t0))s: $*"; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the database: pg_auto_failover monitor, primary node1, standby node2 -----------
pgaf_as_pg() { as_pg "$@"; }
pgaf_track() { af_pids+=("$1"); }
# shellcheck source=../../lib/pgaf.sh
. "$src/tests/lib/pgaf.sh"
# shellcheck source=../../lib/acks.sh
. "$src/tests/lib/acks.sh"
pgaf_init "$tmp/af" "$pg_bin"
pgaf_pair_start || die "$PGAF_ERR"
[ "$(psql "$(pgaf_node_url node1)" -Atc "SHOW fsync")" = on ] || die "fsync is off"
pg_version=$(psql "$(pgaf_node_url node1)" -Atc "SHOW server_version")
dburl=$(pgaf_multihost_url lienthong node1 node2)
q() { psql "$dburl" -qAt -v ON_ERROR_STOP=1 -c "$1"; }
fault "cluster up: primary node1 :${PGAF_PORT[node1]}, synchronous standby node2 :${PGAF_PORT[node2]}"

# ---- fixture ----------------------------------------------------------------------
bench_fixture "$dburl" "$unit"

# ---- the portal simulator (keeps every record: the de-duplicated view) ------------
"$peer" --role portal --username cong --password matkhau --port-file "$tmp/peer.port" \
  --max-seconds "$((total_timeout + 60))" >"$tmp/peer.out" 2>"$tmp/peer.log" &
peer_pid=$!
for _ in $(seq 1 200); do [ -s "$tmp/peer.port" ] && break; sleep 0.1; done
[ -s "$tmp/peer.port" ] || die "the portal simulator did not start"
pport=$(jq -r .port "$tmp/peer.port")
cport=$(jq -r .control_port "$tmp/peer.port")
ctl() { curl -sf -m 10 -X POST "http://127.0.0.1:$cport/_control" -d "$1" >/dev/null || die "control $1"; }

# ---- the gateway ------------------------------------------------------------------
gw_n=0
port=0
gw_start() {
  gw_n=$((gw_n + 1))
  local log=$tmp/gw$gw_n.log
  : >"$log"
  env LIENTHONG_DATABASE_URL="$dburl" LIENTHONG_DATA_DIR="$tmp/gw-data" LIENTHONG_LIMITS_RATE=0 \
    LIENTHONG_HTTP_LISTEN="127.0.0.1:$port" LIENTHONG_ZMQ_INGRESS='tcp://127.0.0.1:*' \
    LIENTHONG_ZMQ_EVENTS='tcp://127.0.0.1:*' LIENTHONG_ZMQ_REPLAY='tcp://127.0.0.1:*' \
    LIENTHONG_PORTAL_URL="http://127.0.0.1:$pport" LIENTHONG_PORTAL_USERNAME=cong \
    LIENTHONG_PORTAL_PASSWORD=matkhau LIENTHONG_PORTAL_AGENCY=000.00.00.H56 \
    LIENTHONG_PORTAL_TIMEOUT=5s LIENTHONG_DATABASE_HEALTH_INTERVAL=200ms \
    LIENTHONG_DATABASE_CONNECT_TIMEOUT=2s "$bin" serve >>"$log" 2>&1 &
  gw_pid=$!
  echo "$gw_pid" >"$tmp/gw.pid"
  for _ in $(seq 1 600); do
    grep -q '"http_listen"' "$log" && break
    kill -0 "$gw_pid" 2>/dev/null || die "the gateway exited (see $log)"
    sleep 0.1
  done
  grep -q '"http_listen"' "$log" || die "the gateway did not listen (see $log)"
  # The first start takes a free port; a restart binds the same one, so
  # that the senders find it again.
  port=$(grep -o '"port":[0-9]*' "$log" | head -1 | cut -d: -f2)
  for _ in $(seq 1 600); do
    [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)" = 200 ] && return 0
    kill -0 "$gw_pid" 2>/dev/null || die "the gateway exited (see $log)"
    sleep 0.1
  done
  die "the gateway did not become ready (see $log)"
}
gw_start
log "PostgreSQL $pg_version (fsync on, pg_auto_failover); gateway pid $gw_pid on port $port; portal simulator on $pport"

# ---- the sampler: seconds, pid, VmRSS KiB, open descriptors ------------------------
bash -c 'while :; do
    p=$(cat "$1/gw.pid" 2>/dev/null) || p=
    if [ -n "$p" ] && [ -r "/proc/$p/status" ]; then
      r=$(awk '"'"'$1 == "VmRSS:" { print $2 }'"'"' "/proc/$p/status" 2>/dev/null)
      f=$(ls "/proc/$p/fd" 2>/dev/null | wc -l)
      [ -n "$r" ] && [ "$f" -gt 0 ] && echo "$(($(date +%s) - $2)) $p $r $f"
    fi
    sleep "$3"
  done' sampler "$tmp" "$(date +%s)" "$every" >"$tmp/samples.txt" 2>/dev/null &
sampler=$!
# Readiness as a load balancer sees it: "seconds status retry-after".
bash -c 'while :; do
    curl -s -m 2 -o /dev/null -D - "$1" 2>/dev/null | tr -d "\r" |
      awk -v t=$(($(date +%s) - $2)) '"'"'NR == 1 { s = $2 } tolower($1) == "retry-after:" { r = $2 }
        END { print t, (s == "" ? "none" : s), (r == "" ? "-" : r) }'"'"'
    sleep 0.2
  done' ready "http://127.0.0.1:$port/readyz" "$(date +%s)" >"$tmp/readyz.txt" 2>/dev/null &
ready_sampler=$!

# ---- load -------------------------------------------------------------------------
: >"$tmp/acks.txt"
"$push" --http "http://127.0.0.1:$port" --token "$token" --unit-agency "$agency" --procedure "$proc" \
  --senders 4 --batch 5 --rate "$rate" --seconds "$dur" --deadline "$((dur + 120))" --retry \
  --timeout-ms 10000 --run-id 7 --seed 7 --ack-log "$tmp/acks.txt" --json \
  >"$tmp/push.json" 2>"$tmp/push.log" &
push_pid=$!
load_t0=$SECONDS
fault "load started"

# ---- the fault schedule -------------------------------------------------------------
at() { # FRACTION: sleeps until that point of the load (not of the set-up)
  local due
  due=$(awk -v d="$dur" -v f="$1" 'BEGIN { printf "%d", d * f }')
  while [ $((SECONDS - load_t0)) -lt "$due" ]; do
    kill -0 "$push_pid" 2>/dev/null || die "lt_push ended early (see $tmp/push.log)"
    sleep 1
  done
}
outage=60
[ $((dur / 10)) -lt $outage ] && outage=$((dur / 10))
ready_again() { # WHAT
  for _ in $(seq 1 600); do
    [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)" = 200 ] &&
      { fault "gateway ready again after $1"; return 0; }
    sleep 0.1
  done
  fault "gateway NOT ready 60 s after $1"
}

at 0.15
fault "gateway $gw_pid: SIGKILL ($(wc -l <"$tmp/acks.txt") acknowledged so far)"
kill -KILL "$gw_pid"
wait "$gw_pid" 2>/dev/null || true
gw_start
survivor=$gw_pid
fault "gateway restarted as $gw_pid, ready"

at 0.30
ctl '{"down": true}'
fault "portal down for ${outage}s"
sleep "$outage"
ctl '{"down": false}'
fault "portal up"

at 0.50
fault "PostgreSQL primary node1: pg_ctl restart -m fast"
as_pg "$pg_bin/pg_ctl" -D "$tmp/af/node1" -m fast -w -t 60 restart >"$tmp/pg-restart.log" 2>&1 ||
  die "PostgreSQL did not restart (see $tmp/pg-restart.log)"
fault "node1 up again (postmaster $(head -1 "$tmp/af/node1/postmaster.pid")), $(pgaf_state node1)"
ready_again "the database restart"

at 0.70
fault "failover: primary node1 lost (pg_autoctl stop --immediate), $(wc -l <"$tmp/acks.txt") acknowledged so far"
pgaf_node_kill node1 || die "pg_autoctl stop --immediate node1"
pgaf_wait 60 eval '[ "$(pgaf_state node2)" = wait_primary ] || [ "$(pgaf_state node2)" = primary ]' ||
  die "node2 was not promoted ($(pgaf_state node2))"
fault "node2 promoted ($(pgaf_state node2))"
ready_again "the failover"
pgaf_node_rerun node1
pgaf_wait_pair 120 node2 node1 || die "node1 did not rejoin as a standby (see $tmp/af/node1.log)"
fault "node1 rejoined as the synchronous standby of node2"

push_rc=0
wait "$push_pid" || push_rc=$?
push_pid=
fault "load ended (lt_push exit $push_rc)"

# ---- drain, bounded -------------------------------------------------------------------
routed() { [ "$(q "SELECT last_seq FROM delivery_router")" = "$(q "SELECT coalesce(max(seq), 0) FROM dossier_events")" ]; }
open_rows() { q "SELECT count(*) FROM outbox WHERE state IN ('pending', 'inflight', 'retrying')"; }
drained=0
for _ in $(seq 1 300); do
  if routed && [ "$(open_rows)" = 0 ]; then drained=1; break; fi
  sleep 1
done
fault "drain: $([ $drained = 1 ] && echo done || echo "NOT done, $(open_rows) open rows")"
sleep "$every" # one more sample after the drain
kill "$sampler" "$ready_sampler" 2>/dev/null || true
sampler=
ready_sampler=

# ---- checks ---------------------------------------------------------------------------
fails=()
check() { # WHAT EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then log "ok: $1 ($3)"; else fails+=("$1: expected $2, got $3"); log "FAILED: $1: expected $2, got $3"; fi
}
check "lt_push finished before its deadline" 0 "$push_rc"
check "outbox drained" 1 "$drained"
lt_acks_counts "$dburl" "$tmp/acks.txt" >"$tmp/acks-check.txt" || die "ack check query"
for c in missing acked_twice gap counter; do
  check "acknowledged records: $c" 0 "$(grep "^$c|" "$tmp/acks-check.txt" | cut -d'|' -f2)"
done
acked=$(wc -l <"$tmp/acks.txt")
accepted=$(jq -r .results.accepted "$tmp/push.json")
dupl=$(jq -r .results.duplicate "$tmp/push.json")
unack=$(jq -r '.unacknowledged // 0' "$tmp/push.json")
stored=$(q "SELECT count(*) FROM dossier_events WHERE kind = 'dossier'")
dossiers=$(q "SELECT count(*) FROM dossiers")
check "ack log lines = accepted answers" "$accepted" "$acked"
check "one dossier per stored event" "$stored" "$dossiers"
# A record whose answer was lost (the kill, the restart) was committed and
# is answered `duplicate` when resent; nothing else may be stored.
check "stored = acknowledged + answered duplicate" "$((acked + dupl))" "$stored"
check "dead letters" 0 "$(q "SELECT count(*) FROM outbox WHERE state = 'dead'")"
lt_stored_keys "$dburl" >"$tmp/stored.txt"
curl -sf -m 120 "http://127.0.0.1:$cport/_records" >"$tmp/records.json" || die "cannot read the portal's records"
lt_portal_keys "$tmp/records.json" >"$tmp/portal.txt"
delivered=$(wc -l <"$tmp/portal.txt")
repeats=$(jq '[.records[] | select(.duplicate == true)] | length' "$tmp/records.json")
check "events twice in the portal's de-duplicated view" 0 "$(uniq -d "$tmp/portal.txt" | wc -l)"
check "stored events missing at the portal" 0 "$(comm -23 "$tmp/stored.txt" "$tmp/portal.txt" | wc -l)"
check "portal records no stored event explains" 0 "$(comm -13 "$tmp/stored.txt" "$tmp/portal.txt" | wc -l)"
lt_acked_keys "$tmp/acks.txt" >"$tmp/acked.txt"
check "acknowledged records not delivered" 0 "$(comm -23 "$tmp/acked.txt" "$tmp/portal.txt" | wc -l)"

# ---- RSS and descriptors, per gateway process ------------------------------------------
# Per process: the first sample 10 s after its start (start-up allocations
# and the first connections settled), the last, the max.
series() { # PID COLUMN(3 rss KiB, 4 fds) -> "first / last / max"
  awk -v p="$1" -v c="$2" '$2 == p { n++; v[n] = $c; t[n] = $1 }
    END { s = 1; while (s < n && t[s] - t[1] < 10) s++
          m = 0; for (i = s; i <= n; i++) if (v[i] > m) m = v[i]
          if (c == 3) printf "%.1f / %.1f / %.1f", v[s] / 1024, v[n] / 1024, m / 1024
          else printf "%d / %d / %d", v[s], v[n], m }' "$tmp/samples.txt"
}
span() { awk -v p="$1" '$2 == p { if (!a) a = $1; b = $1; n++ } END { printf "%d–%d s (%d samples)", a, b, n }' "$tmp/samples.txt"; }
mapfile -t pids < <(awk '!seen[$2]++ { print $2 }' "$tmp/samples.txt")
# The gateway started after the SIGKILL lived through the database restart
# and the failover: the same process to the end, reconnecting by itself.
alive=0
kill -0 "$survivor" 2>/dev/null && alive=1
check "the gateway started after the SIGKILL is alive at the end" 1 "$alive"
check "gateway processes sampled (the first, the one after the SIGKILL)" "2 $survivor" "${#pids[@]} ${pids[-1]}"
# Flat: the survivor's last sample against its first (10 s after start);
# the bounds leave room for allocator noise and curl's connection cache,
# not for a leak over the ~500 s it ran.
rss_growth=$(awk -v p="$survivor" '$2 == p { n++; v[n] = $3; t[n] = $1 }
  END { s = 1; while (s < n && t[s] - t[1] < 10) s++; printf "%d", (v[n] - v[s]) * 100 / v[s] }' "$tmp/samples.txt")
fd_growth=$(awk -v p="$survivor" '$2 == p { n++; v[n] = $4; t[n] = $1 }
  END { s = 1; while (s < n && t[s] - t[1] < 10) s++; print v[n] - v[s] }' "$tmp/samples.txt")
check "RSS growth of the survivor within 25 %" 1 "$([ "$rss_growth" -le 25 ] && echo 1 || echo "0 ($rss_growth %)")"
check "descriptor growth of the survivor within 8" 1 "$([ "$fd_growth" -le 8 ] && echo 1 || echo "0 ($fd_growth)")"
# Readiness: a 503 always carries Retry-After; nothing but 200 and 503
# (and no answer while the killed gateway was down).
check "503 from /readyz without Retry-After" 0 "$(awk '$2 == 503 && $3 == "-"' "$tmp/readyz.txt" | wc -l)"
check "/readyz answers other than 200 and 503" 0 "$(awk '$2 != 200 && $2 != 503 && $2 != "none"' "$tmp/readyz.txt" | wc -l)"
not_ready=$(awk '$2 == 503 { n++ } END { printf "%.1f", n * 0.2 }' "$tmp/readyz.txt")
no_answer=$(awk '$2 == "none" { n++ } END { printf "%.1f", n * 0.2 }' "$tmp/readyz.txt")
check "push answers other than 200 and 503" "[]" "$(jq -c '.http_status | keys - ["200", "503"]' "$tmp/push.json")"

cat <<EOF

Soak: ${dur} s of ingest at ${rate} records/s over HTTP (lt_push, 4 senders x 5 records, --retry),
one gateway, PostgreSQL $pg_version (fsync on) as a pg_auto_failover primary and synchronous
standby, $(nproc) CPUs, build $build_type, $(date +%F);
load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg).

| t (s) | event |
| ---: | --- |
EOF
while read -r t what; do echo "| $t | $what |"; done <"$tmp/faults.txt"
cat <<EOF

| check | value |
| --- | --- |
| records acknowledged (accepted, ack log) | $acked |
| answered \`duplicate\` (resent after a lost answer) | $dupl |
| left unacknowledged by lt_push | $unack |
| stored (dossier events) | $stored |
| delivered to the portal, de-duplicated by Idempotency-Key | $delivered |
| repeat deliveries the portal de-duplicated | $repeats |
| lt_push: HTTP statuses, transport errors, retries | $(jq -c '.http_status' "$tmp/push.json"), $(jq -r '.transport_errors // 0' "$tmp/push.json"), $(jq -r '.retries // 0' "$tmp/push.json") |
| /readyz (every 0.2 s): 503 with Retry-After / no answer | ${not_ready} s / ${no_answer} s |
| survivor's growth: RSS / descriptors | ${rss_growth} % / ${fd_growth} |
| every check passed (acknowledged == stored once == delivered, flat, ready) | $([ ${#fails[@]} = 0 ] && echo yes || echo "**NO**") |

| gateway process | sampled | RSS MiB first / last / max | open fds first / last / max |
| --- | --- | --- | --- |
EOF
for p in "${pids[@]}"; do echo "| $p | $(span "$p") | $(series "$p" 3) | $(series "$p" 4) |"; done
echo
echo "Samples every ${every} s; \"first\" is the first sample 10 s or more after the process started."
if [ ${#fails[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${fails[@]}"
  LT_BENCH_KEEP=1
  exit 1
fi
