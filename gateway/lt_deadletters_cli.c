/* lt_deadletters_cli: the operator's side of dead letters, the outbox rows
 * in state dead (schemas/sql/0009_delivery.sql): `deadletters list` and
 * `show` read them, `replay` sends them again.
 *
 * Why show masks the record while `rejects show` does not: a reject is fixed
 * by editing its payload, so the operator needs it whole; a dead letter is
 * fixed on the receiver's side or in configuration, and what the operator
 * needs is the receiver's answer and the error, not the citizen's data. The
 * record's personal fields go through lt_mask; the answer and error are
 * masked as text (a receiver may echo what it was sent).
 *
 * Why replay is one SQL function: a dead row whose dossier already has a
 * newer row delivered or on its way to the same destination must not be
 * sent again (it would put an older state on top of a newer one); the
 * function supersedes those and releases the rest in one transaction. */
#include "lt_deadletters_cli.h"
#include "lt_audit.h"
#include "lt_db.h"
#include "lt_dbsession.h"
#include "lt_mask.h"
#include "lt_opcli.h"
#include "lt_outbox.h"
#include "lt_read_query.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_FAILED LT_OPCLI_EXIT_FAILED
#define EXIT_USAGE  LT_OPCLI_EXIT_USAGE

const char lt_deadletters_help[] =
    "usage: lienthong deadletters list [--destination D] [--limit N] [--json]\n"
    "       lienthong deadletters show ID [--json]\n"
    "\n"
    "Dead letters are deliveries that will not be retried by themselves: the\n"
    "receiver refused them (a 4xx other than 408/429, or a portal error code),\n"
    "or retries ran past the retry horizon. Other dossiers are not held up by\n"
    "them. Destinations are named portal, unit:<code> (a competent unit's\n"
    "system), ward:<code> (a ward's callback) and webhook. Times are\n"
    "Asia/Ho_Chi_Minh.\n"
    "\n"
    "  list   the newest N (--limit, default 50, at most 10000), newest first:\n"
    "         id, when it died, destination, event sequence, dossier code,\n"
    "         attempts, HTTP status and the error (masked).\n"
    "         --destination D: only those of D.\n"
    "         --json: {\"deadletters\": [{\"id\", \"destination\", \"event_seq\",\n"
    "         \"dossier_code\", \"attempts\", \"status\", \"error\", \"dead_at\"}]}.\n"
    "  show   one dead letter: the error, the receiver's answer as it was kept,\n"
    "         attempts, and the record that was to be delivered with its\n"
    "         personal data masked (names, ID numbers, phones, e-mail).\n"
    "         --json: {\"id\", \"destination\", \"event_seq\", \"dossier_code\",\n"
    "         \"attempts\", \"status\", \"error\", \"answer\", \"dead_at\",\n"
    "         \"created_at\", \"idempotency_key\", \"record\"}.\n"
    "\n"
    "Send them again with `lienthong replay` once the cause is fixed.\n"
    "Uses the same database as serve and applies pending migrations first.\n"
    "Exit status: 0 done, 1 no such dead letter or database failure, 2 usage\n"
    "error.\n"
    "\n"
    "Examples:\n"
    "  lienthong deadletters list --destination portal\n"
    "  lienthong deadletters show 42\n";

const char lt_replay_help[] =
    "usage: lienthong replay --destination D (--all | --id N) [--json]\n"
    "\n"
    "Sends dead letters again: the dead letters of destination D (--all), or\n"
    "the one with id N (see lienthong deadletters list), become pending now\n"
    "with their attempts reset; running gateways deliver them with the same\n"
    "idempotency key as before. A dead letter whose dossier already has a\n"
    "newer delivery to D (delivered, or waiting) is not sent: the newer one\n"
    "carries the whole current record, so it is marked superseded instead.\n"
    "Prints how many were replayed and superseded (--json: {\"destination\",\n"
    "\"replayed\", \"superseded\"}).\n"
    "\n"
    "Uses the same database as serve and applies pending migrations first.\n"
    "Exit status: 0 done (--all: also when there was nothing to replay), 1\n"
    "--id names no dead letter of D, or database failure, 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  lienthong replay --destination portal --all\n"
    "  lienthong replay --destination unit:243 --id 42\n";

/* Masked copy of s (NULL stays NULL); *ret_oom set when out of memory. */
static char *masked(const char *s, bool *ret_oom)
{
    if (!s)
        return NULL;
    char *m = lt_mask_text(s);
    if (!m)
        *ret_oom = true;
    return m;
}

/* ---- deadletters --------------------------------------------------------- */

static const char list_sql[] = "SELECT id, " LT_OPCLI_TS(
    "updated_at") ", destination, event_seq, dossier_code, attempts,"
                  " last_status, last_error FROM outbox"
                  " WHERE state = 'dead' AND ($1::text IS NULL OR destination = $1)"
                  " ORDER BY updated_at DESC, id DESC LIMIT $2";

static int dl_list(PGconn *c, const lt_config *cfg, const lt_opcli_args *a)
{
    (void)cfg;
    char err[512] = "", limit[24];
    snprintf(limit, sizeof(limit), "%" PRId64, a->limit);
    const char *p[2] = {a->filter, limit};
    PGresult *r = lt_db_exec(c, list_sql, 2, p, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "lienthong deadletters list: %s\n", err);
        return EXIT_FAILED;
    }
    int rc = 0;
    json_t *arr = a->json ? json_array() : NULL;
    if (!a->json)
        printf("%-8s %-19s %-14s %-10s %-28s %-8s %-6s %s\n", "id", "dead at (+07)", "destination",
               "event", "dossier code", "attempts", "status", "error");
    for (int i = 0; i < PQntuples(r); i++) {
        bool oom = false;
        char *error = masked(lt_opcli_col(r, i, 7), &oom);
        if (oom) {
            fprintf(stderr, "lienthong deadletters list: out of memory\n");
            rc = EXIT_FAILED;
            break;
        }
        if (a->json) {
            json_array_append_new(
                arr, json_pack("{s:I, s:s, s:s, s:I, s:o, s:I, s:o, s:o}", "id",
                               (json_int_t)strtoll(lt_opcli_col(r, i, 0), NULL, 10), "dead_at",
                               lt_opcli_col(r, i, 1), "destination", lt_opcli_col(r, i, 2),
                               "event_seq", (json_int_t)strtoll(lt_opcli_col(r, i, 3), NULL, 10),
                               "dossier_code", lt_opcli_text_or_null(lt_opcli_col(r, i, 4)),
                               "attempts", (json_int_t)strtoll(lt_opcli_col(r, i, 5), NULL, 10),
                               "status", lt_opcli_int_or_null(lt_opcli_col(r, i, 6)), "error",
                               lt_opcli_text_or_null(error)));
        } else {
            char when[20];
            lt_opcli_table_time(lt_opcli_col(r, i, 1), when);
            printf("%-8s %-19s %-14s %-10s %-28s %-8s %-6s %s\n", lt_opcli_col(r, i, 0), when,
                   lt_opcli_col(r, i, 2), lt_opcli_col(r, i, 3),
                   lt_opcli_col(r, i, 4) ? lt_opcli_col(r, i, 4) : "-", lt_opcli_col(r, i, 5),
                   lt_opcli_col(r, i, 6) ? lt_opcli_col(r, i, 6) : "-", error ? error : "-");
        }
        free(error);
    }
    if (a->json && rc == 0) {
        json_t *doc = json_pack("{s:O}", "deadletters", arr);
        lt_opcli_print_json(doc);
        json_decref(doc);
    }
    json_decref(arr);
    PQclear(r);
    return rc;
}

/* The event's record comes from dossier_events (the outbox keeps only its
 * sequence). */
static const char show_sql[] = "SELECT o.id, " LT_OPCLI_TS(
    "o.updated_at") ", o.destination, o.event_seq, o.dossier_code,"
                    " o.attempts, o.last_status, o.last_error, o.answer, " LT_OPCLI_TS(
                        "o.created_at") ","
                                        " o.idempotency_key, (SELECT e.record::text FROM "
                                        "dossier_events e WHERE e.seq = o.event_seq)"
                                        " FROM outbox o WHERE o.id = $1 AND o.state = 'dead'";

static int dl_show(PGconn *c, const lt_config *cfg, const lt_opcli_args *a)
{
    (void)cfg;
    char id[24];
    PGresult *r = lt_opcli_by_id(c, show_sql, a, id);
    if (!r)
        return EXIT_FAILED;
    int rc = EXIT_FAILED;
    char *error = NULL, *answer = NULL, *rec_text = NULL;
    json_t *record = NULL;
    bool oom = false;
    error = masked(lt_opcli_col(r, 0, 7), &oom);
    answer = masked(lt_opcli_col(r, 0, 8), &oom);
    if (lt_opcli_col(r, 0, 11)) {
        record = json_loads(lt_opcli_col(r, 0, 11), 0, NULL);
        if (!record || lt_mask_json(record) < 0)
            oom = true;
    }
    if (oom) {
        fprintf(stderr, "lienthong deadletters show: out of memory\n");
        goto out;
    }
    if (a->json) {
        json_t *doc = json_pack(
            "{s:I, s:s, s:s, s:I, s:o, s:I, s:o, s:o, s:o, s:s, s:s, s:o}", "id", (json_int_t)a->id,
            "dead_at", lt_opcli_col(r, 0, 1), "destination", lt_opcli_col(r, 0, 2), "event_seq",
            (json_int_t)strtoll(lt_opcli_col(r, 0, 3), NULL, 10), "dossier_code",
            lt_opcli_text_or_null(lt_opcli_col(r, 0, 4)), "attempts",
            (json_int_t)strtoll(lt_opcli_col(r, 0, 5), NULL, 10), "status",
            lt_opcli_int_or_null(lt_opcli_col(r, 0, 6)), "error", lt_opcli_text_or_null(error),
            "answer", lt_opcli_text_or_null(answer), "created_at", lt_opcli_col(r, 0, 9),
            "idempotency_key", lt_opcli_col(r, 0, 10), "record",
            record ? json_incref(record) : json_null());
        if (!doc) {
            fprintf(stderr, "lienthong deadletters show: out of memory\n");
            goto out;
        }
        lt_opcli_print_json(doc);
        json_decref(doc);
    } else {
        rec_text = record ? json_dumps(record, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        printf("dead letter %s\n", id);
        printf("  %-16s %s\n", "destination", lt_opcli_col(r, 0, 2));
        printf("  %-16s %s\n", "event", lt_opcli_col(r, 0, 3));
        printf("  %-16s %s\n", "dossier code", lt_opcli_col(r, 0, 4) ? lt_opcli_col(r, 0, 4) : "-");
        printf("  %-16s %s\n", "queued", lt_opcli_col(r, 0, 9));
        printf("  %-16s %s\n", "dead at", lt_opcli_col(r, 0, 1));
        printf("  %-16s %s\n", "attempts", lt_opcli_col(r, 0, 5));
        printf("  %-16s %s\n", "HTTP status",
               lt_opcli_col(r, 0, 6) ? lt_opcli_col(r, 0, 6) : "- (no answer)");
        printf("  %-16s %s\n", "idempotency key", lt_opcli_col(r, 0, 10));
        printf("  %-16s %s\n", "error", error ? error : "-");
        printf("answer (as the receiver sent it, masked):\n%s\n", answer ? answer : "-");
        printf("record (personal data masked):\n%s\n", rec_text ? rec_text : "-");
    }
    rc = 0;
out:
    free(rec_text);
    json_decref(record);
    free(error);
    free(answer);
    PQclear(r);
    return rc;
}

static const lt_opcli_action dl_actions[] = {{"list", dl_list}, {"show", dl_show}, {NULL, NULL}};
static const lt_opcli_spec dl_spec = {.command = "deadletters",
                                      .noun = "dead letter",
                                      .actions = dl_actions,
                                      .filter = "--destination"};

int lt_deadletters_main(const lt_config *cfg, int argc, char **argv, bool json)
{
    return lt_opcli_main(&dl_spec, cfg, argc, argv, json);
}

/* ---- replay -------------------------------------------------------------- */

static int replay_usage(const char *what, const char *arg)
{
    fprintf(stderr, "lienthong replay: %s%s (see lienthong replay --help)\n", what, arg ? arg : "");
    return EXIT_USAGE;
}

int lt_replay_main(const lt_config *cfg, int argc, char **argv, bool json)
{
    const char *dest = NULL;
    bool all = false;
    int64_t id = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--json") == 0) {
            json = true;
        } else if (strcmp(o, "--all") == 0 && !all) {
            all = true;
        } else if (strcmp(o, "--destination") == 0 && i + 1 < argc && argv[i + 1][0] && !dest) {
            dest = argv[++i];
        } else if (strcmp(o, "--id") == 0 && i + 1 < argc && id == 0) {
            if (!lt_read_parse_count(argv[++i], 1, INT64_MAX, &id))
                return replay_usage("--id expects a dead letter id (a whole number), not ",
                                    argv[i]);
        } else {
            return replay_usage("unexpected argument ", o);
        }
    }
    if (!dest)
        return replay_usage("--destination is required (portal, unit:<code>, ward:<code>, "
                            "webhook)",
                            NULL);
    if (all == (id != 0))
        return replay_usage("give either --all or --id N", NULL);

    char err[1024] = "";
    lt_dbsession *db = lt_dbsession_open(cfg, LT_SCHEMA_APPLY, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "lienthong replay: %s\n", err);
        return EXIT_FAILED;
    }
    char idtext[24];
    snprintf(idtext, sizeof(idtext), "%" PRId64, id);
    char actor[96];
    lt_audit_cli_actor(actor, sizeof(actor));
    const char *p[4] = {dest, all ? NULL : idtext, actor, "{\"via\": \"cli\"}"};
    int rc = EXIT_FAILED;
    PGresult *r =
        lt_db_exec(lt_dbsession_conn(db), LT_AUDIT_DEADLETTER_REPLAY_SQL, 4, p, err, sizeof(err));
    if (!r || PQntuples(r) != 1) {
        fprintf(stderr, "lienthong replay: %s\n", r ? "unexpected answer" : err);
        goto out;
    }
    long long replayed = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    long long superseded = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    if (!all && replayed + superseded == 0) {
        fprintf(stderr,
                "lienthong replay: no dead letter with id %s for destination %s (see lienthong "
                "deadletters list)\n",
                idtext, dest);
        goto out;
    }
    if (json) {
        json_t *doc = json_pack("{s:s, s:I, s:I}", "destination", dest, "replayed",
                                (json_int_t)replayed, "superseded", (json_int_t)superseded);
        if (doc)
            lt_opcli_print_json(doc);
        json_decref(doc);
    } else {
        printf("%lld replayed, %lld superseded by a newer delivery (destination %s)\n", replayed,
               superseded, dest);
    }
    rc = 0;
out:
    PQclear(r);
    lt_dbsession_close(&db);
    return rc;
}
