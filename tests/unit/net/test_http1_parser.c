/* Unit tests for the HTTP/1.1 request parser: heads, Content-Length and chunked bodies fed in
 * every split, pipelining, and each error status a malformed or oversized request must get. */
#include "core/arena.h"
#include "core/limits.h"
#include "net/http1_parser.h"
#include "test.h"

#include <stdlib.h>

typedef struct {
    int events_done;
    int error_status;
    char method[16];
    char target[64];
    char body[256];
    size_t body_len;
    size_t header_count;
    char first_name[32], first_value[64];
    bool keep_alive, expect_continue, saw_head;
} result_t;

/* Feeds `in` in slices of `step` bytes; records the first request (and counts completed ones). */
static result_t run(const char *in, size_t len, size_t step, size_t body_max) {
    result_t res = {0};
    sl_http1_parser_t p;
    sl_http1_parser_init(&p, body_max);
    sl_arena_t a;
    sl_arena_init(&a, 512);
    size_t start = 0, avail = step < len ? step : len;
    for (int guard = 0; guard < 100000; guard++) {
        size_t used;
        sl_http1_event_t ev = sl_http1_parser_feed(&p, &a, in + start, avail - start, &used);
        start += used;
        if (ev == SL_HTTP1_ERROR) {
            res.error_status = p.error_status;
            break;
        }
        if (ev == SL_HTTP1_HEAD) {
            res.saw_head = true;
            res.expect_continue = p.head.expect_continue;
            continue;
        }
        if (ev == SL_HTTP1_DONE) {
            if (res.events_done == 0) {
                snprintf(res.method, sizeof res.method, "%s", p.head.method);
                snprintf(res.target, sizeof res.target, "%s", p.head.target);
                res.header_count = p.head.header_count;
                if (p.head.header_count) {
                    snprintf(res.first_name, sizeof res.first_name, "%s", p.head.headers[0].name);
                    snprintf(res.first_value, sizeof res.first_value, "%s",
                             p.head.headers[0].value);
                }
                res.keep_alive = p.head.keep_alive;
                size_t bl;
                uint8_t *b = sl_http1_parser_take_body(&p, &bl);
                if (b) {
                    CHECK(b[bl] == 0);
                    memcpy(res.body, b, bl < 255 ? bl : 255);
                }
                res.body_len = bl;
                free(b);
            }
            res.events_done++;
            sl_http1_parser_reset(&p);
            continue;
        }
        if (used > 0) continue;
        if (avail == len) break;
        avail = avail + step < len ? avail + step : len;
    }
    sl_http1_parser_deinit(&p);
    sl_arena_deinit(&a);
    return res;
}

#define RUN(lit, step) run(lit, sizeof(lit) - 1, step, 1024)

int main(void) {
    static const char get[] =
        "GET /a?b=c HTTP/1.1\r\nHost: example\r\nX-Mixed-Case:  v a l  \r\n\r\n";
    for (size_t step = 1; step <= sizeof get; step++) {
        result_t r = RUN(get, step);
        CHECK_EQ_INT(r.events_done, 1);
        CHECK_EQ_STR(r.method, "GET");
        CHECK_EQ_STR(r.target, "/a?b=c");
        CHECK_EQ_INT(r.header_count, 2);
        CHECK_EQ_STR(r.first_name, "host");
        CHECK_EQ_STR(r.first_value, "example");
        CHECK(r.keep_alive);
        CHECK_EQ_INT(r.body_len, 0);
    }
    /* Header value whitespace trimmed, names lower-cased (second header). */
    {
        sl_http1_parser_t p;
        sl_http1_parser_init(&p, 100);
        sl_arena_t a;
        sl_arena_init(&a, 512);
        size_t used;
        CHECK_EQ_INT(sl_http1_parser_feed(&p, &a, get, sizeof get - 1, &used), SL_HTTP1_HEAD);
        CHECK_EQ_INT(used, sizeof get - 1);
        CHECK_EQ_STR(p.head.headers[1].name, "x-mixed-case");
        CHECK_EQ_STR(p.head.headers[1].value, "v a l");
        CHECK_EQ_INT(p.head.headers[1].value_len, 5);
        sl_http1_parser_deinit(&p);
        sl_arena_deinit(&a);
    }

    static const char post[] = "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world";
    for (size_t step = 1; step <= sizeof post; step++) {
        result_t r = RUN(post, step);
        CHECK_EQ_INT(r.events_done, 1);
        CHECK_EQ_STR(r.body, "hello world");
        CHECK_EQ_INT(r.body_len, 11);
    }

    static const char chunked[] = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "5;name=val\r\nhello\r\n6\r\n world\r\nA\r\n0123456789\r\n0\r\n"
                                  "X-Trailer: yes\r\n\r\n";
    for (size_t step = 1; step <= sizeof chunked; step++) {
        result_t r = RUN(chunked, step);
        CHECK_EQ_INT(r.events_done, 1);
        CHECK_EQ_STR(r.body, "hello world0123456789");
        CHECK_EQ_INT(r.body_len, 21);
    }

    static const char pipelined[] =
        "\r\nGET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nokGET /3 "
        "HTTP/1.0\r\n\r\n";
    for (size_t step = 1; step <= sizeof pipelined; step += 3) {
        result_t r = RUN(pipelined, step);
        CHECK_EQ_INT(r.events_done, 3);
        CHECK_EQ_STR(r.target, "/1");
    }

    /* HTTP/1.0 defaults to close unless keep-alive is asked for; Connection: close wins in 1.1. */
    CHECK(!RUN("GET / HTTP/1.0\r\n\r\n", 100).keep_alive);
    CHECK(RUN("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 100).keep_alive);
    CHECK(!RUN("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", 100).keep_alive);
    /* Bare LF line endings are tolerated in the head. */
    CHECK_EQ_INT(RUN("GET / HTTP/1.1\nHost: x\n\n", 100).events_done, 1);

    result_t e = RUN("PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", 200);
    CHECK(e.expect_continue);
    CHECK_EQ_INT(e.events_done, 1);

    /* Errors */
    CHECK_EQ_INT(RUN("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 100).error_status, 400);
    CHECK_EQ_INT(RUN("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 100).error_status, 400);
    CHECK_EQ_INT(RUN("GET  / HTTP/1.1\r\n\r\n", 100).error_status, 400);
    CHECK_EQ_INT(RUN("GET / HTTP/1.1 \r\n\r\n", 100).error_status, 400);
    CHECK_EQ_INT(RUN("GET /\r\n\r\n", 100).error_status, 400);
    CHECK_EQ_INT(RUN("GET / HTTP/2.0\r\n\r\n", 100).error_status, 505);
    CHECK_EQ_INT(RUN("GET / HTTP/1.1\r\nX: a\x01 b\r\n\r\n", 100).error_status, 400);
    /* A header name is a token: each byte value inside one is accepted exactly when RFC 9110
     * names it a tchar (the parser tests a bit set). */
    for (int c = 1; c < 256; c++) {
        char req[64];
        int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nA%cb: v\r\n\r\n", c);
        bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     (c < 128 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
        if (c == '\n' || c == ':') continue; /* they end the line or the name */
        result_t r = run(req, (size_t)n, 200, 1024);
        CHECK_EQ_INT(r.events_done, tchar ? 1 : 0);
        CHECK_EQ_INT(r.error_status, tchar ? 0 : 400);
    }
    /* Header names are found and lower-cased sixteen bytes at a time when they hold only
     * letters, digits and '-', byte by byte otherwise: names of 1 to 40 bytes, upper and lower
     * case, with each other token character at each position, come out lower-cased and whole,
     * and their values (upper case included) untouched. */
    for (size_t nlen = 1; nlen <= 40; nlen++) {
        for (size_t at = 0; at <= nlen; at++) {
            char name[48], want[48], req[160];
            for (size_t i = 0; i < nlen; i++)
                name[i] = i == at ? '_' : "AbC-9z"[i % 6];
            name[nlen] = 0;
            for (size_t i = 0; i <= nlen; i++)
                want[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
            int n = snprintf(req, sizeof req,
                             "GET / HTTP/1.1\r\n%s:  Kinesis_20131202.PutRecord\r\n\r\n", name);
            sl_http1_parser_t p;
            sl_http1_parser_init(&p, 100);
            sl_arena_t a;
            sl_arena_init(&a, 512);
            size_t used;
            CHECK_EQ_INT(sl_http1_parser_feed(&p, &a, req, (size_t)n, &used), SL_HTTP1_HEAD);
            CHECK_EQ_INT(p.head.header_count, 1);
            CHECK_EQ_STR(p.head.headers[0].name, want);
            CHECK_EQ_INT(p.head.headers[0].name_len, nlen);
            CHECK_EQ_STR(p.head.headers[0].value, "Kinesis_20131202.PutRecord");
            sl_http1_parser_deinit(&p);
            sl_arena_deinit(&a);
        }
    }
    /* A head longer than the line ends the parser remembers (SL_HTTP1_LINE_ENDS), fed in every
     * split: every field is found again past them. */
    {
        char big[4096];
        size_t n = (size_t)snprintf(big, sizeof big, "POST /x HTTP/1.1\r\n");
        for (int i = 0; i < SL_HTTP1_LINE_ENDS + 8; i++)
            n += (size_t)snprintf(big + n, sizeof big - n, "X-Field-Number-%02d: Value %d\r\n", i,
                                  i);
        n += (size_t)snprintf(big + n, sizeof big - n, "Content-Length: 2\r\n\r\nok");
        for (size_t step = 1; step <= n; step += 7) {
            result_t r = run(big, n, step, 1024);
            CHECK_EQ_INT(r.events_done, 1);
            CHECK_EQ_INT(r.header_count, SL_HTTP1_LINE_ENDS + 9);
            CHECK_EQ_STR(r.first_name, "x-field-number-00");
            CHECK_EQ_STR(r.first_value, "Value 0");
            CHECK_EQ_STR(r.body, "ok");
        }
        sl_http1_parser_t p;
        sl_http1_parser_init(&p, 100);
        sl_arena_t a;
        sl_arena_init(&a, 512);
        size_t used;
        CHECK_EQ_INT(sl_http1_parser_feed(&p, &a, big, n, &used), SL_HTTP1_HEAD);
        for (int i = 0; i < SL_HTTP1_LINE_ENDS + 8; i++) {
            char name[32], value[32];
            snprintf(name, sizeof name, "x-field-number-%02d", i);
            snprintf(value, sizeof value, "Value %d", i);
            CHECK_EQ_STR(p.head.headers[i].name, name);
            CHECK_EQ_STR(p.head.headers[i].value, value);
        }
        CHECK_EQ_INT(p.head.content_length, 2);
        sl_http1_parser_deinit(&p);
        sl_arena_deinit(&a);
    }
    /* Header values are checked sixteen bytes at a time (value_ok): every byte value at every
     * position of values of 1 to 40 bytes, with UTF-8 bytes and tabs around it, is accepted
     * exactly when it is not a control character other than HTAB (DEL included). */
    for (size_t vlen = 1; vlen <= 40; vlen++) {
        for (size_t at = 0; at < vlen; at++) {
            for (int c = 1; c < 256; c++) {
                char req[128];
                int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nX: <");
                for (size_t i = 0; i < vlen; i++)
                    req[n++] = i == at ? (char)c
                                       : (char)(i % 3 == 0   ? 0xc3
                                                : i % 3 == 1 ? '\t'
                                                             : 'v');
                n += snprintf(req + n, sizeof req - (size_t)n, ">\r\n\r\n");
                bool bad = (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
                result_t r = run(req, (size_t)n, 200, 1024);
                if (c == '\r' || c == '\n') continue; /* they end the line instead */
                CHECK_EQ_INT(r.error_status, bad ? 400 : 0);
                CHECK_EQ_INT(r.events_done, bad ? 0 : 1);
            }
        }
    }
    CHECK_EQ_INT(RUN("POST / HTTP/1.1\r\nContent-Length: 12a\r\n\r\n", 100).error_status, 400);
    CHECK_EQ_INT(
        RUN("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 100).error_status,
        400);
    CHECK_EQ_INT(
        RUN("POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 100)
            .error_status,
        400);
    CHECK_EQ_INT(
        RUN("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 100).error_status, 501);
    CHECK_EQ_INT(RUN("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 100).error_status,
                 400);
    CHECK_EQ_INT(RUN("POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 100).error_status, 413);
    CHECK_EQ_INT(
        RUN("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 100).error_status, 400);
    CHECK_EQ_INT(
        RUN("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 100).error_status,
        400);
    CHECK_EQ_INT(
        RUN("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n401\r\n", 100).error_status, 413);
    {
        /* Too many header fields -> 431. */
        char buf[8192];
        size_t n = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\n");
        for (int i = 0; i <= SL_HTTP_HEADERS_MAX; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "h%d: v\r\n", i);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "\r\n");
        CHECK_EQ_INT(run(buf, n, 4096, 1024).error_status, 431);
        /* Head over SL_HTTP_HEADER_BYTES_MAX without an end -> 431 (no unbounded buffering). */
        size_t big = SL_HTTP_HEADER_BYTES_MAX + 10;
        char *h = malloc(big);
        memcpy(h, "GET / HTTP/1.1\r\nX: ", 19);
        memset(h + 19, 'a', big - 19);
        CHECK_EQ_INT(run(h, big, 8192, 1024).error_status, 431);
        free(h);
    }
    TEST_MAIN_END();
}
