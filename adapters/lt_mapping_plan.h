/* lt_mapping_plan: the compiled form of a dialect, shared by the loader
 * (lt_mapping_load.c turns a dialect file into this plan), the engine
 * (lt_mapping.c applies it) and the date arithmetic both need
 * (lt_mapping_date.c). Internal to the mapping engine. */
#ifndef LT_MAPPING_PLAN_H
#define LT_MAPPING_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_civil.h"
#include "lt_mapping.h"

/* What a rule does with its value. */
enum rule_type {
    T_STRING, /* string both sides */
    T_NUMBER, /* vendor JSON integer <-> canonical decimal string */
    T_DATE,   /* vendor date format <-> canonical yyyyMMddHHmmss */
    T_ENUM,   /* vendor code word <-> canonical code, through a bijective map */
    T_LIST,   /* vendor array <-> canonical array, items mapped by nested rules */
};

/* How the dialect writes an unknown date (canonical ""). */
enum empty_mode {
    EMPTY_STRING, /* "" */
    EMPTY_NULL,   /* null */
    EMPTY_OMIT,   /* the member is left out; a missing member reads as "" */
};

/* A compiled path: "hoSo.thongTin.ma" as three segments. */
struct path {
    char **seg; /* segments, each NUL-terminated */
    size_t n;   /* number of segments; 0 = this side is absent */
    char *text; /* the path as written, without a trailing "[]", for messages */
    bool list;  /* written with a trailing "[]" */
};

/* Date pattern tokens; numeric ones have fixed widths. */
enum date_kind { DK_LIT, DK_YEAR, DK_MONTH, DK_DAY, DK_HOUR, DK_MIN, DK_SEC };

#define DATE_TOKENS_MAX 40

/* A compiled date format. All fields are fixed width, so the text length is
 * known and checked before any digit is read. */
struct datefmt {
    bool epoch_ms;                       /* milliseconds since 1970 UTC, a JSON integer */
    unsigned char kind[DATE_TOKENS_MAX]; /* enum date_kind per token */
    char lit[DATE_TOKENS_MAX];           /* the literal byte of DK_LIT tokens */
    size_t ntok;                         /* tokens used */
    size_t len;                          /* length of a formatted date */
};

/* One pair of an enum map. */
struct enum_pair {
    char *vendor;    /* the dialect's word or number (as text) */
    char *canonical; /* the canonical code */
};

struct ruleset;

/* One compiled rule of "fields" or "items". */
struct rule {
    enum rule_type type;    /* what to do with the value */
    struct path vendor;     /* dialect side; n == 0 when absent */
    struct path canonical;  /* canonical side; n == 0 when absent */
    bool vendor_number;     /* enum values travel as JSON integers on the dialect side */
    bool required;          /* missing, null or "" is an error */
    bool drop;              /* consumed and never passed through */
    bool fill_now;          /* outbound: an unknown date becomes the time of sending */
    char *constant;         /* "const": the value set on the side that is named */
    char *def;              /* "default": canonical value when the dialect side is missing */
    struct datefmt date;    /* T_DATE */
    enum empty_mode empty;  /* T_DATE: how the dialect writes "" */
    char *date_text;        /* T_DATE: the format as written, for messages */
    struct enum_pair *map;  /* T_ENUM pairs */
    size_t nmap;            /* T_ENUM pair count */
    char *expect_vendor;    /* T_ENUM: "one of ..." over vendor values */
    char *expect_canonical; /* T_ENUM: "one of ..." over canonical values */
    struct ruleset *items;  /* T_LIST: item rules; NULL = items copied as they are */
};

/* The rules of one object level (the record, or the items of a list). */
struct ruleset {
    struct rule *rules;  /* in file order */
    size_t n;            /* rule count */
    bool keep_unknown;   /* pass members no rule names through under their own names */
    json_t *vendor_trie; /* names the rules consume on the dialect side: object of true/object */
    json_t *canon_trie;  /* the same on the canonical side */
};

/* One "filter" entry: records of these procedures go out only at these statuses. */
struct filter {
    char **procedures; /* exact codes; a national base form also matches its local variants */
    size_t nproc;      /* procedure count */
    char **statuses;   /* allowed TrangThaiHoSo values */
    size_t nstat;      /* status count */
};

struct lt_dialect {
    char *name;             /* the "dialect" member */
    bool to_canonical;      /* direction allowed by "directions" */
    bool from_canonical;    /* direction allowed by "directions" */
    struct ruleset top;     /* the record's rules */
    struct filter *filters; /* outbound filter entries */
    size_t nfilters;        /* filter entry count */
};

/* Asia/Ho_Chi_Minh has been UTC+7 without daylight saving since 1975. */
#define VN_OFFSET_S (7 * 3600)

bool lt_mapdate_parse_canonical_date(const char *s, lt_civil_time *c);
void lt_mapdate_write_canonical_date(const lt_civil_time *c, char out[15]);
bool lt_mapdate_parse_date(const struct datefmt *f, const char *s, size_t len, lt_civil_time *c);
void lt_mapdate_format_date(const struct datefmt *f, const lt_civil_time *c, char *out);
bool lt_mapping_is_integer_text(const char *s, long long *ret);

#endif
