/* lt_rejects_cli: `lienthong rejects list|show|resubmit`, the operator's
 * side of the rejects table (schemas/sql/0001_init.sql): every record the
 * writer refused, kept with the bytes the sender sent and the answer it got.
 *
 * Why list and show differ in what they print: a list is what an operator
 * scrolls and pastes into a ticket, so it never carries the payload and its
 * messages go through lt_mask (a parser's message may quote the bytes it
 * choked on); show is for the one reject being fixed, and the payload is
 * what needs fixing, so it prints everything (the stdout of an operator's
 * command is not a log).
 *
 * Why resubmit goes through lt_writer_run_sync and not a front: it must be
 * judged exactly as a push is (the same mapping, checks, recency rule and
 * SQL), acting for the unit and dialect stored with the reject, and it must
 * work when no gateway runs. The result is kept on the row; resubmitting
 * again overwrites it, and a second resubmission of an accepted record is a
 * harmless duplicate (ingest is idempotent), so no lock is taken. */
#include "lt_rejects_cli.h"
#include "lt_audit.h"
#include "lt_db.h"
#include "lt_dialects.h"
#include "lt_dossier.h"
#include "lt_ingest.h"
#include "lt_mask.h"
#include "lt_opcli.h"
#include "lt_utf8.h"
#include "lt_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_FAILED LT_OPCLI_EXIT_FAILED

const char lt_rejects_help[] =
    "usage: lienthong rejects list [--since ID] [--limit N] [--unit CODE] [--json]\n"
    "       lienthong rejects show ID [--json]\n"
    "       lienthong rejects resubmit ID [--json]\n"
    "\n"
    "What the gateway refused at the door (POST /v1/dossiers, ZeroMQ ingress):\n"
    "each refused record is kept with the bytes the sender sent, the sender's\n"
    "unit and dialect, and the answer it got. Times are Asia/Ho_Chi_Minh.\n"
    "\n"
    "  list      one line per reject, oldest first: id, time, unit, channel,\n"
    "            dossier code, code (422, 409, 403... or \"malformed\" for a\n"
    "            body that could not be read), the outcome of the last\n"
    "            resubmission, and the message (masked). Never the payload.\n"
    "            Without --since: the newest N (--limit, default 50, at most\n"
    "            10000). With --since ID: the first N after ID, so a script\n"
    "            can walk everything by passing the last id it saw.\n"
    "            --unit CODE: only what that unit's systems sent.\n"
    "            --json: {\"rejects\": [{\"id\", \"received_at\", \"unit\",\n"
    "            \"channel\", \"dialect\", \"dossier_code\", \"code\", \"message\",\n"
    "            \"resubmitted_at\", \"resubmit\", \"payload_bytes\"}]}.\n"
    "  show      everything about one reject, the payload included (it holds\n"
    "            personal data: this is for fixing the cause, not for tickets):\n"
    "            the reason with every error, the last resubmission's result,\n"
    "            and the payload as sent (base64 when it is not UTF-8).\n"
    "            --json: {\"id\", \"received_at\", \"unit\", \"channel\",\n"
    "            \"dialect\", \"dossier_code\", \"reason\", \"resubmitted_at\",\n"
    "            \"resubmit_result\", \"payload\" (text or null),\n"
    "            \"payload_base64\" (when not UTF-8), \"payload_bytes\"}.\n"
    "  resubmit  runs the stored payload through ingest again, exactly as a\n"
    "            push, acting for the stored sender unit with the stored\n"
    "            dialect (an operator's decision: no token is needed). Use it\n"
    "            once the cause is fixed (a catalog sync, a units import, a\n"
    "            corrected dialect file). The result is stored on the reject\n"
    "            (resubmitted_at, resubmit_result) and printed (--json:\n"
    "            {\"id\", \"resubmitted_at\", \"outcome\", \"status\", \"answer\"}).\n"
    "            A reject may be resubmitted again, whether or not an earlier\n"
    "            try worked: only the latest result is kept, and a record\n"
    "            already accepted comes back as a duplicate. A reject stored\n"
    "            without a unit (auth.required was false) is resubmitted\n"
    "            without one, as such a push would be.\n"
    "\n"
    "Uses the same database as serve and applies pending migrations first.\n"
    "Exit status: 0 done (resubmit: every record accepted, duplicate or\n"
    "stale), 1 no such reject, database failure, or (resubmit) a record\n"
    "rejected again, 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  lienthong rejects list --unit 08707\n"
    "  lienthong rejects show 42\n"
    "  lienthong catalog sync --file export.json && lienthong rejects resubmit 42\n";

/* ---- output helpers -------------------------------------------------------- */

/* A column holding JSON text (jsonb::text), as a value; null when NULL. */
static json_t *json_col(const PGresult *r, int row, int c)
{
    const char *s = lt_opcli_col(r, row, c);
    json_t *j = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
    return j ? j : json_null();
}

/* A scalar JSON value as text for a table: strings bare, numbers as
 * numbers, anything absent as "-". */
static void scalar_text(const json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v))
        snprintf(buf, cap, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(buf, cap, "-");
}

/* ---- list ------------------------------------------------------------------ */

#define RECEIVED_AT    LT_OPCLI_TS("received_at")
#define RESUBMITTED_AT LT_OPCLI_TS("resubmitted_at")
/* The outcome of the last resubmission in one word: "rejected" when its
 * answer refused anything, else the first record's result. */
#define RESUBMIT_OUTCOME                                                                           \
    "CASE WHEN resubmit_result IS NULL THEN NULL"                                                  \
    " WHEN resubmit_result ? 'error' OR jsonb_path_exists(resubmit_result,"                        \
    " '$.results[*] ? (@.result == \"rejected\")') THEN 'rejected'"                                \
    " ELSE resubmit_result->'results'->0->>'result' END"
/* The columns of a list row; the reason is either a result object or
 * {"error": {...}} for a whole body. */
#define LIST_COLUMNS                                                                               \
    "SELECT id, " RECEIVED_AT ", sender_unit, channel, dialect, dossier_code,"                     \
    " coalesce(reason->'code', reason->'error'->'code')::text,"                                    \
    " coalesce(reason->>'message', reason->'error'->>'message'), " RESUBMITTED_AT                  \
    ", " RESUBMIT_OUTCOME ", octet_length(payload) FROM rejects"                                   \
    " WHERE ($1::bigint IS NULL OR id > $1) AND ($2::text IS NULL OR sender_unit = $2)"

/* With --since: the first N after it; without: the newest N, shown oldest
 * first. Two statements so that each walks the primary key. */
static const char list_after_sql[] = LIST_COLUMNS " ORDER BY id LIMIT $3";
static const char list_newest_sql[] =
    "SELECT * FROM (" LIST_COLUMNS " ORDER BY id DESC LIMIT $3) r ORDER BY id";

static int list(PGconn *c, const lt_config *cfg, const lt_opcli_args *a)
{
    (void)cfg;
    char err[512] = "", since[24], limit[24];
    snprintf(since, sizeof(since), "%" PRId64, a->since);
    snprintf(limit, sizeof(limit), "%" PRId64, a->limit);
    const char *p[3] = {a->since >= 0 ? since : NULL, a->filter, limit};
    PGresult *r =
        lt_db_exec(c, a->since >= 0 ? list_after_sql : list_newest_sql, 3, p, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "lienthong rejects list: %s\n", err);
        return EXIT_FAILED;
    }
    json_t *arr = a->json ? json_array() : NULL;
    if (!a->json)
        printf("%-6s %-19s %-8s %-7s %-28s %-10s %-9s %s\n", "id", "received (+07)", "unit",
               "channel", "dossier code", "code", "resubmit", "message");
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *code = json_col(r, i, 6);
        /* A parser's message may quote what it choked on. */
        char *msg = lt_mask_text(lt_opcli_col(r, i, 7) ? lt_opcli_col(r, i, 7) : "");
        if (!msg) {
            json_decref(code);
            json_decref(arr);
            PQclear(r);
            fprintf(stderr, "lienthong rejects list: out of memory\n");
            return EXIT_FAILED;
        }
        if (a->json) {
            json_array_append_new(
                arr, json_pack("{s:I, s:s, s:o, s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:I}", "id",
                               (json_int_t)strtoll(lt_opcli_col(r, i, 0), NULL, 10), "received_at",
                               lt_opcli_col(r, i, 1), "unit",
                               lt_opcli_text_or_null(lt_opcli_col(r, i, 2)), "channel",
                               lt_opcli_col(r, i, 3), "dialect",
                               lt_opcli_text_or_null(lt_opcli_col(r, i, 4)), "dossier_code",
                               lt_opcli_text_or_null(lt_opcli_col(r, i, 5)), "code",
                               json_incref(code), "message", msg, "resubmitted_at",
                               lt_opcli_text_or_null(lt_opcli_col(r, i, 8)), "resubmit",
                               lt_opcli_text_or_null(lt_opcli_col(r, i, 9)), "payload_bytes",
                               (json_int_t)strtoll(lt_opcli_col(r, i, 10), NULL, 10)));
        } else {
            char codebuf[32], when[20];
            scalar_text(code, codebuf, sizeof(codebuf));
            lt_opcli_table_time(lt_opcli_col(r, i, 1), when);
            printf("%-6s %-19s %-8s %-7s %-28s %-10s %-9s %s\n", lt_opcli_col(r, i, 0), when,
                   lt_opcli_col(r, i, 2) ? lt_opcli_col(r, i, 2) : "-", lt_opcli_col(r, i, 3),
                   lt_opcli_col(r, i, 5) ? lt_opcli_col(r, i, 5) : "-", codebuf,
                   lt_opcli_col(r, i, 9) ? lt_opcli_col(r, i, 9) : "-", msg);
        }
        free(msg);
        json_decref(code);
    }
    if (a->json) {
        json_t *doc = json_pack("{s:o}", "rejects", arr);
        lt_opcli_print_json(doc);
        json_decref(doc);
    }
    PQclear(r);
    return 0;
}

/* ---- show ------------------------------------------------------------------ */

/* The stored bytes of a bytea column (text format), or NULL when out of
 * memory. Caller frees with PQfreemem. */
static unsigned char *payload_of(const PGresult *r, int row, int c, size_t *ret_len)
{
    return PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, c), ret_len);
}

static char *base64_of(const unsigned char *bytes, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b = malloc(cap);
    if (b)
        sodium_bin2base64(b, cap, bytes, len, sodium_base64_VARIANT_ORIGINAL);
    return b;
}

static const char *str_or_dash(const char *s)
{
    return s && s[0] ? s : "-";
}

static void print_kv(const char *key, const char *value)
{
    printf("  %-14s %s\n", key, value && value[0] ? value : "-");
}

/* The reason as people read it: code, field, path, message, then every
 * error on its own line. */
static void print_reason(const json_t *reason)
{
    const json_t *why =
        json_object_get(reason, "error") ? json_object_get(reason, "error") : reason;
    char code[32];
    scalar_text(json_object_get(why, "code"), code, sizeof(code));
    print_kv("code", code);
    print_kv("field", json_string_value(json_object_get(why, "field")));
    print_kv("path", json_string_value(json_object_get(why, "path")));
    print_kv("message", json_string_value(json_object_get(why, "message")));
    const json_t *errors = json_object_get(why, "errors");
    size_t i;
    const json_t *e;
    if (json_array_size(errors) > 0)
        printf("  errors (%zu):\n", json_array_size(errors));
    json_array_foreach(errors, i, e)
    {
        const char *path = json_string_value(json_object_get(e, "path"));
        const char *field = json_string_value(json_object_get(e, "field"));
        printf("    %s: expected %s, got %s\n", path && path[0] ? path : str_or_dash(field),
               str_or_dash(json_string_value(json_object_get(e, "expected"))),
               str_or_dash(json_string_value(json_object_get(e, "got"))));
    }
}

static const char show_sql[] =
    "SELECT id, " RECEIVED_AT
    ", sender_unit, channel, dialect, dossier_code, reason::text, " RESUBMITTED_AT
    ", resubmit_result::text, payload FROM rejects WHERE id = $1";

static int show(PGconn *c, const lt_config *cfg, const lt_opcli_args *a)
{
    (void)cfg;
    char id[24];
    PGresult *r = lt_opcli_by_id(c, show_sql, a, id);
    if (!r)
        return EXIT_FAILED;
    int rc = EXIT_FAILED;
    unsigned char *payload = NULL;
    char *b64 = NULL;
    json_t *reason = NULL, *result = NULL;
    size_t len = 0;
    payload = payload_of(r, 0, 9, &len);
    if (!payload) {
        fprintf(stderr, "lienthong rejects show: out of memory\n");
        goto out;
    }
    bool text = lt_utf8_invalid_at((const char *)payload, len) == len;
    if (!text && !(b64 = base64_of(payload, len))) {
        fprintf(stderr, "lienthong rejects show: out of memory\n");
        goto out;
    }
    reason = json_col(r, 0, 6);
    result = json_col(r, 0, 8);
    if (a->json) {
        json_t *doc = json_pack(
            "{s:I, s:s, s:o, s:s, s:o, s:o, s:O, s:o, s:O, s:o, s:I}", "id", (json_int_t)a->id,
            "received_at", lt_opcli_col(r, 0, 1), "unit",
            lt_opcli_text_or_null(lt_opcli_col(r, 0, 2)), "channel", lt_opcli_col(r, 0, 3),
            "dialect", lt_opcli_text_or_null(lt_opcli_col(r, 0, 4)), "dossier_code",
            lt_opcli_text_or_null(lt_opcli_col(r, 0, 5)), "reason", reason, "resubmitted_at",
            lt_opcli_text_or_null(lt_opcli_col(r, 0, 7)), "resubmit_result", result, "payload",
            text ? json_stringn((const char *)payload, len) : json_null(), "payload_bytes",
            (json_int_t)len);
        if (doc && b64)
            json_object_set_new(doc, "payload_base64", json_string(b64));
        if (!doc) {
            fprintf(stderr, "lienthong rejects show: out of memory\n");
            goto out;
        }
        lt_opcli_print_json(doc);
        json_decref(doc);
    } else {
        printf("reject %s\n", id);
        print_kv("received", lt_opcli_col(r, 0, 1));
        print_kv("unit", lt_opcli_col(r, 0, 2));
        print_kv("channel", lt_opcli_col(r, 0, 3));
        print_kv("dialect", lt_opcli_col(r, 0, 4) ? lt_opcli_col(r, 0, 4) : "canonical");
        print_kv("dossier code", lt_opcli_col(r, 0, 5));
        print_reason(reason);
        if (lt_opcli_col(r, 0, 7)) {
            char *res = json_dumps(result, JSON_COMPACT);
            print_kv("resubmitted", lt_opcli_col(r, 0, 7));
            print_kv("result", res);
            free(res);
        } else {
            print_kv("resubmitted", "never");
        }
        if (text) {
            printf("payload (%zu bytes):\n", len);
            fwrite(payload, 1, len, stdout);
            if (len == 0 || payload[len - 1] != '\n')
                putchar('\n');
        } else {
            printf("payload (%zu bytes, not UTF-8; base64):\n%s\n", len, b64);
        }
    }
    rc = 0;
out:
    json_decref(reason);
    json_decref(result);
    free(b64);
    if (payload)
        PQfreemem(payload);
    PQclear(r);
    return rc;
}

/* ---- resubmit -------------------------------------------------------------- */

/* The push a reject becomes: its bytes decoded as a front would, acting for
 * its unit and dialect. NULL when out of memory. */
static lt_ingest_req *request_of(const unsigned char *payload, size_t len, const char *unit,
                                 const char *dialect)
{
    lt_ingest_req *req = lt_ingest_req_new(LT_CHANNEL_CLI);
    if (!req)
        return NULL;
    req->body = malloc(len + 1);
    if (!req->body) {
        lt_ingest_req_destroy(&req);
        return NULL;
    }
    memcpy(req->body, payload, len);
    req->body[len] = '\0';
    req->body_len = len;
    json_t *records = NULL;
    bool single = false;
    if (lt_dossier_decode(req->body, len, &records, &single, &req->malformed) == LT_DOSSIER_OK) {
        req->records = records;
        req->single = single;
    }
    snprintf(req->act_for_unit, sizeof(req->act_for_unit), "%s", unit ? unit : "");
    snprintf(req->act_dialect, sizeof(req->act_dialect), "%s", dialect ? dialect : "");
    return req;
}

/* "rejected" when the answer refuses anything (a whole-body error, or any
 * record rejected), else the first record's result. */
static const char *outcome_of(const json_t *answer)
{
    const json_t *results = json_object_get(answer, "results");
    if (json_object_get(answer, "error"))
        return "rejected";
    size_t i;
    const json_t *res;
    json_array_foreach(results, i, res)
    {
        const char *word = json_string_value(json_object_get(res, "result"));
        if (!word || strcmp(word, "rejected") == 0)
            return "rejected";
    }
    const char *first = json_string_value(json_object_get(json_array_get(results, 0), "result"));
    return first ? first : "rejected";
}

static void print_results(const json_t *answer)
{
    /* A refused single record comes with both; its result says more. */
    const json_t *e = json_object_get(answer, "error");
    if (e && json_array_size(json_object_get(answer, "results")) == 0) {
        char code[32];
        scalar_text(json_object_get(e, "code"), code, sizeof(code));
        printf("  rejected: %s: %s\n", code,
               str_or_dash(json_string_value(json_object_get(e, "message"))));
    }
    size_t i;
    const json_t *res;
    json_array_foreach(json_object_get(answer, "results"), i, res)
    {
        const char *code = json_string_value(json_object_get(res, "MaHoSo"));
        const char *word = json_string_value(json_object_get(res, "result"));
        printf("  %s: %s", code && code[0] ? code : "(no MaHoSo)", word ? word : "-");
        if (json_is_integer(json_object_get(res, "sequence")))
            printf(" (sequence %" JSON_INTEGER_FORMAT ")",
                   json_integer_value(json_object_get(res, "sequence")));
        if (word && strcmp(word, "rejected") == 0) {
            char status[32];
            scalar_text(json_object_get(res, "code"), status, sizeof(status));
            printf(" %s: %s", status,
                   str_or_dash(json_string_value(json_object_get(res, "message"))));
        }
        putchar('\n');
    }
}

static int resubmit(PGconn *c, const lt_config *cfg, const lt_opcli_args *a)
{
    char err[768] = "", id[24];
    int rc = EXIT_FAILED;
    unsigned char *payload = NULL;
    lt_dialects *dialects = NULL;
    lt_ingest_req *req = NULL;
    json_t *answer = NULL;
    PGresult *upd = NULL;
    PGresult *r =
        lt_opcli_by_id(c, "SELECT sender_unit, dialect, payload FROM rejects WHERE id = $1", a, id);
    if (!r)
        goto out;
    size_t len = 0;
    if (!(payload = payload_of(r, 0, 2, &len)) ||
        !(req = request_of(payload, len, lt_opcli_col(r, 0, 0), lt_opcli_col(r, 0, 1)))) {
        snprintf(err, sizeof(err), "out of memory");
        goto fail;
    }
    if (!(dialects = lt_dialects_load(cfg, err, sizeof(err))))
        goto fail;
    if (lt_writer_run_sync(c, cfg, dialects, req) < 0) {
        /* Nothing was written: the row keeps its previous result. */
        snprintf(err, sizeof(err), "the database failed: %s",
                 req->answer ? req->answer : "no answer");
        goto fail;
    }
    if (!req->answer || !(answer = json_loads(req->answer, 0, NULL))) {
        snprintf(err, sizeof(err), "the writer gave no readable answer");
        goto fail;
    }
    /* Recorded after the writer's own commit: should this fail, the record
     * may be stored while the row still says "never"; a second resubmit then
     * answers duplicate and records that. The audit row (reject.resubmit)
     * comes with the same statement, so the row never says "resubmitted"
     * without it. */
    const char *outcome = outcome_of(answer);
    char actor[96];
    lt_audit_cli_actor(actor, sizeof(actor));
    const char *up[5] = {id, req->answer, actor, outcome, req->act_for_unit};
    upd = lt_db_exec(c,
                     "WITH u AS (UPDATE rejects SET resubmitted_at = now(),"
                     " resubmit_result = $2::jsonb WHERE id = $1 RETURNING resubmitted_at),"
                     " a AS (INSERT INTO audit_log (actor, action, target, detail)"
                     " SELECT $3::text, 'reject.resubmit', $1::text, jsonb_build_object('outcome',"
                     " $4::text, 'unit', nullif($5::text, ''), 'via', 'cli') FROM u)"
                     " SELECT " RESUBMITTED_AT " FROM u",
                     5, up, err, sizeof(err));
    if (!upd)
        goto fail;
    const char *when = PQntuples(upd) ? PQgetvalue(upd, 0, 0) : "";
    if (a->json) {
        json_t *doc =
            json_pack("{s:I, s:s, s:s, s:i, s:O}", "id", (json_int_t)a->id, "resubmitted_at", when,
                      "outcome", outcome, "status", req->status, "answer", answer);
        if (doc)
            lt_opcli_print_json(doc);
        json_decref(doc);
    } else {
        printf("reject %s resubmitted at %s for unit %s (dialect %s): %s\n", id, when,
               req->act_for_unit[0] ? req->act_for_unit : "-",
               req->act_dialect[0] ? req->act_dialect : "canonical", outcome);
        print_results(answer);
    }
    rc = strcmp(outcome, "rejected") == 0 ? EXIT_FAILED : 0;
    goto out;
fail:
    fprintf(stderr, "lienthong rejects resubmit: %s\n", err);
out:
    json_decref(answer);
    PQclear(upd);
    lt_ingest_req_destroy(&req);
    lt_dialects_destroy(&dialects);
    if (payload)
        PQfreemem(payload);
    PQclear(r);
    return rc;
}

static const lt_opcli_action actions[] = {
    {"list", list}, {"show", show}, {"resubmit", resubmit}, {NULL, NULL}};
static const lt_opcli_spec spec = {
    .command = "rejects", .noun = "reject", .actions = actions, .filter = "--unit", .since = true};

int lt_rejects_main(const lt_config *cfg, int argc, char **argv, bool json)
{
    return lt_opcli_main(&spec, cfg, argc, argv, json);
}
