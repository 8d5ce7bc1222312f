/* Incremental HTTP/1.1 request parser with a pure API: bytes in, events out, no sockets. The
 * connection code feeds what it reads; the fuzz target (tests/fuzz/fuzz_http1.c) drives the same
 * code directly. One parser per connection, reused request after request (pipelining).
 *
 * Memory: the request head is copied into the arena passed to sl_http1_parser_feed() and parsed in
 * place (header names lower-cased; method, target, names and values NUL-terminated). The body is a
 * malloc'd buffer owned by the parser until sl_http1_parser_take_body() hands it over; it is always
 * followed by one NUL byte not counted in its length. */
#ifndef SL_NET_HTTP1_PARSER_H
#define SL_NET_HTTP1_PARSER_H

#include "core/arena.h"
#include "net/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Line ends of a request head remembered from the search for its end (a request of the AWS SDKs
 * has about ten lines; a longer head's further lines are searched for again). */
#define SL_HTTP1_LINE_ENDS 32

typedef enum {
    SL_HTTP1_NEED_MORE = 0, /* feed more bytes */
    SL_HTTP1_HEAD = 1,      /* the head is parsed (p->head valid); the body, if any, follows */
    SL_HTTP1_DONE = 2,      /* the request is complete (head + body) */
    SL_HTTP1_ERROR = 3,     /* answer p->error_status and close the connection */
    SL_HTTP1_BODY = 4,      /* streamed body: p->piece[0..piece_len) are the next body bytes */
} sl_http1_event_t;

/* A parsed request head. Strings point into the arena copy and are NUL-terminated. */
typedef struct {
    char *method;
    char *target;
    int minor_version; /* HTTP/1.<minor>: 0 or 1 */
    sl_http_header_t *headers;
    size_t header_count;
    bool keep_alive;      /* after Connection and version defaults */
    bool chunked;         /* Transfer-Encoding: chunked */
    bool expect_continue; /* Expect: 100-continue */
    uint64_t content_length;
} sl_http1_head_t;

typedef struct {
    /* configuration */
    size_t body_max_bytes;
    /* Opt-in body streaming: asked once per request when its head is parsed; true = the body is
     * not buffered but handed out piece by piece (SL_HTTP1_BODY events pointing into the fed
     * bytes), and body_max_bytes does not bound it. NULL = every body is buffered. */
    bool (*stream_hook)(void *ctx, const sl_http1_head_t *head);
    void *stream_ctx;
    /* state (private) */
    int state;
    size_t scan_pos;   /* bytes of the pending head already scanned for its end */
    size_t line_start; /* where the pending head's line being scanned starts */
    size_t lines;      /* line ends (LF) of the pending head found so far */
    /* the first SL_HTTP1_LINE_ENDS of them, where the head is split into lines afterwards */
    uint32_t line_end[SL_HTTP1_LINE_ENDS];
    uint64_t remaining; /* Content-Length body bytes or current chunk bytes still expected */
    size_t line_len;    /* bytes of the current chunk-size or trailer line */
    size_t trailer_bytes;
    uint64_t chunk_size;
    int chunk_digits;
    /* results */
    sl_http1_head_t head;
    bool streaming;       /* this request's body is streamed (stream_hook said so) */
    const uint8_t *piece; /* SL_HTTP1_BODY: the bytes, inside the data just fed */
    size_t piece_len;
    bool piece_last; /* SL_HTTP1_BODY of a Content-Length body: these are its last bytes (the
                      * request is complete; SL_HTTP1_DONE follows on the next feed) */
    uint8_t *body;
    size_t body_len, body_cap;
    int error_status;         /* 400, 413, 431, 501 or 505 after SL_HTTP1_ERROR */
    const char *error_reason; /* static text */
} sl_http1_parser_t;

void sl_http1_parser_init(sl_http1_parser_t *p, size_t body_max_bytes);
/* Frees the body buffer if nobody took it. */
void sl_http1_parser_deinit(sl_http1_parser_t *p);
/* Prepares for the next request after SL_HTTP1_DONE (frees an untaken body). */
void sl_http1_parser_reset(sl_http1_parser_t *p);

/* Consumes bytes from data[0..len) and reports the next event; *consumed says how many bytes were
 * used (the caller keeps the rest and feeds it again with more bytes appended). While the head is
 * incomplete nothing is consumed. Once SL_HTTP1_DONE or SL_HTTP1_ERROR is returned, further calls
 * return the same event until sl_http1_parser_reset(). The head is allocated from `arena`. */
sl_http1_event_t sl_http1_parser_feed(sl_http1_parser_t *p, sl_arena_t *arena, const char *data,
                                      size_t len, size_t *consumed);

/* While a Content-Length body is being received: room to read body bytes into directly (avoiding
 * a copy). Returns the writable length (0 when not in such a state or on allocation failure). */
size_t sl_http1_parser_body_space(sl_http1_parser_t *p, uint8_t **dst);
/* Declares n bytes written at the pointer from sl_http1_parser_body_space(). Returns
 * SL_HTTP1_DONE when the body is complete, else SL_HTTP1_NEED_MORE. */
sl_http1_event_t sl_http1_parser_body_commit(sl_http1_parser_t *p, size_t n);

/* True while the body of a request is being received (after SL_HTTP1_HEAD, before DONE). */
bool sl_http1_parser_in_body(const sl_http1_parser_t *p);

/* Hands the body (NUL-terminated, may be NULL when empty) to the caller, who frees it. */
uint8_t *sl_http1_parser_take_body(sl_http1_parser_t *p, size_t *len);

#endif
