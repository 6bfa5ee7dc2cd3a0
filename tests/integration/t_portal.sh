#!/usr/bin/env bash
# The provincial-portal client (gateway/lt_portal.c) alone, driven by
# lt_portalctl against lt_simpeer --role portal: login, create then update
# (isUpdating), "already exists" resent as an update, session expiry and a
# new login, bad credentials and bad fields as dead letters with the answer,
# 503 and timeouts to be retried, a batch of 10 with one key that stays the
# same when the batch is retried after a lost answer, the simulator's _dedup
# view holding each record once, and no password in any log line. No
# database and no gateway.
source "$(dirname "$0")/lib.sh"

ctl=${LT_PORTALCTL:?LT_PORTALCTL must name tests/tools lt_portalctl}
record="$LT_SOURCE_DIR/adapters/dialects/examples/canonical/01-dang-xu-ly.canonical.json"

lt_portal_sim_start p
cport=${LT_SIM_CTL[p]}

ctlpost() { curl -sf -m 5 -X POST "http://127.0.0.1:$cport/_control" -d "$1" >/dev/null; }
view() { lt_sim_view p "$1" 5; }

export "${LT_PORTAL_ENV[@]}" LIENTHONG_LOG_LEVEL=debug
cd "$LT_TMP"

# items FILE SEQ:CODE:KNOWN...: an items file with the example record under
# each code.
items() {
  local f=$1; shift
  local arr='[]'
  for spec in "$@"; do
    IFS=: read -r seq code known <<<"$spec"
    arr=$(jq -c --argjson s "$seq" --arg c "$code" --argjson k "$known" --slurpfile r "$record" \
      '. + [{seq: $s, code: $c, known: $k, record: ($r[0] | .MaHoSo = $c
             | .QuaTrinhXuLy |= map(.MaHoSo = $c))}]' <<<"$arr")
  done
  echo "$arr" >"$f"
}
run=0
# send FILE: runs lt_portalctl; its results in $LT_TMP/r.N.json, its log in
# r.N.err; prints the results file name.
send() {
  run=$((run + 1))
  "$ctl" "$1" >"$LT_TMP/r.$run.json" 2>"$LT_TMP/r.$run.err" || lt_fail "lt_portalctl failed: $(cat "$LT_TMP/r.$run.err")"
  echo "$LT_TMP/r.$run.json"
}
verdicts() { jq -r .verdict "$1" | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' '; }
last_calls() { view "/_received?since=0&limit=100000" | jq -c "[.calls[] | select(.path == \"/sync\")] | .[-$1:]"; }

A=000.00.06.H56-240101-0001
B=000.00.06.H56-240101-0002
C=000.00.06.H56-240101-0003

# Create, then update.
items i1.json "1:$A:false"
r=$(send i1.json)
lt_assert_eq "delivered" "$(jq -r .verdict "$r")" "a new record is delivered"
lt_assert_eq "0" "$(jq -r .error_code "$r")" "its error_code"
lt_assert_eq '[{"isUpdating":"False","idempotency_key":"lt-1","service":"DongBoHoSoMC","madonvi":"000.00.00.H56"}]' \
  "$(last_calls 1 | jq -c 'map({isUpdating, idempotency_key, service, madonvi})')" "created with isUpdating False and key lt-1"
lt_assert_eq 1 "$(view /_stats | jq .logins)" "one login"
items i2.json "2:$A:true"
r=$(send i2.json)
lt_assert_eq "delivered" "$(jq -r .verdict "$r")" "an update is delivered"
lt_assert_eq '"True lt-2"' "$(last_calls 1 | jq '.[0] | "\(.isUpdating) \(.idempotency_key)"')" "sent with isUpdating True"

# What the portal got is the record: as stored when the dialect maps it to
# itself (sent as the stored text), mapped when it does not (a history entry
# with no time gets the time of sending, "fill_now").
lt_assert_eq "$(jq -S -c .[0].record i2.json)" "$(view "/_latest?MaHoSo=$A" | jq -S -c .record)" \
  "a record the dialect maps to itself arrives as stored"
D=000.00.06.H56-240101-0004
jq -c --arg c "$D" 'map(.seq = 9 | .code = $c | .known = false
  | .record.MaHoSo = $c | .record.QuaTrinhXuLy |= map(.MaHoSo = $c)
  | .record.QuaTrinhXuLy[1].ThoiDiemXuLy = "")' i2.json >i2d.json
r=$(send i2d.json)
lt_assert_eq "delivered" "$(jq -r .verdict "$r")" "a record with a history entry without time is delivered"
got=$(view "/_latest?MaHoSo=$D" | jq -c .record)
t=$(jq -r '.QuaTrinhXuLy[1].ThoiDiemXuLy' <<<"$got")
[[ $t =~ ^[0-9]{14}$ ]] || lt_fail "the time of sending filled in: got '$t'"
lt_assert_eq "$(jq -S -c '.[0].record | del(.QuaTrinhXuLy[1].ThoiDiemXuLy)' i2d.json)" \
  "$(jq -S -c 'del(.QuaTrinhXuLy[1].ThoiDiemXuLy)' <<<"$got")" "the rest of the mapped record as stored"

# The portal already has it: resent as an update with the same key.
items i3.json "3:$A:false"
r=$(send i3.json)
lt_assert_eq "delivered" "$(jq -r .verdict "$r")" "an existing record is delivered as an update"
lt_assert_eq '["2 False lt-3","0 True lt-3"]' \
  "$(last_calls 2 | jq -c 'map("\(.error_code) \(.isUpdating) \(.idempotency_key)")')" "exists, then resent as update"

# The session expires after one call: the second batch logs in again.
ctlpost '{"session_calls": 1}'
logins=$(view /_stats | jq .logins)
items i4.json "4:$B:false" "5:$C:false"
r=$(send i4.json)
lt_assert_eq "delivered=2" "$(verdicts "$r")" "both delivered across a session expiry"
lt_assert_eq $((logins + 2)) "$(view /_stats | jq .logins)" "logged in again once"
lt_assert_eq '["0","-1","0"]' "$(last_calls 3 | jq -c 'map(.error_code)')" "expired, then taken"
ctlpost '{"session_calls": 0}'

# Bad credentials and bad fields: dead letters with the portal's answer.
items i5.json "6:$B:true"
r=$(LIENTHONG_PORTAL_PASSWORD=wrong-pass-9 send i5.json)
lt_assert_eq "dead 1" "$(jq -r '"\(.verdict) \(.error_code)"' "$r")" "bad credentials"
lt_assert_eq "1" "$(jq -r '.answer | fromjson | .error_code' "$r")" "the login answer is kept"
ctlpost '{"error_code": "3"}'
r=$(send i5.json)
lt_assert_eq "dead 3 200" "$(jq -r '"\(.verdict) \(.error_code) \(.http_status)"' "$r")" "bad fields: a 200 that is not a delivery"
lt_assert_eq "3" "$(jq -r '.answer | fromjson | .error_code' "$r")" "the sync answer is kept"
ctlpost '{"error_code": null}'

# 503 and a timeout: to be retried.
ctlpost '{"status": 503}'
r=$(send i5.json)
lt_assert_eq "retry 503" "$(jq -r '"\(.verdict) \(.http_status)"' "$r")" "503 is retried"
ctlpost '{"status": 0, "timeout": true, "only_path": "/sync"}'
r=$(LIENTHONG_PORTAL_TIMEOUT=1s send i5.json)
lt_assert_eq "retry 0" "$(jq -r '"\(.verdict) \(.http_status)"' "$r")" "a timeout is retried"
ctlpost '{"timeout": false, "only_path": null}'
r=$(send i5.json)
lt_assert_eq "delivered" "$(jq -r .verdict "$r")" "delivered once the portal is well"

# A batch of 10 with one key; its answer is lost (applied, then 503), the
# same batch is sent again with the same key, meets "exists", is resent as
# an update and delivered. The portal has each record once.
export LIENTHONG_PORTAL_BATCH_SIZE=10
specs=()
for i in $(seq 0 9); do specs+=("$((100 + i)):000.00.06.H56-240102-010$i:false"); done
items i6.json "${specs[@]}"
ctlpost '{"status": 503, "after_apply": true, "for_calls": 1, "only_path": "/sync"}'
r=$(send i6.json)
lt_assert_eq "retry=10" "$(verdicts "$r")" "the lost answer: all ten to be retried"
r=$(send i6.json)
lt_assert_eq "delivered=10" "$(verdicts "$r")" "the retried batch is delivered"
calls=$(last_calls 3)
lt_assert_eq 10 "$(jq '.[0].MaHoSo | length' <<<"$calls")" "ten records in one call"
lt_assert_eq 1 "$(jq '[.[].idempotency_key] | unique | length' <<<"$calls")" "one key for the batch and its retries"
lt_assert_contains "$(jq -r '.[0].idempotency_key' <<<"$calls")" "lt-b-" "a batch key"
lt_assert_eq '["503","2","0"]' "$(jq -c 'map(if .status == 503 then "503" else .error_code end)' <<<"$calls")" \
  "lost answer, then exists, then taken as update"
key=$(jq -r '.[0].idempotency_key' <<<"$calls")
lt_assert_eq 10 "$(view /_dedup | jq --arg k "$key" '[.records[] | select(.idempotency_key == $k)] | length')" \
  "_dedup holds each record of the batch once"
lt_assert_eq 10 "$(view /_dedup | jq --arg k "$key" '[.records[] | select(.idempotency_key == $k) | .MaHoSo] | unique | length')" \
  "ten distinct records"
lt_assert_eq 1 "$(view /_dedup | jq --arg a "$A" '[.records[] | select(.MaHoSo == $a and .idempotency_key == "lt-3")] | length')" \
  "the record resent as update is there once"

# With portal.progress the history follows the delivered record, under a key
# of its own derived from the record's (a portal keeping answers by key alone
# must not answer it with the record's).
unset LIENTHONG_PORTAL_BATCH_SIZE
D=000.00.06.H56-240103-0001
items i7.json "200:$D:false"
r=$(LIENTHONG_PORTAL_PROGRESS=true send i7.json)
lt_assert_eq "delivered" "$(jq -r .verdict "$r")" "record and history delivered"
calls=$(last_calls 2)
lt_assert_eq '["DongBoHoSoMC lt-200","CapNhatTienDoHoSoMC lt-200.progress"]' \
  "$(jq -c 'map("\(.service) \(.idempotency_key)")' <<<"$calls")" "the progress call follows with its own key"
want=$(jq '.QuaTrinhXuLy | length' "$record")
lt_assert_eq "$want" "$(view /_records | jq --arg d "$D" '[.records[] | select(.MaHoSo == $d and .service == "CapNhatTienDoHoSoMC")] | length')" \
  "every history entry reached the portal"

# No password in any log line of any run.
if grep -l -e matkhau -e wrong-pass-9 "$LT_TMP"/r.*.err; then lt_fail "a password reached a log"; fi
grep -q '"logged in"\|logged in' "$LT_TMP/r.1.err" || lt_fail "the client's log is empty (is log.level debug?)"

kill -TERM "${LT_SIM_PID[p]}"
lt_wait 10 bash -c "! kill -0 ${LT_SIM_PID[p]}" || lt_fail "the simulator did not stop"
lt_log "ok"
