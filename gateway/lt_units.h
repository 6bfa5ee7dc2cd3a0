/* lt_units: the unit tree (administrative units and agencies) and
 * `lienthong units import FILE` (DESIGN.md, command line). Two halves:
 *  - pure: parse a unit file and validate it, alone or merged with what the
 *    database already holds (no I/O, unit-tested in tests/unit/test_units.c);
 *  - the import: read the database's units, validate the whole file against
 *    them, then write everything in one transaction. */
#ifndef LT_UNITS_H
#define LT_UNITS_H

#include <stdbool.h>
#include <stddef.h>

#include "lt_config.h"

/* Levels: the catalog's CAPTHUCHIEN numbering, so a procedure's level
 * compares directly with a unit's. */
#define LT_UNIT_MINISTRY 0
#define LT_UNIT_PROVINCE 1
#define LT_UNIT_DISTRICT 2
#define LT_UNIT_COMMUNE  3

/* A former code or agency id of a unit. Strings are borrowed from the
 * lt_units that holds them; NULL = absent. */
typedef struct lt_unit_alias {
    const char *code;       /* old unit code, or NULL */
    const char *agency_id;  /* old agency id, or NULL (exactly one of the two is set) */
    const char *valid_from; /* YYYY-MM-DD, first valid day; NULL = since always */
    const char *valid_to;   /* YYYY-MM-DD, last valid day; NULL = still valid */
} lt_unit_alias;

/* One unit as the file (or the database) gives it. Borrowed strings. */
typedef struct lt_unit {
    size_t index;                 /* position in the file, for error messages */
    const char *code;             /* unit code, non-empty */
    const char *name;             /* name, non-empty */
    int level;                    /* LT_UNIT_MINISTRY..LT_UNIT_COMMUNE */
    const char *parent;           /* parent's code, NULL at a root */
    const char *agency_id;        /* agency id, NULL when none */
    const char *code_system;      /* which code list `code` is from; "gso" by default */
    const char *url;              /* the unit's own system, NULL when none */
    const char *dialect;          /* mapping for that system, NULL = our contract */
    const lt_unit_alias *aliases; /* naliases entries */
    size_t naliases;              /* number of aliases */
} lt_unit;

/* A parsed unit file: an opaque list of lt_unit. */
typedef struct lt_units lt_units;

/* Why a file is refused: the entry and the rule it breaks. */
typedef struct lt_units_error {
    long index;        /* entry index (0-based) in the file; -1 = the file as a whole */
    char code[64];     /* that entry's code when it has one, else "" */
    char rule[32];     /* short rule name, e.g. "unknown-parent", "cycle", "date" */
    char message[384]; /* one sentence naming the entry (index and code) and the rule */
} lt_units_error;

/* Parses a unit file (a JSON array of units, DESIGN.md) and checks every
 * entry on its own: required fields and types, level, dates, alias form,
 * unknown keys (a misspelt "agency_id" would otherwise be lost), and codes
 * or agency ids repeated within the file. Returns the list or NULL with err
 * filled (NULL with err->rule "memory" when out of memory). */
lt_units *lt_units_parse(const char *text, size_t len, lt_units_error *err)
    __attribute__((warn_unused_result));

/* The rules that need the whole tree, checked on the file merged with
 * existing (the units already stored; NULL = none; file entries replace
 * existing ones of the same code): every parent known, no cycle, a parent's
 * level not below its child's (province 1 → district 2 → commune 3), no
 * alias equal to a unit's code or agency id, agency ids unique. On success
 * the file's entries are reordered parents first (the order to write them);
 * lt_unit.index keeps their file positions. Returns 0, or -1 with err. */
int lt_units_validate(lt_units *file, const lt_units *existing, lt_units_error *err)
    __attribute__((warn_unused_result));

void lt_units_destroy(lt_units **self_p);
size_t lt_units_count(const lt_units *self);
/* The i-th unit (file order, or parents first after lt_units_validate). */
const lt_unit *lt_units_at(const lt_units *self, size_t i);
/* The unit with that code, or NULL. */
const lt_unit *lt_units_find(const lt_units *self, const char *code);
/* Whether two units hold the same columns (code_system, name, level, parent,
 * agency_id, url, dialect). */
bool lt_unit_same_fields(const lt_unit *a, const lt_unit *b);
/* Whether two units hold the same aliases, in the same order. */
bool lt_unit_same_aliases(const lt_unit *a, const lt_unit *b);

/* Name of a level ("ministry", "province", "district", "commune"). */
const char *lt_unit_level_name(int level);

/* What an import did. */
typedef struct lt_units_summary {
    int added;     /* units new to the database */
    int updated;   /* units whose columns or aliases changed */
    int unchanged; /* units in the file already stored as they are */
    int kept;      /* units in the database but not in the file: kept, not deleted */
    int aliases;   /* alias rows written (replaced units' aliases) */
} lt_units_summary;

/* `lienthong units import FILE` (and `units --help`): argv[0] is "units",
 * argv[1] the action. Uses the database of cfg (lt_db_target_open) and
 * applies pending migrations first, as `serve` does at start-up. Prints the
 * summary (a table line, or JSON with json). cfg is only read once the
 * arguments are valid, so a caller may pass NULL to have usage checked
 * before loading a configuration. Returns the exit code: 0 done, 1 file
 * refused or database failure (nothing written), 2 usage. */
int lt_units_import_main(const lt_config *cfg, int argc, char **argv, bool json)
    __attribute__((warn_unused_result));

#endif
