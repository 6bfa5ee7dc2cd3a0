/* lt_rejects_cli: `lienthong rejects list|show|resubmit` (DESIGN.md,
 * command line): what was refused at the door, why, and a second try once
 * the cause is fixed. */
#ifndef LT_REJECTS_CLI_H
#define LT_REJECTS_CLI_H

#include <stdbool.h>

#include "lt_config.h"

extern const char lt_rejects_help[];

/* argv[0] is "rejects". Returns the exit code: 0 done (resubmit: the record
 * was accepted, a duplicate or stale), 1 an unknown id, a database failure,
 * or a resubmitted record rejected again, 2 usage error (checked before the
 * database is opened). */
int lt_rejects_main(const lt_config *cfg, int argc, char **argv, bool json);

#endif
