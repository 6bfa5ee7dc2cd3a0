/* lt_simpeer_store: what the simulator saw, kept so that a test can compare
 * it with what the gateway stored. Three lists in arrival order (every call,
 * every applied record, and through a first-seen flag the de-duplicated
 * records), the latest whole record per dossier code, the portal's
 * sessions and the counters of /_stats.
 *
 * Entries are kept as compact JSON text, not jansson trees: a benchmark
 * drains 100,000 deliveries into it, and a tree costs several times the
 * memory of its text; a view is then the stored texts joined, no parsing.
 * Every list and map stops growing at max_entries (the counters go on and
 * the views say "truncated"), so a long run cannot exhaust memory. One
 * mutex: the HTTP threads hold it only to append. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_simpeer.h"

#define MAX_SESSIONS 10000 /* beyond this every session is forgotten at once */

typedef struct {
    char *json;  /* the record's summary, compact; owned */
    bool unique; /* the first of its identity (part of the /_dedup view) */
} record_item;

typedef struct {
    long calls;        /* sync calls made with it */
    struct timespec t; /* when it was created (monotonic) */
    bool expired;      /* answered -1 once: stays expired */
} session;

typedef struct {
    char *json;       /* the record's text as it arrived ("null": lean); owned */
    int64_t sequence; /* what the parent role answered for it (0 elsewhere) */
} latest;

typedef struct {
    char *data;
    size_t len, cap;
} buf;

struct lt_simpeer_store {
    pthread_mutex_t mu; /* guards everything below */
    size_t max;         /* bound of each list and map */
    char **calls;       /* entries of every call, compact JSON, owned */
    size_t n_calls, cap_calls;
    record_item *records; /* applied records in arrival order */
    size_t n_records, cap_records;
    uint64_t calls_total;   /* calls seen, stored or not */
    uint64_t records_total; /* records applied, stored or not */
    uint64_t unique;        /* records whose identity was new */
    uint64_t duplicates;    /* records whose identity was seen before */
    uint64_t without_key;   /* records of calls without an Idempotency-Key */
    uint64_t logins, login_failures;
    bool truncated;                               /* a list or map reached max */
    int64_t sequence;                             /* the parent role's last sequence */
    uint64_t session_counter;                     /* makes session ids unique */
    lt_simpeer_map *dedup;                        /* identity -> (void *)1 */
    lt_simpeer_map *latest;                       /* dossier code -> latest */
    lt_simpeer_map *sessions;                     /* session id -> session */
    json_t *by_status, *by_error_code, *by_fault; /* counters by text key */
};

static void free_latest(void *p);

int lt_simpeer_store_create(size_t max_entries, lt_simpeer_store **ret_store)
{
    lt_simpeer_store *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    s->max = max_entries;
    pthread_mutex_init(&s->mu, NULL);
    s->by_status = json_object();
    s->by_error_code = json_object();
    s->by_fault = json_object();
    if (lt_simpeer_map_create(NULL, &s->dedup) < 0 ||
        lt_simpeer_map_create(free_latest, &s->latest) < 0 ||
        lt_simpeer_map_create(free, &s->sessions) < 0 || !s->by_status || !s->by_error_code ||
        !s->by_fault) {
        lt_simpeer_store_destroy(&s);
        return -1;
    }
    *ret_store = s;
    return 0;
}

static int add(buf *b, const char *text, size_t n);
static int adds(buf *b, const char *text);

static void forget_lists(lt_simpeer_store *s)
{
    for (size_t i = 0; i < s->n_calls; i++)
        free(s->calls[i]);
    for (size_t i = 0; i < s->n_records; i++)
        free(s->records[i].json);
    s->n_calls = s->n_records = 0;
}

void lt_simpeer_store_destroy(lt_simpeer_store **store_p)
{
    lt_simpeer_store *s = *store_p;
    if (!s)
        return;
    forget_lists(s);
    free(s->calls);
    free(s->records);
    lt_simpeer_map_destroy(&s->dedup);
    lt_simpeer_map_destroy(&s->latest);
    lt_simpeer_map_destroy(&s->sessions);
    json_decref(s->by_status);
    json_decref(s->by_error_code);
    json_decref(s->by_fault);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *store_p = NULL;
}

void lt_simpeer_store_lock(lt_simpeer_store *store)
{
    pthread_mutex_lock(&store->mu);
}

void lt_simpeer_store_unlock(lt_simpeer_store *store)
{
    pthread_mutex_unlock(&store->mu);
}

void lt_simpeer_store_clear(lt_simpeer_store *s)
{
    forget_lists(s);
    lt_simpeer_map_clear(s->dedup);
    lt_simpeer_map_clear(s->latest);
    lt_simpeer_map_clear(s->sessions);
    json_object_clear(s->by_status);
    json_object_clear(s->by_error_code);
    json_object_clear(s->by_fault);
    s->calls_total = s->records_total = s->unique = s->duplicates = s->without_key = 0;
    s->logins = s->login_failures = 0;
    s->truncated = false;
    s->sequence = 0;
}

static void count(json_t *counters, const char *key)
{
    json_t *v = json_object_get(counters, key);
    if (v)
        json_integer_set(v, json_integer_value(v) + 1);
    else
        json_object_set_new(counters, key, json_integer(1));
}

/* Grows an array of elem-sized items to hold one more, within max. */
static int room(void **items, size_t *cap, size_t n, size_t elem, size_t max)
{
    if (n < *cap)
        return 0;
    if (n >= max)
        return -1;
    size_t want = *cap ? *cap * 2 : 1024;
    if (want > max)
        want = max;
    void *p = realloc(*items, want * elem);
    if (!p)
        return -1;
    *items = p;
    *cap = want;
    return 0;
}

long long lt_simpeer_store_next_call(lt_simpeer_store *s)
{
    return (long long)++s->calls_total;
}

int lt_simpeer_store_add_call(lt_simpeer_store *s, json_t *entry, const char *body, size_t body_len)
{
    json_t *st = json_object_get(entry, "status");
    char key[24];
    snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(st));
    count(s->by_status, key);
    const char *code = json_string_value(json_object_get(entry, "error_code"));
    if (code)
        count(s->by_error_code, code);
    const char *fault = json_string_value(json_object_get(entry, "fault"));
    if (fault)
        count(s->by_fault, fault);
    int rc = 0;
    if (room((void **)&s->calls, &s->cap_calls, s->n_calls, sizeof(*s->calls), s->max) < 0) {
        s->truncated = true;
    } else {
        /* The body goes in as the text it arrived as: serializing it again
         * would cost as much as the rest of the call. */
        buf b = {.data = json_dumps(entry, JSON_COMPACT)};
        b.len = b.cap = b.data ? strlen(b.data) : 0;
        if (b.data && body && b.len > 1) {
            b.len--; /* the closing brace */
            rc = adds(&b, ",\"body\":") || add(&b, body, body_len) || adds(&b, "}");
        }
        if (b.data && rc == 0)
            s->calls[s->n_calls++] = b.data;
        else
            rc = -1, free(b.data);
    }
    json_decref(entry);
    return rc;
}

int lt_simpeer_store_add_record(lt_simpeer_store *s, json_t *summary, const char *identity,
                                bool *ret_duplicate)
{
    bool dup = false;
    s->records_total++;
    if (!identity) {
        s->without_key++;
    } else if (lt_simpeer_map_get(s->dedup, identity)) {
        dup = true;
    } else if (lt_simpeer_map_size(s->dedup) >= s->max) {
        s->truncated = true;
    } else if (lt_simpeer_map_put(s->dedup, identity, (void *)1) < 0) {
        return -1;
    }
    if (dup)
        s->duplicates++;
    else
        s->unique++;
    *ret_duplicate = dup;
    if (json_object_set_new(summary, "seq", json_integer((json_int_t)s->records_total)) < 0 ||
        json_object_set_new(summary, "duplicate", json_boolean(dup)) < 0)
        return -1;
    if (room((void **)&s->records, &s->cap_records, s->n_records, sizeof(*s->records), s->max) <
        0) {
        s->truncated = true;
        return 0;
    }
    char *text = json_dumps(summary, JSON_COMPACT);
    if (!text)
        return -1;
    s->records[s->n_records++] = (record_item){.json = text, .unique = !dup};
    return 0;
}

const char *lt_simpeer_store_latest(const lt_simpeer_store *s, const char *code,
                                    int64_t *ret_sequence)
{
    const latest *l = lt_simpeer_map_get(s->latest, code);
    if (l && ret_sequence)
        *ret_sequence = l->sequence;
    return l ? l->json : NULL;
}

static void free_latest(void *p)
{
    latest *l = p;
    if (l)
        free(l->json);
    free(l);
}

int lt_simpeer_store_set_latest(lt_simpeer_store *s, const char *code, const char *record,
                                size_t len, int64_t sequence)
{
    if (!lt_simpeer_map_get(s->latest, code) && lt_simpeer_map_size(s->latest) >= s->max) {
        s->truncated = true;
        return 0;
    }
    latest *l = calloc(1, sizeof(*l));
    char *text = record ? strndup(record, len) : strdup("null");
    if (!l || !text) {
        free(l);
        free(text);
        return -1;
    }
    *l = (latest){.json = text, .sequence = sequence};
    if (lt_simpeer_map_put(s->latest, code, l) < 0) {
        free_latest(l);
        return -1;
    }
    return 0;
}

int64_t lt_simpeer_store_next_sequence(lt_simpeer_store *s)
{
    return ++s->sequence;
}

int lt_simpeer_store_session_new(lt_simpeer_store *s, char *out, size_t size)
{
    if (lt_simpeer_map_size(s->sessions) >= MAX_SESSIONS)
        lt_simpeer_map_clear(s->sessions);
    session *ses = calloc(1, sizeof(*ses));
    if (!ses)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &ses->t);
    /* Unguessable enough for a test, and never reused within a run. */
    s->session_counter++;
    snprintf(out, size, "ses-%llu-%08lx", (unsigned long long)s->session_counter,
             (unsigned long)((uint64_t)ses->t.tv_nsec * 2654435761u) & 0xffffffffUL);
    if (lt_simpeer_map_put(s->sessions, out, ses) < 0) {
        free(ses);
        return -1;
    }
    return 0;
}

int lt_simpeer_store_session_use(lt_simpeer_store *s, const char *id, long max_calls,
                                 long max_seconds)
{
    session *ses = id ? lt_simpeer_map_get(s->sessions, id) : NULL;
    if (!ses || ses->expired)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double age = (double)(now.tv_sec - ses->t.tv_sec) + (now.tv_nsec - ses->t.tv_nsec) / 1e9;
    if ((max_calls > 0 && ses->calls >= max_calls) ||
        (max_seconds > 0 && age >= (double)max_seconds)) {
        ses->expired = true;
        return -1;
    }
    ses->calls++;
    return 0;
}

void lt_simpeer_store_expire_sessions(lt_simpeer_store *s)
{
    lt_simpeer_map_clear(s->sessions);
}

void lt_simpeer_store_count_login(lt_simpeer_store *s, bool ok)
{
    s->logins += ok;
    s->login_failures += !ok;
}

static int add(buf *b, const char *text, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t want = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > want)
            want *= 2;
        char *p = realloc(b->data, want);
        if (!p)
            return -1;
        b->data = p;
        b->cap = want;
    }
    memcpy(b->data + b->len, text, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static int adds(buf *b, const char *text)
{
    return add(b, text, strlen(text));
}

char *lt_simpeer_store_view(const lt_simpeer_store *s, lt_simpeer_view view, size_t since,
                            long limit)
{
    buf b = {0};
    bool calls = view == LT_SIMPEER_VIEW_RECEIVED;
    size_t n = calls ? s->n_calls : s->n_records;
    size_t end = limit < 0 || since + (size_t)limit > n ? n : since + (size_t)limit;
    size_t shown = 0;
    int rc = adds(&b, calls ? "{\"calls\": [" : "{\"records\": [");
    for (size_t i = since; rc == 0 && i < end; i++) {
        const char *text = calls ? s->calls[i] : s->records[i].json;
        if (view == LT_SIMPEER_VIEW_DEDUP && !s->records[i].unique)
            continue;
        rc = (shown++ ? adds(&b, ",\n") : 0) || adds(&b, text);
    }
    char tail[160];
    snprintf(tail, sizeof(tail),
             "], \"total\": %zu, \"since\": %zu, \"next\": %zu, \"truncated\": %s}\n", n, since,
             end > since ? end : since, s->truncated ? "true" : "false");
    if (rc || adds(&b, tail) < 0) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

static int add_latest(const char *code, void *value, void *all)
{
    json_error_t err;
    json_t *rec = json_loads(((latest *)value)->json, JSON_DECODE_ANY, &err);
    return rec && json_object_set_new(all, code, rec) == 0 ? 0 : -1;
}

char *lt_simpeer_store_latest_view(const lt_simpeer_store *s, const char *code, bool *ret_found)
{
    if (code) {
        const char *text = lt_simpeer_store_latest(s, code, NULL);
        *ret_found = text != NULL;
        if (!text)
            return NULL;
        buf b = {0};
        if (adds(&b, "{\"record\": ") < 0 || adds(&b, text) < 0 || adds(&b, "}\n") < 0) {
            free(b.data);
            return NULL;
        }
        return b.data;
    }
    *ret_found = true;
    json_t *all = json_object();
    if (!all || lt_simpeer_map_each(s->latest, add_latest, all) < 0) {
        json_decref(all);
        return NULL;
    }
    /* Sorted by code, so that two runs compare as text. */
    char *out = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(all);
    buf b = {.data = out, .len = out ? strlen(out) : 0, .cap = out ? strlen(out) + 1 : 0};
    if (out && adds(&b, "\n") < 0) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

json_t *lt_simpeer_store_stats(const lt_simpeer_store *s)
{
    return json_pack(
        "{s:I, s:O, s:O, s:O, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "calls",
        (json_int_t)s->calls_total, "by_status", s->by_status, "by_error_code", s->by_error_code,
        "by_fault", s->by_fault, "logins", (json_int_t)s->logins, "login_failures",
        (json_int_t)s->login_failures, "records", (json_int_t)s->records_total, "unique",
        (json_int_t)s->unique, "duplicates", (json_int_t)s->duplicates, "without_key",
        (json_int_t)s->without_key, "latest", (json_int_t)lt_simpeer_map_size(s->latest),
        "sessions", (json_int_t)lt_simpeer_map_size(s->sessions), "stored_calls",
        (json_int_t)s->n_calls, "stored_records", (json_int_t)s->n_records, "truncated",
        s->truncated);
}
