/* Fuzz target: the catalog's two normalizers against each other. A catalog
 * export comes from outside (the national catalog, a file an operator was
 * given), and lt_procedure_from_bytes is a hand-written one-pass parser
 * that claims to produce, for whatever it accepts, exactly what jansson and
 * lt_procedure_normalize produce. This holds it to that claim on every
 * input: when the fast path answers, the general path must accept the same
 * bytes with the same canonical text, hash, code and levels. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lt_procedure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_procedure *fast = lt_procedure_from_bytes((const char *)data, size);
    json_error_t jerr;
    json_t *record = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    lt_procedure_error perr;
    lt_procedure *slow = NULL;
    if (record && json_is_object(record)) {
        slow = lt_procedure_normalize_inplace(record, &perr);
        if (slow)
            (void)lt_procedure_canonical(slow);
    }
    if (fast) {
        if (!slow)
            abort(); /* the fast path accepted what the rules refuse */
        if (lt_procedure_canonical_len(fast) != lt_procedure_canonical_len(slow) ||
            memcmp(lt_procedure_canonical(fast), lt_procedure_canonical(slow),
                   lt_procedure_canonical_len(fast)) != 0 ||
            memcmp(lt_procedure_hash(fast), lt_procedure_hash(slow), LT_PROCEDURE_HASH_BYTES) !=
                0 ||
            strcmp(lt_procedure_code(fast), lt_procedure_code(slow)) != 0)
            abort(); /* the two paths disagree */
        const int *lf, *ls;
        size_t nf = lt_procedure_levels(fast, &lf), ns = lt_procedure_levels(slow, &ls);
        if (nf != ns || (nf && memcmp(lf, ls, nf * sizeof(int)) != 0))
            abort();
    }
    lt_procedure_destroy(&fast);
    lt_procedure_destroy(&slow);
    json_decref(record);
    return 0;
}
