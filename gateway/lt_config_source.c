/* lt_config_source: the two places settings come from besides the
 * defaults, applied over a struct lt_config by walking the key table: the
 * JSON file (nested sections, "#" comments, unknown keys refused with a
 * suggestion) and the LIENTHONG_<SECTION>_<KEY> environment variables. */
#include "lt_config_int.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* ---- loading: the file -------------------------------------------------- */

static const cf_key *find_key(const char *dotted)
{
    for (size_t i = 0; i < lt_cfkeys_n; i++)
        if (strcmp(lt_cfkeys[i].key, dotted) == 0)
            return &lt_cfkeys[i];
    return NULL;
}

/* True when dotted is a section: some key starts with "dotted.". */
static const cf_key *find_section(const char *dotted)
{
    size_t len = strlen(dotted);

    for (size_t i = 0; i < lt_cfkeys_n; i++)
        if (strncmp(lt_cfkeys[i].key, dotted, len) == 0 && lt_cfkeys[i].key[len] == '.')
            return &lt_cfkeys[i];
    return NULL;
}

/* Levenshtein distance, for "did you mean". Long inputs are never close. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[KEY_MAX + 1];

    if (la > KEY_MAX || lb > KEY_MAX)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);

            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *leaf(const char *dotted)
{
    const char *dot = strrchr(dotted, '.');

    return dot != NULL ? dot + 1 : dotted;
}

/* The closest key or section name within edit distance 2; failing that, the
 * one key whose last part equals the unknown name's last part ("listen" at
 * the top level means http.listen). Empty when nothing fits. */
static void suggest(const char *unknown, char *buf, size_t cap)
{
    size_t best = 3;
    const cf_key *same_leaf = NULL;
    int same_leaf_count = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < lt_cfkeys_n; i++) {
        const char *key = lt_cfkeys[i].key;
        size_t d = edit_distance(unknown, key);

        if (d < best) {
            best = d;
            snprintf(buf, cap, "%s", key);
        }
        for (const char *dot = strchr(key, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
            char section[KEY_MAX];

            snprintf(section, sizeof section, "%.*s", (int)(dot - key), key);
            /* "http.x" is not a misspelt "http": the section was right. */
            if (strncmp(unknown, section, strlen(section)) == 0 && unknown[strlen(section)] == '.')
                continue;
            d = edit_distance(unknown, section);
            if (d < best) {
                best = d;
                snprintf(buf, cap, "%s", section);
            }
        }
        if (strcmp(leaf(key), leaf(unknown)) == 0) {
            same_leaf = &lt_cfkeys[i];
            same_leaf_count++;
        }
    }
    if (buf[0] == '\0' && same_leaf_count == 1)
        snprintf(buf, cap, "%s", same_leaf->key);
}

static void unknown_key(lt_config_error *err, const char *dotted)
{
    char near[KEY_MAX];

    suggest(dotted, near, sizeof near);
    if (near[0] != '\0')
        lt_config_set_err(err, dotted, "unknown key (did you mean %s?)", near);
    else
        lt_config_set_err(err, dotted, "unknown key");
}

static int apply_json(lt_config *cfg, const cf_key *k, const json_t *v, lt_config_error *err)
{
    cf_value val = {0};
    lt_cfg_parse st = PARSE_SYNTAX;
    char expected[256], got[128];

    if (k->type == CF_BOOL) {
        if (json_is_boolean(v)) {
            val.b = json_is_true(v);
            st = PARSE_OK;
        }
    } else if (k->type == CF_ENUM && json_is_boolean(v)) {
        /* zmq.curve: a JSON true/false is the enum's "true"/"false". */
        st = lt_cfval_parse(k, json_is_true(v) ? "true" : "false", &val);
    } else if ((k->type == CF_SIZE || k->type == CF_COUNT) && json_is_integer(v)) {
        val.i = json_integer_value(v);
        st = val.i < k->min || val.i > k->max ? PARSE_RANGE : PARSE_OK;
    } else if (json_is_string(v)) {
        /* A \u0000 inside a JSON string would silently cut a C string. */
        if (strlen(json_string_value(v)) == json_string_length(v))
            st = lt_cfval_parse(k, json_string_value(v), &val);
    }
    if (st == PARSE_OK) {
        if (lt_cfval_store(cfg, k, &val) < 0) {
            lt_config_set_err(err, k->key, "out of memory");
            return -1;
        }
        return 0;
    }
    lt_cfval_expected(k, st == PARSE_SYNTAX, false, expected, sizeof expected);
    lt_cfgtext_describe_json(v, (k->flags & CF_SECRET) != 0, got, sizeof got);
    lt_config_set_err(err, k->key, "expected %s, got %s", expected, got);
    return -1;
}

/* Walks one JSON object whose members are keys or sections under prefix
 * ("" at the top). Members named "#..." are comments. */
static int apply_object(lt_config *cfg, const json_t *obj, const char *prefix, lt_config_error *err)
{
    const char *name;
    json_t *value;

    json_object_foreach((json_t *)obj, name, value)
    {
        char dotted[KEY_MAX];
        const cf_key *k, *section;
        char got[128];
        int n;

        if (name[0] == '#')
            continue;
        n = snprintf(dotted, sizeof dotted, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", name);
        if (n < 0 || (size_t)n >= sizeof dotted) {
            lt_config_set_err(err, dotted, "unknown key");
            return -1;
        }
        if (name[0] == '\0' || strchr(name, '.') != NULL) {
            /* {"http.listen": ...} would be a second spelling of one key. */
            lt_config_set_err(err, dotted,
                              "unknown key (sections are nested objects: {\"http\": "
                              "{\"listen\": ...}})");
            return -1;
        }
        k = find_key(dotted);
        if (k != NULL) {
            if (apply_json(cfg, k, value, err) < 0)
                return -1;
            continue;
        }
        section = find_section(dotted);
        if (section == NULL) {
            unknown_key(err, dotted);
            return -1;
        }
        if (!json_is_object(value)) {
            lt_cfgtext_describe_json(value, false, got, sizeof got);
            lt_config_set_err(err, dotted,
                              "expected an object (a section holding keys such as %s), got %s",
                              section->key, got);
            return -1;
        }
        if (apply_object(cfg, value, dotted, err) < 0)
            return -1;
    }
    return 0;
}

int lt_cfsrc_apply_file(lt_config *cfg, const char *path, lt_config_error *err)
{
    json_error_t jerr;
    json_t *root;
    char got[64];
    int rc = -1;

    root = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (root == NULL) {
        /* Line -1 means the file could not be read; the text names it. */
        if (jerr.line > 0)
            lt_config_set_err(err, "", "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        else
            lt_config_set_err(err, "", "%s", jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        lt_cfgtext_describe_json(root, false, got, sizeof got);
        lt_config_set_err(err, "", "%s: expected a JSON object at the top level, got %s", path,
                          got);
        goto out;
    }
    rc = apply_object(cfg, root, "", err);
out:
    json_decref(root);
    return rc;
}

/* ---- loading: the environment ------------------------------------------- */

/* "LIENTHONG_" + the key upper-cased, '.' as '_'. */
void lt_cfsrc_env_name(const cf_key *k, char *buf, size_t cap)
{
    size_t len;

    snprintf(buf, cap, "%s%s", ENV_PREFIX, k->key);
    len = strlen(buf);
    for (size_t i = strlen(ENV_PREFIX); i < len; i++)
        buf[i] = buf[i] == '.' ? '_' : (char)toupper((unsigned char)buf[i]);
}

static const char *env_lookup(char *const *envp, const char *name)
{
    size_t len = strlen(name);

    for (char *const *e = envp; *e != NULL; e++)
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    return NULL;
}

int lt_cfsrc_apply_env(lt_config *cfg, char *const *envp, lt_config_error *err)
{
    for (size_t i = 0; i < lt_cfkeys_n; i++) {
        const cf_key *k = &lt_cfkeys[i];
        char name[KEY_MAX + sizeof ENV_PREFIX];
        char expected[256], got[128];
        const char *text;
        cf_value v = {0};
        lt_cfg_parse st;

        lt_cfsrc_env_name(k, name, sizeof name);
        text = env_lookup(envp, name);
        if (text == NULL)
            continue;
        st = lt_cfval_parse(k, text, &v);
        if (st != PARSE_OK) {
            lt_cfval_expected(k, st == PARSE_SYNTAX, true, expected, sizeof expected);
            if (k->flags & CF_SECRET)
                snprintf(got, sizeof got, "a hidden value");
            else
                lt_cfgtext_quote(text, got, sizeof got);
            lt_config_set_err(err, k->key, "%s: expected %s, got %s", name, expected, got);
            return -1;
        }
        if (lt_cfval_store(cfg, k, &v) < 0) {
            lt_config_set_err(err, k->key, "out of memory");
            return -1;
        }
    }
    return 0;
}
