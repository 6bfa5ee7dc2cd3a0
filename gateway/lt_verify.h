/* lt_verify: `lienthong verify` (DESIGN.md, tamper evidence): recomputes
 * the hash chain of the stored events and names the first broken link. */
#ifndef LT_VERIFY_H
#define LT_VERIFY_H

#include <stdbool.h>

#include "lt_config.h"

extern const char lt_verify_help[];

/* argv[0] is "verify". Returns the exit code: 0 the chain holds, 1 it is
 * broken or the database failed, 2 usage error (checked before the
 * database is opened). */
int lt_verify_main(const lt_config *cfg, int argc, char **argv, bool json);

#endif
