/* The S3 binding (see binding.h). Every handler follows one shape: on the network thread it reads
 * its members into a job (in the request's arena), submits the job to the object store's worker
 * pool (SlowDown when the pool's queue is full), where the job's `work` runs the store's blocking
 * call; the job then posts itself back to the request's loop, where `done` encodes S3's answer.
 * No file, lock or fsync here: those are the store's. */
#include "api/s3/authz.h"
#include "api/s3/binding.h"

#include "api/s3/model.h"

#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "wire/base64.h"
#include "wire/value.h"
#include "wire/xml.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"

/* Owned by the composition root. */
struct sl_s3api {
    sl_objstore_pool_t *pool; /* not owned */
    char region[64];
};

int sl_s3api_create(sl_objstore_pool_t *pool, const char *region, sl_s3api_t **out) {
    sl_s3api_t *api = calloc(1, sizeof *api);
    if (!api) return SL_ENOMEM;
    api->pool = pool;
    snprintf(api->region, sizeof api->region, "%s", region);
    *out = api;
    return 0;
}

void sl_s3api_destroy(sl_s3api_t *api) {
    free(api);
}

static bool streamed_op(const sl_op_t *op);

void sl_s3api_describe(sl_s3api_t *api, sl_front_service_t *svc) {
    *svc = (sl_front_service_t){
        .name = "s3",
        .protocol = SL_FRONT_PROTO_REST_XML,
        .model = &sl_s3_model,
        .handler = sl_s3api_handler,
        .signing_name = sl_s3_model.signing_name,
        .sigv4_unsigned_payload = true, /* S3's SigV4 rules (front.h) */
        .streamed = streamed_op,
        .binding = api,
        .resource = sl_s3api_resource,
        .action_prefix = "s3",
        .action = sl_s3api_action,
    };
}

/* ---- jobs ---- */

typedef struct job job_t;
struct job {
    sl_front_call_t *call;
    sl_objstore_t *store;
    void (*work)(job_t *j); /* on a worker thread */
    void (*done)(job_t *j); /* on the request's loop, when work succeeded */
    int rc;
    sl_objstore_err_t err;
    bool head;
    const char *bucket, *key, *src_bucket, *src_key, *upload_id;
    int part_number;
    sl_objstore_header_t *headers;
    size_t header_count;
    bool replace;
    uint8_t md5[16];
    bool has_md5;
    sl_objstore_range_t range;
    sl_objstore_info_t info;
    void *data;
    uint64_t first, len;
    /* listings */
    sl_objstore_list_params_t list;
    sl_objstore_list_t result;
    bool v2, url_encoding, fetch_owner;
    const char *token;
    sl_objstore_bucket_t *buckets;
    size_t bucket_count;
    sl_objstore_part_t *parts;
    size_t part_count;
    bool truncated;
    int part_marker;
    char upload_id_out[65];
    char etag[48];
    /* streamed PutObject / UploadPart (see "streamed uploads" below) */
    sl_objstore_upload_t *up;
    sl_objstore_checksum_t checksum;
    const char *checksum_value; /* the header's, or the trailer's at the end */
    uint8_t *piece;             /* the piece being written (the front's, until body_next) */
    size_t piece_len;
    bool last;
    bool busy; /* a pool job of this upload is running */
    uint64_t received;
    bool failed; /* the upload ends with the error below (after the running job) */
    int fail_status;
    const char *fail_code, *fail_message;
    /* GetObject of more than SL_S3_GET_WHOLE_BYTES_MAX: streamed from the reader */
    sl_objstore_reader_t *reader;
    uint8_t *piece_buf; /* one piece read ahead (SL_S3_GET_PIECE_BYTES) */
    size_t piece_got;
    int read_rc;
    bool reading;     /* a pool job is reading the next piece */
    bool paused;      /* waiting for on_writable */
    bool client_gone; /* on_close came */
    bool ended;       /* the answer was ended or aborted: nothing more to do */
    /* DeleteObjects */
    const char **keys;
    size_t key_count;
    sl_objstore_err_t *errs;
    bool quiet;
};

static sl_s3api_t *api_of(sl_front_call_t *call) {
    return call->binding;
}

static void fail_code(sl_front_call_t *call, const sl_s3_error_t *code, const char *message) {
    sl_front_fail_status(call, code->status, code->code, message ? message : code->message, NULL,
                         NULL);
}

static void fail_err(sl_front_call_t *call, const sl_objstore_err_t *err) {
    const sl_s3_error_t *code = err->code ? err->code : SL_S3_INTERNAL_ERROR;
    sl_front_fail_status(call, code->status, code->code,
                         err->message ? err->message : code->message, err->detail_name,
                         err->detail_value);
}

static void finish(sl_front_call_t *call) {
    job_t *j = call->state;
    if (j->rc != 0) {
        free(j->data);
        sl_objstore_read_close(j->reader);
        j->reader = NULL;
        fail_err(call, &j->err);
        return;
    }
    j->done(j);
}

static void run(void *arg) {
    job_t *j = arg;
    j->work(j);
    sl_front_post(j->call, finish);
}

static job_t *new_job(sl_front_call_t *call) {
    job_t *j = sl_arena_calloc(call->arena, 1, sizeof *j);
    if (!j) {
        fail_code(call, SL_S3_INTERNAL_ERROR, NULL);
        return NULL;
    }
    j->call = call;
    j->store = call->account;
    j->head = strcmp(call->req->method, "HEAD") == 0;
    j->bucket = sl_val_get_str(call->in, "Bucket", NULL);
    j->key = sl_val_get_str(call->in, "Key", NULL);
    call->state = j;
    return j;
}

static void submit(job_t *j, void (*work)(job_t *), void (*done)(job_t *)) {
    j->work = work;
    j->done = done;
    if (sl_objstore_pool_submit(api_of(j->call)->pool, run, j) != 0)
        fail_code(j->call, SL_S3_SLOW_DOWN, NULL);
}

/* ---- encoding helpers ---- */

static void iso_time(int64_t ms, char out[32]) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

static const char *http_time(sl_arena_t *a, int64_t ms) {
    char *out = sl_arena_alloc(a, 40);
    if (!out) return "";
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return out;
}

static const char *quoted_etag(sl_arena_t *a, const char *etag) {
    return sl_arena_sprintf(a, "\"%s\"", etag);
}

/* A listing's text, percent-encoded when the client asked encoding-type=url. */
static void element_key(sl_xml_writer_t *w, const char *name, const char *text, bool url) {
    if (!url) {
        sl_xml_element(w, name, text);
        return;
    }
    sl_buf_t b = SL_BUF_INIT;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (isalnum(*p) || strchr("-_.~/", *p))
            sl_buf_append_byte(&b, *p);
        else
            sl_buf_printf(&b, "%%%02X", *p);
    }
    sl_xml_element_len(w, name, b.data ? b.data : "", b.len);
    sl_buf_free(&b);
}

static void reply_xml(sl_front_call_t *call, int status, sl_buf_t *b,
                      const sl_http_header_t *headers, size_t header_count) {
    if (sl_buf_failed(b)) {
        sl_buf_free(b);
        fail_code(call, SL_S3_INTERNAL_ERROR, NULL);
        return;
    }
    size_t len;
    char *body = sl_buf_detach(b, &len);
    sl_front_respond_ex(call, status, "application/xml", headers, header_count, body, len);
}

static void reply_empty(sl_front_call_t *call, int status, const sl_http_header_t *headers,
                        size_t header_count) {
    sl_front_respond_ex(call, status, NULL, headers, header_count, NULL, 0);
}

static sl_http_header_t hdr(const char *name, const char *value) {
    return (sl_http_header_t){name, strlen(name), value, strlen(value)};
}

/* ---- request helpers ---- */

static const char *req_header(sl_front_call_t *call, const char *lower) {
    const sl_http_header_t *h = sl_http_req_header(call->req, lower);
    return h ? sl_arena_strndup(call->arena, h->value, h->value_len) : NULL;
}

/* Content-MD5 into j->md5; false after answering InvalidDigest. */
static bool content_md5(job_t *j) {
    const char *v = req_header(j->call, "content-md5");
    if (!v) return true;
    uint8_t out[24];
    size_t n = strlen(v), len = 0;
    char bad;
    if (n != 24 || sl_base64_decode(v, n, out, &len, &bad) != SL_B64_OK || len != 16) {
        fail_code(j->call, SL_S3_INVALID_DIGEST, NULL);
        return false;
    }
    memcpy(j->md5, out, 16);
    j->has_md5 = true;
    return true;
}

static bool stored_header(const char *name, size_t len) {
    static const char *const names[] = {"content-type",        "content-encoding",
                                        "content-disposition", "content-language",
                                        "cache-control",       "expires"};
    if (len > 11 && strncmp(name, "x-amz-meta-", 11) == 0) return true;
    for (size_t i = 0; i < SL_ARRAY_LEN(names); i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) return true;
    return false;
}

/* The headers an object keeps (Content-Type and the other representation headers, every
 * x-amz-meta-*), with aws-chunked taken out of Content-Encoding; false after answering
 * MetadataTooLarge. */
static bool object_headers(job_t *j) {
    sl_http_req_t *req = j->call->req;
    j->headers = sl_arena_calloc(j->call->arena, req->header_count + 1, sizeof *j->headers);
    if (!j->headers) {
        fail_code(j->call, SL_S3_INTERNAL_ERROR, NULL);
        return false;
    }
    size_t meta_bytes = 0;
    for (size_t i = 0; i < req->header_count; i++) {
        const sl_http_header_t *h = &req->headers[i];
        if (!stored_header(h->name, h->name_len)) continue;
        const char *value = h->value;
        if (h->name_len == 16 && memcmp(h->name, "content-encoding", 16) == 0) {
            if (strncmp(value, "aws-chunked", 11) == 0) {
                value += 11;
                while (*value == ',' || *value == ' ')
                    value++;
            }
            if (!*value) continue;
        }
        if (h->name_len > 11 && strncmp(h->name, "x-amz-meta-", 11) == 0)
            meta_bytes += h->name_len - 11 + h->value_len;
        if (j->header_count >= SL_OBJSTORE_HEADERS_MAX || meta_bytes > SL_OBJSTORE_META_BYTES_MAX) {
            fail_code(j->call, SL_S3_METADATA_TOO_LARGE, NULL);
            return false;
        }
        j->headers[j->header_count++] = (sl_objstore_header_t){h->name, value};
    }
    return true;
}

/* The headers every object answer carries (GetObject, HeadObject). The checksum the object was
 * stored with is answered only when the client asks for it (x-amz-checksum-mode: ENABLED) and
 * the answer is the whole object, as S3 does. */
static size_t info_headers(job_t *j, sl_http_header_t *h, size_t cap) {
    sl_arena_t *a = j->call->arena;
    size_t n = 0;
    bool has_type = false;
    const char *mode = req_header(j->call, "x-amz-checksum-mode");
    bool checksum = mode && strcasecmp(mode, "ENABLED") == 0 && !j->range.set;
    h[n++] = hdr("ETag", quoted_etag(a, j->info.etag));
    h[n++] = hdr("Last-Modified", http_time(a, j->info.mtime_ms));
    h[n++] = hdr("Accept-Ranges", "bytes");
    for (size_t i = 0; i < j->info.header_count && n + 3 < cap; i++) {
        const sl_objstore_header_t *s = &j->info.headers[i];
        if (sl_objstore_checksum_is_header(s->name)) {
            if (!checksum) continue;
            h[n++] = hdr("x-amz-checksum-type", "FULL_OBJECT");
        }
        if (strcmp(s->name, "content-type") == 0) has_type = true;
        h[n++] = hdr(s->name, s->value);
    }
    if (!has_type) h[n++] = hdr("Content-Type", "binary/octet-stream");
    return n;
}

/* ---- buckets ---- */

static void create_bucket_work(job_t *j) {
    j->rc = sl_objstore_create_bucket(j->store, j->bucket, j->call->now_ms, &j->err);
    /* S3 answers BucketAlreadyOwnedByYou in every region but North Virginia, where re-creating a
     * bucket one already owns succeeds (200), for legacy compatibility. */
    if (j->rc && j->err.code == SL_S3_BUCKET_ALREADY_OWNED &&
        strcmp(api_of(j->call)->region, "us-east-1") == 0)
        j->rc = 0;
}

static void create_bucket_done(job_t *j) {
    sl_http_header_t h[1] = {hdr("Location", sl_arena_sprintf(j->call->arena, "/%s", j->bucket))};
    reply_empty(j->call, 200, h, 1);
}

static void create_bucket(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (!j) return;
    if (call->body_len > 0) { /* CreateBucketConfiguration: checked, its region not kept */
        sl_xml_node_t *root;
        const char *reason;
        if (sl_xml_parse((const char *)call->body, call->body_len, call->arena, &root, &reason) ||
            strcmp(root->local, "CreateBucketConfiguration") != 0) {
            fail_code(call, SL_S3_MALFORMED_XML, NULL);
            return;
        }
    }
    submit(j, create_bucket_work, create_bucket_done);
}

static void head_bucket_work(job_t *j) {
    j->rc = sl_objstore_head_bucket(j->store, j->bucket, &j->err);
}

static void head_bucket_done(job_t *j) {
    sl_http_header_t h[1] = {hdr("x-amz-bucket-region", api_of(j->call)->region)};
    reply_empty(j->call, 200, h, 1);
}

static void head_bucket(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (j) submit(j, head_bucket_work, head_bucket_done);
}

static void get_bucket_location_done(job_t *j) {
    sl_buf_t b = SL_BUF_INIT;
    sl_xml_writer_t w;
    sl_xml_writer_init(&w, &b);
    sl_xml_declaration(&w);
    sl_xml_open(&w, "LocationConstraint", S3_XMLNS);
    const char *region = api_of(j->call)->region;
    if (strcmp(region, "us-east-1") != 0) sl_xml_text(&w, region, strlen(region));
    sl_xml_finish(&w);
    reply_xml(j->call, 200, &b, NULL, 0);
}

static void get_bucket_location(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (j) submit(j, head_bucket_work, get_bucket_location_done);
}

static void delete_bucket_work(job_t *j) {
    j->rc = sl_objstore_delete_bucket(j->store, j->bucket, &j->err);
}

static void no_content_done(job_t *j) {
    reply_empty(j->call, 204, NULL, 0);
}

static void delete_bucket(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (j) submit(j, delete_bucket_work, no_content_done);
}

static void list_buckets_work(job_t *j) {
    j->rc = sl_objstore_list_buckets(j->store, j->call->arena, &j->buckets, &j->bucket_count);
    if (j->rc) j->err.code = SL_S3_INTERNAL_ERROR;
}

static void owner(sl_xml_writer_t *w) {
    sl_xml_open(w, "Owner", NULL);
    sl_xml_element(w, "ID", "sluice");
    sl_xml_element(w, "DisplayName", "sluice");
    sl_xml_close(w);
}

static void list_buckets_done(job_t *j) {
    sl_buf_t b = SL_BUF_INIT;
    sl_xml_writer_t w;
    sl_xml_writer_init(&w, &b);
    sl_xml_declaration(&w);
    sl_xml_open(&w, "ListAllMyBucketsResult", S3_XMLNS);
    owner(&w);
    sl_xml_open(&w, "Buckets", NULL);
    for (size_t i = 0; i < j->bucket_count; i++) {
        char t[32];
        iso_time(j->buckets[i].created_ms, t);
        sl_xml_open(&w, "Bucket", NULL);
        sl_xml_element(&w, "Name", j->buckets[i].name);
        sl_xml_element(&w, "CreationDate", t);
        sl_xml_close(&w);
    }
    sl_xml_finish(&w);
    reply_xml(j->call, 200, &b, NULL, 0);
}

static void list_buckets(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (j) submit(j, list_buckets_work, list_buckets_done);
}

/* ---- objects ---- */

static void etag_done(job_t *j) {
    sl_http_header_t h[3] = {hdr("ETag", quoted_etag(j->call->arena, j->info.etag))};
    size_t n = 1;
    const char *name = sl_objstore_checksum_header(j->checksum);
    if (name && j->checksum_value) { /* PutObject, UploadPart: the checksum verified */
        h[n++] = hdr(name, j->checksum_value);
        if (!j->upload_id) h[n++] = hdr("x-amz-checksum-type", "FULL_OBJECT");
    }
    reply_empty(j->call, 200, h, n);
}

/* Parses a Range header into j->range; an unparsable or multi-range value is ignored, as S3
 * does (the whole object is answered). */
static void parse_range(job_t *j) {
    const char *v = sl_val_get_str(j->call->in, "Range", NULL);
    if (!v || strncmp(v, "bytes=", 6) != 0 || strchr(v, ',')) return;
    const char *p = v + 6;
    char *end;
    if (*p == '-') {
        if (!isdigit((unsigned char)p[1])) return;
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (*end) return;
        j->range = (sl_objstore_range_t){.set = true, .suffix = true, .first = n};
        return;
    }
    if (!isdigit((unsigned char)*p)) return;
    unsigned long long a = strtoull(p, &end, 10);
    if (*end != '-') return;
    unsigned long long b = UINT64_MAX;
    if (end[1]) {
        const char *q = end + 1;
        if (!isdigit((unsigned char)*q)) return;
        b = strtoull(q, &end, 10);
        if (*end || b < a) return;
    }
    j->range = (sl_objstore_range_t){.set = true, .first = a, .last = b};
}

/* A HEAD reads the header only; a small answer is read whole here; a larger one keeps the reader
 * and is streamed (get_stream_*). */
static void get_object_work(job_t *j) {
    j->rc = sl_objstore_read_open(j->store, j->bucket, j->key, &j->range, j->call->arena, &j->info,
                                  j->head ? NULL : &j->reader, &j->first, &j->len, &j->err);
    if (j->rc || j->head || j->len > SL_S3_GET_WHOLE_BYTES_MAX) return;
    size_t got = 0;
    j->data = malloc(j->len ? (size_t)j->len : 1);
    int rc = j->data ? sl_objstore_read(j->reader, j->data, (size_t)j->len, &got) : SL_ENOMEM;
    sl_objstore_read_close(j->reader);
    j->reader = NULL;
    if (rc) {
        free(j->data);
        j->data = NULL;
        j->err = (sl_objstore_err_t){.code = SL_S3_INTERNAL_ERROR};
        j->rc = rc;
    }
}

/* ---- GetObject of a large object: streamed from its file ----
 * A pool job reads the next piece (SL_S3_GET_PIECE_BYTES) while the client takes the last one;
 * when the answer's backlog is over the high-water mark, the next read waits for on_writable. A
 * read error (a damaged object's CRC32C is checked with the last piece) aborts the answer: the
 * client sees it incomplete, never complete and wrong. */

static void get_stream_close(job_t *j, bool complete) {
    if (j->ended) return;
    j->ended = true;
    sl_objstore_read_close(j->reader);
    j->reader = NULL;
    free(j->piece_buf);
    j->piece_buf = NULL;
    if (complete)
        sl_http_stream_end(j->call->req);
    else
        sl_http_stream_abort(j->call->req);
}

static void get_stream_read(job_t *j) {
    j->read_rc = sl_objstore_read(j->reader, j->piece_buf, SL_S3_GET_PIECE_BYTES, &j->piece_got);
}

static void get_stream_piece(sl_front_call_t *call);

static void get_stream_read_job(void *arg) {
    job_t *j = arg;
    get_stream_read(j);
    sl_front_post(j->call, get_stream_piece);
}

static void get_stream_next(job_t *j) {
    j->reading = true;
    if (sl_objstore_pool_submit(api_of(j->call)->pool, get_stream_read_job, j) != 0) {
        get_stream_read(j); /* the pool's queue is full: read this piece here */
        get_stream_piece(j->call);
    }
}

/* On the loop: the piece that was read goes out, then the next one is read (or waits). */
static void get_stream_piece(sl_front_call_t *call) {
    job_t *j = call->state;
    j->reading = false;
    if (j->ended) return;
    if (j->client_gone) {
        get_stream_close(j, true); /* nothing is sent any more: only releases the request */
        return;
    }
    if (j->read_rc) {
        SL_ERROR("s3: GetObject %s/%s: reading the object failed (%s); the answer is cut off",
                 j->bucket, j->key, sl_strerror(j->read_rc));
        get_stream_close(j, false);
        return;
    }
    long backlog = sl_http_stream_write(call->req, j->piece_buf, j->piece_got);
    if (backlog < 0 || sl_objstore_read_left(j->reader) == 0) {
        get_stream_close(j, true);
        return;
    }
    if (backlog > (long)SL_HTTP_STREAM_HIGH_WATER)
        j->paused = true;
    else
        get_stream_next(j);
}

static void get_stream_writable(sl_http_req_t *req, void *arg) {
    (void)req;
    job_t *j = arg;
    if (!j->paused || j->ended) return;
    j->paused = false;
    get_stream_next(j);
}

static void get_stream_gone(sl_http_req_t *req, void *arg) {
    (void)req;
    job_t *j = arg;
    j->client_gone = true;
    if (!j->reading) get_stream_close(j, true);
}

static void get_stream_begin(job_t *j, int status, const sl_http_header_t *h, size_t n) {
    j->piece_buf = malloc(SL_S3_GET_PIECE_BYTES);
    if (!j->piece_buf) {
        sl_objstore_read_close(j->reader);
        j->reader = NULL;
        fail_code(j->call, SL_S3_INTERNAL_ERROR, NULL);
        return;
    }
    sl_http_stream_cbs_t cbs = {
        .on_writable = get_stream_writable, .on_close = get_stream_gone, .arg = j};
    if (sl_front_stream_sized(j->call, status, h, n, j->len, &cbs) != 0) {
        get_stream_close(j, true);
        return;
    }
    get_stream_next(j);
}

static void get_object_done(job_t *j) {
    sl_http_header_t h[SL_OBJSTORE_HEADERS_MAX + 8];
    size_t n = info_headers(j, h, SL_ARRAY_LEN(h) - 1);
    int status = 200;
    if (j->range.set) {
        status = 206;
        const char *cr = sl_arena_sprintf(
            j->call->arena, "bytes %llu-%llu/%llu", (unsigned long long)j->first,
            (unsigned long long)(j->first + j->len - 1), (unsigned long long)j->info.size);
        h[n++] = hdr("Content-Range", cr ? cr : "");
    }
    if (j->reader) {
        get_stream_begin(j, status, h, n);
        return;
    }
    void *data = j->data;
    j->data = NULL;
    sl_front_respond_ex(j->call, status, NULL, h, n, data, (size_t)j->len);
}

static void get_object(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (!j) return;
    parse_range(j);
    submit(j, get_object_work, get_object_done);
}

static void delete_object_work(job_t *j) {
    j->rc = sl_objstore_delete(j->store, j->bucket, j->key, &j->err);
}

static void delete_object(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (j) submit(j, delete_object_work, no_content_done);
}

static void delete_objects_work(job_t *j) {
    for (size_t i = 0; i < j->key_count; i++) {
        int rc = sl_objstore_delete(j->store, j->bucket, j->keys[i], &j->errs[i]);
        if (rc && j->errs[i].code == SL_S3_NO_SUCH_BUCKET) {
            j->rc = rc;
            j->err = j->errs[i];
            return;
        }
    }
}

static void delete_objects_done(job_t *j) {
    sl_buf_t b = SL_BUF_INIT;
    sl_xml_writer_t w;
    sl_xml_writer_init(&w, &b);
    sl_xml_declaration(&w);
    sl_xml_open(&w, "DeleteResult", S3_XMLNS);
    for (size_t i = 0; i < j->key_count; i++) {
        const sl_s3_error_t *code = j->errs[i].code;
        if (!code && j->quiet) continue;
        sl_xml_open(&w, code ? "Error" : "Deleted", NULL);
        sl_xml_element(&w, "Key", j->keys[i]);
        if (code) {
            sl_xml_element(&w, "Code", code->code);
            sl_xml_element(&w, "Message", j->errs[i].message ? j->errs[i].message : code->message);
        }
        sl_xml_close(&w);
    }
    sl_xml_finish(&w);
    reply_xml(j->call, 200, &b, NULL, 0);
}

static void delete_objects(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (!j) return;
    sl_xml_node_t *root;
    const char *reason;
    if (sl_xml_parse((const char *)call->body, call->body_len, call->arena, &root, &reason) != 0 ||
        strcmp(root->local, "Delete") != 0) {
        fail_code(call, SL_S3_MALFORMED_XML, NULL);
        return;
    }
    sl_xml_node_t *quiet = sl_xml_child(root, "Quiet");
    j->quiet = quiet && strcmp(quiet->text, "true") == 0;
    size_t n = 0;
    for (sl_xml_node_t *o = sl_xml_child(root, "Object"); o; o = sl_xml_next_same(o))
        n++;
    if (n == 0 || n > SL_OBJSTORE_DELETE_KEYS_MAX) {
        fail_code(call, SL_S3_MALFORMED_XML, NULL);
        return;
    }
    j->keys = sl_arena_calloc(call->arena, n, sizeof *j->keys);
    j->errs = sl_arena_calloc(call->arena, n, sizeof *j->errs);
    if (!j->keys || !j->errs) {
        fail_code(call, SL_S3_INTERNAL_ERROR, NULL);
        return;
    }
    for (sl_xml_node_t *o = sl_xml_child(root, "Object"); o; o = sl_xml_next_same(o)) {
        sl_xml_node_t *k = sl_xml_child(o, "Key");
        if (!k || strlen(k->text) != k->text_len) {
            fail_code(call, SL_S3_MALFORMED_XML, NULL);
            return;
        }
        j->keys[j->key_count++] = k->text;
    }
    submit(j, delete_objects_work, delete_objects_done);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* x-amz-copy-source: "[/]bucket/key[?versionId=...]", percent-encoded. */
static bool copy_source(job_t *j) {
    const char *v = sl_val_get_str(j->call->in, "CopySource", NULL);
    size_t n = v ? strcspn(v, "?") : 0;
    char *s = sl_arena_alloc(j->call->arena, n + 1);
    size_t k = 0;
    for (size_t i = 0; s && i < n; i++) {
        int hi, lo;
        if (v[i] == '%' && i + 2 < n && (hi = hexval(v[i + 1])) >= 0 &&
            (lo = hexval(v[i + 2])) >= 0) {
            s[k++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            s[k++] = v[i];
        }
    }
    if (s) s[k] = 0;
    bool ok = s && !memchr(s, 0, k);
    if (ok && *s == '/') s++;
    char *slash = ok ? strchr(s, '/') : NULL;
    if (!slash || slash == s || !slash[1]) {
        fail_code(j->call, SL_S3_INVALID_ARGUMENT, "Invalid copy source object key");
        return false;
    }
    *slash = 0;
    j->src_bucket = s;
    j->src_key = slash + 1;
    return true;
}

static void copy_object_work(job_t *j) {
    j->rc = sl_objstore_copy(j->store, j->src_bucket, j->src_key, j->bucket, j->key, j->headers,
                             j->header_count, j->replace, j->call->now_ms, j->call->arena, &j->info,
                             &j->err);
}

static void copy_object_done(job_t *j) {
    sl_buf_t b = SL_BUF_INIT;
    sl_xml_writer_t w;
    char t[32];
    iso_time(j->info.mtime_ms, t);
    sl_xml_writer_init(&w, &b);
    sl_xml_declaration(&w);
    sl_xml_open(&w, "CopyObjectResult", S3_XMLNS);
    sl_xml_element(&w, "LastModified", t);
    sl_xml_element(&w, "ETag", quoted_etag(j->call->arena, j->info.etag));
    sl_xml_finish(&w);
    reply_xml(j->call, 200, &b, NULL, 0);
}

static void copy_object(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (!j || !copy_source(j)) return;
    const char *directive = sl_val_get_str(call->in, "MetadataDirective", NULL);
    j->replace = directive && strcmp(directive, "REPLACE") == 0;
    if (directive && !j->replace && strcmp(directive, "COPY") != 0) {
        fail_code(call, SL_S3_INVALID_ARGUMENT, "Unknown metadata directive.");
        return;
    }
    if (j->replace && !object_headers(j)) return;
    submit(j, copy_object_work, copy_object_done);
}

/* ---- listings ---- */

static void list_objects_work(job_t *j) {
    j->rc = sl_objstore_list(j->store, j->bucket, &j->list, j->call->arena, &j->result, &j->err);
}

static void list_objects_done(job_t *j) {
    sl_front_call_t *call = j->call;
    const sl_objstore_list_t *r = &j->result;
    bool url = j->url_encoding;
    sl_buf_t b = SL_BUF_INIT;
    sl_xml_writer_t w;
    sl_xml_writer_init(&w, &b);
    sl_xml_declaration(&w);
    sl_xml_open(&w, "ListBucketResult", S3_XMLNS);
    sl_xml_element(&w, "Name", j->bucket);
    element_key(&w, "Prefix", j->list.prefix ? j->list.prefix : "", url);
    if (!j->v2) element_key(&w, "Marker", j->list.start_after ? j->list.start_after : "", url);
    if (j->list.delimiter) element_key(&w, "Delimiter", j->list.delimiter, url);
    sl_xml_element_fmt(&w, "MaxKeys", "%zu", j->list.max_keys);
    if (url) sl_xml_element(&w, "EncodingType", "url");
    if (j->v2) sl_xml_element_fmt(&w, "KeyCount", "%zu", r->object_count + r->prefix_count);
    sl_xml_element(&w, "IsTruncated", r->truncated ? "true" : "false");
    if (j->v2) {
        if (j->token) sl_xml_element(&w, "ContinuationToken", j->token);
        if (r->truncated && r->last) {
            size_t n = strlen(r->last);
            char *tok = sl_arena_alloc(call->arena, sl_base64_encoded_len(n) + 1);
            if (tok) {
                sl_base64_encode(r->last, n, tok);
                tok[sl_base64_encoded_len(n)] = 0;
                sl_xml_element(&w, "NextContinuationToken", tok);
            }
        }
        const char *sa = sl_val_get_str(call->in, "StartAfter", NULL);
        if (sa) element_key(&w, "StartAfter", sa, url);
    } else if (r->truncated && r->last) {
        element_key(&w, "NextMarker", r->last, url);
    }
    for (size_t i = 0; i < r->object_count; i++) {
        const sl_objstore_info_t *o = &r->objects[i];
        char t[32];
        iso_time(o->mtime_ms, t);
        sl_xml_open(&w, "Contents", NULL);
        element_key(&w, "Key", o->key, url);
        sl_xml_element(&w, "LastModified", t);
        sl_xml_element(&w, "ETag", quoted_etag(call->arena, o->etag));
        sl_xml_element_fmt(&w, "Size", "%llu", (unsigned long long)o->size);
        if (!j->v2 || j->fetch_owner) owner(&w);
        sl_xml_element(&w, "StorageClass", "STANDARD");
        sl_xml_close(&w);
    }
    for (size_t i = 0; i < r->prefix_count; i++) {
        sl_xml_open(&w, "CommonPrefixes", NULL);
        element_key(&w, "Prefix", r->prefixes[i], url);
        sl_xml_close(&w);
    }
    sl_xml_finish(&w);
    reply_xml(call, 200, &b, NULL, 0);
}

/* The members both ListObjects versions share; false after answering an error. */
static bool list_params(job_t *j) {
    sl_front_call_t *call = j->call;
    j->list.prefix = sl_val_get_str(call->in, "Prefix", NULL);
    j->list.delimiter = sl_val_get_str(call->in, "Delimiter", NULL);
    int64_t max = SL_OBJSTORE_LIST_KEYS_MAX;
    if (sl_val_get(call->in, "MaxKeys") &&
        (!sl_val_get_int(call->in, "MaxKeys", &max) || max < 0)) {
        fail_code(call, SL_S3_INVALID_ARGUMENT,
                  "Provided max-keys not an integer or within "
                  "integer range");
        return false;
    }
    j->list.max_keys = (size_t)SL_MIN(max, (int64_t)SL_OBJSTORE_LIST_KEYS_MAX);
    const char *enc = sl_val_get_str(call->in, "EncodingType", NULL);
    if (enc && strcmp(enc, "url") != 0) {
        fail_code(call, SL_S3_INVALID_ARGUMENT, "Invalid Encoding Method specified in Request");
        return false;
    }
    j->url_encoding = enc != NULL;
    return true;
}

static void list_objects_v2(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (!j || !list_params(j)) return;
    j->v2 = true;
    sl_val_get_bool(call->in, "FetchOwner", &j->fetch_owner);
    j->list.start_after = sl_val_get_str(call->in, "StartAfter", NULL);
    j->token = sl_val_get_str(call->in, "ContinuationToken", NULL);
    if (j->token) {
        size_t n = strlen(j->token), len = 0;
        char bad;
        uint8_t *key = sl_arena_alloc(call->arena, n / 4 * 3 + 1);
        if (!key || n == 0 || sl_base64_decode(j->token, n, key, &len, &bad) != SL_B64_OK ||
            memchr(key, 0, len)) {
            fail_code(call, SL_S3_INVALID_ARGUMENT, "The continuation token provided is incorrect");
            return;
        }
        key[len] = 0;
        j->list.start_after = (const char *)key;
    }
    submit(j, list_objects_work, list_objects_done);
}

static void list_objects(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (!j || !list_params(j)) return;
    j->list.start_after = sl_val_get_str(call->in, "Marker", NULL);
    submit(j, list_objects_work, list_objects_done);
}

/* ---- multipart uploads ---- */

static void mpu_create_work(job_t *j) {
    j->rc = sl_objstore_mpu_create(j->store, j->bucket, j->key, j->headers, j->header_count,
                                   j->call->now_ms, j->upload_id_out, &j->err);
}

static void mpu_create_done(job_t *j) {
    sl_buf_t b = SL_BUF_INIT;
    sl_xml_writer_t w;
    sl_xml_writer_init(&w, &b);
    sl_xml_declaration(&w);
    sl_xml_open(&w, "InitiateMultipartUploadResult", S3_XMLNS);
    sl_xml_element(&w, "Bucket", j->bucket);
    sl_xml_element(&w, "Key", j->key);
    sl_xml_element(&w, "UploadId", j->upload_id_out);
    sl_xml_finish(&w);
    reply_xml(j->call, 200, &b, NULL, 0);
}

static void create_multipart_upload(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (!j || !object_headers(j)) return;
    submit(j, mpu_create_work, mpu_create_done);
}

/* UploadId and, when `part` is set, PartNumber; false after answering an error. */
static bool upload_params(job_t *j, bool part) {
    j->upload_id = sl_val_get_str(j->call->in, "UploadId", NULL);
    int64_t n = 0;
    if (!j->upload_id) {
        fail_code(j->call, SL_S3_INVALID_ARGUMENT, "This operation requires an uploadId");
        return false;
    }
    if (part &&
        (!sl_val_get_int(j->call->in, "PartNumber", &n) || n < 1 || n > SL_OBJSTORE_PARTS_MAX)) {
        fail_code(j->call, SL_S3_INVALID_ARGUMENT,
                  "Part number must be an integer between 1 and 10000, inclusive");
        return false;
    }
    j->part_number = (int)n;
    return true;
}

static void mpu_complete_work(job_t *j) {
    j->rc =
        sl_objstore_mpu_complete(j->store, j->bucket, j->key, j->upload_id, j->parts, j->part_count,
                                 j->call->now_ms, j->call->arena, &j->info, &j->err);
}

static void mpu_complete_done(job_t *j) {
    sl_front_call_t *call = j->call;
    const char *host = req_header(call, "host");
    sl_buf_t b = SL_BUF_INIT;
    sl_xml_writer_t w;
    sl_xml_writer_init(&w, &b);
    sl_xml_declaration(&w);
    sl_xml_open(&w, "CompleteMultipartUploadResult", S3_XMLNS);
    sl_xml_element_fmt(&w, "Location", "http://%s/%s/%s", host ? host : "localhost", j->bucket,
                       j->key);
    sl_xml_element(&w, "Bucket", j->bucket);
    sl_xml_element(&w, "Key", j->key);
    sl_xml_element(&w, "ETag", quoted_etag(call->arena, j->info.etag));
    sl_xml_finish(&w);
    reply_xml(call, 200, &b, NULL, 0);
}

static void complete_multipart_upload(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (!j || !upload_params(j, false)) return;
    sl_xml_node_t *root;
    const char *reason;
    if (sl_xml_parse((const char *)call->body, call->body_len, call->arena, &root, &reason) != 0 ||
        strcmp(root->local, "CompleteMultipartUpload") != 0) {
        fail_code(call, SL_S3_MALFORMED_XML, NULL);
        return;
    }
    size_t n = 0;
    for (sl_xml_node_t *p = sl_xml_child(root, "Part"); p; p = sl_xml_next_same(p))
        n++;
    if (n > SL_OBJSTORE_PARTS_MAX) {
        fail_code(call, SL_S3_MALFORMED_XML, NULL);
        return;
    }
    j->parts = sl_arena_calloc(call->arena, n ? n : 1, sizeof *j->parts);
    if (!j->parts) {
        fail_code(call, SL_S3_INTERNAL_ERROR, NULL);
        return;
    }
    for (sl_xml_node_t *p = sl_xml_child(root, "Part"); p; p = sl_xml_next_same(p)) {
        sl_xml_node_t *num = sl_xml_child(p, "PartNumber"), *etag = sl_xml_child(p, "ETag");
        char *end;
        long v = num ? strtol(num->text, &end, 10) : 0;
        if (!num || !etag || !*num->text || *end || etag->text_len >= sizeof j->parts[0].etag) {
            fail_code(call, SL_S3_MALFORMED_XML, NULL);
            return;
        }
        sl_objstore_part_t *part = &j->parts[j->part_count++];
        part->number = v < 0 || v > SL_OBJSTORE_PARTS_MAX ? 0 : (int)v;
        memcpy(part->etag, etag->text, etag->text_len + 1);
    }
    submit(j, mpu_complete_work, mpu_complete_done);
}

static void mpu_abort_work(job_t *j) {
    j->rc = sl_objstore_mpu_abort(j->store, j->bucket, j->key, j->upload_id, &j->err);
}

static void abort_multipart_upload(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (j && upload_params(j, false)) submit(j, mpu_abort_work, no_content_done);
}

static void list_parts_work(job_t *j) {
    j->rc = sl_objstore_mpu_list_parts(j->store, j->bucket, j->key, j->upload_id, j->part_marker,
                                       j->list.max_keys, j->call->arena, &j->parts, &j->part_count,
                                       &j->truncated, &j->err);
}

static void list_parts_done(job_t *j) {
    sl_buf_t b = SL_BUF_INIT;
    sl_xml_writer_t w;
    sl_xml_writer_init(&w, &b);
    sl_xml_declaration(&w);
    sl_xml_open(&w, "ListPartsResult", S3_XMLNS);
    sl_xml_element(&w, "Bucket", j->bucket);
    sl_xml_element(&w, "Key", j->key);
    sl_xml_element(&w, "UploadId", j->upload_id);
    sl_xml_element_fmt(&w, "PartNumberMarker", "%d", j->part_marker);
    if (j->part_count)
        sl_xml_element_fmt(&w, "NextPartNumberMarker", "%d", j->parts[j->part_count - 1].number);
    sl_xml_element_fmt(&w, "MaxParts", "%zu", j->list.max_keys);
    sl_xml_element(&w, "IsTruncated", j->truncated ? "true" : "false");
    for (size_t i = 0; i < j->part_count; i++) {
        char t[32];
        iso_time(j->parts[i].mtime_ms, t);
        sl_xml_open(&w, "Part", NULL);
        sl_xml_element_fmt(&w, "PartNumber", "%d", j->parts[i].number);
        sl_xml_element(&w, "LastModified", t);
        sl_xml_element(&w, "ETag", quoted_etag(j->call->arena, j->parts[i].etag));
        sl_xml_element_fmt(&w, "Size", "%llu", (unsigned long long)j->parts[i].size);
        sl_xml_close(&w);
    }
    owner(&w);
    sl_xml_element(&w, "StorageClass", "STANDARD");
    sl_xml_finish(&w);
    reply_xml(j->call, 200, &b, NULL, 0);
}

static void list_parts(sl_front_call_t *call) {
    job_t *j = new_job(call);
    if (!j || !upload_params(j, false)) return;
    int64_t v = SL_OBJSTORE_LIST_KEYS_MAX, marker = 0;
    sl_val_get_int(call->in, "MaxParts", &v);
    sl_val_get_int(call->in, "PartNumberMarker", &marker);
    j->list.max_keys = (size_t)SL_MAX(0, SL_MIN(v, (int64_t)SL_OBJSTORE_LIST_KEYS_MAX));
    j->part_marker = (int)SL_MAX(0, SL_MIN(marker, (int64_t)SL_OBJSTORE_PARTS_MAX));
    submit(j, list_parts_work, list_parts_done);
}

/* ---- streamed uploads: PutObject and UploadPart ----
 * The body is written as it arrives (sl_front_body_read): a pool job opens the upload (the bucket,
 * key and upload checked before any byte is read), then each piece the front hands over is
 * written by a pool job of its own and given back (sl_front_body_next) only when written, so the
 * connection is read no faster than the disk takes it and at most about two pieces of a body are
 * in memory. The last piece's job also commits (digests checked, fsync, rename). A body that
 * fails (the front's checks, the client gone, a digest) aborts the upload on the pool, which
 * removes its temp file, before the error is answered. A buffered body (the front could not
 * stream it) goes the same way as one last piece. */

static void up_answer_failure(sl_front_call_t *call) {
    job_t *j = call->state;
    sl_front_fail_status(call, j->fail_status, j->fail_code, j->fail_message, NULL, NULL);
}

static void up_abort_work(void *arg) {
    job_t *j = arg;
    sl_objstore_upload_abort(j->up);
    j->up = NULL;
    sl_front_post(j->call, up_answer_failure);
}

/* Ends the upload with an error, on the loop while no job of it runs. */
static void up_fail_now(job_t *j) {
    if (!j->up) {
        up_answer_failure(j->call);
        return;
    }
    if (sl_objstore_pool_continue(api_of(j->call)->pool, up_abort_work, j) != 0) {
        /* Both halves of the queue are full: close the temp file here rather than leave it
         * (no fsync; it is removed at the next start otherwise). */
        sl_objstore_upload_abort(j->up);
        j->up = NULL;
        up_answer_failure(j->call);
    }
}

static void up_fail(job_t *j, int status, const char *code, const char *message) {
    if (j->failed) return;
    j->failed = true;
    j->fail_status = status;
    j->fail_code = code;
    j->fail_message = message;
    if (!j->busy) up_fail_now(j);
}

static void up_fail_code(job_t *j, const sl_s3_error_t *code, const char *message) {
    up_fail(j, code->status, code->code, message ? message : code->message);
}

static void up_written(sl_front_call_t *call);

static void up_write_work(void *arg) {
    job_t *j = arg;
    j->rc = sl_objstore_upload_write(j->up, j->piece, j->piece_len, &j->err);
    if (j->rc == 0 && j->last) {
        sl_objstore_upload_t *up = j->up;
        j->up = NULL; /* commit frees it, whatever it answers */
        j->rc = sl_objstore_upload_commit(up, j->has_md5 ? j->md5 : NULL, j->checksum_value,
                                          j->call->arena, &j->info, &j->err);
    } else if (j->rc) {
        sl_objstore_upload_abort(j->up);
        j->up = NULL;
    }
    sl_front_post(j->call, up_written);
}

static void up_written(sl_front_call_t *call) {
    job_t *j = call->state;
    j->busy = false;
    if (j->failed) {
        up_fail_now(j);
    } else if (j->rc) {
        fail_err(call, &j->err);
    } else if (j->last) {
        etag_done(j);
    } else {
        sl_front_body_next(call);
    }
}

/* The checksum a trailer carries, at the end of the body; false after failing the upload. */
static bool up_trailer_checksum(job_t *j) {
    if (j->checksum == SL_OBJSTORE_CHECKSUM_NONE || j->checksum_value) return true;
    sl_front_call_t *call = j->call;
    for (size_t i = 0; i < call->trailer_count; i++) {
        const sl_http_header_t *t = &call->trailers[i];
        if (sl_objstore_checksum_of_header(t->name, t->name_len) != j->checksum) continue;
        if (!sl_objstore_checksum_valid(j->checksum, t->value)) {
            up_fail_code(
                j, SL_S3_INVALID_REQUEST,
                sl_arena_sprintf(call->arena, "Value for %s trailing header is invalid.", t->name));
            return false;
        }
        j->checksum_value = t->value;
    }
    return true;
}

static void up_on_data(sl_front_call_t *call, uint8_t *data, size_t len, bool last) {
    job_t *j = call->state;
    if (j->failed) return;
    j->received += len;
    if (j->received > SL_OBJSTORE_OBJECT_BYTES_MAX) {
        up_fail_code(j, SL_S3_ENTITY_TOO_LARGE, NULL);
        return;
    }
    if (last && !up_trailer_checksum(j)) return;
    j->piece = data;
    j->piece_len = len;
    j->last = last;
    j->busy = true;
    if (sl_objstore_pool_continue(api_of(call)->pool, up_write_work, j) != 0) {
        j->busy = false;
        up_fail_code(j, SL_S3_SLOW_DOWN, NULL);
    }
}

static void up_on_error(sl_front_call_t *call, int status, const char *code, const char *message) {
    up_fail(call->state, status, code, message);
}

static void up_begin_work(job_t *j) {
    j->rc = sl_objstore_upload_begin(j->store, j->bucket, j->key, j->upload_id, j->part_number,
                                     j->headers, j->header_count, j->checksum, j->call->now_ms,
                                     &j->up, &j->err);
}

static void up_begun(job_t *j) {
    sl_front_call_t *call = j->call;
    if (call->body_streamed) {
        sl_front_body_read(call,
                           &(sl_front_body_cbs_t){.on_data = up_on_data, .on_error = up_on_error});
        return;
    }
    up_on_data(call, (uint8_t *)call->body, call->body_len, true);
}

/* x-amz-checksum-<algorithm> (its value checked now), or the algorithm whose value a trailer
 * brings (x-amz-trailer), or x-amz-sdk-checksum-algorithm; false after answering an error. */
static bool checksum_params(job_t *j) {
    sl_http_req_t *req = j->call->req;
    for (size_t i = 0; i < req->header_count; i++) {
        const sl_http_header_t *h = &req->headers[i];
        sl_objstore_checksum_t alg = sl_objstore_checksum_of_header(h->name, h->name_len);
        if (alg == SL_OBJSTORE_CHECKSUM_NONE) continue;
        if (j->checksum != SL_OBJSTORE_CHECKSUM_NONE) {
            fail_code(j->call, SL_S3_INVALID_REQUEST,
                      "Expecting a single x-amz-checksum- header. Multiple checksum Types are not "
                      "allowed.");
            return false;
        }
        if (!sl_objstore_checksum_valid(alg, h->value)) {
            fail_code(j->call, SL_S3_INVALID_REQUEST,
                      sl_arena_sprintf(j->call->arena, "Value for %s header is invalid.", h->name));
            return false;
        }
        j->checksum = alg;
        j->checksum_value = h->value;
    }
    if (j->checksum != SL_OBJSTORE_CHECKSUM_NONE) return true;
    const char *trailer = req_header(j->call, "x-amz-trailer");
    if (trailer) j->checksum = sl_objstore_checksum_of_header(trailer, strlen(trailer));
    const char *sdk = req_header(j->call, "x-amz-sdk-checksum-algorithm");
    if (sdk && j->checksum == SL_OBJSTORE_CHECKSUM_NONE) {
        fail_code(j->call, SL_S3_INVALID_REQUEST,
                  "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* "
                  "or x-amz-trailer headers were found.");
        return false;
    }
    return true;
}

static void upload(sl_front_call_t *call, bool part) {
    job_t *j = new_job(call);
    if (!j || (part && !upload_params(j, true)) || !content_md5(j) ||
        (!part && !object_headers(j)) || !checksum_params(j))
        return;
    uint64_t length = call->body_streamed ? call->body_length : call->body_len;
    if (length != UINT64_MAX && length > SL_OBJSTORE_OBJECT_BYTES_MAX) {
        sl_front_fail_status(call, SL_S3_ENTITY_TOO_LARGE->status, SL_S3_ENTITY_TOO_LARGE->code,
                             SL_S3_ENTITY_TOO_LARGE->message, "ProposedSize",
                             sl_arena_sprintf(call->arena, "%llu", (unsigned long long)length));
        return;
    }
    submit(j, up_begin_work, up_begun);
}

static void put_object(sl_front_call_t *call) {
    upload(call, false);
}

static void upload_part(sl_front_call_t *call) {
    upload(call, true);
}

static bool streamed_op(const sl_op_t *op) {
    return strcmp(op->name, "PutObject") == 0 || strcmp(op->name, "UploadPart") == 0;
}

/* ---- the operation table ---- */

static const struct {
    const char *name;
    sl_front_op_fn fn;
} handlers[] = {
    {"AbortMultipartUpload", abort_multipart_upload},
    {"CompleteMultipartUpload", complete_multipart_upload},
    {"CopyObject", copy_object},
    {"CreateBucket", create_bucket},
    {"CreateMultipartUpload", create_multipart_upload},
    {"DeleteBucket", delete_bucket},
    {"DeleteObject", delete_object},
    {"DeleteObjects", delete_objects},
    {"GetBucketLocation", get_bucket_location},
    {"GetObject", get_object},
    {"HeadBucket", head_bucket},
    {"HeadObject", get_object},
    {"ListBuckets", list_buckets},
    {"ListObjects", list_objects},
    {"ListObjectsV2", list_objects_v2},
    {"ListParts", list_parts},
    {"PutObject", put_object},
    {"UploadPart", upload_part},
};

sl_front_op_fn sl_s3api_handler(const char *op_name) {
    for (size_t i = 0; i < SL_ARRAY_LEN(handlers); i++)
        if (strcmp(handlers[i].name, op_name) == 0) return handlers[i].fn;
    return NULL;
}
