/* lt_deadletters_cli: `lienthong deadletters list|show` and `lienthong
 * replay` (DESIGN.md, command line): deliveries the receivers refused or
 * that ran out of retries, read and sent again by an operator. */
#ifndef LT_DEADLETTERS_CLI_H
#define LT_DEADLETTERS_CLI_H

#include <stdbool.h>

#include "lt_config.h"

extern const char lt_deadletters_help[];
extern const char lt_replay_help[];

/* argv[0] is "deadletters". Returns the exit code: 0 done, 1 an unknown id
 * or a database failure, 2 usage error (checked before the database is
 * opened). */
int lt_deadletters_main(const lt_config *cfg, int argc, char **argv, bool json);

/* argv[0] is "replay". Returns 0 done (--all: however many, none
 * included), 1 --id names no dead letter of that destination or the
 * database failed, 2 usage error. */
int lt_replay_main(const lt_config *cfg, int argc, char **argv, bool json);

#endif
