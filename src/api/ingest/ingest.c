/* The HTTP ingest front (see ingest.h): decode the path, the key and the records, ask the key hook,
 * put through the Kinesis core (kinesis/kinesis.h: sl_kinesis_put, as PutRecords does), answer
 * JSON. Errors are JSON too: {"errorCode": ..., "message": ...} with the HTTP status API Gateway
 * or Kinesis would use (403 for a missing or wrong key, 429 over the key's rate, 404 for an
 * unknown stream, 400 for a bad request). */
#include "api/ingest/ingest.h"

#include "core/buf.h"
#include "core/common.h"
#include "core/limits.h"
#include "kinesis/seqnum.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Owned by the composition root; read-only after creation. */
struct sl_ingest {
    sl_kinesis_t *kinesis;
    sl_ingest_auth_fn auth;
    void *auth_ctx;
};

typedef struct {
    sl_ingest_t *in;
    sl_kput_t op;
    bool batch;
} ingest_call_t;

static void respond_json(sl_front_call_t *call, int status, sl_buf_t *b) {
    if (sl_buf_failed(b)) {
        static const char oom[] =
            "{\"errorCode\":\"InternalFailure\",\"message\":\"out of memory\"}";
        sl_front_respond(call, 500, "application/json", oom, sizeof oom - 1);
    } else {
        sl_front_respond(call, status, "application/json", b->data, b->len);
    }
    sl_buf_free(b);
}

static void fail(sl_front_call_t *call, int status, const char *code, const char *message) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "errorCode", code);
    sl_enc_kv_cstr(&e, "message", message);
    sl_enc_map_end(&e);
    respond_json(call, status, &b);
}

static void fail_err(sl_front_call_t *call, const sl_kerr_t *err) {
    switch (err->type) {
    case SL_KERR_RESOURCE_NOT_FOUND:
        fail(call, 404, "ResourceNotFoundException", err->message);
        break;
    case SL_KERR_THROUGHPUT_EXCEEDED:
        fail(call, 429, "ProvisionedThroughputExceededException", err->message);
        break;
    case SL_KERR_INTERNAL:
        fail(call, 500, "InternalFailure", sl_strerror(err->cause));
        break;
    case SL_KERR_RESOURCE_IN_USE:
        fail(call, 400, "ResourceInUseException", err->message);
        break;
    default:
        fail(call, 400,
             err->type == SL_KERR_VALIDATION ? "ValidationException" : "InvalidArgumentException",
             err->message);
    }
}

/* ---- request decoding ---- */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) ('+' is a space in a query) into the arena; NULL on bad escapes. */
static char *url_decode(sl_arena_t *a, const char *s, size_t n, bool plus_space, size_t *len) {
    char *out = sl_arena_alloc(a, n + 1);
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int h, l;
            if (i + 2 >= n || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0) return NULL;
            out[k++] = (char)(h << 4 | l);
            i += 2;
        } else {
            out[k++] = plus_space && s[i] == '+' ? ' ' : s[i];
        }
    }
    out[k] = 0;
    *len = k;
    return out;
}

/* The decoded value of query parameter `name`, or NULL. */
static const char *query_param(sl_arena_t *a, const char *query, const char *name) {
    size_t nl = strlen(name);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            size_t out_len;
            return url_decode(a, p + nl + 1, len - nl - 1, true, &out_len);
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* A JSON pointer (RFC 6901) into the record's body: the string or number it names, or NULL. */
static const char *json_pointer(sl_arena_t *a, const uint8_t *data, size_t len, const char *ptr,
                                size_t *out_len) {
    char *copy = sl_arena_alloc(a, len + 1);
    if (!copy || *ptr != '/') return NULL;
    memcpy(copy, data, len);
    copy[len] = 0;
    sl_val_t *v = NULL;
    const char *reason;
    if (sl_json_parse(copy, len, a, &v, &reason) != 0) return NULL;
    for (const char *p = ptr; v && *p == '/';) {
        const char *start = ++p;
        while (*p && *p != '/')
            p++;
        /* Unescape ~1 -> '/', ~0 -> '~'. */
        char tok[256];
        size_t t = 0;
        for (const char *q = start; q < p && t + 1 < sizeof tok; q++) {
            if (*q == '~' && q + 1 < p && (q[1] == '0' || q[1] == '1')) {
                tok[t++] = q[1] == '0' ? '~' : '/';
                q++;
            } else {
                tok[t++] = *q;
            }
        }
        tok[t] = 0;
        if (v->type == SL_VAL_MAP) {
            v = sl_val_get(v, tok);
        } else if (v->type == SL_VAL_ARRAY) {
            char *end;
            long i = strtol(tok, &end, 10);
            v = *end || t == 0 || i < 0 || (size_t)i >= v->u.arr.count ? NULL : v->u.arr.items[i];
        } else {
            v = NULL;
        }
    }
    if (!v) return NULL;
    if (v->type == SL_VAL_STRING) {
        *out_len = v->u.str.len;
        return v->u.str.ptr;
    }
    if (v->type == SL_VAL_NUMBER && v->u.num.text) {
        *out_len = v->u.num.text_len;
        return v->u.num.text;
    }
    return NULL;
}

static size_t utf8_chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* ---- the put ---- */

static void finish(sl_front_call_t *call) {
    ingest_call_t *ic = call->state;
    sl_kput_t *op = &ic->op;
    if (op->err.type) {
        fail_err(call, &op->err);
        return;
    }
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    if (ic->batch) {
        sl_enc_map_begin(&e);
        sl_enc_kv_int(&e, "failedRecordCount", (int64_t)op->failed);
        sl_enc_key(&e, "records");
        sl_enc_array_begin(&e);
    }
    for (size_t i = 0; i < op->count; i++) {
        const sl_kput_entry_t *r = &op->entries[i];
        const sl_kput_group_t *g = &op->groups[r->group];
        sl_enc_map_begin(&e);
        if (g->status == 0) {
            char seq[64];
            sl_seqnum_t sn =
                sl_kinesis_seqnum(g->shard_created_ms, g->shard_index, r->seq, g->arrival_ms);
            size_t seq_len = sl_seqnum_format(&sn, seq);
            sl_enc_kv_str(&e, "shardId", g->shard_id, g->shard_id_len);
            sl_enc_kv_str(&e, "sequenceNumber", seq, seq_len);
        } else {
            sl_enc_kv_cstr(&e, "errorCode",
                           g->status == SL_EAGAIN ? "ProvisionedThroughputExceededException"
                                                  : "InternalFailure");
        }
        sl_enc_map_end(&e);
    }
    if (ic->batch) {
        sl_enc_array_end(&e);
        sl_enc_map_end(&e);
    }
    /* A single record that storage refused: the whole request failed. */
    int status = 200;
    if (!ic->batch && op->failed)
        status = op->groups[op->entries[0].group].status == SL_EAGAIN ? 429 : 500;
    respond_json(call, status, &b);
}

static void put_done(sl_kput_t *op) {
    sl_front_post(op->arg, finish);
}

/* Sets records[i].partition_key from the header, the query or a pointer into the body, else a
 * random key. Returns false (answered) on a bad key. */
static bool key_for(sl_front_call_t *call, sl_krecord_t *r, const char *header_key,
                    const char *query_key, const char *pointer) {
    const char *k = header_key ? header_key : query_key;
    size_t len = k ? strlen(k) : 0;
    if (!k && pointer) {
        k = json_pointer(call->arena, r->data, r->data_len, pointer, &len);
        if (!k) {
            fail(call, 400, "ValidationException",
                 "partitionKeyPointer does not name a string or number in the record");
            return false;
        }
    }
    if (!k) {
        char *rnd =
            sl_arena_sprintf(call->arena, "%08x%08x", (unsigned)random(), (unsigned)random());
        if (!rnd) return false;
        k = rnd;
        len = strlen(rnd);
    }
    size_t chars = utf8_chars(k, len);
    if (chars < 1 || chars > SL_KINESIS_PARTITION_KEY_CHARS_MAX) {
        fail(call, 400, "ValidationException", "the partition key must have 1 to 256 characters");
        return false;
    }
    r->partition_key = k;
    r->partition_key_len = len;
    return true;
}

static void handle(sl_front_call_t *call) {
    sl_ingest_t *in = call->route_ctx;
    sl_http_req_t *req = call->req;
    /* /ingest/{stream}[/batch][?query] */
    const char *path = req->path + strlen("/ingest/");
    const char *q = strchr(path, '?');
    size_t path_len = q ? (size_t)(q - path) : strlen(path);
    const char *query = q ? q + 1 : NULL;
    bool batch = path_len > 6 && !memcmp(path + path_len - 6, "/batch", 6);
    size_t name_len = batch ? path_len - 6 : path_len;
    size_t stream_len;
    char *stream = url_decode(call->arena, path, name_len, false, &stream_len);
    if (!stream || stream_len == 0 || memchr(stream, '/', stream_len) ||
        strlen(stream) != stream_len) {
        fail(call, 404, "NotFound", "POST /ingest/{stream} or /ingest/{stream}/batch");
        return;
    }
    /* Records. */
    size_t count = 1;
    if (batch) {
        count = 0;
        for (size_t i = 0; i < req->body_len;) {
            const uint8_t *nl = memchr(req->body + i, '\n', req->body_len - i);
            size_t end = nl ? (size_t)(nl - req->body) : req->body_len;
            size_t len = end - i;
            if (len && req->body[i + len - 1] == '\r') len--;
            if (len) count++;
            i = end + 1;
        }
        if (count == 0 || count > SL_KINESIS_PUT_RECORDS_MAX) {
            fail(call, 400, "ValidationException", "a batch holds 1 to 500 non-empty lines");
            return;
        }
    } else if (req->body_len == 0) {
        fail(call, 400, "ValidationException", "the record (request body) is empty");
        return;
    }
    const sl_http_header_t *key = sl_http_req_header(req, "x-api-key");
    int rc = in->auth(in->auth_ctx, key ? key->value : NULL, stream, count);
    if (rc == SL_EAGAIN) {
        fail(call, 429, "TooManyRequestsException", "Too Many Requests");
        return;
    }
    if (rc != 0) {
        fail(call, 403, "ForbiddenException", "Forbidden");
        return;
    }
    ingest_call_t *ic = sl_arena_calloc(call->arena, 1, sizeof *ic);
    sl_krecord_t *recs = sl_arena_calloc(call->arena, count, sizeof *recs);
    if (!ic || !recs) {
        fail(call, 500, "InternalFailure", "out of memory");
        return;
    }
    const sl_http_header_t *hk = sl_http_req_header(req, "x-partition-key");
    const char *query_key = query ? query_param(call->arena, query, "partitionKey") : NULL;
    const char *pointer = query ? query_param(call->arena, query, "partitionKeyPointer") : NULL;
    size_t n = 0;
    if (batch) {
        for (size_t i = 0; i < req->body_len;) {
            const uint8_t *nl = memchr(req->body + i, '\n', req->body_len - i);
            size_t end = nl ? (size_t)(nl - req->body) : req->body_len;
            size_t len = end - i;
            if (len && req->body[i + len - 1] == '\r') len--;
            if (len) recs[n++] = (sl_krecord_t){.data = req->body + i, .data_len = len};
            i = end + 1;
        }
    } else {
        recs[n++] = (sl_krecord_t){.data = req->body, .data_len = req->body_len};
    }
    for (size_t i = 0; i < n; i++)
        if (!key_for(call, &recs[i], hk ? hk->value : NULL, query_key, pointer)) return;
    ic->in = in;
    ic->batch = batch;
    ic->op = (sl_kput_t){.stream = {.name = stream, .name_len = stream_len},
                         .records = recs,
                         .count = n,
                         .single = false,
                         .now_ms = call->now_ms,
                         .arena = call->arena,
                         .cb = put_done,
                         .arg = call};
    /* A retried POST with the same key gets the first answer (kinesis/idem.h). */
    const sl_http_header_t *idem = sl_http_req_header(req, "x-sluice-idempotency-key");
    if (!idem) idem = sl_http_req_header(req, "idempotency-key");
    if (idem) {
        bool ok = idem->value_len >= 1 && idem->value_len <= SL_KINESIS_IDEMPOTENCY_KEY_BYTES_MAX;
        for (size_t i = 0; ok && i < idem->value_len; i++)
            ok = idem->value[i] > 0x20 && idem->value[i] < 0x7f;
        if (!ok) {
            fail(call, 400, "ValidationException",
                 "the idempotency key must be 1 to 128 printable ASCII characters");
            return;
        }
        ic->op.idempotency_key = idem->value;
        ic->op.idempotency_key_len = idem->value_len;
    }
    call->state = ic;
    if (sl_kinesis_put(in->kinesis, &ic->op) != SL_KINESIS_PENDING) finish(call);
}

int sl_ingest_create(sl_kinesis_t *k, sl_ingest_auth_fn auth, void *auth_ctx, sl_ingest_t **out) {
    sl_ingest_t *in = calloc(1, sizeof *in);
    if (!in) return SL_ENOMEM;
    in->kinesis = k;
    in->auth = auth;
    in->auth_ctx = auth_ctx;
    *out = in;
    return 0;
}

void sl_ingest_destroy(sl_ingest_t *in) {
    free(in);
}

int sl_ingest_register(sl_ingest_t *in, sl_front_t *front) {
    return sl_front_add_route(front, "POST", "/ingest/", true, handle, in);
}

static void handle_absent(sl_front_call_t *call) {
    fail(call, 404, "NotFoundException", "Not Found");
}

int sl_ingest_register_absent(sl_front_t *front) {
    return sl_front_add_route(front, "POST", "/ingest/", true, handle_absent, NULL);
}
