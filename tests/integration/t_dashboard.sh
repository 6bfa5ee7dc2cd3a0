#!/usr/bin/env bash
# The operators' dashboard (GET /, gateway/lt_http_web.c + gateway/web) end to
# end: its headers (HTML, CSP self only, ETag and 304, the assets, 404 and
# 405), held to schemas/openapi.yaml; then headless Chromium
# (tests/schema/dashboard-e2e.js, playwright-core with Debian's chromium)
# against a real gateway, PostgreSQL and the portal simulator: the page
# loads, shows a portal outage with its backlog, the drain, and replays a
# dead letter that the simulator then receives. Screenshots stay in
# ./dashboard of the test's working directory (build/tests/dashboard);
# LT_UPDATE_DOCS=1 also refreshes the README's docs/dashboard.png.
#
# Without /usr/bin/chromium (deploy/install-deps.sh installs it) the test is
# skipped (exit 77, ctest SKIP) — except in CI, where it must run.
chromium=${LT_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  if [ -n "${CI:-}" ]; then
    echo "t_dashboard: $chromium is missing in CI: run deploy/install-deps.sh" >&2
    exit 1
  fi
  echo "t_dashboard: SKIP: $chromium is missing (deploy/install-deps.sh installs it)" >&2
  exit 77
fi
LT_TEST_TIMEOUT=${LT_TEST_TIMEOUT:-280}
source "$(dirname "$0")/lib.sh"

export LT_ANSWERS_DIR=$LT_TMP/answers
shots=$PWD/dashboard
rm -rf "$shots"

lt_pg_start pg
lt_ingest_fixture

lt_portal_sim_start p
cport=${LT_SIM_CTL[p]}

lt_gw_start gw "${LT_PORTAL_ENV[@]}"
lt_wait 30 status_is gw /readyz 200 || lt_fail "gateway not ready"

# ---- the page and its files over plain HTTP --------------------------------
header() { sed -n "s/^$1: //p" "$LT_TMP/headers"; }
out=$(lt_http_save gw /)
lt_assert_eq 200 "${out%% *}" "GET /"
lt_assert_contains "$out" '<script src="/assets/dashboard.js" defer></script>' "the page loads its script"
lt_assert_eq "text/html; charset=utf-8" "$(header content-type)" "GET / content type"
csp=$(header content-security-policy)
lt_assert_contains "$csp" "default-src 'none'" "CSP denies by default"
lt_assert_contains "$csp" "script-src 'self';" "CSP: scripts from this origin only"
case "$csp" in *unsafe* | *http:* | *https:* | *'*'*) lt_fail "CSP allows more than self: $csp" ;; esac
lt_assert_eq nosniff "$(header x-content-type-options)" "nosniff"
lt_assert_eq no-cache "$(header cache-control)" "revalidated on every load"
etag=$(header etag)
[[ $etag =~ ^\"[0-9a-f]{32}\"$ ]] || lt_fail "ETag of /: [$etag]"
: >"$LT_TMP/body" # curl leaves the last body there when none comes
out=$(lt_http_save gw / -H "If-None-Match: W/\"0000\", $etag")
[ ! -s "$LT_TMP/body" ] || lt_fail "a 304 with a body"
lt_assert_eq 304 "${out%% *}" "GET / with its ETag"
lt_assert_eq "$etag" "$(header etag)" "a 304 names the ETag"
out=$(lt_http_save gw / -H 'If-None-Match: "0000"')
lt_assert_eq 200 "${out%% *}" "GET / with another ETag"
for asset in dashboard.js:text/javascript dashboard.css:text/css favicon.svg:image/svg+xml; do
  out=$(lt_http_save gw "/assets/${asset%%:*}")
  lt_assert_eq 200 "${out%% *}" "GET /assets/${asset%%:*}"
  lt_assert_contains "$(header content-type)" "${asset#*:}" "content type of ${asset%%:*}"
  lt_assert_contains "$(header content-security-policy)" "default-src 'none'" "CSP on ${asset%%:*}"
  [ "$(header etag)" != "$etag" ] || lt_fail "${asset%%:*} has the page's ETag"
done
out=$(lt_http_save gw /assets/nothing.js)
lt_assert_eq 404 "${out%% *}" "an unknown asset"
out=$(LT_ANSWERS_DIR= lt_http_save gw /assets/) # the contract has no such path
lt_assert_eq 404 "${out%% *}" "the assets folder is not listed"
out=$(LT_ANSWERS_DIR= lt_http_save gw / -X POST) # not a contract answer
lt_assert_eq 405 "${out%% *}" "POST /"
lt_assert_eq GET "$(header allow)" "405 names GET"
out=$(lt_http_save gw /healthz)
lt_assert_eq 200 "${out%% *}" "the other routes are untouched"
lt_answers_check

# ---- the page in Chromium --------------------------------------------------
# shellcheck source=../schema/modules.sh
source "$LT_SOURCE_DIR/tests/schema/modules.sh"
lt_schema_modules || lt_fail "the schema tools (tests/schema/node_modules) cannot be installed"
docs=
[ -n "${LT_UPDATE_DOCS:-}" ] && docs=$LT_SOURCE_DIR/docs/dashboard.png
LT_DASH_URL=$(lt_url gw "") LT_DASH_CONTROL="http://127.0.0.1:$cport" \
  LT_DASH_PUSH_TOKEN=$LT_PARENT_TOKEN LT_DASH_OPERATOR_TOKEN=$LT_OPERATOR_TOKEN \
  LT_DASH_EXAMPLE="$LT_SOURCE_DIR/schemas/examples/valid/02-duoc-tiep-nhan-truc-tiep.json" \
  LT_DASH_OUT="$shots" LT_DASH_DOCS="$docs" LT_CHROMIUM="$chromium" \
  node "$LT_SOURCE_DIR/tests/schema/dashboard-e2e.js" 2>&1 | tee "$LT_TMP/e2e.log" >&2
grep -q '^\[dashboard-e2e\] passed$' "$LT_TMP/e2e.log" || lt_fail "the dashboard in Chromium (above)"
for f in portal-down.png portal-up.png replayed.png; do
  [ -s "$shots/$f" ] || lt_fail "screenshot $f not saved"
  cp "$shots/$f" "$LT_TMP/"
done
lt_log "screenshots in $shots"

lt_gw_stop gw
