#!/usr/bin/env bash
# tests/sim/lt_simpeer, the systems delivery talks to, driven with curl: the
# portal's national dossier-sync protocol (login, sessions that expire by
# use, by time and on command, "already exists", bad fields, unknown
# service, bad credentials, progress calls, codes as numbers), every fault
# switch (latency, 5xx ratio with a seed, a fixed status, after the call
# was applied, for N calls, on one path, never answering, dropping, down),
# what /_received, /_records, /_dedup, /_latest and /_stats report, the
# parent's contract answers, the ward and webhook receivers, the bounds,
# keep-alive under lt_simpeer_load, and clean exits on SIGTERM. No database
# and no gateway: this is the simulator's own test.
source "$(dirname "$0")/lib.sh"

peer=${LT_SIMPEER:?LT_SIMPEER must name tests/sim lt_simpeer}
load=${LT_SIMPEER_LOAD:?LT_SIMPEER_LOAD must name tests/sim lt_simpeer_load}

# peer_start NAME ROLE [ARGS]: lt_sim_start, and its port file is its start line.
peer_start() {
  lt_sim_start "$@"
  local name=$1 role=$2
  lt_assert_eq "$role" "$(jq -r .role "$LT_TMP/$name.port")" "role in the port file"
  lt_assert_eq "$(jq -c . "$LT_TMP/$name.port")" "$(head -1 "$LT_TMP/$name.out" | jq -c .)" \
    "the port file holds the start line"
}
# peer_stop NAME: SIGTERM, a bounded wait, exit 0 and the final line.
peer_stop() {
  local pid=${LT_SIM_PID[$1]} rc=0
  kill -TERM "$pid"
  lt_wait 10 bash -c "! kill -0 $pid" || lt_fail "simulator $1 did not stop on SIGTERM"
  wait "$pid" || rc=$?
  lt_assert_eq 0 "$rc" "exit status of simulator $1"
  grep -q '"msg":"simpeer: stopped"' "$LT_TMP/$1.err" || lt_fail "simulator $1: no stop line"
  lt_check_sanitizer "$LT_TMP/$1.err"
}
# svc NAME PATH [curl args]: calls the service port; prints "STATUS BODY"
# (STATUS 000 when no answer came; the curl exit code is in $LT_TMP/rc).
svc() {
  local name=$1 path=$2; shift 2
  local status rc=0
  status=$(curl -s -m 5 -o "$LT_TMP/body" -w '%{http_code}' "$@" \
    "http://127.0.0.1:${LT_SIM_PORT[$name]}$path") || rc=$?
  echo "$rc" >"$LT_TMP/rc"
  echo "$status $(cat "$LT_TMP/body" 2>/dev/null)"
}
post() { # NAME PATH JSON [curl args]
  local name=$1 path=$2 body=$3; shift 3
  svc "$name" "$path" -X POST -H 'Content-Type: application/json' --data-binary "$body" "$@"
}
ctl() { # NAME JSON: a control command that must succeed
  local out
  out=$(curl -s -m 10 -w ' %{http_code}' -X POST --data-binary "$2" \
    "http://127.0.0.1:${LT_SIM_CTL[$1]}/_control")
  [ "${out##* }" = 200 ] || lt_fail "control $2 on $1: $out"
}
peer_view() { curl -s -m 10 "http://127.0.0.1:${LT_SIM_CTL[$1]}$2"; }
peer_stat() { peer_view "$1" /_stats | jq -r "$2"; }
code_of() { sed 's/^[0-9]* //' <<<"$1" | jq -r .error_code; }

# ---- 0. usage: refused at start -------------------------------------------------
for args in "--role nobody" "--role portal --listen 10.1.2.3:0" "--role ward --threads 0" ""; do
  rc=0
  # shellcheck disable=SC2086
  "$peer" $args --max-seconds 1 >/dev/null 2>&1 || rc=$?
  lt_assert_eq 2 "$rc" "usage error for [$args]"
done

# ---- 1. portal: login, sync, the protocol's answers ---------------------------
peer_start portal portal --username cong --password matkhau --session-calls 3
portal_login() { post portal /login '{"username": "cong", "password": "matkhau"}' | sed 's/^200 //' | jq -r .session; }
portal_sync() { # SESSION SERVICE ISUPDATING DATA KEY: prints the answer's error_code
  local body
  body=$(jq -nc --arg s "$1" --arg v "$2" --arg u "$3" --argjson d "$4" \
    '{session: $s, madonvi: "000.00.00.H56", service: $v, isUpdating: $u, data: $d}')
  code_of "$(post portal /sync "$body" -H "Idempotency-Key: $5")"
}
rec() { # CODE STATUS: one record
  jq -nc --arg c "$1" --arg s "$2" '{MaHoSo: $c, MaTTHC: "1.000046.000.00.00.H56", TrangThaiHoSo: $s, ChuHoSo: "Nguyễn Văn A"}'
}

out=$(post portal /login '{"username": "cong", "password": "sai"}')
lt_assert_eq "200 1" "${out%% *} $(code_of "$out")" "bad credentials"
s1=$(portal_login)
[ -n "$s1" ] && [ "$s1" != null ] || lt_fail "login gave no session"
lt_assert_eq 0 "$(portal_sync "$s1" DongBoHoSoMC False "[$(rec A-0001 2)]" k1)" "first create"
lt_assert_eq 2 "$(portal_sync "$s1" DongBoHoSoMC False "[$(rec A-0001 2)]" k2)" "create of a dossier it has: already exists"
lt_assert_eq 0 "$(portal_sync "$s1" DongBoHoSoMC True "[$(rec A-0001 4)]" k3)" "update"
# The session served three calls (--session-calls 3): the fourth is refused.
lt_assert_eq -1 "$(portal_sync "$s1" DongBoHoSoMC True "[$(rec A-0001 4)]" k4)" "session expired by use"
lt_assert_eq -1 "$(portal_sync "$s1" DongBoHoSoMC True "[$(rec A-0001 4)]" k4)" "an expired session stays expired"
lt_assert_eq -1 "$(portal_sync no-such-session DongBoHoSoMC True "[$(rec A-0001 4)]" k4)" "unknown session"
s2=$(portal_login)
[ "$s2" != "$s1" ] || lt_fail "a new login gave the old session"
# isUpdating "True" for a dossier it does not have: created (the default switch).
lt_assert_eq 0 "$(portal_sync "$s2" DongBoHoSoMC True "[$(rec B-0001 2), $(rec B-0002 2)]" k5)" "update of an unknown dossier creates it"
# A bad record refuses the whole batch; nothing of it is stored.
bad=$(jq -nc '{MaHoSo: "C-0001", TrangThaiHoSo: "2"}')
lt_assert_eq 3 "$(portal_sync "$s2" DongBoHoSoMC False "[$(rec C-0002 2), $bad]" k6)" "record without MaTTHC"
s3=$(portal_login)
lt_assert_eq 3 "$(portal_sync "$s3" DongBoHoSoMC False '[{"MaTTHC": "1.1"}]' k7)" "record without MaHoSo"
lt_assert_eq 3 "$(portal_sync "$s3" DongBoHoSoMC Maybe "[$(rec C-0003 2)]" k8)" "isUpdating neither True nor False"
lt_assert_eq 4 "$(portal_sync "$s3" LayHoSo False "[$(rec C-0004 2)]" k9)" "unknown service"
lt_assert_eq 404 "$(svc portal '/_latest?MaHoSo=C-0002' | cut -d' ' -f1)" "the service port has no control paths"
lt_assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${LT_SIM_CTL[portal]}/_latest?MaHoSo=C-0002")" \
  "nothing of a refused batch is stored"
s4=$(portal_login)
hist='[{"MaHoSo": "A-0001", "TrangThai": "2", "ThoiDiemXuLy": "20250701080000"},
       {"MaHoSo": "A-0001", "TrangThai": "4", "ThoiDiemXuLy": "20250701090000"}]'
lt_assert_eq 0 "$(portal_sync "$s4" CapNhatTienDoHoSoMC "" "$hist" k10)" "progress call"
# The same event again (same key): stored, and marked as a duplicate.
lt_assert_eq 0 "$(portal_sync "$s4" DongBoHoSoMC True "[$(rec B-0001 4)]" k11)" "update B-0001"
s5=$(portal_login)
lt_assert_eq 0 "$(portal_sync "$s5" DongBoHoSoMC True "[$(rec B-0001 4)]" k11)" "the same event resent"

# What it saw.
lt_assert_eq "A-0001 4 True k3" "$(peer_view portal '/_latest?MaHoSo=A-0001' | jq -r '.record | "\(.MaHoSo) \(.TrangThaiHoSo)"') $(peer_view portal /_records | jq -r '[.records[] | select(.MaHoSo == "A-0001" and .service == "DongBoHoSoMC")] | last | "\(.isUpdating) \(.idempotency_key)"')" \
  "latest record of A-0001 and its last arrival"
lt_assert_eq "Nguyễn Văn A" "$(peer_view portal '/_latest?MaHoSo=A-0001' | jq -r .record.ChuHoSo)" "the whole record is kept"
lt_assert_eq "A-0001:2:False:k1 A-0001:4:True:k3 B-0001:2:True:k5 B-0002:2:True:k5 A-0001:2:-:k10 A-0001:4:-:k10 B-0001:4:True:k11 B-0001:4:True:k11" \
  "$(peer_view portal /_records | jq -r '[.records[] | "\(.MaHoSo):\(.TrangThaiHoSo // .TrangThai):\(.isUpdating // "-"):\(.idempotency_key)"] | join(" ")')" \
  "records in arrival order"
lt_assert_eq "false false false false false false false true" \
  "$(peer_view portal /_records | jq -r '[.records[].duplicate] | map(tostring) | join(" ")')" "duplicate flags"
lt_assert_eq "A-0001:k1 A-0001:k3 B-0001:k5 B-0002:k5 A-0001:k10 A-0001:k10 B-0001:k11" \
  "$(peer_view portal /_dedup | jq -r '[.records[] | "\(.MaHoSo):\(.idempotency_key)"] | join(" ")')" "the de-duplicated view"
lt_assert_eq "8 7 1" "$(peer_stat portal '"\(.records) \(.unique) \(.duplicates)"')" "record counters"
calls=$(peer_view portal /_received)
lt_assert_eq "$(seq -s' ' 1 "$(jq '.calls | length' <<<"$calls")")" "$(jq -r '[.calls[].n] | map(tostring) | join(" ")' <<<"$calls")" \
  "calls numbered in arrival order"
lt_assert_eq "5 1" "$(peer_stat portal '"\(.logins) \(.login_failures)"')" "login counters"
lt_assert_eq "11 1 3 3 1" "$(peer_stat portal '.by_error_code | "\(.["0"]) \(.["2"]) \(.["-1"]) \(.["3"]) \(.["4"])"')" "answers by error_code"
lt_assert_eq "k2 2 A-0001" "$(jq -r '.calls[] | select(.error_code == "2") | "\(.idempotency_key) \(.error_code) \(.MaHoSo[0])"' <<<"$calls")" \
  "a refused call in /_received, with its key and codes"
lt_assert_eq "DongBoHoSoMC True 000.00.00.H56" \
  "$(jq -r '.calls[] | select(.idempotency_key == "k5") | "\(.service) \(.isUpdating) \(.madonvi)"' <<<"$calls")" "a call's protocol fields"
# Personal data stays out of the log file.
if grep -q 'Nguyễn' "$LT_TMP/portal.log"; then lt_fail "a record's personal data reached the log"; fi

# Sessions expired on command, and by time.
s6=$(portal_login)
ctl portal '{"expire_sessions": true}'
lt_assert_eq -1 "$(portal_sync "$s6" DongBoHoSoMC True "[$(rec A-0001 4)]" k12)" "sessions expired on command"
ctl portal '{"session_calls": 0, "session_seconds": 2}'
s7=$(portal_login)
lt_assert_eq 0 "$(portal_sync "$s7" DongBoHoSoMC True "[$(rec A-0001 4)]" k13)" "a fresh session"
expired() { [ "$(portal_sync "$s7" DongBoHoSoMC True "[$(rec A-0001 4)]" k14)" = -1 ]; }
lt_wait 10 expired || lt_fail "the session did not expire by time"
# The switches: refuse updates of unknown dossiers, codes as numbers, "00".
ctl portal '{"session_seconds": 0, "update_missing": "refuse"}'
s8=$(portal_login)
lt_assert_eq 3 "$(portal_sync "$s8" DongBoHoSoMC True "[$(rec D-0001 2)]" k15)" "update of an unknown dossier refused"
ctl portal '{"numeric_codes": true, "success_code": "00"}'
out=$(post portal /login '{"username": "cong", "password": "matkhau"}')
lt_assert_eq "number 0" "$(sed 's/^200 //' <<<"$out" | jq -r '.error_code | "\(type) \(.)"')" "numeric error_code"
ctl portal '{"numeric_codes": false}'
lt_assert_eq "00" "$(code_of "$(post portal /login '{"username": "cong", "password": "matkhau"}')")" "success code 00"
# A forced error_code: sync calls only; logins still work.
ctl portal '{"error_code": "3"}'
s9=$(portal_login)
[ -n "$s9" ] && [ "$s9" != null ] || lt_fail "login under a forced error_code"
lt_assert_eq 3 "$(portal_sync "$s9" DongBoHoSoMC True "[$(rec A-0001 4)]" k16)" "forced error_code"
lt_assert_eq "error_code false" "$(peer_view portal /_received | jq -r '.calls[-1] | "\(.fault) \(.applied)"')" "forced code recorded as a fault"
# Faults on one path only: the login answers, the sync call fails.
ctl portal '{"reset": true}'
lt_assert_eq 0 "$(peer_stat portal .calls)" "reset forgets what was seen"
ctl portal '{"status": 503, "only_path": "/sync"}'
out=$(post portal /login '{"username": "cong", "password": "matkhau"}')
lt_assert_eq 200 "${out%% *}" "login while /sync fails"
s10=$(sed 's/^200 //' <<<"$out" | jq -r .session)
lt_assert_eq 503 "$(post portal /sync "{\"session\": \"$s10\"}" | cut -d' ' -f1)" "sync under only_path"
peer_stop portal

# ---- 2. faults, on the ward receiver -------------------------------------------
peer_start ward ward
ev() { jq -nc --arg c "$1" --arg s "${2:-9}" '{MaHoSo: $c, TrangThaiHoSo: $s, KetQua: "đã xử lý"}'; }
lt_assert_eq '200 {"ok":true}' "$(post ward /callback/000.01.22.H56 "$(ev W-1)" -H 'Idempotency-Key: e1' -H 'Authorization: Bearer abc')" "ward callback"
lt_assert_eq "/callback/000.01.22.H56 e1 application/json Bearer abc W-1 9" \
  "$(peer_view ward /_received | jq -r '.calls[0] | "\(.path) \(.idempotency_key) \(.content_type) \(.authorization) \(.body.MaHoSo) \(.body.TrangThaiHoSo)"')" \
  "what the ward receiver stored"
lt_assert_eq 400 "$(post ward /cb 'not json' | cut -d' ' -f1)" "malformed JSON"
lt_assert_eq 405 "$(svc ward /cb | cut -d' ' -f1)" "GET"

# Latency: the call is held (in flight) and answered after the delay.
ctl ward '{"latency_ms": 2500}'
( curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST --data-binary "$(ev W-2)" \
    "http://127.0.0.1:${LT_SIM_PORT[ward]}/cb" >"$LT_TMP/slow.out" ) &
slow=$!
held() { [ "$(peer_stat ward .in_flight)" = 1 ]; }
lt_wait 5 held || lt_fail "the delayed call was not held"
wait "$slow"
read -r code t <"$LT_TMP/slow.out" || true # (no newline after curl -w)
lt_assert_eq 200 "$code" "the delayed call's answer"
# curl measures from its own start, the simulator from the request it read:
# a few ms either way are not the point, holding the call is.
awk -v t="$t" 'BEGIN { exit !(t >= 2.4) }' || lt_fail "answered before latency_ms ($t s)"
ctl ward '{"latency_ms": 0}'

# A fixed status, not applied; with after_apply, applied and still failed.
n0=$(peer_stat ward .records)
out=$(post ward /cb "$(ev W-3)" -H 'Idempotency-Key: e3' -D "$LT_TMP/headers")
lt_assert_eq 200 "${out%% *}" "before the status fault"
ctl ward '{"status": 503}'
out=$(post ward /cb "$(ev W-4)" -H 'Idempotency-Key: e4' -D "$LT_TMP/headers")
lt_assert_eq 503 "${out%% *}" "status fault"
grep -qi '^Retry-After: 1' "$LT_TMP/headers" || lt_fail "503 without Retry-After"
lt_assert_eq "$((n0 + 1))" "$(peer_stat ward .records)" "a failed call is not applied"
lt_assert_eq "503 status false" "$(peer_view ward /_received | jq -r '.calls[-1] | "\(.status) \(.fault) \(.applied)"')" "the failed call in /_received"
ctl ward '{"status": 500, "after_apply": true}'
lt_assert_eq 500 "$(post ward /cb "$(ev W-5)" -H 'Idempotency-Key: e5' | cut -d' ' -f1)" "status after apply"
lt_assert_eq "W-5 500 true" "$(peer_view ward /_received | jq -r '.calls[-1] | "\(.MaHoSo[0]) \(.status) \(.applied)"')" "applied, answered 500"
lt_assert_eq "W-5" "$(peer_view ward /_records | jq -r '.records[-1].MaHoSo')" "the record of a call whose answer failed"
# for_calls: the next N calls fail, then the faults switch themselves off.
ctl ward '{"reset": true}'
ctl ward '{"status": 429, "for_calls": 2}'
got=""
for i in 1 2 3 4; do got="$got $(post ward /cb "$(ev W-6)" | cut -d' ' -f1)"; done
lt_assert_eq " 429 429 200 200" "$got" "a fault for two calls"
lt_assert_eq "0 0" "$(peer_view ward /_control | jq -r '"\(.status) \(.for_calls)"')" "faults off after for_calls"

# error_ratio: the same seed fails the same calls.
ratio_run() {
  ctl ward '{"reset": true}'
  ctl ward '{"error_ratio": 0.4, "seed": 42}'
  local s=""
  for i in $(seq 1 30); do s="$s$(post ward /cb "$(ev W-7)" | cut -d' ' -f1 | cut -c1)"; done
  echo "$s"
}
r1=$(ratio_run)
r2=$(ratio_run)
lt_assert_eq "$r1" "$r2" "error_ratio with a seed is deterministic"
fails=$(tr -cd 5 <<<"$r1" | wc -c)
[ "$fails" -gt 3 ] && [ "$fails" -lt 27 ] || lt_fail "error_ratio 0.4 failed $fails of 30 calls ($r1)"
lt_assert_eq "$fails $((30 - fails))" "$(peer_stat ward '"\(.by_fault.error_ratio) \(.by_status["200"])"')" "error_ratio counted"
r3=$(ctl ward '{"reset": true}'; ctl ward '{"error_ratio": 0.4, "seed": 43}'
  for i in $(seq 1 30); do post ward /cb "$(ev W-7)" | cut -d' ' -f1 | cut -c1; done | tr -d '\n')
[ "$r3" != "$r1" ] || lt_fail "another seed failed the same calls"
ctl ward '{"reset": true}'

# Never answering: the client gives up; the simulator closes its end then.
ctl ward '{"timeout": true}'
rc=0
curl -s -m 1 -o /dev/null -X POST --data-binary "$(ev W-8)" "http://127.0.0.1:${LT_SIM_PORT[ward]}/cb" || rc=$?
lt_assert_eq 28 "$rc" "curl timed out"
released() { [ "$(peer_stat ward '"\(.in_flight) \(.open_connections)"')" = "0 0" ]; }
lt_wait 10 released || lt_fail "the hanging call was not released after the client left"
lt_assert_eq "0 timeout" "$(peer_view ward /_received | jq -r '.calls[-1] | "\(.status) \(.fault)"')" "timeout recorded"
# Dropping: the connection closes without an answer.
ctl ward '{"timeout": false, "drop": true}'
post ward /cb "$(ev W-9)" >/dev/null
lt_assert_eq 52 "$(cat "$LT_TMP/rc")" "curl saw an empty reply"
# Down: connections refused while the control port answers; back on the same port.
ctl ward '{"drop": false, "down": true}'
post ward /cb "$(ev W-10)" >/dev/null
lt_assert_eq 7 "$(cat "$LT_TMP/rc")" "connection refused while down"
lt_assert_eq true "$(peer_stat ward .down)" "down in /_stats"
ctl ward '{"down": false}'
lt_assert_eq 200 "$(post ward /cb "$(ev W-11)" | cut -d' ' -f1)" "up again on the same port"
# SIGTERM while a call hangs: the simulator still exits at once, cleanly.
ctl ward '{"timeout": true}'
( curl -s -m 60 -o /dev/null -X POST --data-binary '{}' "http://127.0.0.1:${LT_SIM_PORT[ward]}/cb" || true ) &
hanging=$!
lt_wait 5 held || lt_fail "the call did not hang"
peer_stop ward
wait "$hanging"

# ---- 3. the parent: our own contract -------------------------------------------
peer_start parent parent --token tok-district
dossier() { jq -nc --arg c "$1" --arg s "$2" '{MaHoSo: $c, MaTTHC: "2.000908", TrangThaiHoSo: $s}'; }
auth=(-H 'Authorization: Bearer tok-district')
out=$(post parent /v1/dossiers "$(dossier P-1 2)" -D "$LT_TMP/headers")
lt_assert_eq 401 "${out%% *}" "no token"
grep -qi '^WWW-Authenticate: Bearer' "$LT_TMP/headers" || lt_fail "401 without WWW-Authenticate"
lt_assert_eq 415 "$(svc parent /v1/dossiers -X POST "${auth[@]}" -H 'Content-Type: text/plain' --data-binary "$(dossier P-1 2)" | cut -d' ' -f1)" "not JSON"
out=$(post parent /v1/dossiers "$(dossier P-1 2)" "${auth[@]}" -H 'Idempotency-Key: 101')
lt_assert_eq '200 {"results":[{"MaHoSo":"P-1","result":"accepted","sequence":1}]}' "$out" "one record accepted"
out=$(post parent /v1/dossiers "$(dossier P-1 2)" "${auth[@]}" -H 'Idempotency-Key: 101')
lt_assert_eq '200 {"results":[{"MaHoSo":"P-1","result":"duplicate","sequence":1}]}' "$out" "the same record again: duplicate"
out=$(post parent /v1/dossiers "[$(dossier P-1 4), {\"MaTTHC\": \"2.000908\"}, $(dossier P-2 2)]" "${auth[@]}" -H 'Idempotency-Key: 102-103')
lt_assert_eq "200 accepted:2 rejected:0 accepted:3" \
  "${out%% *} $(sed 's/^200 //' <<<"$out" | jq -r '[.results[] | "\(.result):\(.sequence // 0)"] | join(" ")')" "an array, one rejected"
out=$(post parent /v1/dossiers '{"MaTTHC": "2.000908"}' "${auth[@]}")
lt_assert_eq "422 MaHoSo" "${out%% *} $(sed 's/^422 //' <<<"$out" | jq -r .error.field)" "one record refused"
big=$(jq -nc '[range(1001) | {MaHoSo: "P-\(.)", MaTTHC: "2.000908", TrangThaiHoSo: "2"}]')
lt_assert_eq 413 "$(post parent /v1/dossiers "$big" "${auth[@]}" | cut -d' ' -f1)" "1,001 records"
lt_assert_eq "P-1:accepted:101 P-1:duplicate:101 P-1:accepted:102-103 P-2:accepted:102-103" \
  "$(peer_view parent /_records | jq -r '[.records[] | "\(.MaHoSo):\(.result):\(.idempotency_key)"] | join(" ")')" "parent records with their keys"
lt_assert_eq "3 1" "$(peer_stat parent '"\(.unique) \(.duplicates)"')" "parent de-duplication"
lt_assert_eq 4 "$(peer_view parent '/_latest?MaHoSo=P-1' | jq -r .record.TrangThaiHoSo)" "parent's latest record"
peer_stop parent

# ---- 4. the webhook: any JSON, keys and de-duplication ----------------------------
peer_start hook webhook --max-stored 5
note() { jq -nc --arg c "$1" '{event: "status_changed", MaHoSo: $c, TrangThaiHoSo: "9", kenh: "zalo"}'; }
post hook /notify "$(note H-1)" -H 'Idempotency-Key: n1' >/dev/null
post hook /notify "$(note H-1)" -H 'Idempotency-Key: n1' >/dev/null
post hook /notify "$(note H-1)" -H 'Idempotency-Key: n2' >/dev/null
post hook /notify '{"batch": true}' -H 'Idempotency-Key: n3' >/dev/null
post hook /notify "$(note H-2)" >/dev/null
lt_assert_eq "H-1:n1 H-1:n2 null:n3 H-2:null" \
  "$(peer_view hook /_dedup | jq -r '[.records[] | "\(.MaHoSo):\(.idempotency_key)"] | join(" ")')" "webhook de-duplicated view"
lt_assert_eq "5 4 1 1" "$(peer_stat hook '"\(.records) \(.unique) \(.duplicates) \(.without_key)"')" "webhook counters"
# Bounded: --max-stored 5 keeps five calls, counts the rest.
for i in 1 2 3; do post hook /notify "$(note H-3)" -H "Idempotency-Key: m$i" >/dev/null; done
lt_assert_eq "8 5 true" "$(peer_stat hook '"\(.calls) \(.stored_calls) \(.truncated)"')" "the call list is bounded"
lt_assert_eq "5 true" "$(peer_view hook /_received | jq -r '"\(.calls | length) \(.truncated)"')" "the bounded view says so"
lt_assert_eq "2 3" "$(peer_view hook '/_received?since=2&limit=3' | jq -r '"\(.calls[0].n - 1) \(.calls | length)"')" "paging"
peer_stop hook

# ---- 5. keep-alive under load ----------------------------------------------------
peer_start loadp portal --lean
out=$("$load" --url "http://127.0.0.1:${LT_SIM_PORT[loadp]}/sync" --shape portal \
  --login "http://127.0.0.1:${LT_SIM_PORT[loadp]}/login" --requests 3000 --concurrency 8 --deadline 120) ||
  lt_fail "lt_simpeer_load failed: $out"
lt_assert_eq "3000 3000 0" "$(jq -r '"\(.requests) \(.ok) \(.failed)"' <<<"$out")" "load run"
lt_assert_eq "3001 3000 3000" "$(peer_stat loadp '"\(.calls) \(.records) \(.unique)"')" "the simulator saw every call"
conns=$(peer_stat loadp .connections)
[ "$conns" -le 12 ] || lt_fail "3,000 calls took $conns connections: keep-alive is not working"
lt_log "load: $(jq -c . <<<"$out"), $conns connections"
peer_stop loadp

lt_log "ok"
