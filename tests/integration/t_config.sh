#!/usr/bin/env bash
# `serve -n` checks a configuration: 0 when valid, 2 naming the bad key and
# why (unknown key, wrong type, out of range), from the file or environment.
source "$(dirname "$0")/lib.sh"
cd "$LT_TMP"

check() { # expected-rc expected-text args...
  local want=$1 text=$2; shift 2
  local rc=0 out
  out=$("$@" 2>&1) || rc=$?
  lt_assert_eq "$want" "$rc" "exit status of: $* ($out)"
  lt_assert_contains "$out" "$text" "message of: $*"
}

check 0 "configuration OK" "$LIENTHONG_BIN" serve -n
check 0 "configuration OK" "$LIENTHONG_BIN" serve -n --config "$LT_SOURCE_DIR/deploy/lienthong.example.json"
check 0 "configuration OK" "$LIENTHONG_BIN" --config "$LT_SOURCE_DIR/deploy/lienthong.example.json" serve -n

echo '{"http": {"lisen": "127.0.0.1:80"}}' >unknown.json
check 2 "http.lisen" "$LIENTHONG_BIN" serve -n --config unknown.json
check 2 "unknown key" "$LIENTHONG_BIN" serve -n --config unknown.json
echo '{"bogus": 1}' >unknown-top.json
check 2 "bogus: unknown key" "$LIENTHONG_BIN" serve -n --config unknown-top.json

echo '{"auth": {"required": "yes"}}' >type.json
check 2 "auth.required" "$LIENTHONG_BIN" serve -n --config type.json
echo '{"http": {"max_body": "2GiB"}}' >range.json
check 2 'http.max_body: expected a size between 1KiB and 1GiB, got "2GiB"' \
  "$LIENTHONG_BIN" serve -n --config range.json
echo '{"log": {"level": "loud"}}' >enum.json
check 2 "log.level" "$LIENTHONG_BIN" serve -n --config enum.json
echo '{"http": ' >broken.json
check 2 "broken.json" "$LIENTHONG_BIN" serve -n --config broken.json
check 2 "missing.json" "$LIENTHONG_BIN" serve -n --config missing.json

# A portal URL needs its account and agency id: without them every login
# would be refused and every event dead-lettered.
check 2 "portal.agency: must be set when portal.url is" env LIENTHONG_PORTAL_URL=http://127.0.0.1:9 \
  "$LIENTHONG_BIN" serve -n
check 2 "portal.password" env LIENTHONG_PORTAL_URL=http://127.0.0.1:9 LIENTHONG_PORTAL_AGENCY=000.00.00.H56 \
  LIENTHONG_PORTAL_USERNAME=cong "$LIENTHONG_BIN" serve -n
check 0 "configuration OK" env LIENTHONG_PORTAL_URL=http://127.0.0.1:9 LIENTHONG_PORTAL_AGENCY=000.00.00.H56 \
  LIENTHONG_PORTAL_USERNAME=cong LIENTHONG_PORTAL_PASSWORD=matkhau "$LIENTHONG_BIN" serve -n

# Environment overrides are checked the same way and win over the file.
check 2 "LIENTHONG_DATABASE_HEALTH_INTERVAL" env LIENTHONG_DATABASE_HEALTH_INTERVAL=5 \
  "$LIENTHONG_BIN" serve -n
echo '{"http": {"listen": "127.0.0.1:9999"}}' >good.json
out=$(LIENTHONG_HTTP_LISTEN=127.0.0.1:7777 "$LIENTHONG_BIN" serve -n --json --config good.json)
lt_assert_eq "127.0.0.1:7777" "$(jq -r .http.listen <<<"$out")" "environment over file"
# ./lienthong.json is read when present and no --config is given.
echo '{"routing": {"model": "2-tier"}}' >lienthong.json
lt_assert_eq "2-tier" "$("$LIENTHONG_BIN" serve -n --json | jq -r .routing.model)" "./lienthong.json"
# Dialect files are configuration: a bad one in dialects.dir fails serve -n,
# naming the file and the rule; a good one is usable at once.
mkdir -p dialects
echo '{"dialect": "vendor-x", "fields": [{"vendor": "a", "canonical": "MaHoSo", "type": "frob"}]}' \
  >dialects/vendor-x.json
check 2 "vendor-x.json" env LIENTHONG_DIALECTS_DIR="$LT_TMP/dialects" "$LIENTHONG_BIN" serve -n
echo '{"dialect": "vendor-y", "fields": [{"vendor": "a", "canonical": "MaHoSo"}]}' \
  >dialects/vendor-x.json
check 2 "its file must be vendor-y.json" env LIENTHONG_DIALECTS_DIR="$LT_TMP/dialects" \
  "$LIENTHONG_BIN" serve -n
mv dialects/vendor-x.json dialects/vendor-y.json
check 0 "configuration OK" env LIENTHONG_DIALECTS_DIR="$LT_TMP/dialects" "$LIENTHONG_BIN" serve -n
echo '{"a": "000.00.06.H56-231027-0361"}' >y.json
rc=0; out=$(LIENTHONG_DIALECTS_DIR="$LT_TMP/dialects" "$LIENTHONG_BIN" check --json \
  --dialect vendor-y y.json) || rc=$?
# Mapped through the operator's dialect, then judged: MaTTHC etc. are missing.
lt_assert_eq 1 "$rc" "check with an operator dialect"
lt_assert_eq "000.00.06.H56-231027-0361" "$(jq -r '.results[0].MaHoSo' <<<"$out")" \
  "operator dialect mapped the record"

# Secrets never appear in the printed configuration.
out=$(LIENTHONG_PORTAL_PASSWORD=hunter2 "$LIENTHONG_BIN" serve -n --json)
case "$out" in *hunter2*) lt_fail "password printed by serve -n --json" ;; esac
lt_log "ok"
