/* Structures shared by the files of the net layer (server.c: threads, sockets, connections and TLS
 * I/O; http1.c and http2.c: the protocols; tls.c: OpenSSL contexts). Not for other layers.
 *
 * Ownership: a worker (one per network thread) owns its loop, listening sockets and connections.
 * A connection owns its socket, TLS session, buffers and nghttp2 session. A request is owned by
 * the net layer but lent to the handler from dispatch until the response completes; it outlives
 * its connection if the handler still holds it (req->conn is then NULL). */
#ifndef SL_NET_INTERNAL_H
#define SL_NET_INTERNAL_H

#include "core/buf.h"
#include "core/limits.h"
#include "net/http.h"
#include "net/http1_parser.h"
#include "net/loop_internal.h"
#include "net/outq.h"

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct sl_worker sl_worker_t;
typedef struct sl_conn sl_conn_t;
typedef struct sl_req sl_req_t;

/* Streamed-response backpressure marks (per response): above HIGH a write asks for on_writable,
 * which fires once the backlog is below LOW. These and the server's other bounds (SL_NET_*: HTTP/2
 * windows and output mark, pipelining, reads per event, lingering close, budgets, connection
 * reaping, request pool) are in core/limits.h. */
#define SL_NET_STREAM_HIGH_WATER SL_HTTP_STREAM_HIGH_WATER

/* A connection's phase: before its protocol is known (TLS handshake, sniffing the HTTP/2
 * preface), then HTTP/1.1 or HTTP/2, whose behaviour is in its sl_proto_t table (c->ops). */
enum { SL_PROTO_SNIFF, SL_PROTO_TLS_HANDSHAKE, SL_PROTO_H1, SL_PROTO_H2 };

/* One protocol's behaviour on a connection, as a table of functions (h2o's per-protocol
 * callbacks): server.c runs sockets, TLS, budgets and timers and calls these instead of branching
 * on the protocol; http1.c and http2.c each define one table. NULL members do nothing. */
typedef struct sl_proto {
    /* ---- input ---- */
    /* Consumes input; returns the bytes consumed (all of them when the connection was closed). */
    size_t (*input)(sl_conn_t *c, const char *data, size_t len);
    /* True while the protocol takes no input (HTTP/1.1: a request in flight): input is buffered
     * and reading pauses once SL_NET_H1_PIPELINE_BYTES_MAX of it waits. */
    bool (*input_held)(const sl_conn_t *c);
    /* Before a socket read: true when the bytes must stay in the socket (request-body budget). */
    bool (*read_blocked)(sl_conn_t *c);
    /* After a budget wait: is the body still over the request-body budget? */
    bool (*body_blocked)(sl_conn_t *c);
    /* A read straight into the body being received: bytes (>0), 0 when not applicable,
     * SL_EAGAIN, SL_ECLOSED at end of stream, or another negative code. */
    long (*read_direct)(sl_conn_t *c);
    /* Input bytes count as activity for the idle timer (HTTP/2 counts complete frames). */
    bool bytes_are_activity;
    /* Reading pauses while this much output is unsent (0: no such bound). */
    size_t read_output_high;
    /* The client shut down its sending side: true when the connection stays open to deliver an
     * answer (the protocol arranged the close), false to close now. */
    bool (*on_eof)(sl_conn_t *c);
    /* ---- output and the prepare phase ---- */
    /* Moves the protocol's frames into the output queue (before each write): 0 or a code. */
    int (*pump)(sl_conn_t *c);
    /* Output was written: streamed responses below their low-water mark get on_writable. */
    void (*on_output)(sl_conn_t *c);
    /* With no output left: true when the connection is finished (closes now). */
    bool (*finished)(sl_conn_t *c);
    /* Prepare phase: continue what waited (recheck: a budget wait ended). */
    void (*resume)(sl_conn_t *c, bool recheck);
    /* No request in progress: the connection may be reaped. NULL: no request held. */
    bool (*idle)(const sl_conn_t *c);
    /* Header and body deadlines: false when the connection was closed or answered. */
    bool (*check_deadlines)(sl_conn_t *c, int64_t now_ms);
    /* The server stops: true when the connection finishes gracefully (GOAWAY, the answer in
     * flight), false to close it now. */
    bool (*stop)(sl_conn_t *c);
    /* ---- responses (sl_http_respond and sl_http_stream_*) ---- */
    /* A streamed request body's piece of `taken` bytes was given back: receive more. */
    void (*body_next)(sl_req_t *r, size_t taken);
    /* The request can still be answered on its connection (HTTP/2: the stream exists). */
    bool (*req_open)(const sl_req_t *r);
    void (*respond)(sl_req_t *r, int status, const sl_http_header_t *headers, size_t n, void *body,
                    size_t body_len);
    int (*stream_begin)(sl_req_t *r, int status, const sl_http_header_t *headers, size_t n);
    long (*stream_write)(sl_req_t *r, const void *data, size_t len);
    /* The response's unsent bytes (more than SL_NET_STREAM_HIGH_WATER when they cannot leave). */
    long (*stream_backlog)(sl_req_t *r);
    void (*stream_end)(sl_req_t *r);
    /* Ends the response unfinished: the connection (HTTP/1.1) or the stream (HTTP/2) is reset. */
    void (*stream_abort)(sl_req_t *r);
} sl_proto_t;

extern const sl_proto_t sl_h1_proto, sl_h2_proto;

/* A streamed request body (sl_http_body_read): what was received and what the handler holds. */
typedef struct {
    sl_http_body_cbs_t cbs;
    bool reading;  /* sl_http_body_read was called */
    sl_buf_t in;   /* received, not handed out yet */
    uint8_t *held; /* handed out, until sl_http_body_next (malloc'd) */
    size_t held_len;
    bool holding;
    bool complete; /* the whole body was received */
    bool finished; /* the last piece or the error was handed out */
    int error;     /* why the body cannot complete, 0 = it still can */
} sl_req_body_t;

struct sl_req {
    sl_http_req_t pub; /* must stay first */
    sl_arena_t arena_storage;
    sl_worker_t *worker;
    const sl_proto_t *ops;   /* its connection's protocol */
    sl_conn_t *conn;         /* NULL once the connection is gone */
    sl_req_t *prev, *next;   /* conn->reqs list (next also links the worker's free pool) */
    sl_req_t *wprev, *wnext; /* worker->live list: every allocated request */
    int32_t stream_id;       /* HTTP/2 */
    size_t header_cap;       /* HTTP/2: capacity of pub.headers (arena) */
    uint8_t *body;           /* malloc'd request body */
    size_t body_len, body_cap;
    /* Lifetime: the request is freed when none of these hold it. */
    bool conn_owned;    /* HTTP/1.1: being parsed */
    bool handler_owned; /* dispatched, response not yet complete */
    bool in_session;    /* HTTP/2: the stream still exists in the nghttp2 session */
    int refs;           /* pending notifications */
    bool closed;        /* client gone */
    bool too_large;     /* HTTP/2: body over the limit, answered 413 by the net layer */
    bool head_method;   /* HEAD: no response body */
    bool keep_alive;    /* HTTP/1.1 */
    int minor_version;  /* HTTP/1.x */
    /* response */
    bool responded; /* sl_http_respond or sl_http_stream_begin called */
    bool streaming;
    bool stream_ended;
    bool stream_raw;   /* HTTP/1.x streamed without chunk framing: close-delimited (HTTP/1.0) or
                          framed by a Content-Length (stream_sized) */
    bool stream_sized; /* sl_http_stream_begin_sized: Content-Length: stream_length */
    uint64_t stream_length;
    bool want_writable;
    sl_http_stream_cbs_t cbs;
    uint8_t *resp_body; /* HTTP/2 full response body (malloc'd) */
    size_t resp_len, resp_off;
    sl_buf_t stream_buf; /* HTTP/2 streamed bytes not yet taken by nghttp2 */
    size_t stream_off;
    /* budgets and deadlines */
    size_t body_acct;     /* body bytes counted in the server's request-body budget */
    bool body_small;      /* ... in its small-body share (see sl_body_budget_ok) */
    int64_t start_ms;     /* HTTP/2: stream opened (its header + body deadline) */
    bool over_budget;     /* HTTP/2: body refused for the body budget, answered 503 */
    size_t body_expected; /* HTTP/2: content-length when given, else 0 */
    bool deferred;        /* HTTP/2: complete, waiting in conn->defer list for dispatch */
    bool awaiting;        /* HTTP/2: dispatched, not answered yet (counted in conn->awaiting) */
    sl_req_t *defer_next;
    /* deferred notifications (worker->notify list) */
    sl_req_t *notify_next;
    bool in_notify, notify_close, notify_writable, notify_body;
    sl_req_body_t sbody; /* streamed request body (pub.body_streamed) */
};

struct sl_conn {
    sl_loop_io_t io; /* must stay first */
    sl_worker_t *w;
    sl_conn_t *prev, *next; /* worker->conns */
    sl_conn_t *dirty_next;  /* worker->dirty list */
    sl_conn_t *dead_next;   /* worker->dead list */
    bool in_dirty;
    int proto;
    const sl_proto_t *ops; /* the protocol once known (SL_PROTO_H1/H2), else NULL */
    bool tls;
    char peer_ip[48]; /* the client's address as text (getpeername at accept) */
    SSL *ssl;
    bool ssl_read_wants_write, ssl_write_wants_read;
    bool dead;     /* socket closed; freed in the next prepare phase */
    bool peer_eof; /* the client shut down its side */
    bool read_paused;
    bool read_again;        /* TLS: decrypted bytes may be buffered; read without an event */
    bool process_input;     /* HTTP/1.1: parse buffered input (after a response completed) */
    bool close_after_flush; /* graceful close once the output is written */
    bool lingering;         /* output done, write side shut, draining input until EOF */
    int64_t linger_deadline_ms;
    int64_t last_active_ms; /* last request activity; the LRU order of worker->conns */
    int64_t accept_ms;      /* accepted, or switched to TLS on the plain port */
    int64_t req_start_ms;   /* first byte of the request (or preface) being received; 0: none */
    int64_t head_done_ms;   /* HTTP/1.1: head of the current request complete; 0: not yet */
    int64_t last_send_ms;   /* output last moved (or was empty) */
    /* budgets */
    sl_conn_t *wait_prev, *wait_next; /* worker->wait list */
    bool in_wait;
    bool recheck;        /* look at the waits again in the prepare phase */
    bool dispatch_wait;  /* HTTP/1.1: next request not parsed until the output drains */
    bool body_wait;      /* HTTP/1.1: reading paused for the request-body budget */
    size_t out_acct;     /* unsent bytes counted in worker->out_bytes */
    size_t h2_held;      /* HTTP/2: response bytes not yet handed to nghttp2 */
    size_t h1_body_acct; /* HTTP/1.1: body bytes of the request being parsed, counted */
    bool h1_body_small;  /* ... in the small-body share */
    char *in;            /* unprocessed input */
    size_t in_len, in_cap;
    sl_outq_t out;
    sl_req_t *reqs; /* requests linked to this connection */
    size_t req_count;
    /* HTTP/1.1 */
    sl_http1_parser_t parser;
    sl_req_t *h1_cur;    /* request being parsed or in flight */
    sl_req_t *h1_stream; /* dispatched at its head, its body still being received */
    bool h1_busy;        /* a dispatched request awaits its response */
    /* HTTP/2 */
    nghttp2_session *h2;
    sl_req_t *defer_head, *defer_tail; /* complete streams waiting for the output bound */
    size_t awaiting;                   /* dispatched streams not answered yet */
    size_t resp_max;                   /* recent largest answer (decays by 1/8 per answer) */
};

/* A listening socket of one worker. */
typedef struct {
    sl_loop_io_t io; /* must stay first */
    sl_worker_t *w;
    bool tls;
} sl_listener_t;

struct sl_worker {
    sl_http_server_t *srv;
    int index;
    sl_loop_t *loop;
    pthread_t thread;
    bool thread_started;
    sl_listener_t listen[2]; /* plain, TLS */
    int stop_grace_ms;
    sl_timer_t *sweep_timer;
    sl_timer_t *grace_timer;
    bool stopping;
    sl_conn_t *conns; /* most recently active first */
    sl_conn_t *conns_tail;
    size_t conn_count;
    atomic_size_t conn_pub; /* conn_count, read by the other workers */
    size_t out_bytes;       /* unsent response bytes of this worker's connections */
    atomic_size_t out_pub;  /* out_bytes, read by the other workers */
    sl_conn_t *wait_head;   /* connections waiting for a budget */
    sl_timer_t *wait_timer;
    int reserve_fd; /* spare descriptor, given up to refuse a client cleanly at EMFILE */
    int64_t limit_log_ms;
    size_t refused; /* connections refused since the last warning */
    sl_conn_t *dirty_head;
    sl_conn_t *dead_head; /* closed connections awaiting free (linked by dead_next) */
    sl_req_t *live;       /* every request not in the pool */
    sl_req_t *notify_head, *notify_tail;
    sl_req_t *pool; /* free request structures (linked by next) */
    size_t pool_len;
    uint8_t *rbuf; /* read scratch buffer */
    size_t rbuf_size;
    sl_buf_t scratch; /* response head building */
    char date[64];    /* "Date: ...\r\n" */
    size_t date_len;
    int64_t date_sec;
    bool accept_paused;
};

struct sl_http_server {
    sl_http_server_config_t cfg; /* strings below are owned copies */
    char *bind_address, *tls_cert_file, *tls_key_file, *tls_dir;
    int port, tls_port;
    int idle_timeout_ms;
    int header_timeout_ms, body_timeout_ms, tls_handshake_timeout_ms;
    size_t max_connections;
    size_t request_budget, response_budget;
    atomic_size_t body_bytes;       /* request-body bytes buffered, all workers (large bodies) */
    atomic_size_t small_body_bytes; /* ... small bodies */
    SSL_CTX *ssl_ctx;
    nghttp2_session_callbacks *h2_callbacks;
    nghttp2_option *h2_option;
    int nworkers;
    sl_worker_t *workers;
};

/* ---- server.c: services for the protocol files ---- */
/* Queues conn for the prepare phase (flush output, resume input, close). */
void sl_conn_mark_dirty(sl_conn_t *c);
/* Closes the socket now (errors, client gone); requests still held by the handler survive. */
void sl_conn_abort(sl_conn_t *c);
/* Allocates a request linked to conn (NULL on allocation failure). */
sl_req_t *sl_req_new(sl_conn_t *c);
/* Reads decrypted (TLS) or plain bytes: >0 bytes, 0 at end of stream, SL_EAGAIN, SL_EIO. */
long sl_conn_recv(sl_conn_t *c, void *buf, size_t cap);
/* Frees the request if nothing holds it any more. */
void sl_req_maybe_free(sl_req_t *r);
/* Schedules on_close / on_writable for a streamed response, outside protocol callbacks. */
void sl_req_notify(sl_req_t *r, bool close, bool writable);
/* Dispatches a complete request to the handler (or, body_streamed, one whose head is). */
void sl_req_dispatch(sl_req_t *r);
/* Streamed request bodies: bytes arrived or the body completed (hands the next piece out from the
 * notification phase); the body cannot complete (code for on_error; no-op once complete). */
void sl_req_body_notify(sl_req_t *r);
void sl_req_body_fail(sl_req_t *r, int code);
/* Sets the epoll interest from the connection's state. */
void sl_conn_update_events(sl_conn_t *c);
/* Marks request activity on the connection (idle timer, LRU order). */
void sl_conn_touch(sl_conn_t *c);
/* True when c's unsent output is under SL_HTTP_CONN_OUTPUT_MAX and the process-wide total under
 * the response budget (streamed responses may go on). */
bool sl_conn_output_ok(sl_conn_t *c);
/* True when a new request may be dispatched on c: sl_conn_output_ok and, on HTTP/2, fewer
 * unanswered streams than its recent answer sizes allow. */
bool sl_conn_can_dispatch(sl_conn_t *c);
/* Puts c on its worker's wait list: the prepare phase looks at it again soon (recheck). */
void sl_conn_wait(sl_conn_t *c);
/* Request-body budget: may a body grow? Bodies announced at most SL_HTTP_BODY_SMALL_BYTES long
 * (`small`) have their own share, an eighth of the budget on top of it, so that large bodies held
 * open by slow clients never stall ordinary requests. A body stays in the share it started in. */
bool sl_body_budget_ok(sl_http_server_t *srv, bool small);
void sl_body_budget_add(sl_http_server_t *srv, bool small, size_t n);
void sl_body_budget_release(sl_http_server_t *srv, bool small, size_t n);
/* "Date: <IMF-fixdate>\r\n" for the current second. */
const char *sl_worker_date(sl_worker_t *w, size_t *len);
/* Standard reason phrase ("OK", "Not Found"), or "Unknown". */
const char *sl_http_reason(int status);
/* True for response header names the net layer sets itself (content-length, date, ...). */
bool sl_http_reserved_header(const char *name, size_t len, bool h2);

/* ---- http1.c ---- */
/* Consumes HTTP/1.1 input; returns bytes consumed. */
size_t sl_h1_input(sl_conn_t *c, const char *data, size_t len);
/* Reads a large Content-Length body straight into the body buffer when possible. Returns bytes
 * read (>0), 0 when not applicable, SL_EAGAIN, or another negative code (EOF: SL_ECLOSED). */
long sl_h1_direct_read(sl_conn_t *c);
void sl_h1_respond(sl_req_t *r, int status, const sl_http_header_t *headers, size_t n, void *body,
                   size_t body_len);
int sl_h1_stream_begin(sl_req_t *r, int status, const sl_http_header_t *headers, size_t n);
long sl_h1_stream_write(sl_req_t *r, const void *data, size_t len);
void sl_h1_stream_end(sl_req_t *r);
/* Sends a net-generated error response and closes after it. */
void sl_h1_error(sl_conn_t *c, int status, const char *reason);
/* True when reading more of the current request body must wait for the body budget. */
bool sl_h1_body_blocked(sl_conn_t *c);
/* The parser's stream_hook: asks the server's stream_body hook about the head (ctx = conn). */
bool sl_h1_stream_hook(void *ctx, const sl_http1_head_t *head);

/* ---- http2.c ---- */
int sl_h2_callbacks_create(sl_http_server_t *srv);
void sl_h2_callbacks_destroy(sl_http_server_t *srv);
/* Starts an HTTP/2 session on the connection (after the preface was seen or ALPN chose h2). */
int sl_h2_start(sl_conn_t *c);
/* Feeds input; returns 0 or a negative code (the connection must then be closed). */
int sl_h2_input(sl_conn_t *c, const char *data, size_t len);
/* Moves frames from nghttp2 into the output queue. Returns 0 or a negative code. */
int sl_h2_pump(sl_conn_t *c);
/* True when the session has finished (GOAWAY exchanged and no streams left). */
bool sl_h2_done(sl_conn_t *c);
void sl_h2_goaway(sl_conn_t *c);
void sl_h2_respond(sl_req_t *r, int status, const sl_http_header_t *headers, size_t n, void *body,
                   size_t body_len);
int sl_h2_stream_begin(sl_req_t *r, int status, const sl_http_header_t *headers, size_t n);
long sl_h2_stream_write(sl_req_t *r, const void *data, size_t len);
/* The stream's unsent bytes, or more than SL_NET_STREAM_HIGH_WATER when they wait for a
 * flow-control window of 0 (nothing of them can leave until the client opens it). */
long sl_h2_stream_backlog(sl_req_t *r);
void sl_h2_stream_end(sl_req_t *r);
/* Checks streamed responses for on_writable after output progressed. */
void sl_h2_check_writable(sl_conn_t *c);
/* Dispatches complete streams that waited for the output bound, while it allows. */
void sl_h2_dispatch_deferred(sl_conn_t *c);
/* Answers 408 to streams whose head and body did not arrive within the deadlines. */
void sl_h2_expire_streams(sl_conn_t *c, int64_t now_ms);

/* ---- tls.c ---- */
/* Builds the server TLS context (certificate from files, or a self-signed one kept in tls_dir),
 * with ALPN h2 and http/1.1. Returns 0 or a negative code. */
int sl_tls_ctx_create(const sl_http_server_t *srv, SSL_CTX **out);
/* True when ALPN selected "h2" on this TLS session. */
bool sl_tls_alpn_is_h2(SSL *ssl);

#endif
