/* lt_token_cli: `lienthong token create|list|revoke` (DESIGN.md, command
 * line). */
#ifndef LT_TOKEN_CLI_H
#define LT_TOKEN_CLI_H

#include <stdbool.h>

#include "lt_config.h"

extern const char lt_token_help[];

/* argv[0] is "token". Returns the exit code: 0 done, 1 refused or database
 * failure, 2 usage error (checked before the database is opened). */
int lt_token_main(const lt_config *cfg, int argc, char **argv, bool json);

#endif
