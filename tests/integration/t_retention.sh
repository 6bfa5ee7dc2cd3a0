#!/usr/bin/env bash
# Retention (issue 9): the retention actor of `serve` purges refused records
# and audit-log rows older than retention.days, in batches of
# retention.batch, one gateway at a time, and leaves everything younger.
# Rows are moved into the past in PostgreSQL (the audit log's append-only
# trigger is stepped over the way lt_audit_purge does); two gateways run
# the job on one database; ingest goes on meanwhile. A reload (SIGHUP) is
# itself audited (config.reload, actor gateway).
source "$(dirname "$0")/lib.sh"

EX=$LT_SOURCE_DIR/schemas/examples
lt_pg_start pg
lt_ingest_fixture
lt="$LIENTHONG_BIN"
q() { lt_psql "$LT_PG_URL" "$1"; }
# sql_is SQL OP VALUE: the query's answer compared by test(1), asked anew each time (lt_wait).
sql_is() { [ "$(q "$1")" "$2" "$3" ]; }
ward=$LT_PARENT_TOKEN # 244, canonical records

# 1,200 old and 30 young rejects, 1,100 old and 20 young audit rows (besides
# the token rows the fixture wrote, which are young).
q "INSERT INTO rejects (received_at, channel, payload, reason)
   SELECT now() - interval '120 days' - g * interval '1 minute', 'http',
          convert_to('{\"ChuHoSo\": \"Trần Thị Bình\"}', 'UTF8'), '{}'
   FROM generate_series(1, 1200) g" >/dev/null
q "INSERT INTO rejects (received_at, channel, payload, reason)
   SELECT now() - interval '89 days', 'http', '\x7b7d', '{}' FROM generate_series(1, 30)" >/dev/null
q "INSERT INTO audit_log (at, actor, action, target)
   SELECT now() - interval '100 days', 'token:0123456789', 'dossier.read', 'D-' || g
   FROM generate_series(1, 1100) g" >/dev/null
q "INSERT INTO audit_log (at, actor, action, target)
   SELECT now() - interval '80 days', 'token:0123456789', 'dossier.read', 'Y-' || g
   FROM generate_series(1, 20) g" >/dev/null
young_audit=$(q "SELECT count(*) FROM audit_log WHERE at > now() - interval '90 days'")

# Two gateways, short interval, small batches: the purge takes several
# batches and both try.
for gw in a b; do
  lt_gw_start "$gw" LIENTHONG_RETENTION_INTERVAL=1s LIENTHONG_RETENTION_BATCH=100
done
lt_wait 30 status_is a /readyz 200 || lt_fail "gateway a not ready"
# Ingest meanwhile.
push() {
  jq -c --arg c "$1" '.MaHoSo = $c | if .QuaTrinhXuLy then .QuaTrinhXuLy |= map(.MaHoSo = $c) else . end' \
    "$EX/valid/02-duoc-tiep-nhan-truc-tiep.json" >"$LT_TMP/rec.json"
  curl -s -m 10 -o "$LT_TMP/push.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $ward" --data-binary "@$LT_TMP/rec.json" "$(lt_url a /v1/dossiers)"
}
for i in 1 2 3 4 5; do
  lt_assert_eq 200 "$(push "000.00.06.H56-240801-000$i")" "push $i during the purge"
done
lt_wait 60 sql_is "SELECT count(*) FROM rejects WHERE received_at < now() - interval '90 days'" = 0 ||
  lt_fail "old rejects left: $(q "SELECT count(*) FROM rejects WHERE received_at < now() - interval '90 days'")"
lt_wait 60 sql_is "SELECT count(*) FROM audit_log WHERE at < now() - interval '90 days'" = 0 ||
  lt_fail "old audit rows left"
lt_assert_eq 30 "$(q "SELECT count(*) FROM rejects WHERE received_at > now() - interval '90 days'")" \
  "young rejects kept"
[ "$(q "SELECT count(*) FROM audit_log WHERE at > now() - interval '90 days'")" -ge "$young_audit" ] ||
  lt_fail "young audit rows were purged"
lt_assert_eq 5 "$(q "SELECT count(*) FROM dossiers WHERE code LIKE '000.00.06.H56-240801-%'")" \
  "dossiers pushed during the purge"
# In batches: the log of the gateway(s) that ran says so, once per run.
grep -h '"retention: purged' "$LT_TMP/a.log" "$LT_TMP/b.log" >"$LT_TMP/purged.txt" || true
[ -s "$LT_TMP/purged.txt" ] || lt_fail "no gateway logged a purge"

# retention.days reloads: 10 days purges the young rows too.
lt_psql "$LT_PG_URL" "SELECT 1" >/dev/null
cat >"$LT_TMP/ten.json" <<'JSON'
{"retention": {"days": 10}}
JSON
lt_gw_stop b
lt_gw_stop a
lt_gw_start c LIENTHONG_RETENTION_INTERVAL=1s -- --config "$LT_TMP/ten.json"
lt_wait 60 sql_is "SELECT count(*) FROM rejects" = 0 || lt_fail "retention.days=10 left rejects"

# A reload is audited by the gateway itself.
before=$(q "SELECT count(*) FROM audit_log WHERE action = 'config.reload' AND actor = 'gateway'")
kill -HUP "${LT_GW_PID[c]}"
lt_wait 30 sql_is "SELECT count(*) FROM audit_log WHERE action = 'config.reload' AND actor = 'gateway'" -gt "$before" ||
  lt_fail "no config.reload row after SIGHUP"
lt_assert_eq applied "$(q "SELECT detail->>'result' FROM audit_log WHERE action = 'config.reload' ORDER BY id DESC LIMIT 1")" \
  "the reload's outcome"
# A refused reload (the file no longer parses) is audited too, and the
# gateway keeps running.
echo '{"retention": {"days": 0}}' >"$LT_TMP/ten.json"
kill -HUP "${LT_GW_PID[c]}"
lt_wait 30 sql_is "SELECT count(*) FROM audit_log WHERE action = 'config.reload'
  AND detail->>'result' = 'refused' AND detail->>'key' = 'retention.days'" = 1 ||
  lt_fail "no refused config.reload row: $(q "SELECT detail FROM audit_log WHERE action = 'config.reload'")"
lt_wait 10 status_is c /healthz 200 || lt_fail "gateway c down after a refused reload"
lt_gw_stop c
# The purge function refuses a keep under a day.
if q "SELECT lt_retention_run(interval '1 hour', 10)" >/dev/null 2>&1; then
  lt_fail "lt_retention_run accepted a keep of one hour"
fi
lt_log "ok"
