/* Unit tests of KMS (kms/kms.c) over a real catalog: keys and aliases written through and loaded
 * again by a new instance, AWS's errors and texts for states, Encrypt/Decrypt with encryption
 * contexts, data keys unwrapped whatever the key's state, deletion once the waiting period
 * ended, and keys that do not unwrap under another master key. */
#include "test.h"

#include "catalog/catalog.h"
#include "core/common.h"
#include "kms/kms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ACCT "111122223333"
#define DAY_MS (86400 * INT64_C(1000))

static char dir[] = "/tmp/sl_test_kms_XXXXXX";
static const uint8_t master[32] = {1, 2, 3};

static void test_context(void) {
    char ctx[64] = "";
    CHECK(sl_kms_context_add(ctx, sizeof ctx, "b", "2"));
    CHECK(sl_kms_context_add(ctx, sizeof ctx, "a", "1"));
    CHECK(sl_kms_context_add(ctx, sizeof ctx, "c", "3"));
    CHECK_EQ_STR(ctx, "a\x1f"
                      "1\x1e"
                      "b\x1f"
                      "2\x1e"
                      "c\x1f"
                      "3\x1e");
    char small[8] = "";
    CHECK(!sl_kms_context_add(small, sizeof small, "key", "value"));
}

int main(void) {
    CHECK(mkdtemp(dir) != NULL);
    test_context();
    char path[300];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    sl_catalog_t *cat = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(path, &cat), 0);
    sl_kms_t *kms = NULL;
    CHECK_EQ_INT(sl_kms_create(master, "us-east-1", &kms), 0);
    CHECK_EQ_INT(sl_kms_load(kms, ACCT, cat), 0);

    sl_kms_key_info_t k, d;
    sl_kms_err_t err = {0};
    int64_t now = 1700000000000;
    CHECK(sl_kms_create_key(kms, ACCT, "first", now, &k, &err));
    char arn[200];
    snprintf(arn, sizeof arn, "arn:aws:kms:us-east-1:" ACCT ":key/%s", k.id);
    CHECK_EQ_STR(k.arn, arn);
    CHECK(sl_kms_create_alias(kms, ACCT, "alias/orders", k.id, now, &err));
    CHECK(!sl_kms_create_alias(kms, ACCT, "alias/orders", k.id, now, &err));
    CHECK_EQ_STR(err.type, "AlreadyExistsException");
    CHECK(!sl_kms_create_alias(kms, ACCT, "orders", k.id, now, &err));
    CHECK_EQ_STR(err.type, "ValidationException");
    CHECK(sl_kms_describe(kms, ACCT, "arn:aws:kms:us-east-1:" ACCT ":alias/orders", now, &d, &err));
    CHECK_EQ_STR(d.id, k.id);
    CHECK(
        !sl_kms_describe(kms, ACCT, "arn:aws:kms:eu-west-1:" ACCT ":alias/orders", now, &d, &err));
    CHECK_EQ_STR(err.type, "NotFoundException");

    /* Encrypt / Decrypt with a context */
    uint8_t *blob = NULL, *plain = NULL;
    size_t blob_len = 0, plain_len = 0;
    char ctx[64] = "", out_arn[SL_KMS_ARN_BYTES_MAX];
    sl_kms_context_add(ctx, sizeof ctx, "stream", "s1");
    CHECK(sl_kms_encrypt(kms, ACCT, "alias/orders", (const uint8_t *)"hello", 5, ctx, now, &blob,
                         &blob_len, out_arn, &err));
    CHECK_EQ_INT((int)blob_len, 5 + SL_KMS_BLOB_OVERHEAD);
    CHECK(!sl_kms_decrypt(kms, ACCT, blob, blob_len, NULL, NULL, now, &plain, &plain_len, out_arn,
                          &err));
    CHECK_EQ_STR(err.type, "InvalidCiphertextException");
    CHECK(sl_kms_decrypt(kms, ACCT, blob, blob_len, NULL, ctx, now, &plain, &plain_len, out_arn,
                         &err));
    CHECK(plain_len == 5 && memcmp(plain, "hello", 5) == 0);
    free(plain);
    blob[blob_len - 1] ^= 1;
    CHECK(!sl_kms_decrypt(kms, ACCT, blob, blob_len, NULL, ctx, now, &plain, &plain_len, out_arn,
                          &err));
    blob[blob_len - 1] ^= 1;

    /* a data key unwraps whatever the state; usable() reports the state */
    uint8_t dk[32], dk2[32];
    uint8_t *dblob = NULL;
    size_t dblob_len = 0;
    CHECK(sl_kms_generate_data_key(kms, ACCT, k.id, 32, ctx, now, dk, &dblob, &dblob_len, out_arn,
                                   &err));
    CHECK(sl_kms_set_enabled(kms, ACCT, k.id, false, now, &err));
    CHECK(!sl_kms_usable(kms, ACCT, k.arn, now, &err));
    CHECK_EQ_STR(err.type, "DisabledException");
    char msg[300];
    snprintf(msg, sizeof msg, "%s is disabled.", arn);
    CHECK_EQ_STR(err.message, msg);
    CHECK(sl_kms_unwrap_data_key(kms, ACCT, dblob, dblob_len, ctx, dk2, 32));
    CHECK(memcmp(dk, dk2, 32) == 0);
    CHECK(sl_kms_set_enabled(kms, ACCT, k.id, true, now, &err));

    /* a second instance loads what the first wrote */
    sl_kms_key_info_t k2;
    CHECK(sl_kms_create_key(kms, ACCT, "second", now, &k2, &err));
    CHECK(sl_kms_schedule_deletion(kms, ACCT, k2.id, 7, now, &d, &err));
    sl_kms_destroy(kms);
    CHECK_EQ_INT(sl_kms_create(master, "us-east-1", &kms), 0);
    CHECK_EQ_INT(sl_kms_load(kms, ACCT, cat), 0);
    CHECK(sl_kms_describe(kms, ACCT, "alias/orders", now, &d, &err));
    CHECK_EQ_STR(d.description, "first");
    CHECK(sl_kms_decrypt(kms, ACCT, blob, blob_len, k.id, ctx, now, &plain, &plain_len, out_arn,
                         &err));
    free(plain);
    CHECK(sl_kms_describe(kms, ACCT, k2.id, now, &d, &err));
    CHECK(d.state == SL_KMS_PENDING_DELETION);
    sl_kms_key_info_t list[4];
    bool more;
    CHECK_EQ_INT((int)sl_kms_list_keys(kms, ACCT, "", now, list, 4, &more), 2);
    /* the waiting period ends: the key is gone */
    CHECK(!sl_kms_describe(kms, ACCT, k2.id, now + 8 * DAY_MS, &d, &err));
    CHECK_EQ_STR(err.type, "NotFoundException");
    CHECK_EQ_INT((int)sl_kms_list_keys(kms, ACCT, "", now, list, 4, &more), 1);
    sl_kms_destroy(kms);

    /* another master key: the keys do not unwrap and are left out */
    uint8_t other[32] = {9};
    CHECK_EQ_INT(sl_kms_create(other, "us-east-1", &kms), 0);
    CHECK_EQ_INT(sl_kms_load(kms, ACCT, cat), 0);
    CHECK(!sl_kms_describe(kms, ACCT, k.id, now, &d, &err));
    sl_kms_destroy(kms);

    free(blob);
    free(dblob);
    sl_catalog_close(cat);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
    TEST_MAIN_END();
}
