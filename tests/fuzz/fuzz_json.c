/* Fuzz target: the JSON decoder. Any input must parse or fail cleanly; a parsed tree must encode
 * to JSON that parses again and re-encodes to the same bytes, and to CBOR that our CBOR decoder
 * accepts. */
#include "core/arena.h"
#include "core/buf.h"
#include "wire/cbor.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *body = malloc(size + 1);
    if (!body) return 0;
    memcpy(body, data, size);
    body[size] = '\0';
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_val_t *v = NULL;
    const char *reason = NULL;
    if (sl_json_parse(body, size, &arena, &v, &reason) != 0) {
        if (!reason || v) abort();
        goto done;
    }
    sl_buf_t j1 = SL_BUF_INIT, j2 = SL_BUF_INIT, c = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &j1, SL_FMT_JSON);
    sl_enc_value(&e, v);
    if (sl_buf_failed(&j1)) abort();
    /* Parse our own output (it is modified in place, so keep a NUL after a copy). */
    char *again = malloc(j1.len + 1);
    memcpy(again, j1.data ? j1.data : "", j1.len);
    again[j1.len] = '\0';
    sl_val_t *w = NULL;
    if (sl_json_parse(again, j1.len, &arena, &w, &reason) != 0) abort();
    sl_enc_init(&e, &j2, SL_FMT_JSON);
    sl_enc_value(&e, w);
    if (j2.len != j1.len || memcmp(j1.data, j2.data, j1.len) != 0) abort();
    sl_enc_init(&e, &c, SL_FMT_CBOR);
    sl_enc_value(&e, v);
    if (sl_buf_failed(&c)) abort();
    if (sl_cbor_parse((const uint8_t *)c.data, c.len, &arena, &w, &reason) != 0) abort();
    free(again);
    sl_buf_free(&j1);
    sl_buf_free(&j2);
    sl_buf_free(&c);
done:
    sl_arena_deinit(&arena);
    free(body);
    return 0;
}
