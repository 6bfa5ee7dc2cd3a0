/* lt_config_int: what the configuration's own files share (lt_config.c,
 * the key table, lifecycle and loading; lt_config_value.c, one value of one
 * row; lt_config_source.c, the file and the environment; lt_config_print.c,
 * the README table and the JSON dump; lt_config_zmq.c, CurveZMQ). Not for
 * other modules: they see struct lt_config and lt_config.h only. */
#ifndef LT_CONFIG_INT_H
#define LT_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_config.h"
#include "lt_config_text.h"

/* Prefix of the environment variables, followed by the upper-cased key. */
#define ENV_PREFIX "LIENTHONG_"

/* Longest dotted key, also the size of lt_config_error.key. */
#define KEY_MAX 128

typedef enum {
    CF_STRING,   /* any UTF-8 text */
    CF_URL,      /* empty, or http:// or https:// followed by a host */
    CF_PATH,     /* a file system path; CF_NONEMPTY when it must be set */
    CF_LISTEN,   /* host:port or [v6]:port, port 0-65535 */
    CF_ZMQ,      /* tcp://host:port, ipc://path or inproc://name */
    CF_BOOL,     /* JSON true/false; in the environment also 1/0, yes/no, on/off */
    CF_DURATION, /* whole number with unit ms, s, m or h; stored in ms */
    CF_SIZE,     /* bytes, or whole number with B, KiB, MiB, GiB, KB, MB, GB */
    CF_ENUM,     /* one of the row's names; stored as an int */
    CF_COUNT,    /* a whole number from min to max; stored as int64_t */
} cf_type;

enum {
    CF_RELOAD = 1u << 0,   /* SIGHUP applies a new value without a restart */
    CF_SECRET = 1u << 1,   /* never printed or echoed in error messages */
    CF_NONEMPTY = 1u << 2, /* the empty string is not a valid value */
};

/* One accepted spelling of an enum value; the first spelling listed for a
 * value is the canonical one that is printed. */
typedef struct cf_enum_name {
    const char *name; /* what users write; matched case-insensitively */
    int value;        /* what the int field receives */
} cf_enum_name;

typedef struct cf_key {
    const char *key;           /* dotted name: JSON path and environment name */
    cf_type type;              /* parser, storage type and printed form */
    size_t offset;             /* of the field in lt_config */
    const char *def;           /* default, as text a user could write */
    int64_t min, max;          /* range of durations (ms) and sizes (bytes) */
    const cf_enum_name *names; /* CF_ENUM: accepted names, ended by {NULL, 0} */
    unsigned flags;            /* CF_RELOAD, CF_SECRET, CF_NONEMPTY */
    const char *help;          /* one line for the README and the sample config */
} cf_key;

/* A parsed value before it is stored; s is borrowed from the input. */
typedef struct cf_value {
    const char *s; /* string types */
    int64_t i;     /* durations, sizes, enums */
    bool b;        /* bool */
} cf_value;

/* THE table (lt_config.c) and its length. */
extern const cf_key lt_cfkeys[];
extern const size_t lt_cfkeys_n;

/* Fills err (may be NULL) with the key and the formatted message. */
void lt_config_set_err(lt_config_error *err, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- one value of one row (lt_config_value.c) ---- */

/* The types stored as an owned char *. */
bool lt_cfval_is_string(cf_type t);
/* The row's field in cfg. */
void *lt_cfval_field(lt_config *cfg, const cf_key *k);
const void *lt_cfval_cfield(const lt_config *cfg, const cf_key *k);
/* "between 1s and 5m" for durations, sizes and counts. */
void lt_cfval_format_range(const cf_key *k, char *buf, size_t cap);
/* "debug, info, warn or error", each name between mark and mark. */
void lt_cfval_format_enum_names(const cf_key *k, const char *mark, char *buf, size_t cap);
/* The "expected ..." phrase of an error; hint adds the accepted format. */
void lt_cfval_expected(const cf_key *k, bool hint, bool from_env, char *buf, size_t cap);
/* The printed (canonical) name of an enum value, or NULL. */
const char *lt_cfval_enum_name(const cf_key *k, int value);
/* Parses text for row k into *ret (ret->s borrows text). */
lt_cfg_parse lt_cfval_parse(const cf_key *k, const char *text, cf_value *ret);
/* Stores v into the row's field: 0, or -1 out of memory (old value kept). */
int lt_cfval_store(lt_config *cfg, const cf_key *k, const cf_value *v)
    __attribute__((warn_unused_result));
/* Copies the row's value from src to dst: 0, or -1 out of memory. */
int lt_cfval_copy(lt_config *dst, const lt_config *src, const cf_key *k)
    __attribute__((warn_unused_result));
bool lt_cfval_equal(const lt_config *a, const lt_config *b, const cf_key *k);

/* ---- sources (lt_config_source.c) ---- */

/* Applies the JSON file at path over cfg: 0, or -1 with err. */
int lt_cfsrc_apply_file(lt_config *cfg, const char *path, lt_config_error *err)
    __attribute__((warn_unused_result));
/* Applies the LIENTHONG_* variables of envp over cfg: 0, or -1 with err. */
int lt_cfsrc_apply_env(lt_config *cfg, char *const *envp, lt_config_error *err)
    __attribute__((warn_unused_result));
/* The row's environment variable: "LIENTHONG_" + the key upper-cased. */
void lt_cfsrc_env_name(const cf_key *k, char *buf, size_t cap);

/* ---- CurveZMQ (lt_config_zmq.c) ---- */

/* zmq.curve = false with a non-loopback ingress or replay: -1 with err. */
int lt_cfzmq_check(const lt_config *cfg, lt_config_error *err) __attribute__((warn_unused_result));

#endif
