#!/usr/bin/env bash
# Functions that overflow buffers or hide errors are banned in our C code:
# use snprintf, memcpy with a checked length, strtol with end checks.
set -euo pipefail
src=$1
cd "$src"
pattern='(^|[^[:alnum:]_])(v?sprintf|strcpy|strcat|atoi|atol|gets)[[:space:]]*\('
if grep -rnE "$pattern" --include='*.c' --include='*.h' gateway adapters tests; then
  echo "banned function used (see above)"
  exit 1
fi
echo "banned: none used"
