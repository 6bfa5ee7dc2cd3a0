/* lt_check: `lienthong check [--dialect NAME] [--json] FILE|-`, the offline
 * judge of dossier records (DESIGN.md, "Contract: command line"): decode and
 * validate without a database, so a ward's developer can test a record before
 * sending it and operators can re-judge a rejected payload. */
#ifndef LT_CHECK_H
#define LT_CHECK_H

#include <stdbool.h>

#include "lt_config.h"

/* cfg gives the dialects (shipped and dialects.dir); argv[0] is the
 * subcommand's name; json is the global --json (a --json
 * among argv counts too). Prints the canonical records or every error with
 * its field (--json: {"results": [...]} as the HTTP answer, with "accepted"
 * and no sequence for a valid record, since nothing is stored). Returns the
 * exit code: 0 every record valid, 1 any rejected or the input unreadable or
 * malformed, 2 usage error (including an unknown dialect). */
int lt_check_main(const lt_config *cfg, int argc, char **argv, bool json);

#endif
