/* lt_procedure_int: what the two halves of lt_procedure share and nothing
 * else may use: the normalization rules (one table, lt_procedure.c) and the
 * struct, so that lt_procedure_bytes.c builds the very same object from raw
 * bytes that lt_procedure.c builds from a jansson tree. */
#ifndef LT_PROCEDURE_INT_H
#define LT_PROCEDURE_INT_H

#include "lt_procedure.h"

#include <stdbool.h>
#include <stddef.h>

/* What a known key holds. */
typedef enum {
    K_TEXT,    /* a string; a number becomes its text, null becomes "" */
    K_CODE,    /* a string only: numbers lose digits (1.003560 -> 1.00356) */
    K_LEVEL,   /* "0".."3" (CAPTHUCHIEN) */
    K_CHANNEL, /* "1".."3" (KENH) */
    K_DECIMAL, /* a non-negative decimal or "" (times, amounts) */
    K_LIST,    /* an array; null becomes [] */
} lt_procedure_kind;

/* One rule of the table: a key and what its value must be. */
typedef struct lt_procedure_spec {
    const char *key;                       /* upper-case key as the catalog spells it */
    lt_procedure_kind kind;                /* what the value must be */
    bool required;                         /* present and non-empty */
    const struct lt_procedure_spec *entry; /* K_LIST: keys of each entry (entries are
                                              then objects); NULL = entries of any shape */
} lt_procedure_spec;

/* The keys of a procedure record, ending with {NULL}; list entries' keys
 * hang off their K_LIST rule. */
extern const lt_procedure_spec lt_procedure_record_spec[];

/* True for "", "12" and "1.5"; false for "-1", "1.", ".5", "1e3". */
bool lt_procedure_is_decimal(const char *s);

struct lt_procedure {
    json_t *record;                              /* normalized record, owned; NULL when
                                                    made from bytes (lt_procedure_bytes) */
    char *canonical;                             /* the canonical text, owned */
    size_t canonical_len;                        /* strlen(canonical) */
    unsigned char hash[LT_PROCEDURE_HASH_BYTES]; /* SHA-256 of canonical */
    char *strings;                               /* made from bytes: the column strings
                                                    below live here; owned */
    const char *code;                            /* MATTHC, borrowed from record */
    const char *name;                            /* TENTTHC, borrowed from record */
    const char *status;                          /* TRANGTHAI or "", borrowed */
    const char *field_code;                      /* first MALINHVUC or NULL, borrowed */
    char base_code[64];                          /* derived from code */
    int levels[LT_PROCEDURE_MAX_LEVELS];         /* distinct, ascending */
    size_t nlevels;                              /* entries used in levels */
};

#endif
