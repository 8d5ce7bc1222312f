/* Fuzz target: KMS's parsers of bytes it did not write itself in this process: the stored state
 * of an account (the catalog setting "kms", read at start) and ciphertext blobs (Decrypt's
 * CiphertextBlob, from the network). A state either loads (and every key then describes) or is
 * refused as damaged; a blob that KMS did not make never decrypts. */
#include "catalog/catalog.h"
#include "core/common.h"
#include "kms/kms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint8_t master[32] = {7};
static char dir[] = "/tmp/sl_fuzz_kms_XXXXXX";
static sl_catalog_t *cat;

static void cleanup(void) {
    char cmd[64];
    sl_catalog_close(cat);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return;
}

/* A catalog in a temporary directory, removed at exit (SQLite's WAL needs a file). */
static sl_catalog_t *catalog(void) {
    if (cat) return cat;
    char path[64];
    if (!mkdtemp(dir)) abort();
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    if (sl_catalog_open_sqlite(path, &cat) != 0) abort();
    atexit(cleanup);
    return cat;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl_catalog_t *c = catalog();
    if (size == 0) return 0;
    sl_kms_t *kms = NULL;
    if (sl_kms_create(master, "us-east-1", &kms) != 0) abort();
    if (data[0] & 1) {
        /* a stored state */
        if (sl_catalog_setting_put(c, "kms", data + 1, size - 1) != 0) abort();
        int rc = sl_kms_load(kms, "000000000000", c);
        if (rc != 0 && rc != SL_ECORRUPT && rc != SL_ENOMEM) abort();
        if (rc == 0) {
            sl_kms_key_info_t *keys = calloc(SL_KMS_KEYS_MAX, sizeof *keys);
            bool more;
            size_t n = sl_kms_list_keys(kms, "000000000000", "", 0, keys, SL_KMS_KEYS_MAX, &more);
            sl_kms_err_t err;
            sl_kms_key_info_t d;
            for (size_t i = 0; i < n; i++)
                if (!sl_kms_describe(kms, "000000000000", keys[i].id, 0, &d, &err)) abort();
            free(keys);
        }
    } else {
        /* a ciphertext blob against an account with one key */
        sl_catalog_setting_delete(c, "kms");
        if (sl_kms_load(kms, "000000000000", c) != 0) abort();
        sl_kms_key_info_t k;
        sl_kms_err_t err;
        if (!sl_kms_create_key(kms, "000000000000", "", 0, &k, &err)) abort();
        uint8_t *plain = NULL;
        size_t len = 0;
        char arn[SL_KMS_ARN_BYTES_MAX];
        if (sl_kms_decrypt(kms, "000000000000", data + 1, size - 1, NULL, NULL, 0, &plain, &len,
                           arn, &err))
            abort();
        uint8_t dk[32];
        if (sl_kms_unwrap_data_key(kms, "000000000000", data + 1, size - 1, NULL, dk, 32)) abort();
    }
    sl_kms_destroy(kms);
    return 0;
}
