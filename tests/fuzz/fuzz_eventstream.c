/* Fuzz target: the event-stream decoder on raw input, then an encode/decode round trip of headers
 * and a payload carved out of the input (names and values must come back unchanged). */
#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "wire/eventstream.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_es_message_t m;
    const char *reason = NULL;
    int rc = sl_es_decode(data, size, &arena, &m, &reason);
    if (rc == 0 && (m.total_len > size || m.payload + m.payload_len > data + size)) abort();
    if (rc == SL_EINVAL && !reason) abort();

    /* Carve up to 8 headers: [name_len][value_len][name][value] ..., the rest is the payload.
     * Names may not contain NUL (the encoder takes C strings), so NULs become 'x'. */
    sl_es_header_t hdrs[8];
    char *strs[16];
    size_t nh = 0, pos = 1, ns = 0;
    size_t want = size ? data[0] % 9 : 0;
    while (nh < want && pos + 2 <= size) {
        size_t nl = data[pos] % 32 + 1, vl = data[pos + 1];
        pos += 2;
        if (pos + nl + vl > size) break;
        char *name = sl_arena_strndup(&arena, (const char *)data + pos, nl);
        char *val = sl_arena_strndup(&arena, (const char *)data + pos + nl, vl);
        for (size_t i = 0; i < nl; i++)
            if (!name[i]) name[i] = 'x';
        for (size_t i = 0; i < vl; i++)
            if (!val[i]) val[i] = 'x';
        strs[ns++] = name;
        strs[ns++] = val;
        hdrs[nh++] = (sl_es_header_t){name, val};
        pos += nl + vl;
    }
    bool dup = false;
    for (size_t i = 0; i < nh; i++)
        for (size_t k = i + 1; k < nh; k++)
            if (strcmp(hdrs[i].name, hdrs[k].name) == 0) dup = true;
    sl_buf_t b = SL_BUF_INIT;
    const uint8_t *payload = data + (pos < size ? pos : size);
    size_t plen = size - (pos < size ? pos : size);
    if (sl_es_encode(&b, hdrs, nh, payload, plen) != 0) abort();
    rc = sl_es_decode((const uint8_t *)b.data, b.len, &arena, &m, &reason);
    if (dup) {
        if (rc != SL_EINVAL) abort();
    } else {
        if (rc != 0 || m.total_len != b.len || m.header_count != nh || m.payload_len != plen)
            abort();
        if (plen && memcmp(m.payload, payload, plen) != 0) abort();
        for (size_t i = 0; i < nh; i++) {
            if (strcmp(m.headers[i].name, hdrs[i].name) != 0) abort();
            if (m.headers[i].type != 7 || strcmp(m.headers[i].str, hdrs[i].value) != 0) abort();
        }
        /* Any strict prefix needs more bytes or is (never) invalid. */
        if (sl_es_decode((const uint8_t *)b.data, b.len - 1, &arena, &m, &reason) != SL_EAGAIN)
            abort();
    }
    (void)strs;
    sl_buf_free(&b);
    sl_arena_deinit(&arena);
    return 0;
}
