/* Fuzz target: the KPL aggregate decoder (wire/kpl.h). Any input is an aggregate or not, cleanly;
 * an aggregate's user records, built again, decode to the same records. The corpus starts from the
 * format's fixed vector with its digest; the replay also feeds each input with a fresh MD5 appended
 * so the protobuf reader is reached past the checksum. */
#include "core/buf.h"
#include "wire/kpl.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sl_kpl_builder_t *b;
    size_t n;
} fuzz_ctx_t;

static int add(const sl_kpl_record_t *r, uint64_t index, void *arg) {
    fuzz_ctx_t *c = arg;
    if (index != c->n++) abort();
    if (sl_kpl_builder_add(c->b, r) != 0) abort();
    return 0;
}

static int count(const sl_kpl_record_t *r, uint64_t index, void *arg) {
    (*(size_t *)arg)++;
    return 0;
}

static void one(const uint8_t *data, size_t size) {
    sl_kpl_builder_t *b;
    if (sl_kpl_builder_create(&b) != 0) abort();
    fuzz_ctx_t c = {b, 0};
    const char *reason = NULL;
    int rc = sl_kpl_decode(data, size, add, &c, &reason);
    if (rc != 0) {
        if (!reason || c.n != 0) abort();
    } else {
        sl_buf_t out = SL_BUF_INIT;
        if (sl_kpl_builder_finish(b, &out) != 0) abort();
        size_t again = 0;
        if (sl_kpl_decode((const uint8_t *)out.data, out.len, count, &again, &reason) != 0 ||
            again != c.n)
            abort();
        sl_buf_free(&out);
    }
    sl_kpl_builder_destroy(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    one(data, size);
    /* The same bytes as a protobuf behind the magic, with a digest that matches. */
    if (size > 1 << 20) return 0;
    uint8_t *rec = malloc(size + SL_KPL_OVERHEAD_BYTES);
    if (!rec) return 0;
    memcpy(rec, sl_kpl_magic, SL_KPL_MAGIC_LEN);
    if (size) memcpy(rec + SL_KPL_MAGIC_LEN, data, size);
    unsigned int dl = 0;
    EVP_Digest(data, size, rec + SL_KPL_MAGIC_LEN + size, &dl, EVP_md5(), NULL);
    one(rec, size + SL_KPL_OVERHEAD_BYTES);
    free(rec);
    return 0;
}
