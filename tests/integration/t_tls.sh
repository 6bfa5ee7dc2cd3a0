#!/usr/bin/env bash
# TLS on the HTTP front (issue 9): with http.tls_cert and http.tls_key the
# front speaks HTTPS with libmicrohttpd's own TLS. A self-signed certificate
# for 127.0.0.1 made here (openssl), checked by curl --cacert: /readyz and a
# dossier read with a token work over HTTPS; plain HTTP on the same port
# gets no answer; a client that does not trust the certificate is refused.
# Misconfigurations stop `serve` with a sentence naming the key: one key
# without the other, a missing file, a file that is not PEM; `serve -n`
# finds the same before a start.
source "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || { lt_log "openssl missing (deploy/install-deps.sh installs it)"; exit 77; }
lt_pg_start pg
export LIENTHONG_DATABASE_URL=$LT_PG_URL
lt="$LIENTHONG_BIN"
"$lt" migrate >/dev/null 2>&1 || lt_fail "migrate"
op=$("$lt" token create --role operator --json | jq -r .token)

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName = IP:127.0.0.1" -keyout "$LT_TMP/key.pem" -out "$LT_TMP/cert.pem" \
  >"$LT_TMP/openssl.log" 2>&1 || lt_fail "openssl: $(cat "$LT_TMP/openssl.log")"
chmod 600 "$LT_TMP/key.pem"

lt_gw_start gw LIENTHONG_HTTP_TLS_CERT="$LT_TMP/cert.pem" LIENTHONG_HTTP_TLS_KEY="$LT_TMP/key.pem"
port=${LT_GW_PORT[gw]}
https() { # PATH [curl args]: "STATUS BODY" over HTTPS, trusting our certificate
  local path=$1; shift
  : >"$LT_TMP/body"
  local st
  st=$(curl -s -m 10 --cacert "$LT_TMP/cert.pem" -o "$LT_TMP/body" -w '%{http_code}' "$@" \
    "https://127.0.0.1:$port$path") || true
  echo "$st $(cat "$LT_TMP/body")"
}
ready() { [ "$(https /readyz | cut -d' ' -f1)" = 200 ]; }
lt_wait 30 ready || lt_fail "no 200 from https /readyz: $(https /readyz)"
out=$(https /v1/dossiers/000.01.22.H56-240101-0001 -H "Authorization: Bearer $op")
lt_assert_eq 404 "${out%% *}" "a dossier read over HTTPS: $out"
out=$(https /v1/events -H "Authorization: Bearer $op")
lt_assert_eq 200 "${out%% *}" "events over HTTPS"
curl -s -m 10 --cacert "$LT_TMP/cert.pem" -o /dev/null -w '%{ssl_verify_result}' \
  "https://127.0.0.1:$port/healthz" >"$LT_TMP/verify.txt" || lt_fail "https /healthz"
lt_assert_eq 0 "$(cat "$LT_TMP/verify.txt")" "certificate verified by curl"
# Plain HTTP on the TLS port is not served; an untrusting client refuses.
st=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)
[ "$st" != 200 ] || lt_fail "plain HTTP answered 200 on the TLS port"
if curl -s -m 5 -o /dev/null "https://127.0.0.1:$port/healthz"; then
  lt_fail "a client without our CA accepted the self-signed certificate"
fi
lt_gw_stop gw

# Misconfigurations: serve stops at once, naming the key.
bad() { # WHAT EXPECTED-TEXT VAR=value...
  local what=$1 want=$2; shift 2
  local rc=0
  env LIENTHONG_HTTP_LISTEN=127.0.0.1:0 LIENTHONG_DATA_DIR="$LT_TMP/bad-data" \
    LIENTHONG_ZMQ_EVENTS='tcp://127.0.0.1:*' LIENTHONG_ZMQ_REPLAY='tcp://127.0.0.1:*' \
    LIENTHONG_ZMQ_INGRESS='tcp://127.0.0.1:*' "$@" timeout 60 "$lt" serve >"$LT_TMP/bad.log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || lt_fail "$what: serve did not stop with an error (rc $rc)"
  grep -q -- "$want" "$LT_TMP/bad.log" || lt_fail "$what: no [$want] in: $(grep -v '"info"' "$LT_TMP/bad.log" | head -5)"
}
bad "cert without key" "http.tls_cert and http.tls_key go together" LIENTHONG_HTTP_TLS_CERT="$LT_TMP/cert.pem"
bad "missing key file" "http.tls_key: cannot open" LIENTHONG_HTTP_TLS_CERT="$LT_TMP/cert.pem" \
  LIENTHONG_HTTP_TLS_KEY="$LT_TMP/nope.pem"
echo "not a certificate" >"$LT_TMP/junk.pem"
bad "not PEM" "http.tls_cert: .* is not a PEM file" LIENTHONG_HTTP_TLS_CERT="$LT_TMP/junk.pem" \
  LIENTHONG_HTTP_TLS_KEY="$LT_TMP/key.pem"

# The dry run reads the same files: `serve -n` finds what serve would stop
# on, exit 2 naming the key and the file, without starting anything.
dry() { # EXPECTED-RC EXPECTED-TEXT VAR=value...
  local want=$1 text=$2; shift 2
  local rc=0 out
  out=$(env LIENTHONG_DATA_DIR="$LT_TMP/bad-data" "$@" "$lt" serve -n 2>&1) || rc=$?
  lt_assert_eq "$want" "$rc" "serve -n with $*: $out"
  lt_assert_contains "$out" "$text" "serve -n with $*"
}
dry 0 "configuration OK" LIENTHONG_HTTP_TLS_CERT="$LT_TMP/cert.pem" \
  LIENTHONG_HTTP_TLS_KEY="$LT_TMP/key.pem"
dry 2 "http.tls_key: cannot open $LT_TMP/nope.pem" LIENTHONG_HTTP_TLS_CERT="$LT_TMP/cert.pem" \
  LIENTHONG_HTTP_TLS_KEY="$LT_TMP/nope.pem"
dry 2 "http.tls_cert: cannot open $LT_TMP/nope.pem" LIENTHONG_HTTP_TLS_CERT="$LT_TMP/nope.pem" \
  LIENTHONG_HTTP_TLS_KEY="$LT_TMP/key.pem"
dry 2 "http.tls_cert: $LT_TMP/junk.pem is not a PEM file" \
  LIENTHONG_HTTP_TLS_CERT="$LT_TMP/junk.pem" LIENTHONG_HTTP_TLS_KEY="$LT_TMP/key.pem"
dry 2 "http.tls_cert and http.tls_key go together" LIENTHONG_HTTP_TLS_KEY="$LT_TMP/key.pem"
lt_log "ok"
