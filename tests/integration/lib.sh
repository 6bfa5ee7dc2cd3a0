# Integration harness: sourced by every tests/integration/t_*.sh.
#
# Starts real processes on loopback: a throwaway PostgreSQL (as the postgres
# user when run as root, on a Unix socket in a private directory, so no port
# can collide) and the real lienthong binary (HTTP on port 0; the port is read
# from its log). Every process started is recorded by PID and stopped on exit,
# whether the test passed, failed or hit its time limit.
#
# Environment (set by ctest): LIENTHONG_BIN, LT_SOURCE_DIR, LT_BUILD_DIR.
set -euo pipefail

LT_TEST_NAME=$(basename "$0" .sh)
LT_TEST_TIMEOUT=${LT_TEST_TIMEOUT:-240}
LIENTHONG_BIN=${LIENTHONG_BIN:?LIENTHONG_BIN must name the lienthong binary}
LT_PG_BIN=${LT_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

# Short path: Unix socket addresses hold ~107 bytes.
LT_TMP=$(mktemp -d /tmp/lt-it.XXXXXX)
chmod 755 "$LT_TMP"
LT_PIDS=()
LT_PG_DIRS=()
LT_FAILED=0
# shellcheck source=../lib/acks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/acks.sh"

lt_log() { printf '[%s %s] %s\n' "$(date +%T)" "$LT_TEST_NAME" "$*" >&2; }

lt_fail() {
  lt_log "FAIL: $*"
  LT_FAILED=1
  exit 1
}

# Runs a command as the PostgreSQL user when we are root.
lt_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

lt_cleanup() {
  local rc=$?
  set +e
  trap - EXIT TERM INT
  [ -n "${LT_WATCHDOG:-}" ] && kill "$LT_WATCHDOG" 2>/dev/null
  for pid in "${LT_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${LT_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  # PostgreSQL servers: ours and any embedded one a gateway left behind.
  for d in "${LT_PG_DIRS[@]}" $(find "$LT_TMP" -name postmaster.pid -printf '%h\n' 2>/dev/null); do
    local pm
    pm=$(head -1 "$d/postmaster.pid" 2>/dev/null)
    [ -n "$pm" ] && kill -QUIT "$pm" 2>/dev/null
  done
  if [ $rc -ne 0 ] || [ $LT_FAILED -ne 0 ]; then
    lt_log "logs kept in $LT_TMP"
    for f in "$LT_TMP"/*.log "$LT_TMP"/*/*.log; do
      [ -f "$f" ] || continue
      echo "----- $f (last 40 lines)" >&2
      tail -n 40 "$f" >&2
    done
  else
    rm -rf "$LT_TMP"
  fi
  exit $rc
}
trap lt_cleanup EXIT
trap 'lt_log "time limit of ${LT_TEST_TIMEOUT}s reached"; exit 124' TERM INT
# The watchdog holds none of our output descriptors (a reader of our output
# would wait for it) and takes its sleep along when it is killed.
bash -c 'sleep "$1" & s=$!; trap "kill $s; exit 0" TERM; wait $s; kill -TERM "$2"' \
  watchdog "$LT_TEST_TIMEOUT" $$ </dev/null >/dev/null 2>&1 &
LT_WATCHDOG=$!

# lt_wait SECONDS CMD...: polls CMD every 0.1 s until it succeeds; fails after SECONDS.
lt_wait() {
  local limit=$1; shift
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.1
  done
}

lt_assert_eq() { # expected actual what
  [ "$1" = "$2" ] || lt_fail "$3: expected [$1], got [$2]"
}

lt_assert_contains() { # haystack needle what
  case "$1" in *"$2"*) ;; *) lt_fail "$3: [$2] not found in [$1]" ;; esac
}

# ---- a throwaway PostgreSQL for database.url tests --------------------------
# lt_pg_start NAME: initdb (first time) and start; sets LT_PG_URL.
lt_pg_start() {
  local name=$1 dir="$LT_TMP/$1"
  if [ ! -d "$dir/data" ]; then
    mkdir -p "$dir/sock"
    [ "$(id -u)" -eq 0 ] && chown -R postgres "$dir"
    lt_as_pg "$LT_PG_BIN/initdb" -D "$dir/data" -U lienthong --auth=trust -E UTF8 \
      --locale=C.UTF-8 --no-instructions >"$LT_TMP/$name-initdb.log" 2>&1 ||
      lt_fail "initdb failed"
    LT_PG_DIRS+=("$dir/data")
  fi
  lt_as_pg "$LT_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
    -o "-c listen_addresses= -k $dir/sock -c fsync=off" start >/dev/null ||
    lt_fail "PostgreSQL $name did not start"
  psql "host=$dir/sock user=lienthong dbname=postgres" -qAtc \
    "SELECT 1 FROM pg_database WHERE datname='lienthong'" | grep -q 1 ||
    psql "host=$dir/sock user=lienthong dbname=postgres" -qc "CREATE DATABASE lienthong"
  LT_PG_URL="postgresql:///lienthong?host=$dir/sock&user=lienthong"
  export LT_PG_URL
}

lt_pg_stop() { # NAME [mode]
  lt_as_pg "$LT_PG_BIN/pg_ctl" -D "$LT_TMP/$1/data" -m "${2:-fast}" -w stop >/dev/null
}

lt_psql() { # URL SQL: prints unaligned tuples
  psql "$1" -qAt -v ON_ERROR_STOP=1 -c "$2"
}

# ---- the gateway -------------------------------------------------------------
# lt_gw_start NAME [VAR=value ...] [-- ARGS]: starts `lienthong serve` with the given
# environment, HTTP on a free port and the ZeroMQ endpoints on free ports
# (tcp://127.0.0.1:*, so parallel tests never meet on the fixed defaults);
# waits until it listens. Sets LT_GW_PID[NAME], LT_GW_PORT[NAME] and, when the
# bus bound them, LT_GW_EVENTS[NAME] / LT_GW_REPLAY[NAME] / LT_GW_INGRESS[NAME] (the bound
# endpoints); the log is $LT_TMP/NAME.log.
declare -A LT_GW_PID LT_GW_PORT LT_GW_EVENTS LT_GW_REPLAY LT_GW_INGRESS
# Arguments: NAME [VAR=value ...] [-- serve arguments ...]
lt_gw_spawn() {
  local name=$1; shift
  local log="$LT_TMP/$name.log"
  local -a envs=() args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  args=("$@")
  : >"$log"
  env LIENTHONG_HTTP_LISTEN=127.0.0.1:0 LIENTHONG_DATA_DIR="$LT_TMP/$name-data" \
    LIENTHONG_ZMQ_EVENTS='tcp://127.0.0.1:*' LIENTHONG_ZMQ_REPLAY='tcp://127.0.0.1:*' \
    LIENTHONG_ZMQ_INGRESS='tcp://127.0.0.1:*' "${envs[@]}" \
    "$LIENTHONG_BIN" serve "${args[@]}" >>"$log" 2>&1 &
  LT_PIDS+=("$!")
  LT_GW_PID[$name]=$!
}

# lt_gw_listening NAME: waits until the gateway logs its HTTP port.
lt_gw_listening() {
  local log="$LT_TMP/$1.log"
  lt_wait 90 grep -q '"http_listen"' "$log" || lt_fail "gateway $1 did not start listening"
  LT_GW_PORT[$1]=$(grep -o '"port":[0-9]*' "$log" | head -1 | cut -d: -f2)
  # The bus starts before HTTP, so its endpoints are logged by now.
  LT_GW_EVENTS[$1]=$(grep -o '"zmq_events":"[^"]*"' "$log" | head -1 | cut -d'"' -f4)
  LT_GW_REPLAY[$1]=$(grep -o '"zmq_replay":"[^"]*"' "$log" | head -1 | cut -d'"' -f4)
  # The ingress binds after HTTP: wait for its line too.
  lt_wait 30 grep -q '"zmq_ingress"' "$log" || lt_fail "gateway $1 did not bind zmq.ingress"
  LT_GW_INGRESS[$1]=$(grep -o '"zmq_ingress":"[^"]*"' "$log" | head -1 | cut -d'"' -f4)
}

lt_gw_start() {
  lt_gw_spawn "$@"
  lt_gw_listening "$1"
}

# lt_gw_stop NAME [SIGNAL]: signals the gateway and waits (bounded) for it to
# exit; fails unless it exits 0. Sanitizer reports fail the test too.
lt_gw_stop() {
  local name=$1 sig=${2:-INT} pid=${LT_GW_PID[$1]} rc=0
  kill -"$sig" "$pid"
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && lt_fail "gateway $name did not stop within 60 s"
    sleep 0.1
  done
  wait "$pid" || rc=$?
  lt_check_sanitizer "$LT_TMP/$name.log"
  [ "$rc" -eq 0 ] || lt_fail "gateway $name exited with $rc after SIG$sig"
}

lt_check_sanitizer() {
  if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$1"; then
    lt_fail "sanitizer report in $1"
  fi
}

lt_url() { echo "http://127.0.0.1:${LT_GW_PORT[$1]}$2"; }

# lt_http NAME PATH [curl args]: prints "STATUS BODY".
lt_http() {
  local name=$1 path=$2; shift 2
  local out status
  : >"$LT_TMP/body" # no file is written for an answer without a body
  out=$(curl -s -m 10 -o "$LT_TMP/body" -w '%{http_code}' "$@" "$(lt_url "$name" "$path")") || true
  status=$out
  echo "$status $(cat "$LT_TMP/body" 2>/dev/null)"
}

lt_status() { lt_http "$@" | cut -d' ' -f1; }

# status_is NAME PATH CODE: true when PATH answers CODE (for lt_wait).
status_is() { [ "$(lt_status "$1" "$2")" = "$3" ]; }

# Whether any process still runs with ARG in its command line.
lt_no_process_with() { ! pgrep -f -- "$1" >/dev/null; }

# ---- the simulated peers (tests/sim lt_simpeer) ---------------------------------
# lt_sim_start NAME ROLE [ARGS]: starts lt_simpeer ($LT_SIMPEER) as ROLE on
# loopback with ARGS; its port file, log, stdout and stderr are
# $LT_TMP/NAME.{port,log,out,err}; it exits by itself after the test's time
# limit (ARGS may give a shorter --max-seconds). Waits for the port file and
# sets LT_SIM_PID[NAME], LT_SIM_PORT[NAME] (the service) and LT_SIM_CTL[NAME]
# (the control port); the cleanup stops it by PID.
declare -A LT_SIM_PID LT_SIM_PORT LT_SIM_CTL
lt_sim_start() {
  local name=$1 role=$2; shift 2
  "${LT_SIMPEER:?LT_SIMPEER must name tests/sim lt_simpeer}" --role "$role" \
    --port-file "$LT_TMP/$name.port" --log "$LT_TMP/$name.log" --max-seconds "$LT_TEST_TIMEOUT" \
    "$@" >"$LT_TMP/$name.out" 2>"$LT_TMP/$name.err" &
  LT_PIDS+=("$!")
  LT_SIM_PID[$name]=$!
  lt_wait 20 test -s "$LT_TMP/$name.port" || lt_fail "the $role simulator $name did not start"
  LT_SIM_PORT[$name]=$(jq -r .port "$LT_TMP/$name.port")
  LT_SIM_CTL[$name]=$(jq -r .control_port "$LT_TMP/$name.port")
}

# lt_portal_sim_start NAME [ARGS]: the provincial portal, with the login the
# tests give the gateway; LT_PORTAL_ENV holds the gateway's settings to reach
# it (URL, that login, an agency, a 5 s timeout) for lt_gw_start.
lt_portal_sim_start() {
  local name=$1; shift
  lt_sim_start "$name" portal --username cong --password matkhau "$@"
  LT_PORTAL_ENV=(LIENTHONG_PORTAL_URL="http://127.0.0.1:${LT_SIM_PORT[$name]}"
    LIENTHONG_PORTAL_USERNAME=cong LIENTHONG_PORTAL_PASSWORD=matkhau
    LIENTHONG_PORTAL_AGENCY=000.00.00.H56 LIENTHONG_PORTAL_TIMEOUT=5s)
}

# lt_sim_control NAME JSON: a control command (fault switches, clear) that
# must be taken.
lt_sim_control() {
  curl -sf -m 5 -X POST "http://127.0.0.1:${LT_SIM_CTL[$1]}/_control" -d "$2" >/dev/null ||
    lt_fail "control $2 on simulator $1"
}

# lt_sim_view NAME PATH [SECONDS]: what the simulator reports (/_received,
# /_dedup, /_stats...), within SECONDS (default 10).
lt_sim_view() { curl -sf -m "${3:-10}" "http://127.0.0.1:${LT_SIM_CTL[$1]}$2"; }

# ---- ingest fixtures ---------------------------------------------------------
# lt_ingest_fixture: on $LT_PG_URL (exported as LIENTHONG_DATABASE_URL),
# migrates, imports the example three-tier unit tree (UNITS_FILE overrides
# it) and syncs a small catalog: 2.000908 and 1.003560.000.00.00.H56 and
# 1.001612.000.00.00.H56 (commune level), 1.001193 (district level), all
# published, and 1.009999 abolished. Sets LT_PARENT_TOKEN (district 244,
# agency 000.00.06.H56, role parent) and LT_OPERATOR_TOKEN.
lt_ingest_fixture() {
  export LIENTHONG_DATABASE_URL=$LT_PG_URL
  "$LIENTHONG_BIN" migrate >/dev/null 2>&1 || lt_fail "migrate"
  "$LIENTHONG_BIN" units import "${UNITS_FILE:-$LT_SOURCE_DIR/deploy/units/example-3tier.json}" \
    >/dev/null || lt_fail "units import"
  cat >"$LT_TMP/fixture-catalog.json" <<'JSON'
[
 {"MATTHC": "2.000908", "TENTTHC": "Cấp bản sao trích lục hộ tịch", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}]},
 {"MATTHC": "1.001193", "TENTTHC": "Đăng ký khai sinh", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "2"}]},
 {"MATTHC": "1.003560.000.00.00.H56", "TENTTHC": "Đăng ký kết hôn", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}]},
 {"MATTHC": "1.001612.000.00.00.H56", "TENTTHC": "Chứng thực chữ ký", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}]},
 {"MATTHC": "1.009999", "TENTTHC": "Thủ tục đã bãi bỏ", "TRANGTHAI": "0", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}]}
]
JSON
  "$LIENTHONG_BIN" catalog sync --file "$LT_TMP/fixture-catalog.json" >/dev/null 2>&1 ||
    lt_fail "catalog sync"
  LT_PARENT_TOKEN=$("$LIENTHONG_BIN" token create --unit 244 --role parent | tail -n 1)
  LT_OPERATOR_TOKEN=$("$LIENTHONG_BIN" token create --role operator | tail -n 1)
}

# lt_acks_stored ACK_LOG: checks that every "MaHoSo sequence" line of an
# lt_push ack log names a stored event of that dossier exactly once, and
# that the event sequence has no gap.
lt_acks_stored() {
  lt_acks_counts "$LT_PG_URL" "$1" >"$LT_TMP/acks-check.txt" || lt_fail "ack check query"
  local check
  for check in missing acked_twice gap counter; do
    lt_assert_eq "$check|0" "$(grep "^$check|" "$LT_TMP/acks-check.txt")" "acknowledged records: $check"
  done
}

# ---- answers held to the contract ----------------------------------------------
# lt_http_save NAME PATH [curl args]: lt_http that also keeps the answer. When
# LT_ANSWERS_DIR is set, writes {method, path, status, headers, body} there
# (one file per call, named in call order) for lt_answers_check; the body is
# kept as the text that came, so a body that is not JSON is caught too. The
# response headers stay in $LT_TMP/headers (lower-case names) for the caller.
lt_http_save() {
  local name=$1 path=$2; shift 2
  local out status method file
  # curl writes no file for an answer without a body (204, 304): without
  # this the previous answer's body would be taken for this one's.
  : >"$LT_TMP/body"
  out=$(curl -s -m 10 -o "$LT_TMP/body" -D "$LT_TMP/headers.raw" -w '%{http_code} %{method}' \
    "$@" "$(lt_url "$name" "$path")") || true
  status=${out%% *} method=${out#* }
  tr -d '\r' <"$LT_TMP/headers.raw" | sed -n 's/^\([^:]*\):[[:space:]]*\(.*\)$/\L\1\E: \2/p' \
    >"$LT_TMP/headers"
  if [ -n "${LT_ANSWERS_DIR:-}" ]; then
    mkdir -p "$LT_ANSWERS_DIR"
    # Called in $(...) subshells: a counter would not survive, the clock does.
    file="$LT_ANSWERS_DIR/$(date +%s%N)-$BASHPID.json"
    jq -n --arg method "$method" --arg path "$path" --argjson status "${status:-0}" \
      --rawfile body "$LT_TMP/body" --rawfile headers "$LT_TMP/headers" \
      '{method: $method, path: $path, status: $status, body: $body,
        headers: ([$headers | split("\n")[] | select(contains(": "))
                   | {key: .[: index(": ")], value: .[index(": ") + 2:]}] | from_entries)}' \
      >"$file" || lt_fail "cannot save the answer to $method $path"
  fi
  echo "$status $(cat "$LT_TMP/body" 2>/dev/null)"
}

# lt_answers_check: validates every answer saved in LT_ANSWERS_DIR against
# schemas/openapi.yaml (tests/schema/validate-answers.js: the operation of
# its path and method, the response of its status, required headers, the
# body's schema). Fails the test naming each file and error; an answer the
# contract does not describe fails too, and so does an empty directory.
lt_answers_check() {
  [ -n "${LT_ANSWERS_DIR:-}" ] || lt_fail "lt_answers_check: LT_ANSWERS_DIR is not set"
  # shellcheck source=../schema/modules.sh
  source "$LT_SOURCE_DIR/tests/schema/modules.sh"
  lt_schema_modules || lt_fail "the schema tools (tests/schema/node_modules) cannot be installed"
  node "$LT_SOURCE_DIR/tests/schema/validate-answers.js" "$LT_SOURCE_DIR/schemas/openapi.yaml" \
    "$LT_ANSWERS_DIR" >&2 || lt_fail "answers that schemas/openapi.yaml does not describe (above)"
}
