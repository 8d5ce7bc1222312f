/* libFuzzer target for the HTTP/1.1 response parser of the outbound client
 * (src/net/http1_response.c). The first byte picks the slice size the input is fed in (the way a
 * connection receives it), whether the request was HEAD, and whether Content-Length bodies are
 * taken through the direct-read path; the rest is the server's bytes. Checked invariants: progress
 * on every call, body slices inside the input and never more than announced, header names
 * lower-case and NUL-terminated, no event after DONE or ERROR but the same one again. */
#include "core/arena.h"
#include "net/http1_response.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(int cond) {
    if (!cond) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t step = (size_t)(data[0] % 32) + 1;
    bool head_request = data[0] & 0x40;
    bool direct = data[0] & 0x80;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;

    sl_http1_resp_parser_t p;
    sl_http1_resp_init(&p, head_request);
    sl_arena_t arena;
    sl_arena_init(&arena, 1024);
    size_t start = 0, avail = step < len ? step : len;
    uint64_t body = 0;
    bool have_head = false;
    for (int guard = 0; guard < 1000000; guard++) {
        if (direct && have_head && sl_http1_resp_body_left(&p) > 0) {
            uint64_t left = sl_http1_resp_body_left(&p);
            size_t n = avail - start < left ? avail - start : (size_t)left;
            if (n > 0) {
                start += n;
                body += n;
                sl_http1_resp_event_t ev = sl_http1_resp_body_commit(&p, n);
                check(ev == SL_H1RESP_NEED_MORE || ev == SL_H1RESP_DONE);
                continue;
            }
        }
        size_t used = 0, clen = 0;
        const char *chunk = NULL;
        sl_http1_resp_event_t ev =
            sl_http1_resp_feed(&p, &arena, in + start, avail - start, &used, &chunk, &clen);
        check(used <= avail - start);
        if (ev == SL_H1RESP_ERROR) {
            check(p.error_reason != NULL);
            check(sl_http1_resp_feed(&p, &arena, in + start, avail - start, &used, &chunk, &clen) ==
                  SL_H1RESP_ERROR);
            break;
        }
        if (ev == SL_H1RESP_DONE) {
            start += used; /* a chunked body ends with the DONE event's bytes */
            check(have_head);
            if (p.head.framing == SL_H1RESP_FRAMING_LENGTH) check(body == p.head.content_length);
            if (p.head.framing == SL_H1RESP_FRAMING_NONE) check(body == 0);
            check(sl_http1_resp_feed(&p, &arena, in + start, avail - start, &used, &chunk, &clen) ==
                  SL_H1RESP_DONE);
            check(used == 0);
            /* The next response on the same connection starts from a fresh parser. */
            sl_http1_resp_init(&p, head_request);
            sl_arena_reset(&arena);
            have_head = false;
            body = 0;
            if (start == len) break;
            continue;
        }
        start += used;
        if (ev == SL_H1RESP_HEAD) {
            check(!have_head);
            have_head = true;
            check(p.head.status >= 200 && p.head.status <= 999 && p.head.reason != NULL);
            for (size_t i = 0; i < p.head.header_count; i++) {
                const sl_http_header_t *h = &p.head.headers[i];
                check(strlen(h->name) == h->name_len && strlen(h->value) == h->value_len);
                for (size_t k = 0; k < h->name_len; k++)
                    check(!(h->name[k] >= 'A' && h->name[k] <= 'Z'));
            }
            if (p.head.framing == SL_H1RESP_FRAMING_CLOSE) check(!p.head.keep_alive);
            continue;
        }
        if (ev == SL_H1RESP_BODY) {
            check(have_head && clen > 0);
            check(chunk >= in && chunk + clen <= in + start);
            body += clen;
            if (p.head.framing == SL_H1RESP_FRAMING_LENGTH) check(body <= p.head.content_length);
            continue;
        }
        /* need more */
        if (used > 0) continue;
        if (avail == len) {
            sl_http1_resp_event_t end = sl_http1_resp_eof(&p);
            check(end == SL_H1RESP_DONE || end == SL_H1RESP_ERROR);
            if (end == SL_H1RESP_DONE)
                check(have_head && p.head.framing == SL_H1RESP_FRAMING_CLOSE);
            break;
        }
        avail = avail + step < len ? avail + step : len;
    }
    sl_arena_deinit(&arena);
    return 0;
}
