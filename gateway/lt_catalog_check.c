/* lt_catalog_check: offline judgement of a catalog export (see
 * lt_catalog_check.h). It streams the file with the same reader and
 * normalizes with the same code as the sync, so "check passes" means "sync
 * will not refuse a record" (a repeated MATTHC is the one rule left to the
 * sync, which sees the whole set in the database). */
#include "lt_catalog_check.h"
#include "lt_jsonstream.h"
#include "lt_procedure.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EXIT_REFUSED 1
#define EXIT_USAGE   2
#define MAX_RECORD   (4u * 1024u * 1024u) /* as the sync */
#define READ_SIZE    (256u * 1024u)

static json_t *refusal(int64_t index, int64_t offset, const json_t *record,
                       const lt_procedure_error *e)
{
    const char *code = json_string_value(json_object_get(record, "MATTHC"));
    return json_pack("{s:I, s:I, s:s?, s:s, s:s, s:s, s:s, s:s}", "index", (json_int_t)index,
                     "offset", (json_int_t)offset, "MATTHC", code, "result", "rejected", "path",
                     e->path, "field", e->field, "expected", e->expected, "got", e->got);
}

static void print_refusal(const json_t *r)
{
    const char *code = json_string_value(json_object_get(r, "MATTHC"));
    printf("record [%lld] (at byte %lld%s%s): %s%sexpected %s, got %s\n",
           (long long)json_integer_value(json_object_get(r, "index")),
           (long long)json_integer_value(json_object_get(r, "offset")), code ? ", MATTHC " : "",
           code ? code : "", json_string_value(json_object_get(r, "path")),
           json_string_value(json_object_get(r, "path"))[0] ? ": " : "",
           json_string_value(json_object_get(r, "expected")),
           json_string_value(json_object_get(r, "got")));
}

/* Judges every record of the stream; a stream error (not an array,
 * truncated, garbage) ends the check with that error. */
static int judge(lt_jsonstream *s, bool json, json_t *results, int64_t *ret_records,
                 int64_t *ret_refused, lt_jsonstream_error *serr)
{
    lt_jsonstream_item it;
    int got;
    while ((got = lt_jsonstream_next(s, &it, serr)) == 1) {
        (*ret_records)++;
        json_error_t jerr;
        json_t *rec = json_loadb(it.bytes, it.len, JSON_REJECT_DUPLICATES, &jerr);
        lt_procedure_error perr = {0};
        lt_procedure *p = rec ? lt_procedure_normalize(rec, &perr) : NULL;
        if (!rec) {
            snprintf(perr.expected, sizeof(perr.expected), "valid JSON");
            snprintf(perr.got, sizeof(perr.got), "%.120s", jerr.text);
        }
        if (!p) {
            (*ret_refused)++;
            json_t *r = refusal(it.index, it.offset, rec, &perr);
            if (json)
                json_array_append_new(results, r);
            else {
                print_refusal(r);
                json_decref(r);
            }
        }
        lt_procedure_destroy(&p);
        json_decref(rec);
    }
    return got;
}

int lt_catalog_check_main(int argc, char **argv, bool json)
{
    const char *input = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (!input && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
            input = argv[i];
        else {
            fprintf(stderr, "lienthong catalog check: unexpected argument %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!input) {
        fprintf(stderr, "lienthong catalog check: which file? (FILE, or - for standard input)\n");
        return EXIT_USAGE;
    }
    bool from_stdin = strcmp(input, "-") == 0;
    int fd = from_stdin ? 0 : open(input, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "lienthong catalog check: cannot open %s: %s\n", input, strerror(errno));
        return EXIT_REFUSED;
    }
    lt_jsonstream *s = lt_jsonstream_new_fd(fd, MAX_RECORD, READ_SIZE);
    json_t *results = json_array();
    int64_t records = 0, refused = 0;
    lt_jsonstream_error serr = {0};
    int rc = EXIT_REFUSED;
    if (!s || !results) {
        fprintf(stderr, "lienthong catalog check: out of memory\n");
        goto out;
    }
    int end = judge(s, json, results, &records, &refused, &serr);
    if (json) {
        json_t *doc = json_pack("{s:I, s:I, s:o}", "records", (json_int_t)records, "rejected",
                                (json_int_t)refused, "results", json_incref(results));
        if (end < 0)
            json_object_set_new(doc, "error",
                                json_pack("{s:s, s:I, s:I}", "message", serr.message, "offset",
                                          (json_int_t)serr.offset, "index",
                                          (json_int_t)serr.index));
        json_dumpf(doc, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(doc);
    } else {
        if (end < 0)
            printf("file refused at byte %lld: %s\n", (long long)serr.offset, serr.message);
        fprintf(stderr, "%lld record(s): %lld valid, %lld refused%s\n", (long long)records,
                (long long)(records - refused), (long long)refused,
                end < 0 ? "; the file itself is malformed" : "");
    }
    rc = end < 0 || refused ? EXIT_REFUSED : 0;
out:
    json_decref(results);
    lt_jsonstream_destroy(&s);
    if (!from_stdin)
        close(fd);
    return rc;
}
