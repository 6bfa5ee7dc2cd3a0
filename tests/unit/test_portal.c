/* Unit tests for lt_portal: how answers are judged (codes as numbers or
 * text, "0"/"00", a 200 with another code, 4xx/5xx/408/429/transport), the
 * Idempotency-Key of one event and of a batch, the sync body built through
 * the portal-national dialect, and a whole send against a small portal
 * served in the test (session expiry, then a new login) with every log line
 * captured: the password appears in none. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lt_config.h"
#include "lt_curlm.h"
#include "lt_log.h"
#include "lt_loop.h"
#include "lt_portal.h"

#define DIALECT  LT_SOURCE_DIR "/adapters/dialects/portal-national.json"
#define RECORD   LT_SOURCE_DIR "/adapters/dialects/examples/canonical/01-dang-xu-ly.canonical.json"
#define PASSWORD "s3cret-Pa55word"

typedef struct fixture {
    lt_config cfg;
    lt_dialect *d;
    lt_portal *p;
} fixture;

static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof(f));
    char err[512];
    if (lt_config_init_defaults(&f.cfg) < 0)
        return -1;
    free(f.cfg.portal.url);
    f.cfg.portal.url = strdup("http://127.0.0.1:1");
    free(f.cfg.portal.agency);
    f.cfg.portal.agency = strdup("000.00.00.H56");
    f.cfg.portal.batch_size = 10;
    f.d = lt_dialect_load_file(DIALECT, err, sizeof(err));
    f.p = f.d ? lt_portal_new(NULL, NULL, &f.cfg, f.d) : NULL;
    *state = &f;
    return f.p ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lt_portal_destroy(&f->p);
    lt_dialect_destroy(&f->d);
    lt_config_free(&f->cfg);
    return 0;
}

static lt_portal_answer judge(const lt_portal *p, long status, const char *body, char code[16])
{
    char why[256];
    return lt_portal_judge(p, 0, status, body, strlen(body), code, why, sizeof(why));
}

static void test_judge_codes(void **state)
{
    fixture *f = *state;
    char code[16];
    assert_int_equal(judge(f->p, 200, "{\"error_code\": \"0\"}", code), LT_PORTAL_ANS_OK);
    assert_string_equal(code, "0");
    assert_int_equal(judge(f->p, 200, "{\"error_code\": 0, \"message\": \"ok\"}", code),
                     LT_PORTAL_ANS_OK);
    assert_string_equal(code, "0");
    assert_int_equal(judge(f->p, 200, "{\"error_code\": \"00\"}", code), LT_PORTAL_ANS_OK);
    assert_int_equal(judge(f->p, 200, "{\"error_code\": \"-1\"}", code), LT_PORTAL_ANS_EXPIRED);
    assert_int_equal(judge(f->p, 200, "{\"error_code\": -1}", code), LT_PORTAL_ANS_EXPIRED);
    assert_string_equal(code, "-1");
    assert_int_equal(judge(f->p, 200, "{\"error_code\": 2}", code), LT_PORTAL_ANS_EXISTS);
    /* A 200 with a code that is not success is not a delivery. */
    assert_int_equal(judge(f->p, 200, "{\"error_code\": \"3\"}", code), LT_PORTAL_ANS_REJECTED);
    assert_string_equal(code, "3");
    assert_int_equal(judge(f->p, 200, "{\"error_code\": 1}", code), LT_PORTAL_ANS_REJECTED);
    assert_int_equal(judge(f->p, 200, "{\"error_code\": \"4\"}", code), LT_PORTAL_ANS_REJECTED);
    /* "000" is not "0" nor "00": codes compare as text. */
    assert_int_equal(judge(f->p, 200, "{\"error_code\": \"000\"}", code), LT_PORTAL_ANS_REJECTED);
    assert_int_equal(judge(f->p, 200, "{\"message\": \"ok\"}", code), LT_PORTAL_ANS_REJECTED);
    assert_string_equal(code, "");
    assert_int_equal(judge(f->p, 200, "<html>ok</html>", code), LT_PORTAL_ANS_REJECTED);
    assert_int_equal(judge(f->p, 200, "", code), LT_PORTAL_ANS_REJECTED);
}

static void test_judge_http(void **state)
{
    fixture *f = *state;
    char code[16], why[256];
    const char *ok = "{\"error_code\": \"0\"}";
    assert_int_equal(judge(f->p, 408, ok, code), LT_PORTAL_ANS_RETRY);
    assert_int_equal(judge(f->p, 429, ok, code), LT_PORTAL_ANS_RETRY);
    assert_int_equal(judge(f->p, 500, ok, code), LT_PORTAL_ANS_RETRY);
    assert_int_equal(judge(f->p, 503, "", code), LT_PORTAL_ANS_RETRY);
    assert_int_equal(judge(f->p, 400, ok, code), LT_PORTAL_ANS_REJECTED);
    assert_int_equal(judge(f->p, 401, ok, code), LT_PORTAL_ANS_REJECTED);
    assert_int_equal(judge(f->p, 404, ok, code), LT_PORTAL_ANS_REJECTED);
    assert_int_equal(judge(f->p, 302, ok, code), LT_PORTAL_ANS_REJECTED);
    assert_int_equal(lt_portal_judge(f->p, 7, 0, "", 0, code, why, sizeof(why)),
                     LT_PORTAL_ANS_RETRY);
    assert_int_equal(lt_portal_judge(f->p, 28, 0, "", 0, code, why, sizeof(why)),
                     LT_PORTAL_ANS_RETRY);
}

/* The codes are the portal's configuration. */
static void test_judge_configured_codes(void **state)
{
    fixture *f = *state;
    lt_config cfg;
    assert_int_equal(lt_config_copy(&cfg, &f->cfg), 0);
    free(cfg.portal.success_codes);
    cfg.portal.success_codes = strdup(" 1 ,OK");
    free(cfg.portal.exists_codes);
    cfg.portal.exists_codes = strdup("409");
    lt_portal *p = lt_portal_new(NULL, NULL, &cfg, f->d);
    assert_non_null(p);
    char code[16];
    assert_int_equal(judge(p, 200, "{\"error_code\": 1}", code), LT_PORTAL_ANS_OK);
    assert_int_equal(judge(p, 200, "{\"error_code\": \"OK\"}", code), LT_PORTAL_ANS_OK);
    assert_int_equal(judge(p, 200, "{\"error_code\": \"0\"}", code), LT_PORTAL_ANS_REJECTED);
    assert_int_equal(judge(p, 200, "{\"error_code\": 409}", code), LT_PORTAL_ANS_EXISTS);
    assert_int_equal(judge(p, 200, "{\"error_code\": 2}", code), LT_PORTAL_ANS_REJECTED);
    lt_portal_destroy(&p);
    assert_null(p);
    lt_config_free(&cfg);
}

static void test_keys(void **state)
{
    (void)state;
    char k1[64], k2[64], k3[64];
    lt_portal_item one = {.event_seq = 4217};
    lt_portal_key(&one, 1, k1, sizeof(k1));
    assert_string_equal(k1, "lt-4217");
    lt_portal_item a[10], b[10];
    for (int i = 0; i < 10; i++) {
        a[i] = (lt_portal_item){.event_seq = 100 + i};
        b[9 - i] = a[i];
    }
    lt_portal_key(a, 10, k1, sizeof(k1));
    lt_portal_key(b, 10, k2, sizeof(k2));
    assert_string_equal(k1, k2); /* the same events, the same key */
    assert_int_equal(strncmp(k1, "lt-b-", 5), 0);
    assert_int_equal(strlen(k1), 5 + 32);
    a[9].event_seq = 200;
    lt_portal_key(a, 10, k3, sizeof(k3));
    assert_string_not_equal(k1, k3);
    /* {1, 23} and {12, 3} must not collide through concatenation. */
    lt_portal_item x[2] = {{.event_seq = 1}, {.event_seq = 23}};
    lt_portal_item y[2] = {{.event_seq = 12}, {.event_seq = 3}};
    lt_portal_key(x, 2, k1, sizeof(k1));
    lt_portal_key(y, 2, k2, sizeof(k2));
    assert_string_not_equal(k1, k2);
}

static char *read_all(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void test_body_through_dialect(void **state)
{
    fixture *f = *state;
    char *text = read_all(RECORD);
    assert_non_null(text);
    json_t *canon = json_loads(text, 0, NULL);
    assert_non_null(canon);
    /* An unknown processing time is filled with the time of sending: the
     * portal refuses history entries without one. */
    json_t *h0 = json_array_get(json_object_get(canon, "QuaTrinhXuLy"), 0);
    json_object_set_new(h0, "ThoiDiemXuLy", json_string(""));
    char *canon_text = json_dumps(canon, 0);
    char why[256];
    json_t *rec = lt_portal_map_record(f->p, canon_text, "20240102030405", why, sizeof(why));
    assert_non_null(rec);
    const json_t *h = json_array_get(json_object_get(rec, "QuaTrinhXuLy"), 0);
    assert_string_equal(json_string_value(json_object_get(h, "ThoiDiemXuLy")), "20240102030405");
    assert_string_equal(json_string_value(json_object_get(rec, "MaHoSo")),
                        "000.00.06.H56-231027-0361");
    assert_string_equal(json_string_value(json_object_get(rec, "NgayTiepNhan")), "20231027083000");
    json_t *data = json_array();
    json_array_append_new(data, rec);
    json_t *body = lt_portal_sync_body(f->p, "ses-1", "DongBoHoSoMC", true, data);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "session")), "ses-1");
    assert_string_equal(json_string_value(json_object_get(body, "madonvi")), "000.00.00.H56");
    assert_string_equal(json_string_value(json_object_get(body, "service")), "DongBoHoSoMC");
    /* The text "True", never a JSON boolean. */
    assert_string_equal(json_string_value(json_object_get(body, "isUpdating")), "True");
    assert_int_equal(json_array_size(json_object_get(body, "data")), 1);
    json_decref(body);
    body = lt_portal_sync_body(f->p, "ses-1", "DongBoHoSoMC", false, json_array());
    assert_string_equal(json_string_value(json_object_get(body, "isUpdating")), "False");
    json_decref(body);
    /* Not a record: refused before any call. */
    assert_null(lt_portal_map_record(f->p, "[1]", "20240102030405", why, sizeof(why)));
    assert_null(lt_portal_map_record(f->p, "{", "20240102030405", why, sizeof(why)));
    free(canon_text);
    json_decref(canon);
    free(text);
}

/* ---- a whole send against a small portal -------------------------------- */

static atomic_int logins, syncs;

typedef struct upload {
    char buf[65536];
    size_t len;
} upload;

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **req_cls)
{
    (void)cls, (void)method, (void)version;
    upload *u = *req_cls;
    if (!u) {
        *req_cls = calloc(1, sizeof(upload));
        return MHD_YES;
    }
    if (*data_size) {
        size_t n =
            *data_size < sizeof(u->buf) - 1 - u->len ? *data_size : sizeof(u->buf) - 1 - u->len;
        memcpy(u->buf + u->len, data, n);
        u->len += n;
        *data_size = 0;
        return MHD_YES;
    }
    char out[256];
    if (strcmp(url, "/login") == 0) {
        int n = atomic_fetch_add(&logins, 1) + 1;
        snprintf(out, sizeof(out), "{\"error_code\": 0, \"session\": \"ses-%d\"}", n);
    } else {
        /* The first sync call finds its session expired; the next one,
         * after a new login, is taken. */
        int n = atomic_fetch_add(&syncs, 1) + 1;
        const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
        bool ok = key && strcmp(key, "lt-77") == 0 && strstr(u->buf, "\"isUpdating\":\"False\"");
        snprintf(out, sizeof(out), "{\"error_code\": \"%s\", \"message\": \"m\"}",
                 n == 1 ? "-1"
                 : ok   ? "00"
                        : "3");
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(out), out, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return rc;
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    free(*req_cls);
    *req_cls = NULL;
}

typedef struct outcome {
    lt_loop *loop;
    lt_portal_result r;
    size_t n;
} outcome;

static void on_sent(const lt_portal_result *res, size_t n, void *arg)
{
    outcome *o = arg;
    o->n = n;
    o->r = res[0];
    o->r.answer = NULL; /* freed after the callback */
    lt_loop_stop(o->loop);
}

static void test_send_relogin_no_password_logged(void **state)
{
    fixture *f = *state;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, answer, NULL, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    assert_non_null(d);
    int port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    lt_config cfg;
    assert_int_equal(lt_config_copy(&cfg, &f->cfg), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    free(cfg.portal.url);
    cfg.portal.url = strdup(url);
    free(cfg.portal.username);
    cfg.portal.username = strdup("lienthong");
    free(cfg.portal.password);
    cfg.portal.password = strdup(PASSWORD);

    char logpath[] = "/tmp/test_portal_log_XXXXXX";
    int fd = mkstemp(logpath);
    assert_true(fd >= 0);
    lt_log_set_fd(fd);
    lt_log_set_level(LT_LOG_DEBUG);

    lt_loop *loop = lt_loop_new();
    lt_curlm *curl = lt_curlm_new(loop, &(lt_curlm_opts){.timeout_ms = 10000});
    lt_portal *p = lt_portal_new(loop, curl, &cfg, f->d);
    assert_non_null(p);
    char *text = read_all(RECORD);
    lt_portal_item item = {
        .event_seq = 77, .dossier_code = "000.00.06.H56-231027-0361", .record = text};
    outcome o = {.loop = loop};
    assert_int_equal(lt_portal_send(p, &item, 1, on_sent, &o), 0);
    assert_int_equal(lt_portal_send(p, &item, 1, on_sent, &o), -1); /* one at a time */
    assert_int_equal(lt_loop_run(loop), 0);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.r.verdict, LT_PORTAL_DELIVERED);
    assert_string_equal(o.r.error_code, "00");
    assert_int_equal(atomic_load(&logins), 2);
    assert_int_equal(atomic_load(&syncs), 2);
    assert_false(lt_portal_busy(p));

    lt_portal_destroy(&p);
    lt_curlm_destroy(&curl);
    lt_loop_destroy(&loop);
    lt_log_set_fd(2);
    close(fd);
    char *log = read_all(logpath);
    unlink(logpath);
    assert_non_null(log);
    assert_non_null(strstr(log, "logged in"));
    assert_non_null(strstr(log, "expired"));
    assert_null(strstr(log, PASSWORD));
    free(log);
    free(text);
    lt_config_free(&cfg);
    MHD_stop_daemon(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge_codes),
        cmocka_unit_test(test_judge_http),
        cmocka_unit_test(test_judge_configured_codes),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_body_through_dialect),
        cmocka_unit_test(test_send_relogin_no_password_logged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
