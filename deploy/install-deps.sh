#!/usr/bin/env bash
# Installs from Debian 12 exactly what building, running and testing lienthong
# need. Idempotent and quiet when everything is already there; works as root
# and, for other users, through sudo.
#
#   deploy/install-deps.sh          build + run + test dependencies
#   deploy/install-deps.sh --check  exit 1 and list what is missing, install nothing
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  # libraries (DESIGN.md's fixed choices)
  libzmq3-dev libjansson-dev libpq-dev libcurl4-openssl-dev libmicrohttpd-dev
  libsodium-dev
  # the embedded database and its client
  postgresql-15 postgresql-client-15
  # tests: unit framework, HTTP client, JSON on the command line, static checks
  libcmocka-dev curl jq procps cppcheck clang-format
  # the dashboard's end-to-end test (tests/integration/t_dashboard.sh): headless
  # Chromium, driven by playwright-core from npm, and a font with Vietnamese letters
  chromium fonts-dejavu-core
  # fuzz targets (tests/fuzz): clang with libFuzzer and its sanitizer runtimes
  clang libclang-rt-14-dev
  # benchmarks: peak RSS of a process (/usr/bin/time -f %M, tests/bench/catalog)
  time
  # the failover test (tests/integration/t_failover.sh): pg_auto_failover's
  # monitor and keepers (pg_autoctl) for a primary and a synchronous standby
  postgresql-15-auto-failover
  ca-certificates
  # the TLS test makes a self-signed certificate (tests/integration/t_tls.sh)
  openssl
)

# Schema tests run ajv and Redocly CLI on Node (tests/schema). Debian 12's
# nodejs (18) and npm (9) are enough; a machine that already has node and npm
# from elsewhere (e.g. NodeSource, whose nodejs bundles npm and conflicts with
# Debian's npm package) keeps them.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${1:-}" = "--check" ]; then
  if [ ${#missing[@]} -gt 0 ]; then
    echo "missing: ${missing[*]}"
    exit 1
  fi
  exit 0
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}) and not root, and sudo is not available" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
# Debian's postgresql package creates and starts a system-wide cluster on
# port 5432; lienthong runs its own, so ask postgresql-common not to.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
  "${sudo[@]}" mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" | "${sudo[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
