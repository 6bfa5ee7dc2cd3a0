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
source "$(dirname "$0")/agree-lib.sh"
agree_init agree "$src/schemas/dossier.schema.json" "$src/schemas/examples" 5 40

for f in "${valid[@]}"; do
  name=$(basename "$f")
  [ "$(ajv_valid "$name")" = true ] || fail "$name: ajv rejects a valid example: $(ajv_paths "$name")"
  rc=0; out=$("$bin" check --json "$f") || rc=$?
  [ $rc -eq 0 ] && [ "$(jq -r '.results[0].result' <<<"$out")" = accepted ] ||
    fail "$name: C rejects a valid example (exit $rc): $(jq -c '.results[0].errors' <<<"$out" 2>/dev/null)"
done

for f in "${invalid[@]}"; do
  name=$(basename "$f")
  entry=$(manifest_entry "$name")
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
  if [ "$conly" = true ]; then
    [ "$(jq -r .why <<<"$entry")" != null ] || fail "$name: c_only without a why"
    [ "$(ajv_valid "$name")" = true ] ||
      fail "$name: marked c_only but ajv rejects it too: drop the mark ($(ajv_paths "$name"))"
  else
    ajv_refuses_at "$name" "$path"
  fi
done

agree_finish "ajv and the C validator agree on $total examples ($(jq '[.[] | select(.c_only)] | length' "$manifest") C-only)"
