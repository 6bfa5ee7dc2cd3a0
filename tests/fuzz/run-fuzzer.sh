#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time (ctest, label fuzz):
#   run-fuzzer.sh FUZZER SECONDS WORKDIR SEED_DIR...
# New inputs go to WORKDIR/corpus (kept between runs, so later runs start
# where earlier ones stopped); a crash, leak or timeout fails the test and
# leaves its input in WORKDIR/artifacts, with the command to reproduce it.
set -euo pipefail
fuzzer=$1 seconds=$2 work=$3
shift 3
mkdir -p "$work/corpus" "$work/artifacts"
seeds=()
for d in "$@"; do [ -d "$d" ] && seeds+=("$d"); done
rc=0
# -timeout: one input taking 10 s is a hang; -rss_limit_mb: runaway memory.
timeout -k 10 $((seconds + 120)) "$fuzzer" -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
  "$work/corpus" "${seeds[@]}" >"$work/fuzz.log" 2>&1 || rc=$?
tail -n 20 "$work/fuzz.log"
if [ $rc -ne 0 ]; then
  echo "FAIL: $(basename "$fuzzer") exited $rc; reproduce with: $fuzzer $work/artifacts/<file>"
  ls -l "$work/artifacts" || true
fi
exit $rc
