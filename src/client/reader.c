/* libsluice reader: every shard of a stream from a start position, with GetShardIterator and
 * GetRecords, following resharding the way the KCL does (a child shard is read only after its
 * parents were read to their end, so a key's records come out in order), and KPL de-aggregation
 * (wire/kpl.h; an aggregate that does not check out is handed out raw, as the KCL does).
 * The reader is driven by its caller's thread through blocking client calls. */
#include "client/internal.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "wire/base64.h"
#include "wire/enc.h"
#include "wire/json.h"
#include "wire/kpl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- de-aggregation ---- */

typedef struct {
    const sl_record_t *outer;
    sl_record_fn fn;
    void *arg;
} deagg_t;

static int deagg_one(const sl_kpl_record_t *k, uint64_t index, void *arg) {
    deagg_t *d = arg;
    char pk[1100], ehk[48];
    if (k->pk_len >= sizeof pk || (k->ehk && k->ehk_len >= sizeof ehk)) return SL_EINVAL;
    memcpy(pk, k->pk, k->pk_len);
    pk[k->pk_len] = 0;
    if (k->ehk) {
        memcpy(ehk, k->ehk, k->ehk_len);
        ehk[k->ehk_len] = 0;
    }
    sl_record_t r = *d->outer;
    r.partition_key = pk;
    r.explicit_hash_key = k->ehk ? ehk : NULL;
    r.sub_sequence_number = index;
    r.aggregated = true;
    r.data = k->data;
    r.data_len = k->data_len;
    return d->fn(&r, d->arg);
}

int sl_deaggregate(const sl_record_t *record, sl_record_fn fn, void *arg) {
    if (sl_kpl_looks_aggregated(record->data, record->data_len)) {
        deagg_t d = {record, fn, arg};
        const char *reason = NULL;
        int rc = sl_kpl_decode(record->data, record->data_len, deagg_one, &d, &reason);
        /* Not an aggregate after all (SL_EINVAL from the decoder, before any record): raw. */
        if (rc != SL_EINVAL || reason == NULL) return rc;
    }
    return fn(record, arg);
}

/* ---- reader ---- */

typedef struct {
    char id[64];
    char parent[64], adjacent[64];
    char *iterator;     /* heap; NULL before the first GetShardIterator */
    char last_seq[128]; /* last sequence number delivered, for a fresh iterator */
    bool finished;      /* read to its end (or to end_ms) */
    bool from_start;    /* TRIM_HORIZON regardless of the reader's start (children) */
} rshard_t;

/* Owned by the caller (create/destroy). */
struct sl_reader {
    sl_client_t *client;
    char *stream;
    sl_reader_config_t cfg;
    rshard_t *shards;
    size_t count, cap;
    bool listed;
    bool relist;
    int polls;
    char error[512];
};

int sl_reader_create(sl_client_t *client, const char *stream_name, const sl_reader_config_t *cfg,
                     sl_reader_t **out) {
    if (!client || !stream_name || !cfg) return SL_EINVAL;
    sl_reader_t *r = calloc(1, sizeof *r);
    if (!r) return SL_ENOMEM;
    r->client = client;
    r->cfg = *cfg;
    r->stream = strdup(stream_name);
    if (!r->stream) {
        free(r);
        return SL_ENOMEM;
    }
    *out = r;
    return 0;
}

void sl_reader_destroy(sl_reader_t *r) {
    if (!r) return;
    for (size_t i = 0; i < r->count; i++)
        free(r->shards[i].iterator);
    free(r->shards);
    free(r->stream);
    free(r);
}

const char *sl_reader_error(const sl_reader_t *r) {
    return r->error;
}

/* A blocking call whose answer is parsed into *v (in arena). */
static int call_json(sl_reader_t *r, const char *op, sl_buf_t *body, sl_arena_t *arena,
                     sl_val_t **v, char **err_code) {
    sl_client_result_t res;
    if (sl_buf_failed(body)) return SL_ENOMEM;
    int rc = sl_client_call_sync(r->client, op, body->data, body->len, &res);
    if (rc == SLUICE_ESERVICE || rc == SL_EIO) {
        snprintf(r->error, sizeof r->error, "%s: %s", res.error_code ? res.error_code : "Error",
                 res.error_message ? res.error_message : "");
        if (err_code && res.error_code)
            *err_code = sl_arena_strndup(arena, res.error_code, strlen(res.error_code));
    }
    if (rc == 0) {
        char *copy = sl_arena_strndup(arena, res.body, res.body_len);
        const char *reason;
        if (!copy || sl_json_parse(copy, res.body_len, arena, v, &reason) != 0) {
            snprintf(r->error, sizeof r->error, "%s: malformed answer", op);
            rc = SLUICE_ESERVICE;
        }
    }
    sl_client_result_free(&res);
    return rc;
}

static rshard_t *find(sl_reader_t *r, const char *id) {
    for (size_t i = 0; i < r->count; i++)
        if (!strcmp(r->shards[i].id, id)) return &r->shards[i];
    return NULL;
}

static void copy_str(char *dst, size_t cap, const char *s) {
    snprintf(dst, cap, "%s", s ? s : "");
}

typedef struct {
    sl_reader_t *r;
    bool first;
} list_ctx_t;

static int on_listed_shard(void *ctx, const sl_client_shard_t *s) {
    list_ctx_t *l = ctx;
    sl_reader_t *r = l->r;
    if (strlen(s->id) >= 64 || find(r, s->id)) return 0;
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        rshard_t *n = realloc(r->shards, cap * sizeof *n);
        if (!n) return SL_ENOMEM;
        r->shards = n;
        r->cap = cap;
    }
    rshard_t *sh = &r->shards[r->count++];
    memset(sh, 0, sizeof *sh);
    copy_str(sh->id, sizeof sh->id, s->id);
    copy_str(sh->parent, sizeof sh->parent, s->parent);
    copy_str(sh->adjacent, sizeof sh->adjacent, s->adjacent);
    /* LATEST skips what was written before the reader started: closed shards too. */
    if (l->first && s->closed && r->cfg.start == SL_READ_LATEST) sh->finished = true;
    /* Shards that appear later (children of a reshard) are read from their start. */
    if (!l->first) sh->from_start = true;
    return 0;
}

static int list_shards(sl_reader_t *r) {
    list_ctx_t l = {r, !r->listed};
    int rc =
        sl_client_list_shards(r->client, r->stream, on_listed_shard, &l, r->error, sizeof r->error);
    if (rc == 0) r->listed = true;
    return rc;
}

static bool parent_done(sl_reader_t *r, const char *id) {
    if (!id[0]) return true;
    rshard_t *p = find(r, id);
    return !p || p->finished; /* a parent past retention is not listed any more */
}

static int get_iterator(sl_reader_t *r, rshard_t *sh) {
    sl_arena_t arena;
    sl_arena_init(&arena, 2048);
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "StreamName", r->stream);
    sl_enc_kv_cstr(&e, "ShardId", sh->id);
    if (sh->last_seq[0]) {
        sl_enc_kv_cstr(&e, "ShardIteratorType", "AFTER_SEQUENCE_NUMBER");
        sl_enc_kv_cstr(&e, "StartingSequenceNumber", sh->last_seq);
    } else if (sh->from_start || r->cfg.start == SL_READ_TRIM_HORIZON) {
        sl_enc_kv_cstr(&e, "ShardIteratorType", "TRIM_HORIZON");
    } else if (r->cfg.start == SL_READ_LATEST) {
        sl_enc_kv_cstr(&e, "ShardIteratorType", "LATEST");
    } else {
        sl_enc_kv_cstr(&e, "ShardIteratorType", "AT_TIMESTAMP");
        sl_enc_key(&e, "Timestamp");
        sl_enc_timestamp_ms(&e, r->cfg.start_ms);
    }
    sl_enc_map_end(&e);
    sl_val_t *v = NULL;
    int rc = call_json(r, "GetShardIterator", &b, &arena, &v, NULL);
    sl_buf_free(&b);
    if (rc == 0) {
        const char *it = sl_val_get_str(v, "ShardIterator", NULL);
        free(sh->iterator);
        sh->iterator = it ? strdup(it) : NULL;
        if (!it) sh->finished = true;
    }
    sl_arena_deinit(&arena);
    return rc;
}

typedef struct {
    sl_reader_t *r;
    sl_record_fn fn;
    void *arg;
} deliver_t;

/* Reads one batch of sh; delivers records; returns records delivered, or an error. */
static int read_shard(sl_reader_t *r, rshard_t *sh, sl_record_fn fn, void *arg, bool *idle) {
    sl_arena_t arena;
    sl_arena_init(&arena, 64 * 1024);
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "ShardIterator", sh->iterator);
    sl_enc_kv_int(&e, "Limit", 10000);
    sl_enc_map_end(&e);
    sl_val_t *v = NULL;
    char *code = NULL;
    int rc = call_json(r, "GetRecords", &b, &arena, &v, &code);
    sl_buf_free(&b);
    if (rc == SLUICE_ESERVICE && code && !strcmp(code, "ExpiredIteratorException")) {
        free(sh->iterator);
        sh->iterator = NULL; /* a fresh one after the last delivered record next round */
        sl_arena_deinit(&arena);
        return 0;
    }
    if (rc != 0) {
        sl_arena_deinit(&arena);
        return rc;
    }
    sl_val_t *list = sl_val_get(v, "Records");
    int64_t behind = 0;
    sl_val_get_int(v, "MillisBehindLatest", &behind);
    size_t n = list && list->type == SL_VAL_ARRAY ? list->u.arr.count : 0;
    *idle = n == 0 && behind == 0;
    int delivered = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sl_val_t *item = list->u.arr.items[i];
        size_t dlen = 0;
        const char *d64 = sl_val_get_str(item, "Data", &dlen);
        const char *seq = sl_val_get_str(item, "SequenceNumber", NULL);
        const char *pk = sl_val_get_str(item, "PartitionKey", NULL);
        sl_val_t *ts = sl_val_get(item, "ApproximateArrivalTimestamp");
        int64_t arrival =
            ts && ts->type == SL_VAL_NUMBER ? (int64_t)llround(ts->u.num.d * 1000) : 0;
        if (!seq || !pk) continue;
        if (r->cfg.end_ms > 0 && arrival >= r->cfg.end_ms) {
            sh->finished = true;
            break;
        }
        uint8_t *data = sl_arena_alloc(&arena, dlen / 4 * 3 + 3);
        size_t len = 0;
        if (!data || (d64 && sl_base64_decode(d64, dlen, data, &len, NULL) != SL_B64_OK)) {
            rc = SL_ENOMEM;
            break;
        }
        sl_record_t rec = {.shard_id = sh->id,
                           .sequence_number = seq,
                           .partition_key = pk,
                           .arrival_ms = arrival,
                           .data = data,
                           .data_len = len};
        copy_str(sh->last_seq, sizeof sh->last_seq, seq);
        rc = r->cfg.deaggregate ? sl_deaggregate(&rec, fn, arg) : fn(&rec, arg);
        delivered++;
    }
    const char *next = sl_val_get_str(v, "NextShardIterator", NULL);
    free(sh->iterator);
    sh->iterator = next ? strdup(next) : NULL;
    if (!next) {
        sh->finished = true;
        r->relist = true; /* its children come next */
    }
    sl_arena_deinit(&arena);
    return rc != 0 ? rc : delivered;
}

int sl_reader_poll(sl_reader_t *r, sl_record_fn fn, void *arg, bool *caught_up, bool *ended) {
    *caught_up = false;
    *ended = false;
    /* List again now and then while following: a reshard shows up as a closed parent first. */
    if (!r->listed || r->relist || ++r->polls % 20 == 0) {
        r->relist = false;
        int rc = list_shards(r);
        if (rc != 0) return rc;
    }
    int total = 0;
    bool all_idle = true, any_open = false;
    for (size_t i = 0; i < r->count; i++) {
        rshard_t *sh = &r->shards[i];
        if (sh->finished) continue;
        any_open = true;
        if (!parent_done(r, sh->parent) || !parent_done(r, sh->adjacent)) continue;
        if (!sh->iterator) {
            int rc = get_iterator(r, sh);
            if (rc != 0) return rc;
            if (!sh->iterator) continue;
        }
        bool idle = false;
        int rc = read_shard(r, sh, fn, arg, &idle);
        if (rc < 0 || (rc > 0 && total + rc < total)) return rc;
        total += rc;
        if (!idle) all_idle = false;
    }
    *caught_up = all_idle;
    *ended = !any_open;
    if (r->cfg.end_ms > 0 && all_idle) {
        /* Caught up and the end time passed: nothing more can arrive before it. */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if ((int64_t)now.tv_sec * 1000 >= r->cfg.end_ms) *ended = true;
    }
    return total;
}
