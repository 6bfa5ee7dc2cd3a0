#!/usr/bin/env bash
# The HTTP contract's twin, schemas/openapi.yaml, passes Redocly's lint (the
# version pinned in package-lock.json): errors fail, warnings are shown.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${LT_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
source "$here/modules.sh"
lt_schema_modules
"$here/node_modules/.bin/redocly" lint --format=stylish "$src/schemas/openapi.yaml"
