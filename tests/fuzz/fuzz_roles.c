/* Fuzz target: the stored IAM roles of an account (iam/roles.c, the catalog setting "iam_roles",
 * read at start). Every input loads or is refused as damaged; a loaded table lists and gets
 * every role it holds. */
#include "catalog/catalog.h"
#include "core/common.h"
#include "iam/roles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[] = "/tmp/sl_fuzz_roles_XXXXXX";
static sl_catalog_t *cat;

static void cleanup(void) {
    char cmd[64];
    sl_catalog_close(cat);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!cat) {
        char path[64];
        if (!mkdtemp(dir)) abort();
        snprintf(path, sizeof path, "%s/catalog.db", dir);
        if (sl_catalog_open_sqlite(path, &cat) != 0) abort();
        atexit(cleanup);
    }
    if (sl_catalog_setting_put(cat, "iam_roles", data, size) != 0) abort();
    sl_iam_roles_t *r = NULL;
    if (sl_iam_roles_create(&r) != 0) abort();
    int rc = sl_iam_roles_load(r, "000000000000", cat);
    if (rc == 0) {
        sl_iam_role_t *roles = calloc(SL_IAM_ROLES_MAX, sizeof *roles);
        sl_iam_role_t one;
        bool more;
        size_t n = sl_iam_role_list(r, "000000000000", "", roles, SL_IAM_ROLES_MAX, &more);
        for (size_t i = 0; i < n; i++)
            if (sl_iam_role_get(r, "000000000000", roles[i].name, &one) != 0) abort();
        free(roles);
    } else if (rc != SL_ECORRUPT && rc != SL_ENOMEM) {
        abort();
    }
    sl_iam_roles_destroy(r);
    return 0;
}
