#!/usr/bin/env bash
# The main job in one command on a fresh Debian 12: installs what is missing,
# builds (Release), and runs the demo: the gateway on its embedded
# PostgreSQL (initialised under ./var on first run, reused after) with the
# national catalog, the provincial portal, a district office, the wards'
# callbacks and a webhook simulated on loopback, and a working day of
# dossiers through it. Ctrl-C stops every process it started.
#
#   ./deploy/quickstart.sh            the demo, then serve on 127.0.0.1:8080 until Ctrl-C
#   ./deploy/quickstart.sh --once     the demo's day, its status and report, then exit
#   ./deploy/quickstart.sh --serve    only the gateway (no simulators, no demo data)
#   LIENTHONG_HTTP_LISTEN=127.0.0.1:9090 ./deploy/quickstart.sh
#
# The demo itself is `lienthong demo` (deploy/demo/demo.sh): this script
# installs, builds and execs it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

serve=false
if [ "${1:-}" = --serve ]; then
  serve=true
  shift
fi

./deploy/install-deps.sh
build="$root/build/release"
echo "quickstart: building (Release) in $build"
# The simulators are test programs (tests/sim); build them by name, not the
# whole test suite.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLIENTHONG_TESTS=ON >/dev/null
if $serve; then
  cmake --build "$build" -j"$(nproc)" --target lienthong >/dev/null
else
  cmake --build "$build" -j"$(nproc)" --target lienthong lt_simpeer lt_simcatalog lt_daygen >/dev/null
fi
bin="$build/gateway/lienthong"

# As root the embedded PostgreSQL runs as the postgres user, which must be
# able to enter the data directory; a checkout under /root is not reachable.
if [ -z "${LIENTHONG_DATA_DIR:-}" ] && [ "$(id -u)" -eq 0 ] &&
   ! runuser -u postgres -- test -x "$root" 2>/dev/null; then
  export LIENTHONG_DATA_DIR=/var/lib/lienthong-quickstart
  echo "quickstart: $root is not reachable by the postgres user; data in $LIENTHONG_DATA_DIR"
fi

if ! $serve; then
  export LT_SIMPEER="$build/tests/lt_simpeer" LT_SIMCATALOG="$build/tests/lt_simcatalog"
  export LT_DAYGEN="$build/tests/lt_daygen"
  exec "$bin" demo "$@"
fi
listen=${LIENTHONG_HTTP_LISTEN:-127.0.0.1:8080}
cat <<MSG
quickstart: starting lienthong (data in ${LIENTHONG_DATA_DIR:-$root/var})
  health:     curl http://$listen/healthz
  readiness:  curl http://$listen/readyz
  stop:       Ctrl-C
MSG
exec "$bin" serve "$@"
