/* KinesisStreamAsSource: a delivery stream follows its source stream's shards with the Kinesis
 * core's blocking follower (kinesis/follow.h: every shard, children after their parents),
 * de-aggregates KPL records as Firehose does, and appends the user records to its own buffer log,
 * from which the delivery thread cuts objects as for DirectPut. The follower's positions are kept
 * in firehose.db ("sources", the follower's text) once the records read up to them are durable in
 * the buffer: after a crash between the two the last read is read again, so a record may be
 * delivered twice (at least once, as AWS promises for this source), never lost.
 *
 * A shard first seen is read from the delivery stream's creation time (AT_TIMESTAMP of
 * DeliveryStartTimestamp): records put before the delivery stream existed are not delivered, as
 * on AWS (which starts at LATEST). Runs on the delivery thread only. */
#include "firehose/internal.h"

#include "core/common.h"
#include "core/log.h"
#include "core/time.h"
#include "core/waiter.h"
#include "kinesis/control.h"
#include "kinesis/follow.h"
#include "wire/kpl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOURCE_RECORDS_MAX 10000          /* records of one read of one shard (GetRecords' limit) */
#define SOURCE_BYTES_MAX (4u << 20)       /* bytes of one read (a pass reads each shard once) */
#define SOURCE_SAVED_BYTES_MAX (1u << 20) /* the follower's positions as firehose.db keeps them */
static const char SOURCES[] = "sources";

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
    int rc = s->follow ? sl_kfollow_save(s->follow, &doc) : 0;
    if (rc == 0 && doc.len &&
        !(doc.len == s->src_saved_len && s->src_saved &&
          memcmp(doc.data, s->src_saved, doc.len) == 0)) {
        sl_itemstore_op_t op = {SL_ITEMSTORE_PUT_ITEM, SOURCES,  s->name,
                                strlen(s->name),       doc.data, doc.len};
        rc = fh_store_write(fh, &op, 1);
        if (rc == 0) { /* kept: a pass that moves nothing writes nothing */
            free(s->src_saved);
            s->src_saved = doc.data;
            s->src_saved_len = doc.len;
            sl_buf_init(&doc);
        }
    }
    sl_buf_free(&doc);
    return rc;
}

/* A row of the format before the follower: a JSON array of {"id","pos","ended",...}; becomes
 * the follower's text ("<shard id> <position>|ended" lines). */
static int from_json(const void *val, size_t len, sl_buf_t *out) {
    sl_arena_t a;
    sl_arena_init(&a, 4096);
    sl_val_t *list = NULL;
    int rc = fh_val_from_json(&a, val, len, &list);
    for (size_t i = 0; rc == 0 && list && list->type == SL_VAL_ARRAY && i < list->u.arr.count;
         i++) {
        const sl_val_t *e = list->u.arr.items[i];
        size_t n = 0;
        const char *id = sl_val_get_str(e, "id", &n);
        bool ended = false;
        sl_val_get_bool(e, "ended", &ended);
        const sl_val_t *pos = sl_val_get(e, "pos");
        if (!id || n > 24) continue;
        if (ended)
            sl_buf_printf(out, "%.*s ended\n", (int)n, id);
        else if (pos && pos->type == SL_VAL_NUMBER && pos->u.num.text)
            sl_buf_printf(out, "%.*s %.*s\n", (int)n, id, (int)pos->u.num.text_len,
                          pos->u.num.text);
    }
    sl_arena_deinit(&a);
    return rc ? rc : sl_buf_failed(out) ? SL_ENOMEM : 0;
}

int fh_source_load(sl_firehose_t *fh, fh_stream_t *s, const void *val, size_t len) {
    (void)fh;
    if (len > SOURCE_SAVED_BYTES_MAX) return SL_ECORRUPT;
    sl_buf_t text;
    sl_buf_init(&text);
    int rc = len && ((const char *)val)[0] == '['
                 ? from_json(val, len, &text)
                 : (sl_buf_append(&text, val, len), sl_buf_failed(&text) ? SL_ENOMEM : 0);
    if (rc == 0) {
        free(s->src_saved);
        s->src_saved = text.data; /* restored into the follower when the first pass makes it */
        s->src_saved_len = text.len;
    } else {
        sl_buf_free(&text);
    }
    return rc;
}

void fh_source_free(fh_stream_t *s) {
    sl_kfollow_destroy(s->follow);
    s->follow = NULL;
    free(s->src_saved);
    s->src_saved = NULL;
    s->src_saved_len = 0;
}

/* ---- reading ---- */

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

typedef struct {
    fh_stream_t *s;
    sl_waiter_t *w;
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
    sl_waiter_signal(a->w, status);
}

typedef struct {
    sl_firehose_t *fh;
    fh_stream_t *s;
} pump_t;

/* The follower's records of one read of one shard: their user records, durable in the buffer
 * before the follower moves past them. */
static int on_records(void *ctx, const sl_kfollow_shard_t *shard, const sl_krecord_t *records,
                      size_t count) {
    (void)shard;
    pump_t *p = ctx;
    fh_stream_t *s = p->s;
    batch_t b = {.arrival_ms = fh_now_ms(p->fh)};
    sl_metric_add(s->metrics.kds_records, count);
    int rc = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const sl_krecord_t *r = &records[i];
        bytes += r->data_len;
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
    sl_metric_add(s->metrics.kds_bytes, bytes);
    if (rc == 0 && b.count) {
        sl_waiter_t w;
        sl_waiter_init(&w);
        append_t a = {s, &w, b.bytes};
        rc = sl_storage_append(s->log, b.recs, b.count, append_done, &a);
        if (rc == 0)
            rc = sl_waiter_wait(&w);
        else
            sl_waiter_destroy(&w);
        if (rc == 0) {
            __atomic_add_fetch(&p->fh->stats.incoming_records, b.count, __ATOMIC_RELAXED);
            __atomic_add_fetch(&p->fh->stats.incoming_bytes, b.bytes, __ATOMIC_RELAXED);
            sl_metric_add(s->metrics.incoming_records, b.count);
            sl_metric_add(s->metrics.incoming_bytes, b.bytes);
        }
    }
    free(b.recs);
    return rc;
}

int fh_source_pump(sl_firehose_t *fh, fh_stream_t *s) {
    if (!fh->cfg.kinesis || !s->source_arn[0]) return 0;
    if (!s->follow) {
        sl_kfollow_config_t cfg = {
            .k = fh->cfg.kinesis,
            .stream = s->source_arn,
            .start = SL_KSTART_AT_TIMESTAMP,
            .start_ms = s->source_start_ms,
            .records_max = SOURCE_RECORDS_MAX,
            .bytes_max = SOURCE_BYTES_MAX,
        };
        int rc = sl_kfollow_create(&cfg, &s->follow);
        if (rc == 0 && s->src_saved_len)
            rc = sl_kfollow_restore(s->follow, s->src_saved, s->src_saved_len);
        if (rc) {
            sl_kfollow_destroy(s->follow);
            s->follow = NULL;
            return rc;
        }
    }
    pump_t p = {fh, s};
    size_t delivered = 0;
    bool caught_up = true;
    int rc = sl_kfollow_pass(s->follow, on_records, &p, &delivered, &caught_up);
    if (rc == SL_EAGAIN) rc = 0; /* a shard not readable now: the next pass tries again */
    int prc = fh_source_persist(fh, s);
    return rc ? rc : prc;
}
