/* KinesisStreamAsSource: a delivery stream reads its source stream's shards through the Kinesis
 * reader (kinesis/kinesis.h), de-aggregates KPL records as Firehose does, and appends the user
 * records to its own buffer log, from which the delivery thread cuts objects as for DirectPut.
 * Each shard's position is kept in firehose.db ("sources") once the records read up to it are
 * durable in the buffer: after a crash between the two the last read is read again, so a record
 * may be delivered twice (at least once, as AWS promises for this source), never lost.
 *
 * A shard first seen is read from the delivery stream's creation time (AT_TIMESTAMP of
 * DeliveryStartTimestamp): records put before the delivery stream existed are not delivered, as
 * on AWS (which starts at LATEST). Runs on the delivery thread only. */
#include "firehose/internal.h"

#include "core/common.h"
#include "core/log.h"
#include "core/time.h"
#include "kinesis/control.h"
#include "wire/kpl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOURCE_RECORDS_MAX 10000    /* records of one read of one shard (GetRecords' limit) */
#define SOURCE_BYTES_MAX (4u << 20) /* bytes of one read (a pump reads each shard once) */
#define SOURCE_SHARDS_MAX 4096      /* shards of a source stream followed at once */
static const char SOURCES[] = "sources";

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int status;
} waiter_t;

static void waiter_init(waiter_t *w) {
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->done = false;
    w->status = 0;
}

static void waiter_signal(waiter_t *w, int status) {
    pthread_mutex_lock(&w->mu);
    w->status = status;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int waiter_wait(waiter_t *w) {
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    return w->status;
}

static sl_kstream_ref_t ref_of(const fh_stream_t *s) {
    return (sl_kstream_ref_t){.arn = s->source_arn, .arn_len = strlen(s->source_arn)};
}

bool fh_source_exists(sl_firehose_t *fh, const char *arn) {
    if (!fh->cfg.kinesis) return false;
    sl_kstream_ref_t ref = {.arn = arn, .arn_len = strlen(arn)};
    sl_kstream_info_t info;
    sl_kerr_t err = {0};
    return sl_kinesis_describe_stream_summary(fh->cfg.kinesis, &ref, sl_time_now_ms(), &info, &err);
}

/* ---- positions ---- */

int fh_source_persist(sl_firehose_t *fh, fh_stream_t *s) {
    sl_buf_t doc;
    sl_buf_init(&doc);
    sl_buf_append_str(&doc, "[");
    for (size_t i = 0; i < s->src_count; i++) {
        const fh_src_shard_t *sh = &s->src[i];
        sl_buf_printf(&doc,
                      "%s{\"id\":\"%s\",\"stream\":\"%s\",\"created\":%" PRId64
                      ",\"index\":%u,\"pos\":%" PRIu64 ",\"ended\":%s}",
                      i ? "," : "", sh->shard_id, sh->reader.stream, sh->reader.stream_created_ms,
                      (unsigned)sh->reader.shard_index, sh->reader.position,
                      sh->ended ? "true" : "false");
    }
    sl_buf_append_str(&doc, "]");
    int rc = SL_ENOMEM;
    if (!sl_buf_failed(&doc)) {
        sl_itemstore_op_t op = {SL_ITEMSTORE_PUT_ITEM, SOURCES,  s->name,
                                strlen(s->name),       doc.data, doc.len};
        rc = fh_store_write(fh, &op, 1);
    }
    sl_buf_free(&doc);
    return rc;
}

static fh_src_shard_t *shard_add(fh_stream_t *s) {
    if (s->src_count == s->src_cap) {
        if (s->src_cap >= SOURCE_SHARDS_MAX) return NULL;
        size_t cap = s->src_cap ? s->src_cap * 2 : 8;
        fh_src_shard_t *n = realloc(s->src, cap * sizeof *n);
        if (!n) return NULL;
        s->src = n;
        s->src_cap = cap;
    }
    fh_src_shard_t *sh = &s->src[s->src_count++];
    memset(sh, 0, sizeof *sh);
    return sh;
}

int fh_source_load(sl_firehose_t *fh, fh_stream_t *s, const void *val, size_t len) {
    (void)fh;
    sl_arena_t a;
    sl_arena_init(&a, 4096);
    sl_val_t *list = NULL;
    int rc = fh_val_from_json(&a, val, len, &list);
    for (size_t i = 0; rc == 0 && list && list->type == SL_VAL_ARRAY && i < list->u.arr.count;
         i++) {
        const sl_val_t *e = list->u.arr.items[i];
        fh_src_shard_t *sh = shard_add(s);
        if (!sh) {
            rc = SL_ENOMEM;
            break;
        }
        size_t n = 0;
        const char *id = sl_val_get_str(e, "id", &n);
        snprintf(sh->shard_id, sizeof sh->shard_id, "%.*s", id ? (int)n : 0, id ? id : "");
        const char *stream = sl_val_get_str(e, "stream", &n);
        snprintf(sh->reader.stream, sizeof sh->reader.stream, "%.*s", stream ? (int)n : 0,
                 stream ? stream : "");
        int64_t v = 0;
        sl_val_get_int(e, "created", &v);
        sh->reader.stream_created_ms = v;
        sl_val_get_int(e, "index", &v);
        sh->reader.shard_index = (uint32_t)v;
        const sl_val_t *pos = sl_val_get(e, "pos");
        sh->reader.position = pos && pos->type == SL_VAL_NUMBER && pos->u.num.text
                                  ? strtoull(pos->u.num.text, NULL, 10)
                                  : 0;
        sl_val_get_bool(e, "ended", &sh->ended);
    }
    sl_arena_deinit(&a);
    return rc;
}

/* ---- reading ---- */

static void iterator_done(sl_kiterator_t *op) {
    waiter_signal(op->arg, 0);
}

/* Starts following a shard first seen: its position at the delivery stream's start time. */
static int shard_start(sl_firehose_t *fh, fh_stream_t *s, const char *shard_id) {
    sl_kiterator_t op = {
        .stream = ref_of(s),
        .shard_id = shard_id,
        .shard_id_len = strlen(shard_id),
        .start = {.type = SL_KSTART_AT_TIMESTAMP,
                  .has_timestamp = true,
                  .timestamp_ms = s->source_start_ms},
        .op_name = "GetShardIterator",
        .now_ms = sl_time_now_ms(),
        .cb = iterator_done,
    };
    waiter_t w;
    waiter_init(&w);
    op.arg = &w;
    int rc = sl_kinesis_shard_iterator(fh->cfg.kinesis, &op);
    if (rc == SL_KINESIS_PENDING) {
        waiter_wait(&w);
    } else {
        pthread_cond_destroy(&w.cv);
        pthread_mutex_destroy(&w.mu);
        if (rc < 0) return rc;
    }
    if (op.err.type != SL_KERR_NONE) return SL_ENOTFOUND;
    fh_src_shard_t *sh = shard_add(s);
    if (!sh) return SL_ENOMEM;
    snprintf(sh->shard_id, sizeof sh->shard_id, "%s", shard_id);
    sh->reader = op.reader;
    return 0;
}

typedef struct {
    sl_record_t *recs;
    size_t count, cap;
    uint64_t bytes;
    int64_t arrival_ms;
} batch_t;

static int batch_add(batch_t *b, const uint8_t *data, size_t len) {
    if (b->count == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        sl_record_t *n = realloc(b->recs, cap * sizeof *n);
        if (!n) return SL_ENOMEM;
        b->recs = n;
        b->cap = cap;
    }
    b->recs[b->count++] = (sl_record_t){.arrival_ms = b->arrival_ms, .data = data, .data_len = len};
    b->bytes += len;
    return 0;
}

static int user_record(const sl_kpl_record_t *r, uint64_t index, void *arg) {
    (void)index;
    return batch_add(arg, r->data, r->data_len);
}

static void read_done(sl_kread_t *op) {
    waiter_signal(op->arg, 0);
}

typedef struct {
    fh_stream_t *s;
    waiter_t *w;
    uint64_t bytes;
} append_t;

static void append_done(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    (void)first_seq, (void)arrival_ms;
    append_t *a = arg;
    if (status == 0) {
        __atomic_add_fetch(&a->s->pending_bytes, (int64_t)a->bytes, __ATOMIC_RELAXED);
        int64_t zero = 0, now = sl_time_mono_ms();
        __atomic_compare_exchange_n(&a->s->pending_since_mono, &zero, now, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
    }
    waiter_signal(a->w, status);
}

/* One read of one shard into the buffer. Returns 0, with *moved when the position advanced. */
static int shard_pump(sl_firehose_t *fh, fh_stream_t *s, fh_src_shard_t *sh, bool *moved) {
    sl_kread_t op = {
        .reader = sh->reader,
        .records_max = SOURCE_RECORDS_MAX,
        .bytes_max = SOURCE_BYTES_MAX,
        .now_ms = sl_time_now_ms(),
        .cb = read_done,
    };
    waiter_t w;
    waiter_init(&w);
    op.arg = &w;
    int rc = sl_kinesis_read(fh->cfg.kinesis, &op);
    if (rc == SL_KINESIS_PENDING) {
        waiter_wait(&w);
    } else {
        pthread_cond_destroy(&w.cv);
        pthread_mutex_destroy(&w.mu);
        if (rc < 0) return rc;
    }
    if (op.err.type != SL_KERR_NONE) {
        sl_kread_release(&op);
        return op.gone ? SL_ENOTFOUND : SL_EAGAIN;
    }
    batch_t b = {.arrival_ms = fh_now_ms(fh)};
    if (op.count) {
        sl_metric_add(s->metrics.kds_records, op.count);
        sl_metric_add(s->metrics.kds_bytes, op.bytes);
    }
    rc = 0;
    for (size_t i = 0; rc == 0 && i < op.count; i++) {
        const sl_krecord_t *r = &op.records[i];
        const char *reason = NULL;
        if (sl_kpl_looks_aggregated(r->data, r->data_len)) {
            size_t before = b.count;
            int drc = sl_kpl_decode(r->data, r->data_len, user_record, &b, &reason);
            if (drc == 0) continue;
            b.count = before; /* not an aggregate after all: the record as it is */
            if (drc != SL_EINVAL && drc != SL_ELIMIT) rc = drc;
        }
        if (rc == 0) rc = batch_add(&b, r->data, r->data_len);
    }
    if (rc == 0 && b.count) {
        waiter_t aw;
        waiter_init(&aw);
        append_t a = {s, &aw, b.bytes};
        rc = sl_storage_append(s->log, b.recs, b.count, append_done, &a);
        if (rc == 0)
            rc = waiter_wait(&aw);
        else {
            pthread_cond_destroy(&aw.cv);
            pthread_mutex_destroy(&aw.mu);
        }
        if (rc == 0) {
            __atomic_add_fetch(&fh->stats.incoming_records, b.count, __ATOMIC_RELAXED);
            __atomic_add_fetch(&fh->stats.incoming_bytes, b.bytes, __ATOMIC_RELAXED);
            sl_metric_add(s->metrics.incoming_records, b.count);
            sl_metric_add(s->metrics.incoming_bytes, b.bytes);
        }
    }
    if (rc == 0) {
        *moved = op.next_position != sh->reader.position || op.shard_ended != sh->ended;
        if (!op.shard_ended) sh->reader.position = op.next_position;
        sh->ended = op.shard_ended;
    }
    free(b.recs);
    sl_kread_release(&op);
    return rc;
}

int fh_source_pump(sl_firehose_t *fh, fh_stream_t *s) {
    if (!fh->cfg.kinesis || !s->source_arn[0]) return 0;
    sl_arena_t arena;
    sl_arena_init(&arena, 8192);
    sl_klist_shards_t list = {
        .stream = ref_of(s),
        .max_results = 10000,
        .now_ms = sl_time_now_ms(),
        .arena = &arena,
    };
    sl_kerr_t err = {0};
    int rc = 0;
    if (!sl_kinesis_list_shards(fh->cfg.kinesis, &list, &err)) {
        sl_arena_deinit(&arena);
        return SL_ENOTFOUND; /* the source stream is gone (or not ACTIVE yet) */
    }
    bool moved = false;
    for (size_t i = 0; rc == 0 && i < list.count; i++) {
        char id[24];
        snprintf(id, sizeof id, "shardId-%012u", (unsigned)list.shards[i].index);
        fh_src_shard_t *sh = NULL;
        for (size_t j = 0; j < s->src_count; j++)
            if (strcmp(s->src[j].shard_id, id) == 0) sh = &s->src[j];
        if (!sh) {
            rc = shard_start(fh, s, id);
            if (rc == 0) {
                sh = &s->src[s->src_count - 1];
                moved = true;
            } else if (rc == SL_ENOTFOUND) {
                rc = 0; /* expired past retention meanwhile */
                continue;
            }
        }
        if (rc == 0 && !sh->ended) {
            rc = shard_pump(fh, s, sh, &moved);
            if (rc == SL_EAGAIN || rc == SL_ENOTFOUND) rc = 0;
        }
    }
    if (moved) {
        int prc = fh_source_persist(fh, s);
        if (rc == 0) rc = prc;
    }
    sl_arena_deinit(&arena);
    return rc;
}
