#!/usr/bin/env bash
# deploy/quickstart.sh --serve (the demo without its simulators) builds and runs the
# gateway on its embedded database; /healthz and /readyz answer 200; SIGINT
# stops it and its PostgreSQL, leaving no process.
source "$(dirname "$0")/lib.sh"

data="$LT_TMP/qs"
log="$LT_TMP/qs.log"
LIENTHONG_DATA_DIR="$data" LIENTHONG_HTTP_LISTEN=127.0.0.1:0 LIENTHONG_ZMQ_EVENTS="tcp://127.0.0.1:*" \
  LIENTHONG_ZMQ_REPLAY="tcp://127.0.0.1:*" LIENTHONG_ZMQ_INGRESS="tcp://127.0.0.1:*" \
  "$LT_SOURCE_DIR/deploy/quickstart.sh" --serve >"$log" 2>&1 &
pid=$!
LT_PIDS+=("$pid")
LT_GW_PID[qs]=$pid
# Up, or gone: a failed build must fail the test at once, not at the limit.
up_or_gone() { grep -q '"http_listen"' "$log" || ! kill -0 "$pid" 2>/dev/null; }
lt_wait 200 up_or_gone || lt_fail "quickstart did not bring the gateway up"
grep -q '"http_listen"' "$log" || lt_fail "quickstart exited before the gateway listened"
LT_GW_PORT[qs]=$(grep -o '"port":[0-9]*' "$log" | head -1 | cut -d: -f2)
lt_wait 60 status_is qs /readyz 200 || lt_fail "quickstart gateway not ready"
lt_assert_eq 200 "$(lt_status qs /healthz)" "healthz"
lt_gw_stop qs INT # quickstart execs the gateway: same PID
lt_wait 10 lt_no_process_with "$data/pg" || lt_fail "PostgreSQL left running"
lt_log "ok"
