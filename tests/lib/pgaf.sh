# shellcheck shell=bash
# PostgreSQL high availability by pg_auto_failover (Debian
# postgresql-15-auto-failover) for the tests and the soak: a monitor and
# PostgreSQL nodes on loopback ports and private directories, run as the
# postgres user. Shared by tests/integration/t_failover.sh and
# tests/bench/soak/run.sh, which drive the same cluster through different
# faults.
#
# The caller defines, before pgaf_init:
#   pgaf_as_pg CMD...   runs CMD as the PostgreSQL user;
#   pgaf_track PID      registers PID with its clean-up (TERM, then KILL).
# and calls pgaf_stop_all from its clean-up: the nodes' servers are stopped
# by the PID in their postmaster.pid, whatever became of their keeper.
#
# Tricks, each needed for a cluster that moves in seconds, not minutes:
#   - the monitor's health checks are tightened (defaults: unhealthy after
#     20 s, demote timeout 30 s);
#   - pg_basebackup waits for a spread checkpoint on the primary (minutes
#     when idle): pgaf_wait_secondary asks for one now and then;
#   - the monitor URL is given explicitly: pg_autoctl's own guess uses the
#     machine's hostname, not loopback.

# pgaf_init DIR PG_BIN: private XDG directories under DIR.
pgaf_init() {
  PGAF_DIR=$1
  PGAF_PG_BIN=$2
  mkdir -p "$PGAF_DIR"/{config,data,run}
  [ "$(id -u)" -eq 0 ] && chown -R postgres "$PGAF_DIR"
  declare -gA PGAF_PID=() PGAF_PORT=()
  PGAF_NODES=()
}

# pg_autoctl keeps its configuration, state and PID files under the XDG
# directories: private ones, so that nothing of the machine's is touched.
pgaf_env() {
  pgaf_as_pg env HOME="$PGAF_DIR" XDG_CONFIG_HOME="$PGAF_DIR/config" XDG_DATA_HOME="$PGAF_DIR/data" \
    XDG_RUNTIME_DIR="$PGAF_DIR/run" PG_CONFIG="$PGAF_PG_BIN/pg_config" "$@"
}
pgaf_ctl() { pgaf_env pg_autoctl "$@"; }

# pgaf_wait SECONDS CMD...: polls CMD every 0.2 s until it succeeds.
pgaf_wait() {
  local end=$((SECONDS + $1))
  shift
  while [ $SECONDS -lt $end ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

# A loopback port nothing answers on and no node of ours has taken, below
# the ephemeral range (32768 up on Linux): a client connection's local port
# there does not answer, yet makes the server's bind fail.
pgaf_free_port() {
  local p taken q
  while :; do
    p=$((16000 + RANDOM % 16000))
    taken=0
    for q in "${PGAF_PORT[@]}"; do [ "$q" = "$p" ] && taken=1; done
    [ $taken = 0 ] || continue
    (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
  done
}

# pgaf_run NAME ARGS...: `pg_autoctl ARGS` in the background (a node's
# supervisor of its keeper and PostgreSQL), output appended to NAME.log.
pgaf_run() {
  local name=$1
  shift
  pgaf_env bash -c 'pg_autoctl "$@" >>"$0" 2>&1 & echo $!' "$PGAF_DIR/$name.log" "$@" >"$PGAF_DIR/$name.pid"
  PGAF_PID[$name]=$(cat "$PGAF_DIR/$name.pid")
  pgaf_track "${PGAF_PID[$name]}"
}

# pgaf_monitor_start: the monitor, tuned; sets PGAF_MONITOR_URL.
pgaf_monitor_start() {
  local port
  port=$(pgaf_free_port)
  PGAF_PORT[monitor]=$port
  pgaf_run monitor create monitor --pgctl "$PGAF_PG_BIN/pg_ctl" --pgdata "$PGAF_DIR/monitor" \
    --pgport "$port" --listen 127.0.0.1 --hostname 127.0.0.1 --auth trust --no-ssl --run
  PGAF_MONITOR_URL="postgres://autoctl_node@127.0.0.1:$port/pg_auto_failover?sslmode=disable"
  pgaf_wait 60 psql "$PGAF_MONITOR_URL" -Atc "SELECT 1" || return 1
  # Failure detection in seconds: health checks every second, a node
  # unhealthy after 3 s without an answer, a demotion timeout of 3 s.
  psql "postgresql://postgres@127.0.0.1:$port/pg_auto_failover?sslmode=disable" -q -v ON_ERROR_STOP=1 \
    -c "ALTER SYSTEM SET pgautofailover.health_check_period = 1000" \
    -c "ALTER SYSTEM SET pgautofailover.health_check_timeout = 1000" \
    -c "ALTER SYSTEM SET pgautofailover.health_check_max_retries = 1" \
    -c "ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500" \
    -c "ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 3000" \
    -c "ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 3000" \
    -c "SELECT pg_reload_conf()" >/dev/null
}

# pgaf_node_start NAME [DBNAME]: a PostgreSQL node registered with the
# monitor on a free port (PGAF_PORT[NAME]); the first is the primary, the
# next a standby cloned from it. DBNAME (default lienthong) is created.
pgaf_node_start() {
  local name=$1 db=${2:-lienthong} port
  port=$(pgaf_free_port)
  PGAF_PORT[$name]=$port
  PGAF_NODES+=("$name")
  pgaf_run "$name" create postgres --pgctl "$PGAF_PG_BIN/pg_ctl" --pgdata "$PGAF_DIR/$name" \
    --pgport "$port" --listen 127.0.0.1 --hostname 127.0.0.1 --name "$name" --auth trust --no-ssl \
    --dbname "$db" --monitor "$PGAF_MONITOR_URL" --run
}

# pgaf_node_rerun NAME: the node's service again after pgaf_node_kill; the
# monitor has it rejoin as a standby of the new primary (pg_rewind).
pgaf_node_rerun() {
  pgaf_run "$1" run --pgdata "$PGAF_DIR/$1"
}

# pgaf_node_kill NAME: the node is lost at once (its keeper and its
# PostgreSQL stopped immediately, as when a machine goes).
pgaf_node_kill() {
  pgaf_ctl stop --immediate --pgdata "$PGAF_DIR/$1" >>"$PGAF_DIR/stop.log" 2>&1 || return 1
  pgaf_wait 30 eval "! kill -0 ${PGAF_PID[$1]}"
}

# pgaf_state NAME: the state the monitor has for the node (single, primary,
# secondary, wait_primary, ...).
pgaf_state() {
  psql "$PGAF_MONITOR_URL" -Atc "SELECT reportedstate FROM pgautofailover.node WHERE nodename = '$1'" 2>/dev/null
}

pgaf_node_url() { # NAME [DBNAME]
  echo "postgresql://postgres@127.0.0.1:${PGAF_PORT[$1]}/${2:-lienthong}?sslmode=disable"
}

# pgaf_multihost_url DBNAME NODE...: the URL a client uses to find the
# primary among NODEs, whichever it is.
pgaf_multihost_url() {
  local db=$1 hosts= n
  shift
  for n in "$@"; do hosts=${hosts:+$hosts,}127.0.0.1:${PGAF_PORT[$n]}; done
  echo "postgresql://$hosts/$db?user=postgres&sslmode=disable&target_session_attrs=read-write"
}

# pgaf_wait_pair SECONDS PRIMARY STANDBY: until the monitor reports
# PRIMARY as primary and STANDBY as secondary, asking PRIMARY for a
# checkpoint now and then so that the standby's base backup starts.
pgaf_wait_pair() {
  local end=$((SECONDS + $1))
  while [ $SECONDS -lt $end ]; do
    [ "$(pgaf_state "$3")" = secondary ] && [ "$(pgaf_state "$2")" = primary ] && return 0
    psql "$(pgaf_node_url "$2")" -qc CHECKPOINT >/dev/null 2>&1
    sleep 0.5
  done
  return 1
}

# pgaf_pair_start: the monitor, a primary node1 and a synchronous standby
# node2, each step bounded. Returns 1 with what failed in PGAF_ERR.
pgaf_pair_start() {
  PGAF_ERR=
  pgaf_monitor_start || { PGAF_ERR="the monitor did not start (see $PGAF_DIR/monitor.log)"; return 1; }
  pgaf_node_start node1
  pgaf_wait 60 eval '[ "$(pgaf_state node1)" = single ]' ||
    { PGAF_ERR="node1 did not become a single primary (see $PGAF_DIR/node1.log)"; return 1; }
  pgaf_node_start node2
  pgaf_wait_pair 120 node1 node2 ||
    { PGAF_ERR="node2 did not become a secondary ($(pgaf_state node1)/$(pgaf_state node2); see $PGAF_DIR/node2.log)"; return 1; }
  [ -n "$(psql "$(pgaf_node_url node1)" -Atc "SHOW synchronous_standby_names")" ] ||
    { PGAF_ERR="replication is not synchronous on the primary"; return 1; }
}

# pgaf_stop_all: every PostgreSQL of the cluster stopped (QUIT: immediate)
# by its postmaster.pid, for the caller's clean-up after the supervisors
# were sent TERM.
pgaf_stop_all() {
  local d pm
  [ -n "${PGAF_DIR:-}" ] || return 0
  for d in "$PGAF_DIR"/*/postmaster.pid; do
    [ -f "$d" ] || continue
    pm=$(head -1 "$d" 2>/dev/null)
    [ -n "$pm" ] && kill -QUIT "$pm" 2>/dev/null
  done
  return 0
}
