/* lt_overlay_cli: `lienthong catalog overlay set|rm|list` (see the catalog
 * command's --help). */
#ifndef LT_OVERLAY_CLI_H
#define LT_OVERLAY_CLI_H

#include <stdbool.h>

#include "lt_config.h"

/* argv[0] is "catalog", argv[1] "overlay". Returns the exit code: 0 done, 1
 * refused or database failure (nothing changed), 2 usage. */
int lt_overlay_main(const lt_config *cfg, int argc, char **argv, bool json);

#endif
