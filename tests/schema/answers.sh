#!/usr/bin/env bash
# The answer validator (validate-answers.js) itself: every hand-written
# answer in answers/good matches schemas/openapi.yaml, and every one in
# answers/bad fails, for the reason its "expect" names (an answer with no
# matching path, operation or status; a required header missing; a body that
# is not JSON or breaks its schema, dossier.schema.json included). Without
# this, a validator that passed everything would pass the integration tests'
# answers too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${LT_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
source "$here/modules.sh"
lt_schema_modules

spec="$src/schemas/openapi.yaml"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

mapfile -t bad < <(ls "$here"/answers/bad/*.json)
[ "$(ls "$here"/answers/good/*.json | wc -l)" -ge 8 ] || fail "too few good answers"
[ ${#bad[@]} -ge 10 ] || fail "too few bad answers (${#bad[@]})"

out=$(node "$here/validate-answers.js" "$spec" "$here/answers/good") ||
  fail "good answers refused: $out"
for f in "${bad[@]}"; do
  name=$(basename "$f")
  expect=$(jq -r '.expect // empty' "$f")
  [ -n "$expect" ] || { fail "$name: no \"expect\""; continue; }
  rc=0
  out=$(node "$here/validate-answers.js" "$spec" "$f") || rc=$?
  if [ $rc -ne 1 ]; then
    fail "$name: exit $rc, expected 1: $out"
  elif ! grep -qF -- "FAIL $name: " <<<"$out" || ! grep -qF -- "$expect" <<<"$out"; then
    fail "$name: refused, but not for [$expect]: $out"
  fi
done
rc=0
out=$(node "$here/validate-answers.js" "$spec" "$(mktemp -d)") || rc=$?
[ $rc -eq 1 ] || fail "an empty directory passed (exit $rc)"

if [ $fails -ne 0 ]; then
  echo "answers: $fails failure(s)"
  exit 1
fi
echo "answers: the validator accepts $(ls "$here"/answers/good/*.json | wc -l) good answers and refuses ${#bad[@]} bad ones for their reasons"
