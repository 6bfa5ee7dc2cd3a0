/* lt_config_print: the configuration as people and scripts read it: the
 * Markdown table of every key (`lienthong help config`, the README's table)
 * and the effective configuration as JSON (`serve -n --json`, secrets as
 * "***"), both loops over the key table. */
#include "lt_config_int.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* ---- printing ----------------------------------------------------------- */

static const char *type_name(cf_type t)
{
    switch (t) {
    case CF_STRING:
        return "string";
    case CF_URL:
        return "URL";
    case CF_PATH:
        return "path";
    case CF_LISTEN:
        return "listen address";
    case CF_ZMQ:
        return "ZeroMQ endpoint";
    case CF_BOOL:
        return "bool";
    case CF_DURATION:
        return "duration";
    case CF_SIZE:
        return "size";
    case CF_ENUM:
        return "enum";
    case CF_COUNT:
        return "number";
    }
    return "?";
}

void lt_config_print_table(FILE *out)
{
    fprintf(out, "| key | environment variable | type | default | reload | meaning |\n");
    fprintf(out, "| --- | --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < lt_cfkeys_n; i++) {
        const cf_key *k = &lt_cfkeys[i];
        char env[KEY_MAX + sizeof ENV_PREFIX], type[256], range[80], names[160];

        lt_cfsrc_env_name(k, env, sizeof env);
        if (k->type == CF_DURATION || k->type == CF_SIZE || k->type == CF_COUNT) {
            lt_cfval_format_range(k, range, sizeof range);
            snprintf(type, sizeof type, "%s %s", type_name(k->type), range);
        } else if (k->type == CF_ENUM) {
            lt_cfval_format_enum_names(k, "`", names, sizeof names);
            snprintf(type, sizeof type, "one of %s", names);
        } else if (k->type == CF_PATH && (k->flags & CF_NONEMPTY)) {
            snprintf(type, sizeof type, "path, non-empty");
        } else {
            snprintf(type, sizeof type, "%s", type_name(k->type));
        }
        fprintf(out, "| `%s` | `%s` | %s | %s%s%s | %s | %s%s |\n", k->key, env, type,
                k->def[0] != '\0' ? "`" : "", k->def[0] != '\0' ? k->def : "empty",
                k->def[0] != '\0' ? "`" : "", (k->flags & CF_RELOAD) ? "yes" : "no", k->help,
                (k->flags & CF_SECRET) ? " (secret, printed as `***`)" : "");
    }
}

/* The JSON value of one row, in the form the file accepts. */
static json_t *value_json(const lt_config *cfg, const cf_key *k)
{
    const void *p = lt_cfval_cfield(cfg, k);
    char buf[64];
    const char *name;

    if (lt_cfval_is_string(k->type)) {
        const char *s = *(char *const *)p;

        if (s == NULL)
            s = "";
        if ((k->flags & CF_SECRET) && s[0] != '\0')
            s = "***";
        return json_string(s);
    }
    switch (k->type) {
    case CF_BOOL:
        return json_boolean(*(const bool *)p);
    case CF_DURATION:
        lt_cfgtext_format_duration(*(const int64_t *)p, buf, sizeof buf);
        return json_string(buf);
    case CF_SIZE:
        if (lt_cfgtext_format_size(*(const int64_t *)p, buf, sizeof buf))
            return json_string(buf);
        return json_integer(*(const int64_t *)p);
    case CF_COUNT:
        return json_integer(*(const int64_t *)p);
    case CF_ENUM:
        name = lt_cfval_enum_name(k, *(const int *)p);
        return name != NULL ? json_string(name) : json_integer(*(const int *)p);
    default:
        return json_null();
    }
}

/* Sets root[a][b]...[leaf] = value for dotted key "a.b.leaf", making the
 * section objects on the way. Steals value. */
static int set_dotted(json_t *root, const char *dotted, json_t *value)
{
    json_t *obj = root;
    const char *part = dotted;
    const char *dot;

    if (value == NULL)
        return -1;
    while ((dot = strchr(part, '.')) != NULL) {
        char section[KEY_MAX];
        json_t *child;

        snprintf(section, sizeof section, "%.*s", (int)(dot - part), part);
        child = json_object_get(obj, section);
        if (child == NULL) {
            child = json_object();
            if (json_object_set_new(obj, section, child) < 0) {
                json_decref(value);
                return -1;
            }
        }
        obj = child;
        part = dot + 1;
    }
    return json_object_set_new(obj, part, value);
}

void lt_config_print_json(const lt_config *cfg, FILE *out)
{
    json_t *root = json_object();

    if (root == NULL)
        return;
    for (size_t i = 0; i < lt_cfkeys_n; i++)
        if (set_dotted(root, lt_cfkeys[i].key, value_json(cfg, &lt_cfkeys[i])) < 0)
            goto out;
    if (json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0)
        fputc('\n', out);
out:
    json_decref(root);
}
