/* Unit tests for lt_config: the table-driven loader is the gateway's only
 * source of settings, so every type's parser, every error message shape the
 * operators see, the reload diff and the shipped sample config are checked
 * here. Tests pass their own envp and never read the real environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "lt_config.h"

#ifndef LT_SOURCE_DIR
#error "build with -DLT_SOURCE_DIR=\"/path/to/source\""
#endif

#define SAMPLE LT_SOURCE_DIR "/deploy/lienthong.example.json"

/* An environment with nothing in it, so the real one never leaks in. */
static char *const no_env[] = {NULL};

/* A config file holding "{}", made by main: the environment tests load it
 * so that a ./lienthong.json in the working directory cannot interfere. */
static char empty_file[64] = "/tmp/lt_config_empty.XXXXXX";

/* A scratch directory per test, removed by teardown. */
typedef struct fixture {
    char dir[64];   /* mkdtemp result */
    char path[128]; /* dir/config.json */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/lt_config_test.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/config.json", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char other[160];

    unlink(f->path);
    snprintf(other, sizeof other, "%s/lienthong.json", f->dir);
    unlink(other);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* Loads text as a config file and expects success. */
static void load_ok(fixture *f, const char *text, char *const *envp, lt_config *cfg)
{
    lt_config_error err;

    write_text(f->path, text);
    if (lt_config_load(cfg, f->path, envp, &err, NULL, 0) != 0)
        fail_msg("load failed: key \"%s\": %s", err.key, err.message);
}

/* Loads text and expects failure naming key; message must contain part. */
static void load_fails(fixture *f, const char *text, char *const *envp, const char *key,
                       const char *part)
{
    lt_config cfg;
    lt_config_error err;
    static const lt_config zero;

    write_text(f->path, text);
    memset(&cfg, 0x5A, sizeof cfg);
    if (lt_config_load(&cfg, f->path, envp, &err, NULL, 0) == 0) {
        lt_config_free(&cfg);
        fail_msg("load of %s succeeded, expected an error on %s", text, key);
    }
    assert_string_equal(err.key, key);
    if (strstr(err.message, part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.message, part);
    /* The contract: cfg is freed and zeroed on failure. */
    assert_memory_equal(&cfg, &zero, sizeof cfg);
}

/* Sets one key through the environment: expects success. */
static void env_ok(const char *assignment, lt_config *cfg)
{
    char *envp[] = {(char *)assignment, NULL};
    lt_config_error err;

    if (lt_config_load(cfg, empty_file, envp, &err, NULL, 0) != 0)
        fail_msg("%s: key \"%s\": %s", assignment, err.key, err.message);
}

static void env_fails(const char *assignment, const char *key, const char *part)
{
    char *envp[] = {(char *)assignment, NULL};
    lt_config cfg;
    lt_config_error err;

    if (lt_config_load(&cfg, empty_file, envp, &err, NULL, 0) == 0) {
        lt_config_free(&cfg);
        fail_msg("%s was accepted", assignment);
    }
    assert_string_equal(err.key, key);
    if (strstr(err.message, part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.message, part);
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Each of values[n], set through the environment variable var, loads and
 * reads back unchanged through get. */
static void env_keeps(const char *var, const char *const *values, size_t n,
                      const char *(*get)(const lt_config *))
{
    for (size_t i = 0; i < n; i++) {
        char a[160];
        lt_config cfg;

        snprintf(a, sizeof a, "%s=%s", var, values[i]);
        env_ok(a, &cfg);
        assert_string_equal(get(&cfg), values[i]);
        lt_config_free(&cfg);
    }
}

/* Each of values[n], set through var, is refused naming key, with part in
 * the message. */
static void env_fails_each(const char *var, const char *const *values, size_t n, const char *key,
                           const char *part)
{
    for (size_t i = 0; i < n; i++) {
        char a[160];

        snprintf(a, sizeof a, "%s=%s", var, values[i]);
        env_fails(a, key, part);
    }
}

/* text, set through var, loads and reads as want through get. */
static void env_reads(const char *var, const char *text, int64_t want,
                      int64_t (*get)(const lt_config *))
{
    char a[160];
    lt_config cfg;

    snprintf(a, sizeof a, "%s=%s", var, text);
    env_ok(a, &cfg);
    if (get(&cfg) != want)
        fail_msg("%s reads as %lld, want %lld", a, (long long)get(&cfg), (long long)want);
    lt_config_free(&cfg);
}

static int64_t http_max_body(const lt_config *c)
{
    return (int64_t)c->http.max_body;
}
static int64_t auth_required(const lt_config *c)
{
    return c->auth.required;
}
static const char *http_listen(const lt_config *c)
{
    return c->http.listen;
}
static const char *zmq_ingress(const lt_config *c)
{
    return c->zmq.ingress;
}
static const char *catalog_url(const lt_config *c)
{
    return c->catalog.url;
}

/* Equal configs: no reloadable change and no restart-needing change. */
static void assert_config_equal(const lt_config *a, const lt_config *b)
{
    lt_config tmp;
    char restart[512];

    assert_int_equal(lt_config_copy(&tmp, a), 0);
    assert_int_equal(lt_config_apply_reload(&tmp, b, restart, sizeof restart), 0);
    assert_string_equal(restart, "");
    lt_config_free(&tmp);
}

static void check_defaults(const lt_config *c)
{
    assert_string_equal(c->data_dir, "./var");
    assert_string_equal(c->database.url, "");
    assert_int_equal(c->database.connect_timeout_ms, 5000);
    assert_int_equal(c->database.health_interval_ms, 1000);
    assert_string_equal(c->postgres.bin_dir, "");
    assert_string_equal(c->postgres.user, "postgres");
    assert_string_equal(c->http.listen, "127.0.0.1:8080");
    assert_int_equal(c->http.max_body, 4 * 1024 * 1024);
    assert_string_equal(c->zmq.ingress, "tcp://127.0.0.1:5570");
    assert_string_equal(c->zmq.events, "tcp://127.0.0.1:5571");
    assert_string_equal(c->zmq.replay, "tcp://127.0.0.1:5572");
    assert_int_equal(c->log.level, 1);
    assert_true(c->auth.required);
    assert_string_equal(c->portal.url, "");
    assert_string_equal(c->portal.login_path, "/login");
    assert_string_equal(c->portal.sync_path, "/sync");
    assert_string_equal(c->portal.username, "");
    assert_string_equal(c->portal.password, "");
    assert_string_equal(c->portal.agency, "");
    assert_string_equal(c->catalog.url, "");
    assert_int_equal(c->routing.model, LT_ROUTING_AUTO);
}

/* ---- defaults and sources ----------------------------------------------- */

static void test_defaults(void **state)
{
    lt_config cfg;

    (void)state;
    assert_int_equal(lt_config_init_defaults(&cfg), 0);
    check_defaults(&cfg);
    lt_config_free(&cfg);
}

static void test_no_file_means_defaults(void **state)
{
    fixture *f = *state;
    char cwd[4096], source[256], local[160];
    lt_config cfg;
    lt_config_error err;

    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);

    memset(source, 'x', sizeof source);
    assert_int_equal(lt_config_load(&cfg, NULL, no_env, &err, source, sizeof source), 0);
    assert_string_equal(source, "");
    check_defaults(&cfg);
    lt_config_free(&cfg);

    /* ./lienthong.json is picked up when present. */
    snprintf(local, sizeof local, "%s/lienthong.json", f->dir);
    write_text(local, "{\"http\": {\"listen\": \"0.0.0.0:9000\"}}");
    assert_int_equal(lt_config_load(&cfg, NULL, no_env, &err, source, sizeof source), 0);
    assert_string_equal(source, "./lienthong.json");
    assert_string_equal(cfg.http.listen, "0.0.0.0:9000");
    lt_config_free(&cfg);

    assert_int_equal(chdir(cwd), 0);
}

static void test_explicit_missing_file(void **state)
{
    fixture *f = *state;
    char missing[160];
    lt_config cfg;
    lt_config_error err;

    snprintf(missing, sizeof missing, "%s/nope.json", f->dir);
    assert_int_equal(lt_config_load(&cfg, missing, no_env, &err, NULL, 0), -1);
    assert_string_equal(err.key, "");
    assert_non_null(strstr(err.message, "nope.json"));
}

static void test_file_overrides(void **state)
{
    fixture *f = *state;
    lt_config cfg;
    char source[256];
    lt_config_error err;

    write_text(f->path, "{\"data_dir\": \"/srv/lt\",\n"
                        " \"database\": {\"url\": \"postgresql://a,b/lt\", "
                        "\"connect_timeout\": \"30s\", \"health_interval\": \"250ms\"},\n"
                        " \"postgres\": {\"bin_dir\": \"/usr/lib/postgresql/15/bin\"},\n"
                        " \"http\": {\"listen\": \"[::1]:0\", \"max_body\": 65536},\n"
                        " \"zmq\": {\"ingress\": \"ipc:///run/lt/in\", \"events\": "
                        "\"inproc://ev\", \"replay\": \"tcp://*:6000\"},\n"
                        " \"log\": {\"level\": \"warning\"}, \"auth\": {\"required\": false},\n"
                        " \"portal\": {\"url\": \"https://portal.example.gov.vn/api\", "
                        "\"password\": \"s3cret\", \"agency\": \"000.00.00.H12\"},\n"
                        " \"routing\": {\"model\": \"2-tier\"}}\n");
    assert_int_equal(lt_config_load(&cfg, f->path, no_env, &err, source, sizeof source), 0);
    assert_string_equal(source, f->path);
    assert_string_equal(cfg.data_dir, "/srv/lt");
    assert_string_equal(cfg.database.url, "postgresql://a,b/lt");
    assert_int_equal(cfg.database.connect_timeout_ms, 30000);
    assert_int_equal(cfg.database.health_interval_ms, 250);
    assert_string_equal(cfg.postgres.bin_dir, "/usr/lib/postgresql/15/bin");
    assert_string_equal(cfg.postgres.user, "postgres");
    assert_string_equal(cfg.http.listen, "[::1]:0");
    assert_int_equal(cfg.http.max_body, 65536);
    assert_string_equal(cfg.zmq.ingress, "ipc:///run/lt/in");
    assert_string_equal(cfg.zmq.events, "inproc://ev");
    assert_string_equal(cfg.zmq.replay, "tcp://*:6000");
    assert_int_equal(cfg.log.level, 2);
    assert_false(cfg.auth.required);
    assert_string_equal(cfg.portal.url, "https://portal.example.gov.vn/api");
    assert_string_equal(cfg.portal.password, "s3cret");
    assert_string_equal(cfg.portal.agency, "000.00.00.H12");
    assert_string_equal(cfg.portal.login_path, "/login");
    assert_int_equal(cfg.routing.model, LT_ROUTING_2TIER);
    lt_config_free(&cfg);
}

static void test_env_overrides_file(void **state)
{
    fixture *f = *state;
    char *envp[] = {
        "PATH=/usr/bin",
        "LIENTHONG_HTTP_LISTEN=10.0.0.1:80",
        "LIENTHONG_DATA_DIR=/env/dir",
        "LIENTHONG_PORTAL_LOGIN_PATH=/api/login",
        "LIENTHONG_AUTH_REQUIRED=off",
        "LIENTHONG_LOG_LEVEL=DEBUG",
        "LIENTHONG_HTTP_MAX_BODY=1MB",
        "LIENTHONG_DATABASE_URL=",
        "LIENTHONG_ROUTING_MODEL=3-tier",
        "LIENTHONG_NOT_A_KEY=whatever", /* unknown variables are the caller's business */
        "LIENTHONG_HTTP_LISTEN_X=1",
        NULL,
    };
    lt_config cfg;

    load_ok(f,
            "{\"data_dir\": \"/file/dir\", \"http\": {\"listen\": \"1.2.3.4:5\"}, "
            "\"database\": {\"url\": \"host=db\"}, \"zmq\": {\"events\": \"tcp://h:1\"}}",
            envp, &cfg);
    assert_string_equal(cfg.http.listen, "10.0.0.1:80");
    assert_string_equal(cfg.data_dir, "/env/dir");
    assert_string_equal(cfg.portal.login_path, "/api/login");
    assert_false(cfg.auth.required);
    assert_int_equal(cfg.log.level, 0);
    assert_int_equal(cfg.http.max_body, 1000000);
    assert_string_equal(cfg.database.url, "");
    assert_int_equal(cfg.routing.model, LT_ROUTING_3TIER);
    assert_string_equal(cfg.zmq.events, "tcp://h:1"); /* file value kept */
    lt_config_free(&cfg);
}

static void test_env_errors_name_variable(void **state)
{
    (void)state;
    env_fails("LIENTHONG_HTTP_MAX_BODY=2GiB", "http.max_body",
              "LIENTHONG_HTTP_MAX_BODY: expected a size between 1KiB and 1GiB, got \"2GiB\"");
    env_fails("LIENTHONG_AUTH_REQUIRED=maybe", "auth.required",
              "LIENTHONG_AUTH_REQUIRED: expected true/false, 1/0, yes/no or on/off");
    env_fails("LIENTHONG_DATA_DIR=", "data_dir", "LIENTHONG_DATA_DIR: expected a non-empty path");
    env_fails("LIENTHONG_DATABASE_CONNECT_TIMEOUT=5", "database.connect_timeout",
              "unit ms, s, m or h");
    /* A secret is never echoed. */
    char bad[] = "LIENTHONG_PORTAL_PASSWORD=\xff\xfe";
    env_fails(bad, "portal.password", "got a hidden value");
}

/* ---- each type's parser ------------------------------------------------- */

static void test_duration(void **state)
{
    lt_config cfg;

    (void)state;
    env_ok("LIENTHONG_DATABASE_HEALTH_INTERVAL=500ms", &cfg);
    assert_int_equal(cfg.database.health_interval_ms, 500);
    lt_config_free(&cfg);
    env_ok("LIENTHONG_DATABASE_HEALTH_INTERVAL=1m", &cfg);
    assert_int_equal(cfg.database.health_interval_ms, 60000);
    lt_config_free(&cfg);
    env_ok("LIENTHONG_DATABASE_CONNECT_TIMEOUT=5m", &cfg);
    assert_int_equal(cfg.database.connect_timeout_ms, 300000);
    lt_config_free(&cfg);
    env_ok("LIENTHONG_DATABASE_CONNECT_TIMEOUT=1000ms", &cfg);
    assert_int_equal(cfg.database.connect_timeout_ms, 1000);
    lt_config_free(&cfg);

    static const char *const syntax[] = {
        "5", "5x", "-1s", "+5s", "1.5s", "", " 5s", "5s ", "5 s", "s", "5S", "5sec", "0x10s",
    };
    env_fails_each("LIENTHONG_DATABASE_CONNECT_TIMEOUT", syntax, N_OF(syntax),
                   "database.connect_timeout",
                   "expected a duration between 1s and 5m (a whole number with unit");
    static const char *const range[] = {
        "999ms", "6m", "72h", "0s", "99999999999999999999h", "9223372036854775807h"};
    for (size_t i = 0; i < sizeof range / sizeof range[0]; i++) {
        char a[80], want[120];

        snprintf(a, sizeof a, "LIENTHONG_DATABASE_CONNECT_TIMEOUT=%s", range[i]);
        snprintf(want, sizeof want, "expected a duration between 1s and 5m, got \"%s\"", range[i]);
        env_fails(a, "database.connect_timeout", want);
    }
    env_fails("LIENTHONG_DATABASE_HEALTH_INTERVAL=99ms", "database.health_interval",
              "between 100ms and 1m");
}

static void test_size(void **state)
{
    fixture *f = *state;
    lt_config cfg;
    static const struct {
        const char *text;
        int64_t bytes;
    } good[] = {
        {"1024", 1024}, {"1KiB", 1024},   {"4MiB", 4 << 20},   {"1GiB", 1 << 30}, {"2000B", 2000},
        {"2KB", 2000},  {"3MB", 3000000}, {"1GB", 1000000000}, {"0001024", 1024},
    };

    for (size_t i = 0; i < N_OF(good); i++)
        env_reads("LIENTHONG_HTTP_MAX_BODY", good[i].text, good[i].bytes, http_max_body);
    /* JSON integers and digit strings are both bytes. */
    load_ok(f, "{\"http\": {\"max_body\": 2048}}", no_env, &cfg);
    assert_int_equal(cfg.http.max_body, 2048);
    lt_config_free(&cfg);
    load_ok(f, "{\"http\": {\"max_body\": \"2048\"}}", no_env, &cfg);
    assert_int_equal(cfg.http.max_body, 2048);
    lt_config_free(&cfg);

    load_fails(f, "{\"http\": {\"max_body\": \"2GiB\"}}", no_env, "http.max_body",
               "expected a size between 1KiB and 1GiB, got \"2GiB\"");
    load_fails(f, "{\"http\": {\"max_body\": 1023}}", no_env, "http.max_body",
               "expected a size between 1KiB and 1GiB, got 1023");
    load_fails(f, "{\"http\": {\"max_body\": -5}}", no_env, "http.max_body", "got -5");
    load_fails(f, "{\"http\": {\"max_body\": 1.5}}", no_env, "http.max_body", "got 1.5");
    load_fails(f, "{\"http\": {\"max_body\": true}}", no_env, "http.max_body", "got true");
    static const char *const bad[] = {"4 MiB", "4mib", "-1", "4TiB", "MiB", "1.5MiB", "4MiBs"};
    env_fails_each("LIENTHONG_HTTP_MAX_BODY", bad, N_OF(bad), "http.max_body",
                   "(bytes, or a whole number with unit");
    env_fails("LIENTHONG_HTTP_MAX_BODY=99999999999GB", "http.max_body",
              "expected a size between 1KiB and 1GiB, got");
}

static void test_listen(void **state)
{
    fixture *f = *state;
    static const char *const good[] = {"0.0.0.0:0", "[::1]:8080", "localhost:65535",
                                       "[fe80::1%eth0]:80", "gw.example:443"};
    static const char *const bad[] = {"8080",        ":8080",     "::1:8080", "[::1]8080",
                                      "host:65536",  "host:",     "host:-1",  "host:80x",
                                      "[]:80",       "[host]:80", "a b:80",   "host:123456",
                                      "http://h:80", "[::1:80",   ""};

    env_keeps("LIENTHONG_HTTP_LISTEN", good, N_OF(good), http_listen);
    env_fails_each("LIENTHONG_HTTP_LISTEN", bad, N_OF(bad), "http.listen",
                   "expected host:port or [v6]:port with a port from 0 to 65535");
    load_fails(f, "{\"http\": {\"listen\": 8080}}", no_env, "http.listen",
               "expected host:port or [v6]:port with a port from 0 to 65535, got 8080");
}

static void test_split_listen(void **state)
{
    char host[64];
    int port = -7;

    (void)state;
    assert_int_equal(lt_config_split_listen("127.0.0.1:8080", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(lt_config_split_listen("[::1]:0", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(lt_config_split_listen("[2001:db8::5]:65535", host, sizeof host, &port), 0);
    assert_string_equal(host, "2001:db8::5");
    assert_int_equal(port, 65535);

    /* Failures leave the outputs untouched. */
    snprintf(host, sizeof host, "untouched");
    port = -7;
    static const char *const bad[] = {
        "h:65536", "h:-1", "h:", "h", ":80", "::1:80", "[::1]", "h:8a", "h:99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(lt_config_split_listen(bad[i], host, sizeof host, &port), -1);
    assert_int_equal(lt_config_split_listen(NULL, host, sizeof host, &port), -1);
    /* The host must fit. */
    assert_int_equal(lt_config_split_listen("abcdef:1", host, 6, &port), -1);
    assert_string_equal(host, "untouched");
    assert_int_equal(port, -7);
    assert_int_equal(lt_config_split_listen("abcde:1", host, 6, &port), 0);
    assert_string_equal(host, "abcde");
}

static void test_zmq(void **state)
{
    static const char *const good[] = {"tcp://*:5570", "ipc:///tmp/x", "inproc://bus",
                                       "tcp://127.0.0.1:*", "tcp://[::1]:5570"};
    static const char *const bad[] = {"tcp://",    "udp://x:1", "tcp://host",    "127.0.0.1:5570",
                                      "ipc://",    "inproc://", "tcp://h:70000", "tcp://:1",
                                      "TCP://h:1", "tcp://h :1"};

    (void)state;
    env_keeps("LIENTHONG_ZMQ_INGRESS", good, N_OF(good), zmq_ingress);
    env_fails_each("LIENTHONG_ZMQ_REPLAY", bad, N_OF(bad), "zmq.replay",
                   "expected a ZeroMQ endpoint");
}

/* zmq.curve: which endpoints count as loopback, auto, and false refused
 * unless ingress and replay are both loopback. */
static void test_zmq_curve(void **state)
{
    static const char *const local[] = {"tcp://127.0.0.1:5570", "tcp://127.1.2.3:*",
                                        "tcp://localhost:1",    "tcp://[::1]:5570",
                                        "ipc:///tmp/x",         "inproc://bus"};
    static const char *const open[] = {
        "tcp://*:5570",    "tcp://0.0.0.0:5570", "tcp://10.0.0.1:5570", "tcp://127.example.org:1",
        "tcp://[::]:5570", "tcp://eth0:5570",    "tcp://127.0.0.1.5:1"};
    lt_config cfg;
    lt_config_error err;

    (void)state;
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        if (!lt_config_zmq_local(local[i]))
            fail_msg("%s is loopback", local[i]);
    for (size_t i = 0; i < sizeof open / sizeof open[0]; i++)
        if (lt_config_zmq_local(open[i]))
            fail_msg("%s is not loopback", open[i]);

    env_ok("LIENTHONG_ZMQ_CURVE=auto", &cfg);
    assert_false(lt_config_zmq_curve(&cfg)); /* the defaults are loopback */
    lt_config_free(&cfg);
    env_ok("LIENTHONG_ZMQ_REPLAY=tcp://*:5572", &cfg);
    assert_int_equal(cfg.zmq.curve, LT_ZMQ_CURVE_AUTO);
    assert_true(lt_config_zmq_curve(&cfg));
    lt_config_free(&cfg);
    env_ok("LIENTHONG_ZMQ_CURVE=on", &cfg);
    assert_true(lt_config_zmq_curve(&cfg));
    lt_config_free(&cfg);
    env_ok("LIENTHONG_ZMQ_CURVE=false", &cfg);
    assert_false(lt_config_zmq_curve(&cfg));
    lt_config_free(&cfg);
    env_fails("LIENTHONG_ZMQ_CURVE=maybe", "zmq.curve", "expected one of auto, true or false");

    char *envp[] = {"LIENTHONG_ZMQ_CURVE=false", "LIENTHONG_ZMQ_INGRESS=tcp://0.0.0.0:5570", NULL};
    assert_int_equal(lt_config_load(&cfg, empty_file, envp, &err, NULL, 0), -1);
    assert_string_equal(err.key, "zmq.curve");
    assert_non_null(strstr(err.message, "zmq.ingress is tcp://0.0.0.0:5570"));
    /* Events do not count: PUB is public and carries no personal data. */
    char *events[] = {"LIENTHONG_ZMQ_CURVE=false", "LIENTHONG_ZMQ_EVENTS=tcp://*:5571", NULL};
    assert_int_equal(lt_config_load(&cfg, empty_file, events, &err, NULL, 0), 0);
    lt_config_free(&cfg);

    char path[4096];
    env_ok("LIENTHONG_DATA_DIR=/srv/lt", &cfg);
    assert_int_equal(lt_config_curve_key_path(&cfg, path, sizeof path), 0);
    assert_string_equal(path, "/srv/lt/curve/server.key");
    lt_config_free(&cfg);
    env_ok("LIENTHONG_ZMQ_CURVE_KEY=/etc/lt/k", &cfg);
    assert_int_equal(lt_config_curve_key_path(&cfg, path, sizeof path), 0);
    assert_string_equal(path, "/etc/lt/k");
    lt_config_free(&cfg);
}

static void test_url(void **state)
{
    static const char *const good[] = {"", "http://x", "HTTPS://portal.gov.vn/api",
                                       "https://10.0.0.1:8443/a?b=c"};
    static const char *const bad[] = {"ftp://x",    "http://",       "portal.gov.vn",
                                      "http://a b", "https:///path", "http:/x"};

    (void)state;
    env_keeps("LIENTHONG_CATALOG_URL", good, N_OF(good), catalog_url);
    env_fails_each("LIENTHONG_PORTAL_URL", bad, N_OF(bad), "portal.url",
                   "expected an empty string or an http:// or https:// URL");
}

static void test_bool(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *text;
        bool value;
    } good[] = {{"true", true}, {"false", false}, {"1", true},    {"0", false},  {"yes", true},
                {"no", false},  {"on", true},     {"OFF", false}, {"TRUE", true}};

    for (size_t i = 0; i < N_OF(good); i++)
        env_reads("LIENTHONG_AUTH_REQUIRED", good[i].text, good[i].value, auth_required);
    env_fails("LIENTHONG_AUTH_REQUIRED=", "auth.required", "got \"\"");
    env_fails("LIENTHONG_AUTH_REQUIRED=2", "auth.required", "got \"2\"");
    /* In the file, booleans are JSON booleans. */
    load_fails(f, "{\"auth\": {\"required\": \"yes\"}}", no_env, "auth.required",
               "expected true or false, got \"yes\"");
    load_fails(f, "{\"auth\": {\"required\": 1}}", no_env, "auth.required",
               "expected true or false, got 1");
    load_fails(f, "{\"auth\": {\"required\": null}}", no_env, "auth.required", "got null");
}

static void test_enum(void **state)
{
    fixture *f = *state;
    lt_config cfg;

    env_ok("LIENTHONG_LOG_LEVEL=warn", &cfg);
    assert_int_equal(cfg.log.level, 2);
    lt_config_free(&cfg);
    env_ok("LIENTHONG_LOG_LEVEL=error", &cfg);
    assert_int_equal(cfg.log.level, 3);
    lt_config_free(&cfg);
    load_ok(f, "{\"log\": {\"level\": \"debug\"}, \"routing\": {\"model\": \"3-tier\"}}", no_env,
            &cfg);
    assert_int_equal(cfg.log.level, 0);
    assert_int_equal(cfg.routing.model, LT_ROUTING_3TIER);
    lt_config_free(&cfg);
    env_fails("LIENTHONG_LOG_LEVEL=verbose", "log.level",
              "expected one of debug, info, warn or error, got \"verbose\"");
    load_fails(f, "{\"routing\": {\"model\": \"4-tier\"}}", no_env, "routing.model",
               "expected one of auto, 3-tier or 2-tier, got \"4-tier\"");
    load_fails(f, "{\"log\": {\"level\": 2}}", no_env, "log.level", "got 2");
}

static void test_strings_and_paths(void **state)
{
    fixture *f = *state;
    lt_config cfg;

    load_ok(f,
            "{\"postgres\": {\"bin_dir\": \"\", \"user\": \"lienthong\"}, "
            "\"portal\": {\"username\": \"Ph\\u01b0\\u1eddng 1\"}}",
            no_env, &cfg);
    assert_string_equal(cfg.postgres.bin_dir, "");
    assert_string_equal(cfg.postgres.user, "lienthong");
    assert_string_equal(cfg.portal.username, "Ph\xc6\xb0\xe1\xbb\x9dng 1");
    lt_config_free(&cfg);
    load_fails(f, "{\"data_dir\": \"\"}", no_env, "data_dir",
               "expected a non-empty path, got \"\"");
    load_fails(f, "{\"data_dir\": 5}", no_env, "data_dir", "expected a non-empty path, got 5");
    load_fails(f, "{\"portal\": {\"agency\": \"a\\u0000b\"}}", no_env, "portal.agency",
               "expected a string");
    load_fails(f, "{\"portal\": {\"username\": [\"x\"]}}", no_env, "portal.username",
               "expected a string, got an array");
    /* A secret of the wrong type: only its kind is named. */
    load_fails(f, "{\"portal\": {\"password\": 123456}}", no_env, "portal.password",
               "expected a string, got an integer");
    env_fails("LIENTHONG_POSTGRES_USER=\xc3\x28", "postgres.user", "got \"\\xC3(\"");
}

/* ---- file structure errors ---------------------------------------------- */

static void test_unknown_keys(void **state)
{
    fixture *f = *state;

    load_fails(f, "{\"http\": {\"lisen\": \"x\"}}", no_env, "http.lisen",
               "unknown key (did you mean http.listen?)");
    load_fails(f, "{\"dat_dir\": \"x\"}", no_env, "dat_dir",
               "unknown key (did you mean data_dir?)");
    load_fails(f, "{\"htp\": {}}", no_env, "htp", "unknown key (did you mean http?)");
    load_fails(f, "{\"listen\": \"x\"}", no_env, "listen",
               "unknown key (did you mean http.listen?)");
    load_fails(f, "{\"portal\": {\"frobnicate\": 1}}", no_env, "portal.frobnicate", "unknown key");
    load_fails(f, "{\"frobnicate\": 1}", no_env, "frobnicate", "unknown key");
    /* "unknown key" alone when nothing is close. */
    {
        lt_config cfg;
        lt_config_error err;

        write_text(f->path, "{\"zzzzzzzzzz\": 1}");
        assert_int_equal(lt_config_load(&cfg, f->path, no_env, &err, NULL, 0), -1);
        assert_string_equal(err.message, "unknown key");
    }
    load_fails(f, "{\"http.listen\": \"1.2.3.4:5\"}", no_env, "http.listen",
               "sections are nested objects");
    load_fails(f, "{\"http\": {\"listen\": {\"x\": 1}}}", no_env, "http.listen", "got an object");
    load_fails(f, "{\"http\": {\"listen\": \"1.1.1.1:1\", \"x\": {\"y\": 1}}}", no_env, "http.x",
               "unknown key");
}

static void test_wrong_types(void **state)
{
    fixture *f = *state;

    load_fails(f, "{\"http\": \"127.0.0.1:8080\"}", no_env, "http",
               "expected an object (a section holding keys such as http.listen), got "
               "\"127.0.0.1:8080\"");
    load_fails(f, "{\"zmq\": [1]}", no_env, "zmq", "got an array");
    load_fails(f, "{\"database\": {\"connect_timeout\": 5}}", no_env, "database.connect_timeout",
               "expected a duration between 1s and 5m (a whole number with unit ms, s, m or h, "
               "e.g. \"5s\"), got 5");
    load_fails(f, "[1, 2]", no_env, "", "expected a JSON object at the top level, got an array");
}

static void test_out_of_range(void **state)
{
    fixture *f = *state;

    load_fails(f, "{\"database\": {\"health_interval\": \"2m\"}}", no_env,
               "database.health_interval", "expected a duration between 100ms and 1m, got \"2m\"");
    load_fails(f, "{\"http\": {\"max_body\": 99999999999999999999}}", no_env, "",
               "too big"); /* jansson rejects the literal itself */
    load_fails(f, "{\"http\": {\"max_body\": \"1GiB\", \"listen\": \"h:65536\"}}", no_env,
               "http.listen", "got \"h:65536\"");
}

static void test_comments_ignored(void **state)
{
    fixture *f = *state;
    lt_config cfg;

    load_ok(f,
            "{\"#\": \"top comment\", \"#data_dir\": {\"any\": [1, 2]},\n"
            " \"http\": {\"#\": \"section comment\", \"#listen\": 5, \"listen\": \"h:1\"},\n"
            " \"#unknown\": {\"not\": {\"checked\": true}}}",
            no_env, &cfg);
    assert_string_equal(cfg.http.listen, "h:1");
    assert_string_equal(cfg.data_dir, "./var");
    lt_config_free(&cfg);
}

static void test_invalid_json_position(void **state)
{
    fixture *f = *state;
    char want[256];

    snprintf(want, sizeof want, "%s:3:", f->path);
    load_fails(f, "{\n  \"data_dir\": \"x\",\n  \"http\": {\"listen\" \"h:1\"}\n}\n", no_env, "",
               want);
    /* Duplicate keys would silently override each other: rejected. */
    load_fails(f, "{\"data_dir\": \"a\",\n\"data_dir\": \"b\"}", no_env, "", "duplicate");
    load_fails(f, "", no_env, "", f->path);
}

/* ---- reload, copy, printing --------------------------------------------- */

static void test_reload(void **state)
{
    lt_config cur, next;
    char restart[256];
    char *envp[] = {
        "LIENTHONG_LOG_LEVEL=error",
        "LIENTHONG_HTTP_MAX_BODY=8MiB",
        "LIENTHONG_DATABASE_HEALTH_INTERVAL=5s",
        "LIENTHONG_HTTP_LISTEN=0.0.0.0:1",
        "LIENTHONG_PORTAL_PASSWORD=new",
        NULL,
    };
    lt_config_error err;

    (void)state;
    assert_int_equal(lt_config_init_defaults(&cur), 0);
    assert_int_equal(lt_config_load(&next, empty_file, envp, &err, NULL, 0), 0);

    memset(restart, 'x', sizeof restart);
    assert_int_equal(lt_config_apply_reload(&cur, &next, restart, sizeof restart), 3);
    assert_string_equal(restart, "http.listen,portal.password");
    assert_int_equal(cur.log.level, 3);
    assert_int_equal(cur.http.max_body, 8 << 20);
    assert_int_equal(cur.database.health_interval_ms, 5000);
    assert_string_equal(cur.http.listen, "127.0.0.1:8080"); /* needs a restart */
    assert_string_equal(cur.portal.password, "");

    /* Applying again changes nothing reloadable; restart keys still differ. */
    assert_int_equal(lt_config_apply_reload(&cur, &next, NULL, 0), 0);
    /* A short buffer is cut but terminated. */
    assert_int_equal(lt_config_apply_reload(&cur, &next, restart, 8), 0);
    assert_int_equal(strlen(restart), 7);
    assert_int_equal(lt_config_apply_reload(&cur, &next, restart, 1), 0);
    assert_string_equal(restart, "");

    lt_config_free(&cur);
    lt_config_free(&next);
}

static void test_copy_free(void **state)
{
    fixture *f = *state;
    lt_config a, b, zero;

    load_ok(f, "{\"portal\": {\"password\": \"p\", \"url\": \"http://portal\"}}", no_env, &a);
    assert_int_equal(lt_config_copy(&b, &a), 0);
    assert_config_equal(&a, &b);
    assert_ptr_not_equal(a.portal.password, b.portal.password);
    assert_ptr_not_equal(a.data_dir, b.data_dir);
    lt_config_free(&a); /* b must not depend on a (ASan sees a use after free) */
    assert_string_equal(b.portal.password, "p");
    assert_string_equal(b.portal.url, "http://portal");
    assert_string_equal(b.data_dir, "./var");
    lt_config_free(&b);
    lt_config_free(&b); /* safe twice: freed means zeroed */
    memset(&zero, 0, sizeof zero);
    lt_config_free(&zero);
    lt_config_free(NULL);
    /* Copying a zeroed struct gives a zeroed struct. */
    assert_int_equal(lt_config_copy(&b, &zero), 0);
    assert_null(b.data_dir);
    lt_config_free(&b);
}

/* Captures what a print function writes. */
static char *capture_table(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    assert_non_null(fp);
    lt_config_print_table(fp);
    assert_int_equal(fclose(fp), 0);
    return buf;
}

static void test_print_json(void **state)
{
    fixture *f = *state;
    lt_config cfg, back;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp;
    json_t *root;
    json_error_t jerr;

    load_ok(f, "{\"portal\": {\"password\": \"hunter2\"}, \"http\": {\"max_body\": 1500}}", no_env,
            &cfg);
    fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    lt_config_print_json(&cfg, fp);
    assert_int_equal(fclose(fp), 0);
    assert_null(strstr(buf, "hunter2"));
    root = json_loads(buf, 0, &jerr);
    assert_non_null(root);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(root, "portal"), "password")), "***");
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "log"), "level")),
                        "info");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "http"), "max_body")),
                     1500);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(root, "database"), "connect_timeout")),
        "5s");
    json_decref(root);

    /* The dump is a valid config file: loading it gives the same config
     * (apart from the hidden secret). */
    write_text(f->path, buf);
    free(buf);
    assert_int_equal(lt_config_load(&back, f->path, no_env, &(lt_config_error){0}, NULL, 0), 0);
    assert_string_equal(back.portal.password, "***");
    free(back.portal.password);
    back.portal.password = strdup("hunter2");
    assert_non_null(back.portal.password);
    assert_config_equal(&cfg, &back);
    lt_config_free(&back);
    lt_config_free(&cfg);
}

static void test_print_table(void **state)
{
    char *table = capture_table();

    (void)state;
    assert_non_null(
        strstr(table, "| key | environment variable | type | default | reload | meaning |\n"));
    assert_non_null(strstr(table, "| `data_dir` | `LIENTHONG_DATA_DIR` | path, non-empty | "
                                  "`./var` | no |"));
    assert_non_null(strstr(table, "| `portal.login_path` | `LIENTHONG_PORTAL_LOGIN_PATH` |"));
    assert_non_null(strstr(table, "| `http.max_body` | `LIENTHONG_HTTP_MAX_BODY` | size between "
                                  "1KiB and 1GiB | `4MiB` | yes |"));
    assert_non_null(strstr(table, "(secret, printed as `***`)"));
    free(table);
}

/* The shipped sample is the manual: it loads, it holds exactly the
 * defaults, and every key of the table appears in it with a "#key" comment
 * right beside it. */
static void test_sample_is_defaults(void **state)
{
    lt_config sample, defaults;
    lt_config_error err;
    char source[512];
    char *table, *line, *save = NULL;
    json_t *root;
    json_error_t jerr;
    int nkeys = 0;

    (void)state;
    if (lt_config_load(&sample, SAMPLE, no_env, &err, source, sizeof source) != 0)
        fail_msg("%s: key \"%s\": %s", SAMPLE, err.key, err.message);
    assert_string_equal(source, SAMPLE);
    assert_int_equal(lt_config_init_defaults(&defaults), 0);
    check_defaults(&sample);
    assert_config_equal(&sample, &defaults);
    lt_config_free(&sample);
    lt_config_free(&defaults);

    root = json_load_file(SAMPLE, 0, &jerr);
    assert_non_null(root);
    table = capture_table();
    for (line = strtok_r(table, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char key[128], comment[130];
        const char *start, *end, *dot;
        json_t *obj = root;

        if (strncmp(line, "| `", 3) != 0)
            continue;
        start = line + 3;
        end = strchr(start, '`');
        assert_non_null(end);
        snprintf(key, sizeof key, "%.*s", (int)(end - start), start);
        dot = strchr(key, '.');
        if (dot != NULL) {
            char section[128];

            snprintf(section, sizeof section, "%.*s", (int)(dot - key), key);
            obj = json_object_get(root, section);
            if (!json_is_object(obj))
                fail_msg("sample lacks section %s", section);
        }
        const char *name = dot != NULL ? dot + 1 : key;
        snprintf(comment, sizeof comment, "#%s", name);
        if (json_object_get(obj, name) == NULL)
            fail_msg("sample lacks key %s", key);
        if (!json_is_string(json_object_get(obj, comment)))
            fail_msg("sample lacks the comment of %s", key);
        nkeys++;
    }
    /* ...and the sample holds nothing the table does not list. */
    int nsample = 0;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (k[0] == '#')
            continue;
        if (!json_is_object(v)) {
            nsample++;
            continue;
        }
        const char *k2;
        json_t *v2;
        json_object_foreach(v, k2, v2) nsample += k2[0] != '#';
    }
    assert_true(nkeys > 0);
    assert_int_equal(nkeys, nsample);
    free(table);
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test_setup_teardown(test_no_file_means_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_overrides_file, setup, teardown),
        cmocka_unit_test(test_env_errors_name_variable),
        cmocka_unit_test(test_duration),
        cmocka_unit_test_setup_teardown(test_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen, setup, teardown),
        cmocka_unit_test(test_split_listen),
        cmocka_unit_test(test_zmq),
        cmocka_unit_test(test_zmq_curve),
        cmocka_unit_test(test_url),
        cmocka_unit_test_setup_teardown(test_bool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings_and_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comments_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_json_position, setup, teardown),
        cmocka_unit_test(test_reload),
        cmocka_unit_test_setup_teardown(test_copy_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_json, setup, teardown),
        cmocka_unit_test(test_print_table),
        cmocka_unit_test(test_sample_is_defaults),
    };

    int fd = mkstemp(empty_file);
    int failed;

    if (fd < 0 || write(fd, "{}", 2) != 2 || close(fd) != 0) {
        perror(empty_file);
        return 1;
    }
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(empty_file);
    return failed;
}
