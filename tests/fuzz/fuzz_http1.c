/* libFuzzer target for the HTTP/1.1 request parser (src/net/http1_parser.c). The input is fed in
 * slices whose size comes from the first byte, the way a connection receives it, and the parser's
 * results are checked for invariants: header names lower-case, bodies NUL-terminated and within
 * the limit, progress on every call. */
#include "core/arena.h"
#include "net/http1_parser.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX 4096

static void check(int cond) {
    if (!cond) abort();
}

static bool stream_all(void *ctx, const sl_http1_head_t *head) {
    (void)ctx;
    return head->method != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t step = (size_t)(data[0] % 64) + 1;
    bool direct = data[0] & 0x80; /* also exercise the direct body read path */
    bool stream = data[0] & 0x40; /* and streamed bodies (pieces, no body_max_bytes bound) */
    const char *in = (const char *)data + 1;
    size_t len = size - 1;

    sl_http1_parser_t p;
    sl_http1_parser_init(&p, BODY_MAX);
    if (stream) p.stream_hook = stream_all;
    sl_arena_t arena;
    sl_arena_init(&arena, 1024);
    size_t start = 0, avail = step < len ? step : len;
    for (int guard = 0; guard < 100000; guard++) {
        if (direct) {
            uint8_t *dst;
            size_t room = sl_http1_parser_body_space(&p, &dst);
            if (room > 0) {
                size_t n = avail - start < room ? avail - start : room;
                memcpy(dst, in + start, n);
                start += n;
                sl_http1_event_t ev = sl_http1_parser_body_commit(&p, n);
                check(ev == SL_HTTP1_NEED_MORE || ev == SL_HTTP1_DONE);
                if (n == 0) {
                    if (avail == len) break;
                    avail = avail + step < len ? avail + step : len;
                }
                continue;
            }
        }
        size_t used = 0;
        sl_http1_event_t ev = sl_http1_parser_feed(&p, &arena, in + start, avail - start, &used);
        check(used <= avail - start);
        start += used;
        if (ev == SL_HTTP1_ERROR) {
            check(p.error_status >= 400 && p.error_status < 600 && p.error_reason != NULL);
            break;
        }
        if (ev == SL_HTTP1_BODY) {
            /* a piece lies inside the bytes just fed and was consumed with them */
            check(stream && p.piece_len > 0 && p.piece_len <= used);
            check((const char *)p.piece >= in + start - used &&
                  (const char *)p.piece + p.piece_len <= in + start);
            continue;
        }
        if (ev == SL_HTTP1_HEAD) {
            check(p.head.method && p.head.target);
            for (size_t i = 0; i < p.head.header_count; i++) {
                const sl_http_header_t *h = &p.head.headers[i];
                check(strlen(h->name) == h->name_len && strlen(h->value) == h->value_len);
                for (size_t k = 0; k < h->name_len; k++)
                    check(!(h->name[k] >= 'A' && h->name[k] <= 'Z'));
            }
            continue;
        }
        if (ev == SL_HTTP1_DONE) {
            size_t blen;
            uint8_t *body = sl_http1_parser_take_body(&p, &blen);
            check(blen <= BODY_MAX && (!stream || blen == 0));
            if (body) check(body[blen] == 0);
            free(body);
            sl_http1_parser_reset(&p);
            sl_arena_reset(&arena);
            continue;
        }
        /* need more */
        if (used > 0) continue;
        if (avail == len) break;
        avail = avail + step < len ? avail + step : len;
    }
    sl_http1_parser_deinit(&p);
    sl_arena_deinit(&arena);
    return 0;
}
