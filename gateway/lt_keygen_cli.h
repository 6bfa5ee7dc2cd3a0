/* lt_keygen_cli: `lienthong keygen [--unit CODE] [--json]` (DESIGN.md,
 * command line; schemas/zmq.md, "CURVE"). */
#ifndef LT_KEYGEN_CLI_H
#define LT_KEYGEN_CLI_H

#include <stdbool.h>

#include "lt_config.h"

extern const char lt_keygen_help[];

/* argv[0] is "keygen". Returns the exit code: 0 done, 1 refused (unknown
 * unit), file or database failure, 2 usage error. */
int lt_keygen_main(const lt_config *cfg, int argc, char **argv, bool json);

#endif
