/* lt_zap's key files: a written pair reads back (the public key derived
 * from the secret), the directories are made, a file others may read and a
 * file that is not a key are refused; revoked keys are remembered. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "lt_actor.h"
#include "lt_zap.h"

static char dir[] = "/tmp/lt-test-zap.XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_write_read(void **state)
{
    (void)state;
    char pub[LT_ZAP_KEY_LEN + 1], sec[LT_ZAP_KEY_LEN + 1], err[512];
    char rsec[LT_ZAP_KEY_LEN + 1], rpub[LT_ZAP_KEY_LEN + 1], path[256], pubpath[256];
    struct stat st;
    assert_int_equal(lt_zap_keypair(pub, sec), 0);
    assert_int_equal(strlen(pub), LT_ZAP_KEY_LEN);
    snprintf(path, sizeof(path), "%s/a/b/server.key", dir);
    if (lt_zap_key_write(path, pub, sec, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(pubpath, sizeof(pubpath), "%s/a/b/server.pub", dir);
    assert_int_equal(stat(pubpath, &st), 0);
    if (lt_zap_key_read(path, rsec, rpub, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_string_equal(rsec, sec);
    assert_string_equal(rpub, pub);

    /* Rotation replaces the pair. */
    char pub2[LT_ZAP_KEY_LEN + 1], sec2[LT_ZAP_KEY_LEN + 1];
    assert_int_equal(lt_zap_keypair(pub2, sec2), 0);
    assert_int_equal(lt_zap_key_write(path, pub2, sec2, err, sizeof(err)), 0);
    assert_int_equal(lt_zap_key_read(path, rsec, rpub, err, sizeof(err)), 0);
    assert_string_equal(rpub, pub2);

    /* Readable by others: refused, like ssh. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(lt_zap_key_read(path, rsec, rpub, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "chmod 600"));

    /* Not a key. */
    snprintf(path, sizeof(path), "%s/junk.key", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a key\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(lt_zap_key_read(path, rsec, rpub, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Z85"));

    snprintf(path, sizeof(path), "%s/missing.key", dir);
    assert_int_equal(lt_zap_key_read(path, rsec, rpub, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "lienthong keygen"));
}

static void test_revoked(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *pub = zmq_socket(ctx, ZMQ_PUB);
    assert_int_equal(zmq_bind(pub, LT_ZAP_REVOKED_ENDPOINT), 0);
    lt_zap_revoked *r = lt_zap_revoked_new(ctx);
    assert_non_null(r);
    char k1[LT_ZAP_KEY_LEN + 1], s1[LT_ZAP_KEY_LEN + 1], k2[LT_ZAP_KEY_LEN + 1];
    assert_int_equal(lt_zap_keypair(k1, s1), 0);
    assert_int_equal(lt_zap_keypair(k2, s1), 0);
    assert_false(lt_zap_revoked_has(r, k1));
    /* inproc subscriptions travel asynchronously: send until one arrives. */
    for (int i = 0; i < 200 && !lt_zap_revoked_has(r, k1); i++) {
        assert_int_equal(lt_msg_send(pub, "revoked", k1, NULL), 0);
        zmq_pollitem_t it = {.socket = lt_zap_revoked_socket(r), .events = ZMQ_POLLIN};
        if (zmq_poll(&it, 1, 10) > 0)
            lt_zap_revoked_read(r);
    }
    assert_true(lt_zap_revoked_has(r, k1));
    assert_false(lt_zap_revoked_has(r, k2));
    lt_zap_revoked_destroy(&r);
    assert_null(r);
    zmq_close(pub);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_read),
        cmocka_unit_test(test_revoked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
