#!/usr/bin/env bash
# A group commit that fails is never acknowledged: a fault injected in
# PostgreSQL for one dossier sinks the transaction its push shared with
# another sender's; the writer retries each push alone, so the other one is
# accepted and only the faulty one is answered with an error (500, without
# the server's message, which could quote personal data).
source "$(dirname "$0")/lib.sh"

EX=$LT_SOURCE_DIR/schemas/examples
lt_pg_start pg
lt_ingest_fixture
token=$LT_PARENT_TOKEN
rec=$EX/valid/09-da-xu-ly-xong.json
one() { # CODE FILE: a copy of the example record under another dossier code
  jq --arg c "$1" '.MaHoSo = $c | .QuaTrinhXuLy[].MaHoSo = $c' "$rec" >"$2"
}
one 000.00.06.H56-241031-0501 "$LT_TMP/slow.json"
one 000.00.06.H56-241031-0502 "$LT_TMP/bad.json"
one 000.00.06.H56-241031-0503 "$LT_TMP/good.json"
# The faults: the slow dossier holds the first transaction long enough for
# the two others to queue behind it and share the next one; the bad one
# fails whatever transaction holds it.
lt_psql "$LT_PG_URL" "
CREATE FUNCTION lt_test_fault() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  IF NEW.code = '000.00.06.H56-241031-0501' THEN PERFORM pg_sleep(1.5); END IF;
  IF NEW.code = '000.00.06.H56-241031-0502' THEN
    RAISE EXCEPTION 'injected fault for %, Nguyễn Thị Ánh', NEW.code;
  END IF;
  RETURN NEW;
END \$\$;
CREATE TRIGGER lt_test_fault BEFORE INSERT ON dossiers FOR EACH ROW EXECUTE FUNCTION lt_test_fault();" >/dev/null

lt_gw_start gw LIENTHONG_LOG_LEVEL=debug
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"
post() { # FILE OUT
  curl -s -m 20 -o "$2" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $token" --data-binary "@$1" "$(lt_url gw /v1/dossiers)" >"$2.status"
}
post "$LT_TMP/slow.json" "$LT_TMP/slow.out" &
slow=$!
sleep 0.5
post "$LT_TMP/bad.json" "$LT_TMP/bad.out" &
bad=$!
post "$LT_TMP/good.json" "$LT_TMP/good.out" &
good=$!
wait "$slow" "$bad" "$good"

lt_assert_eq 200 "$(cat "$LT_TMP/slow.out.status")" "the slow push"
lt_assert_eq 200 "$(cat "$LT_TMP/good.out.status")" "the good push, retried alone ($(cat "$LT_TMP/good.out"))"
lt_assert_eq accepted "$(jq -r .results[0].result "$LT_TMP/good.out")" "the good record"
lt_assert_eq 500 "$(cat "$LT_TMP/bad.out.status")" "the faulty push ($(cat "$LT_TMP/bad.out"))"
case "$(cat "$LT_TMP/bad.out")" in *injected* | *Nguy*) lt_fail "the server's message reached the sender" ;; esac
# It really was one transaction that failed and was split: the log says so.
grep -q 'batch of 2 push(es)' "$LT_TMP/gw.log" || lt_fail "the two pushes never shared a batch"
lt_assert_eq "000.00.06.H56-241031-0501,000.00.06.H56-241031-0503" \
  "$(lt_psql "$LT_PG_URL" "SELECT string_agg(code, ',' ORDER BY code) FROM dossiers")" "what was stored"
lt_assert_eq t "$(lt_psql "$LT_PG_URL" "SELECT max(seq) = count(*) FROM dossier_events")" "gap-free after the rollback"
lt_gw_stop gw
if grep -q -e 'Nguyễn' -e 'injected fault' "$LT_TMP/gw.log"; then
  lt_fail "the server's message (personal data) reached the log"
fi
lt_log "ok"
