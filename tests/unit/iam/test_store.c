/* Unit tests of the IAM store (iam/store.c): the master key file (created 0600, read back, refused
 * when malformed), users, keys and policies written through to a real catalog and loaded again,
 * and a secret that does not unwrap under another master key. */
#include "test.h"

#include "catalog/catalog.h"
#include "core/common.h"
#include "iam/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/sl_test_iam_store_XXXXXX";

static void test_master_key(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/master.key", dir);
    uint8_t a[32], b[32];
    CHECK_EQ_INT(sl_iam_master_key_load(path, a), 0); /* created */
    struct stat st;
    CHECK_EQ_INT(stat(path, &st), 0);
    CHECK_EQ_INT((int)(st.st_mode & 0777), 0600);
    CHECK_EQ_INT(sl_iam_master_key_load(path, b), 0); /* read back */
    CHECK(memcmp(a, b, 32) == 0);
    char bad[300];
    snprintf(bad, sizeof bad, "%s/bad.key", dir);
    FILE *f = fopen(bad, "w");
    fputs("not a key\n", f);
    fclose(f);
    CHECK_EQ_INT(sl_iam_master_key_load(bad, b), SL_EINVAL);
    unlink(bad);
}

int main(void) {
    CHECK(mkdtemp(dir) != NULL);
    test_master_key();
    char path[300];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    sl_catalog_t *cat = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(path, &cat), 0);
    sl_iam_account_t acct = {"111122223333", cat};
    uint8_t master[32] = {1, 2, 3};
    sl_iam_store_t *s;
    CHECK_EQ_INT(sl_iam_store_create(master, &s), 0);
    sl_iam_user_t u;
    CHECK_EQ_INT(sl_iam_user_create(s, &acct, "bob", 1000, &u), 0);
    CHECK_EQ_INT(sl_iam_user_create(s, &acct, "bob", 1000, &u), SL_EEXIST);
    sl_iam_key_t k, k2, k3;
    CHECK_EQ_INT(sl_iam_key_create(s, &acct, "nobody", 1, &k), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_iam_key_create(s, &acct, "bob", 2000, &k), 0);
    CHECK_EQ_INT((int)strlen(k.secret), 40);
    CHECK_EQ_INT(sl_iam_key_create(s, &acct, "bob", 2001, &k2), 0);
    CHECK_EQ_INT(sl_iam_key_create(s, &acct, "bob", 2002, &k3), SL_ELIMIT);
    CHECK_EQ_INT(sl_iam_policy_put(s, &acct, "bob", "p", "{}"), 0);
    sl_iam_principal_t p;
    CHECK_EQ_INT(sl_iam_store_lookup(s, k.access_key_id, &p), 0);
    CHECK_EQ_STR(p.secret, k.secret);
    CHECK_EQ_STR(p.account_id, "111122223333");
    CHECK_EQ_STR(p.user_name, "bob");
    CHECK_EQ_INT(sl_iam_key_update(s, &acct, "bob", k2.access_key_id, false), 0);
    CHECK_EQ_INT(sl_iam_store_lookup(s, k2.access_key_id, &p), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_iam_user_delete(s, &acct, "bob"), SL_EEXIST);
    sl_iam_store_destroy(s);

    /* Loaded again under the same master key: the same principals. */
    CHECK_EQ_INT(sl_iam_store_create(master, &s), 0);
    CHECK_EQ_INT(sl_iam_store_load(s, &acct), 0);
    CHECK_EQ_INT(sl_iam_store_lookup(s, k.access_key_id, &p), 0);
    CHECK_EQ_STR(p.secret, k.secret);
    CHECK_EQ_INT(sl_iam_store_lookup(s, k2.access_key_id, &p), SL_ENOTFOUND); /* inactive */
    char *doc = NULL;
    CHECK_EQ_INT(sl_iam_policy_get(s, &acct, "bob", "p", &doc), 0);
    CHECK_EQ_STR(doc, "{}");
    free(doc);
    sl_iam_store_destroy(s);

    /* Another master key: the users load, the keys do not unwrap and are left out. */
    uint8_t other[32] = {9};
    CHECK_EQ_INT(sl_iam_store_create(other, &s), 0);
    CHECK_EQ_INT(sl_iam_store_load(s, &acct), 0);
    CHECK_EQ_INT(sl_iam_user_get(s, &acct, "bob", &u), 0);
    CHECK_EQ_INT(sl_iam_store_lookup(s, k.access_key_id, &p), SL_ENOTFOUND);
    sl_iam_store_destroy(s);
    sl_catalog_close(cat);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
    TEST_MAIN_END();
}
