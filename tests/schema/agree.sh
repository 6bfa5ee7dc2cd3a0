#!/usr/bin/env bash
# The agreement test: schemas/dossier.schema.json (through ajv, JSON Schema
# 2020-12) and the C validator (through `lienthong check --json`) judge every
# example in schemas/examples the same way.
#   valid/*.json    both accept;
#   invalid/*.json  C rejects with exactly one error whose field and path are
#                   the ones invalid/MANIFEST.json names; ajv rejects with an
#                   error at that path, except for examples the manifest marks
#                   "c_only" (rules JSON Schema cannot state), which ajv must
#                   accept - so a stale c_only mark is caught too.
# Every example file must be in the manifest and every manifest entry a file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${LT_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
bin=${LIENTHONG_BIN:?LIENTHONG_BIN must name the lienthong binary}
source "$here/modules.sh"
lt_schema_modules

ex="$src/schemas/examples"
manifest="$ex/invalid/MANIFEST.json"
mapfile -t valid < <(ls "$ex"/valid/*.json)
mapfile -t invalid < <(ls "$ex"/invalid/*.json | grep -v '/MANIFEST.json$')
[ ${#valid[@]} -ge 5 ] || { echo "too few valid examples"; exit 1; }
[ ${#invalid[@]} -ge 40 ] || { echo "too few invalid examples (${#invalid[@]})"; exit 1; }

ajv=$(mktemp)
trap 'rm -f "$ajv"' EXIT
node "$here/validate.js" "$src/schemas/dossier.schema.json" "${valid[@]}" "${invalid[@]}" >"$ajv"

fails=0
fail() { echo "DISAGREE $*"; fails=$((fails + 1)); }

for f in "${valid[@]}"; do
  name=$(basename "$f")
  [ "$(jq -r --arg k "$name" '.[$k].valid' "$ajv")" = true ] ||
    fail "$name: ajv rejects a valid example: $(jq -c --arg k "$name" '.[$k].paths' "$ajv")"
  rc=0; out=$("$bin" check --json "$f") || rc=$?
  [ $rc -eq 0 ] && [ "$(jq -r '.results[0].result' <<<"$out")" = accepted ] ||
    fail "$name: C rejects a valid example (exit $rc): $(jq -c '.results[0].errors' <<<"$out" 2>/dev/null)"
done

for f in "${invalid[@]}"; do
  name=$(basename "$f")
  entry=$(jq -c --arg k "$name" '.[$k] // empty' "$manifest")
  [ -n "$entry" ] || { fail "$name: not in MANIFEST.json"; continue; }
  field=$(jq -r .field <<<"$entry") path=$(jq -r .path <<<"$entry") conly=$(jq -r .c_only <<<"$entry")
  rc=0; out=$("$bin" check --json "$f") || rc=$?
  if [ $rc -ne 1 ]; then
    fail "$name: C accepts an invalid example (exit $rc)"
  else
    got=$(jq -r '.results[0] | "\(.field) \(.path) \(.errors | length)"' <<<"$out")
    [ "$got" = "$field $path 1" ] ||
      fail "$name: C reports [$got] (field path count), manifest says [$field $path 1]: $(jq -c '.results[0].errors' <<<"$out")"
  fi
  ajv_valid=$(jq -r --arg k "$name" '.[$k].valid' "$ajv")
  if [ "$conly" = true ]; then
    [ "$(jq -r .why <<<"$entry")" != null ] || fail "$name: c_only without a why"
    [ "$ajv_valid" = true ] ||
      fail "$name: marked c_only but ajv rejects it too: drop the mark ($(jq -c --arg k "$name" '.[$k].paths' "$ajv"))"
  elif [ "$ajv_valid" = true ]; then
    fail "$name: ajv accepts an invalid example (the schema misses the rule on $path)"
  else
    jq -e --arg k "$name" --arg p "$path" '.[$k].paths | index($p)' "$ajv" >/dev/null ||
      fail "$name: ajv rejects it elsewhere: $(jq -c --arg k "$name" '.[$k].paths' "$ajv"), manifest says $path"
  fi
done
for name in $(jq -r 'keys[]' "$manifest"); do
  [ -f "$ex/invalid/$name" ] || fail "MANIFEST.json names $name, which does not exist"
done

total=$((${#valid[@]} + ${#invalid[@]}))
if [ $fails -ne 0 ]; then
  echo "agree: $fails disagreement(s) over $total examples"
  exit 1
fi
echo "agree: ajv and the C validator agree on $total examples ($(jq '[.[] | select(.c_only)] | length' "$manifest") C-only)"
