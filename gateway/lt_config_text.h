/* lt_config_text: the value syntaxes of the configuration (durations,
 * sizes, booleans, URLs, ZeroMQ endpoints, listen addresses) and how values
 * are quoted in error messages. Internal to lt_config: the key table lives in
 * lt_config.c, the text rules of each value type here. */
#ifndef LT_CONFIG_TEXT_H
#define LT_CONFIG_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define MS     INT64_C(1)
#define SECOND (1000 * MS)
#define MINUTE (60 * SECOND)
#define HOUR   (60 * MINUTE)
#define KIB    INT64_C(1024)
#define MIB    (1024 * KIB)
#define GIB    (1024 * MIB)

/* Result of parsing one value: the syntax was wrong, or the value was well
 * formed but outside the row's range. Both produce the same "expected ...,
 * got ..." message; a syntax error adds a hint about the format. */
typedef enum { PARSE_OK, PARSE_SYNTAX, PARSE_RANGE } lt_cfg_parse;

/* text in double quotes for a message, escaped and cut after 80 characters. */
void lt_cfgtext_quote(const char *text, char *buf, size_t cap);
/* What a JSON value is, for "got ..." (secrets: only their kind). */
void lt_cfgtext_describe_json(const json_t *v, bool secret, char *buf, size_t cap);
void lt_cfgtext_format_duration(int64_t ms, char *buf, size_t cap);
/* Returns true when a binary unit was used. */
bool lt_cfgtext_format_size(int64_t bytes, char *buf, size_t cap);
lt_cfg_parse lt_cfgtext_parse_duration(const char *s, int64_t *ret_ms);
lt_cfg_parse lt_cfgtext_parse_size(const char *s, int64_t *ret_bytes);
bool lt_cfgtext_parse_bool(const char *s, bool *ret_b);
bool lt_cfgtext_valid_url(const char *s);
bool lt_cfgtext_valid_zmq(const char *s);

#endif
