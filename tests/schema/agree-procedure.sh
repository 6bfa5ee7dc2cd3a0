#!/usr/bin/env bash
# The agreement test for catalog records: schemas/procedure.schema.json
# (through ajv) and the C normalizer (through `lienthong catalog check`, the
# code `catalog sync` runs) judge every example in schemas/examples/procedure
# the same way:
#   valid/*.json    both accept;
#   invalid/*.json  both refuse, and C names exactly the path (and field)
#                   that invalid/MANIFEST.json gives, where ajv also reports
#                   an error. Every example is in the manifest and back.
source "$(dirname "$0")/agree-lib.sh"
agree_init agree-procedure "$src/schemas/procedure.schema.json" "$src/schemas/examples/procedure" 3 20

# An example is one record; the export format is an array of them.
c_check() { jq -c '[.]' "$1" | "$bin" catalog check --json -; }

for f in "${valid[@]}"; do
  name=$(basename "$f")
  [ "$(ajv_valid "$name")" = true ] || fail "$name: ajv rejects a valid example: $(ajv_paths "$name")"
  rc=0; out=$(c_check "$f") || rc=$?
  [ $rc -eq 0 ] || fail "$name: C refuses a valid example (exit $rc): $(jq -c '.results' <<<"$out" 2>/dev/null)"
done

for f in "${invalid[@]}"; do
  name=$(basename "$f")
  entry=$(manifest_entry "$name")
  [ -n "$entry" ] || { fail "$name: not in MANIFEST.json"; continue; }
  path=$(jq -r .path <<<"$entry") field=$(jq -r .field <<<"$entry")
  rc=0; out=$(c_check "$f") || rc=$?
  if [ $rc -ne 1 ]; then
    fail "$name: C accepts an invalid example (exit $rc)"
  else
    got=$(jq -r '.results[0] | "\(.path) \(.field)"' <<<"$out")
    [ "$got" = "$path $field" ] || fail "$name: C refuses at [$got], the manifest says [$path $field]"
  fi
  ajv_refuses_at "$name" "$path"
done

agree_finish "ajv and the C normalizer agree on $total catalog examples"
