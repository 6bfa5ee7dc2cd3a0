#!/usr/bin/env bash
# Status end to end (gateway/lt_status_doc.c, lt_stats.c, lt_http_status.c,
# lt_status_cli.c): `lienthong status` without a gateway reads the database
# alone (no process part, healthy, exit 0); with a gateway and the portal
# simulator, pushed records and a refusal show per sender and in the
# gateway's ingress counters; the portal stopped makes the portal down with a
# growing backlog, `lienthong status` exit 3 and /metrics say so; the portal
# back drains the backlog and everything says healthy again (exit 0).
# /metrics passes a strict text-format checker (itself shown to refuse bad
# input), and every /v1/status answer and the CLI's --json document validate
# against schemas/openapi.yaml → schemas/status.schema.json. Last, the status
# statement's plan on 100,000 outbox rows uses the 0012 indexes (no
# sequential scan of the outbox).
source "$(dirname "$0")/lib.sh"

PUSH=${LT_PUSH:?LT_PUSH must name the lt_push tool}
lt="$LIENTHONG_BIN"
export LT_ANSWERS_DIR="$LT_TMP/answers"

lt_pg_start pg
lt_ingest_fixture
q() { lt_psql "$LT_PG_URL" "$1"; }

# A CLI document kept as an answer of GET /v1/status, so the same schema
# check holds it (the CLI's --json is the same document).
keep_cli_doc() { # FILE
  mkdir -p "$LT_ANSWERS_DIR"
  jq -n --rawfile body "$1" '{method: "GET", path: "/v1/status", status: 200, body: $body,
    headers: {"content-type": "application/json; charset=utf-8"}}' \
    >"$LT_ANSWERS_DIR/cli-$(date +%s%N).json"
}

# ---- a strict Prometheus text format (0.0.4) checker ------------------------
# Fails (exit 1, a reason on stdout) unless: every line is "# HELP name text",
# "# TYPE name counter|gauge|histogram|summary|untyped" or a sample
# name{label="value",...} value; names and label names are well formed;
# label values are escaped; one TYPE per family, before its samples, and a
# family's samples are contiguous; counters end in _total; histogram buckets
# are cumulative with an le="+Inf" equal to _count; every name starts with
# lienthong_; labels are only destination, kind, state, unit, result, le.
check_metrics() { # FILE
  awk '
    function fail(msg) { print "line " NR ": " msg ": " $0; bad = 1; exit 1 }
    function family(n) {
      if (n in type) return n
      for (suf in sufs) { b = substr(n, 1, length(n) - length(suf))
        if (substr(n, length(n) - length(suf) + 1) == suf && type[b] == "histogram") return b }
      return n
    }
    BEGIN { sufs["_bucket"]; sufs["_sum"]; sufs["_count"]
            allowed["destination"]; allowed["kind"]; allowed["state"]; allowed["unit"]
            allowed["result"]; allowed["le"] }
    /^# HELP / { if ($3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/) fail("bad HELP name"); next }
    /^# TYPE / {
      if (NF != 4 || $3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/) fail("bad TYPE line")
      if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/) fail("bad type")
      if ($3 in type) fail("second TYPE for " $3)
      if ($3 in seen) fail("TYPE after samples of " $3)
      type[$3] = $4; next }
    /^#/ { fail("unknown comment") }
    /^$/ { fail("empty line") }
    {
      line = $0
      if (!match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) fail("bad metric name")
      name = substr(line, 1, RLENGTH); rest = substr(line, RLENGTH + 1)
      if (name !~ /^lienthong_/) fail("name without the lienthong_ prefix")
      labels = ""
      if (substr(rest, 1, 1) == "{") {
        if (!match(rest, /^\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*")*)?\}/))
          fail("bad label set")
        labels = substr(rest, 2, RLENGTH - 2); rest = substr(rest, RLENGTH + 1)
      }
      if (rest !~ /^ (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|[-+]Inf|NaN)( -?[0-9]+)?$/)
        fail("bad value")
      value = substr(rest, 2) + 0
      n = split(labels, parts, /",/)
      le = ""
      for (i = 1; i <= n; i++) {
        if (parts[i] == "") continue
        key = substr(parts[i], 1, index(parts[i], "=") - 1)
        if (!(key in allowed)) fail("label " key " is not allowed")
        if (key == "le") { le = substr(parts[i], index(parts[i], "=") + 2); sub(/"$/, "", le) }
      }
      fam = family(name)
      if (!(fam in type)) fail("sample before its TYPE")
      if (fam != last && (fam in seen)) fail("samples of " fam " are not contiguous")
      seen[fam] = 1; last = fam
      if (type[fam] == "counter" && name !~ /_total$/) fail("counter without _total")
      if (type[fam] == "histogram") {
        if (name == fam "_bucket") {
          if (le == "") fail("bucket without le")
          if (value < prevbucket[fam]) fail("buckets not cumulative")
          prevbucket[fam] = value
          if (le == "+Inf") inf[fam] = value
        } else if (name == fam "_count") { count[fam] = value }
      }
    }
    END {
      if (bad) exit 1
      for (f in type) if (type[f] == "histogram") {
        if (!(f in inf)) { print f ": no le=\"+Inf\" bucket"; exit 1 }
        if (inf[f] != count[f]) { print f ": +Inf bucket " inf[f] " != _count " count[f]; exit 1 }
      }
    }' "$1"
}

# The checker refuses what it must (otherwise a checker that passed
# everything would pass /metrics too).
printf '# TYPE lienthong_a gauge\nlienthong_a 1\n' >"$LT_TMP/m.good"
check_metrics "$LT_TMP/m.good" >/dev/null || lt_fail "the metrics checker refuses a good file"
i=0
while IFS= read -r bad; do
  i=$((i + 1))
  printf '%b' "$bad" >"$LT_TMP/m.bad$i"
  if check_metrics "$LT_TMP/m.bad$i" >/dev/null; then lt_fail "the metrics checker passed: $bad"; fi
done <<'BAD'
lienthong_a 1\n
# TYPE lienthong_a gauge\nlienthong_a one\n
# TYPE lienthong_a gauge\nlienthong_a{MaHoSo="x"} 1\n
# TYPE lienthong_a gauge\nlienthong_a{unit="x} 1\n
# TYPE lienthong_a counter\nlienthong_a 1\n
# TYPE other_total counter\nother_total 1\n
# TYPE lienthong_a gauge\n# TYPE lienthong_b gauge\nlienthong_a 1\nlienthong_b 1\nlienthong_a 2\n
# TYPE lienthong_h histogram\nlienthong_h_bucket{le="1"} 3\nlienthong_h_bucket{le="+Inf"} 2\nlienthong_h_count 2\n
# TYPE lienthong_h histogram\nlienthong_h_bucket{le="1"} 1\nlienthong_h_bucket{le="+Inf"} 2\nlienthong_h_count 3\n
BAD

# ---- 1. without a gateway: the database alone ---------------------------------
rc=0
"$lt" status --json >"$LT_TMP/cli0.json" 2>"$LT_TMP/cli0.err" || rc=$?
lt_assert_eq 0 "$rc" "status without a gateway on a healthy database: exit ($(cat "$LT_TMP/cli0.err"))"
lt_assert_eq "none null true true" \
  "$(jq -r '"\(.ingress.scope) \(.instance) \(.healthy) \(.database.reachable)"' "$LT_TMP/cli0.json")" \
  "no process part, healthy, database reachable"
lt_assert_eq "5 4 0 1" "$(jq -r '.catalog.procedures | "\(.total) \(.published) \(.abolished) \(.unpublished)"' "$LT_TMP/cli0.json")" \
  "catalog procedures by state"
lt_assert_eq "ok" "$(jq -r .catalog.last_run.outcome "$LT_TMP/cli0.json")" "catalog last run"
keep_cli_doc "$LT_TMP/cli0.json"
table=$("$lt" status) || lt_fail "status (table) exit $?"
lt_assert_contains "$table" "HEALTHY" "the table says healthy"
lt_assert_contains "$table" "no gateway answered" "the table says the process part is absent"
rc=0
"$lt" status --frob >/dev/null 2>&1 || rc=$?
lt_assert_eq 2 "$rc" "status with an unknown argument: usage error"
rc=0
LIENTHONG_DATABASE_URL="postgresql:///nowhere?host=/nonexistent&connect_timeout=2" \
  "$lt" status --json >"$LT_TMP/cli-nodb.json" 2>/dev/null || rc=$?
lt_assert_eq 3 "$rc" "status with the database unreachable: unhealthy"
lt_assert_eq "false database_unreachable" \
  "$(jq -r '"\(.database.reachable) \(.problems[0].what)"' "$LT_TMP/cli-nodb.json")" "unreachable database named"
keep_cli_doc "$LT_TMP/cli-nodb.json"

# ---- 2. a gateway, the portal simulator, pushes and a refusal -----------------
lt_portal_sim_start p
pport=${LT_SIM_PORT[p]}
ctl() { lt_sim_control p "$1"; }

# The circuit breaker (delivery.circuit_failures, default 5) would turn the
# portal's outage below into state circuit_open; this test is about "down"
# (t_circuit.sh checks circuit_open), so the circuit stays closed here.
lt_gw_start gw "${LT_PORTAL_ENV[@]}" LIENTHONG_DELIVERY_CIRCUIT_FAILURES=100000
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"
# The CLI finds the gateway where it listens.
export LIENTHONG_HTTP_LISTEN="127.0.0.1:${LT_GW_PORT[gw]}"

runs=0
push() { # COUNT
  runs=$((runs + 1))
  "$PUSH" --http "$(lt_url gw "")" --token "$LT_PARENT_TOKEN" --unit-agency 000.00.06.H56 \
    --procedure 2.000908 --count "$1" --run-id "$runs" --seed "$runs" --ack-log "$LT_TMP/ack$runs.txt" \
    --json >"$LT_TMP/push$runs.json" 2>"$LT_TMP/push$runs.err" ||
    lt_fail "lt_push failed: $(tail -3 "$LT_TMP/push$runs.err")"
  lt_assert_eq "$1" "$(wc -l <"$LT_TMP/ack$runs.txt")" "$1 records accepted"
}
status_doc() { # -> $LT_TMP/s.json, the gateway's /v1/status
  local out
  out=$(lt_http_save gw /v1/status)
  lt_assert_eq 200 "${out%% *}" "GET /v1/status"
  printf '%s' "${out#* }" >"$LT_TMP/s.json"
}
sj() { jq -r "$1" "$LT_TMP/s.json"; }
portal() { sj ".destinations[] | select(.name == \"portal\") | $1"; }

push 20
bad='{"MaHoSo": "000.00.06.H56-250101-0001", "MaTTHC": "2.000908", "TrangThaiHoSo": "2",
  "KenhThucHien": "1", "NgayTiepNhan": "20250101080000", "NgayHenTra": "31/10/2024"}'
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $LT_PARENT_TOKEN" \
  -H 'Content-Type: application/json' -d "$bad" "$(lt_url gw /v1/dossiers)")
lt_assert_eq 422 "$code" "the invalid record is refused"

delivered() { status_doc; [ "$(portal .backlog)" = 0 ] && [ "$(sj .database.routing_lag_events)" = 0 ] &&
  [ "$(portal .state)" = up ]; }
lt_wait 60 delivered || lt_fail "the first pushes were not delivered: $(cat "$LT_TMP/s.json")"
lt_assert_eq "process true" "$(sj '"\(.ingress.scope) \(.healthy)"')" "gateway answers with its counters, healthy"
lt_assert_eq "21 20 1" "$(sj '.ingress | "\(.records_total) \(.accepted_total) \(.rejected_total)"')" \
  "ingress counters: 20 accepted, 1 rejected"
lt_assert_eq "244 20 1" \
  "$(sj '.senders[] | select(.unit == "244") | "\(.unit) \(.records_today) \(.rejects_today)"')" \
  "sender 244: 20 records and 1 refusal today"
lt_assert_eq "true" "$(sj '.ingress.latency_ms.p50 != null and .ingress.requests_total >= 2')" "latency measured"
lt_assert_eq "http://127.0.0.1:$pport" "$(portal .url)" "the portal URL"
lt_assert_eq "true" "$(portal '.last_success_at != null and .delivered_per_min > 0')" "last success and rate"

metrics() { # -> $LT_TMP/m.txt, checked
  local out
  out=$(lt_http_save gw /metrics)
  lt_assert_eq 200 "${out%% *}" "GET /metrics"
  lt_assert_contains "$(grep '^content-type' "$LT_TMP/headers")" "text/plain; version=0.0.4" "metrics content type"
  curl -s -m 10 "$(lt_url gw /metrics)" >"$LT_TMP/m.txt"
  check_metrics "$LT_TMP/m.txt" >"$LT_TMP/m.err" || lt_fail "/metrics does not parse: $(cat "$LT_TMP/m.err")"
}
mv_() { awk -v k="$1" '$1 == k { print $2 }' "$LT_TMP/m.txt"; }
metrics
lt_assert_eq 20 "$(mv_ 'lienthong_ingest_records_total{result="accepted"}')" "metric: accepted records"
lt_assert_eq 1 "$(mv_ 'lienthong_ingest_records_total{result="rejected"}')" "metric: rejected records"
lt_assert_eq 20 "$(mv_ 'lienthong_sender_records_today{unit="244"}')" "metric: sender records today"
lt_assert_eq 1 "$(mv_ 'lienthong_destination_state{destination="portal",kind="portal",state="up"}')" "metric: portal up"
lt_assert_eq 1 "$(mv_ lienthong_healthy)" "metric: healthy"
lt_assert_eq "$(mv_ lienthong_ingest_request_duration_seconds_count)" \
  "$(mv_ 'lienthong_ingest_request_duration_seconds_bucket{le="+Inf"}')" "histogram count"
if grep -q '000\.00\.06\.H56-' "$LT_TMP/m.txt"; then lt_fail "a dossier code in /metrics"; fi
rc=0
"$lt" status --json >"$LT_TMP/cli1.json" || rc=$?
lt_assert_eq "0 process" "$rc $(jq -r .ingress.scope "$LT_TMP/cli1.json")" "the CLI asks the running gateway"
keep_cli_doc "$LT_TMP/cli1.json"

# ---- 3. the portal down: down, backlog grows, exit 3 --------------------------
ctl '{"down": true}'
push 10
unhealthy() { [ "$("$lt" status --json >"$LT_TMP/cli2.json"; echo $?)" = 3 ]; }
# Issue 8's deadline: within 5 s of the portal stopping (the push above
# takes a fraction of a second).
lt_wait 5 unhealthy || lt_fail "status did not turn unhealthy within 5 s of the portal stopping: $(cat "$LT_TMP/cli2.json")"
lt_assert_eq "down" "$(jq -r '.destinations[] | select(.name == "portal") | .state' "$LT_TMP/cli2.json")" "portal down"
lt_assert_eq "destination_down" "$(jq -r '[.problems[] | select(.destination == "portal") | .what][0]' "$LT_TMP/cli2.json")" \
  "the problem names the portal"
keep_cli_doc "$LT_TMP/cli2.json"
status_doc
b1=$(portal .backlog)
[ "$b1" -gt 0 ] || lt_fail "no backlog with the portal down"
push 10
grown() { status_doc; [ "$(portal .backlog)" -gt "$b1" ]; }
lt_wait 30 grown || lt_fail "the backlog did not grow ($b1 then $(portal .backlog))"
lt_assert_eq "false" "$(sj .healthy)" "/v1/status unhealthy"
lt_assert_eq "true" "$(portal '.oldest_pending_age_s >= 0 and .last_error != null and .last_error_at != null')" \
  "oldest age and last error shown"
table=$("$lt" status) && lt_fail "status (table) exit 0 while the portal is down"
lt_assert_contains "$table" "UNHEALTHY" "the table says unhealthy"
lt_assert_contains "$table" "destination_down" "the table lists the problem"
settled() { status_doc; [ "$(sj .database.routing_lag_events)" = 0 ]; }
lt_wait 30 settled || lt_fail "routing did not catch up"
metrics
lt_assert_eq 1 "$(mv_ 'lienthong_destination_state{destination="portal",kind="portal",state="down"}')" "metric: portal down"
lt_assert_eq 0 "$(mv_ lienthong_healthy)" "metric: unhealthy"
mb=$(mv_ 'lienthong_destination_backlog{destination="portal",kind="portal"}')
[ "$mb" -ge "$b1" ] || lt_fail "metric backlog $mb below the earlier $b1"
lt_log "portal down: backlog $b1 then $mb"

# ---- 4. the portal back: drains, healthy, exit 0 -------------------------------
ctl '{"down": false}'
# Healthy (exit 0) comes back with the first delivery; up with the backlog
# drained comes once every retry has gone (back-off up to 30 s).
healthy() { "$lt" status --json >"$LT_TMP/cli3.json"; }
lt_wait 60 healthy || lt_fail "status did not turn healthy after the portal came back: $(cat "$LT_TMP/cli3.json")"
drained() { healthy && [ "$(jq -r '.destinations[] | select(.name == "portal") | "\(.state) \(.backlog)"' "$LT_TMP/cli3.json")" = "up 0" ]; }
lt_wait 90 drained || lt_fail "the backlog did not drain: $(cat "$LT_TMP/cli3.json")"
keep_cli_doc "$LT_TMP/cli3.json"
status_doc
lt_assert_eq "true 40" "$(sj '"\(.healthy) \(.ingress.accepted_total)"')" "healthy again, 40 accepted in all"
metrics
lt_assert_eq 1 "$(mv_ lienthong_healthy)" "metric: healthy again"
lt_gw_stop gw

# ---- 5. the statement's plan on 100,000 outbox rows ---------------------------
q "INSERT INTO destinations (name, kind, url) VALUES ('webhook', 'webhook', 'http://127.0.0.1:9/')
   ON CONFLICT (name) DO NOTHING;
   INSERT INTO outbox (event_seq, destination, dossier_code, state, idempotency_key, delivered_at,
                       next_attempt_at, attempts, last_error, created_at, updated_at)
   SELECT 1000000 + g, 'webhook', 'X-' || (g % 5000),
          CASE WHEN g % 100 = 0 THEN 'retrying' WHEN g % 100 = 1 THEN 'dead'
               WHEN g % 100 < 10 THEN 'pending' ELSE 'delivered' END,
          'lt-' || (1000000 + g),
          CASE WHEN g % 100 >= 10 THEN now() - (g || ' seconds')::interval END,
          now() + interval '1 day', 1, 'HTTP 503', now() - (g || ' seconds')::interval, now()
   FROM generate_series(1, 100000) g;
   ANALYZE outbox; ANALYZE dossier_events; ANALYZE rejects;" >/dev/null
# The function's inner plan, as it runs (auto_explain prints nested
# statements' plans to the client).
psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 >/dev/null 2>"$LT_TMP/plan.txt" <<'SQL' || lt_fail "auto_explain of lt_status_doc()"
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_nested_statements = on;
SET client_min_messages = log;
SELECT lt_status_doc();
SQL
if grep -q 'Seq Scan on outbox' "$LT_TMP/plan.txt"; then
  lt_fail "the status statement scans the outbox: $(cat "$LT_TMP/plan.txt")"
fi
if grep -q 'JIT:' "$LT_TMP/plan.txt"; then lt_fail "the status statement was JIT-compiled"; fi
lt_assert_contains "$(cat "$LT_TMP/plan.txt")" "outbox_status_idx" "open rows counted by outbox_status_idx"
lt_assert_contains "$(cat "$LT_TMP/plan.txt")" "outbox_delivered_at_idx" "deliveries read by outbox_delivered_at_idx"
lt_log "status statement on 100,000 outbox rows, first call under auto_explain: $(grep -o 'duration: [0-9.]* ms' "$LT_TMP/plan.txt" | head -1)"
# Then as the reader runs it: one session, the plan kept (logged, not asserted).
times=$(printf '\\timing on\nSELECT length(lt_status_doc());\nSELECT length(lt_status_doc());\nSELECT length(lt_status_doc());\nSELECT length(lt_status_doc());\nSELECT length(lt_status_doc());\n' |
  psql "$LT_PG_URL" -qAt | grep -o 'Time: [0-9.]* ms' | cut -d' ' -f2 | paste -sd' ')
lt_log "lt_status_doc() five calls in one session (ms): $times"
rc=0
"$lt" status --local --json >"$LT_TMP/cli4.json" || rc=$?
lt_assert_eq "8000 1000 1000" \
  "$(jq -r '.destinations[] | select(.name == "webhook") | "\(.pending) \(.retrying) \(.dead_letters)"' "$LT_TMP/cli4.json")" \
  "counts on 100,000 rows"
keep_cli_doc "$LT_TMP/cli4.json"

lt_answers_check
lt_log "PASS"
