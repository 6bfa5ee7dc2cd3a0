/* lt_opcli: what the operators' row commands (`lienthong deadletters`,
 * `lienthong rejects`) share: the `ACTION [ID] [--limit N] [--since ID]
 * [--FILTER V] [--json]` grammar and its usage errors, opening the database,
 * dispatching to the action, and reading and printing result rows. */
#ifndef LT_OPCLI_H
#define LT_OPCLI_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "lt_config.h"

#define LT_OPCLI_EXIT_FAILED 1
#define LT_OPCLI_EXIT_USAGE  2

/* A timestamptz column as ISO 8601 in Asia/Ho_Chi_Minh (UTC+7 all year, no
 * DST), for a SELECT list. */
#define LT_OPCLI_TS(c)                                                                             \
    "to_char(" c " AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD\"T\"HH24:MI:SS+07:00')"

/* The parsed command line of one action. */
typedef struct lt_opcli_args {
    const char *command; /* the spec's command */
    const char *noun;    /* the spec's noun */
    const char *sub;     /* the action's name */
    int64_t id;          /* actions that take an ID */
    int64_t since;       /* list: -1 = the newest rows */
    int64_t limit;       /* list: rows at most */
    const char *filter;  /* list: the filter option's value, NULL = none */
    bool json;           /* --json anywhere */
} lt_opcli_args;

typedef int lt_opcli_action_fn(PGconn *conn, const lt_config *cfg, const lt_opcli_args *a);

/* One action; the list action (the only one taking options) is named
 * "list" and every other takes one ID. */
typedef struct lt_opcli_action {
    const char *name;        /* as typed after the command */
    lt_opcli_action_fn *run; /* returns the command's exit status */
} lt_opcli_action;

typedef struct lt_opcli_spec {
    const char *command;            /* "deadletters" */
    const char *noun;               /* "dead letter", for messages */
    const lt_opcli_action *actions; /* ended by {NULL, NULL} */
    const char *filter;             /* list's filter option ("--unit"), NULL = none */
    bool since;                     /* list takes --since ID */
} lt_opcli_spec;

/* Parses argv (argv[1] the action) as spec says, opens the database
 * (migrations applied) and runs the action. Returns its exit status, or
 * LT_OPCLI_EXIT_USAGE / _FAILED with the reason on stderr. */
int lt_opcli_main(const lt_opcli_spec *spec, const lt_config *cfg, int argc, char **argv,
                  bool json);

/* Runs sql with a's ID as its one parameter ($1), writing the ID's text to
 * id. NULL, with the reason on stderr, when the statement fails or finds no
 * row ("no reject with id 42"). */
PGresult *lt_opcli_by_id(PGconn *conn, const char *sql, const lt_opcli_args *a, char id[24]);

/* A column's text, NULL when SQL NULL. */
const char *lt_opcli_col(const PGresult *r, int row, int c);

/* New JSON values from column text: a string or null; an integer or null. */
json_t *lt_opcli_text_or_null(const char *s);
json_t *lt_opcli_int_or_null(const char *s);

/* "YYYY-MM-DD HH:MM:SS" of an LT_OPCLI_TS text, for a table. */
void lt_opcli_table_time(const char *iso, char buf[20]);

/* doc as one compact line on stdout. */
void lt_opcli_print_json(const json_t *doc);

#endif
