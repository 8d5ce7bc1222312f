/* Readers of the records a delivery stream receives (see reader.h).
 *
 * A reader is on fh->readers (guarded by fh->mu) from its open to its close. A read finds the
 * stream under fh->mu and marks itself reading that stream's log; the delivery thread frees a
 * deleted stream's log only when no reader reads it (fh_readers_wait), and trims only what every
 * reader of the log has read (fh_readers_hold). */
#include "firehose/reader.h"

#include "core/common.h"
#include "firehose/internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    pthread_mutex_unlock(&fh->mu);
    return cutoff_ms;
}
