#!/usr/bin/env bash
# What the audit of reads (issue 9) costs GET /v1/events: 5,000 stored dossier
# events of 1,000 dossiers (the example record, ~1.5 KB), read whole by an
# operator in pages of 1,000 (5 calls a pass, 5,000 dossier.read rows a pass
# with the audit), 20 passes each, alternating, by two binaries on two
# databases made the same way: BEFORE (a build without the audit) and AFTER.
#
#   tests/bench/read_audit/run.sh BEFORE_BIN AFTER_BIN
#
# A binary copied out of its build tree finds its migrations through
# LIENTHONG_SHARE_DIR: BEFORE_SHARE and AFTER_SHARE, when set, are given to
# each (a directory with sql/, schemas/ and dialects/).
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
  share "$db"
  psql "host=$sock user=lienthong dbname=postgres" -qc "CREATE DATABASE $db"
  export LIENTHONG_DATABASE_URL
  LIENTHONG_DATABASE_URL=$(url "$db")
  "$bin" migrate >"$tmp/migrate-$db.log" 2>&1 || die "migrate $db: $(tail -3 "$tmp/migrate-$db.log")"
  "$bin" units import "$src/deploy/units/example-3tier.json" >/dev/null || die "units import"
  local rec
  rec=$(jq -c '.ChuHoSo = "Nguyễn Văn An" | .SoGiayToChuHoSo = "001203004567"' \
    "$src/schemas/examples/valid/04-dang-xu-ly-lien-thong.json")
  # 5,000 events: five statuses of 1,000 dossiers, appended as the writer does.
  psql "$(url "$db")" -qAt -v ON_ERROR_STOP=1 -v rec="$rec" >/dev/null <<'SQL'
SELECT lt_append_events(array_agg('dossier'::text ORDER BY s, g), array_agg('dossier.08707.' || s ORDER BY s, g),
  array_agg('000.01.22.H56-240101-' || lpad(g::text, 4, '0') ORDER BY s, g),
  array_agg('2.002621.H56'::text ORDER BY s, g), array_agg('08707'::text ORDER BY s, g),
  array_agg(s::smallint ORDER BY s, g),
  array_agg(jsonb_set(:'rec'::jsonb, '{MaHoSo}', to_jsonb('000.01.22.H56-240101-' || lpad(g::text, 4, '0'))) ORDER BY s, g))
FROM generate_series(1, 1000) g, generate_series(1, 5) s;
SQL
  [ "$(q "$db" "SELECT count(*) FROM dossier_events")" = 5000 ] || die "events in $db"
}

# share NAME: LIENTHONG_SHARE_DIR for the binary of NAME (before, after).
share() {
  local var
  var=$(echo "$1" | tr a-z A-Z)_SHARE
  if [ -n "${!var:-}" ]; then export LIENTHONG_SHARE_DIR=${!var}; else unset LIENTHONG_SHARE_DIR; fi
}

declare -A PORT TOK
start() { # NAME BIN DB: a gateway on DB; PORT[NAME], TOK[NAME] (an operator)
  local name=$1 bin=$2 db=$3 port
  share "$name"
  TOK[$name]=$(LIENTHONG_DATABASE_URL=$(url "$db") "$bin" token create --role operator | tail -n 1)
  env LIENTHONG_DATABASE_URL="$(url "$db")" LIENTHONG_DATA_DIR="$tmp/$name-data" \
    LIENTHONG_HTTP_LISTEN=127.0.0.1:0 LIENTHONG_ZMQ_EVENTS='tcp://127.0.0.1:*' \
    LIENTHONG_ZMQ_REPLAY='tcp://127.0.0.1:*' LIENTHONG_ZMQ_INGRESS='tcp://127.0.0.1:*' \
    LIENTHONG_LOG_LEVEL=info "$bin" serve >"$tmp/$name.log" 2>&1 &
  bench_track "$!"
  for _ in $(seq 1 300); do grep -qs '"port"' "$tmp/$name.log" && break; sleep 0.1; done
  port=$(grep -o '"port":[0-9]*' "$tmp/$name.log" | head -1 | cut -d: -f2)
  [ -n "$port" ] || die "$name did not listen"
  PORT[$name]=$port
}

# pass NAME: milliseconds to read every event, timed by curl (request sent
# to last byte received) and summed over the pages; `next` is read from the
# tail of the body (the document ends with "next" and "last"), so no JSON
# parse of megabytes is timed.
pass() {
  local name=$1 since=0 total=0 t next
  while :; do
    t=$(curl -sf -m 30 -o "$tmp/page.json" -w '%{time_total}' -H "Authorization: Bearer ${TOK[$name]}" \
      "http://127.0.0.1:${PORT[$name]}/v1/events?since=$since&limit=1000")
    total=$(awk -v a="$total" -v b="$t" 'BEGIN { print a + b }')
    next=$(tail -c 100 "$tmp/page.json" | grep -o '"next":[0-9a-z]*' | cut -d: -f2)
    [ "$next" = null ] && break
    since=$next
  done
  awk -v t="$total" 'BEGIN { printf "%d\n", t * 1000 }'
}
stats() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)], a[1] }'; }

fill before "$before"
fill after "$after"
start before "$before" before
start after "$after" after
pass before >/dev/null # warm-up
pass after >/dev/null
# Alternating passes, so both builds meet the same load on a shared machine.
for _ in $(seq 1 "$PASSES"); do
  pass before >>"$tmp/before.ms"
  pass after >>"$tmp/after.ms"
done
read -r bmed bbest < <(stats <"$tmp/before.ms")
read -r amed abest < <(stats <"$tmp/after.ms")
audit=$(q after "SELECT count(*) FROM audit_log WHERE action = 'dossier.read'")
log "PostgreSQL $pg_version, $PASSES passes of 5,000 events (5 pages of 1,000)"
echo "| build | median ms / pass | best ms / pass | dossier.read rows written |"
echo "| --- | --- | --- | --- |"
echo "| before (no audit) | $bmed | $bbest | 0 |"
echo "| after (audit in the read's statement) | $amed | $abest | $audit |"
echo "ratio after / before (median): $(awk -v a="$amed" -v b="$bmed" 'BEGIN { printf "%.2f", a / b }')"
