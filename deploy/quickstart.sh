#!/usr/bin/env bash
# The main job in one command on a fresh Debian 12: installs what is missing,
# builds, and runs the gateway on its embedded PostgreSQL (initialised under
# ./var on first run, reused after). Ctrl-C stops the gateway and its
# database cleanly.
#
#   ./deploy/quickstart.sh            build and serve on 127.0.0.1:8080
#   LIENTHONG_HTTP_LISTEN=127.0.0.1:9090 ./deploy/quickstart.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

./deploy/install-deps.sh
build="$root/build/release"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLIENTHONG_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
bin="$build/gateway/lienthong"

# As root the embedded PostgreSQL runs as the postgres user, which must be
# able to enter the data directory; a checkout under /root is not reachable.
if [ -z "${LIENTHONG_DATA_DIR:-}" ] && [ "$(id -u)" -eq 0 ] &&
   ! runuser -u postgres -- test -x "$root" 2>/dev/null; then
  export LIENTHONG_DATA_DIR=/var/lib/lienthong-quickstart
  echo "quickstart: $root is not reachable by the postgres user; data in $LIENTHONG_DATA_DIR"
fi

listen=${LIENTHONG_HTTP_LISTEN:-127.0.0.1:8080}
cat <<MSG
quickstart: starting lienthong (data in ${LIENTHONG_DATA_DIR:-$root/var})
  health:     curl http://$listen/healthz
  readiness:  curl http://$listen/readyz
  stop:       Ctrl-C
MSG
exec "$bin" serve "$@"
