/* The catalog's IAM rows (schema version 3): users, access keys with their wrapped secrets, inline
 * user policies; put, replace, delete, load, and what survives a reopen. */
#include "catalog/catalog.h"
#include "core/common.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/sl_test_catalog_iam_XXXXXX";

typedef struct {
    int users, keys, policies;
    char key_status[16];
    char doc[64];
    uint8_t secret[8];
    size_t secret_len;
} seen_t;

static void on_user(void *arg, const sl_cat_iam_user_t *u) {
    seen_t *s = arg;
    s->users++;
    CHECK(strncmp(u->user_id, "AIDA", 4) == 0);
}

static void on_key(void *arg, const sl_cat_iam_key_t *k) {
    seen_t *s = arg;
    s->keys++;
    snprintf(s->key_status, sizeof s->key_status, "%s", k->status);
    s->secret_len = k->secret_wrapped_len;
    if (k->secret_wrapped_len <= sizeof s->secret)
        memcpy(s->secret, k->secret_wrapped, k->secret_wrapped_len);
}

static void on_policy(void *arg, const sl_cat_iam_policy_t *p) {
    seen_t *s = arg;
    s->policies++;
    snprintf(s->doc, sizeof s->doc, "%s", p->document);
}

static seen_t load(sl_catalog_t *c) {
    seen_t s = {0};
    sl_catalog_visitor_t v = {.iam_user = on_user, .iam_key = on_key, .iam_policy = on_policy};
    CHECK_EQ_INT(sl_catalog_load(c, &v, &s), 0);
    return s;
}

int main(void) {
    CHECK(mkdtemp(dir) != NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    sl_catalog_t *c = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(path, &c), 0);
    sl_cat_iam_user_t u = {"bob", "AIDAEXAMPLE000000001", 1000};
    CHECK_EQ_INT(sl_catalog_iam_user_put(c, &u), 0);
    CHECK_EQ_INT(sl_catalog_iam_user_put(c, &u), SL_EEXIST);
    const uint8_t wrapped[6] = {1, 2, 0, 4, 5, 6};
    sl_cat_iam_key_t k = {"AKIAEXAMPLE", "bob", "Active", wrapped, sizeof wrapped, 2000};
    CHECK_EQ_INT(sl_catalog_iam_key_put(c, &k), 0);
    /* A key of a user that does not exist: the foreign key refuses it. */
    sl_cat_iam_key_t orphan = {"AKIAORPHAN", "nobody", "Active", wrapped, sizeof wrapped, 1};
    CHECK_EQ_INT(sl_catalog_iam_key_put(c, &orphan), SL_ENOTFOUND);
    /* The upsert changes the status and keeps the stored secret. */
    const uint8_t other[2] = {9, 9};
    sl_cat_iam_key_t inactive = {"AKIAEXAMPLE", "bob", "Inactive", other, sizeof other, 2000};
    CHECK_EQ_INT(sl_catalog_iam_key_put(c, &inactive), 0);
    sl_cat_iam_policy_t p = {"bob", "p1", "{\"a\":1}"};
    CHECK_EQ_INT(sl_catalog_iam_policy_put(c, &p), 0);
    p.document = "{\"b\":2}";
    CHECK_EQ_INT(sl_catalog_iam_policy_put(c, &p), 0);
    seen_t s = load(c);
    CHECK_EQ_INT(s.users, 1);
    CHECK_EQ_INT(s.keys, 1);
    CHECK_EQ_INT(s.policies, 1);
    CHECK_EQ_STR(s.key_status, "Inactive");
    CHECK_EQ_INT((int)s.secret_len, 6);
    CHECK(memcmp(s.secret, wrapped, 6) == 0);
    CHECK_EQ_STR(s.doc, "{\"b\":2}");
    sl_catalog_close(c);

    /* Reopen: everything is there; deletes report what was absent. */
    CHECK_EQ_INT(sl_catalog_open_sqlite(path, &c), 0);
    s = load(c);
    CHECK_EQ_INT(s.users + s.keys + s.policies, 3);
    CHECK_EQ_INT(sl_catalog_iam_policy_delete(c, "bob", "p1"), 0);
    CHECK_EQ_INT(sl_catalog_iam_policy_delete(c, "bob", "p1"), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_catalog_iam_key_delete(c, "AKIAEXAMPLE"), 0);
    CHECK_EQ_INT(sl_catalog_iam_key_delete(c, "AKIAEXAMPLE"), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_catalog_iam_user_delete(c, "bob"), 0);
    CHECK_EQ_INT(sl_catalog_iam_user_delete(c, "bob"), SL_ENOTFOUND);
    s = load(c);
    CHECK_EQ_INT(s.users + s.keys + s.policies, 0);
    sl_catalog_close(c);
    unlink(path);
    char wal[320];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);
    TEST_MAIN_END();
}
