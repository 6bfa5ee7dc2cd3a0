/* lt_catalog_read: `catalog show` and `catalog diff`, the catalog as people
 * read it: one procedure with its state and overlay, and what changed
 * between two versions. Read-only; the sync is lt_catalog.c. */
#include "lt_catalog.h"
#include "lt_catalog_int.h"
#include "lt_procedure.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- show ---------------------------------------------------------------- */

static json_t *text_or_null(const PGresult *r, int col)
{
    return PQgetisnull(r, 0, col) ? json_null() : json_string(PQgetvalue(r, 0, col));
}

static json_t *json_or_null(const PGresult *r, int col)
{
    return PQgetisnull(r, 0, col) ? json_null() : json_loads(PQgetvalue(r, 0, col), 0, NULL);
}

int lt_catalog_show(PGconn *conn, const char *code, json_t **ret_doc, lt_catalog_error *err)
{
    memset(err, 0, sizeof(*err));
    const char *params[1] = {code};
    PGresult *r = lt_catalog_run(
        conn,
        "SELECT p.code, p.base_code, p.name, array_to_json(p.levels), p.status, p.published,"
        " to_json(p.abolished_at)#>>'{}', p.catalog_version, to_json(p.updated_at)#>>'{}',"
        " p.field_code, p.record::text,"
        " (SELECT count(*) FROM procedure_history h WHERE h.code = p.code),"
        " o.local_code, o.base_code, o.unit_code, trim_scale(o.time_limit)::text, "
        "o.time_limit_unit,"
        " o.fees::text, o.note, to_json(o.updated_at)#>>'{}'"
        " FROM procedures p LEFT JOIN procedure_overlays o ON o.local_code = p.code"
        " WHERE p.code = $1",
        1, params, err, "cannot read the procedure");
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    json_t *record = json_or_null(r, 10);
    json_t *doc = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:o, s:I, s:o, s:o, s:I}", "code", text_or_null(r, 0),
        "base_code", text_or_null(r, 1), "name", text_or_null(r, 2), "levels", json_or_null(r, 3),
        "status", text_or_null(r, 4), "published", strcmp(PQgetvalue(r, 0, 5), "t") == 0,
        "abolished", !PQgetisnull(r, 0, 6), "abolished_at", text_or_null(r, 6), "catalog_version",
        (json_int_t)lt_catalog_int_at(r, 0, 7), "updated_at", text_or_null(r, 8), "field_code",
        text_or_null(r, 9), "history_versions", (json_int_t)lt_catalog_int_at(r, 0, 11));
    int rc = -1;
    if (!doc || !record) {
        lt_catalog_err_set(err, NULL, "cannot read the stored record of %s", code);
        goto out;
    }
    json_t *overlay = json_null();
    json_t *effective = json_incref(record);
    json_t *applied = json_array();
    if (!PQgetisnull(r, 0, 12)) {
        json_t *fees = json_or_null(r, 17);
        overlay =
            json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "local_code", text_or_null(r, 12),
                      "base_code", text_or_null(r, 13), "unit_code", text_or_null(r, 14),
                      "time_limit", text_or_null(r, 15), "time_limit_unit", text_or_null(r, 16),
                      "fees", json_incref(fees ? fees : json_null()), "note", text_or_null(r, 18),
                      "updated_at", text_or_null(r, 19));
        lt_procedure_overlay ov = {
            .has_time_limit = !PQgetisnull(r, 0, 15),
            .time_limit = strtod(PQgetvalue(r, 0, 15), NULL),
            .time_unit = PQgetvalue(r, 0, 16),
            .fees = json_is_array(fees) ? fees : NULL,
        };
        json_decref(effective);
        json_decref(applied);
        applied = NULL;
        effective = lt_procedure_apply_overlay(record, &ov, &applied);
        json_decref(fees);
        if (!effective || !overlay) {
            json_decref(overlay);
            lt_catalog_err_set(err, NULL, "out of memory");
            goto out;
        }
    }
    json_object_set_new(doc, "overlay", overlay);
    json_object_set_new(doc, "overlay_applied", applied);
    json_object_set_new(doc, "record", effective);
    json_object_set(doc, "catalog_record", record);
    *ret_doc = doc;
    doc = NULL;
    rc = 1;
out:
    json_decref(doc);
    json_decref(record);
    PQclear(r);
    return rc;
}

/* ---- diff ---------------------------------------------------------------- */

int lt_catalog_diff(PGconn *conn, int64_t v1, int64_t v2, json_t **ret_doc, lt_catalog_error *err)
{
    memset(err, 0, sizeof(*err));
    char a[24], b[24];
    snprintf(a, sizeof(a), "%" PRId64, v1);
    snprintf(b, sizeof(b), "%" PRId64, v2);
    const char *params[2] = {a, b};
    PGresult *r = lt_catalog_run(
        conn,
        "SELECT v, v = 0 OR EXISTS (SELECT 1 FROM catalog_versions WHERE version = v),"
        " (SELECT coalesce(max(version), 0) FROM catalog_versions)"
        " FROM unnest(ARRAY[$1::bigint, $2::bigint]) AS v",
        2, params, err, "cannot read catalog versions");
    if (!r)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (strcmp(PQgetvalue(r, i, 1), "t") != 0) {
            lt_catalog_err_set(
                err, NULL,
                "there is no catalog version %s (versions run from 1 to %s; 0 is the empty "
                "catalog before the first sync)",
                PQgetvalue(r, i, 0), PQgetvalue(r, 0, 2));
            PQclear(r);
            return -1;
        }
    }
    PQclear(r);
    /* The state at version V: for each code the row that was current then,
     * the procedures row (from its version on) or a history row (from its
     * version until the one that superseded it). */
    r = lt_catalog_run(
        conn,
        "WITH rows AS ("
        " SELECT code, catalog_version AS since, NULL::bigint AS until, content_hash,"
        " abolished_at FROM procedures"
        " UNION ALL SELECT code, catalog_version, superseded_in, content_hash, abolished_at"
        " FROM procedure_history),"
        " a AS (SELECT code, content_hash FROM rows WHERE since <= $1::bigint"
        " AND (until IS NULL OR until > $1::bigint) AND abolished_at IS NULL),"
        " b AS (SELECT code, content_hash FROM rows WHERE since <= $2::bigint"
        " AND (until IS NULL OR until > $2::bigint) AND abolished_at IS NULL)"
        " SELECT coalesce(a.code, b.code), CASE WHEN a.code IS NULL THEN 'added'"
        " WHEN b.code IS NULL THEN 'abolished' ELSE 'changed' END"
        " FROM a FULL JOIN b ON a.code = b.code"
        " WHERE a.code IS NULL OR b.code IS NULL OR a.content_hash <> b.content_hash"
        " ORDER BY 1",
        2, params, err, "cannot compare catalog versions");
    if (!r)
        return -1;
    json_t *doc = json_pack("{s:I, s:I, s:[], s:[], s:[]}", "from", (json_int_t)v1, "to",
                            (json_int_t)v2, "added", "changed", "abolished");
    if (!doc) {
        PQclear(r);
        return lt_catalog_err_set(err, NULL, "out of memory");
    }
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(json_object_get(doc, PQgetvalue(r, i, 1)),
                              json_string(PQgetvalue(r, i, 0)));
    PQclear(r);
    *ret_doc = doc;
    return 0;
}
