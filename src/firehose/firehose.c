/* Delivery streams: the control plane, persistence and PutRecord(Batch) (see firehose.h). */
#include "firehose/internal.h"

#include "core/common.h"
#include "core/log.h"
#include "core/time.h"
#include "firehose/prefix.h"
#include "wire/enc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char STREAMS[] = "streams";
static const char PROGRESS[] = "progress";
static const char SOURCES[] = "sources";
static const char DESTINATION_ID[] = "destinationId-000000000001";

bool fh_fail(sl_fherr_t *err, sl_fherr_type_t type, const char *fmt, ...) {
    err->type = type;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}

static int fail_internal(sl_fherr_t *err, int rc) {
    fh_fail(err, SL_FHERR_INTERNAL, "%s", sl_strerror(rc));
    return -1;
}

int64_t fh_now_ms(const sl_firehose_t *fh) {
    return fh->cfg.fixed_time_ms ? fh->cfg.fixed_time_ms : sl_time_now_ms();
}

/* ---- lookup ---- */

/* Index of the first stream whose name is >= name. */
static size_t lower_bound(const sl_firehose_t *fh, const char *name) {
    size_t lo = 0, hi = fh->stream_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(fh->streams[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static fh_stream_t *find(const sl_firehose_t *fh, const char *name) {
    size_t i = lower_bound(fh, name);
    return i < fh->stream_count && strcmp(fh->streams[i]->name, name) == 0 ? fh->streams[i] : NULL;
}

static bool not_found(sl_firehose_t *fh, const char *name, sl_fherr_t *err) {
    return fh_fail(err, SL_FHERR_NOT_FOUND, "Firehose %s under account %s not found.", name,
                   fh->account);
}

static const char *status_of(const sl_firehose_t *fh, const fh_stream_t *s) {
    if (strcmp(s->status, "ACTIVE") == 0 && sl_time_now_ms() < s->created_ms + fh->cfg.create_ms)
        return "CREATING";
    return s->status;
}

/* ---- persistence ---- */

static void stream_free(fh_stream_t *s) {
    if (!s) return;
    for (size_t i = 0; i < s->tag_count; i++) {
        free(s->tags[i].key);
        free(s->tags[i].value);
    }
    sl_arena_deinit(&s->dest_arena);
    fh_keys_free(s);
    fh_source_free(s);
    free(s);
}

static void kv_str(sl_arena_t *a, sl_val_t *m, const char *k, const char *v) {
    if (v && v[0]) fh_val_set(a, m, k, fh_val_str(a, v));
}

/* The stream's row (everything but progress) as JSON. */
static int stream_doc(const fh_stream_t *s, sl_buf_t *out) {
    sl_arena_t a;
    sl_arena_init(&a, 4096);
    sl_val_t *m = fh_val_map(&a);
    kv_str(&a, m, "Name", s->name);
    kv_str(&a, m, "ARN", s->arn);
    kv_str(&a, m, "Type", s->type);
    kv_str(&a, m, "Status", s->status);
    fh_val_set(&a, m, "Version", fh_val_int(&a, s->version));
    fh_val_set(&a, m, "Created", fh_val_int(&a, s->created_ms));
    fh_val_set(&a, m, "Updated", fh_val_int(&a, s->updated_ms));
    kv_str(&a, m, "EncStatus", s->enc_status);
    kv_str(&a, m, "EncKeyType", s->enc_key_type);
    kv_str(&a, m, "EncKeyARN", s->enc_key_arn);
    kv_str(&a, m, "SourceARN", s->source_arn);
    kv_str(&a, m, "SourceRole", s->source_role);
    fh_val_set(&a, m, "SourceStart", fh_val_int(&a, s->source_start_ms));
    kv_str(&a, m, "DestKind", s->dest_kind);
    if (s->dest) fh_val_set(&a, m, "Dest", (sl_val_t *)s->dest);
    sl_val_t *tags = fh_val_map(&a);
    for (size_t i = 0; i < s->tag_count; i++)
        fh_val_set(&a, tags, s->tags[i].key,
                   fh_val_str(&a, s->tags[i].value ? s->tags[i].value : ""));
    fh_val_set(&a, m, "Tags", tags);
    kv_str(&a, m, "Log", s->log_key);
    fh_keys_doc(&a, m, s);
    fh_val_set(&a, m, "LogId", fh_val_int(&a, (int64_t)s->log_id));
    int rc = fh_val_to_json(m, out);
    sl_arena_deinit(&a);
    return rc;
}

int fh_store_write(sl_firehose_t *fh, const sl_itemstore_op_t *ops, size_t n) {
    pthread_mutex_lock(&fh->store_mu);
    int rc = sl_itemstore_write(fh->store, ops, n);
    pthread_mutex_unlock(&fh->store_mu);
    if (rc) SL_ERROR("firehose: cannot write firehose.db: %s", sl_strerror(rc));
    return rc;
}

/* Writes the stream's row (not the progress). */
static int stream_persist(sl_firehose_t *fh, const fh_stream_t *s) {
    sl_buf_t doc;
    sl_buf_init(&doc);
    int rc = stream_doc(s, &doc);
    if (rc == 0) {
        sl_itemstore_op_t op = {SL_ITEMSTORE_PUT_ITEM, STREAMS,  s->name,
                                strlen(s->name),       doc.data, doc.len};
        rc = fh_store_write(fh, &op, 1);
    }
    sl_buf_free(&doc);
    return rc;
}

int fh_progress_write(sl_firehose_t *fh, fh_stream_t *s) {
    sl_buf_t doc;
    sl_buf_init(&doc);
    sl_enc_t e;
    sl_enc_init(&e, &doc, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_int(&e, "ckpt", (int64_t)s->ckpt);
    if (s->intent) {
        sl_enc_kv_int(&e, "first", (int64_t)s->intent_first);
        sl_enc_kv_int(&e, "count", (int64_t)s->intent_count);
        sl_enc_kv_cstr(&e, "bucket", s->intent_bucket);
        sl_enc_kv_cstr(&e, "key", s->intent_key);
        if (s->intent_backup_key[0]) {
            sl_enc_kv_cstr(&e, "backupBucket", s->intent_backup_bucket);
            sl_enc_kv_cstr(&e, "backupKey", s->intent_backup_key);
        }
    }
    sl_enc_map_end(&e);
    int rc = sl_buf_failed(&doc) ? SL_ENOMEM : 0;
    if (rc == 0) {
        sl_itemstore_op_t op = {SL_ITEMSTORE_PUT_ITEM, PROGRESS, s->name,
                                strlen(s->name),       doc.data, doc.len};
        rc = fh_store_write(fh, &op, 1);
    }
    sl_buf_free(&doc);
    return rc;
}

static void copy_str(char *dst, size_t cap, const sl_val_t *m, const char *key) {
    size_t len = 0;
    const char *v = sl_val_get_str(m, key, &len);
    snprintf(dst, cap, "%.*s", v ? (int)len : 0, v ? v : "");
}

static int64_t get_int(const sl_val_t *m, const char *key) {
    int64_t v = 0;
    sl_val_get_int(m, key, &v);
    return v;
}

static int insert_stream(sl_firehose_t *fh, fh_stream_t *s) {
    if (fh->stream_count >= FH_STREAMS_MAX) return SL_ELIMIT;
    if (!fh->streams) {
        fh->streams = calloc(FH_STREAMS_MAX, sizeof *fh->streams);
        if (!fh->streams) return SL_ENOMEM;
    }
    size_t i = lower_bound(fh, s->name);
    memmove(&fh->streams[i + 1], &fh->streams[i], (fh->stream_count - i) * sizeof *fh->streams);
    fh->streams[i] = s;
    fh->stream_count++;
    return 0;
}

static int load_item(void *ctx, const char *table, const void *key, size_t key_len, const void *val,
                     size_t val_len) {
    sl_firehose_t *fh = ctx;
    (void)key;
    (void)key_len;
    if (strcmp(table, STREAMS) != 0) return 0;
    fh_stream_t *s = calloc(1, sizeof *s);
    if (!s) return SL_ENOMEM;
    sl_arena_init(&s->dest_arena, 4096);
    sl_arena_t tmp;
    sl_arena_init(&tmp, 4096);
    sl_val_t *m = NULL;
    int rc = fh_val_from_json(&tmp, val, val_len, &m);
    if (rc == 0) {
        copy_str(s->name, sizeof s->name, m, "Name");
        copy_str(s->arn, sizeof s->arn, m, "ARN");
        copy_str(s->type, sizeof s->type, m, "Type");
        copy_str(s->status, sizeof s->status, m, "Status");
        s->version = get_int(m, "Version");
        s->created_ms = get_int(m, "Created");
        s->updated_ms = get_int(m, "Updated");
        copy_str(s->enc_status, sizeof s->enc_status, m, "EncStatus");
        copy_str(s->enc_key_type, sizeof s->enc_key_type, m, "EncKeyType");
        copy_str(s->enc_key_arn, sizeof s->enc_key_arn, m, "EncKeyARN");
        copy_str(s->source_arn, sizeof s->source_arn, m, "SourceARN");
        copy_str(s->source_role, sizeof s->source_role, m, "SourceRole");
        s->source_start_ms = get_int(m, "SourceStart");
        copy_str(s->dest_kind, sizeof s->dest_kind, m, "DestKind");
        s->dest = fh_val_clone(&s->dest_arena, sl_val_get(m, "Dest"));
        const sl_val_t *tags = sl_val_get(m, "Tags");
        for (size_t i = 0; tags && tags->type == SL_VAL_MAP && i < tags->u.map.count &&
                           s->tag_count < FH_TAGS_MAX;
             i++) {
            const sl_kv_t *kv = &tags->u.map.items[i];
            fh_tag_t *t = &s->tags[s->tag_count++];
            t->key = strndup(kv->key, kv->key_len);
            t->value = kv->val->type == SL_VAL_STRING ? strdup(kv->val->u.str.ptr) : NULL;
        }
        copy_str(s->log_key, sizeof s->log_key, m, "Log");
        s->log_id = (uint64_t)get_int(m, "LogId");
        if (!s->name[0] || !s->log_key[0]) rc = SL_ECORRUPT;
        if (rc == 0) rc = fh_keys_load(fh, s, m);
    }
    sl_arena_deinit(&tmp);
    if (rc == 0) rc = insert_stream(fh, s);
    if (rc == 0) fh_metrics_open(s);
    if (rc) {
        SL_ERROR("firehose: a delivery stream row of firehose.db cannot be read: %s",
                 sl_strerror(rc));
        stream_free(s);
    }
    return rc;
}

static int load_progress(void *ctx, const char *table, const void *key, size_t key_len,
                         const void *val, size_t val_len) {
    sl_firehose_t *fh = ctx;
    if (strcmp(table, PROGRESS) != 0 && strcmp(table, SOURCES) != 0) return 0;
    char name[80];
    snprintf(name, sizeof name, "%.*s", (int)SL_MIN(key_len, 72), (const char *)key);
    fh_stream_t *s = find(fh, name);
    if (!s) return 0;
    if (strcmp(table, SOURCES) == 0) return fh_source_load(fh, s, val, val_len);
    sl_arena_t tmp;
    sl_arena_init(&tmp, 2048);
    sl_val_t *m = NULL;
    int rc = fh_val_from_json(&tmp, val, val_len, &m);
    if (rc == 0) {
        s->ckpt = (uint64_t)get_int(m, "ckpt");
        if (sl_val_get(m, "key")) {
            s->intent = true;
            s->intent_first = (uint64_t)get_int(m, "first");
            s->intent_count = (uint64_t)get_int(m, "count");
            copy_str(s->intent_bucket, sizeof s->intent_bucket, m, "bucket");
            copy_str(s->intent_key, sizeof s->intent_key, m, "key");
            copy_str(s->intent_backup_bucket, sizeof s->intent_backup_bucket, m, "backupBucket");
            copy_str(s->intent_backup_key, sizeof s->intent_backup_key, m, "backupKey");
        }
    }
    sl_arena_deinit(&tmp);
    return rc;
}

static int no_table(void *ctx, const char *table, const void *meta, size_t len) {
    (void)ctx, (void)table, (void)meta, (void)len;
    return 0;
}

/* Opens the stream's buffer log and notes what is buffered in it. */
static int stream_open_log(sl_firehose_t *fh, fh_stream_t *s) {
    int rc = sl_storage_shard_open(fh->cfg.storage, s->log_key, "buffer", NULL, &s->log);
    if (rc) {
        SL_ERROR("firehose: cannot open the buffer of delivery stream %s: %s", s->name,
                 sl_strerror(rc));
        return rc;
    }
    sl_shard_bounds_t b;
    if (sl_storage_bounds(s->log, &b) == 0) {
        if (s->ckpt < b.first_seq) s->ckpt = b.first_seq;
        if (b.next_seq > s->ckpt) {
            s->flush_now = true;
            s->pending_since_mono = sl_time_mono_ms();
        }
    }
    return 0;
}

typedef struct {
    sl_firehose_t *fh;
    int removed;
} orphan_ctx_t;

static void orphan_log(void *arg, const char *stream_key, const char *shard_key) {
    orphan_ctx_t *o = arg;
    (void)shard_key;
    size_t n = strlen(o->fh->prefix);
    if (strncmp(stream_key, o->fh->prefix, n) != 0) return;
    /* another account's prefix extends ours ("_fh." vs "_fh.<account>."): skip those */
    if (n == 4 && strspn(stream_key + 4, "0123456789") == 12 && stream_key[16] == '.') return;
    for (size_t i = 0; i < o->fh->stream_count; i++)
        if (strcmp(o->fh->streams[i]->log_key, stream_key) == 0) return;
    if (sl_storage_stream_delete(o->fh->cfg.storage, stream_key) == 0) o->removed++;
}

int sl_firehose_open(const sl_firehose_config_t *cfg, sl_firehose_t **out) {
    *out = NULL;
    sl_firehose_t *fh = calloc(1, sizeof *fh);
    if (!fh) return SL_ENOMEM;
    fh->cfg = *cfg;
    snprintf(fh->region, sizeof fh->region, "%s", cfg->region);
    snprintf(fh->account, sizeof fh->account, "%s", cfg->account);
    snprintf(fh->prefix, sizeof fh->prefix, "%s", cfg->storage_prefix);
    fh->cfg.region = fh->region;
    fh->cfg.account = fh->account;
    fh->cfg.storage_prefix = fh->prefix;
    if (cfg->owned_key) memcpy(fh->owned_key, cfg->owned_key, sizeof fh->owned_key);
    fh->cfg.owned_key = cfg->owned_key ? fh->owned_key : NULL;
    pthread_mutex_init(&fh->mu, NULL);
    pthread_mutex_init(&fh->store_mu, NULL);
    pthread_mutex_init(&fh->tz_mu, NULL);
    pthread_cond_init(&fh->wake, NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/firehose.db", cfg->dir);
    int rc = sl_itemstore_open(path, &fh->store);
    if (rc) SL_ERROR("firehose: cannot open %s: %s", path, sl_strerror(rc));
    if (rc == 0) rc = sl_itemstore_load(fh->store, no_table, load_item, fh);
    if (rc == 0) rc = sl_itemstore_load(fh->store, no_table, load_progress, fh);
    if (rc == 0) rc = fh_holds_load(fh); /* before the first delivery can trim */
    for (size_t i = 0; rc == 0 && i < fh->stream_count; i++)
        rc = stream_open_log(fh, fh->streams[i]);
    if (rc == 0) {
        orphan_ctx_t o = {fh, 0};
        sl_storage_list(cfg->storage, orphan_log, &o);
        if (o.removed)
            SL_INFO("firehose: removed %d buffers of deleted delivery streams", o.removed);
    }
    if (rc == 0 && cfg->external_buckets && cfg->external_buckets[0])
        rc = fh_external_load(fh, cfg->external_buckets);
    fh->cfg.external_buckets = NULL; /* read once; the caller's string is not kept */
    if (rc == 0) rc = fh_http_start(fh);
    if (rc == 0) {
        rc = pthread_create(&fh->thread, NULL, fh_deliver_main, fh) == 0 ? 0 : SL_ENOMEM;
        fh->thread_started = rc == 0;
    }
    if (rc) {
        sl_firehose_close(fh);
        return rc;
    }
    *out = fh;
    return 0;
}

void sl_firehose_close(sl_firehose_t *fh) {
    if (!fh) return;
    pthread_mutex_lock(&fh->mu);
    fh->stopping = true;
    pthread_cond_broadcast(&fh->wake);
    pthread_mutex_unlock(&fh->mu);
    fh_http_cancel(fh); /* a delivery waiting for an endpoint ends now */
    if (fh->thread_started) pthread_join(fh->thread, NULL);
    fh_http_stop(fh); /* after the delivery thread; every request in flight has its answer */
    for (size_t i = 0; i < fh->stream_count; i++) {
        fh_http_flight_release(fh->streams[i]); /* its batch stays buffered (the intent) */
        if (fh->streams[i]->log) sl_storage_shard_close(fh->streams[i]->log);
        stream_free(fh->streams[i]);
    }
    for (size_t i = 0; i < fh->grave_count; i++) {
        fh_http_flight_release(fh->graveyard[i]);
        if (fh->graveyard[i]->log) sl_storage_shard_close(fh->graveyard[i]->log);
        stream_free(fh->graveyard[i]);
    }
    free(fh->streams);
    free(fh->graveyard);
    fh_holds_free(fh);
    if (fh->store) sl_itemstore_close(fh->store);
    for (size_t i = 0; i < fh->tz_count; i++)
        sl_fh_tz_free(&fh->tzs[i].tz);
    pthread_mutex_destroy(&fh->tz_mu);
    pthread_cond_destroy(&fh->wake);
    pthread_mutex_destroy(&fh->store_mu);
    pthread_mutex_destroy(&fh->mu);
    free(fh);
}

/* ---- destination checks ---- */

static bool is_s3_kind(const char *kind) {
    return strcmp(kind, "ExtendedS3") == 0 || strcmp(kind, "S3") == 0;
}

/* Fills BufferingHints, CompressionFormat and EncryptionConfiguration of an S3 configuration
 * with AWS's defaults (Describe shows them). */
static void s3_defaults(sl_arena_t *a, sl_val_t *cfg) {
    if (!cfg || cfg->type != SL_VAL_MAP) return;
    sl_val_t *hints = sl_val_get(cfg, "BufferingHints");
    if (!hints) {
        hints = fh_val_map(a);
        fh_val_set(a, cfg, "BufferingHints", hints);
    }
    if (!sl_val_get(hints, "SizeInMBs")) fh_val_set(a, hints, "SizeInMBs", fh_val_int(a, 5));
    if (!sl_val_get(hints, "IntervalInSeconds"))
        fh_val_set(a, hints, "IntervalInSeconds", fh_val_int(a, 300));
    if (!sl_val_get(cfg, "CompressionFormat"))
        fh_val_set(a, cfg, "CompressionFormat", fh_val_str(a, "UNCOMPRESSED"));
    if (!sl_val_get(cfg, "EncryptionConfiguration")) {
        sl_val_t *enc = fh_val_map(a);
        fh_val_set(a, enc, "NoEncryptionConfig", fh_val_str(a, "NoEncryption"));
        fh_val_set(a, cfg, "EncryptionConfiguration", enc);
    }
}

static const char *str_of(const sl_val_t *m, const char *key) {
    const sl_val_t *v = sl_val_get(m, key);
    return v && v->type == SL_VAL_STRING ? v->u.str.ptr : NULL;
}

/* Checks an S3 configuration (stored form: defaults filled) as AWS does. */
static bool s3_check(const sl_val_t *cfg, const char *what, sl_fherr_t *err) {
    const char *bucket = str_of(cfg, "BucketARN");
    if (!bucket || strncmp(bucket, "arn:aws:s3:::", 13) != 0 || !bucket[13] ||
        strchr(bucket + 13, '/'))
        return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                       "%s BucketARN %s is not a valid S3 bucket ARN.", what,
                       bucket ? bucket : "(none)");
    if (!str_of(cfg, "RoleARN"))
        return fh_fail(err, SL_FHERR_INVALID_ARGUMENT, "%s RoleARN is required.", what);
    const char *reason =
        sl_fh_prefix_check(str_of(cfg, "Prefix"), str_of(cfg, "ErrorOutputPrefix"));
    if (reason) return fh_fail(err, SL_FHERR_INVALID_ARGUMENT, "%s", reason);
    return true;
}

/* Fills defaults and checks a destination configuration of `kind` (in the stream's arena). */
static bool dest_prepare(sl_arena_t *a, const char *kind, sl_val_t *cfg, sl_fherr_t *err) {
    if (is_s3_kind(kind)) {
        s3_defaults(a, cfg);
        if (!s3_check(cfg, "S3", err)) return false;
        sl_val_t *backup = sl_val_get(cfg, "S3BackupConfiguration");
        if (backup) {
            s3_defaults(a, backup);
            if (!s3_check(backup, "S3 backup", err)) return false;
        }
        if (strcmp(kind, "ExtendedS3") == 0 && !sl_val_get(cfg, "S3BackupMode"))
            fh_val_set(a, cfg, "S3BackupMode", fh_val_str(a, "Disabled"));
        const char *mode = str_of(cfg, "S3BackupMode");
        if (strcmp(kind, "ExtendedS3") == 0 && mode && strcmp(mode, "Enabled") == 0 && !backup)
            return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                           "S3BackupConfiguration is required when S3BackupMode is Enabled.");
        return true;
    }
    if (strcmp(kind, "HttpEndpoint") == 0) {
        sl_val_t *s3 = sl_val_get(cfg, "S3Configuration");
        if (!s3) return fh_fail(err, SL_FHERR_INVALID_ARGUMENT, "S3Configuration is required.");
        s3_defaults(a, s3);
        if (!s3_check(s3, "S3", err)) return false;
        const sl_val_t *ep = sl_val_get(cfg, "EndpointConfiguration");
        const char *url = str_of(ep, "Url");
        if (!url)
            return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                           "EndpointConfiguration.Url is required.");
        if (!fh_http_url_allowed(url))
            return fh_fail(
                err, SL_FHERR_VALIDATION,
                "1 validation error detected: Value '%s' at "
                "'httpEndpointDestinationConfiguration.endpointConfiguration.url' failed "
                "to satisfy constraint: Member must satisfy regular expression pattern: "
                "https://.*",
                url);
        sl_val_t *hints = sl_val_get(cfg, "BufferingHints");
        if (!hints) {
            hints = fh_val_map(a);
            fh_val_set(a, cfg, "BufferingHints", hints);
        }
        if (!sl_val_get(hints, "SizeInMBs")) fh_val_set(a, hints, "SizeInMBs", fh_val_int(a, 5));
        if (!sl_val_get(hints, "IntervalInSeconds"))
            fh_val_set(a, hints, "IntervalInSeconds", fh_val_int(a, 300));
        if (!sl_val_get(cfg, "S3BackupMode"))
            fh_val_set(a, cfg, "S3BackupMode", fh_val_str(a, "FailedDataOnly"));
        if (!sl_val_get(cfg, "RetryOptions")) {
            sl_val_t *r = fh_val_map(a);
            fh_val_set(a, r, "DurationInSeconds", fh_val_int(a, 300));
            fh_val_set(a, cfg, "RetryOptions", r);
        }
        if (!sl_val_get(cfg, "RequestConfiguration")) {
            sl_val_t *r = fh_val_map(a);
            fh_val_set(a, r, "ContentEncoding", fh_val_str(a, "NONE"));
            fh_val_set(a, cfg, "RequestConfiguration", r);
        }
        return true;
    }
    return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                   "%s destinations are not supported by this server (ExtendedS3, S3 and "
                   "HttpEndpoint are).",
                   kind);
}

/* CustomTimeZone of an ExtendedS3 configuration or update: a zone of the time zone database.
 * Checked before fh->mu is taken (loading a zone reads a file). */
static bool time_zone_ok(sl_firehose_t *fh, const sl_val_t *cfg, sl_fherr_t *err) {
    const char *tz = str_of(cfg, "CustomTimeZone");
    int32_t off;
    if (!tz || fh_tz_offset(fh, tz, 0, &off) == 0) return true;
    return fh_fail(
        err, SL_FHERR_INVALID_ARGUMENT,
        "CustomTimeZone %s is not a supported time zone. Use an IANA time zone name such "
        "as Asia/Tokyo, or UTC.",
        tz);
}

/* ---- operations ---- */

static bool tag_key_ok(const char *key, sl_fherr_t *err) {
    if (strncmp(key, "aws:", 4) == 0)
        return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                       "Tag keys starting with 'aws:' are reserved for AWS use.");
    return true;
}

int sl_firehose_create(sl_firehose_t *fh, const sl_fh_create_t *req, char arn[320],
                       sl_fherr_t *err) {
    const char *type = req->type ? req->type : "DirectPut";
    if (req->dest_count != 1)
        return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                       "Exactly one destination configuration is supported for a Firehose"),
               -1;
    bool kinesis = strcmp(type, "KinesisStreamAsSource") == 0;
    if (strcmp(type, "DirectPut") != 0 && !kinesis)
        return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                       "DeliveryStreamType %s is not supported by this server.", type),
               -1;
    if (req->kinesis_source && !kinesis)
        return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                       "KinesisSourceStreamConfig is only applicable for KinesisStreamAsSource "
                       "stream type"),
               -1;
    if (kinesis && !req->kinesis_source)
        return fh_fail(
                   err, SL_FHERR_INVALID_ARGUMENT,
                   "KinesisSourceStreamConfig is required for KinesisStreamAsSource stream type"),
               -1;
    if (kinesis) {
        const char *src = str_of(req->kinesis_source, "KinesisStreamARN");
        if (!src || !fh_source_exists(fh, src))
            return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                           "Kinesis stream %s does not exist or is not ACTIVE under account %s.",
                           src ? src : "(none)", fh->account),
                   -1;
    }
    if (kinesis && req->encryption)
        return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                       "Encryption is only supported for DirectPut delivery streams."),
               -1;
    for (size_t i = 0; i < req->tag_count; i++)
        if (!tag_key_ok(req->tags[i].key, err)) return -1;
    if (!time_zone_ok(fh, req->dest, err)) return -1;
    if (req->tag_count > FH_TAGS_MAX)
        return fh_fail(err, SL_FHERR_LIMIT, "A delivery stream can have at most 50 tags."), -1;
    fh_stream_t *s = calloc(1, sizeof *s);
    if (!s) return fail_internal(err, SL_ENOMEM);
    sl_arena_init(&s->dest_arena, 4096);
    snprintf(s->name, sizeof s->name, "%s", req->name);
    snprintf(s->arn, sizeof s->arn, "arn:aws:firehose:%s:%s:deliverystream/%s", fh->region,
             fh->account, req->name);
    snprintf(s->type, sizeof s->type, "%s", type);
    snprintf(s->status, sizeof s->status, "ACTIVE");
    s->version = 1;
    s->created_ms = s->updated_ms = req->now_ms;
    snprintf(s->dest_kind, sizeof s->dest_kind, "%s", req->dest_kind);
    s->dest = fh_val_clone(&s->dest_arena, req->dest);
    if (!s->dest || !dest_prepare(&s->dest_arena, s->dest_kind, s->dest, err)) {
        if (!s->dest) fh_fail(err, SL_FHERR_INTERNAL, "out of memory");
        stream_free(s);
        return -1;
    }
    if (req->encryption) {
        const char *kt = str_of(req->encryption, "KeyType");
        const char *ka = str_of(req->encryption, "KeyARN");
        if (kt && strcmp(kt, "CUSTOMER_MANAGED_CMK") == 0 && !ka) {
            stream_free(s);
            return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                           "KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK."),
                   -1;
        }
        snprintf(s->enc_status, sizeof s->enc_status, "ENABLED");
        snprintf(s->enc_key_type, sizeof s->enc_key_type, "%s", kt ? kt : "AWS_OWNED_CMK");
        snprintf(s->enc_key_arn, sizeof s->enc_key_arn, "%s", ka ? ka : "");
        if (!fh_keys_start(fh, s, s->enc_key_type, ka, req->now_ms, err)) {
            stream_free(s);
            return -1;
        }
    } else if (!kinesis) {
        snprintf(s->enc_status, sizeof s->enc_status, "DISABLED");
    }
    if (kinesis) {
        copy_str(s->source_arn, sizeof s->source_arn, req->kinesis_source, "KinesisStreamARN");
        copy_str(s->source_role, sizeof s->source_role, req->kinesis_source, "RoleARN");
        s->source_start_ms = req->now_ms;
    }
    for (size_t i = 0; i < req->tag_count; i++) {
        s->tags[s->tag_count].key = strdup(req->tags[i].key);
        s->tags[s->tag_count].value = req->tags[i].value ? strdup(req->tags[i].value) : NULL;
        s->tag_count++;
    }
    s->log_id = ((uint64_t)req->now_ms << 16) ^ (uint64_t)(uintptr_t)s;
    snprintf(s->log_key, sizeof s->log_key, "%s%" PRId64 "-%s", fh->prefix, req->now_ms, s->name);
    pthread_mutex_lock(&fh->mu);
    int rc = 0;
    if (find(fh, s->name)) {
        fh_fail(err, SL_FHERR_IN_USE, "Firehose %s under accountId %s already exists", s->name,
                fh->account);
        rc = -1;
    } else if (fh->stream_count >= FH_STREAMS_MAX) {
        fh_fail(err, SL_FHERR_LIMIT, "You have already consumed your firehose quota of %d hoses.",
                FH_STREAMS_MAX);
        rc = -1;
    }
    /* the progress row first, so a stream never exists without its checkpoint */
    s->ckpt = 1;
    if (rc == 0 && (fh_progress_write(fh, s) || stream_persist(fh, s)))
        rc = fail_internal(err, SL_EIO);
    if (rc == 0 && stream_open_log(fh, s)) rc = fail_internal(err, SL_EIO);
    s->flush_now = false;
    s->pending_since_mono = 0;
    if (rc == 0) rc = insert_stream(fh, s) ? fail_internal(err, SL_ENOMEM) : 0;
    if (rc == 0) fh_metrics_open(s);
    pthread_mutex_unlock(&fh->mu);
    if (rc) {
        if (s->log) sl_storage_shard_close(s->log);
        stream_free(s);
        return -1;
    }
    snprintf(arn, 320, "%s", s->arn);
    return 0;
}

int sl_firehose_delete(sl_firehose_t *fh, const char *name, sl_fherr_t *err) {
    pthread_mutex_lock(&fh->mu);
    fh_stream_t *s = find(fh, name);
    if (!s) {
        pthread_mutex_unlock(&fh->mu);
        return not_found(fh, name, err), -1;
    }
    sl_itemstore_op_t ops[3] = {
        {SL_ITEMSTORE_DELETE_ITEM, STREAMS, s->name, strlen(s->name), NULL, 0},
        {SL_ITEMSTORE_DELETE_ITEM, PROGRESS, s->name, strlen(s->name), NULL, 0},
        {SL_ITEMSTORE_DELETE_ITEM, SOURCES, s->name, strlen(s->name), NULL, 0},
    };
    int rc = fh_store_write(fh, ops, 3);
    if (rc == 0 && fh->grave_count == fh->grave_cap) {
        size_t cap = fh->grave_cap ? fh->grave_cap * 2 : 8;
        fh_stream_t **g = realloc(fh->graveyard, cap * sizeof *g);
        if (g) {
            fh->graveyard = g;
            fh->grave_cap = cap;
        } else {
            rc = SL_ENOMEM;
        }
    }
    if (rc == 0) {
        size_t i = lower_bound(fh, name);
        memmove(&fh->streams[i], &fh->streams[i + 1],
                (fh->stream_count - i - 1) * sizeof *fh->streams);
        fh->stream_count--;
        s->deleted = true;
        fh_metrics_release(s);
        fh->graveyard[fh->grave_count++] = s;
        pthread_cond_broadcast(&fh->wake);
    }
    pthread_mutex_unlock(&fh->mu);
    return rc ? fail_internal(err, rc) : 0;
}

int sl_firehose_describe(sl_firehose_t *fh, const char *name, sl_arena_t *arena, sl_fh_info_t *out,
                         sl_fherr_t *err) {
    pthread_mutex_lock(&fh->mu);
    fh_stream_t *s = find(fh, name);
    if (!s) {
        pthread_mutex_unlock(&fh->mu);
        return not_found(fh, name, err), -1;
    }
    *out = (sl_fh_info_t){
        .name = sl_arena_strndup(arena, s->name, strlen(s->name)),
        .arn = sl_arena_strndup(arena, s->arn, strlen(s->arn)),
        .status = status_of(fh, s),
        .type = sl_arena_strndup(arena, s->type, strlen(s->type)),
        .created_ms = s->created_ms,
        .updated_ms = s->updated_ms,
        .enc_status =
            s->enc_status[0] ? sl_arena_strndup(arena, s->enc_status, strlen(s->enc_status)) : NULL,
        .enc_key_type = s->enc_key_type[0]
                            ? sl_arena_strndup(arena, s->enc_key_type, strlen(s->enc_key_type))
                            : NULL,
        .enc_key_arn = s->enc_key_arn[0]
                           ? sl_arena_strndup(arena, s->enc_key_arn, strlen(s->enc_key_arn))
                           : NULL,
        .source_arn =
            s->source_arn[0] ? sl_arena_strndup(arena, s->source_arn, strlen(s->source_arn)) : NULL,
        .source_role = s->source_role[0]
                           ? sl_arena_strndup(arena, s->source_role, strlen(s->source_role))
                           : NULL,
        .source_start_ms = s->source_start_ms,
        .dest_kind = sl_arena_strndup(arena, s->dest_kind, strlen(s->dest_kind)),
        .dest = fh_val_clone(arena, s->dest),
    };
    snprintf(out->version, sizeof out->version, "%" PRId64, s->version);
    pthread_mutex_unlock(&fh->mu);
    return 0;
}

int sl_firehose_list(sl_firehose_t *fh, const char *type, const char *start, size_t limit,
                     sl_arena_t *arena, const char ***names, size_t *count, bool *more) {
    pthread_mutex_lock(&fh->mu);
    const char **list = sl_arena_calloc(arena, limit ? limit : 1, sizeof *list);
    size_t n = 0;
    *more = false;
    size_t i = start ? lower_bound(fh, start) : 0;
    if (start && i < fh->stream_count && strcmp(fh->streams[i]->name, start) == 0) i++;
    for (; list && i < fh->stream_count; i++) {
        fh_stream_t *s = fh->streams[i];
        if (type && strcmp(s->type, type) != 0) continue;
        if (n == limit) {
            *more = true;
            break;
        }
        list[n++] = sl_arena_strndup(arena, s->name, strlen(s->name));
    }
    pthread_mutex_unlock(&fh->mu);
    *names = list;
    *count = n;
    return list ? 0 : SL_ENOMEM;
}

int sl_firehose_update(sl_firehose_t *fh, const sl_fh_update_t *req, sl_fherr_t *err) {
    if (req->update_count != 1)
        return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                       "Exactly one destination update is supported for a Firehose"),
               -1;
    if (!time_zone_ok(fh, req->update, err)) return -1;
    pthread_mutex_lock(&fh->mu);
    fh_stream_t *s = find(fh, req->name);
    int rc = 0;
    if (!s) {
        not_found(fh, req->name, err);
        rc = -1;
    } else if (strcmp(status_of(fh, s), "ACTIVE") != 0) {
        fh_fail(err, SL_FHERR_IN_USE, "Firehose %s is not in the ACTIVE state.", req->name);
        rc = -1;
    } else if (strcmp(req->destination_id, DESTINATION_ID) != 0) {
        fh_fail(err, SL_FHERR_INVALID_ARGUMENT, "Destination %s not found in firehose %s.",
                req->destination_id, req->name);
        rc = -1;
    } else {
        char current[24];
        snprintf(current, sizeof current, "%" PRId64, s->version);
        if (strcmp(current, req->version_id) != 0) {
            fh_fail(err, SL_FHERR_CONCURRENT,
                    "Cannot update firehose: %s since the current version id: %s and the "
                    "specified version id: %s do not match. Please fetch the VersionId again.",
                    req->name, current, req->version_id);
            rc = -1;
        }
    }
    if (rc == 0) {
        sl_arena_t a;
        sl_arena_init(&a, 4096);
        sl_val_t *upd = fh_val_clone(&a, req->update);
        fh_val_rename(upd, "S3Update", "S3Configuration");
        fh_val_rename(upd, "S3BackupUpdate", "S3BackupConfiguration");
        bool same = strcmp(s->dest_kind, req->dest_kind) == 0 ||
                    (is_s3_kind(s->dest_kind) && is_s3_kind(req->dest_kind));
        sl_val_t *merged = same ? fh_val_merge(&a, s->dest, upd) : upd;
        char kind[sizeof s->dest_kind];
        snprintf(kind, sizeof kind, "%s", same ? s->dest_kind : req->dest_kind);
        if (!merged || !dest_prepare(&a, kind, merged, err)) {
            if (!merged) fh_fail(err, SL_FHERR_INTERNAL, "out of memory");
            rc = -1;
        }
        /* AWS: source-record backup, once enabled, cannot be disabled again */
        const char *was = str_of(s->dest, "S3BackupMode");
        const char *now = merged ? str_of(merged, "S3BackupMode") : NULL;
        if (rc == 0 && same && was && now && strcmp(was, "Enabled") == 0 &&
            strcmp(now, "Disabled") == 0) {
            fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                    "S3BackupMode cannot be changed from Enabled to Disabled once source record "
                    "backup is enabled.");
            rc = -1;
        }
        if (rc == 0) {
            fh_stream_t saved = *s;
            sl_arena_t fresh;
            sl_arena_init(&fresh, 4096);
            s->dest = fh_val_clone(&fresh, merged);
            snprintf(s->dest_kind, sizeof s->dest_kind, "%s", kind);
            s->version++;
            s->updated_ms = req->now_ms;
            if (stream_persist(fh, s) != 0) {
                sl_arena_deinit(&fresh);
                s->dest = saved.dest;
                memcpy(s->dest_kind, saved.dest_kind, sizeof s->dest_kind);
                s->version = saved.version;
                s->updated_ms = saved.updated_ms;
                rc = fail_internal(err, SL_EIO);
            } else {
                sl_arena_deinit(&s->dest_arena);
                s->dest_arena = fresh;
            }
        }
        sl_arena_deinit(&a);
    }
    pthread_mutex_unlock(&fh->mu);
    return rc;
}

static fh_stream_t *find_or_fail(sl_firehose_t *fh, const char *name, sl_fherr_t *err) {
    fh_stream_t *s = find(fh, name);
    if (!s) not_found(fh, name, err);
    return s;
}

int sl_firehose_tag(sl_firehose_t *fh, const char *name, const sl_fh_tag_t *tags, size_t count,
                    sl_fherr_t *err) {
    for (size_t i = 0; i < count; i++)
        if (!tag_key_ok(tags[i].key, err)) return -1;
    pthread_mutex_lock(&fh->mu);
    fh_stream_t *s = find_or_fail(fh, name, err);
    int rc = s ? 0 : -1;
    size_t added = 0;
    for (size_t i = 0; s && i < count; i++) {
        bool known = false;
        for (size_t j = 0; j < s->tag_count; j++)
            known |= strcmp(s->tags[j].key, tags[i].key) == 0;
        added += !known;
    }
    if (s && s->tag_count + added > FH_TAGS_MAX) {
        fh_fail(err, SL_FHERR_LIMIT,
                "The number of tags for delivery stream %s would exceed the maximum of 50.", name);
        rc = -1;
    }
    if (rc == 0) {
        fh_tag_t old[FH_TAGS_MAX];
        size_t old_count = s->tag_count;
        for (size_t j = 0; j < old_count; j++) {
            old[j].key = strdup(s->tags[j].key);
            old[j].value = s->tags[j].value ? strdup(s->tags[j].value) : NULL;
        }
        for (size_t i = 0; i < count; i++) {
            fh_tag_t *t = NULL;
            for (size_t j = 0; j < s->tag_count; j++)
                if (strcmp(s->tags[j].key, tags[i].key) == 0) t = &s->tags[j];
            if (!t) {
                t = &s->tags[s->tag_count++];
                t->key = strdup(tags[i].key);
                t->value = NULL;
            }
            free(t->value);
            t->value = tags[i].value ? strdup(tags[i].value) : NULL;
        }
        if (stream_persist(fh, s) != 0) {
            for (size_t j = 0; j < s->tag_count; j++) {
                free(s->tags[j].key);
                free(s->tags[j].value);
            }
            memcpy(s->tags, old, old_count * sizeof *old);
            s->tag_count = old_count;
            rc = fail_internal(err, SL_EIO);
        } else {
            for (size_t j = 0; j < old_count; j++) {
                free(old[j].key);
                free(old[j].value);
            }
        }
    }
    pthread_mutex_unlock(&fh->mu);
    return rc;
}

int sl_firehose_untag(sl_firehose_t *fh, const char *name, const char *const *keys, size_t count,
                      sl_fherr_t *err) {
    pthread_mutex_lock(&fh->mu);
    fh_stream_t *s = find_or_fail(fh, name, err);
    int rc = s ? 0 : -1;
    if (rc == 0) {
        fh_tag_t removed[FH_TAGS_MAX];
        size_t removed_count = 0, w = 0;
        for (size_t j = 0; j < s->tag_count; j++) {
            bool drop = false;
            for (size_t i = 0; i < count; i++)
                drop |= strcmp(s->tags[j].key, keys[i]) == 0;
            if (drop)
                removed[removed_count++] = s->tags[j];
            else
                s->tags[w++] = s->tags[j];
        }
        size_t before = s->tag_count;
        s->tag_count = w;
        if (removed_count && stream_persist(fh, s) != 0) {
            /* put them back (order aside) */
            for (size_t i = 0; i < removed_count && s->tag_count < before; i++)
                s->tags[s->tag_count++] = removed[i];
            rc = fail_internal(err, SL_EIO);
        } else {
            for (size_t i = 0; i < removed_count; i++) {
                free(removed[i].key);
                free(removed[i].value);
            }
        }
    }
    pthread_mutex_unlock(&fh->mu);
    return rc;
}

static int tag_cmp(const void *a, const void *b) {
    return strcmp(((const sl_fh_tag_t *)a)->key, ((const sl_fh_tag_t *)b)->key);
}

int sl_firehose_list_tags(sl_firehose_t *fh, const char *name, const char *start, size_t limit,
                          sl_arena_t *arena, sl_fh_tag_t **tags, size_t *count, bool *more,
                          sl_fherr_t *err) {
    pthread_mutex_lock(&fh->mu);
    fh_stream_t *s = find_or_fail(fh, name, err);
    if (!s) {
        pthread_mutex_unlock(&fh->mu);
        return -1;
    }
    sl_fh_tag_t *all = sl_arena_calloc(arena, s->tag_count + 1, sizeof *all);
    size_t n = 0;
    for (size_t i = 0; all && i < s->tag_count; i++) {
        all[n].key = sl_arena_strndup(arena, s->tags[i].key, strlen(s->tags[i].key));
        all[n].value = s->tags[i].value
                           ? sl_arena_strndup(arena, s->tags[i].value, strlen(s->tags[i].value))
                           : NULL;
        n++;
    }
    pthread_mutex_unlock(&fh->mu);
    if (!all) return fail_internal(err, SL_ENOMEM);
    qsort(all, n, sizeof *all, tag_cmp);
    size_t first = 0;
    while (start && first < n && strcmp(all[first].key, start) <= 0)
        first++;
    size_t take = SL_MIN(n - first, limit);
    *tags = all + first;
    *count = take;
    *more = first + take < n;
    return 0;
}

int sl_firehose_encryption(sl_firehose_t *fh, const char *name, bool start, const char *key_type,
                           const char *key_arn, int64_t now_ms, sl_fherr_t *err) {
    if (start && key_type && strcmp(key_type, "CUSTOMER_MANAGED_CMK") == 0 && !key_arn)
        return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                       "KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK."),
               -1;
    if (start && key_type && strcmp(key_type, "AWS_OWNED_CMK") == 0 && key_arn)
        return fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                       "KeyARN must not be given when KeyType is AWS_OWNED_CMK."),
               -1;
    pthread_mutex_lock(&fh->mu);
    fh_stream_t *s = find_or_fail(fh, name, err);
    int rc = s ? 0 : -1;
    if (rc == 0 && strcmp(s->type, "DirectPut") != 0) {
        fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                "Encryption is only supported for DirectPut delivery streams.");
        rc = -1;
    } else if (rc == 0 && strcmp(status_of(fh, s), "ACTIVE") != 0) {
        fh_fail(err, SL_FHERR_IN_USE, "Firehose %s is not in the ACTIVE state.", name);
        rc = -1;
    }
    fh_stream_t saved;
    if (rc == 0) saved = *s;
    if (rc == 0 && start &&
        !fh_keys_start(fh, s, key_type ? key_type : "AWS_OWNED_CMK", key_arn, now_ms, err))
        rc = -1;
    if (rc == 0 && !start) s->dk_current = 0; /* later records are stored as they come */
    if (rc == 0) {
        snprintf(s->enc_status, sizeof s->enc_status, "%s", start ? "ENABLED" : "DISABLED");
        if (start) {
            snprintf(s->enc_key_type, sizeof s->enc_key_type, "%s",
                     key_type ? key_type : "AWS_OWNED_CMK");
            snprintf(s->enc_key_arn, sizeof s->enc_key_arn, "%s", key_arn ? key_arn : "");
        }
        if (stream_persist(fh, s) != 0) {
            s->dk_current = saved.dk_current; /* a new data key stays, unused, until a restart */
            memcpy(s->enc_status, saved.enc_status, sizeof s->enc_status);
            memcpy(s->enc_key_type, saved.enc_key_type, sizeof s->enc_key_type);
            memcpy(s->enc_key_arn, saved.enc_key_arn, sizeof s->enc_key_arn);
            rc = fail_internal(err, SL_EIO);
        }
    }
    pthread_mutex_unlock(&fh->mu);
    return rc;
}

/* ---- data plane ---- */

typedef struct {
    sl_firehose_t *fh;
    fh_stream_t *s;
    uint64_t bytes, records;
    sl_fh_put_cb cb;
    void *arg;
} put_t;

/* On the storage commit thread: the records are durable. */
static void put_done(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    (void)arrival_ms;
    put_t *p = arg;
    if (status == 0) {
        __atomic_add_fetch(&p->s->pending_bytes, (int64_t)p->bytes, __ATOMIC_RELAXED);
        int64_t zero = 0, now = sl_time_mono_ms();
        __atomic_compare_exchange_n(&p->s->pending_since_mono, &zero, now, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
        __atomic_add_fetch(&p->fh->stats.incoming_records, p->records, __ATOMIC_RELAXED);
        __atomic_add_fetch(&p->fh->stats.incoming_bytes, p->bytes, __ATOMIC_RELAXED);
        sl_metric_add(p->s->metrics.incoming_records, p->records);
        sl_metric_add(p->s->metrics.incoming_bytes, p->bytes);
        sl_metric_add(p->s->metrics.incoming_requests, 1);
    } else if (status == SL_EAGAIN) {
        sl_metric_add(p->s->metrics.throttled, p->records);
    }
    p->cb(p->arg, status, first_seq);
    free(p);
}

int sl_firehose_put(sl_firehose_t *fh, const char *name, const sl_fh_record_t *records, size_t n,
                    int64_t now_ms, sl_fh_put_cb cb, void *arg, bool *encrypted, uint64_t *log_id,
                    sl_fherr_t *err) {
    sl_record_t stack[16];
    sl_record_t *recs = n <= SL_ARRAY_LEN(stack) ? stack : malloc(n * sizeof *recs);
    put_t *p = malloc(sizeof *p);
    uint8_t *sealed = NULL; /* the sealed copies of the records, when encryption is on */
    if (!recs || !p) {
        if (recs != stack) free(recs);
        free(p);
        return fail_internal(err, SL_ENOMEM);
    }
    int64_t arrival = fh_now_ms(fh);
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        recs[i] = (sl_record_t){
            .arrival_ms = arrival, .data = records[i].data, .data_len = records[i].len};
        bytes += records[i].len;
    }
    *p = (put_t){fh, NULL, bytes, n, cb, arg};
    int rc = 0;
    uint8_t key[32];
    uint16_t generation = 0;
    uint64_t id = 0;
    pthread_mutex_lock(&fh->mu);
    fh_stream_t *s = find(fh, name);
    if (!s || strcmp(status_of(fh, s), "ACTIVE") != 0) {
        not_found(fh, name, err);
        rc = -1;
    } else if (strcmp(s->type, "DirectPut") != 0) {
        fh_fail(err, SL_FHERR_INVALID_ARGUMENT,
                "This operation is not permitted on KinesisStreamAsSource delivery stream type.");
        rc = -1;
    } else if (!fh_keys_current(fh, s, now_ms, key, &generation, err)) {
        rc = -1;
    }
    id = s ? s->log_id : 0;
    pthread_mutex_unlock(&fh->mu);
    /* sealing runs outside the account's lock; the stream is looked up again to append */
    if (rc == 0 && generation) {
        int src = fh_keys_seal(key, generation, recs, n, &sealed);
        if (src) rc = fail_internal(err, src);
    }
    memset(key, 0, sizeof key);
    if (rc == 0) {
        pthread_mutex_lock(&fh->mu);
        s = find(fh, name);
        if (!s || s->log_id != id) { /* deleted (and perhaps made again) meanwhile */
            not_found(fh, name, err);
            rc = -1;
        } else {
            p->s = s;
            *encrypted = strcmp(s->enc_status, "ENABLED") == 0;
            *log_id = s->log_id;
            int arc = sl_storage_append(s->log, recs, n, put_done, p);
            if (arc == SL_EAGAIN) {
                sl_metric_add(s->metrics.throttled, n);
                fh_fail(err, SL_FHERR_UNAVAILABLE, "Slow down.");
                rc = -1;
            } else if (arc) {
                fail_internal(err, arc);
                rc = -1;
            }
        }
        pthread_mutex_unlock(&fh->mu);
    }
    free(sealed); /* storage copied the bytes */
    if (recs != stack) free(recs);
    if (rc) free(p);
    return rc;
}

void sl_firehose_record_id(uint64_t log_id, uint64_t seq, char out[64]) {
    uint64_t mix = (log_id ^ (seq * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
    snprintf(out, 64, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "00000000", log_id, seq, mix);
}

void sl_firehose_stats(sl_firehose_t *fh, sl_fh_stats_t *out) {
    out->incoming_records = __atomic_load_n(&fh->stats.incoming_records, __ATOMIC_RELAXED);
    out->incoming_bytes = __atomic_load_n(&fh->stats.incoming_bytes, __ATOMIC_RELAXED);
    out->delivered_objects = __atomic_load_n(&fh->stats.delivered_objects, __ATOMIC_RELAXED);
    out->delivered_records = __atomic_load_n(&fh->stats.delivered_records, __ATOMIC_RELAXED);
    out->delivered_bytes = __atomic_load_n(&fh->stats.delivered_bytes, __ATOMIC_RELAXED);
    out->delivery_failures = __atomic_load_n(&fh->stats.delivery_failures, __ATOMIC_RELAXED);
}
