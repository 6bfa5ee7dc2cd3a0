/* Fuzz target: what a ward's system sends to POST /v1/dossiers and the
 * ZeroMQ ingress, through the same adapter calls the writer makes: decode
 * the body, map each record from every bundled dialect, validate, build the
 * rejection answer and mask the record for a reader. Beyond not crashing:
 * a record that validates must have a canonical text that decodes and
 * validates again to the same text (what is stored is what was checked),
 * and a rejected one must name at least one field. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_dossier.h"
#include "lt_mapping.h"
#include "lt_mask.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const dialect_files[] = {"vendor-a.json", "vendor-b.json",
                                            "portal-national.json"};
#define N_DIALECTS (sizeof(dialect_files) / sizeof(dialect_files[0]))
static lt_dialect *dialects[N_DIALECTS];
static lt_verrors *errs;

static void load_once(void)
{
    if (errs)
        return;
    errs = lt_verrors_new();
    for (size_t i = 0; i < N_DIALECTS; i++) {
        char path[4096], err[512];
        snprintf(path, sizeof(path), "%s/adapters/dialects/%s", LT_SOURCE_DIR, dialect_files[i]);
        dialects[i] = lt_dialect_load_file(path, err, sizeof(err));
        if (!dialects[i]) {
            fprintf(stderr, "fuzz_dossier: %s\n", err);
            abort();
        }
    }
}

static void check_record(const json_t *record)
{
    lt_verrors_clear(errs);
    if (lt_dossier_validate(record, errs) == 0) {
        char *canon = lt_dossier_canonical(record);
        if (!canon)
            abort();
        json_t *again = NULL;
        bool single = false;
        lt_dossier_error derr;
        if (lt_dossier_decode(canon, strlen(canon), &again, &single, &derr) != LT_DOSSIER_OK ||
            !single)
            abort(); /* the canonical text does not read back */
        lt_verrors_clear(errs);
        json_t *rec = json_array_get(again, 0);
        if (lt_dossier_validate(rec, errs) != 0)
            abort(); /* stored form fails the rules it passed */
        char *canon2 = lt_dossier_canonical(rec);
        if (!canon2 || strcmp(canon, canon2) != 0)
            abort(); /* not a fixed point */
        free(canon2);
        free(canon);
        json_decref(again);
    } else {
        if (lt_verrors_count(errs) == 0 || !lt_verrors_field(errs, 0))
            abort(); /* a refusal must say which field */
        json_decref(lt_dossier_rejection(record, errs));
    }
    json_t *copy = json_deep_copy(record);
    if (copy && lt_mask_json(copy) < 0)
        abort();
    json_decref(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_once();
    json_t *records = NULL;
    bool single = false;
    lt_dossier_error derr;
    if (lt_dossier_decode((const char *)data, size, &records, &single, &derr) != LT_DOSSIER_OK)
        return 0;
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
    {
        if (i >= 8)
            break; /* a batch's records are independent: a few are enough */
        check_record(rec);
        if (!json_is_object(rec))
            continue;
        for (size_t d = 0; d < N_DIALECTS; d++) {
            if (!lt_dialect_can_to_canonical(dialects[d]))
                continue;
            lt_map_errors m;
            json_t *canon = lt_dialect_to_canonical(dialects[d], rec, &m);
            if (canon)
                check_record(canon);
            else if (m.total > 0)
                json_decref(lt_map_rejection(&m));
            json_decref(canon);
        }
    }
    json_decref(records);
    return 0;
}
