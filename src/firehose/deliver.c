/* The delivery thread: cuts each delivery stream's buffer log into objects by its buffering hints
 * and puts them into the object store, exactly once (see firehose.h). */
#include "firehose/internal.h"

#include "core/common.h"
#include "core/log.h"
#include "core/time.h"
#include "core/waiter.h"
#include "firehose/prefix.h"
#include "objstore/objstore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 100            /* how often the thread looks at the buffers */
#define READ_RECORDS_MAX 10000 /* records asked of one storage read */
#define RETRY_MS_MAX 30000     /* longest wait between two attempts of a failed delivery */

static const sl_val_t *get(const sl_val_t *m, const char *k) {
    return m ? sl_val_get(m, k) : NULL;
}

static void str_into(char *dst, size_t cap, const sl_val_t *m, const char *k) {
    const sl_val_t *v = get(m, k);
    snprintf(dst, cap, "%s", v && v->type == SL_VAL_STRING ? v->u.str.ptr : "");
}

void fh_dest_read(const char *kind, const sl_val_t *dest, fh_dest_t *out) {
    *out = (fh_dest_t){0};
    const sl_val_t *s3 = dest;
    out->s3 = strcmp(kind, "ExtendedS3") == 0 || strcmp(kind, "S3") == 0;
    out->http = strcmp(kind, "HttpEndpoint") == 0;
    if (!out->s3) s3 = get(dest, "S3Configuration");
    char arn[600];
    str_into(arn, sizeof arn, s3, "BucketARN");
    size_t n = strncmp(arn, "arn:aws:s3:::", 13) == 0 ? strlen(arn + 13) : 0;
    if (n < sizeof out->bucket) memcpy(out->bucket, arn + 13, n); /* longer: no bucket */
    str_into(out->prefix, sizeof out->prefix, s3, "Prefix");
    str_into(out->error_prefix, sizeof out->error_prefix, s3, "ErrorOutputPrefix");
    str_into(out->file_ext, sizeof out->file_ext, s3, "FileExtension");
    str_into(out->time_zone, sizeof out->time_zone, dest, "CustomTimeZone");
    const sl_val_t *hints = get(out->s3 ? dest : dest, "BufferingHints");
    int64_t mb = 5, secs = 300;
    sl_val_get_int(hints, "SizeInMBs", &mb);
    sl_val_get_int(hints, "IntervalInSeconds", &secs);
    out->size_bytes = (uint64_t)mb << 20;
    out->interval_ms = secs * 1000;
    char comp[32];
    str_into(comp, sizeof comp, s3, "CompressionFormat");
    int c = sl_fh_compression_parse(comp[0] ? comp : NULL);
    out->compression = c < 0 ? SL_FH_UNCOMPRESSED : (sl_fh_compression_t)c;
}

bool fh_dest_read_backup(const char *kind, const sl_val_t *dest, fh_dest_t *out) {
    char mode[32];
    str_into(mode, sizeof mode, dest, "S3BackupMode");
    if (strcmp(kind, "HttpEndpoint") == 0 && strcmp(mode, "AllData") == 0) {
        fh_dest_read(kind, dest, out);
        out->http = false;
        return out->bucket[0] != 0;
    }
    const sl_val_t *backup = get(dest, "S3BackupConfiguration");
    if (strcmp(kind, "ExtendedS3") != 0 || strcmp(mode, "Enabled") != 0 || !backup) return false;
    fh_dest_read("S3", backup, out);
    /* the backup is an S3 configuration, which has no zone of its own: the stream's applies */
    str_into(out->time_zone, sizeof out->time_zone, dest, "CustomTimeZone");
    return out->bucket[0] != 0;
}

/* ---- synchronous reads of a buffer log ---- */

typedef struct {
    sl_waiter_t w;
    sl_read_result_t *res;
} log_read_t;

static void log_read_done(void *arg, int status, sl_read_result_t *res) {
    log_read_t *r = arg;
    r->res = res;
    sl_waiter_signal(&r->w, status);
}

int fh_log_read(const fh_stream_t *s, sl_shard_log_t *log, uint64_t from, size_t records_max,
                size_t bytes_max, sl_read_result_t **out) {
    log_read_t r = {.res = NULL};
    sl_waiter_init(&r.w);
    int rc = sl_storage_read(log, from, records_max, bytes_max, 0, log_read_done, &r);
    if (rc == 0)
        rc = sl_waiter_wait(&r.w);
    else
        sl_waiter_destroy(&r.w);
    if (rc == 0 && s) rc = fh_keys_open(s, r.res); /* records sealed by buffer encryption */
    if (rc) {
        if (r.res) sl_storage_read_free(r.res);
        return rc;
    }
    *out = r.res;
    return 0;
}

/* Reads the records [from, from+count) (count > 0), or when count is 0 from `from` up to
 * bytes_max bytes and the tip; appends their data to body. */
static int collect(const fh_stream_t *s, uint64_t from, uint64_t count, uint64_t bytes_max,
                   sl_buf_t *body, uint64_t *got, int64_t *first_arrival) {
    sl_shard_log_t *log = s->log;
    *got = 0;
    *first_arrival = 0;
    for (;;) {
        size_t want = READ_RECORDS_MAX;
        if (count) want = (size_t)SL_MIN(count - *got, (uint64_t)READ_RECORDS_MAX);
        uint64_t budget = count ? UINT64_MAX / 2 : bytes_max - SL_MIN(body->len, bytes_max);
        if (!count && *got && budget == 0) break;
        sl_read_result_t *res = NULL;
        int rc =
            fh_log_read(s, log, from + *got, want, (size_t)SL_MIN(budget, (uint64_t)1 << 30), &res);
        if (rc) return rc;
        size_t n = res->count;
        for (size_t i = 0; i < n; i++) {
            const sl_record_t *r = &res->records[i];
            if (r->seq != from + *got) { /* a gap: the log lost records */
                SL_WARN("firehose: buffer log skips from seq %" PRIu64 " to %" PRIu64, from + *got,
                        r->seq);
                break;
            }
            if (!count && *got && body->len + r->data_len > bytes_max) {
                n = 0;
                break;
            }
            if (*got == 0) *first_arrival = r->arrival_ms;
            sl_buf_append(body, r->data, r->data_len);
            (*got)++;
        }
        sl_storage_read_free(res);
        if (sl_buf_failed(body)) return SL_ENOMEM;
        if (n == 0 || (count && *got >= count)) break;
        if (!count && body->len >= bytes_max) break;
    }
    if (count && *got != count) return SL_ECORRUPT;
    return 0;
}

/* ---- object names ---- */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* A version-4-shaped UUID derived from the seed (so a retried delivery names the same object). */
static void uuid_of(uint64_t seed, char out[37]) {
    uint64_t hi = mix64(seed), lo = mix64(seed ^ 0x5851f42d4c957f2dull);
    hi = (hi & ~0xf000ull) | 0x4000ull;
    lo = (lo & ~(0xc000ull << 48)) | (0x8000ull << 48);
    snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             (uint64_t)(hi >> 32), (uint64_t)((hi >> 16) & 0xffff), (uint64_t)(hi & 0xffff),
             (uint64_t)(lo >> 48), (uint64_t)(lo & 0xffffffffffffull));
}

typedef struct {
    fh_dest_t d;
    fh_dest_t backup; /* the source-record backup, when backup_on */
    bool backup_on;
    bool source; /* KinesisStreamAsSource: read the source first */
    char name[72];
    int64_t version;
    uint64_t log_id;
    sl_val_t *dest; /* a copy of the configuration, in the tick's arena */
} job_t;

int fh_tz_offset(sl_firehose_t *fh, const char *name, int64_t ts_ms, int32_t *off_s) {
    *off_s = 0;
    if (!name[0] || strcmp(name, "UTC") == 0) return 0;
    int64_t t = ts_ms >= 0 ? ts_ms / 1000 : -((-ts_ms + 999) / 1000);
    pthread_mutex_lock(&fh->tz_mu);
    for (size_t i = 0; i < fh->tz_count; i++) {
        if (strcmp(fh->tzs[i].name, name) == 0) {
            *off_s = sl_fh_tz_offset(&fh->tzs[i].tz, t);
            pthread_mutex_unlock(&fh->tz_mu);
            return 0;
        }
    }
    pthread_mutex_unlock(&fh->tz_mu);
    sl_fh_tz_t tz;
    int rc = sl_fh_tz_load(NULL, name, &tz); /* outside the lock: it reads a file */
    if (rc) return rc;
    *off_s = sl_fh_tz_offset(&tz, t);
    pthread_mutex_lock(&fh->tz_mu);
    bool kept = false;
    if (fh->tz_count < FH_TZ_CACHE_MAX) {
        bool known = false;
        for (size_t i = 0; i < fh->tz_count; i++)
            known |= strcmp(fh->tzs[i].name, name) == 0;
        if (!known) {
            snprintf(fh->tzs[fh->tz_count].name, sizeof fh->tzs[0].name, "%s", name);
            fh->tzs[fh->tz_count++].tz = tz;
            kept = true;
        }
    }
    pthread_mutex_unlock(&fh->tz_mu);
    if (!kept) sl_fh_tz_free(&tz);
    return 0;
}

int fh_object_key(sl_firehose_t *fh, const fh_dest_t *d, const char *name, int64_t version,
                  uint64_t log_id, uint64_t first_seq, int64_t ts_ms, const char *error_type,
                  char *out, size_t cap) {
    uint64_t seed = mix64(log_id ^ mix64(first_seq));
    /* AWS evaluates the prefix and the name's time in CustomTimeZone: the formatting works on
     * UTC fields, so the instant is shifted by the zone's offset at that instant */
    int32_t off_s = 0;
    if (fh_tz_offset(fh, d->time_zone, ts_ms, &off_s) != 0)
        SL_WARN("firehose: CustomTimeZone %s is no longer in the time zone database: UTC used",
                d->time_zone);
    ts_ms += (int64_t)off_s * 1000;
    char prefix[SL_FH_PREFIX_EVAL_MAX + 1];
    if (sl_fh_object_prefix(d->prefix, d->error_prefix, error_type, ts_ms, seed, prefix,
                            sizeof prefix) != 0)
        return SL_EINVAL;
    char when[32];
    size_t pos = 0;
    static const char pattern[] = "yyyy-MM-dd-HH-mm-ss";
    if (!sl_fh_datetime_format(pattern, sizeof pattern - 1, ts_ms, when, sizeof when, &pos))
        return SL_EINVAL;
    char uuid[37];
    uuid_of(seed, uuid);
    const char *ext = d->file_ext[0] ? d->file_ext : sl_fh_compression_ext(d->compression);
    int n = snprintf(out, cap, "%s%s-%" PRId64 "-%s-%s%s", prefix, name, version, when, uuid, ext);
    return n < 0 || (size_t)n >= cap ? SL_EINVAL : 0;
}

int fh_put_object(sl_firehose_t *fh, const fh_stream_t *s, const fh_dest_t *d, const char *key,
                  uint64_t first_seq, const uint8_t *data, size_t len, int64_t mtime_ms) {
    sl_buf_t packed;
    sl_buf_init(&packed);
    char entry[37]; /* the ZIP entry is named by the object's UUID */
    uuid_of(mix64(s->log_id ^ mix64(first_seq)), entry);
    int rc = sl_fh_compress(d->compression, data, len, entry, mtime_ms, &packed);
    const fh_external_t *ext = rc == 0 ? fh_external_find(fh, d->bucket) : NULL;
    if (ext) {
        char why[300];
        rc = fh_external_put(fh, ext, key, packed.data, packed.len,
                             sl_fh_compression_encoding(d->compression), why, sizeof why);
        if (rc)
            SL_WARN("firehose: delivery stream %s cannot put %s/%s/%s: %s (retried)", s->name,
                    ext->origin, d->bucket, key, why);
    } else if (rc == 0) {
        sl_objstore_header_t headers[2] = {{"content-type", "application/octet-stream"}};
        size_t header_count = 1;
        const char *enc = sl_fh_compression_encoding(d->compression);
        if (enc) headers[header_count++] = (sl_objstore_header_t){"content-encoding", enc};
        sl_arena_t arena;
        sl_arena_init(&arena, 1024);
        sl_objstore_info_t info;
        sl_objstore_err_t oerr = {0};
        rc = sl_objstore_put(fh->cfg.objstore, d->bucket, key, packed.data, packed.len, headers,
                             header_count, NULL, fh_now_ms(fh), &arena, &info, &oerr);
        if (rc)
            SL_WARN("firehose: delivery stream %s cannot put s3://%s/%s: %s (retried)", s->name,
                    d->bucket, key, oerr.code ? oerr.code->code : sl_strerror(rc));
        sl_arena_deinit(&arena);
    }
    sl_buf_free(&packed);
    return rc;
}

/* ---- one delivery ---- */

/* Delivers the oldest buffered records of s (or finishes the recorded intent). Returns 0 when
 * there was nothing to do or the object is stored and the checkpoint written. */
static int deliver_s3(sl_firehose_t *fh, fh_stream_t *s, const job_t *j) {
    sl_buf_t body;
    sl_buf_init(&body);
    int64_t started = sl_time_mono_ms();
    uint64_t got = 0;
    int64_t first_arrival = 0;
    int rc = 0;
    if (!s->intent) {
        sl_shard_bounds_t b;
        rc = sl_storage_bounds(s->log, &b);
        if (rc == 0 && b.next_seq <= s->ckpt) {
            __atomic_store_n(&s->pending_bytes, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&s->pending_since_mono, 0, __ATOMIC_RELAXED);
            s->flush_now = false;
            goto done;
        }
        if (rc == 0) rc = collect(s, s->ckpt, 0, j->d.size_bytes, &body, &got, &first_arrival);
        if (rc == 0 && got == 0) goto done;
        char key[1200];
        if (rc == 0)
            rc = fh_object_key(fh, &j->d, j->name, j->version, j->log_id, s->ckpt, first_arrival,
                               NULL, key, sizeof key);
        char backup_key[1200] = "";
        if (rc == 0 && j->backup_on)
            rc = fh_object_key(fh, &j->backup, j->name, j->version, j->log_id ^ FH_BACKUP_SALT,
                               s->ckpt, first_arrival, NULL, backup_key, sizeof backup_key);
        if (rc == 0) {
            s->intent = true;
            s->intent_first = s->ckpt;
            s->intent_count = got;
            snprintf(s->intent_bucket, sizeof s->intent_bucket, "%s", j->d.bucket);
            snprintf(s->intent_key, sizeof s->intent_key, "%s", key);
            snprintf(s->intent_backup_bucket, sizeof s->intent_backup_bucket, "%s",
                     j->backup_on ? j->backup.bucket : "");
            snprintf(s->intent_backup_key, sizeof s->intent_backup_key, "%s", backup_key);
            rc = fh_progress_write(fh, s);
            if (rc) s->intent = false;
        }
    } else {
        rc = collect(s, s->intent_first, s->intent_count, 0, &body, &got, &first_arrival);
    }
    if (rc) goto done;
    {
        fh_dest_t d = j->d;
        snprintf(d.bucket, sizeof d.bucket, "%s", s->intent_bucket);
        rc = fh_put_object(fh, s, &d, s->intent_key, s->intent_first, (const uint8_t *)body.data,
                           body.len, first_arrival);
    }
    if (rc == 0 && s->intent_backup_key[0]) {
        /* the source records' backup: the backup configuration's compression (the configured
         * one, or the stream's settings when backup was turned off since the intent) */
        fh_dest_t b = j->backup_on ? j->backup : j->d;
        snprintf(b.bucket, sizeof b.bucket, "%s", s->intent_backup_bucket);
        rc = fh_put_object(fh, s, &b, s->intent_backup_key, s->intent_first,
                           (const uint8_t *)body.data, body.len, first_arrival);
    }
    if (rc) goto done;
    s->ckpt = s->intent_first + s->intent_count;
    s->intent = false;
    rc = fh_progress_write(fh, s);
    if (rc) goto done;
    sl_metric_add(s->metrics.s3_success, 1);
    sl_metric_add(s->metrics.s3_objects, 1);
    sl_metric_add(s->metrics.s3_records, got);
    sl_metric_add(s->metrics.s3_bytes, body.len);
    __atomic_add_fetch(&fh->stats.delivered_objects, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&fh->stats.delivered_records, got, __ATOMIC_RELAXED);
    __atomic_add_fetch(&fh->stats.delivered_bytes, body.len, __ATOMIC_RELAXED);
    int64_t left = __atomic_sub_fetch(&s->pending_bytes, (int64_t)body.len, __ATOMIC_RELAXED);
    sl_shard_bounds_t b;
    if (sl_storage_bounds(s->log, &b) == 0 && b.next_seq > s->ckpt) {
        __atomic_store_n(&s->pending_since_mono, started, __ATOMIC_RELAXED);
    } else {
        s->flush_now = false;
        if (left <= 0) __atomic_store_n(&s->pending_bytes, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->pending_since_mono, 0, __ATOMIC_RELAXED);
    }
    if (first_arrival > 0) sl_storage_trim(s->log, fh_readers_hold(fh, s, first_arrival));
done:
    sl_buf_free(&body);
    return rc;
}

static const char *status_of_stream(const sl_firehose_t *fh, const fh_stream_t *s) {
    return sl_time_now_ms() < s->created_ms + fh->cfg.create_ms ? "CREATING" : s->status;
}

/* Is s due for a delivery (fh->mu held)? */
static bool due(const fh_stream_t *s, const fh_dest_t *d, int64_t now) {
    int flight = fh_http_flight_state(s);
    if (flight) return flight == 2; /* an HTTP request: due once answered */
    if (now < s->retry_at_mono) return false;
    if (s->intent || s->flush_now) return true;
    int64_t since = __atomic_load_n(&s->pending_since_mono, __ATOMIC_RELAXED);
    if (!since) return false;
    int64_t bytes = __atomic_load_n(&s->pending_bytes, __ATOMIC_RELAXED);
    return (bytes > 0 && (uint64_t)bytes >= d->size_bytes) || now - since >= d->interval_ms;
}

/* Frees the deleted streams (fh->mu held; released around the file work). One whose HTTP request
 * is still under way waits in the graveyard for its answer (or for fh_http_cancel at close). */
static void bury(sl_firehose_t *fh) {
    size_t i = 0;
    while (i < fh->grave_count) {
        fh_stream_t *s = fh->graveyard[i];
        if (fh_http_flight_state(s) == 1) {
            i++;
            continue;
        }
        fh->graveyard[i] = fh->graveyard[--fh->grave_count];
        fh_readers_wait(fh, s);
        pthread_mutex_unlock(&fh->mu);
        fh_http_flight_release(s);
        if (s->log) sl_storage_shard_close(s->log);
        sl_storage_stream_delete(fh->cfg.storage, s->log_key);
        for (size_t k = 0; k < s->tag_count; k++) {
            free(s->tags[k].key);
            free(s->tags[k].value);
        }
        sl_arena_deinit(&s->dest_arena);
        fh_keys_free(s);
        fh_source_free(s);
        free(s);
        pthread_mutex_lock(&fh->mu);
    }
}

void *fh_deliver_main(void *arg) {
    sl_firehose_t *fh = arg;
    fh_stream_t **batch = calloc(FH_STREAMS_MAX, sizeof *batch);
    job_t *jobs = calloc(FH_STREAMS_MAX, sizeof *jobs);
    sl_arena_t tick; /* the jobs' configuration copies, one tick long */
    sl_arena_init(&tick, 16384);
    pthread_mutex_lock(&fh->mu);
    while (!fh->stopping && batch && jobs) {
        bury(fh);
        sl_arena_reset(&tick);
        int64_t now = sl_time_mono_ms();
        size_t n = 0;
        for (size_t i = 0; i < fh->stream_count; i++) {
            fh_stream_t *s = fh->streams[i];
            job_t *j = &jobs[n];
            int64_t since = __atomic_load_n(&s->pending_since_mono, __ATOMIC_RELAXED);
            sl_metric_set(s->metrics.s3_freshness, since ? (now - since) / 1000 : 0);
            fh_dest_read(s->dest_kind, s->dest, &j->d);
            j->backup_on = fh_dest_read_backup(s->dest_kind, s->dest, &j->backup);
            j->source = s->source_arn[0] && strcmp(status_of_stream(fh, s), "ACTIVE") == 0;
            if (!j->source && (!(j->d.s3 || j->d.http) || !due(s, &j->d, now))) continue;
            snprintf(j->name, sizeof j->name, "%s", s->name);
            j->dest = fh_val_clone(&tick, s->dest);
            j->version = s->version;
            j->log_id = s->log_id;
            s->busy = true;
            batch[n++] = s;
        }
        pthread_mutex_unlock(&fh->mu);
        bool delivered = false;
        for (size_t i = 0; i < n; i++) {
            fh_stream_t *s = batch[i];
            if (jobs[i].source) {
                int prc = fh_source_pump(fh, s);
                if (prc && prc != SL_ENOTFOUND)
                    SL_WARN("firehose: delivery stream %s cannot read %s: %s", s->name,
                            s->source_arn, sl_strerror(prc));
                if (!(jobs[i].d.s3 || jobs[i].d.http) || !due(s, &jobs[i].d, sl_time_mono_ms()))
                    continue;
            }
            int rc;
            if (jobs[i].d.http) {
                bool done = false;
                rc = fh_deliver_http(fh, s, jobs[i].dest, &jobs[i].d, jobs[i].version, &done);
                delivered |= done;
                if (rc == 0) continue; /* a failed attempt set its own retry time */
            } else {
                delivered = true;
                rc = deliver_s3(fh, s, &jobs[i]);
            }
            if (rc) {
                sl_metric_add(s->metrics.s3_success, 0);
                __atomic_add_fetch(&fh->stats.delivery_failures, 1, __ATOMIC_RELAXED);
                int64_t wait = SL_MIN((int64_t)RETRY_MS_MAX, 1000ll << SL_MIN(s->attempts, 5));
                s->attempts++;
                s->retry_at_mono = sl_time_mono_ms() + wait;
            } else {
                s->attempts = 0;
                s->retry_at_mono = 0;
            }
        }
        pthread_mutex_lock(&fh->mu);
        for (size_t i = 0; i < n; i++)
            batch[i]->busy = false;
        if (delivered && !fh->stopping) continue; /* more may be due at once (a backlog) */
        if (fh->stopping) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&fh->wake, &fh->mu, &ts);
    }
    bury(fh);
    pthread_mutex_unlock(&fh->mu);
    sl_arena_deinit(&tick);
    free(batch);
    free(jobs);
    return NULL;
}
