# Sourced by the schema tests: makes sure tests/schema/node_modules holds
# exactly what package-lock.json pins. `npm ci` runs only when the modules are
# missing or were installed from another lock file (a stamp records the
# lock's hash), so repeated runs, and runs without the registry once
# installed, reuse them. A lock file serialises concurrent ctest entries.
lt_schema_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

lt_schema_modules() {
  command -v node >/dev/null 2>&1 || { echo "node not found: run deploy/install-deps.sh" >&2; return 1; }
  command -v npm >/dev/null 2>&1 || { echo "npm not found: run deploy/install-deps.sh" >&2; return 1; }
  local want stamp="$lt_schema_dir/node_modules/.lienthong-lock-sha256"
  want=$(sha256sum "$lt_schema_dir/package-lock.json" | cut -d' ' -f1)
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  (
    flock 9
    # Another test may have installed while we waited for the lock.
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
    cd "$lt_schema_dir"
    npm ci --no-audit --no-fund --loglevel=error >&2
    echo "$want" >"$stamp"
  ) 9>"$lt_schema_dir/.npm-install.lock"
}

# Redocly CLI asks the network about updates and telemetry unless told not to.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
