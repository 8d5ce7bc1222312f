/* Incremental HTTP/1.1 response parser for the outbound client (net/client.c), with a pure API:
 * bytes in, events out, no sockets. The fuzz target tests/fuzz/fuzz_http1_response.c drives the
 * same code. One parser per connection, reset between responses.
 *
 * Memory: the response head is copied into the arena given to sl_http1_resp_feed() and parsed in
 * place (header names lower-cased; names and values NUL-terminated). Body bytes are never copied:
 * each SL_H1RESP_BODY event points into the caller's input (chunk framing removed), so the caller
 * decides whether to buffer or stream them. Interim 1xx responses (100 Continue, 103 Early Hints)
 * are consumed silently. */
#ifndef SL_NET_HTTP1_RESPONSE_H
#define SL_NET_HTTP1_RESPONSE_H

#include "core/arena.h"
#include "net/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SL_H1RESP_NEED_MORE = 0, /* feed more bytes (or call sl_http1_resp_eof() at end of input) */
    SL_H1RESP_HEAD = 1,      /* the final response head is parsed (p->head valid) */
    SL_H1RESP_BODY = 2,      /* *chunk, *chunk_len: body bytes inside the caller's input */
    SL_H1RESP_DONE = 3,      /* the response is complete */
    SL_H1RESP_ERROR = 4,     /* malformed or over a bound: p->error_reason; close the connection */
} sl_http1_resp_event_t;

typedef enum {
    SL_H1RESP_FRAMING_NONE = 0, /* no body (HEAD request, 204, 304) */
    SL_H1RESP_FRAMING_LENGTH,   /* Content-Length */
    SL_H1RESP_FRAMING_CHUNKED,  /* Transfer-Encoding: chunked */
    SL_H1RESP_FRAMING_CLOSE,    /* body until the server closes the connection */
} sl_http1_resp_framing_t;

/* A parsed response head. Strings point into the arena copy and are NUL-terminated. */
typedef struct {
    int status;         /* 100..999 */
    int minor_version;  /* HTTP/1.<minor>: 0 or 1 */
    const char *reason; /* reason phrase (may be empty) */
    sl_http_header_t *headers;
    size_t header_count;
    sl_http1_resp_framing_t framing;
    uint64_t content_length; /* SL_H1RESP_FRAMING_LENGTH */
    bool keep_alive;         /* the connection may carry another request after this response */
} sl_http1_resp_head_t;

typedef struct {
    /* configuration */
    bool head_request; /* the request was HEAD: the response has no body whatever it announces */
    /* state (private) */
    int state;
    size_t scan_pos;
    uint64_t remaining;
    size_t line_len;
    size_t trailer_bytes;
    int chunk_digits;
    /* results */
    sl_http1_resp_head_t head;
    const char *error_reason; /* static text after SL_H1RESP_ERROR */
} sl_http1_resp_parser_t;

/* Prepares p for one response; head_request says whether the request was HEAD. */
void sl_http1_resp_init(sl_http1_resp_parser_t *p, bool head_request);

/* Consumes bytes from data[0..len) and reports the next event; *consumed says how many were used
 * (the caller keeps the rest and feeds it again with more bytes appended). While the head is
 * incomplete nothing is consumed. SL_H1RESP_BODY sets *chunk and *chunk_len to body bytes inside
 * data[0..*consumed). After SL_H1RESP_DONE or SL_H1RESP_ERROR further calls return the same event.
 * The head is allocated from `arena`; a head over SL_HTTP_HEADER_BYTES_MAX bytes or with more than
 * SL_HTTP_HEADERS_MAX fields is an error. */
sl_http1_resp_event_t sl_http1_resp_feed(sl_http1_resp_parser_t *p, sl_arena_t *arena,
                                         const char *data, size_t len, size_t *consumed,
                                         const char **chunk, size_t *chunk_len);

/* The input ended (the server closed the connection): SL_H1RESP_DONE for a close-delimited body,
 * SL_H1RESP_ERROR ("truncated response") anywhere else before the end of the response. */
sl_http1_resp_event_t sl_http1_resp_eof(sl_http1_resp_parser_t *p);

/* While a Content-Length body is being received: how many body bytes are still expected (0 in any
 * other state). The client reads them straight into its body buffer and declares them with
 * sl_http1_resp_body_commit(), which returns SL_H1RESP_DONE once the body is complete. */
uint64_t sl_http1_resp_body_left(const sl_http1_resp_parser_t *p);
sl_http1_resp_event_t sl_http1_resp_body_commit(sl_http1_resp_parser_t *p, size_t n);

/* First header with that lower-case name in a parsed head, or NULL. */
const sl_http_header_t *sl_http1_resp_header(const sl_http1_resp_head_t *h, const char *lower_name);

#endif
