#!/usr/bin/env bash
# The delivery outbox on a real PostgreSQL, events written by pushing through
# the real gateway (3-tier example tree; ward 08707's district-level
# procedure 1.001193 has competent unit 243): routing legs (portal, liên
# thông up to unit:243, unrouted until 243 has a URL, the ward callback only
# for changes sent by 243 and only when 08707 has a URL, webhook only on a
# status change); claiming (coalescing, per-dossier order, two concurrent
# sessions get disjoint rows, a killed claiming transaction loses nothing);
# outcomes (retry, dead with the answer kept, reclaim after a stale
# heartbeat); `deadletters list|show` and `replay` with their exit codes.
source "$(dirname "$0")/lib.sh"

lt_pg_start pg
lt_ingest_fixture
ward=$("$LIENTHONG_BIN" token create --unit 08707 --role ward | tail -n 1)
district=$("$LIENTHONG_BIN" token create --unit 243 --role parent | tail -n 1)
q() { lt_psql "$LT_PG_URL" "$1"; }
lt="$LIENTHONG_BIN"

q "SELECT lt_destination_upsert('portal', 'portal', 'http://127.0.0.1:9/portal', NULL, NULL)" >/dev/null
q "SELECT lt_destination_upsert('webhook', 'webhook', 'http://127.0.0.1:9/hook', NULL, NULL)" >/dev/null

lt_gw_start gw
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"

EX=$LT_SOURCE_DIR/schemas/examples/valid/02-duoc-tiep-nhan-truc-tiep.json
# rec CODE PROC STATUS STEP: a record of dossier CODE at history step STEP
# (each step one hour later), status STATUS.
rec() {
  jq --arg c "$1" --arg p "$2" --arg s "$3" --argjson n "$4" '
    .MaHoSo = $c | .MaTTHC = $p | .TrangThaiHoSo = $s | .NgayTiepNhan = "20250101080000"
    | .NgayNopHoSo = "20250101073000" | .NgayHenTra = "20250110170000"
    | .QuaTrinhXuLy = [range(0; $n) as $i | .QuaTrinhXuLy[0] | .MaHoSo = $c
        | .ThoiDiemXuLy = "2025010\(1 + $i)090000" | .NgayBatDau = "20250101083000"
        | .TrangThai = (if $i == 0 then "2" else $s end)]' "$EX"
}
# push TOKEN JSON: fails unless every record is accepted.
push() {
  local out
  out=$(curl -s -m 10 -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $1" \
    --data-binary "$2" "$(lt_url gw /v1/dossiers)")
  [ "$(jq -r '[.results[].result] | unique | join(",")' <<<"$out")" = accepted ] ||
    lt_fail "push not accepted: $out"
}
route() { q "SELECT lt_route_events(1000)"; }
rows() { # DOSSIER: "destination:state" of its rows in event order
  q "SELECT string_agg(destination || ':' || state, ' ' ORDER BY event_seq, destination)
     FROM outbox WHERE dossier_code = '$1'"
}

D1=000.01.22.H56-250101-0001 # commune level: competent = receiving
D2=000.01.22.H56-250101-0002 # district level: competent 243

# ---- routing -----------------------------------------------------------------
lt_log "routing"
# The catalog sync's events are passed and go nowhere.
lt_assert_eq "$(q "SELECT count(*) FROM dossier_events WHERE kind = 'catalog'")" "$(route)" "catalog events passed"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox")" "catalog events are not delivered"
push "$ward" "$(rec $D1 2.000908 2 1)"
push "$ward" "$(rec $D2 1.001193 2 1)"
lt_assert_eq "08707|243" "$(q "SELECT receiving_unit, competent_unit FROM dossiers WHERE code = '$D2'")" "D2's units"
lt_assert_eq "08707" "$(q "SELECT DISTINCT sender_unit FROM dossier_events WHERE dossier_code = '$D2'")" "sender stored"
lt_assert_eq 2 "$(route)" "two events routed"
lt_assert_eq 0 "$(route)" "routing again routes nothing"
lt_assert_eq "portal:pending webhook:pending" "$(rows $D1)" "commune-level dossier: portal and webhook only"
lt_assert_eq "portal:pending unit:243:unrouted webhook:pending" "$(rows $D2)" "district-level dossier: liên thông leg unrouted (243 has no URL)"
lt_assert_eq "lt-$(q "SELECT min(seq) FROM dossier_events WHERE dossier_code = '$D2'")" \
  "$(q "SELECT DISTINCT idempotency_key FROM outbox WHERE dossier_code = '$D2'")" "idempotency key"

# A correction with the same status: no webhook.
push "$ward" "$(rec $D2 1.001193 2 1 | jq '.TrichYeuHoSo = "sửa"')"
route >/dev/null
lt_assert_eq "portal:pending unit:243:unrouted webhook:pending portal:pending unit:243:unrouted" \
  "$(rows $D2)" "same status: no webhook row"

# 243 gets a URL: its rows are released.
jq 'map(if .code == "243" then .url = "http://127.0.0.1:9/243" else . end)' \
  "$LT_SOURCE_DIR/deploy/units/example-3tier.json" >"$LT_TMP/units.json"
"$lt" units import "$LT_TMP/units.json" >/dev/null || lt_fail "units import"
lt_assert_eq 2 "$(q "SELECT lt_route_unrouted()")" "two unrouted rows released"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE state = 'unrouted'")" "none left unrouted"
lt_assert_eq "parent|http://127.0.0.1:9/243|243" "$(q "SELECT kind, url, unit_code FROM destinations WHERE name = 'unit:243'")" "unit destination"

# A change made by 243 while 08707 has no URL: portal and webhook only.
push "$district" "$(rec $D2 1.001193 4 2)"
route >/dev/null
lt_assert_eq "243" "$(q "SELECT sender_unit FROM dossier_events WHERE dossier_code = '$D2' ORDER BY seq DESC LIMIT 1")" "sender 243"
last=$(q "SELECT string_agg(destination, ' ' ORDER BY destination) FROM outbox WHERE event_seq = (SELECT max(seq) FROM dossier_events)")
lt_assert_eq "portal webhook" "$last" "change by the competent unit: never back up to it, no ward callback without a URL"
# 08707 gets a callback URL: the next change by 243 goes back down.
jq 'map(if .code == "08707" then .url = "http://127.0.0.1:9/08707" else . end)' "$LT_TMP/units.json" >"$LT_TMP/units2.json"
"$lt" units import "$LT_TMP/units2.json" >/dev/null || lt_fail "units import 2"
push "$district" "$(rec $D2 1.001193 5 3)"
route >/dev/null
last=$(q "SELECT string_agg(destination, ' ' ORDER BY destination) FROM outbox WHERE event_seq = (SELECT max(seq) FROM dossier_events)")
lt_assert_eq "portal ward:08707 webhook" "$last" "change by the competent unit goes back to the ward"
# ... and a ward's change goes up again, not to itself.
push "$ward" "$(rec $D2 1.001193 4 4)"
route >/dev/null
last=$(q "SELECT string_agg(destination, ' ' ORDER BY destination) FROM outbox WHERE event_seq = (SELECT max(seq) FROM dossier_events)")
lt_assert_eq "portal unit:243 webhook" "$last" "the ward's change goes up"

# ---- claiming: coalescing and order --------------------------------------------
lt_log "claiming"
inst=$(q "INSERT INTO gateway_instances (hostname, pid) VALUES ('a', 1) RETURNING id")
# The delivery engine claims with lt_claim_set (0011: 0009's lt_claim in set
# statements, the same contract); LT_CLAIM_FN=lt_claim checks the original.
claim_fn=${LT_CLAIM_FN:-lt_claim_set}
claim() { q "SELECT id || ':' || event_seq || ':' || dossier_code || ':' || status || ':' || is_updating || ':' || superseded FROM $claim_fn('$1', $inst, ${2:-10})"; }
out=$(claim portal)
d2last=$(q "SELECT max(seq) FROM dossier_events WHERE dossier_code = '$D2'")
lt_assert_eq 2 "$(wc -l <<<"$out")" "one row per dossier"
d2row=$(grep ":$D2:" <<<"$out")
lt_assert_eq "$d2last:$D2:4:false:4" "$(cut -d: -f2- <<<"$d2row")" "D2: the newest row, four older ones superseded, not an update"
d2id=${d2row%%:*}
lt_assert_eq "4" "$(q "SELECT count(*) FROM outbox WHERE destination = 'portal' AND dossier_code = '$D2' AND state = 'superseded' AND superseded_by = $d2id")" "superseded by the claimed row"
lt_assert_eq "inflight|$inst" "$(q "SELECT state, claimed_by FROM outbox WHERE id = $d2id")" "claimed row inflight"
# A new event for D2 while its row is inflight: D2 is not claimed again.
push "$ward" "$(rec $D2 1.001193 4 5)"
route >/dev/null
lt_assert_eq "" "$(claim portal)" "a dossier with an inflight row waits"
lt_assert_eq 1 "$(q "SELECT lt_delivered(ARRAY[$d2id])")" "delivered"
out=$(claim portal)
lt_assert_eq "$(q "SELECT max(seq) FROM dossier_events WHERE dossier_code = '$D2'"):$D2:4:true:0" \
  "$(cut -d: -f2- <<<"$out")" "then the next one, as an update"
d2id=${out%%:*}

# ---- retry, dead, replay ----------------------------------------------------------
lt_log "outcomes"
lt_assert_eq t "$(q "SELECT lt_retry($d2id, '1 hour', 'HTTP 503', 503)")" "retry"
lt_assert_eq "retrying|1|503|HTTP 503|" "$(q "SELECT state, attempts, last_status, last_error, claimed_by FROM outbox WHERE id = $d2id")" "retrying row"
push "$ward" "$(rec $D2 1.001193 4 6)"
route >/dev/null
lt_assert_eq "" "$(claim portal)" "a retrying row not yet due holds its dossier back"
q "UPDATE outbox SET next_attempt_at = now() WHERE id = $d2id" >/dev/null
out=$(claim portal)
lt_assert_eq "$D2:true:1" "$(cut -d: -f3,5,6 <<<"$out")" "due again: the newest goes, the retrying one superseded"
d2id=${out%%:*}
answer='{"error_code": "-1", "message": "Số CCCD 001203004567 không hợp lệ"}'
lt_assert_eq t "$(psql "$LT_PG_URL" -qAt -v a="$answer" <<<"SELECT lt_dead($d2id, 'refused: error_code -1', 200, :'a')")" "dead"
lt_assert_eq "dead|1" "$(q "SELECT state, attempts FROM outbox WHERE id = $d2id")" "dead row (a new row: the retried one was superseded)"

out=$("$lt" deadletters list) || lt_fail "deadletters list"
lt_assert_contains "$out" "$D2" "list shows the dead letter"
lt_assert_eq "$d2id portal $D2 1 200" \
  "$("$lt" deadletters list --json --destination portal | jq -r '.deadletters[0] | "\(.id) \(.destination) \(.dossier_code) \(.attempts) \(.status)"')" "list --json"
lt_assert_eq 0 "$("$lt" deadletters list --json --destination webhook | jq '.deadletters | length')" "--destination filters"
show=$("$lt" deadletters show "$d2id") || lt_fail "deadletters show"
lt_assert_contains "$show" "error_code" "show prints the answer"
lt_assert_contains "$show" "refused: error_code -1" "show prints the error"
for secret in 001203004567 "Nguyễn Văn An" "0912 345 678"; do
  case "$show$("$lt" deadletters show "$d2id" --json)" in *"$secret"*) lt_fail "show printed personal data ($secret)" ;; esac
done
lt_assert_eq "$D2 1" "$("$lt" deadletters show "$d2id" --json | jq -r '"\(.record.MaHoSo) \(.attempts)"')" "show --json keeps the codes"
rc=0; "$lt" deadletters show 999999 2>/dev/null || rc=$?
lt_assert_eq 1 "$rc" "show of an unknown id"
rc=0; "$lt" replay --destination webhook --id "$d2id" 2>/dev/null || rc=$?
lt_assert_eq 1 "$rc" "replay --id of another destination"
lt_assert_eq '{"destination":"portal","replayed":1,"superseded":0}' \
  "$("$lt" replay --destination portal --id "$d2id" --json)" "replay --id"
lt_assert_eq "pending|0" "$(q "SELECT state, attempts FROM outbox WHERE id = $d2id")" "replayed row pending, attempts reset"
lt_assert_contains "$("$lt" replay --destination portal --all)" "0 replayed" "replay --all with nothing dead"
# A dead letter older than a delivered row is superseded, not sent again.
out=$(claim portal)
did=${out%%:*}
q "SELECT lt_delivered(ARRAY[$did])" >/dev/null
# D1's row, inflight since the first claim, is refused; a newer D1 row is
# then delivered.
old=$(q "SELECT id FROM outbox WHERE destination = 'portal' AND dossier_code = '$D1'")
lt_assert_eq t "$(q "SELECT lt_dead($old, 'refused', 400, NULL)")" "D1 dead"
push "$ward" "$(rec $D1 2.000908 4 2)"
route >/dev/null
out=$(claim portal)
q "SELECT lt_delivered(ARRAY[${out%%:*}])" >/dev/null
lt_assert_eq '{"destination":"portal","replayed":0,"superseded":1}' \
  "$("$lt" replay --destination portal --all --json)" "an older dead letter is superseded"

for args in "" "frob" "show" "show x" "list --limit 0" "list extra"; do
  rc=0
  # shellcheck disable=SC2086
  LIENTHONG_DATABASE_URL="postgresql:///nowhere?host=/nonexistent" "$lt" deadletters $args >/dev/null 2>&1 || rc=$?
  lt_assert_eq 2 "$rc" "usage error for: deadletters $args"
done
for args in "" "--all" "--destination portal" "--destination portal --all --id 3" "--destination portal --id x"; do
  rc=0
  # shellcheck disable=SC2086
  LIENTHONG_DATABASE_URL="postgresql:///nowhere?host=/nonexistent" "$lt" replay $args >/dev/null 2>&1 || rc=$?
  lt_assert_eq 2 "$rc" "usage error for: replay $args"
done
lt_assert_contains "$("$lt" deadletters --help)" "Exit status" "deadletters --help"
lt_assert_contains "$("$lt" replay --help)" "superseded" "replay --help"

# ---- concurrent claimers -----------------------------------------------------------
lt_log "concurrent claims"
batch=$(for i in $(seq 101 140); do rec "000.01.22.H56-250101-0$i" 2.000908 2 1; done | jq -cs .)
push "$ward" "$batch"
route >/dev/null
inst2=$(q "INSERT INTO gateway_instances (hostname, pid) VALUES ('b', 2) RETURNING id")
# Both hold their transaction open for a while so that the claims overlap.
for s in 1 2; do
  psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 >"$LT_TMP/claim$s.txt" <<SQL &
BEGIN;
SELECT id FROM $claim_fn('webhook', $([ $s = 1 ] && echo "$inst" || echo "$inst2"), 15);
SELECT pg_sleep(1);
COMMIT;
SQL
  pids[$s]=$!
done
wait "${pids[1]}" || lt_fail "claimer 1"
wait "${pids[2]}" || lt_fail "claimer 2"
sort "$LT_TMP/claim1.txt" | grep -v '^$' >"$LT_TMP/c1"; sort "$LT_TMP/claim2.txt" | grep -v '^$' >"$LT_TMP/c2"
lt_assert_eq 15 "$(wc -l <"$LT_TMP/c1")" "claimer 1 got its 15"
lt_assert_eq 15 "$(wc -l <"$LT_TMP/c2")" "claimer 2 got its 15"
lt_assert_eq 0 "$(comm -12 "$LT_TMP/c1" "$LT_TMP/c2" | wc -l)" "disjoint claims"
lt_assert_eq 30 "$(q "SELECT count(*) FROM outbox WHERE destination = 'webhook' AND state = 'inflight'")" "thirty inflight"

# ---- a killed claimer loses nothing ------------------------------------------------
lt_log "killed claimers"
pending_before=$(q "SELECT count(*) FROM outbox WHERE destination = 'webhook' AND state = 'pending'")
psql "$LT_PG_URL" -qAt >/dev/null 2>&1 <<SQL &
SET application_name = 'lt_killed_claimer';
BEGIN;
SELECT id FROM $claim_fn('webhook', $inst, 100);
SELECT pg_sleep(120);
SQL
sleeping() {
  [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lt_killed_claimer' AND query LIKE '%pg_sleep%'")" = 1 ]
}
lt_wait 30 sleeping ||
  lt_fail "the claimer did not get to its sleep"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lt_killed_claimer'" >/dev/null
wait $! 2>/dev/null || true
lt_assert_eq "$pending_before" "$(q "SELECT count(*) FROM outbox WHERE destination = 'webhook' AND state = 'pending'")" \
  "a claim that never committed leaves its rows pending"
# Instance 1 stops heartbeating after its claims committed: reclaim.
q "UPDATE gateway_instances SET heartbeat_at = now() - interval '10 minutes' WHERE id = $inst" >/dev/null
lt_assert_eq 15 "$(q "SELECT lt_reclaim('1 minute')")" "instance 1's fifteen reclaimed"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE claimed_by = $inst AND state = 'inflight'")" "nothing left inflight for it"
lt_assert_eq "15|0" "$(q "SELECT count(*) FILTER (WHERE state = 'retrying'), count(*) FILTER (WHERE state = 'inflight' AND claimed_by = $inst2 IS NOT TRUE) FROM outbox WHERE destination = 'webhook' AND state IN ('retrying', 'inflight')")" \
  "reclaimed rows retrying; instance 2's kept"
out=$(claim webhook 100)
lt_assert_eq $((15 + pending_before)) "$(grep -c . <<<"$out")" "reclaimed and pending rows claimed again"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox o WHERE destination = 'webhook' AND dossier_code LIKE '000.01.22.H56-250101-01%' AND state NOT IN ('inflight')")" \
  "every batch row is inflight: none lost"

lt_gw_stop gw
