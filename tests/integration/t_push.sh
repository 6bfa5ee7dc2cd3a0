#!/usr/bin/env bash
# lt_push, the ward-system sender of the ingest tests and benchmark, on its
# own (no gateway needed): its records are valid canonical records that
# `lienthong check` accepts, deterministic by seed and run id, new dossier
# codes per run, updates that are newer statuses of dossiers already pushed
# along legal moves; and it stays bounded when nobody answers.
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
