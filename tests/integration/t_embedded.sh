#!/usr/bin/env bash
# The embedded default: serve initialises and starts its own PostgreSQL,
# /healthz and /readyz answer 200, `migrate` in another process reaches the
# same cluster, SIGINT stops gateway and database leaving no process, the
# next start reuses the data, and after kill -9 of both the next start
# recovers by itself.
source "$(dirname "$0")/lib.sh"

data="$LT_TMP/emb"
sock="$data/run"
lt_gw_start gw1 LIENTHONG_DATA_DIR="$data"
lt_wait 60 status_is gw1 /readyz 200 || lt_fail "readyz never became 200: $(lt_http gw1 /readyz)"
lt_assert_eq "200 {\"status\":\"ok\"}" "$(lt_http gw1 /healthz)" "healthz"
lt_assert_contains "$(lt_http gw1 /readyz)" '"applied":' "readyz body"
pm1=$(head -1 "$data/pg/postmaster.pid")

# Another process with the same data_dir uses the running cluster.
out=$(LIENTHONG_DATA_DIR="$data" "$LIENTHONG_BIN" migrate 2>"$LT_TMP/migrate.log")
lt_assert_contains "$out" "nothing to apply" "migrate beside a running gateway"
lt_assert_eq "$pm1" "$(head -1 "$data/pg/postmaster.pid")" "postmaster pid after migrate"
kill -0 "$pm1" || lt_fail "migrate stopped the cluster the gateway uses"
lt_assert_eq "200" "$(lt_status gw1 /readyz)" "readyz after migrate"
lt_psql "host=$sock user=lienthong dbname=lienthong" \
  "INSERT INTO holidays (day, kind, name) VALUES ('2026-09-02', 'off', 'Quoc khanh')"

# SIGINT stops the gateway and its PostgreSQL; nothing is left.
lt_gw_stop gw1 INT
lt_wait 10 lt_no_process_with "$data/pg" || lt_fail "PostgreSQL still running after SIGINT"
[ ! -e "$data/pg/postmaster.pid" ] || lt_fail "postmaster.pid left behind"
grep -q '"stopped cleanly"' "$LT_TMP/gw1.log" || lt_fail "no clean-stop line in the log"

# The next start reuses the cluster and its data.
lt_gw_start gw2 LIENTHONG_DATA_DIR="$data"
lt_wait 60 status_is gw2 /readyz 200 || lt_fail "second start not ready"
grep -q initialising "$LT_TMP/gw2.log" && lt_fail "second start initialised a new cluster"
lt_assert_eq "Quoc khanh" "$(lt_psql "host=$sock user=lienthong dbname=lienthong" \
  "SELECT name FROM holidays WHERE day = '2026-09-02'")" "data kept across restarts"

# kill -9 of both: the next start clears the stale pid files and recovers.
pm2=$(head -1 "$data/pg/postmaster.pid")
kill -9 "${LT_GW_PID[gw2]}" "$pm2"
lt_wait 10 bash -c "! kill -0 $pm2 2>/dev/null" || lt_fail "postmaster survived kill -9"
lt_gw_start gw3 LIENTHONG_DATA_DIR="$data"
lt_wait 90 status_is gw3 /readyz 200 || lt_fail "no recovery after kill -9: $(lt_http gw3 /readyz)"
lt_assert_eq "Quoc khanh" "$(lt_psql "host=$sock user=lienthong dbname=lienthong" \
  "SELECT name FROM holidays WHERE day = '2026-09-02'")" "data kept after kill -9"
lt_gw_stop gw3 TERM
lt_wait 10 lt_no_process_with "$data/pg" || lt_fail "PostgreSQL still running after SIGTERM"
lt_log "ok"
