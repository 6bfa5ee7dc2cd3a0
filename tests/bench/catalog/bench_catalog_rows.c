/* bench_catalog_rows: the rows of the catalog sync benchmark's baseline. The
 * baseline is "what a sync would cost if it were nothing but a COPY of its
 * result": the columns a sync writes to `procedures` (code, base_code, name, levels,
 * status, field_code, content_hash, record as jsonb), the record normalized
 * and hashed by the same lt_procedure code the sync uses. Writing those rows
 * is preparation, untimed; run.sh then times only `COPY ... FROM` of them.
 *
 *   bench_catalog_rows EXPORT.json > rows.copy   (COPY text format)
 *
 * Exit 1 on any input the sync itself would refuse. */
#include "lt_jsonstream.h"
#include "lt_procedure.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* COPY text format: backslash, tab, newline and carriage return escaped,
 * as lt_catalog.c sends them. */
static void put_field(FILE *out, const char *s, char end)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\':
            fputs("\\\\", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        default:
            putc(*s, out);
        }
    }
    putc(end, out);
}

static int write_row(FILE *out, const lt_procedure *p)
{
    put_field(out, lt_procedure_code(p), '\t');
    put_field(out, lt_procedure_base_code(p), '\t');
    put_field(out, lt_procedure_name(p), '\t');
    const int *lv;
    size_t nl = lt_procedure_levels(p, &lv);
    putc('{', out);
    for (size_t i = 0; i < nl; i++)
        fprintf(out, "%s%d", i ? "," : "", lv[i]);
    fputs("}\t", out);
    put_field(out, lt_procedure_status(p), '\t');
    const char *field = lt_procedure_field_code(p);
    if (field)
        put_field(out, field, '\t');
    else
        fputs("\\N\t", out);
    fputs("\\\\x", out);
    const unsigned char *h = lt_procedure_hash(p);
    for (size_t i = 0; i < LT_PROCEDURE_HASH_BYTES; i++)
        fprintf(out, "%02x", h[i]);
    putc('\t', out);
    put_field(out, lt_procedure_canonical(p), '\n');
    return ferror(out) ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_catalog_rows EXPORT.json > rows.copy\n");
        return 2;
    }
    int rc = 1;
    lt_jsonstream *stream = NULL;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "bench_catalog_rows: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    stream = lt_jsonstream_new_fd(fd, LT_JSONSTREAM_DEFAULT_MAX_RECORD, LT_JSONSTREAM_DEFAULT_READ);
    if (!stream)
        goto out;
    lt_jsonstream_item it;
    lt_jsonstream_error serr;
    int got;
    while ((got = lt_jsonstream_next(stream, &it, &serr)) == 1) {
        json_error_t jerr;
        json_t *rec = json_loadb(it.bytes, it.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!rec) {
            fprintf(stderr, "bench_catalog_rows: record [%" PRId64 "]: %s\n", it.index, jerr.text);
            goto out;
        }
        lt_procedure_error perr;
        lt_procedure *p = lt_procedure_normalize_inplace(rec, &perr);
        json_decref(rec);
        if (!p) {
            fprintf(stderr, "bench_catalog_rows: record [%" PRId64 "].%s: expected %s, got %s\n",
                    it.index, perr.path, perr.expected, perr.got);
            goto out;
        }
        int w = write_row(stdout, p);
        lt_procedure_destroy(&p);
        if (w < 0) {
            fprintf(stderr, "bench_catalog_rows: cannot write: %s\n", strerror(errno));
            goto out;
        }
    }
    if (got < 0) {
        fprintf(stderr, "bench_catalog_rows: %s\n", serr.message);
        goto out;
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    lt_jsonstream_destroy(&stream);
    close(fd);
    return rc;
}
