#!/usr/bin/env bash
# What the audit of reads (issue 9) costs GET /v1/events: 5,000 stored dossier
# events of 1,000 dossiers (the example record, ~1.5 KB), read whole by an
# operator in pages of 1,000 (5 calls a pass, 5,000 dossier.read rows a pass
# with the audit), 20 passes, by two binaries on two databases made the same
# way: BEFORE (a build without the audit) and AFTER.
#
#   tests/bench/read_audit/run.sh BEFORE_BIN AFTER_BIN
#
# Prints the median and best milliseconds per pass of each, and the ratio.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
before=${1:?usage: run.sh BEFORE_BIN AFTER_BIN} after=${2:?usage: run.sh BEFORE_BIN AFTER_BIN}
src=$(cd "$(dirname "$0")/../../.." && pwd)
bench_init read_audit 900
bench_pg_start
q() { psql "$(url "$1")" -qAt -v ON_ERROR_STOP=1 -c "$2"; }
PASSES=${PASSES:-20}

fill() { # DB BIN
  local db=$1 bin=$2
  psql "host=$sock user=lienthong dbname=postgres" -qc "CREATE DATABASE $db"
  export LIENTHONG_DATABASE_URL
  LIENTHONG_DATABASE_URL=$(url "$db")
  "$bin" migrate >/dev/null 2>&1 || die "migrate $db"
  "$bin" units import "$src/deploy/units/example-3tier.json" >/dev/null || die "units import"
  local rec
  rec=$(jq -c '.ChuHoSo = "Nguyễn Văn An" | .SoGiayToChuHoSo = "001203004567"' \
    "$src/schemas/examples/valid/04-dang-xu-ly-lien-thong.json")
  # 5,000 events: five statuses of 1,000 dossiers, appended as the writer does.
  psql "$(url "$db")" -qAt -v ON_ERROR_STOP=1 -v rec="$rec" >/dev/null <<'SQL'
SELECT lt_append_events(array_agg('dossier' ORDER BY s, g), array_agg('dossier.08707.' || s ORDER BY s, g),
  array_agg('000.01.22.H56-240101-' || lpad(g::text, 4, '0') ORDER BY s, g),
  array_agg('2.002621.H56' ORDER BY s, g), array_agg('08707' ORDER BY s, g),
  array_agg(s::smallint ORDER BY s, g),
  array_agg(jsonb_set(:'rec'::jsonb, '{MaHoSo}', to_jsonb('000.01.22.H56-240101-' || lpad(g::text, 4, '0'))) ORDER BY s, g))
FROM generate_series(1, 1000) g, generate_series(1, 5) s;
SQL
  [ "$(q "$db" "SELECT count(*) FROM dossier_events")" = 5000 ] || die "events in $db"
}

measure() { # NAME BIN DB: prints "median best" ms per pass
  local name=$1 bin=$2 db=$3 port tok
  tok=$(LIENTHONG_DATABASE_URL=$(url "$db") "$bin" token create --role operator | tail -n 1)
  env LIENTHONG_DATABASE_URL="$(url "$db")" LIENTHONG_DATA_DIR="$tmp/$name-data" \
    LIENTHONG_HTTP_LISTEN=127.0.0.1:0 LIENTHONG_ZMQ_EVENTS='tcp://127.0.0.1:*' \
    LIENTHONG_ZMQ_REPLAY='tcp://127.0.0.1:*' LIENTHONG_ZMQ_INGRESS='tcp://127.0.0.1:*' \
    LIENTHONG_LOG_LEVEL=warn "$bin" serve >"$tmp/$name.log" 2>&1 &
  local pid=$!
  bench_track "$pid"
  for _ in $(seq 1 300); do grep -q '"port"' "$tmp/$name.log" && break; sleep 0.1; done
  port=$(grep -o '"port":[0-9]*' "$tmp/$name.log" | head -1 | cut -d: -f2)
  [ -n "$port" ] || die "$name did not listen"
  local times=() p since t0 t1 next
  for p in $(seq 0 "$PASSES"); do
    since=0
    t0=$(date +%s%N)
    while :; do
      next=$(curl -sf -m 30 -H "Authorization: Bearer $tok" \
        "http://127.0.0.1:$port/v1/events?since=$since&limit=1000" | jq -r .next)
      [ "$next" = null ] && break
      since=$next
    done
    t1=$(date +%s%N)
    [ "$p" -gt 0 ] && times+=($(((t1 - t0) / 1000000))) # pass 0 warms the caches
  done
  kill -INT "$pid"
  wait "$pid" || true
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)], a[1] }'
}

fill before "$before"
fill after "$after"
read -r bmed bbest < <(measure before "$before" before)
read -r amed abest < <(measure after "$after" after)
audit=$(q after "SELECT count(*) FROM audit_log WHERE action = 'dossier.read'")
log "PostgreSQL $pg_version, $PASSES passes of 5,000 events (5 pages of 1,000)"
echo "| build | median ms / pass | best ms / pass | dossier.read rows written |"
echo "| --- | --- | --- | --- |"
echo "| before (no audit) | $bmed | $bbest | 0 |"
echo "| after (audit in the read's statement) | $amed | $abest | $audit |"
echo "ratio after / before (median): $(awk -v a="$amed" -v b="$bmed" 'BEGIN { printf "%.2f", a / b }')"
