/* lt_config_text: value syntaxes of the configuration (see
 * lt_config_text.h). Kept apart from the key table so each file has one job:
 * this one knows what "5s", "4MiB" or "tcp://host:*" mean, lt_config.c which
 * key takes which. */
#include "lt_config.h"
#include "lt_config_text.h"
#include "lt_utf8.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Writes text in double quotes for an error message: quotes and
 * backslashes escaped, control bytes (and every byte >= 0x80 when the text is
 * not UTF-8) as \xNN, long values cut with "...". */
void lt_cfgtext_quote(const char *text, char *buf, size_t cap)
{
    bool utf8 = lt_utf8_valid(text);
    size_t len = 0;
    size_t shown = 0;

    if (cap < 8) {
        if (cap > 0)
            buf[0] = '\0';
        return;
    }
    buf[len++] = '"';
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        char piece[8];
        int n;

        if (shown >= 80 || len + 12 >= cap) {
            n = snprintf(piece, sizeof piece, "...");
            memcpy(buf + len, piece, (size_t)n);
            len += (size_t)n;
            break;
        }
        if (*p == '"' || *p == '\\')
            n = snprintf(piece, sizeof piece, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7F || (*p >= 0x80 && !utf8))
            n = snprintf(piece, sizeof piece, "\\x%02X", *p);
        else
            n = snprintf(piece, sizeof piece, "%c", *p);
        memcpy(buf + len, piece, (size_t)n);
        len += (size_t)n;
        shown++;
    }
    buf[len++] = '"';
    buf[len] = '\0';
}

/* What came, for "got ..." in a message: a JSON value as written (strings
 * quoted), only its kind for secrets and containers. */
void lt_cfgtext_describe_json(const json_t *v, bool secret, char *buf, size_t cap)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        snprintf(buf, cap, "an object");
        return;
    case JSON_ARRAY:
        snprintf(buf, cap, "an array");
        return;
    case JSON_STRING:
        if (secret)
            snprintf(buf, cap, "a string");
        else
            lt_cfgtext_quote(json_string_value(v), buf, cap);
        return;
    case JSON_INTEGER:
        if (secret)
            snprintf(buf, cap, "an integer");
        else
            snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        return;
    case JSON_REAL:
        if (secret)
            snprintf(buf, cap, "a number");
        else
            snprintf(buf, cap, "%.17g", json_real_value(v));
        return;
    case JSON_TRUE:
        snprintf(buf, cap, "true");
        return;
    case JSON_FALSE:
        snprintf(buf, cap, "false");
        return;
    case JSON_NULL:
        snprintf(buf, cap, "null");
        return;
    }
    snprintf(buf, cap, "an unknown JSON value");
}

/* Durations print in the largest unit that divides them exactly, so "72h"
 * stays "72h" and 1500 ms prints as "1500ms"; the output parses back. */
void lt_cfgtext_format_duration(int64_t ms, char *buf, size_t cap)
{
    if (ms != 0 && ms % HOUR == 0)
        snprintf(buf, cap, "%lldh", (long long)(ms / HOUR));
    else if (ms != 0 && ms % MINUTE == 0)
        snprintf(buf, cap, "%lldm", (long long)(ms / MINUTE));
    else if (ms != 0 && ms % SECOND == 0)
        snprintf(buf, cap, "%llds", (long long)(ms / SECOND));
    else
        snprintf(buf, cap, "%lldms", (long long)ms);
}

/* Sizes print in the largest binary unit that divides them exactly, else as
 * plain bytes. Returns true when a unit was used. */
bool lt_cfgtext_format_size(int64_t bytes, char *buf, size_t cap)
{
    if (bytes != 0 && bytes % GIB == 0)
        snprintf(buf, cap, "%lldGiB", (long long)(bytes / GIB));
    else if (bytes != 0 && bytes % MIB == 0)
        snprintf(buf, cap, "%lldMiB", (long long)(bytes / MIB));
    else if (bytes != 0 && bytes % KIB == 0)
        snprintf(buf, cap, "%lldKiB", (long long)(bytes / KIB));
    else {
        snprintf(buf, cap, "%lld", (long long)bytes);
        return false;
    }
    return true;
}
/* ---- parsers ------------------------------------------------------------ */

/* A run of decimal digits at s (no sign, no blanks: strtoll alone would
 * accept both). *ret_end points after the digits. */
static lt_cfg_parse parse_digits(const char *s, int64_t *ret_n, const char **ret_end)
{
    char *end;
    long long n;

    if (!isdigit((unsigned char)s[0]))
        return PARSE_SYNTAX;
    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return PARSE_RANGE;
    if (errno != 0 || end == s)
        return PARSE_SYNTAX;
    *ret_n = n;
    *ret_end = end;
    return PARSE_OK;
}

typedef struct unit {
    const char *name;
    int64_t scale;
} unit;

static lt_cfg_parse parse_with_unit(const char *s, const unit *units, size_t nunits,
                                    int64_t *ret_value)
{
    const char *end;
    int64_t n;
    lt_cfg_parse st = parse_digits(s, &n, &end);

    /* Too many digits is still a number: PARSE_RANGE, not a syntax error. */
    if (st != PARSE_OK)
        return st;
    for (size_t i = 0; i < nunits; i++) {
        if (strcmp(end, units[i].name) != 0)
            continue;
        if (n > INT64_MAX / units[i].scale)
            return PARSE_RANGE;
        *ret_value = n * units[i].scale;
        return PARSE_OK;
    }
    return PARSE_SYNTAX;
}

lt_cfg_parse lt_cfgtext_parse_duration(const char *s, int64_t *ret_ms)
{
    static const unit units[] = {{"ms", MS}, {"s", SECOND}, {"m", MINUTE}, {"h", HOUR}};

    return parse_with_unit(s, units, sizeof units / sizeof units[0], ret_ms);
}

lt_cfg_parse lt_cfgtext_parse_size(const char *s, int64_t *ret_bytes)
{
    static const unit units[] = {
        {"", 1},      {"B", 1},         {"KiB", KIB},        {"MiB", MIB},
        {"GiB", GIB}, {"KB", 1000 * 1}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
    };

    return parse_with_unit(s, units, sizeof units / sizeof units[0], ret_bytes);
}

bool lt_cfgtext_parse_bool(const char *s, bool *ret_b)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *ret_b = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *ret_b = false;
            return true;
        }
    }
    return false;
}

static bool all_graph(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isgraph((unsigned char)s[i]))
            return false;
    return true;
}

/* 0-65535 written as 1 to 5 digits. */
static bool parse_port(const char *s, int *ret_port)
{
    size_t len = strlen(s);
    int port = 0;

    if (len == 0 || len > 5)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        port = port * 10 + (s[i] - '0');
    }
    if (port > 65535)
        return false;
    *ret_port = port;
    return true;
}

int lt_config_split_listen(const char *listen, char *ret_host, size_t host_cap, int *ret_port)
{
    const char *host, *host_end, *colon;
    size_t host_len;
    int port;

    if (listen == NULL)
        return -1;
    if (listen[0] == '[') {
        host = listen + 1;
        host_end = strchr(host, ']');
        if (host_end == NULL || host_end[1] != ':')
            return -1;
        colon = host_end + 1;
        /* Brackets are for IPv6 addresses, which always hold a colon. */
        if (memchr(host, ':', (size_t)(host_end - host)) == NULL)
            return -1;
    } else {
        colon = strrchr(listen, ':');
        if (colon == NULL)
            return -1;
        host = listen;
        host_end = colon;
        /* An unbracketed IPv6 address cannot be told apart from its port. */
        if (memchr(host, ':', (size_t)(host_end - host)) != NULL)
            return -1;
    }
    host_len = (size_t)(host_end - host);
    if (host_len == 0 || !all_graph(host, host_len))
        return -1;
    for (const char *p = host; p < host_end; p++)
        if (strchr("/[]@?#", *p) != NULL)
            return -1;
    if (!parse_port(colon + 1, &port))
        return -1;
    if (ret_host != NULL) {
        if (host_len >= host_cap)
            return -1;
        memcpy(ret_host, host, host_len);
        ret_host[host_len] = '\0';
    }
    if (ret_port != NULL)
        *ret_port = port;
    return 0;
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool lt_cfgtext_valid_url(const char *s)
{
    const char *rest;

    if (s[0] == '\0')
        return true;
    if (has_prefix_ci(s, "http://"))
        rest = s + strlen("http://");
    else if (has_prefix_ci(s, "https://"))
        rest = s + strlen("https://");
    else
        return false;
    /* A host must follow the scheme; URLs carry no blanks (percent-encode). */
    return rest[0] != '\0' && rest[0] != '/' && all_graph(rest, strlen(rest));
}

bool lt_cfgtext_valid_zmq(const char *s)
{
    const char *rest;
    const char *colon;
    int port;

    if (!all_graph(s, strlen(s)))
        return false;
    if (strncmp(s, "inproc://", strlen("inproc://")) == 0)
        return s[strlen("inproc://")] != '\0';
    if (strncmp(s, "ipc://", strlen("ipc://")) == 0)
        return s[strlen("ipc://")] != '\0';
    if (strncmp(s, "tcp://", strlen("tcp://")) != 0)
        return false;
    rest = s + strlen("tcp://");
    colon = strrchr(rest, ':');
    if (colon == NULL || colon == rest)
        return false;
    /* "*" asks ZeroMQ for an ephemeral port. */
    return strcmp(colon + 1, "*") == 0 || parse_port(colon + 1, &port);
}
