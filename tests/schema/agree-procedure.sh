#!/usr/bin/env bash
# The agreement test for catalog records: schemas/procedure.schema.json
# (through ajv) and the C normalizer (through `lienthong catalog check`, the
# code `catalog sync` runs) judge every example in schemas/examples/procedure
# the same way:
#   valid/*.json    both accept;
#   invalid/*.json  both refuse, and C names exactly the path (and field)
#                   that invalid/MANIFEST.json gives, where ajv also reports
#                   an error. Every example is in the manifest and back.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${LT_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
bin=${LIENTHONG_BIN:?LIENTHONG_BIN must name the lienthong binary}
source "$here/modules.sh"
lt_schema_modules

ex="$src/schemas/examples/procedure"
manifest="$ex/invalid/MANIFEST.json"
mapfile -t valid < <(ls "$ex"/valid/*.json)
mapfile -t invalid < <(ls "$ex"/invalid/*.json | grep -v '/MANIFEST.json$')
[ ${#valid[@]} -ge 3 ] || { echo "too few valid examples"; exit 1; }
[ ${#invalid[@]} -ge 20 ] || { echo "too few invalid examples (${#invalid[@]})"; exit 1; }

ajv=$(mktemp)
trap 'rm -f "$ajv"' EXIT
node "$here/validate.js" "$src/schemas/procedure.schema.json" "${valid[@]}" "${invalid[@]}" >"$ajv"

fails=0
fail() { echo "DISAGREE $*"; fails=$((fails + 1)); }
# An example is one record; the export format is an array of them.
c_check() { jq -c '[.]' "$1" | "$bin" catalog check --json -; }

for f in "${valid[@]}"; do
  name=$(basename "$f")
  [ "$(jq -r --arg k "$name" '.[$k].valid' "$ajv")" = true ] ||
    fail "$name: ajv rejects a valid example: $(jq -c --arg k "$name" '.[$k].paths' "$ajv")"
  rc=0; out=$(c_check "$f") || rc=$?
  [ $rc -eq 0 ] || fail "$name: C refuses a valid example (exit $rc): $(jq -c '.results' <<<"$out" 2>/dev/null)"
done

for f in "${invalid[@]}"; do
  name=$(basename "$f")
  entry=$(jq -c --arg k "$name" '.[$k] // empty' "$manifest")
  [ -n "$entry" ] || { fail "$name: not in MANIFEST.json"; continue; }
  path=$(jq -r .path <<<"$entry") field=$(jq -r .field <<<"$entry")
  rc=0; out=$(c_check "$f") || rc=$?
  if [ $rc -ne 1 ]; then
    fail "$name: C accepts an invalid example (exit $rc)"
  else
    got=$(jq -r '.results[0] | "\(.path) \(.field)"' <<<"$out")
    [ "$got" = "$path $field" ] || fail "$name: C refuses at [$got], the manifest says [$path $field]"
  fi
  if [ "$(jq -r --arg k "$name" '.[$k].valid' "$ajv")" = true ]; then
    fail "$name: ajv accepts an invalid example (the schema misses the rule on $path)"
  else
    jq -e --arg k "$name" --arg p "$path" '.[$k].paths | index($p)' "$ajv" >/dev/null ||
      fail "$name: ajv refuses it elsewhere: $(jq -c --arg k "$name" '.[$k].paths' "$ajv"), the manifest says $path"
  fi
done
for name in $(jq -r 'keys[]' "$manifest"); do
  [ -f "$ex/invalid/$name" ] || fail "MANIFEST.json names $name, which does not exist"
done

total=$((${#valid[@]} + ${#invalid[@]}))
if [ $fails -ne 0 ]; then
  echo "agree-procedure: $fails disagreement(s) over $total examples"
  exit 1
fi
echo "agree-procedure: ajv and the C normalizer agree on $total catalog examples"
