/* The HTTP endpoint destination (docs/firehose.md "HTTP endpoint"; the delivery protocol v1.0):
 * a batch of buffered records is POSTed as {"requestId","timestamp","records":[{"data"}]} with
 * the X-Amz-Firehose-* headers; 200 with the same requestId is success, 413 a permanent failure,
 * anything else is retried with AWS's schedule (1 s doubling to 2 min, +-15 % jitter) for
 * RetryOptions.DurationInSeconds from the first failure, then the records go to the S3 backup
 * bucket as http-endpoint-failed error documents. The request id is derived from the batch, so
 * every retry of a batch, and its retry after a restart, carries the same one (the receiver's
 * dedup key): delivery is at least once, as AWS promises for HTTP endpoints.
 *
 * The outbound client lives on a net loop of its own thread; the delivery thread hands it one
 * call at a time and waits for the answer. */
#include "firehose/internal.h"

#include "core/common.h"
#include "core/log.h"
#include "core/time.h"
#include "net/client.h"
#include "net/loop.h"
#include "wire/base64.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define HTTP_TIMEOUT_MS (3 * 60 * 1000)    /* AWS waits 3 minutes for an answer */
#define HTTP_RECORDS_MAX 10000             /* records of one request (the protocol's bound) */
#define HTTP_RESPONSE_BYTES_MAX (1u << 20) /* the protocol's bound on a response body */
#define HTTP_BACKOFF_MS_MAX 120000

static void *loop_main(void *arg) {
    sl_firehose_t *fh = arg;
    sl_loop_run(fh->loop);
    return NULL;
}

static void client_init(void *arg) {
    sl_firehose_t *fh = arg;
    sl_http_client_config_t hc = {.timeout_ms = HTTP_TIMEOUT_MS,
                                  .response_body_max_bytes = HTTP_RESPONSE_BYTES_MAX};
    if (sl_http_client_create(fh->loop, &hc, &fh->http) != 0)
        SL_ERROR("firehose: no HTTP client: HTTP endpoint deliveries of account %s will fail",
                 fh->account);
}

int fh_http_start(sl_firehose_t *fh) {
    int rc = sl_loop_create(&fh->loop);
    if (rc == 0) rc = sl_loop_post(fh->loop, client_init, fh);
    if (rc == 0) rc = pthread_create(&fh->http_thread, NULL, loop_main, fh) ? SL_ENOMEM : 0;
    if (rc == 0) fh->http_started = true;
    return rc;
}

/* Destroying the client completes the call in flight (ESHUTDOWN), so a delivery waiting for a
 * slow endpoint returns at once; later calls find no client and fail the same way. */
static void client_destroy(void *arg) {
    sl_firehose_t *fh = arg;
    sl_http_client_destroy(fh->http);
    fh->http = NULL;
}

void fh_http_cancel(sl_firehose_t *fh) {
    if (fh->http_started) sl_loop_post(fh->loop, client_destroy, fh);
}

static void loop_stop(void *arg) {
    sl_firehose_t *fh = arg;
    sl_loop_stop(fh->loop);
}

void fh_http_stop(sl_firehose_t *fh) {
    if (fh->http_started) {
        sl_loop_post(fh->loop, client_destroy, fh);
        sl_loop_post(fh->loop, loop_stop, fh);
        pthread_join(fh->http_thread, NULL);
    }
    if (fh->loop) sl_loop_destroy(fh->loop);
    fh->loop = NULL;
}

/* ---- one synchronous call ---- */

typedef struct {
    sl_firehose_t *fh;
    const char *method;
    char origin[300];
    const char *path;
    sl_http_header_t *headers;
    size_t header_count;
    const void *body;
    size_t body_len;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int error, status;
    char *resp_body; /* malloc'd */
    size_t resp_len;
    /* Asynchronous calls: run on the loop thread once done is set (wakes the delivery thread). */
    void (*notify)(sl_firehose_t *fh);
} call_t;

static void call_finish(call_t *c, int error, int status, const uint8_t *body, size_t len) {
    void (*notify)(sl_firehose_t *) = c->notify;
    sl_firehose_t *fh = c->fh;
    pthread_mutex_lock(&c->mu);
    c->error = error;
    c->status = status;
    if (body && len) {
        c->resp_body = malloc(len + 1);
        if (c->resp_body) {
            memcpy(c->resp_body, body, len);
            c->resp_body[len] = 0;
            c->resp_len = len;
        }
    }
    c->done = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (notify) notify(fh); /* c may be freed by the delivery thread from here on */
}

static void call_done(sl_http_call_t *call, const sl_http_client_resp_t *resp, void *arg) {
    (void)call;
    call_finish(arg, resp->error, resp->status, resp->body, resp->body_len);
}

static void call_submit(void *arg) {
    call_t *c = arg;
    if (!c->fh->http) return call_finish(c, SL_HTTPC_ESHUTDOWN, 0, NULL, 0);
    sl_http_client_req_t r = {.origin = c->origin,
                              .version = SL_HTTPC_HTTP1,
                              .method = c->method,
                              .path = c->path,
                              .headers = c->headers,
                              .header_count = c->header_count,
                              .body = c->body,
                              .body_len = c->body_len,
                              .on_done = call_done,
                              .arg = c};
    if (sl_http_client_submit(c->fh->http, &r, NULL) != 0)
        call_finish(c, SL_HTTPC_EPROTO, 0, NULL, 0);
}

int fh_http_call(sl_firehose_t *fh, const char *method, const char *origin, const char *path,
                 const sl_http_header_t *headers, size_t header_count, const void *body, size_t len,
                 int *status, char **resp_body, size_t *resp_len) {
    call_t *c = calloc(1, sizeof *c);
    if (!c) return SL_HTTPC_ENOMEM;
    c->fh = fh;
    c->method = method;
    snprintf(c->origin, sizeof c->origin, "%s", origin);
    c->path = path;
    c->headers = (sl_http_header_t *)headers;
    c->header_count = header_count;
    c->body = body;
    c->body_len = len;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (sl_loop_post(fh->loop, call_submit, c) == 0) {
        pthread_mutex_lock(&c->mu);
        while (!c->done)
            pthread_cond_wait(&c->cv, &c->mu);
        pthread_mutex_unlock(&c->mu);
    } else {
        c->error = SL_HTTPC_ENOMEM;
    }
    int error = c->error;
    *status = c->status;
    if (resp_body) {
        *resp_body = c->resp_body;
        *resp_len = c->resp_len;
    } else {
        free(c->resp_body);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
    return error;
}

/* Splits "scheme://host[:port]/path?query" into the origin and the request target. */
static bool split_url(const char *url, char *origin, size_t cap, const char **path) {
    const char *p = strstr(url, "://");
    if (!p) return false;
    const char *slash = strchr(p + 3, '/');
    size_t n = slash ? (size_t)(slash - url) : strlen(url);
    if (n >= cap) return false;
    memcpy(origin, url, n);
    origin[n] = 0;
    *path = slash ? slash : "/";
    return true;
}

/* Is the URL's host a loopback address (http:// is accepted there only)? */
bool fh_http_url_allowed(const char *url) {
    if (strncmp(url, "https://", 8) == 0) return true;
    if (strncmp(url, "http://", 7) != 0) return false;
    const char *h = url + 7;
    return strncmp(h, "127.", 4) == 0 || strncmp(h, "localhost", 9) == 0 ||
           strncmp(h, "[::1]", 5) == 0;
}

/* ---- the batch ---- */

static const sl_val_t *get(const sl_val_t *m, const char *k) {
    return m ? sl_val_get(m, k) : NULL;
}

static const char *str(const sl_val_t *m, const char *k) {
    const sl_val_t *v = get(m, k);
    return v && v->type == SL_VAL_STRING ? v->u.str.ptr : NULL;
}

static void request_id_of(uint64_t log_id, uint64_t first_seq, char out[37]) {
    uint64_t a = (log_id ^ (first_seq * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
    uint64_t b = (a ^ (a >> 29)) * 0xc4ceb9fe1a85ec53ull;
    snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             (uint64_t)(a >> 32), (uint64_t)((a >> 16) & 0xffff), (uint64_t)(a & 0xffff),
             (uint64_t)(b >> 48), (uint64_t)(b & 0xffffffffffffull));
}

/* The record bodies of the batch, one after the other, and their sizes. */
typedef struct {
    sl_buf_t data;
    size_t *lens;
    size_t count, cap;
    int64_t first_arrival;
} records_t;

static void records_free(records_t *r) {
    sl_buf_free(&r->data);
    free(r->lens);
}

/* Reads [from, from+count) (count > 0), or from `from` up to bytes_max and HTTP_RECORDS_MAX. */
static int read_records(const fh_stream_t *s, uint64_t from, uint64_t count, uint64_t bytes_max,
                        records_t *out) {
    sl_shard_log_t *log = s->log;
    uint64_t got = 0;
    for (;;) {
        size_t want = count ? (size_t)(count - got) : HTTP_RECORDS_MAX - (size_t)got;
        if (want == 0) break;
        sl_read_result_t *res = NULL;
        int rc = fh_log_read(s, log, from + got, want, count ? (size_t)1 << 30 : bytes_max, &res);
        if (rc) return rc;
        size_t n = 0;
        for (size_t i = 0; i < res->count; i++) {
            const sl_record_t *rec = &res->records[i];
            if (rec->seq != from + got) break;
            if (!count && got && out->data.len + rec->data_len > bytes_max) break;
            if (out->count == out->cap) {
                size_t cap = out->cap ? out->cap * 2 : 64;
                size_t *l = realloc(out->lens, cap * sizeof *l);
                if (!l) {
                    sl_storage_read_free(res);
                    return SL_ENOMEM;
                }
                out->lens = l;
                out->cap = cap;
            }
            if (got == 0) out->first_arrival = rec->arrival_ms;
            out->lens[out->count++] = rec->data_len;
            sl_buf_append(&out->data, rec->data, rec->data_len);
            got++;
            n++;
        }
        sl_storage_read_free(res);
        if (sl_buf_failed(&out->data)) return SL_ENOMEM;
        if (n == 0 || (count && got >= count) || (!count && out->data.len >= bytes_max)) break;
    }
    if (count && got != count) return SL_ECORRUPT;
    return 0;
}

static void b64_into(sl_enc_t *e, const uint8_t *data, size_t len) {
    sl_enc_bytes(e, data, len); /* JSON blobs are base64 */
}

/* The request body of the protocol. */
static int build_body(const records_t *r, const char *request_id, int64_t now_ms, sl_buf_t *out) {
    sl_enc_t e;
    sl_enc_init(&e, out, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "requestId", request_id);
    sl_enc_kv_int(&e, "timestamp", now_ms);
    sl_enc_key(&e, "records");
    sl_enc_array_begin(&e);
    size_t at = 0;
    for (size_t i = 0; i < r->count; i++) {
        sl_enc_map_begin(&e);
        sl_enc_key(&e, "data");
        b64_into(&e, (const uint8_t *)r->data.data + at, r->lens[i]);
        sl_enc_map_end(&e);
        at += r->lens[i];
    }
    sl_enc_array_end(&e);
    sl_enc_map_end(&e);
    return sl_buf_failed(out) ? SL_ENOMEM : 0;
}

static int gzip_into(const void *data, size_t len, sl_buf_t *out) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return SL_ENOMEM;
    size_t bound = deflateBound(&z, (uLong)len);
    char *dst = sl_buf_reserve(out, bound);
    if (!dst) {
        deflateEnd(&z);
        return SL_ENOMEM;
    }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)dst;
    z.avail_out = (uInt)bound;
    int zr = deflate(&z, Z_FINISH);
    out->len += bound - z.avail_out;
    deflateEnd(&z);
    return zr == Z_STREAM_END ? 0 : SL_EINVAL;
}

/* An HTTP delivery in flight (s->http_flight): the batch, the request it sent and, once
 * call.done, the answer. Owned by the delivery thread; the loop thread fills the answer only. A
 * slow endpoint thus holds up its own delivery stream and no other. */
struct fh_http_flight {
    call_t call;
    records_t r;
    sl_buf_t json, gz;
    char attrs[8192];
    sl_http_header_t h[8];
    char *path;       /* malloc'd request target */
    char *access_key; /* malloc'd */
    bool submitted;
};

static void flight_free(fh_http_flight_t *f) {
    if (!f) return;
    if (f->submitted) {
        pthread_cond_destroy(&f->call.cv);
        pthread_mutex_destroy(&f->call.mu);
    }
    free(f->call.resp_body);
    records_free(&f->r);
    sl_buf_free(&f->json);
    sl_buf_free(&f->gz);
    free(f->path);
    free(f->access_key);
    free(f);
}

static bool flight_done(fh_http_flight_t *f) {
    pthread_mutex_lock(&f->call.mu);
    bool done = f->call.done;
    pthread_mutex_unlock(&f->call.mu);
    return done;
}

int fh_http_flight_state(const fh_stream_t *s) {
    if (!s->http_flight) return 0;
    return flight_done(s->http_flight) ? 2 : 1;
}

void fh_http_flight_release(fh_stream_t *s) {
    flight_free(s->http_flight);
    s->http_flight = NULL;
}

static void wake_delivery(sl_firehose_t *fh) {
    pthread_mutex_lock(&fh->mu);
    pthread_cond_broadcast(&fh->wake);
    pthread_mutex_unlock(&fh->mu);
}

/* Sends the flight's request (f->json) without waiting. Returns 0 when the call is under way, or
 * -1 (a failed attempt: the URL cannot be used) with the error code and message. */
static int post_begin(sl_firehose_t *fh, const fh_stream_t *s, const sl_val_t *dest,
                      const char *rid, fh_http_flight_t *f, char code[64], char message[1200]) {
    const sl_val_t *ep = get(dest, "EndpointConfiguration");
    const char *url = str(ep, "Url");
    const char *path = "/";
    if (!url || !split_url(url, f->call.origin, sizeof f->call.origin, &path) ||
        !(f->path = strdup(path))) {
        snprintf(code, 64, "HttpEndpoint.ConnectionFailed");
        snprintf(message, 1200, "The endpoint URL %s cannot be parsed.", url ? url : "(none)");
        return -1;
    }
    sl_http_header_t *h = f->h;
    size_t n = 0;
    sl_buf_t ab;
    sl_buf_init(&ab);
    sl_enc_t e;
    sl_enc_init(&e, &ab, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_key(&e, "commonAttributes");
    sl_enc_map_begin(&e);
    const sl_val_t *req = get(dest, "RequestConfiguration");
    const sl_val_t *list = get(req, "CommonAttributes");
    for (size_t i = 0; list && list->type == SL_VAL_ARRAY && i < list->u.arr.count; i++) {
        const char *k = str(list->u.arr.items[i], "AttributeName");
        const char *v = str(list->u.arr.items[i], "AttributeValue");
        if (k) sl_enc_kv_cstr(&e, k, v ? v : "");
    }
    sl_enc_map_end(&e);
    sl_enc_map_end(&e);
    snprintf(f->attrs, sizeof f->attrs, "%.*s", (int)ab.len, ab.data ? ab.data : "");
    sl_buf_free(&ab);
#define H(name, value) h[n++] = (sl_http_header_t){name, strlen(name), value, strlen(value)}
    H("content-type", "application/json");
    H("x-amz-firehose-protocol-version", "1.0");
    H("x-amz-firehose-request-id", rid);
    H("x-amz-firehose-source-arn", s->arn);
    H("x-amz-firehose-common-attributes", f->attrs);
    const char *key = str(ep, "AccessKey");
    if (key && (f->access_key = strdup(key))) H("x-amz-firehose-access-key", f->access_key);
    const char *encoding = str(req, "ContentEncoding");
    const void *payload = f->json.data;
    size_t payload_len = f->json.len;
    if (encoding && strcmp(encoding, "GZIP") == 0 &&
        gzip_into(f->json.data, f->json.len, &f->gz) == 0) {
        H("content-encoding", "gzip");
        payload = f->gz.data;
        payload_len = f->gz.len;
    }
#undef H
    /* the client copies headers at submit, on the loop thread later: their values live in the
     * flight (or the stream, which outlives its flight) until the answer */
    call_t *c = &f->call;
    c->fh = fh;
    c->method = "POST";
    c->path = f->path;
    c->headers = h;
    c->header_count = n;
    c->body = payload;
    c->body_len = payload_len;
    c->notify = wake_delivery;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    f->submitted = true;
    if (sl_loop_post(fh->loop, call_submit, c) != 0) call_finish(c, SL_HTTPC_ENOMEM, 0, NULL, 0);
    return 0;
}

/* The outcome of a finished flight: 0 (success), 1 (permanent failure: 413), 2 (the server is
 * closing), or -1 (retryable) with the error code and message for the error documents. */
static int post_end(fh_http_flight_t *f, const char *rid, char code[64], char message[1200]) {
    int error = f->call.error, status = f->call.status;
    const char *resp = f->call.resp_body;
    size_t resp_len = f->call.resp_len;
    int result = -1;
    if (error == SL_HTTPC_ESHUTDOWN) {
        result = 2; /* the server is closing: not an attempt; the batch stays buffered */
    } else if (error) {
        bool timeout = error == SL_HTTPC_ETIMEOUT;
        bool reset = error == SL_HTTPC_ERESET || error == SL_HTTPC_ECLOSED;
        snprintf(code, 64, "%s",
                 timeout                       ? "HttpEndpoint.RequestTimeout"
                 : reset                       ? "HttpEndpoint.ConnectionReset"
                 : error == SL_HTTPC_ETOOLARGE ? "HttpEndpoint.ResponseTooLarge"
                                               : "HttpEndpoint.ConnectionFailed");
        snprintf(message, 1200, "%s (%s).",
                 timeout ? "Firehose did not receive a response from the endpoint in time"
                         : "Firehose could not reach the endpoint",
                 sl_http_client_strerror(error));
    } else if (status == 413) {
        result = 1;
        snprintf(code, 64, "HttpEndpoint.DestinationException");
        snprintf(message, 1200, "The endpoint answered 413: the request is too large.");
    } else {
        /* 200 with a JSON body whose requestId is ours */
        bool ok = false;
        if (resp) {
            sl_arena_t a;
            sl_arena_init(&a, 4096);
            sl_val_t *v = NULL;
            const char *reason = NULL;
            char *copy = sl_arena_strndup(&a, resp, resp_len);
            if (copy && sl_json_parse(copy, resp_len, &a, &v, &reason) == 0) {
                const char *got = str(v, "requestId");
                ok = status == 200 && got && strcmp(got, rid) == 0 && get(v, "timestamp");
            }
            sl_arena_deinit(&a);
        }
        if (ok) {
            result = 0;
        } else if (status == 200) {
            snprintf(code, 64, "HttpEndpoint.InvalidResponseFromDestination");
            snprintf(message, 1200,
                     "The response received from the endpoint is invalid. See Troubleshooting "
                     "HTTP Endpoints in the Firehose documentation for more information.");
        } else {
            snprintf(code, 64, "HttpEndpoint.DestinationException");
            snprintf(message, 1200,
                     "Received the following response from the endpoint destination. %d: %.900s",
                     status, resp ? resp : "");
        }
    }
    return result;
}

/* Puts the batch's error documents (one JSON line per record) into the S3 backup bucket. */
static int backup_failed(sl_firehose_t *fh, fh_stream_t *s, const fh_dest_t *d, const records_t *r,
                         const char *code, const char *message, int attempts, int64_t version) {
    sl_buf_t docs, packed;
    sl_buf_init(&docs);
    sl_buf_init(&packed);
    int64_t now = sl_time_now_ms();
    size_t at = 0;
    for (size_t i = 0; i < r->count; i++) {
        sl_enc_t e;
        sl_enc_init(&e, &docs, SL_FMT_JSON);
        sl_enc_map_begin(&e);
        sl_enc_kv_int(&e, "attemptsMade", attempts);
        sl_enc_kv_int(&e, "arrivalTimestamp", r->first_arrival);
        sl_enc_kv_cstr(&e, "errorCode", code);
        sl_enc_kv_cstr(&e, "errorMessage", message);
        sl_enc_kv_int(&e, "attemptEndingTimestamp", now);
        sl_enc_key(&e, "rawData");
        sl_enc_bytes(&e, (const uint8_t *)r->data.data + at, r->lens[i]);
        sl_enc_kv_int(&e, "subsequenceNumber", 0);
        char data_id[64];
        snprintf(data_id, sizeof data_id, "%" PRIu64 "%020" PRIu64 ".0", s->log_id,
                 s->intent_first + i);
        sl_enc_kv_cstr(&e, "dataId", data_id);
        sl_enc_map_end(&e);
        sl_buf_append_byte(&docs, '\n');
        at += r->lens[i];
    }
    int rc = sl_buf_failed(&docs) ? SL_ENOMEM : 0;
    char key[1200];
    if (rc == 0)
        rc = fh_object_key(fh, d, s->name, version, s->log_id, s->intent_first, r->first_arrival,
                           "http-endpoint-failed", key, sizeof key);
    if (rc == 0)
        rc = fh_put_object(fh, s, d, key, s->intent_first, (const uint8_t *)docs.data, docs.len,
                           r->first_arrival);
    sl_buf_free(&docs);
    sl_buf_free(&packed);
    return rc;
}

int fh_deliver_http(sl_firehose_t *fh, fh_stream_t *s, const sl_val_t *dest, const fh_dest_t *d,
                    int64_t version, bool *done) {
    *done = false;
    records_t r = {.count = 0};
    sl_buf_init(&r.data);
    int rc = 0;
    char code[64] = "", message[1200] = "";
    int result;
    fh_http_flight_t *f = s->http_flight;
    if (f) { /* a request is under way: finish the batch once it is answered */
        if (!flight_done(f)) return 0;
        s->http_flight = NULL;
        result = post_end(f, s->intent_key, code, message);
        r = f->r;
        f->r = (records_t){.count = 0};
        sl_buf_init(&f->r.data);
        flight_free(f);
        goto answered;
    }
    if (!s->intent) {
        sl_shard_bounds_t b;
        rc = sl_storage_bounds(s->log, &b);
        if (rc == 0 && b.next_seq <= s->ckpt) {
            __atomic_store_n(&s->pending_bytes, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&s->pending_since_mono, 0, __ATOMIC_RELAXED);
            s->flush_now = false;
            records_free(&r);
            *done = true;
            return 0;
        }
        if (rc == 0) rc = read_records(s, s->ckpt, 0, d->size_bytes, &r);
        if (rc == 0 && r.count == 0) {
            records_free(&r);
            *done = true;
            return 0;
        }
        /* AllData: every record also goes to the S3 bucket, under the S3 configuration's
         * prefix (the failed ones besides as error documents) */
        fh_dest_t bd;
        char backup_key[1200] = "";
        bool all = fh_dest_read_backup("HttpEndpoint", dest, &bd);
        if (rc == 0 && all)
            rc = fh_object_key(fh, &bd, s->name, version, s->log_id ^ FH_BACKUP_SALT, s->ckpt,
                               r.first_arrival, NULL, backup_key, sizeof backup_key);
        if (rc == 0) {
            s->intent = true;
            s->intent_first = s->ckpt;
            s->intent_count = r.count;
            s->intent_bucket[0] = 0;
            snprintf(s->intent_backup_bucket, sizeof s->intent_backup_bucket, "%s",
                     all ? bd.bucket : "");
            snprintf(s->intent_backup_key, sizeof s->intent_backup_key, "%s", backup_key);
            s->intent_backup_done = false;
            request_id_of(s->log_id, s->ckpt, s->intent_key);
            rc = fh_progress_write(fh, s);
            if (rc) s->intent = false;
            s->first_failure_mono = 0;
            s->attempts = 0;
        }
    } else {
        rc = read_records(s, s->intent_first, s->intent_count, 0, &r);
    }
    if (rc) {
        records_free(&r);
        return rc;
    }
    if (!s->intent_backup_done && s->intent_backup_key[0]) {
        /* the AllData copy, once per batch (again after a restart: the same key and bytes) */
        fh_dest_t b = *d;
        snprintf(b.bucket, sizeof b.bucket, "%s", s->intent_backup_bucket);
        rc = fh_put_object(fh, s, &b, s->intent_backup_key, s->intent_first,
                           (const uint8_t *)r.data.data, r.data.len, r.first_arrival);
        if (rc) {
            records_free(&r);
            return rc;
        }
        s->intent_backup_done = true;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        records_free(&r);
        return SL_ENOMEM;
    }
    sl_buf_init(&f->json);
    sl_buf_init(&f->gz);
    rc = build_body(&r, s->intent_key, sl_time_now_ms(), &f->json);
    if (rc == 0) {
        f->r = r; /* the flight keeps the batch until the answer */
        if (post_begin(fh, s, dest, s->intent_key, f, code, message) == 0) {
            s->http_flight = f;
            return 0;
        }
        r = f->r;
        f->r = (records_t){.count = 0};
        sl_buf_init(&f->r.data);
    }
    flight_free(f);
    result = -1;
    if (rc) snprintf(code, 64, "HttpEndpoint.ConnectionFailed");
answered:
    if (result == 2) {
        records_free(&r);
        return 0;
    }
    s->attempts++;
    bool finished = result >= 0;
    if (result == 0) {
        sl_metric_add(s->metrics.http_success, 1);
        sl_metric_add(s->metrics.http_records, r.count);
        sl_metric_add(s->metrics.http_bytes, r.data.len);
    } else {
        sl_metric_add(s->metrics.http_success, 0);
        int64_t now = sl_time_mono_ms();
        if (!s->first_failure_mono) s->first_failure_mono = now;
        int64_t retry_ms = 300000;
        const sl_val_t *ro = get(dest, "RetryOptions");
        if (ro) sl_val_get_int(ro, "DurationInSeconds", &retry_ms), retry_ms *= 1000;
        SL_WARN("firehose: delivery stream %s: attempt %d to the HTTP endpoint failed: %s %s",
                s->name, s->attempts, code, message);
        if (result == 1) {
            SL_WARN("firehose: delivery stream %s: %zu records dropped (413 is permanent)", s->name,
                    r.count);
        } else if (now - s->first_failure_mono >= retry_ms) {
            /* out of retries: the batch goes to the backup bucket */
            rc = backup_failed(fh, s, d, &r, code, message, s->attempts, version);
            finished = rc == 0;
            if (rc)
                SL_WARN("firehose: delivery stream %s cannot write its failed records to "
                        "s3://%s: %s (retried)",
                        s->name, d->bucket, sl_strerror(rc));
        } else {
            int shift = SL_MIN(s->attempts - 1, 7);
            int64_t delay = SL_MIN((int64_t)HTTP_BACKOFF_MS_MAX, 1000ll << shift);
            delay = delay * (85 + (int64_t)((uint64_t)now * 2654435761u % 31)) / 100;
            s->retry_at_mono = now + delay;
        }
    }
    if (finished) {
        s->ckpt = s->intent_first + s->intent_count;
        s->intent = false;
        s->attempts = 0;
        s->first_failure_mono = 0;
        s->retry_at_mono = 0;
        rc = fh_progress_write(fh, s);
        int64_t left = __atomic_sub_fetch(&s->pending_bytes, (int64_t)r.data.len, __ATOMIC_RELAXED);
        sl_shard_bounds_t b;
        if (sl_storage_bounds(s->log, &b) == 0 && b.next_seq > s->ckpt) {
            __atomic_store_n(&s->pending_since_mono, sl_time_mono_ms(), __ATOMIC_RELAXED);
        } else {
            s->flush_now = false;
            if (left <= 0) __atomic_store_n(&s->pending_bytes, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&s->pending_since_mono, 0, __ATOMIC_RELAXED);
        }
        *done = true;
    }
    records_free(&r);
    return rc;
}
