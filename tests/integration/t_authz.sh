#!/usr/bin/env bash
# The authorization matrix (issue 9): every role — ward (08707), parent (243,
# whose subtree is 08707 and 08710), operator, reader, no token, a revoked and
# an expired token — against every call of DESIGN.md's auth table: pushes for
# the caller's own unit, a foreign unit (08869, under 244) and a unit of the
# subtree (08710), reads of an own and a foreign dossier, the reconciliation
# list, events, rejects, dead letters and their replay, and the open calls
# (status, metrics, catalog, dashboard, health). The expected status of each
# cell is the table below; every refused request leaves every table's row
# count unchanged (zero cross-unit writes, nothing written by a refusal).
# Then the audit of reads (Decree 13): a ward's, parent's and operator's
# unmasked reads write one `dossier.read` row per dossier per call, a
# reader's masked reads none; replay over ZeroMQ likewise.
source "$(dirname "$0")/lib.sh"

zcat=${LT_ZMQCAT:?LT_ZMQCAT must name tests/tools lt_zmqcat}
EX=$LT_SOURCE_DIR/schemas/examples
lt_pg_start pg
lt_ingest_fixture
lt="$LIENTHONG_BIN"
q() { lt_psql "$LT_PG_URL" "$1"; }
token() { "$lt" token create "$@" --json | jq -r .token; }
declare -A TOK
TOK[ward]=$(token --unit 08707 --role ward)
TOK[parent]=$(token --unit 243 --role parent)
TOK[operator]=$(token --role operator)
TOK[reader]=$(token --role reader)
TOK[none]=""
TOK[revoked]=$(token --unit 08707 --role ward)
TOK[expired]=$(token --unit 08707 --role ward)
"$lt" token revoke "${TOK[revoked]:3:10}" >/dev/null 2>&1 || lt_fail "revoke"
q "UPDATE credentials SET expires_at = now() - interval '1 minute'
   WHERE token_prefix = '${TOK[expired]:3:10}'" >/dev/null

lt_gw_start gw
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"

# A record of the example under another dossier code.
record() {
  jq -c --arg c "$1" '.MaHoSo = $c | if .QuaTrinhXuLy then .QuaTrinhXuLy |= map(.MaHoSo = $c) else . end' \
    "$EX/valid/02-duoc-tiep-nhan-truc-tiep.json"
}
auth() { [ -n "${TOK[$1]}" ] && echo "-HAuthorization: Bearer ${TOK[$1]}" || echo "-HX-None: 1"; }
push_as() { # ROLE CODE: the status of a push
  record "$2" >"$LT_TMP/rec.json"
  curl -s -m 10 -o "$LT_TMP/out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    "$(auth "$1")" --data-binary "@$LT_TMP/rec.json" "$(lt_url gw /v1/dossiers)"
}

# The dossiers read: one of 08707 (pushed by the ward itself: the receiving
# unit is the sender's), one of 08869 (pushed by the fixture's parent 244).
OWN=000.01.22.H56-240601-0001
FOREIGN=000.01.06.H56-240601-0002
TOK[p244]=$LT_PARENT_TOKEN
lt_assert_eq 200 "$(push_as ward "$OWN")" "setup push of $OWN: $(cat "$LT_TMP/out")"
lt_assert_eq 200 "$(push_as p244 "$FOREIGN")" "setup push of $FOREIGN: $(cat "$LT_TMP/out")"
unset 'TOK[p244]'

snap() {
  q "SELECT (SELECT count(*) FROM dossiers) || ' ' || (SELECT count(*) FROM dossier_events) || ' '
     || (SELECT count(*) FROM outbox) || ' ' || (SELECT count(*) FROM audit_log) || ' '
     || (SELECT count(*) FROM credentials) || ' ' || (SELECT count(*) FROM rejects)"
}

# ---- the matrix ----------------------------------------------------------------
# Pushes: own = the caller's unit (the ward's 08707, the parent's own agency
# 243; others try 08707), foreign = 08869, subtree = 08710 (a sibling for the
# ward). Open calls answer 200 whatever the token says.
ACTIONS=(push_own push_foreign push_subtree read_own read_foreign list events rejects
         deadletters replay status metrics catalog dashboard healthz readyz)
declare -A WANT
#                    own fgn sub rOwn rFgn list evts rej dead rply status metrics catalog dash hz rz
WANT[ward]="         200 403 403 200  404  200  200  403 403  403  200    200     200     200  200 200"
WANT[parent]="       200 403 200 200  404  200  200  403 403  403  200    200     200     200  200 200"
WANT[operator]="     403 403 403 200  200  200  200  200 200  200  200    200     200     200  200 200"
WANT[reader]="       403 403 403 200  200  200  200  403 403  403  200    200     200     200  200 200"
WANT[none]="         401 401 401 401  401  401  401  401 401  401  200    200     200     200  200 200"
WANT[revoked]="      401 401 401 401  401  401  401  401 401  401  200    200     200     200  200 200"
WANT[expired]="      401 401 401 401  401  401  401  401 401  401  200    200     200     200  200 200"

n=0
call() { # ROLE ACTION: the status
  local role=$1 a=$2 code
  n=$((n + 1))
  case $a in
  push_own)
    code=000.01.22.H56-240602-$(printf '%04d' "$n")
    [ "$role" = parent ] && code=000.00.22.H56-240602-$(printf '%04d' "$n")
    push_as "$role" "$code" ;;
  push_foreign) push_as "$role" "000.01.06.H56-240602-$(printf '%04d' "$n")" ;;
  push_subtree) push_as "$role" "000.02.22.H56-240602-$(printf '%04d' "$n")" ;;
  *)
    local path method=GET data=()
    case $a in
    read_own) path=/v1/dossiers/$OWN ;;
    read_foreign) path=/v1/dossiers/$FOREIGN ;;
    list) path=/v1/dossiers ;;
    events) path=/v1/events ;;
    rejects) path=/v1/rejects ;;
    deadletters) path=/v1/deadletters ;;
    replay) path=/v1/deadletters/replay method=POST
      data=(-H 'Content-Type: application/json' --data-binary '{"destination":"portal","all":true}') ;;
    status) path=/v1/status ;;
    metrics) path=/metrics ;;
    catalog) path=/v1/catalog ;;
    dashboard) path=/ ;;
    healthz) path=/healthz ;;
    readyz) path=/readyz ;;
    esac
    curl -s -m 10 -o "$LT_TMP/out" -w '%{http_code}' -X "$method" "$(auth "$role")" "${data[@]}" \
      "$(lt_url gw "$path")" ;;
  esac
}

failures=0 cells=0
for role in ward parent operator reader none revoked expired; do
  read -r -a want <<<"${WANT[$role]}"
  [ "${#want[@]}" -eq "${#ACTIONS[@]}" ] || lt_fail "the row of $role has ${#want[@]} cells"
  for i in "${!ACTIONS[@]}"; do
    a=${ACTIONS[$i]}
    before=$(snap)
    got=$(call "$role" "$a")
    after=$(snap)
    cells=$((cells + 1))
    if [ "$got" != "${want[$i]}" ]; then
      lt_log "FAIL $role × $a: expected ${want[$i]}, got $got: $(head -c 300 "$LT_TMP/out")"
      failures=$((failures + 1))
    fi
    if [ "$got" -ge 400 ] && [ "$before" != "$after" ]; then
      lt_log "FAIL $role × $a: refused with $got but the row counts moved: [$before] -> [$after]"
      failures=$((failures + 1))
    fi
    # A 401 says how to authenticate; every refusal is the contract's JSON.
    if [ "$got" = 401 ] || [ "$got" = 403 ]; then
      jq -e '.error.message | length > 0' "$LT_TMP/out" >/dev/null ||
        { lt_log "FAIL $role × $a: $got without a JSON error message"; failures=$((failures + 1)); }
    fi
  done
done
lt_assert_eq 0 "$failures" "cells of the authorization matrix that disagree with DESIGN.md ($cells cells)"
# Nothing of the foreign unit or of the refused pushes was stored.
lt_assert_eq 1 "$(q "SELECT count(*) FROM dossiers WHERE code LIKE '000.01.06.H56-%'")" \
  "dossiers of 08869 (only the fixture's)"
lt_log "authorization matrix: $cells cells as DESIGN.md says"

# ---- the audit of reads -----------------------------------------------------------
prefix() { echo "${TOK[$1]:3:10}"; }
reads_of() { # ACTOR TARGET: dossier.read rows of GET /v1/dossiers/{code}
  q "SELECT count(*) FROM audit_log WHERE action = 'dossier.read' AND actor = '$1' AND target = '$2'
     AND detail->>'via' = 'GET /v1/dossiers/{code}'"
}
# The matrix read OWN once as ward, parent, operator and reader, FOREIGN as
# operator and reader (the ward's and parent's 404s read nothing).
for role in ward parent operator; do
  lt_assert_eq 1 "$(reads_of "token:$(prefix "$role")" "$OWN")" "$role's read of $OWN audited once"
done
lt_assert_eq 0 "$(reads_of "token:$(prefix ward)" "$FOREIGN")" "a refused (404) read audited"
lt_assert_eq 0 "$(q "SELECT count(*) FROM audit_log WHERE actor = 'token:$(prefix reader)'")" \
  "the reader's masked reads audited"
lt_assert_eq t \
  "$(q "SELECT detail = '{\"role\": \"ward\", \"unit\": \"08707\", \"via\": \"GET /v1/dossiers/{code}\"}'::jsonb FROM audit_log WHERE actor = 'token:$(prefix ward)' AND target = '$OWN'
     AND detail->>'via' = 'GET /v1/dossiers/{code}'")" \
  "detail of the ward's read"
# GET /v1/events: one row per dossier the page returned, per call.
a0=$(q "SELECT count(*) FROM audit_log WHERE action = 'dossier.read'")
curl -s -m 10 -o "$LT_TMP/ev.json" -H "Authorization: Bearer ${TOK[operator]}" "$(lt_url gw '/v1/events?limit=1000')"
dossiers=$(jq '[.events[] | select(.kind == "dossier") | .record.MaHoSo] | unique | length' "$LT_TMP/ev.json")
[ "$dossiers" -ge 4 ] || lt_fail "events should carry several dossiers, got $dossiers"
lt_assert_eq "$((a0 + dossiers))" "$(q "SELECT count(*) FROM audit_log WHERE action = 'dossier.read'")" \
  "dossier.read rows after one GET /v1/events"
# A page of one event audits that one dossier only (not the row past the limit).
a0=$(q "SELECT count(*) FROM audit_log WHERE action = 'dossier.read'")
first=$(q "SELECT min(seq) - 1 FROM dossier_events WHERE kind = 'dossier'")
curl -s -m 10 -o "$LT_TMP/ev.json" -H "Authorization: Bearer ${TOK[ward]}" \
  "$(lt_url gw "/v1/events?since=$first&limit=1")"
lt_assert_eq 1 "$(jq '.events | length' "$LT_TMP/ev.json")" "one event on the page"
lt_assert_eq "$((a0 + 1))" "$(q "SELECT count(*) FROM audit_log WHERE action = 'dossier.read'")" \
  "dossier.read rows after a one-event page"
# The reader's events: masked, nothing audited.
a0=$(q "SELECT count(*) FROM audit_log")
curl -s -m 10 -o /dev/null -H "Authorization: Bearer ${TOK[reader]}" "$(lt_url gw /v1/events)"
lt_assert_eq "$a0" "$(q "SELECT count(*) FROM audit_log")" "audit rows after a reader's events"

# ZeroMQ replay: the ward's replay of everything audits its dossiers; a
# reader's audits none.
replay() { # ROLE
  "$zcat" --replay "${LT_GW_REPLAY[gw]}" --timeout-ms 30000 \
    --request "$(jq -cn --arg t "${TOK[$1]}" '{from: 1, prefix: "", token: $t}')" >"$LT_TMP/replay.out" ||
    lt_fail "replay as $1 failed"
}
a0=$(q "SELECT count(*) FROM audit_log WHERE action = 'dossier.read'")
replay ward
want=$(q "SELECT count(DISTINCT dossier_code) FROM dossier_events WHERE unit_code = '08707'")
lt_assert_eq "$((a0 + want))" "$(q "SELECT count(*) FROM audit_log WHERE action = 'dossier.read'")" \
  "dossier.read rows after the ward's replay"
lt_assert_eq "$want" "$(q "SELECT count(*) FROM audit_log WHERE actor = 'token:$(prefix ward)'
  AND detail->>'via' = 'zmq replay'")" "the ward's replay rows"
a0=$(q "SELECT count(*) FROM audit_log")
replay reader
lt_assert_eq "$a0" "$(q "SELECT count(*) FROM audit_log")" "audit rows after a reader's replay"

# Dead-letter replay by the operator (the matrix's POST) is in the log.
lt_assert_eq 1 "$(q "SELECT count(*) FROM audit_log WHERE action = 'deadletter.replay'
  AND actor = 'token:$(prefix operator)' AND target = 'portal'")" "deadletter.replay row"

# The audit log stays append-only for the gateway.
if q "DELETE FROM audit_log" >/dev/null 2>&1; then lt_fail "audit_log rows could be deleted"; fi

lt_gw_stop gw
lt_log "ok"
