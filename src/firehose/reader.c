/* Readers of the records a delivery stream receives (see reader.h).
 *
 * A reader is on fh->readers (guarded by fh->mu) from its open to its close. A read finds the
 * stream under fh->mu and marks itself reading that stream's log; the delivery thread frees a
 * deleted stream's log only when no reader reads it (fh_readers_wait), and trims only what every
 * reader of the log has read (fh_readers_hold). */
#include "firehose/reader.h"

#include "core/common.h"
#include "core/log.h"
#include "firehose/internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A committed position's hold (sl_firehose_reader_commit), kept in firehose.db. */
typedef struct fh_hold {
    char holder[160];
    char stream[72];
    uint64_t log_id; /* 0: the stream's log was not known at the commit */
    int64_t hold_ms; /* no record of the log that arrived at or after this is trimmed */
} fh_hold_t;

struct sl_fh_reader {
    sl_firehose_t *fh;
    char name[72];
    int64_t start_ms;
    /* the position: in log log_id, the next record is next_seq (positioned false: not yet read
     * from; then the first read starts at start_ms, or at the log's first record when
     * from_first) */
    uint64_t log_id;
    uint64_t next_seq;
    bool positioned, from_first;
    /* under fh->mu: the log a read is reading now (0: none), and the arrival time before which
     * this reader needs no record of log_id any more */
    uint64_t reading;
    int64_t hold_ms;
    struct sl_fh_reader *next;
};

int sl_firehose_reader_open(sl_firehose_t *fh, const char *stream, int64_t start_ms,
                            sl_fh_reader_t **out) {
    const char *slash = strstr(stream, ":deliverystream/");
    const char *name = slash ? slash + strlen(":deliverystream/") : stream;
    sl_fh_reader_t *r = calloc(1, sizeof *r);
    if (!r) return SL_ENOMEM;
    if (!*name || strlen(name) >= sizeof r->name) {
        free(r);
        return SL_EINVAL;
    }
    r->fh = fh;
    snprintf(r->name, sizeof r->name, "%s", name);
    r->start_ms = start_ms;
    r->hold_ms = start_ms;
    pthread_mutex_lock(&fh->mu);
    r->next = fh->readers;
    fh->readers = r;
    pthread_mutex_unlock(&fh->mu);
    *out = r;
    return 0;
}

void sl_firehose_reader_close(sl_fh_reader_t *r) {
    if (!r) return;
    sl_firehose_t *fh = r->fh;
    pthread_mutex_lock(&fh->mu);
    for (sl_fh_reader_t **p = &fh->readers; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    pthread_mutex_unlock(&fh->mu);
    free(r);
}

int sl_firehose_reader_read(sl_fh_reader_t *r, size_t records_max, size_t bytes_max,
                            sl_fh_read_fn fn, void *ctx, size_t *count) {
    sl_firehose_t *fh = r->fh;
    *count = 0;
    pthread_mutex_lock(&fh->mu);
    fh_stream_t *s = NULL;
    for (size_t i = 0; i < fh->stream_count && !s; i++)
        if (strcmp(fh->streams[i]->name, r->name) == 0) s = fh->streams[i];
    if (!s || s->deleted || !s->log) {
        pthread_mutex_unlock(&fh->mu);
        return SL_ENOTFOUND;
    }
    if (r->positioned && r->log_id != s->log_id) {
        r->positioned = false; /* another stream of the same name: from its first record */
        r->from_first = true;
        r->hold_ms = 0;
    }
    r->log_id = s->log_id;
    r->reading = s->log_id;
    sl_shard_log_t *log = s->log;
    pthread_mutex_unlock(&fh->mu);

    int rc = 0;
    if (!r->positioned) {
        if (r->from_first)
            r->next_seq = 0; /* reads from the log's horizon */
        else
            rc = sl_storage_seek_time(log, r->start_ms, &r->next_seq);
        r->positioned = rc == 0;
    }
    sl_read_result_t *res = NULL;
    if (rc == 0) rc = fh_log_read(s, log, r->next_seq, records_max, bytes_max, &res);
    int64_t hold = -1;
    if (rc == 0 && res->count) {
        sl_fh_read_record_t stack[64];
        sl_fh_read_record_t *recs =
            res->count <= SL_ARRAY_LEN(stack) ? stack : malloc(res->count * sizeof *recs);
        if (!recs) {
            rc = SL_ENOMEM;
        } else {
            for (size_t i = 0; i < res->count; i++)
                recs[i] = (sl_fh_read_record_t){res->records[i].seq, res->records[i].arrival_ms,
                                                res->records[i].data, res->records[i].data_len};
            rc = fn(ctx, recs, res->count);
            if (rc == 0) {
                *count = res->count;
                r->next_seq = res->next_seq;
                hold = res->records[res->count - 1].arrival_ms;
            }
            if (recs != stack) free(recs);
        }
    } else if (rc == 0) {
        r->next_seq = res->next_seq; /* past a trimmed range, if any */
    }
    if (res) sl_storage_read_free(res);

    pthread_mutex_lock(&fh->mu);
    r->reading = 0;
    if (hold >= 0) r->hold_ms = hold;
    /* s is still allocated: the delivery thread frees a deleted one only once no one reads it */
    if (s->deleted) pthread_cond_broadcast(&fh->wake);
    pthread_mutex_unlock(&fh->mu);
    return rc;
}

int sl_firehose_reader_save(const sl_fh_reader_t *r, char *out, size_t cap) {
    int n = r->positioned
                ? snprintf(out, cap, "firehose %" PRIu64 " %" PRIu64 "\n", r->log_id, r->next_seq)
                : snprintf(out, cap, "%s", "");
    return n >= 0 && (size_t)n < cap ? 0 : SL_EINVAL;
}

int sl_firehose_reader_parse(const char *text, size_t len, uint64_t *log_id, uint64_t *next_seq) {
    static const char head[] = "firehose ";
    size_t at = sizeof head - 1;
    if (len < at || memcmp(text, head, at) != 0) return SL_EINVAL;
    uint64_t v[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        size_t digits = 0;
        while (at < len && text[at] >= '0' && text[at] <= '9' && digits < 20) {
            uint64_t d = (uint64_t)(text[at] - '0');
            if (v[i] > (UINT64_MAX - d) / 10) return SL_EINVAL;
            v[i] = v[i] * 10 + d;
            at++;
            digits++;
        }
        if (digits == 0) return SL_EINVAL;
        if (i == 0 && (at >= len || text[at++] != ' ')) return SL_EINVAL;
    }
    if (at < len && text[at] == '\n') at++;
    if (at != len) return SL_EINVAL;
    *log_id = v[0];
    *next_seq = v[1];
    return 0;
}

int sl_firehose_reader_restore(sl_fh_reader_t *r, const char *text, size_t len) {
    uint64_t log_id, next_seq;
    if (sl_firehose_reader_parse(text, len, &log_id, &next_seq) != 0) return SL_EINVAL;
    r->log_id = log_id;
    r->next_seq = next_seq;
    r->positioned = true;
    pthread_mutex_lock(&r->fh->mu);
    r->hold_ms = 0; /* the arrival time of the position is not known: hold every record */
    pthread_mutex_unlock(&r->fh->mu);
    return 0;
}

void fh_readers_wait(sl_firehose_t *fh, const fh_stream_t *s) {
    for (;;) {
        bool reading = false;
        for (const sl_fh_reader_t *r = fh->readers; r; r = r->next)
            reading |= r->reading == s->log_id;
        if (!reading) return;
        pthread_cond_wait(&fh->wake, &fh->mu);
    }
}

int64_t fh_readers_hold(sl_firehose_t *fh, const fh_stream_t *s, int64_t cutoff_ms) {
    pthread_mutex_lock(&fh->mu);
    for (const sl_fh_reader_t *r = fh->readers; r; r = r->next)
        if (strcmp(r->name, s->name) == 0 && (!r->positioned || r->log_id == s->log_id))
            cutoff_ms = SL_MIN(cutoff_ms, r->hold_ms);
    for (size_t i = 0; i < fh->hold_count; i++) {
        const fh_hold_t *h = &fh->holds[i];
        if (strcmp(h->stream, s->name) == 0 && (h->log_id == 0 || h->log_id == s->log_id))
            cutoff_ms = SL_MIN(cutoff_ms, h->hold_ms);
    }
    pthread_mutex_unlock(&fh->mu);
    return cutoff_ms;
}

/* ---- durable holds: table "holds" of firehose.db, holder -> "<stream> <log id> <hold ms>" ---- */

static const char HOLDS[] = "holds";

static int hold_parse(const void *val, size_t len, fh_hold_t *h) {
    char text[160];
    if (len >= sizeof text) return SL_ECORRUPT;
    memcpy(text, val, len);
    text[len] = 0;
    char stream[80];
    unsigned long long log_id;
    long long hold_ms;
    if (sscanf(text, "%79s %llu %lld", stream, &log_id, &hold_ms) != 3) return SL_ECORRUPT;
    size_t n = strlen(stream);
    if (n >= sizeof h->stream) return SL_ECORRUPT;
    memcpy(h->stream, stream, n + 1);
    h->log_id = log_id;
    h->hold_ms = hold_ms;
    return 0;
}

static int holds_table(void *ctx, const char *table, const void *meta, size_t len) {
    (void)ctx, (void)table, (void)meta, (void)len;
    return 0;
}

static int holds_item(void *ctx, const char *table, const void *key, size_t key_len,
                      const void *val, size_t val_len) {
    sl_firehose_t *fh = ctx;
    if (strcmp(table, HOLDS) != 0) return 0;
    fh_hold_t h;
    if (key_len >= sizeof h.holder || hold_parse(val, val_len, &h) != 0 ||
        fh->hold_count == FH_HOLDS_MAX) {
        SL_ERROR("firehose: a reader hold of firehose.db cannot be read; it is dropped");
        return 0;
    }
    memcpy(h.holder, key, key_len);
    h.holder[key_len] = 0;
    fh->holds[fh->hold_count++] = h;
    return 0;
}

int fh_holds_load(sl_firehose_t *fh) {
    fh->holds = calloc(FH_HOLDS_MAX, sizeof *fh->holds);
    if (!fh->holds) return SL_ENOMEM;
    return sl_itemstore_load(fh->store, holds_table, holds_item, fh);
}

void fh_holds_free(sl_firehose_t *fh) {
    free(fh->holds);
    fh->holds = NULL;
    fh->hold_count = 0;
}

static fh_hold_t *hold_find(sl_firehose_t *fh, const char *holder) {
    for (size_t i = 0; i < fh->hold_count; i++)
        if (strcmp(fh->holds[i].holder, holder) == 0) return &fh->holds[i];
    return NULL;
}

int sl_firehose_reader_commit(sl_fh_reader_t *r, const char *holder) {
    sl_firehose_t *fh = r->fh;
    fh_hold_t h = {0};
    if (!*holder || strlen(holder) >= sizeof h.holder) return SL_EINVAL;
    snprintf(h.holder, sizeof h.holder, "%s", holder);
    snprintf(h.stream, sizeof h.stream, "%s", r->name);
    pthread_mutex_lock(&fh->mu);
    h.log_id = r->positioned ? r->log_id : 0;
    h.hold_ms = r->hold_ms; /* the reader's owner reads on one thread: this is its position's */
    const fh_hold_t *old = hold_find(fh, holder);
    bool same = old && strcmp(old->stream, h.stream) == 0 && old->log_id == h.log_id &&
                old->hold_ms == h.hold_ms;
    bool full = !old && fh->hold_count == FH_HOLDS_MAX;
    pthread_mutex_unlock(&fh->mu);
    if (same) return 0;
    if (full) return SL_ELIMIT;
    char val[160];
    int n = snprintf(val, sizeof val, "%s %" PRIu64 " %" PRId64, h.stream, h.log_id, h.hold_ms);
    sl_itemstore_op_t op = {SL_ITEMSTORE_PUT_ITEM, HOLDS, holder, strlen(holder), val, (size_t)n};
    int rc = fh_store_write(fh, &op, 1);
    if (rc) return rc;
    pthread_mutex_lock(&fh->mu);
    fh_hold_t *at = hold_find(fh, holder);
    if (!at && fh->hold_count < FH_HOLDS_MAX) at = &fh->holds[fh->hold_count++];
    if (at) *at = h;
    pthread_mutex_unlock(&fh->mu);
    return 0;
}

int sl_firehose_hold_release(sl_firehose_t *fh, const char *holder) {
    pthread_mutex_lock(&fh->mu);
    bool held = hold_find(fh, holder) != NULL;
    pthread_mutex_unlock(&fh->mu);
    if (!held) return 0;
    sl_itemstore_op_t op = {SL_ITEMSTORE_DELETE_ITEM, HOLDS, holder, strlen(holder), NULL, 0};
    int rc = fh_store_write(fh, &op, 1);
    if (rc) return rc;
    pthread_mutex_lock(&fh->mu);
    fh_hold_t *at = hold_find(fh, holder);
    if (at) *at = fh->holds[--fh->hold_count];
    pthread_mutex_unlock(&fh->mu);
    return 0;
}
