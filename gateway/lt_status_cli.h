/* lt_status_cli: `lienthong status [--json] [--local]` (DESIGN.md, command
 * line): the status document for people (a table) or machines (--json, the
 * same document as GET /v1/status). Exit 0 healthy, 3 unhealthy (a
 * status.* threshold crossed, or the database unreachable), 1 on a runtime
 * failure, 2 on a usage error. */
#ifndef LT_STATUS_CLI_H
#define LT_STATUS_CLI_H

#include <stdbool.h>

#include "lt_config.h"

extern const char lt_status_help[];

/* argv[0] is "status". */
int lt_status_main(const lt_config *cfg, int argc, char **argv, bool json);

#endif
