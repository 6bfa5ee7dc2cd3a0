# shellcheck shell=bash
# Shared by the agreement tests (agree.sh: dossier records, agree-procedure.sh:
# catalog records): each holds a JSON Schema (through ajv) and the C code
# (through the lienthong binary) to the same folder of examples, valid/ and
# invalid/ with a MANIFEST.json naming where each invalid one is refused.
# What differs is how the C side is asked and what it must name; the rest,
# the example lists, the ajv run, the manifest's completeness and the
# verdict, is here.
#
#   agree_init NAME SCHEMA EXAMPLES MIN_VALID MIN_INVALID: $valid[] and
#     $invalid[] (the example files), $manifest, $ajv (ajv's verdict on every
#     example, by file name), $total; fails when there are fewer examples
#     than the minimums.
#   fail MESSAGE: counts a disagreement.
#   ajv_valid NAME, ajv_paths NAME: ajv's verdict on one example.
#   manifest_entry NAME: its manifest entry (empty when missing).
#   ajv_refuses_at NAME PATH: an invalid example ajv must refuse at PATH.
#   agree_finish SUMMARY: every manifest entry is a file; exits 1 with the
#     count of disagreements, or prints SUMMARY.
set -euo pipefail
agree_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${LT_SOURCE_DIR:-$(cd "$agree_here/../.." && pwd)}
bin=${LIENTHONG_BIN:?LIENTHONG_BIN must name the lienthong binary}
# shellcheck source=modules.sh
source "$agree_here/modules.sh"

agree_init() {
  agree_name=$1
  local schema=$2 min_valid=$4 min_invalid=$5
  ex=$3
  lt_schema_modules
  manifest="$ex/invalid/MANIFEST.json"
  mapfile -t valid < <(ls "$ex"/valid/*.json)
  mapfile -t invalid < <(ls "$ex"/invalid/*.json | grep -v '/MANIFEST.json$')
  [ ${#valid[@]} -ge "$min_valid" ] || { echo "too few valid examples"; exit 1; }
  [ ${#invalid[@]} -ge "$min_invalid" ] || { echo "too few invalid examples (${#invalid[@]})"; exit 1; }
  ajv=$(mktemp)
  trap 'rm -f "$ajv"' EXIT
  node "$agree_here/validate.js" "$schema" "${valid[@]}" "${invalid[@]}" >"$ajv"
  fails=0
  total=$((${#valid[@]} + ${#invalid[@]}))
}

fail() { echo "DISAGREE $*"; fails=$((fails + 1)); }
ajv_valid() { jq -r --arg k "$1" '.[$k].valid' "$ajv"; }
ajv_paths() { jq -c --arg k "$1" '.[$k].paths' "$ajv"; }
manifest_entry() { jq -c --arg k "$1" '.[$k] // empty' "$manifest"; }

ajv_refuses_at() {
  if [ "$(ajv_valid "$1")" = true ]; then
    fail "$1: ajv accepts an invalid example (the schema misses the rule on $2)"
  else
    jq -e --arg k "$1" --arg p "$2" '.[$k].paths | index($p)' "$ajv" >/dev/null ||
      fail "$1: ajv refuses it elsewhere: $(ajv_paths "$1"), the manifest says $2"
  fi
}

agree_finish() {
  local name
  for name in $(jq -r 'keys[]' "$manifest"); do
    [ -f "$ex/invalid/$name" ] || fail "MANIFEST.json names $name, which does not exist"
  done
  if [ $fails -ne 0 ]; then
    echo "$agree_name: $fails disagreement(s) over $total examples"
    exit 1
  fi
  echo "$agree_name: $1"
}
