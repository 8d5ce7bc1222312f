/* Fuzz target: the CBOR decoder. Any input must parse or fail cleanly; a parsed tree must encode
 * to CBOR that parses again and re-encodes to the same bytes, and to JSON that our JSON decoder
 * accepts. */
#include "core/arena.h"
#include "core/buf.h"
#include "wire/cbor.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_val_t *v = NULL;
    const char *reason = NULL;
    if (sl_cbor_parse(data, size, &arena, &v, &reason) != 0) {
        if (!reason || v) abort();
        goto done;
    }
    sl_buf_t c1 = SL_BUF_INIT, c2 = SL_BUF_INIT, j = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &c1, SL_FMT_CBOR);
    sl_enc_value(&e, v);
    if (sl_buf_failed(&c1)) abort();
    sl_val_t *w = NULL;
    if (sl_cbor_parse((const uint8_t *)c1.data, c1.len, &arena, &w, &reason) != 0) abort();
    sl_enc_init(&e, &c2, SL_FMT_CBOR);
    sl_enc_value(&e, w);
    if (c2.len != c1.len || memcmp(c1.data, c2.data, c1.len) != 0) abort();
    sl_enc_init(&e, &j, SL_FMT_JSON);
    sl_enc_value(&e, v);
    if (sl_buf_failed(&j)) abort();
    sl_buf_append_byte(&j, 0);
    if (sl_json_parse(j.data, j.len - 1, &arena, &w, &reason) != 0) abort();
    sl_buf_free(&c1);
    sl_buf_free(&c2);
    sl_buf_free(&j);
done:
    sl_arena_deinit(&arena);
    return 0;
}
