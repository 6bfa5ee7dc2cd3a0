#!/usr/bin/env bash
# lt_push, the ward-system sender of the ingest tests and benchmark. On its
# own: its records are valid canonical records that `lienthong check`
# accepts, deterministic by seed and run id, new dossier codes per run,
# updates that are newer statuses of dossiers already pushed along legal
# moves; it stays bounded when nobody answers. Against the real gateway: what
# it counts and logs as accepted is what was stored, once.
source "$(dirname "$0")/lib.sh"

push=${LT_PUSH:?LT_PUSH must name the lt_push binary}
agency=000.02.22.H56
procs=(--procedure 2.001001 --procedure 1.001019 --procedure 2.001008.000.00.00.H56)

# ---- records: valid, ~1.5 KB, checked by the real validator ----------------
"$push" --dry-run --unit-agency "$agency" "${procs[@]}" --count 3000 --batch 1000 --updates 30 \
  --seed 7 --run-id 1000 >"$LT_TMP/bodies.txt" || lt_fail "dry run failed"
lt_assert_eq 3 "$(wc -l <"$LT_TMP/bodies.txt")" "request bodies of 1000 records"
for i in 1 2 3; do
  sed -n "${i}p" "$LT_TMP/bodies.txt" >"$LT_TMP/body$i.json"
  out=$("$LIENTHONG_BIN" check --json "$LT_TMP/body$i.json") ||
    lt_fail "lienthong check rejected records of request $i: $(jq -c '[.results[] | select(.result != "accepted")][0:3]' <<<"$out")"
  lt_assert_eq 1000 "$(jq '[.results[] | select(.result == "accepted")] | length' <<<"$out")" \
    "valid records in request $i"
done
jq -c '.[]' "$LT_TMP"/body[123].json >"$LT_TMP/records.jsonl"
mean=$(awk '{ n++; s += length($0) } END { printf "%d", s / n }' "$LT_TMP/records.jsonl")
[ "$mean" -ge 1000 ] && [ "$mean" -le 2500 ] || lt_fail "mean record size $mean is not ~1.5 KB"
lt_log "3000 records valid, mean $mean characters"

# Personal data that looks real: a 12-digit CCCD, a 10-digit phone, a name.
jq -e -s 'all(.[]; (.SoGiayToChuHoSo | test("^[0-9]{10,12}$"))
              and (.SoDienThoai | test("^0[35789][0-9]{8}$"))
              and (.ChuHoSo | test(" ")) and (.MaHoSo | startswith("000.02.22.H56-")))' \
  "$LT_TMP/records.jsonl" >/dev/null || lt_fail "records without plausible personal data"
jq -e -s '[.[] | .MaHoSo | test("^000\\.02\\.22\\.H56-[0-9]{6}-[0-9]{7}$")] | all' \
  "$LT_TMP/records.jsonl" >/dev/null || lt_fail "dossier codes not {agency}-{yyMMdd}-{NNNNNNN}"

# ---- updates: P % of pushes are the next status of a dossier pushed before -----
# Each repeat of a code has one more history entry, a later latest time, and
# leaves a status that is not terminal (3, 7, 8, 10): the writer must accept it.
jq -s -r '
  def latest: [.QuaTrinhXuLy[].ThoiDiemXuLy, .NgayTiepNhan, .NgayKetThucXuLy, .NgayTra,
               .NgayTuChoi] | map(select(. != "")) | max;
  reduce .[] as $r ({seen: {}, updates: 0, bad: []};
    ($r.MaHoSo) as $c | if .seen[$c] then
      .updates += 1
      | (.seen[$c]) as $p
      | if ($r.QuaTrinhXuLy | length) != ($p.n + 1) or ($r | latest) <= $p.t
           or (["3", "7", "8", "10"] | any(. == $p.s)) then .bad += [$c] else . end
      | .seen[$c] = {n: ($r.QuaTrinhXuLy | length), t: ($r | latest), s: $r.TrangThaiHoSo}
    else .seen[$c] = {n: ($r.QuaTrinhXuLy | length), t: ($r | latest), s: $r.TrangThaiHoSo} end)
  | "\(.updates) \(.bad | length) \(.seen | length)"' "$LT_TMP/records.jsonl" >"$LT_TMP/updates.txt"
read -r updates bad distinct <"$LT_TMP/updates.txt"
lt_assert_eq 0 "$bad" "updates that are not a newer legal status"
[ "$updates" -ge 600 ] && [ "$updates" -le 1200 ] || lt_fail "expected ~30 % updates of 3000, got $updates"
lt_assert_eq 3000 "$((updates + distinct))" "new dossiers + updates"
lt_log "$updates updates of $distinct dossiers, all newer legal statuses"

# ---- determinism and codes per run --------------------------------------------
"$push" --dry-run --unit-agency "$agency" "${procs[@]}" --count 3000 --batch 1000 --updates 30 \
  --seed 7 --run-id 1000 | cmp -s - "$LT_TMP/bodies.txt" || lt_fail "same seed and run id, other bytes"
"$push" --dry-run --unit-agency "$agency" "${procs[@]}" --count 200 --batch 200 --seed 8 \
  --run-id 1000 >"$LT_TMP/seed8.json"
"$push" --dry-run --unit-agency "$agency" "${procs[@]}" --count 200 --batch 200 --seed 7 \
  --run-id 1000 >"$LT_TMP/seed7.json"
lt_assert_eq "$(jq -c '[.[].MaHoSo]' "$LT_TMP/seed7.json")" "$(jq -c '[.[].MaHoSo]' "$LT_TMP/seed8.json")" \
  "codes depend on the run id only"
cmp -s "$LT_TMP/seed7.json" "$LT_TMP/seed8.json" && lt_fail "another seed gave the same records"
# Run ids 1 apart never share a code below 100,000 records a run; the same
# run id with an offset inside the range does (the check can see overlaps).
jq -r .MaHoSo "$LT_TMP/records.jsonl" | sort -u >"$LT_TMP/codes1000"
"$push" --dry-run --unit-agency "$agency" "${procs[@]}" --count 1000 --batch 1000 \
  --run-id 1001 | jq -r '.[].MaHoSo' | sort >"$LT_TMP/codes1001"
lt_assert_eq 0 "$(comm -12 "$LT_TMP/codes1000" "$LT_TMP/codes1001" | wc -l)" "codes shared by runs 1000 and 1001"
"$push" --dry-run --unit-agency "$agency" "${procs[@]}" --count 1000 --batch 1000 \
  --run-id 1000 --seed 99 | jq -r '.[].MaHoSo' | sort >"$LT_TMP/codes1000b"
lt_assert_eq 1000 "$(comm -12 "$LT_TMP/codes1000" "$LT_TMP/codes1000b" | wc -l)" "codes of one run id"
# By default the run id is the start time in seconds: two runs in different
# seconds push different dossiers.
a=$("$push" --dry-run --unit-agency "$agency" "${procs[@]}" --count 1 | jq -r .MaHoSo)
sleep 1.1
b=$("$push" --dry-run --unit-agency "$agency" "${procs[@]}" --count 1 | jq -r .MaHoSo)
[ "$a" != "$b" ] || lt_fail "two runs pushed the same dossier code $a"

# ---- bounded when nobody answers ------------------------------------------------
# HTTP to a closed port: every request a transport error, counted, not acked.
out=$(timeout 30 "$push" --http http://127.0.0.1:1 --token t --unit-agency "$agency" "${procs[@]}" \
  --senders 4 --batch 10 --count 200 --ack-log "$LT_TMP/ack.log" --json) ||
  lt_fail "lt_push against a closed port exited $?"
lt_assert_eq "0 200 20" "$(jq -r '"\(.results.accepted) \(.unacknowledged) \(.transport_errors)"' <<<"$out")" \
  "accepted, unacknowledged, transport errors with nobody listening"
[ ! -s "$LT_TMP/ack.log" ] || lt_fail "records acknowledged by nobody"
# --retry keeps resending the same records; --deadline ends it (exit 3).
rc=0
timeout 30 "$push" --http http://127.0.0.1:1 --unit-agency "$agency" "${procs[@]}" --senders 2 \
  --count 10 --retry --deadline 1 --json >"$LT_TMP/retry.json" || rc=$?
lt_assert_eq 3 "$rc" "exit status when the deadline cuts a run short"
jq -e '.retries > 0 and .cut_short and .records_sent == 2' "$LT_TMP/retry.json" >/dev/null ||
  lt_fail "retries did not resend the same records: $(cat "$LT_TMP/retry.json")"
# ZeroMQ towards nobody: requests time out, each on a fresh socket.
out=$(timeout 30 "$push" --zmq tcp://127.0.0.1:1 --unit-agency "$agency" "${procs[@]}" --senders 3 \
  --seconds 1 --timeout-ms 300 --json) || lt_fail "lt_push over ZeroMQ to nobody exited $?"
jq -e '.timeouts >= 3 and .results.accepted == 0 and .unacknowledged == .records_sent' \
  <<<"$out" >/dev/null || lt_fail "ZeroMQ time-outs not counted: $out"
lt_log "bounded with nobody answering"

# ---- against the real gateway: what lt_push counts is what was stored -----------
lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
"$LIENTHONG_BIN" migrate >/dev/null 2>&1 || lt_fail "migrate"
"$LIENTHONG_BIN" units import "$LT_SOURCE_DIR/deploy/units/example-3tier.json" >/dev/null ||
  lt_fail "units import"
cat >"$LT_TMP/catalog.json" <<'EOF'
[{"MATTHC": "2.001001", "TENTTHC": "Đăng ký khai sinh", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}]},
 {"MATTHC": "1.001019", "TENTTHC": "Đăng ký kết hôn", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}]},
 {"MATTHC": "2.001008.000.00.00.H56", "TENTTHC": "Chứng thực bản sao", "TRANGTHAI": "1", "CAPTHUCHIEN": [{"CAPTHUCHIEN": "3"}]}]
EOF
"$LIENTHONG_BIN" catalog sync --file "$LT_TMP/catalog.json" >/dev/null 2>&1 || lt_fail "catalog sync"
token=$("$LIENTHONG_BIN" token create --unit 08710 --role ward | tail -n 1)
lt_gw_start gw
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"
ack=$LT_TMP/acks.txt
gw_push() { # RUN-ID TRANSPORT ENDPOINT ARGS...
  local run=$1 tr=$2 ep=$3
  shift 3
  timeout 120 "$push" "$tr" "$ep" --token "$token" --unit-agency "$agency" "${procs[@]}" \
    --run-id "$run" --seed "$run" --deadline 100 --json "$@"
}
# One record a request over HTTP, arrays of 20 over ZeroMQ; 30 % updates.
http=$(gw_push 2000 --http "$(lt_url gw "")" --senders 4 --batch 1 --count 300 --updates 30 \
  --ack-log "$ack") || lt_fail "lt_push over HTTP: $http"
zmq=$(gw_push 2001 --zmq "${LT_GW_INGRESS[gw]}" --senders 4 --batch 20 --count 600 --updates 30 \
  --ack-log "$ack") || lt_fail "lt_push over ZeroMQ: $zmq"
for out in "$http" "$zmq"; do
  jq -e '.results.accepted == .records_sent and .results.rejected == 0 and .unacknowledged == 0
         and .updates_sent > 0 and .ack_lines == .results.accepted and .latency_ms.p50 > 0' \
    <<<"$out" >/dev/null || lt_fail "lt_push's counts: $out"
done
lt_assert_eq 900 "$(wc -l <"$ack")" "ack log lines for 900 accepted records"
lt_acks_stored "$ack"
lt_assert_eq 900 "$(lt_psql "$LT_PG_URL" "SELECT count(*) FROM dossier_events WHERE kind = 'dossier'")" \
  "events for 900 acknowledgements"
updated=$(lt_psql "$LT_PG_URL" "SELECT count(*) FROM (SELECT dossier_code FROM dossier_events
  WHERE kind = 'dossier' GROUP BY 1 HAVING count(*) > 1) x")
[ "$updated" -gt 0 ] || lt_fail "no dossier got a newer status"
# The HTTP run again without updates: its first pushes come back duplicate
# (unchanged since) or stale (updated since); nothing is written or logged.
again=$(gw_push 2000 --http "$(lt_url gw "")" --senders 2 --batch 50 --count 200 \
  --ack-log "$ack") || lt_fail "lt_push again: $again"
jq -e '.results.accepted == 0 and .results.duplicate + .results.stale == 200
       and .results.duplicate > 0 and .results.stale > 0' <<<"$again" >/dev/null ||
  lt_fail "a repeated run: $again"
lt_assert_eq 900 "$(wc -l <"$ack")" "ack log lines after a repeated run"
lt_assert_eq 900 "$(lt_psql "$LT_PG_URL" "SELECT count(*) FROM dossier_events WHERE kind = 'dossier'")" \
  "events after a repeated run"
lt_log "against the gateway: 900 accepted, $updated dossiers updated, each logged and stored once"
