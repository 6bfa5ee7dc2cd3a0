/* A query string split the way the HTTP layer hands it to the parameter
 * parsers (lt_read_query_parse, lt_catalog_query_parse): parallel arrays of
 * keys and values, a key without "=" having a NULL value. Shared by the
 * unit tests of those parsers; header-only, as each test is one .c file. */
#ifndef LT_TEST_QUERY_H
#define LT_TEST_QUERY_H

#include <stdio.h>
#include <string.h>

#define LT_TEST_QUERY_MAX 16

typedef struct lt_test_query {
    char buf[512];                   /* the copy the arrays point into */
    char *keys[LT_TEST_QUERY_MAX];   /* in the order given */
    char *values[LT_TEST_QUERY_MAX]; /* NULL for "k" without "=" */
    size_t n;                        /* how many pairs */
} lt_test_query;

/* Splits "k=v&k=v" into q (no URL decoding: the HTTP layer does that); at
 * most LT_TEST_QUERY_MAX pairs are kept. */
static inline void lt_test_query_split(lt_test_query *q, const char *qs)
{
    q->n = 0;
    snprintf(q->buf, sizeof(q->buf), "%s", qs);
    for (char *save = NULL, *p = strtok_r(q->buf, "&", &save); p && q->n < LT_TEST_QUERY_MAX;
         p = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(p, '=');
        q->keys[q->n] = p;
        q->values[q->n] = eq ? eq + 1 : NULL;
        if (eq)
            *eq = '\0';
        q->n++;
    }
}

#endif
