/* Outbound HTTP client: HTTP/1.1 and HTTP/2 (nghttp2), plain or TLS (OpenSSL), asynchronous on a
 * net event loop with completion callbacks. It is what every part of Sluice that talks to another
 * server uses (`sluice bench`, the client library, Firehose destinations, event-source mappings,
 * the agent); like the rest of net/ it knows nothing of AWS: callers build their own headers
 * (signatures included) and read the answer.
 *
 * Model:
 * - A client belongs to one loop and is used only on that loop's thread (create one per thread
 *   that needs one; two clients on one loop keep separate pools). Callbacks run on that thread.
 * - Requests go to an origin, "http://host:port" or "https://host:port", with a protocol choice.
 *   Each (origin, protocol) has a pool of keep-alive connections: HTTP/1.1 carries one request at a
 *   time per connection (no pipelining); HTTP/2 multiplexes up to `h2_streams_max` streams (and no
 *   more than the server allows) per connection. A call waits in its pool's queue when every
 *   connection is busy and no new one may be opened.
 * - HTTP/2 is used with prior knowledge on http:// (h2c) and through ALPN on https://.
 * - Host names are resolved once per pool, synchronously (getaddrinfo) on the loop thread, the
 *   first time the pool needs a connection; numeric addresses cost nothing.
 * - Bounds (src/core/limits.h): response head SL_HTTP_HEADER_BYTES_MAX and SL_HTTP_HEADERS_MAX,
 *   buffered body `response_body_max_bytes`, pools SL_HTTP_CLIENT_ORIGINS_MAX, queued calls
 *   SL_HTTP_CLIENT_QUEUED_MAX per pool.
 *
 * Typical use:
 *     sl_http_client_create(loop, NULL, &http);
 *     sl_http_client_req_t r = {.origin = "http://127.0.0.1:4567", .method = "POST", .path = "/",
 *                               .headers = hs, .header_count = n, .body = b, .body_len = len,
 *                               .on_done = done, .arg = ctx};
 *     sl_http_client_submit(http, &r, NULL);   // done(call, resp, ctx) runs later on the loop */
#ifndef SL_NET_CLIENT_H
#define SL_NET_CLIENT_H

#include "net/http.h"
#include "net/loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a call failed (sl_http_client_resp_t.error). A call that got a complete response has error
 * 0 whatever its HTTP status. Distinct from the SL_E* codes, which functions return. */
typedef enum {
    SL_HTTPC_OK = 0,
    SL_HTTPC_ERESOLVE = -101,         /* the host name did not resolve */
    SL_HTTPC_ECONNECT = -102,         /* connection refused or unreachable */
    SL_HTTPC_ECONNECT_TIMEOUT = -103, /* no connection (TCP + TLS) within the connect timeout */
    SL_HTTPC_ETLS = -104,             /* TLS handshake or certificate verification failed */
    SL_HTTPC_ETIMEOUT = -105,         /* the call's total timeout passed */
    SL_HTTPC_ECLOSED = -106,   /* the server closed the connection before the response ended */
    SL_HTTPC_ERESET = -107,    /* read or write error on the connection (reset by the peer) */
    SL_HTTPC_EPROTO = -108,    /* malformed HTTP/1.1 response or HTTP/2 protocol error */
    SL_HTTPC_ESTREAM = -109,   /* HTTP/2 stream reset by the server (resp.h2_error) or GOAWAY */
    SL_HTTPC_ETOOLARGE = -110, /* response head or buffered body over its bound */
    SL_HTTPC_ENOMEM = -111,    /* allocation failed */
    SL_HTTPC_ESHUTDOWN = -112, /* the client was destroyed with the call pending */
} sl_http_client_error_t;

/* Static text for an sl_http_client_error_t ("connection refused", ...). */
const char *sl_http_client_strerror(int error);

typedef enum {
    SL_HTTPC_AUTO =
        0,          /* http://: HTTP/1.1; https://: ALPN (h2 if the server agrees, else HTTP/1.1) */
    SL_HTTPC_HTTP1, /* HTTP/1.1 only */
    SL_HTTPC_HTTP2, /* HTTP/2 only: prior knowledge on http://, ALPN h2 required on https:// */
} sl_http_client_version_t;

typedef struct {
    int connect_timeout_ms; /* default per call; 0 = SL_HTTP_CLIENT_CONNECT_TIMEOUT_MS_DEFAULT */
    int timeout_ms; /* default total per call; 0 = SL_HTTP_CLIENT_TIMEOUT_MS_DEFAULT, <0 none */
    int idle_timeout_ms;        /* idle pooled connections closed; 0 =
                                   SL_HTTP_CLIENT_IDLE_TIMEOUT_MS_DEFAULT */
    int connections_per_origin; /* pool size; 0 = SL_HTTP_CLIENT_CONNS_PER_ORIGIN_DEFAULT */
    int h2_streams_max; /* streams per HTTP/2 connection; 0 = SL_HTTP_CLIENT_H2_STREAMS_DEFAULT */
    size_t response_body_max_bytes; /* buffered bodies; 0 =
                                       SL_HTTP_CLIENT_RESPONSE_BODY_MAX_BYTES_DEFAULT */
    const char *tls_ca_file;        /* PEM trust anchors for https://; NULL = the system's store */
    bool tls_insecure;              /* skip certificate and host name verification (tests only) */
} sl_http_client_config_t;

typedef struct sl_http_client sl_http_client_t;
typedef struct sl_http_call sl_http_call_t;

/* What a call produced. Valid only during the callback it is passed to. */
typedef struct {
    int error;                       /* 0 or an sl_http_client_error_t */
    int status;                      /* HTTP status, 0 when no response head arrived */
    int http_version;                /* 1 or 2 (0 before a connection was chosen) */
    const sl_http_header_t *headers; /* response headers, lower-case names, NUL-terminated */
    size_t header_count;
    const uint8_t *body; /* buffered mode: the whole body, followed by one NUL byte */
    size_t body_len;
    uint32_t h2_error; /* SL_HTTPC_ESTREAM: the HTTP/2 error code */
    bool reused;       /* the call went over a connection that had served another */
} sl_http_client_resp_t;

/* Completion: runs exactly once per submitted call, unless the call was cancelled. After it returns
 * the call handle is gone. It may submit new calls and cancel other ones. */
typedef void (*sl_http_client_done_fn)(sl_http_call_t *call, const sl_http_client_resp_t *resp,
                                       void *arg);
/* Streaming mode: the response head (status, headers; no body yet). */
typedef void (*sl_http_client_head_fn)(sl_http_call_t *call, const sl_http_client_resp_t *resp,
                                       void *arg);
/* Streaming mode: the next body bytes as they arrive (valid during the call only). */
typedef void (*sl_http_client_data_fn)(sl_http_call_t *call, const uint8_t *data, size_t len,
                                       void *arg);

typedef struct {
    const char *origin; /* "http://host:port" or "https://host:port" (port optional) */
    sl_http_client_version_t version;
    const char *method; /* "GET", "POST", ...; HEAD responses never have a body */
    const char *path;   /* request target, e.g. "/" or "/bucket/key?x=1" */
    /* Header names in lower case (HTTP/2 requires it). The client adds Host (:authority on
     * HTTP/2) unless a "host" header is given, and Content-Length when there is a body or the
     * method is POST or PUT. Copied at submit. */
    const sl_http_header_t *headers;
    size_t header_count;
    /* Borrowed, not copied: must stay valid and unchanged until on_done (or cancel). */
    const void *body;
    size_t body_len;
    int connect_timeout_ms;         /* 0 = the client's; bounds the wait for a new connection */
    int timeout_ms;                 /* 0 = the client's; < 0 = none (long-lived streams) */
    size_t response_body_max_bytes; /* 0 = the client's (buffered mode only) */
    /* Streaming mode when on_data is set: the body is delivered in pieces and not buffered
     * (resp.body is NULL in on_done); on_head, if set, runs once before the first piece. */
    sl_http_client_head_fn on_head;
    sl_http_client_data_fn on_data;
    sl_http_client_done_fn on_done; /* required */
    void *arg;
} sl_http_client_req_t;

/* Creates a client on `loop` (call on the loop's thread; cfg may be NULL for defaults). Returns 0
 * or SL_ENOMEM. TLS is set up with the first https:// pool: a tls_ca_file that does not load makes
 * those submits fail with SL_EINVAL. */
int sl_http_client_create(sl_loop_t *loop, const sl_http_client_config_t *cfg,
                          sl_http_client_t **out);

/* Closes every connection and completes every pending call with SL_HTTPC_ESHUTDOWN (their
 * on_done runs inside this call and must not submit). Not from inside a client callback. */
void sl_http_client_destroy(sl_http_client_t *client);

/* Starts a call (loop thread only). On success returns 0, sets *out (may be NULL) to a handle valid
 * until on_done returns or the call is cancelled, and on_done runs later - never inside this
 * function. On failure returns SL_EINVAL (bad origin, method, path or header name), SL_ELIMIT (too
 * many pools or queued calls) or SL_ENOMEM, and no callback runs. */
int sl_http_client_submit(sl_http_client_t *client, const sl_http_client_req_t *req,
                          sl_http_call_t **out);

/* Abandons a call whose on_done has not run: no callback of it runs afterwards. An HTTP/2 stream
 * is reset (the connection stays); an HTTP/1.1 connection that was carrying it is closed. May be
 * called from inside any of the client's callbacks, including the call's own on_head/on_data. */
void sl_http_client_cancel(sl_http_call_t *call);

/* Connections the client holds (open or opening) and how many of them are idle, for tests and
 * metrics. */
void sl_http_client_stats(const sl_http_client_t *client, int *connections, int *idle);

#endif
