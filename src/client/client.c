/* libsluice client: one background thread running a net loop with the outbound HTTP client
 * (net/client.h), SigV4 signing of every Kinesis call (wire/sigv4.h), and blocking calls on top of
 * the asynchronous ones. Calls from other threads reach the loop through sl_loop_post. */
#include "client/internal.h"

#include "core/arena.h"
#include "core/common.h"
#include "net/client.h"
#include "wire/enc.h"
#include "wire/json.h"
#include "wire/sigv4.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static_assert(SLUICE_ENOMEM == SL_ENOMEM && SLUICE_EINVAL == SL_EINVAL && SLUICE_EIO == SL_EIO &&
                  SLUICE_ELIMIT == SL_ELIMIT && SLUICE_EAGAIN == SL_EAGAIN &&
                  SLUICE_ECLOSED == SL_ECLOSED,
              "public error codes follow core/common.h");

/* Owned by the application (create/destroy). The loop, the HTTP client and the signing key belong
 * to the client's thread. */
struct sl_client {
    sl_client_settings_t s;
    sl_http_client_config_t http_cfg;
    sl_http_client_version_t version;
    sl_loop_t *loop;
    sl_http_client_t *http; /* loop thread */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool ready;
    int start_rc;
    char key_date[2][9]; /* per service: date of the cached signing key (loop thread) */
    uint8_t key[2][32];
};

/* The services a client calls: Kinesis (AWS JSON 1.1) and DynamoDB (AWS JSON 1.0, the lease
 * table of the consumer), each with its target prefix, content type and signing name. */
typedef struct {
    const char *target_prefix;
    const char *content_type;
    const char *signing_name;
} service_t;

static const service_t services[2] = {
    {"Kinesis_20131202", "application/x-amz-json-1.1", "kinesis"},
    {"DynamoDB_20120810", "application/x-amz-json-1.0", "dynamodb"},
};

/* One call: owns copies of everything it sends. */
typedef struct {
    sl_client_t *client;
    sl_client_stream_t *stream; /* a streamed answer (SubscribeToShard); NULL: buffered */
    int service;                /* index in services */
    char target[96];
    char *body;
    size_t len;
    char *idempotency_key;
    char *get_path; /* a plain, unsigned GET of this path (sl_client_get) instead of an operation */
    sl_client_done_fn done;
    void *arg;
} call_t;

const char *sl_client_strerror(int code) {
    switch (code) {
    case 0:
        return "success";
    case SLUICE_ETIMEOUT:
        return "timed out";
    case SLUICE_ESERVICE:
        return "the service answered an error";
    case SLUICE_EEXPIRED:
        return "record expired before it was stored";
    default:
        return sl_strerror(code);
    }
}

int64_t sl_client_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

sl_loop_t *sl_client_loop(sl_client_t *client) {
    return client->loop;
}

const char *sl_client_endpoint(const sl_client_t *client) {
    return client->s.endpoint_url;
}

const char *sl_client_region(const sl_client_t *client) {
    return client->s.region;
}

static void *client_thread(void *arg) {
    sl_client_t *c = arg;
    int rc = sl_http_client_create(c->loop, &c->http_cfg, &c->http);
    pthread_mutex_lock(&c->mu);
    c->ready = true;
    c->start_rc = rc;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    if (rc == 0) sl_loop_run(c->loop);
    return NULL;
}

int sl_client_create(const sl_client_config_t *cfg, sl_client_t **out) {
    sl_client_t *c = calloc(1, sizeof *c);
    if (!c) return SL_ENOMEM;
    const char *why = NULL;
    int rc = sl_client_settings_resolve(cfg, &c->s, &why);
    if (rc != 0) {
        free(c);
        return rc;
    }
    c->http_cfg = (sl_http_client_config_t){
        .connect_timeout_ms = cfg && cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 6000,
        .timeout_ms = cfg && cfg->timeout_ms ? cfg->timeout_ms : 30000,
        .connections_per_origin = cfg && cfg->connections ? cfg->connections : 24,
        .tls_ca_file = cfg ? cfg->tls_ca_file : NULL,
        .tls_insecure = cfg && cfg->tls_insecure,
    };
    int v = cfg ? cfg->http_version : 0;
    c->version = v == 1 ? SL_HTTPC_HTTP1 : v == 2 ? SL_HTTPC_HTTP2 : SL_HTTPC_AUTO;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cond, NULL);
    rc = sl_loop_create(&c->loop);
    if (rc != 0) goto fail;
    if (pthread_create(&c->thread, NULL, client_thread, c) != 0) {
        rc = SL_ENOMEM;
        sl_loop_destroy(c->loop);
        goto fail;
    }
    pthread_mutex_lock(&c->mu);
    while (!c->ready)
        pthread_cond_wait(&c->cond, &c->mu);
    pthread_mutex_unlock(&c->mu);
    if (c->start_rc != 0) {
        rc = c->start_rc;
        pthread_join(c->thread, NULL);
        sl_loop_destroy(c->loop);
        goto fail;
    }
    *out = c;
    return 0;
fail:
    sl_client_settings_free(&c->s);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c);
    return rc;
}

static void stop_on_loop(void *arg) {
    sl_client_t *c = arg;
    sl_http_client_destroy(c->http);
    c->http = NULL;
    sl_loop_stop(c->loop);
}

void sl_client_destroy(sl_client_t *client) {
    if (!client) return;
    sl_loop_post(client->loop, stop_on_loop, client);
    pthread_join(client->thread, NULL);
    sl_loop_destroy(client->loop);
    sl_client_settings_free(&client->s);
    pthread_mutex_destroy(&client->mu);
    pthread_cond_destroy(&client->cond);
    free(client);
}

/* A call whose answer is read as it arrives (client/internal.h). The application thread reads
 * `pending`; the loop thread appends to it. Freed when both the reader (close) and the loop (the
 * call's end or its cancellation) let go: `refs` is touched on the loop thread only. */
struct sl_client_stream {
    sl_client_t *client;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    sl_buf_t pending;     /* mu */
    bool finished;        /* mu */
    int status;           /* mu */
    int error;            /* mu */
    sl_http_call_t *call; /* loop thread: while the call runs */
    call_t *k;            /* loop thread: the call's request */
    int refs;
};

static void call_free(call_t *k);

static void stream_unref(sl_client_stream_t *st) {
    if (--st->refs > 0) return;
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cond);
    sl_buf_free(&st->pending);
    free(st);
}

static void stream_head(sl_http_call_t *call, const sl_http_client_resp_t *resp, void *arg) {
    (void)call;
    call_t *k = arg;
    pthread_mutex_lock(&k->stream->mu);
    k->stream->status = resp->status;
    pthread_mutex_unlock(&k->stream->mu);
}

static void stream_data(sl_http_call_t *call, const uint8_t *data, size_t len, void *arg) {
    (void)call;
    call_t *k = arg;
    sl_client_stream_t *st = k->stream;
    pthread_mutex_lock(&st->mu);
    sl_buf_append(&st->pending, data, len);
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->mu);
}

/* The end of a streamed call (its done function, or its failure to start). */
static void stream_end(const sl_client_response_t *r, void *arg) {
    sl_client_stream_t *st = arg;
    pthread_mutex_lock(&st->mu);
    st->finished = true;
    st->error = r->error;
    if (r->status) st->status = r->status;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->mu);
    st->call = NULL;
    st->k = NULL; /* freed by the caller of done */
}

static void call_free(call_t *k) {
    free(k->body);
    free(k->idempotency_key);
    free(k->get_path);
    free(k);
}

/* Finds "__type" and "message" in an error body (a copy is parsed: the parser writes into it). */
static void error_parts(const uint8_t *body, size_t len, sl_arena_t *arena, const char **code,
                        const char **message) {
    *code = "";
    *message = "";
    char *copy = sl_arena_alloc(arena, len + 1);
    if (!copy) return;
    memcpy(copy, body, len);
    copy[len] = 0;
    sl_val_t *v = NULL;
    const char *reason;
    if (len == 0 || sl_json_parse(copy, len, arena, &v, &reason) != 0) return;
    const char *t = sl_val_get_str(v, "__type", NULL);
    if (t) {
        const char *hash = strrchr(t, '#');
        *code = hash ? hash + 1 : t;
    }
    const char *m = sl_val_get_str(v, "message", NULL);
    if (!m) m = sl_val_get_str(v, "Message", NULL);
    if (m) *message = m;
}

static void call_done(sl_http_call_t *call, const sl_http_client_resp_t *resp, void *arg) {
    (void)call;
    call_t *k = arg;
    sl_client_response_t r = {.status = resp->status,
                              .body = resp->body ? (const char *)resp->body : "",
                              .body_len = resp->body ? resp->body_len : 0};
    sl_arena_t arena;
    sl_arena_init(&arena, 1024);
    if (resp->error) {
        r.error = resp->error == SL_HTTPC_ESHUTDOWN ? SL_ECLOSED : SL_EIO;
        r.error_text = sl_http_client_strerror(resp->error);
        r.body = "";
        r.body_len = 0;
    } else if (resp->status != 200) {
        /* A streamed answer's error body went to the stream's reader, not here. */
        if (resp->body)
            error_parts(resp->body, r.body_len, &arena, &r.error_code, &r.error_message);
        else
            r.error_code = r.error_message = "";
        if (!*r.error_code) {
            char *t = sl_arena_sprintf(&arena, "HTTP%d", resp->status);
            r.error_code = t ? t : "HTTPError";
        }
    }
    sl_client_stream_t *st = k->stream;
    k->done(&r, k->arg);
    sl_arena_deinit(&arena);
    call_free(k);
    if (st) stream_unref(st);
}

static void fail_call(call_t *k, int error, const char *text) {
    sl_client_response_t r = {.error = error, .error_text = text, .body = ""};
    sl_client_stream_t *st = k->stream;
    k->done(&r, k->arg);
    call_free(k);
    if (st) stream_unref(st);
}

static void start_call(void *arg) {
    call_t *k = arg;
    sl_client_t *c = k->client;
    if (!c->http) {
        fail_call(k, SL_ECLOSED, "client closed");
        return;
    }
    if (k->get_path) {
        const sl_http_header_t host = {"host", 4, c->s.authority, strlen(c->s.authority)};
        sl_http_client_req_t q = {.origin = c->s.origin,
                                  .version = c->version,
                                  .method = "GET",
                                  .path = k->get_path,
                                  .headers = &host,
                                  .header_count = 1,
                                  .on_done = call_done,
                                  .arg = k};
        int rc = sl_http_client_submit(c->http, &q, NULL);
        if (rc != 0) fail_call(k, rc == SL_ELIMIT ? SL_EAGAIN : SL_EIO, sl_strerror(rc));
        return;
    }
    char amz_date[17], sha[65], auth[600];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    time_t t = now.tv_sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
    const service_t *svc = &services[k->service];
    char *key_date = c->key_date[k->service];
    uint8_t *key = c->key[k->service];
    if (memcmp(key_date, amz_date, 8) != 0) {
        memcpy(key_date, amz_date, 8);
        key_date[8] = 0;
        if (sl_sigv4_derive_key(c->s.secret_access_key, key_date, c->s.region, svc->signing_name,
                                key) != 0) {
            key_date[0] = 0;
            fail_call(k, SL_EINVAL, "secret access key too long");
            return;
        }
    }
    sl_sigv4_sha256_hex(k->body, k->len, sha);
    sl_sigv4_header_t sh[5] = {{"content-type", svc->content_type},
                               {"host", c->s.authority},
                               {"x-amz-date", amz_date},
                               {"x-amz-target", k->target},
                               {"x-amz-security-token", c->s.session_token}};
    sl_sigv4_sign_input_t in = {.method = "POST",
                                .path = "/",
                                .query = "",
                                .headers = sh,
                                .header_count = c->s.session_token ? 5 : 4,
                                .payload_sha256_hex = sha,
                                .amz_date = amz_date,
                                .access_key_id = c->s.access_key_id,
                                .region = c->s.region,
                                .service = svc->signing_name,
                                .signing_key = key};
    if (sl_sigv4_sign(&in, auth, sizeof auth) != 0) {
        fail_call(k, SL_EINVAL, "could not sign the request");
        return;
    }
    sl_http_header_t hs[7];
    size_t n = 0;
    hs[n++] = (sl_http_header_t){"host", 4, c->s.authority, strlen(c->s.authority)};
    hs[n++] = (sl_http_header_t){"content-type", 12, svc->content_type, strlen(svc->content_type)};
    hs[n++] = (sl_http_header_t){"x-amz-target", 12, k->target, strlen(k->target)};
    hs[n++] = (sl_http_header_t){"x-amz-date", 10, amz_date, strlen(amz_date)};
    hs[n++] = (sl_http_header_t){"authorization", 13, auth, strlen(auth)};
    if (c->s.session_token)
        hs[n++] = (sl_http_header_t){"x-amz-security-token", 20, c->s.session_token,
                                     strlen(c->s.session_token)};
    if (k->idempotency_key)
        hs[n++] = (sl_http_header_t){"x-sluice-idempotency-key", 24, k->idempotency_key,
                                     strlen(k->idempotency_key)};
    sl_http_client_req_t q = {.origin = c->s.origin,
                              .version = c->version,
                              .method = "POST",
                              .path = "/",
                              .headers = hs,
                              .header_count = n,
                              .body = k->body,
                              .body_len = k->len,
                              .on_done = call_done,
                              .arg = k};
    if (k->stream) {
        q.on_head = stream_head;
        q.on_data = stream_data;
        q.timeout_ms = -1; /* a subscription lasts minutes */
        k->stream->k = k;
    }
    int rc = sl_http_client_submit(c->http, &q, k->stream ? &k->stream->call : NULL);
    if (rc != 0) fail_call(k, rc == SL_ELIMIT ? SL_EAGAIN : SL_EIO, sl_strerror(rc));
}

static int call_service_stream(sl_client_t *client, int service, const char *operation,
                               const char *json, size_t len, const char *idempotency_key,
                               sl_client_done_fn done, void *arg, sl_client_stream_t *stream) {
    if (!client || !operation || !done || (!json && len)) return SL_EINVAL;
    call_t *k = calloc(1, sizeof *k);
    if (!k) return SL_ENOMEM;
    k->service = service;
    k->stream = stream;
    int w =
        snprintf(k->target, sizeof k->target, "%s.%s", services[service].target_prefix, operation);
    if (w < 0 || (size_t)w >= sizeof k->target) {
        free(k);
        return SL_EINVAL;
    }
    k->client = client;
    k->body = malloc(len + 1);
    k->idempotency_key = idempotency_key ? strdup(idempotency_key) : NULL;
    if (!k->body || (idempotency_key && !k->idempotency_key)) {
        call_free(k);
        return SL_ENOMEM;
    }
    if (len) memcpy(k->body, json, len);
    k->body[len] = 0;
    k->len = len;
    k->done = done;
    k->arg = arg;
    int rc = sl_loop_post(client->loop, start_call, k);
    if (rc != 0) call_free(k);
    return rc;
}

int sl_client_get(sl_client_t *client, const char *path, sl_client_done_fn done, void *arg) {
    if (!client || !path || path[0] != '/' || !done) return SL_EINVAL;
    call_t *k = calloc(1, sizeof *k);
    if (!k) return SL_ENOMEM;
    k->client = client;
    k->get_path = strdup(path);
    if (!k->get_path) {
        call_free(k);
        return SL_ENOMEM;
    }
    k->done = done;
    k->arg = arg;
    int rc = sl_loop_post(client->loop, start_call, k);
    if (rc != 0) call_free(k);
    return rc;
}

static int call_service(sl_client_t *client, int service, const char *operation, const char *json,
                        size_t len, const char *idempotency_key, sl_client_done_fn done,
                        void *arg) {
    return call_service_stream(client, service, operation, json, len, idempotency_key, done, arg,
                               NULL);
}

int sl_client_stream_open(sl_client_t *client, const char *operation, const char *json, size_t len,
                          sl_client_stream_t **out) {
    sl_client_stream_t *st = calloc(1, sizeof *st);
    if (!st) return SL_ENOMEM;
    st->client = client;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cond, NULL);
    sl_buf_init(&st->pending);
    st->refs = 2; /* the reader and the call */
    int rc = call_service_stream(client, 0, operation, json, len, NULL, stream_end, st, st);
    if (rc != 0) {
        st->refs = 1;
        stream_unref(st);
        return rc;
    }
    *out = st;
    return 0;
}

int sl_client_stream_read(sl_client_stream_t *st, sl_buf_t *into, int timeout_ms, int *status,
                          int *error) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&st->mu);
    while (st->pending.len == 0 && !st->finished)
        if (pthread_cond_timedwait(&st->cond, &st->mu, &until) != 0) break;
    int rc = 0;
    *status = st->status;
    *error = st->error;
    if (st->pending.len) {
        sl_buf_append(into, st->pending.data, st->pending.len);
        sl_buf_reset(&st->pending);
        rc = sl_buf_failed(into) ? SL_ENOMEM : 1;
    } else if (st->finished) {
        rc = -1;
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

static void stream_close_on_loop(void *arg) {
    sl_client_stream_t *st = arg;
    if (st->call) {
        /* Cancelled: its done function never runs, so its request and reference go here. */
        sl_http_client_cancel(st->call);
        st->call = NULL;
        call_free(st->k);
        st->k = NULL;
        st->refs--; /* the call's reference; the reader's goes below */
    }
    stream_unref(st);
}

void sl_client_stream_close(sl_client_stream_t *st) {
    if (!st) return;
    /* Posting fails only when memory is exhausted: the stream is then left to the client's
     * end (destroying the client completes the call). */
    sl_loop_post(st->client->loop, stream_close_on_loop, st);
}

int sl_client_call(sl_client_t *client, const char *operation, const char *json, size_t len,
                   const char *idempotency_key, sl_client_done_fn done, void *arg) {
    return call_service(client, 0, operation, json, len, idempotency_key, done, arg);
}

int sl_client_call_dynamodb(sl_client_t *client, const char *operation, const char *json,
                            size_t len, sl_client_done_fn done, void *arg) {
    return call_service(client, 1, operation, json, len, NULL, done, arg);
}

/* ---- blocking calls ---- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done;
    sl_client_result_t *out;
} sync_wait_t;

static void sync_done(const sl_client_response_t *r, void *arg) {
    sync_wait_t *w = arg;
    sl_client_result_t *o = w->out;
    o->error = r->error;
    o->status = r->status;
    o->body = malloc(r->body_len + 1);
    if (o->body) {
        memcpy(o->body, r->body, r->body_len);
        o->body[r->body_len] = 0;
        o->body_len = r->body_len;
    }
    if (r->error) {
        o->error_code = strdup("ConnectionError");
        o->error_message = strdup(r->error_text ? r->error_text : "");
    } else if (r->status != 200) {
        o->error_code = strdup(r->error_code);
        o->error_message = strdup(r->error_message);
    }
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

/* An operation of a service, or (get_path set) a plain GET, waited for. */
static int call_sync(sl_client_t *client, int service, const char *operation, const char *json,
                     size_t len, const char *get_path, sl_client_result_t *out) {
    memset(out, 0, sizeof *out);
    sync_wait_t w = {.out = out};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cond, NULL);
    int rc = get_path ? sl_client_get(client, get_path, sync_done, &w)
                      : call_service(client, service, operation, json, len, NULL, sync_done, &w);
    if (rc == 0) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cond, &w.mu);
        pthread_mutex_unlock(&w.mu);
        if (!out->body)
            rc = SL_ENOMEM;
        else if (out->error)
            rc = out->error == SL_ECLOSED ? SL_ECLOSED : SL_EIO;
        else if (out->status != 200)
            rc = SLUICE_ESERVICE;
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cond);
    return rc;
}

int sl_client_call_sync(sl_client_t *client, const char *operation, const char *json, size_t len,
                        sl_client_result_t *out) {
    return call_sync(client, 0, operation, json, len, NULL, out);
}

int sl_client_call_dynamodb_sync(sl_client_t *client, const char *operation, const char *json,
                                 size_t len, sl_client_result_t *out) {
    return call_sync(client, 1, operation, json, len, NULL, out);
}

int sl_client_get_sync(sl_client_t *client, const char *path, sl_client_result_t *out) {
    return call_sync(client, 0, NULL, NULL, 0, path, out);
}

int sl_client_list_shards(sl_client_t *client, const char *stream, sl_client_shard_fn fn, void *ctx,
                          char *err, size_t err_cap) {
    char *token = NULL;
    int rc = 0;
    do {
        sl_arena_t arena;
        sl_arena_init(&arena, 16384);
        sl_buf_t b = SL_BUF_INIT;
        sl_enc_t e;
        sl_enc_init(&e, &b, SL_FMT_JSON);
        sl_enc_map_begin(&e);
        sl_enc_kv_cstr(&e, token ? "NextToken" : "StreamName", token ? token : stream);
        sl_enc_map_end(&e);
        free(token);
        token = NULL;
        sl_client_result_t res = {0};
        rc = sl_buf_failed(&b) ? SL_ENOMEM
                               : sl_client_call_sync(client, "ListShards", b.data, b.len, &res);
        sl_buf_free(&b);
        sl_val_t *v = NULL;
        if (rc == 0) {
            char *copy = sl_arena_strndup(&arena, res.body, res.body_len);
            const char *reason;
            if (!copy || sl_json_parse(copy, res.body_len, &arena, &v, &reason) != 0) {
                snprintf(err, err_cap, "ListShards on %s: malformed answer", stream);
                rc = SLUICE_ESERVICE;
            }
        } else {
            snprintf(err, err_cap, "ListShards on %s: %s: %s", stream,
                     res.error_code ? res.error_code : "Error",
                     res.error_message ? res.error_message : sl_client_strerror(rc));
        }
        sl_client_result_free(&res);
        const sl_val_t *shards = rc == 0 ? sl_val_get(v, "Shards") : NULL;
        for (size_t i = 0; shards && shards->type == SL_VAL_ARRAY && i < shards->u.arr.count; i++) {
            const sl_val_t *s = shards->u.arr.items[i];
            const sl_val_t *hr = sl_val_get(s, "HashKeyRange");
            const sl_val_t *sr = sl_val_get(s, "SequenceNumberRange");
            sl_client_shard_t sh = {
                .id = sl_val_get_str(s, "ShardId", NULL),
                .parent = sl_val_get_str(s, "ParentShardId", NULL) ?: "",
                .adjacent = sl_val_get_str(s, "AdjacentParentShardId", NULL) ?: "",
                .start_hash = hr ? sl_val_get_str(hr, "StartingHashKey", NULL) ?: "" : "",
                .end_hash = hr ? sl_val_get_str(hr, "EndingHashKey", NULL) ?: "" : "",
                .closed = sr && sl_val_get(sr, "EndingSequenceNumber"),
            };
            if (sh.id && (rc = fn(ctx, &sh)) != 0) break;
        }
        const char *next = rc == 0 ? sl_val_get_str(v, "NextToken", NULL) : NULL;
        if (next && !(token = strdup(next))) rc = SL_ENOMEM;
        sl_arena_deinit(&arena);
    } while (rc == 0 && token);
    free(token);
    return rc;
}

void sl_client_result_free(sl_client_result_t *r) {
    free(r->body);
    free(r->error_code);
    free(r->error_message);
    memset(r, 0, sizeof *r);
}
