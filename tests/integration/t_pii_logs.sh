#!/usr/bin/env bash
# Personal data never reaches logs (issue 9, Decree 13/2023): records full of
# citizen ID numbers (12-digit CCCD, 9-digit CMND), phone numbers, e-mail
# addresses and Vietnamese names go through every path — accepted over HTTP
# and the ZeroMQ ingress, rejected (invalid field holding a phone number,
# unknown procedure, malformed JSON, a foreign unit's dossier), delivered to
# a portal simulator that answers 422 (→ dead letter), the gateway killed
# with SIGKILL mid-delivery and restarted, replayed, and the operator's
# commands (rejects list, deadletters list|show, replay, status, check) —
# at log level debug; then every byte of output (gateway logs, simulator
# logs and output, the commands' stderr and their listings) is searched for
# each value: none may appear.
source "$(dirname "$0")/lib.sh"

zreq=${LT_ZMQREQ:?LT_ZMQREQ must name the lt_zmqreq tool}
EX=$LT_SOURCE_DIR/schemas/examples
lt_pg_start pg
lt_ingest_fixture 2>"$LT_TMP/cli-fixture.err"
lt="$LIENTHONG_BIN"
q() { lt_psql "$LT_PG_URL" "$1"; }
# sql_is SQL OP VALUE: the query's answer compared by test(1), asked anew each time (lt_wait).
sql_is() { [ "$(q "$1")" "$2" "$3" ]; }
export LIENTHONG_LOG_LEVEL=debug

# The personal data: each value must never be seen outside the database.
CCCD=079203004567 CMND=025123456 PHONE=0912345678 PHONE2=0387654321
EMAIL=tran.thi.binh@example.vn EMAIL2=hung.nguyen84@gmail.com
NAME="Đặng Thị Mỹ Duyên" NAME2="Võ Quang Khải"
VALUES=("$CCCD" "$CMND" "$PHONE" "$PHONE2" "$EMAIL" "$EMAIL2" "$NAME" "$NAME2")

# record CODE [jq filter]: the example, its personal fields filled, free
# text carrying more.
record() {
  jq -c --arg c "$1" --arg id "$CCCD" --arg cmnd "$CMND" --arg ph "$PHONE" --arg ph2 "$PHONE2" \
    --arg em "$EMAIL" --arg em2 "$EMAIL2" --arg n "$NAME" --arg n2 "$NAME2" \
    '.MaHoSo = $c | .ChuHoSo = $n | .SoGiayToChuHoSo = $id | .DinhDanhCHS = [$id]
     | .SoDienThoai = $ph | .Email = $em
     | if .QuaTrinhXuLy then .QuaTrinhXuLy |= map(.MaHoSo = $c
         | .NoiDungXuLy = "Liên hệ \($n2), CMND \($cmnd), ĐT \($ph2), \($em2)") else . end
     | '"${2:-.}" "$EX/valid/02-duoc-tiep-nhan-truc-tiep.json"
}
ward=$LT_PARENT_TOKEN # 244, canonical records
push() { # FILE [TOKEN]: the status
  curl -s -m 10 -o "$LT_TMP/push.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer ${2:-$ward}" --data-binary "@$1" "$(lt_url gw /v1/dossiers)"
}

# ---- a portal that refuses everything with 422 ----------------------------
lt_portal_sim_start p
cport=${LT_SIM_CTL[p]}
lt_sim_control p '{"status": 422, "only_path": "/sync"}'
GW_ENV=("${LT_PORTAL_ENV[@]}")
lt_gw_start gw "${GW_ENV[@]}"
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"

# ---- accept (HTTP, ZeroMQ) -------------------------------------------------------
record 000.00.06.H56-240701-0001 >"$LT_TMP/a1.json"
lt_assert_eq 200 "$(push "$LT_TMP/a1.json")" "accepted push: $(cat "$LT_TMP/push.out")"
jq -s -c '.' <(record 000.00.06.H56-240701-0002) <(record 000.00.06.H56-240701-0003) >"$LT_TMP/a2.json"
lt_assert_eq 200 "$(push "$LT_TMP/a2.json")" "accepted batch"
record 000.00.06.H56-240701-0004 >"$LT_TMP/z1.json"
"$zreq" "${LT_GW_INGRESS[gw]}" --token "$ward" --timeout-ms 20000 "$LT_TMP/z1.json" >"$LT_TMP/z1.out" ||
  lt_fail "ZeroMQ push"
jq -e '.results[0].result == "accepted"' "$LT_TMP/z1.out" >/dev/null || lt_fail "ZeroMQ push: $(cat "$LT_TMP/z1.out")"

# ---- reject ----------------------------------------------------------------------
record 000.00.06.H56-240701-0101 ".NgayHenTra = \"$PHONE\"" >"$LT_TMP/r1.json"
lt_assert_eq 422 "$(push "$LT_TMP/r1.json")" "invalid date holding a phone number"
record 000.00.06.H56-240701-0102 '.MaTTHC = "9.999999"' >"$LT_TMP/r2.json"
lt_assert_eq 422 "$(push "$LT_TMP/r2.json")" "unknown procedure"
record 000.00.06.H56-240701-0103 ".SoGiayToChuHoSo = \"$CCCD$CCCD\" | .Email = {\"x\": \"$EMAIL\"}" >"$LT_TMP/r3.json"
lt_assert_eq 422 "$(push "$LT_TMP/r3.json")" "personal fields of the wrong shape"
head -c 300 "$LT_TMP/a1.json" >"$LT_TMP/r4.json" # cut: not JSON
lt_assert_eq 400 "$(push "$LT_TMP/r4.json")" "malformed JSON"
record 000.01.22.H56-240701-0105 >"$LT_TMP/r5.json" # 08707's: foreign to the ward
lt_assert_eq 403 "$(push "$LT_TMP/r5.json")" "a foreign unit's dossier"
printf '{"MaHoSo": "000.00.06.H56-240701-0106", "ChuHoSo": "%s \xff", "SoDienThoai": "%s"}' \
  "$NAME" "$PHONE" >"$LT_TMP/r6.json"
lt_assert_eq 400 "$(push "$LT_TMP/r6.json")" "invalid UTF-8"
"$zreq" "${LT_GW_INGRESS[gw]}" --token "$ward" --timeout-ms 20000 "$LT_TMP/r1.json" >/dev/null ||
  lt_fail "ZeroMQ reject"
lt_assert_eq 401 "$(push "$LT_TMP/a1.json" "lt_0123456789_$CCCD")" "a token made of an ID number"

# ---- deliver → 422 → dead letters; a crash in the middle ------------------------
lt_wait 60 sql_is "SELECT count(*) FROM outbox WHERE state = 'dead'" -ge 2 ||
  lt_fail "no dead letters: $(q "SELECT state, count(*) FROM outbox GROUP BY 1")"
record 000.00.06.H56-240701-0201 >"$LT_TMP/c1.json"
lt_assert_eq 200 "$(push "$LT_TMP/c1.json")" "push before the crash"
kill -KILL "${LT_GW_PID[gw]}"
wait "${LT_GW_PID[gw]}" 2>/dev/null || true
mv "$LT_TMP/gw.log" "$LT_TMP/gw-before-crash.log"
lt_gw_start gw "${GW_ENV[@]}"
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready after the crash"
record 000.00.06.H56-240701-0202 >"$LT_TMP/c2.json"
lt_assert_eq 200 "$(push "$LT_TMP/c2.json")" "push after the crash"
lt_wait 90 sql_is "SELECT count(*) FROM outbox WHERE state = 'dead'
  AND dossier_code = '000.00.06.H56-240701-0202'" -ge 1 ||
  lt_fail "dead letters after the restart: $(q "SELECT state, count(*) FROM outbox GROUP BY 1")"

# The refusals came from the sync call itself (the login went through).
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE state = 'dead' AND last_error LIKE 'login%'")" \
  "dead letters refused at login"

# ---- reads and the operator's commands ------------------------------------------
op=$LT_OPERATOR_TOKEN
for path in /v1/dossiers/000.00.06.H56-240701-0001 /v1/events /v1/rejects /v1/deadletters /v1/status /metrics; do
  curl -s -m 10 -o /dev/null -H "Authorization: Bearer $op" "$(lt_url gw "$path")"
done
cli() { # NAME ARGS...: stdout to cli-NAME.out, stderr to cli-NAME.err
  local name=$1; shift
  "$lt" "$@" >"$LT_TMP/cli-$name.out" 2>"$LT_TMP/cli-$name.err" || true
}
cli rejects-list rejects list
cli rejects-list-json rejects list --json
cli dl-list deadletters list
cli dl-list-json deadletters list --json
dead=$(q "SELECT min(id) FROM outbox WHERE state = 'dead'")
cli dl-show deadletters show "$dead"
cli dl-show-json deadletters show "$dead" --json
cli replay replay --destination portal --all
cli status status
cli status-json status --json
cli check check "$LT_TMP/r1.json"
cli check-json check --json "$LT_TMP/r3.json"
cli check-bad check "$LT_TMP/r4.json"
rid=$(q "SELECT min(id) FROM rejects")
# `rejects show` prints the payload on purpose (operators resubmit from
# it): only its stderr is searched.
"$lt" rejects show "$rid" >/dev/null 2>"$LT_TMP/cli-rejects-show.err" || true
"$lt" rejects resubmit "$rid" >/dev/null 2>"$LT_TMP/cli-resubmit.err" || true
# The operator's actions are in the audit log, by the OS user.
lt_assert_eq 1 "$(q "SELECT count(*) FROM audit_log WHERE action = 'deadletter.replay'
  AND actor LIKE 'cli:%' AND target = 'portal' AND (detail->>'replayed')::int >= 1")" "replay audited"
lt_assert_eq 1 "$(q "SELECT count(*) FROM audit_log WHERE action = 'reject.resubmit'
  AND actor LIKE 'cli:%' AND target = '$rid'")" "resubmit audited"
curl -sf -m 5 -X POST "http://127.0.0.1:$cport/_control" -d '{"status": 0}' >/dev/null || true
lt_gw_stop gw TERM

# ---- nothing personal anywhere ---------------------------------------------------
# Check the search works: the records on disk do hold every value.
for v in "${VALUES[@]}"; do
  grep -qF -- "$v" "$LT_TMP/a1.json" || lt_fail "the test's records lack $v"
done
# Listings of the reject payloads and deadletter records are masked, and the
# database holds the originals (so the masking was not the input's doing).
lt_assert_eq t "$(q "SELECT bool_and(position('$CCCD' in convert_from(payload, 'UTF8')) > 0)
  FROM rejects WHERE channel = 'http' AND dossier_code = '000.00.06.H56-240701-0101'")" "payload stored whole"
# Logs and stderr: no value at all. The operator's listings and `deadletters
# show` (the record, masked, on stdout): none of the values masking can
# recognise — ID numbers, phones, e-mails anywhere, names in the personal
# fields; a name inside free text (NAME2, in NoiDungXuLy) is beyond any
# pattern and stays readable there, to operators only.
logs=("$LT_TMP"/gw*.log "$LT_TMP"/p.log "$LT_TMP"/p.out "$LT_TMP"/p.err "$LT_TMP"/cli-*.err)
shown=("$LT_TMP"/cli-rejects-list*.out "$LT_TMP"/cli-dl-*.out "$LT_TMP"/cli-replay.out
       "$LT_TMP"/cli-status*.out)
files=("${logs[@]}" "${shown[@]}")
leaks=0
for v in "${VALUES[@]}"; do
  where=("${files[@]}")
  [ "$v" = "$NAME2" ] && where=("${logs[@]}")
  if grep -lF -- "$v" "${where[@]}" >"$LT_TMP/leak.txt"; then
    while read -r f; do
      lt_log "LEAK of [$v] in $(basename "$f"): $(grep -F -m 2 -- "$v" "$f" | head -c 400)"
    done <"$LT_TMP/leak.txt"
    leaks=$((leaks + 1))
  fi
done
lines=$(cat "${files[@]}" | wc -l)
[ "$lines" -ge 50 ] || lt_fail "only $lines lines of output searched: is the log empty?"
lt_assert_eq 0 "$leaks" "personal values found in $lines lines of output"
lt_log "ok: ${#VALUES[@]} values, ${#files[@]} files, $lines lines, none leaked"
