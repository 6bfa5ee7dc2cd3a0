/* Fuzz target: the masking that stands between personal data and the logs
 * (error messages quote what peers sent). On any text: no run of 9 to 12
 * digits, the shape of a citizen ID or a phone number, survives masking,
 * nor masking twice. (Masking twice may change more: a token that was not
 * an address can become one once its digits are starred; the first runs
 * also found a real leak this way, "a@b.vn@c.vn" masked only in part, and
 * lt_mask.c fixes it.) The input is also masked as a JSON record, personal
 * fields and all. */
#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lt_mask.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void no_id_shaped_run(const char *s)
{
    size_t run = 0;
    for (const char *p = s;; p++) {
        if (*p && isdigit((unsigned char)*p)) {
            run++;
            continue;
        }
        if (run >= 9 && run <= 12)
            abort(); /* an ID-shaped number got through */
        run = 0;
        if (!*p)
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* text ends at the first NUL, as a C string does */
    char *once = lt_mask_text(text);
    if (once) {
        no_id_shaped_run(once);
        char *twice = lt_mask_text(once);
        if (twice)
            no_id_shaped_run(twice);
        free(twice);
    }
    free(once);
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    if (j && lt_mask_json(j) < 0)
        abort();
    json_decref(j);
    free(text);
    return 0;
}
