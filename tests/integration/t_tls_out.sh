#!/usr/bin/env bash
# Verified TLS on the outbound legs (audit A.6). A throwaway CA (a province's
# private CA) signs a certificate for 127.0.0.1; three lt_simpeer receivers
# speak HTTPS with it: the provincial portal, district 244's gateway (the
# liên thông leg, unit:244) and a webhook sink.
#   1. `serve -n` refuses a CA file that is missing or holds no certificate,
#      naming the key (portal.ca_file, delivery.ca_file).
#   2. With portal.ca_file and delivery.ca_file naming the CA, a ward's
#      district-level dossiers reach all three receivers.
#   3. Without them (the system store, which does not hold this CA) the
#      same calls fail verification: nothing reaches the receivers, the rows
#      are retried, status shows the certificate error on each destination,
#      and past delivery.retry_horizon they are dead letters that say why.
#   4. The CA configured again, a replay delivers them.
source "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || { lt_log "openssl missing (deploy/install-deps.sh installs it)"; exit 77; }
PUSH=${LT_PUSH:?LT_PUSH must name the lt_push tool}
lt="$LIENTHONG_BIN"

# ---- the private CA and the receivers' certificate ------------------------------
pki=$LT_TMP/pki
mkdir -p "$pki"
ossl() { openssl "$@" >>"$pki/openssl.out" 2>&1 || lt_fail "openssl $1: $(tail -3 "$pki/openssl.out")"; }
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lienthong test provincial CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$pki/ca.key" -out "$pki/ca.pem"
ossl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$pki/server.key" -out "$pki/server.csr"
printf 'subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n' \
  >"$pki/server.ext"
ossl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
  -days 2 -extfile "$pki/server.ext" -out "$pki/server.pem"
chmod 600 "$pki/ca.key" "$pki/server.key"
ca=$pki/ca.pem

# ---- 1. serve -n reads the CA files ---------------------------------------------
dry() { # EXPECTED-RC EXPECTED-TEXT VAR=value...
  local want=$1 text=$2; shift 2
  local rc=0 out
  out=$(env LIENTHONG_DATA_DIR="$LT_TMP/dry-data" "$@" "$lt" serve -n 2>&1) || rc=$?
  lt_assert_eq "$want" "$rc" "serve -n with $*: $out"
  lt_assert_contains "$out" "$text" "serve -n with $*"
}
echo "not a certificate" >"$LT_TMP/junk.pem"
dry 0 "configuration OK" LIENTHONG_DELIVERY_CA_FILE="$ca" LIENTHONG_PORTAL_CA_FILE="$ca"
dry 2 "delivery.ca_file: cannot open $LT_TMP/nope.pem" LIENTHONG_DELIVERY_CA_FILE="$LT_TMP/nope.pem"
dry 2 "delivery.ca_file: $LT_TMP/junk.pem holds no PEM certificate" \
  LIENTHONG_DELIVERY_CA_FILE="$LT_TMP/junk.pem"
dry 2 "portal.ca_file: cannot open $LT_TMP/nope.pem" LIENTHONG_PORTAL_CA_FILE="$LT_TMP/nope.pem"
dry 2 "catalog.ca_file: $LT_TMP/junk.pem holds no PEM certificate" \
  LIENTHONG_CATALOG_CA_FILE="$LT_TMP/junk.pem"

# ---- the receivers, over HTTPS ----------------------------------------------------
TLS=(--tls-cert "$pki/server.pem" --tls-key "$pki/server.key")
lt_sim_start p portal --username cong --password matkhau "${TLS[@]}"
lt_sim_start d parent --token tok244 "${TLS[@]}"
lt_sim_start w webhook "${TLS[@]}"
for s in p d w; do
  lt_assert_eq https "$(jq -r .scheme "$LT_TMP/$s.port")" "simulator $s speaks HTTPS"
done
# A client that does not trust the CA is refused by the receiver's TLS (a
# check of the set-up: without it step 3 would prove nothing).
if curl -s -m 5 -o /dev/null -X POST -d '{}' "https://127.0.0.1:${LT_SIM_PORT[w]}/n"; then
  lt_fail "the system store trusts the test CA: step 3 could not fail"
fi
curl -sf -m 5 -o /dev/null --cacert "$ca" -X POST -d '{}' "https://127.0.0.1:${LT_SIM_PORT[w]}/n" ||
  lt_fail "curl --cacert cannot reach the HTTPS webhook simulator"
lt_sim_control w '{"clear": true}'

lt_pg_start pg
lt_ingest_fixture
# District 244's gateway is the parent simulator; no ward callbacks here.
jq --arg url "https://127.0.0.1:${LT_SIM_PORT[d]}" \
  'map(.url = (if .code == "244" then $url else null end) | .dialect = null)' \
  "$LT_SOURCE_DIR/deploy/units/example-3tier.json" >"$LT_TMP/units.json"
"$lt" units import "$LT_TMP/units.json" >/dev/null || lt_fail "units import"
ward_token=$("$lt" token create --unit 08872 --role ward | tail -n 1)

q() { lt_psql "$LT_PG_URL" "$1"; }
DESTS="'portal','unit:244','webhook'"
open_rows() { q "SELECT count(*) FROM outbox WHERE destination IN ($DESTS) AND state IN ('pending','inflight','retrying')"; }
routed() { [ "$(q "SELECT last_seq FROM delivery_router")" = "$(q "SELECT coalesce(max(seq), 0) FROM dossier_events")" ]; }
drained() { routed && [ "$(open_rows)" = 0 ]; }
run=0
push() { # GW COUNT: new district-level dossiers from ward 08872 (district 244)
  run=$((run + 1))
  "$PUSH" --http "$(lt_url "$1" "")" --token "$ward_token" --unit-agency 000.02.06.H56 \
    --procedure 1.001193 --count "$2" --run-id "$run" --seed "$run" --ack-log "$LT_TMP/acks-$run.txt" \
    --json >"$LT_TMP/push-$run.json" 2>"$LT_TMP/push-$run.err" ||
    lt_fail "lt_push failed: $(tail -3 "$LT_TMP/push-$run.err")"
  lt_assert_eq "$2" "$(wc -l <"$LT_TMP/acks-$run.txt")" "run $run: every record accepted"
}
GW_BASE=(LIENTHONG_PORTAL_URL="https://127.0.0.1:${LT_SIM_PORT[p]}" LIENTHONG_PORTAL_USERNAME=cong
  LIENTHONG_PORTAL_PASSWORD=matkhau LIENTHONG_PORTAL_AGENCY=000.00.00.H56 LIENTHONG_PORTAL_TIMEOUT=5s
  LIENTHONG_WEBHOOK_URL="https://127.0.0.1:${LT_SIM_PORT[w]}/notify" LIENTHONG_UNITS_TOKENS=244=tok244
  LIENTHONG_UNITS_TIMEOUT=5s)
WITH_CA=(LIENTHONG_PORTAL_CA_FILE="$ca" LIENTHONG_DELIVERY_CA_FILE="$ca")
start_gw() { # NAME VAR=value...
  lt_gw_start "$@"
  lt_wait 30 status_is "$1" /readyz 200 || lt_fail "$1 not ready"
  lt_wait 30 grep -q 'registered as gateway instance' "$LT_TMP/$1.log" || lt_fail "$1's delivery did not start"
}

# ---- 2. with the CA: every leg delivers -----------------------------------------
start_gw gw "${GW_BASE[@]}" "${WITH_CA[@]}"
push gw 4
lt_wait 60 drained || lt_fail "not delivered over verified TLS: $(q "SELECT destination || ' ' || state || ' ' || coalesce(last_error, '') FROM outbox WHERE state <> 'delivered'" | head -3)"
for dest in portal unit:244 webhook; do
  n=$(q "SELECT count(*) FROM outbox WHERE destination = '$dest' AND state = 'delivered'")
  [ "$n" -ge 1 ] || lt_fail "nothing delivered to $dest"
done
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE destination IN ($DESTS) AND state <> 'delivered'")" \
  "every row delivered"
codes=$(cut -d' ' -f1 "$LT_TMP/acks-1.txt" | sort -u)
# What each receiver holds, by dossier code: all four dossiers everywhere.
lt_assert_eq "$codes" "$(lt_sim_view p /_dedup | jq -r '.records[] | select(.service == "DongBoHoSoMC") | .MaHoSo' | sort -u)" \
  "the portal has the dossiers (portal.ca_file)"
lt_assert_eq "$codes" "$(lt_sim_view d /_dedup | jq -r '.records[].MaHoSo' | sort -u)" \
  "district 244's gateway has the dossiers (delivery.ca_file)"
lt_assert_eq "$codes" "$(lt_sim_view w /_dedup | jq -r '.records[].MaHoSo' | sort -u)" \
  "the webhook has a notice per dossier (delivery.ca_file)"
lt_gw_stop gw TERM

# ---- 3. without the CA: verification fails, retried, reported, dead ------------------
calls_at() { lt_sim_view "$1" /_received | jq -r '.total'; }
before="$(calls_at p) $(calls_at d) $(calls_at w)"
start_gw gw2 "${GW_BASE[@]}" LIENTHONG_DELIVERY_RETRY_FIRST=200ms LIENTHONG_DELIVERY_RETRY_MAX=500ms \
  LIENTHONG_DELIVERY_RETRY_HORIZON=4s LIENTHONG_DELIVERY_CIRCUIT_FAILURES=1000
push gw2 2
# status: each destination's last error is the verification failure (exit
# 3, unhealthy: the legs are down).
status_json() { "$lt" status --json 2>/dev/null || true; }
tls_errors() {
  status_json | jq -r '[.destinations[] | select(.name == "portal" or .name == "unit:244" or .name == "webhook")
    | select((.last_error // "") | test("certificate"))] | length'
}
lt_wait 30 eval '[ "$(tls_errors)" = 3 ]' ||
  lt_fail "status does not show the certificate error on the three legs: $(status_json | jq -c '[.destinations[] | {name, last_error}]')"
status_json | jq -r '.destinations[] | select(.name == "unit:244") | .last_error' >"$LT_TMP/unit-error.txt"
lt_assert_contains "$(cat "$LT_TMP/unit-error.txt")" "delivery.ca_file" "the unit leg's error names the key"
status_json | jq -r '.destinations[] | select(.name == "portal") | .last_error' >"$LT_TMP/portal-error.txt"
lt_assert_contains "$(cat "$LT_TMP/portal-error.txt")" "portal.ca_file" "the portal leg's error names the key"
lt_wait 30 routed || lt_fail "the new events were not routed"
dead_n() { q "SELECT count(*) FROM outbox WHERE destination IN ($DESTS) AND state = 'dead'"; }
want_dead=$(q "SELECT count(*) FROM outbox WHERE destination IN ($DESTS) AND state <> 'delivered'")
[ "$want_dead" -ge 3 ] || lt_fail "the new dossiers were not routed to the three legs ($want_dead rows)"
lt_wait 60 eval '[ "$(dead_n)" = "$want_dead" ]' ||
  lt_fail "the rows did not become dead letters past the horizon: $(dead_n) of $want_dead"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE state = 'dead' AND NOT (attempts >= 2 AND last_error LIKE '%certificate%')")" \
  "every dead letter was retried and says the certificate did not verify"
for dest in portal unit:244 webhook; do
  n=$("$lt" deadletters list --destination "$dest" --json | jq '[.deadletters[] | select((.error // "") | test("certificate"))] | length')
  [ "$n" -ge 1 ] || lt_fail "deadletters list shows no certificate error for $dest"
done
lt_assert_eq "$before" "$(calls_at p) $(calls_at d) $(calls_at w)" "no call reached a receiver without the CA"
lt_gw_stop gw2 TERM

# ---- 4. the CA configured again: a replay delivers them ----------------------------
start_gw gw3 "${GW_BASE[@]}" "${WITH_CA[@]}"
for dest in portal unit:244 webhook; do
  "$lt" replay --destination "$dest" --all >/dev/null || lt_fail "replay $dest"
done
lt_wait 60 drained || lt_fail "the replayed rows were not delivered: $(open_rows) open"
lt_assert_eq 0 "$(q "SELECT count(*) FROM outbox WHERE destination IN ($DESTS) AND state <> 'delivered'")" \
  "every row delivered after the replay"
codes2=$(cut -d' ' -f1 "$LT_TMP/acks-2.txt" | sort -u)
for s in d w; do
  lt_assert_eq "" "$(comm -23 <(echo "$codes2") <(lt_sim_view $s /_dedup | jq -r '.records[].MaHoSo' | sort -u))" \
    "simulator $s has the replayed dossiers"
done
if grep -q matkhau "$LT_TMP"/gw*.log; then lt_fail "the portal password reached a log"; fi
lt_gw_stop gw3 TERM
lt_log "ok"
