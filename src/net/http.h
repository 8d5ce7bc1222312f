/* HTTP server front: HTTP/1.1 (keep-alive, chunked in and out), HTTP/2 (nghttp2, prior knowledge on
 * every connection, ALPN h2 on TLS) and TLS (OpenSSL). Knows nothing of AWS: it hands complete
 * requests to one handler and sends what the handler answers.
 *
 * Threads: the server runs `threads` network threads, each with its own loop and SO_REUSEPORT
 * listening socket(s). The handler runs on the request's loop thread. Every sl_http_* function on a
 * request must be called on that loop's thread (use sl_loop_post(sl_http_req_loop(req), ...) from
 * other threads). */
#ifndef SL_NET_HTTP_H
#define SL_NET_HTTP_H

#include "core/arena.h"
#include "core/limits.h"
#include "net/loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* In requests, name and value are also NUL-terminated (net layer guarantee). */
typedef struct {
    const char *name; /* lower-case for request headers */
    size_t name_len;
    const char *value;
    size_t value_len;
} sl_http_header_t;

typedef struct sl_http_req sl_http_req_t;

/* A complete request. Owned by the net layer; valid until the response completes (sl_http_respond
 * or sl_http_stream_end), even if the client disconnects meanwhile. */
struct sl_http_req {
    const char *method; /* NUL-terminated, e.g. "POST" */
    const char *path;   /* NUL-terminated request target incl. query string, e.g. "/?a=b" */
    sl_http_header_t *headers;
    size_t header_count;
    const uint8_t *body; /* request body (NUL-terminated for convenience, not counted in len) */
    size_t body_len;
    int http_version;    /* 1 (HTTP/1.x) or 2 */
    bool body_streamed;  /* dispatched at its head: the body comes through sl_http_body_read */
    bool tls;            /* arrived over TLS */
    const char *peer_ip; /* the client's address as text ("127.0.0.1", "::1"), "" when unknown */
    sl_arena_t *arena;   /* per-request arena, released after the response completes */
    void *user;          /* free for the handler's use */
};

/* Called once per request on the request's loop thread. The handler must eventually answer with
 * exactly one of sl_http_respond() or sl_http_stream_begin() ... sl_http_stream_end(). */
typedef void (*sl_http_handler_fn)(void *ctx, sl_http_req_t *req);

/* First header with that lower-case name, or NULL. */
const sl_http_header_t *sl_http_req_header(const sl_http_req_t *req, const char *lower_name);
sl_loop_t *sl_http_req_loop(const sl_http_req_t *req);
/* True once the client has gone (connection closed or HTTP/2 stream reset). */
bool sl_http_req_closed(const sl_http_req_t *req);

/* Complete response. `body` is malloc'd memory whose ownership passes to the net layer (freed with
 * free()), or NULL with body_len 0. Content-Length, Date and (HTTP/1.1) Connection are added by the
 * net layer; `headers` are copied. After this call `req` must not be touched. For a HEAD request
 * no body is sent and Content-Length is body_len, so body may be NULL with the length the GET
 * would have (S3's HeadObject). */
void sl_http_respond(sl_http_req_t *req, int status, const sl_http_header_t *headers,
                     size_t header_count, void *body, size_t body_len);

/* Streaming response (event streams, large S3 objects): HTTP/1.1 uses Transfer-Encoding: chunked,
 * HTTP/2 DATA frames. No Content-Length is sent (a handler's is dropped), except by
 * sl_http_stream_begin_sized.
 * on_writable: called when the unsent backlog drops below the low-water mark after a write
 *   returned SL_EAGAIN-level backpressure; on_close: the client went away (after it, write/end are
 *   still allowed and are no-ops; the handler must still call sl_http_stream_end to release req).
 */
typedef struct {
    void (*on_writable)(sl_http_req_t *req, void *arg);
    void (*on_close)(sl_http_req_t *req, void *arg);
    void *arg;
} sl_http_stream_cbs_t;

/* Returns 0, or SL_ECLOSED when the client is already gone; either way the handler still owns
 * `req` and releases it with sl_http_stream_end(). Callbacks run on the request's loop thread,
 * never from inside sl_http_stream_write/begin. */
int sl_http_stream_begin(sl_http_req_t *req, int status, const sl_http_header_t *headers,
                         size_t header_count, const sl_http_stream_cbs_t *cbs);
/* The same with Content-Length: length; HTTP/1.1 then sends the bytes as they are (no chunks;
 * the connection stays open), and the handler must write exactly `length` bytes, or end with
 * sl_http_stream_abort. */
int sl_http_stream_begin_sized(sl_http_req_t *req, int status, const sl_http_header_t *headers,
                               size_t header_count, uint64_t length,
                               const sl_http_stream_cbs_t *cbs);
/* Queue bytes (copied). Returns the backlog the response waits behind (>= 0): the unsent bytes
 * queued for it, or more when its connection or the whole process is over its output bound; or
 * SL_ECLOSED. Above SL_HTTP_STREAM_HIGH_WATER callers must pause until on_writable, so that a
 * client that does not read holds at most about one more write. len 0 writes nothing and only
 * returns the backlog (arming on_writable when it is above the mark; on HTTP/2, unsent bytes
 * behind a flow-control window of 0 count as above it): a producer asks it before it produces,
 * so that nothing is made while its output cannot leave. */
long sl_http_stream_write(sl_http_req_t *req, const void *data, size_t len);
/* Finish the response (HTTP/1.1 last chunk, HTTP/2 END_STREAM) and release `req`. */
void sl_http_stream_end(sl_http_req_t *req);
/* Give up on the response (the handler cannot produce the rest, e.g. a read error halfway) and
 * release `req`: HTTP/1.1 closes the connection, HTTP/2 resets the stream, so the client sees an
 * incomplete answer rather than a complete wrong one. */
void sl_http_stream_abort(sl_http_req_t *req);

/* Streamed request bodies (opt-in, for bodies larger than body_max_bytes or consumed as they
 * arrive: Kinesis Video PutMedia, S3 PutObject). When the server's stream_body hook says yes for
 * a request head, the handler gets the request at once, with body_streamed set and an empty body,
 * and reads the body in pieces as they arrive, with backpressure: while the handler holds a piece
 * (from on_data until sl_http_body_next) the server buffers at most about SL_NET_BODY_PIECE_BYTES
 * more (HTTP/1.1: then it stops reading the socket; HTTP/2: the stream's flow-control window is
 * not given back). Callbacks run on the request's loop thread, never from inside the calls below.
 * The handler answers as usual, at any time; an HTTP/1.1 connection whose request body was not
 * read to its end closes after the answer. */
typedef struct {
    /* The next piece of the body, valid until sl_http_body_next (the handler may change its
     * bytes, e.g. decode in place); no other piece comes before it.
     * last: this is the end of the body (len may be 0 then; no sl_http_body_next needed). */
    void (*on_data)(sl_http_req_t *req, const uint8_t *data, size_t len, bool last, void *arg);
    /* The body cannot complete: SL_ECLOSED (the client went away or reset the stream),
     * SL_EINVAL (broken chunked framing), SL_ETIMEDOUT (HTTP/1.1: no byte for body_timeout_ms
     * while the handler held nothing). Nothing follows it. */
    void (*on_error)(sl_http_req_t *req, int code, void *arg);
    void *arg;
} sl_http_body_cbs_t;

/* Starts reading a streamed body (once per request). SL_EINVAL when the body is not streamed. */
int sl_http_body_read(sl_http_req_t *req, const sl_http_body_cbs_t *cbs);
/* The handler is done with the piece it holds: the next one may come. */
void sl_http_body_next(sl_http_req_t *req);

/* The body of an answer the server gives without calling the handler (413: a body over
 * body_max_bytes; 408: a body past its deadline; 503: an HTTP/2 body over the request-body
 * budget), so that it is in the protocol the clients speak. `headers` are the request's
 * (for its Content-Type). Returns a malloc'd body of *len bytes and sets *content_type (static),
 * or NULL for the default short text/plain reason. Runs on the connection's thread. */
typedef void *(*sl_http_error_body_fn)(void *ctx, int status, const sl_http_header_t *headers,
                                       size_t header_count, size_t *len, const char **content_type);

typedef struct {
    const char *bind_address; /* e.g. "127.0.0.1" */
    int port;                 /* plain port (HTTP/1.1 + h2c prior knowledge) */
    int tls_port; /* 0 = no TLS listener; TLS serves HTTP/1.1 and h2 (ALPN or preface) */
    const char *tls_cert_file; /* PEM; NULL with tls_port set = self-signed written to tls_dir */
    const char *tls_key_file;
    const char *tls_dir;   /* where a generated self-signed cert/key are kept */
    int threads;           /* network threads; 0 = one per core (one on <= 2 cores) */
    size_t body_max_bytes; /* larger request bodies get 413 */
    sl_http_handler_fn handler;
    void *handler_ctx;
    sl_http_error_body_fn error_body; /* optional (ctx = handler_ctx) */
    /* Optional: called on the loop thread once a request's head is complete (method, path,
     * headers; no body yet); true = stream its body (sl_http_body_read). ctx = handler_ctx. */
    bool (*stream_body)(void *ctx, const sl_http_req_t *head);
    /* Called once on each network thread after its loop is created (e.g. to set up per-thread
     * state); may be NULL. ctx is handler_ctx; sl_loop_current() already returns `loop`. */
    void (*on_thread_start)(sl_loop_t *loop, void *ctx);
    /* Extensions (net layer): called once on each network thread after its loop stopped serving
     * (all connections closed), before the loop is destroyed; may be NULL. */
    void (*on_thread_stop)(sl_loop_t *loop, void *ctx);
    /* Keep-alive connections idle this long are closed, and connections whose output has not
     * moved for this long; 0 = SL_HTTP_IDLE_TIMEOUT_MS. */
    int idle_timeout_ms;
    /* Deadlines (0 = the defaults in core/limits.h): a request head from its first byte, a body
     * after its head, a TLS handshake from accept. Late clients get 408 (or are closed). */
    int header_timeout_ms;
    int body_timeout_ms;
    int tls_handshake_timeout_ms;
    /* Open connections, all threads (0 = SL_HTTP_CONNECTIONS_FDS_PCT of the descriptor limit).
     * At the bound the oldest idle connection is closed to make room, else the new one is. */
    int max_connections;
    /* Process-wide budgets (0 = defaults): buffered request bodies, unsent response bytes. */
    size_t request_buffer_max_bytes;
    size_t response_buffer_max_bytes;
} sl_http_server_config_t;

typedef struct sl_http_server sl_http_server_t;

/* Binds the listening sockets (so errors such as EADDRINUSE are reported here) and starts the
 * network threads. Returns 0 or a negative SL_E* code (SL_EEXIST: address in use, SL_EINVAL: bad
 * address or configuration, SL_EIO: other socket/TLS errors); *out is set on success.
 * TLS is enabled when tls_port != 0 or tls_cert_file is set; then TLS is also accepted on the
 * plain port (a connection whose first byte is 0x16 is served as TLS). Without tls_dir and
 * certificate files, a generated self-signed certificate is kept in memory only. */
int sl_http_server_start(const sl_http_server_config_t *cfg, sl_http_server_t **out);
/* The actually bound ports (useful with port 0 in tests). */
int sl_http_server_port(const sl_http_server_t *srv);
int sl_http_server_tls_port(const sl_http_server_t *srv);
/* Stops accepting, lets in-flight responses finish for up to grace_ms (HTTP/2 connections get
 * GOAWAY; idle connections close at once), joins the threads, frees. Streamed responses still open
 * at the deadline get on_close. Functions already posted to the loops still run (on the calling
 * thread) so they can release their arguments; requests never answered are freed, so nothing may
 * post to the loops or touch requests after this returns. Timers still pending are dropped. */
void sl_http_server_stop(sl_http_server_t *srv, int grace_ms);

#endif
