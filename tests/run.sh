#!/usr/bin/env bash
# Runs every test on this machine: installs what is missing, then builds and
# runs the whole suite twice, as a Release build (-O2) and as a Debug build
# with AddressSanitizer + UndefinedBehaviorSanitizer. Static checks run once.
# Then the fuzz targets (tests/fuzz, clang + libFuzzer) run for
# LT_FUZZ_SECONDS each (default 30).
#
#   ./tests/run.sh                 everything
#   ./tests/run.sh -R integration  pass ctest arguments (every build)
#   LT_SKIP_SANITIZE=1 ./tests/run.sh   the Release build only (a quick loop)
#   LT_SKIP_FUZZ=1 ./tests/run.sh       without the fuzz targets
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

./deploy/install-deps.sh
# The schema tests' Node tools, from the lock file, once before both builds
# (the tests reuse them; they install by themselves only when missing).
echo "== schema test tools: npm ci (tests/schema)"
(cd tests/schema && npm ci --no-audit --no-fund --loglevel=error >/dev/null &&
  sha256sum package-lock.json | cut -d' ' -f1 >node_modules/.lienthong-lock-sha256)

jobs=$(nproc)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

suite() {
  local name=$1 dir=$2; shift 2
  local -a cmake_args=() ctest_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmake_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  ctest_args=("$@")
  echo "== $name: configure and build ($dir)"
  cmake -S . -B "$dir" "${cmake_args[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs" 2>&1 | grep -vE '^\[|^(Consolidate|Scanning|Built target)' || true
  [ -x "$dir/gateway/lienthong" ] || { echo "build failed"; exit 1; }
  echo "== $name: tests"
  local start=$SECONDS
  (cd "$dir" && ctest --output-on-failure -j"$jobs" "${ctest_args[@]}" "${user_args[@]}")
  echo "== $name: passed in $((SECONDS - start)) s"
}

user_args=("$@")
suite release build/test-release -DCMAKE_BUILD_TYPE=Release -DLIENTHONG_TESTS=ON
if [ -z "${LT_SKIP_SANITIZE:-}" ]; then
  suite sanitize build/test-sanitize -DCMAKE_BUILD_TYPE=Debug -DLIENTHONG_SANITIZE=ON \
    -DLIENTHONG_TESTS=ON -- -LE static
fi
if [ -z "${LT_SKIP_FUZZ:-}" ]; then
  # Its own build: clang instruments every library for coverage. The corpus
  # each target grows stays in the build tree for the next run.
  echo "== fuzz: configure and build (build/test-fuzz, clang + libFuzzer)"
  cmake -S . -B build/test-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release \
    -DLIENTHONG_FUZZ=ON -DLIENTHONG_TESTS=OFF -DLT_FUZZ_SECONDS="${LT_FUZZ_SECONDS:-20}" >/dev/null
  cmake --build build/test-fuzz -j"$jobs" --target lt_fuzzers 2>&1 |
    grep -vE '^\[|^(Consolidate|Scanning|Built target)' || true
  echo "== fuzz: ${LT_FUZZ_SECONDS:-20} s per target"
  start=$SECONDS
  (cd build/test-fuzz && ctest --output-on-failure -j"$jobs" -L fuzz "${user_args[@]}")
  echo "== fuzz: passed in $((SECONDS - start)) s"
fi
echo "== all tests passed"
