/* Structures shared by the outbound client's files (client.c: pools, connections, TLS, timers and
 * HTTP/1.1; client_h2.c: HTTP/2 through nghttp2's client session). Not for other layers.
 *
 * Ownership: a client owns its pools (origins); a pool owns its connections and its queue of calls
 * waiting for one; a connection owns its socket, TLS session, nghttp2 session and buffers, and
 * lends itself to the calls it carries. A call is owned by the client from submit until its
 * on_done returns (or it is cancelled), then goes back to the client's pool of free calls.
 *
 * Re-entrancy: user callbacks may submit and cancel. A connection being worked on is pinned
 * (refs > 0): closing it then only marks it dead and the last unpin frees it; a call inside one of
 * its own callbacks is pinned the same way (in_cb). */
#ifndef SL_NET_CLIENT_INTERNAL_H
#define SL_NET_CLIENT_INTERNAL_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/limits.h"
#include "net/client.h"
#include "net/http1_response.h"
#include "net/loop_internal.h"

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Read sizes, output high-water mark and HTTP/2 windows: SL_HC_* in core/limits.h. The HTTP/2
 * windows are large so a 10 MiB response needs no WINDOW_UPDATE round trips; what a call buffers
 * is bounded by its body bound instead. */

typedef struct hc_origin hc_origin_t;
typedef struct hc_conn hc_conn_t;

enum { HC_CONNECTING, HC_TLS, HC_READY, HC_DEAD };

struct sl_http_call {
    sl_http_client_t *client;
    hc_origin_t *origin;
    hc_conn_t *conn;             /* while carried by a connection */
    sl_http_call_t *prev, *next; /* the pool's queue, or the connection's list */
    sl_arena_t arena;            /* request copies and the response head */
    /* request (copied at submit) */
    const char *method, *path;
    sl_http_header_t *headers;
    size_t header_count;
    bool has_host, head_method, needs_length;
    /* HTTP/1.1 pools: the request head serialised at submit instead of the copies above (kept
     * with the call when it is pooled, like rbody) */
    sl_buf_t head;
    bool head_text;
    const uint8_t *body;       /* borrowed */
    size_t body_len, body_off; /* body_off: HTTP/2 data provider position */
    int connect_timeout_ms;
    size_t body_max;
    sl_http_client_head_fn on_head;
    sl_http_client_data_fn on_data;
    sl_http_client_done_fn on_done;
    void *arg;
    sl_timer_t *timer; /* total timeout */
    /* response */
    sl_http_client_resp_t resp;
    sl_http_header_t *rheaders; /* HTTP/2: grown in the arena */
    size_t rheader_cap;
    sl_buf_t rbody;    /* buffered mode */
    int32_t stream_id; /* HTTP/2 */
    size_t rheader_bytes;
    int pending_error; /* HTTP/2: why the stream was reset by us (reported at close) */
    uint64_t seq;      /* queue order */
    bool head_delivered;
    bool finished; /* on_done ran or the call was cancelled */
    int in_cb;     /* nesting depth of this call's own callbacks */
};

struct hc_conn {
    hc_origin_t *origin;
    sl_loop_io_t io; /* the socket; the io callback finds the conn from it */
    int state;
    int refs; /* pins while an event is processed */
    SSL *ssl;
    bool h2;
    int served;               /* calls completed on this connection */
    hc_conn_t *prev, *next;   /* the pool's connections */
    hc_conn_t *aprev, *anext; /* the pool's available list (room for another call) */
    bool in_avail;
    int64_t idle_since_ms; /* when the last call left (0 while busy) */
    sl_timer_t *connect_timer;
    sl_timer_t *fail_timer; /* a failure found inside submit/cancel, acted on next iteration */
    int fail_error;
    sl_buf_t out; /* bytes to write before anything else */
    size_t out_off;
    bool want_write;       /* EPOLLOUT registered */
    sl_http_call_t *calls; /* the calls it carries (prev/next) */
    /* HTTP/1.1 */
    sl_http_call_t *h1_call;
    const uint8_t *h1_body; /* request body being written by pointer after `out` */
    size_t h1_body_len, h1_body_off;
    sl_http1_resp_parser_t rp;
    sl_buf_t in;
    size_t in_off;
    /* HTTP/2 */
    nghttp2_session *sess;
    int streams;       /* open streams */
    bool send_pending; /* frames to generate once the connection is unpinned */
    bool goaway;       /* no new streams */
};

struct hc_origin {
    sl_http_client_t *client;
    bool tls;
    sl_http_client_version_t version;
    char host[256]; /* without brackets for IPv6 literals */
    int port;
    char authority[300]; /* Host / :authority */
    char url[300];       /* as given, the pool key with `version` */
    bool resolved;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    hc_conn_t *conns;
    int nconns, nconnecting;
    hc_conn_t *avail;                /* connections with room for another call */
    sl_http_call_t *q_head, *q_tail; /* calls waiting for a connection */
    int queued;
    uint64_t seq;
};

struct sl_http_client {
    sl_loop_t *loop;
    sl_http_client_config_t cfg; /* defaults filled in */
    SSL_CTX *tls;                /* created on the first https:// pool */
    hc_origin_t *origins[SL_HTTP_CLIENT_ORIGINS_MAX];
    int norigins;
    sl_http_call_t *free_calls; /* finished calls kept for reuse (next-linked) */
    int nfree;
    uint8_t *scratch;  /* SL_HC_READ_BYTES, HTTP/2 reads */
    sl_timer_t *sweep; /* closes idle connections */
    bool destroying;
};

/* client.c, for client_h2.c */
void sl_hc_conn_close(hc_conn_t *c, int error);
void sl_hc_conn_pin(hc_conn_t *c);
void sl_hc_conn_unpin(hc_conn_t *c);
/* Reads into buf: > 0 bytes, 0 at end of stream, -1 would block, SL_HTTPC_E* on error. */
long sl_hc_conn_read(hc_conn_t *c, void *buf, size_t len);
/* Writes the output buffer: 1 when it is empty, 0 when the socket is full (EPOLLOUT is then
 * watched), or an SL_HTTPC_E* error. */
int sl_hc_conn_flush(hc_conn_t *c);
/* Closes the connection with `error` at the next loop iteration (safe inside submit and cancel). */
void sl_hc_conn_fail_later(hc_conn_t *c, int error);
/* Completes a call (error 0 = the response in call->resp is complete) and releases it. */
void sl_hc_call_finish(sl_http_call_t *call, int error);
/* Delivers the head / body bytes of a streaming call; false when the call was cancelled meanwhile.
 */
bool sl_hc_call_head(sl_http_call_t *call);
bool sl_hc_call_data(sl_http_call_t *call, const uint8_t *data, size_t len);
/* The connection has room for another call again (a call left it). */
void sl_hc_conn_released(hc_conn_t *c);
/* No more calls go to this connection (HTTP/2 GOAWAY). */
void sl_hc_conn_unavail(hc_conn_t *c);

/* client_h2.c */
int sl_hc_h2_start(hc_conn_t *c);
int sl_hc_h2_attach(hc_conn_t *c, sl_http_call_t *call);
void sl_hc_h2_readable(hc_conn_t *c);
/* Generates and writes pending frames (outside nghttp2 callbacks). */
void sl_hc_h2_flush(hc_conn_t *c);
void sl_hc_h2_cancel(hc_conn_t *c, sl_http_call_t *call);
/* Streams this connection may still open. */
int sl_hc_h2_room(const hc_conn_t *c);

#endif
