/* lt_catalog_check: `lienthong catalog check FILE|-`, an export file judged
 * offline the way `catalog sync --file` would judge it, without a database:
 * every record normalized (lt_procedure), every refusal reported with its
 * index, byte offset, MATTHC and path, not only the first. The province's
 * staff check an export before syncing it; the schema tests use it to hold
 * the C parser and schemas/procedure.schema.json to the same rules. */
#ifndef LT_CATALOG_CHECK_H
#define LT_CATALOG_CHECK_H

#include <stdbool.h>

/* argv[0] is "catalog", argv[1] "check". Returns the exit code: 0 every
 * record valid, 1 any refused or the file unreadable, 2 usage. */
int lt_catalog_check_main(int argc, char **argv, bool json);

#endif
