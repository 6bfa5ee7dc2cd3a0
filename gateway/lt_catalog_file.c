/* lt_catalog_file: a catalog sync from an export file (`catalog sync
 * --file`): a JSON array of procedure records read as a stream, in two
 * passes when the file can be read twice. Pass 1 hashes each record's raw
 * bytes and matches them against the live procedures' source_hash; pass 2
 * parses only what did not match, one record at a time, so memory stays
 * flat whatever the file's size, and a re-sync of an unchanged file parses
 * nothing. The staging and the commit are lt_catalog's. */
#include "lt_catalog.h"
#include "lt_catalog_int.h"
#include "lt_jsonstream.h"
#include "lt_pgcopy.h"
#include "lt_procedure.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Which records of the file need parsing is fetched in pieces this large,
 * so memory stays flat however many changed. */
#define TODO_BATCH     4096
#define TODO_BATCH_SQL "4096"

/* The file as pass 1 saw it: pass 2 must read the same bytes. */
static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* BLAKE2b-256, not SHA-256: it is hashed over every byte of the file on
 * every sync, and libsodium's BLAKE2b is several times faster than its
 * portable SHA-256. The column takes 32 bytes either way. */
_Static_assert(crypto_generichash_BYTES == LT_PROCEDURE_HASH_BYTES, "source_hash is 32 bytes");

static void source_hash(const lt_jsonstream_item *it, unsigned char *h)
{
    crypto_generichash(h, crypto_generichash_BYTES, (const unsigned char *)it->bytes, it->len, NULL,
                       0);
}

static int stream_error(const char *path, const lt_jsonstream_error *serr, lt_catalog_error *err)
{
    char pos[96];
    if (serr->index >= 0)
        snprintf(pos, sizeof(pos), "[%" PRId64 "] byte %" PRId64, serr->index, serr->offset);
    else
        snprintf(pos, sizeof(pos), "byte %" PRId64, serr->offset);
    return lt_catalog_err_set(err, pos, "%s: %s", path, serr->message);
}

/* Pass 1: each record's raw-bytes hash into lt_catalog_raw, no parse.
 * 1 read to the end, 0 the stream failed (pass 2 then parses everything
 * and reports the first error exactly as a single pass would), -1 err. */
static int hash_records(lt_catalog_sync *sync, int fd, size_t max_record, int64_t *ret_count,
                        lt_catalog_error *err)
{
    lt_jsonstream *stream = lt_jsonstream_new_fd(fd, max_record, LT_JSONSTREAM_DEFAULT_READ);
    if (!stream)
        return lt_catalog_err_set(err, NULL, "out of memory");
    int rc = -1;
    if (lt_catalog_start_copy(
            sync, "COPY lt_catalog_raw (ord, source_hash) FROM STDIN (FORMAT binary)", err) < 0)
        goto out;
    lt_jsonstream_item it;
    lt_jsonstream_error serr;
    int got;
    int64_t n = 0;
    while ((got = lt_jsonstream_next(stream, &it, &serr)) == 1) {
        unsigned char h[LT_PROCEDURE_HASH_BYTES];
        source_hash(&it, h);
        if (lt_pgcopy_tuple(sync->copy, 2) < 0 || lt_pgcopy_int8(sync->copy, it.index) < 0 ||
            lt_pgcopy_field(sync->copy, h, sizeof(h)) < 0) {
            lt_catalog_err_set(err, NULL, "out of memory");
            goto out;
        }
        if (lt_catalog_flush_some(sync, err) < 0)
            goto out;
        n++;
    }
    if (lt_catalog_end_copy(sync, NULL, err) < 0)
        goto out;
    *ret_count = n;
    rc = got == 0 ? 1 : 0;
out:
    lt_jsonstream_destroy(&stream);
    return rc;
}

/* The next piece of the ords to parse (ascending) into todo; *n 0 = none
 * left. */
static int fetch_todo(lt_catalog_sync *sync, int64_t *todo, size_t *n, lt_catalog_error *err)
{
    if (lt_catalog_end_copy(sync, NULL, err) < 0)
        return -1;
    PGresult *r =
        lt_catalog_run(sync->conn, "FETCH FORWARD " TODO_BATCH_SQL " FROM lt_catalog_todo", 0, NULL,
                       err, "cannot read which records changed");
    if (!r)
        return -1;
    *n = (size_t)PQntuples(r);
    for (size_t i = 0; i < *n; i++)
        todo[i] = lt_catalog_int_at(r, (int)i, 0);
    PQclear(r);
    return 0;
}

int lt_catalog_sync_file(PGconn *conn, const char *path, bool full, size_t max_record,
                         lt_catalog_progress_fn progress, void *progress_ctx,
                         lt_catalog_result *ret_result, lt_catalog_error *err)
{
    char source[4200];
    snprintf(source, sizeof(source), "file:%s", path);
    lt_catalog_sync *sync = NULL;
    lt_jsonstream *stream = NULL;
    int64_t *todo = NULL;
    bool made_raw = false, cursor = false;
    int fd = -1, rc = -1;
    if (!max_record)
        max_record = LT_JSONSTREAM_DEFAULT_MAX_RECORD;
    if (lt_catalog_sync_begin(conn, source, full, &sync, err) < 0)
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st, st2;
    if (fd < 0 || fstat(fd, &st) < 0) {
        lt_catalog_err_set(err, NULL, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    todo = malloc(TODO_BATCH * sizeof(*todo));
    if (!todo) {
        lt_catalog_err_set(err, NULL, "out of memory");
        goto fail;
    }
    int64_t total = S_ISREG(st.st_mode) ? (int64_t)st.st_size : 0;
    /* Two passes need a file that can be read twice; a pipe is parsed in
     * one, every record. */
    bool parse_all = !S_ISREG(st.st_mode);
    int64_t count = 0, matched = 0;
    /* Nothing to match against (a first sync, or the first since 0004):
     * pass 1 would only cost time, so parse everything in one pass. */
    if (!parse_all) {
        PGresult *r = lt_catalog_run(conn,
                                     "SELECT EXISTS (SELECT 1 FROM procedures"
                                     " WHERE source_hash IS NOT NULL AND abolished_at IS NULL)",
                                     0, NULL, err, "cannot read the catalog");
        if (!r)
            goto fail;
        parse_all = strcmp(PQgetvalue(r, 0, 0), "t") != 0;
        PQclear(r);
    }
    if (!parse_all) {
        made_raw = true;
        if (lt_catalog_run_ok(
                conn,
                "DROP TABLE IF EXISTS pg_temp.lt_catalog_raw; "
                "CREATE TEMP TABLE lt_catalog_raw (ord bigint NOT NULL, source_hash bytea NOT "
                "NULL)",
                0, NULL, err, "cannot create the staging table") < 0)
            goto fail;
        int h = hash_records(sync, fd, max_record, &count, err);
        if (h < 0)
            goto fail;
        parse_all = h == 0;
        if (lseek(fd, 0, SEEK_SET) < 0) {
            lt_catalog_err_set(err, NULL, "cannot read %s again: %s", path, strerror(errno));
            goto fail;
        }
    }
    if (!parse_all) {
        /* The common re-sync: every record's bytes are a live procedure's
         * last ones. One scan of procedures decides it without staging
         * anything: live procedures have distinct source hashes (equal
         * bytes carry one MATTHC, and a code is one row), so when as many
         * of them match as the file has records, every record matched
         * and no two records are the same bytes. */
        PGresult *r = lt_catalog_run(conn,
                                     "SELECT count(*) FILTER (WHERE source_hash IN"
                                     " (SELECT source_hash FROM lt_catalog_raw)), count(*)"
                                     " FROM procedures WHERE abolished_at IS NULL",
                                     0, NULL, err, "cannot compare the records with the catalog");
        if (!r)
            goto fail;
        int64_t same = lt_catalog_int_at(r, 0, 0), live = lt_catalog_int_at(r, 0, 1);
        PQclear(r);
        if (same == count && (!full || live == count)) {
            if (lt_catalog_commit_unchanged(sync, count, ret_result, err) < 0)
                goto fail;
            if (progress)
                progress(progress_ctx, count, total, total);
            rc = 0;
            goto out;
        }
    }
    if (!parse_all) {
        /* Raw bytes equal to a live procedure's last ones: unchanged, and
         * the code comes from the join. Abolished ones are parsed, so they
         * are restored as usual. */
        if (lt_catalog_ensure_stage(sync, err) < 0)
            goto fail;
        PGresult *r = lt_catalog_run(conn,
                                     "INSERT INTO lt_catalog_stage (ord, code, source_hash)"
                                     " SELECT r.ord, p.code, r.source_hash FROM lt_catalog_raw r"
                                     " JOIN procedures p ON p.source_hash = r.source_hash"
                                     " AND p.abolished_at IS NULL",
                                     0, NULL, err, "cannot compare the records with the catalog");
        if (!r)
            goto fail;
        matched = strtoll(PQcmdTuples(r), NULL, 10);
        PQclear(r);
        if (matched < count) {
            cursor = true;
            if (lt_catalog_run_ok(conn,
                                  "DECLARE lt_catalog_todo NO SCROLL CURSOR WITH HOLD FOR"
                                  " SELECT r.ord FROM lt_catalog_raw r WHERE NOT EXISTS (SELECT 1"
                                  " FROM procedures p WHERE p.source_hash = r.source_hash"
                                  " AND p.abolished_at IS NULL) ORDER BY r.ord",
                                  0, NULL, err, "cannot list the records that changed") < 0)
                goto fail;
        }
    }
    size_t ntodo = 0, next = 0;
    if (cursor && fetch_todo(sync, todo, &ntodo, err) < 0)
        goto fail;
    /* Pass 2: parse, normalize and stage what did not match (or all). */
    if (parse_all || ntodo > 0) {
        stream = lt_jsonstream_new_fd(fd, max_record, LT_JSONSTREAM_DEFAULT_READ);
        if (!stream) {
            lt_catalog_err_set(err, NULL, "out of memory");
            goto fail;
        }
    }
    lt_jsonstream_item it;
    lt_jsonstream_error serr;
    int got = 0;
    while (stream && (got = lt_jsonstream_next(stream, &it, &serr)) == 1) {
        if (progress && (it.index + 1) % 100 == 0)
            progress(progress_ctx, it.index + 1, lt_jsonstream_consumed(stream), total);
        if (!parse_all) {
            if (it.index < todo[next])
                continue;
            if (it.index > todo[next]) {
                lt_catalog_err_set(err, NULL, "%s changed while it was read; run the sync again",
                                   path);
                goto fail;
            }
            next++;
        }
        unsigned char h[LT_PROCEDURE_HASH_BYTES];
        source_hash(&it, h);
        /* Most records take the one-pass path; what it does not vouch for
         * (and every error) goes through jansson and the rules. */
        lt_procedure *p = lt_procedure_from_bytes(it.bytes, it.len);
        int added;
        if (p) {
            added = lt_catalog_stage(sync, p, NULL, NULL, it.index, it.offset, h, err);
        } else {
            json_error_t jerr;
            /* Duplicate keys would make the record mean whichever came last. */
            json_t *rec = json_loadb(it.bytes, it.len, JSON_REJECT_DUPLICATES, &jerr);
            if (!rec) {
                char pos[96];
                int64_t at = it.offset + jerr.position;
                snprintf(pos, sizeof(pos), "[%" PRId64 "] byte %" PRId64, it.index, at);
                lt_catalog_err_set(err, pos,
                                   "record [%" PRId64 "] (at byte %" PRId64
                                   ") is not valid JSON: %s (near byte %" PRId64 ")",
                                   it.index, it.offset, jerr.text, at);
                sync->records = it.index;
                goto fail;
            }
            /* The parsed record is ours alone: normalized in place, no copy. */
            lt_procedure_error perr;
            p = lt_procedure_normalize_inplace(rec, &perr);
            added = lt_catalog_stage(sync, p, &perr, rec, it.index, it.offset, h, err);
            json_decref(rec);
        }
        if (added < 0) {
            sync->records = it.index;
            goto fail;
        }
        if (!parse_all && next == ntodo) {
            next = 0;
            if (fetch_todo(sync, todo, &ntodo, err) < 0)
                goto fail;
            if (ntodo == 0)
                break; /* the rest matched: pass 1 has read it already */
        }
    }
    if (got < 0) {
        stream_error(path, &serr, err);
        goto fail;
    }
    if (!parse_all) {
        if (next < ntodo) {
            lt_catalog_err_set(err, NULL, "%s changed while it was read; run the sync again", path);
            goto fail;
        }
        if (fstat(fd, &st2) < 0 || !same_file(&st, &st2)) {
            lt_catalog_err_set(err, NULL, "%s changed while it was read; run the sync again", path);
            goto fail;
        }
        sync->records = count;
    }
    if (progress)
        progress(progress_ctx, sync->records,
                 stream && parse_all ? lt_jsonstream_consumed(stream) : total, total);
    if (lt_catalog_sync_commit(sync, false, ret_result, err) < 0)
        goto fail;
    rc = 0;
    goto out;
fail:
    err->run_id = sync->run_id;
    lt_catalog_sync_fail(sync, err);
out:
    /* Session objects: a CLI connection ends soon, the gateway's does not. */
    if (cursor)
        PQclear(PQexec(conn, "CLOSE lt_catalog_todo"));
    if (made_raw)
        PQclear(PQexec(conn, "DROP TABLE IF EXISTS pg_temp.lt_catalog_raw"));
    free(todo);
    lt_jsonstream_destroy(&stream);
    if (fd >= 0)
        close(fd);
    lt_catalog_sync_destroy(&sync);
    return rc;
}
