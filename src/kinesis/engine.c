/* The Kinesis engine: in-memory streams backed by the catalog and the shard logs (see engine.h). */
#include "kinesis/engine.h"

#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "kinesis/idem.h"
#include "kinesis/names.h"
#include "kinesis/token.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sl_kmetric_names[SL_KMETRICS_COUNT] = {
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
};

const char *sl_kstatus_name(sl_kstatus_t s) {
    switch (s) {
    case SL_KS_CREATING:
        return "CREATING";
    case SL_KS_ACTIVE:
        return "ACTIVE";
    case SL_KS_UPDATING:
        return "UPDATING";
    case SL_KS_DELETING:
        return "DELETING";
    default:
        return "DELETED";
    }
}

static sl_kstatus_t status_parse(const char *s) {
    if (!s) return SL_KS_ACTIVE;
    if (!strcmp(s, "CREATING")) return SL_KS_CREATING;
    if (!strcmp(s, "UPDATING")) return SL_KS_UPDATING;
    if (!strcmp(s, "DELETING")) return SL_KS_DELETING;
    return SL_KS_ACTIVE;
}

sl_kstatus_t sl_kstream_status(const sl_kstream_t *s, int64_t now_ms) {
    if (s->status == SL_KS_ACTIVE || now_ms < s->status_until_ms) return s->status;
    return s->status == SL_KS_DELETING ? SL_KS_GONE : SL_KS_ACTIVE;
}

sl_kstatus_t sl_kconsumer_status(const sl_kconsumer_t *c, int64_t now_ms) {
    if (c->status == SL_KS_ACTIVE || now_ms < c->status_until_ms) return c->status;
    return c->status == SL_KS_DELETING ? SL_KS_GONE : SL_KS_ACTIVE;
}

/* ---------------------------------------------------------------------------------------------- */
/* lookups */

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

size_t sl_kinesis_lower_bound(sl_kinesis_t *k, const char *name, size_t len, bool exclusive) {
    size_t lo = 0, hi = k->stream_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *n = k->streams[mid]->name;
        int c = name_cmp(n, strlen(n), name, len);
        if (c < 0 || (exclusive && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

sl_kstream_t *sl_kinesis_find(sl_kinesis_t *k, const char *name, size_t len, int64_t now_ms) {
    size_t i = sl_kinesis_lower_bound(k, name, len, false);
    if (i >= k->stream_count) return NULL;
    sl_kstream_t *s = k->streams[i];
    if (name_cmp(s->name, strlen(s->name), name, len) != 0) return NULL;
    if (sl_kstream_status(s, now_ms) == SL_KS_GONE) return NULL;
    return s;
}

sl_kshard_t *sl_kstream_shard(const sl_kstream_t *s, uint32_t index) {
    size_t lo = 0, hi = s->shard_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->shards[mid]->index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->shard_count && s->shards[lo]->index == index ? s->shards[lo] : NULL;
}

/* Bits of the routing table's key for `shards` open shards: about two buckets per shard, none
 * below SL_KINESIS_ROUTE_TABLE_MIN_SHARDS (a binary search over a few ends is as fast). */
static unsigned route_bits(size_t shards) {
    if (shards < SL_KINESIS_ROUTE_TABLE_MIN_SHARDS) return 0;
    unsigned bits = 1;
    while (bits < SL_KINESIS_ROUTE_TABLE_BITS_MAX && ((size_t)1 << bits) < 2 * shards)
        bits++;
    return bits;
}

sl_kshard_t *sl_kstream_route(const sl_kstream_t *s, sl_u128_t hash) {
    size_t lo = 0, hi = s->open_count;
    if (s->route_bits) {
        /* the table narrows the search to the shards whose ends fall in hash's bucket (and the
         * first one after it): one or two with hashed keys */
        size_t p = (size_t)(hash >> (128 - s->route_bits));
        lo = s->route_table[p];
        hi = s->route_table[p + 1] + 1;
        if (hi > s->open_count) hi = s->open_count;
    }
    /* The first end >= hash in [lo, hi): a lower bound whose steps choose with a conditional
     * move rather than a branch, since hashed keys make every comparison a coin toss (the
     * branching search mispredicted about half its steps, 2-3% of PutRecords' CPU at 16 shards);
     * the number of steps depends only on the stream. */
    if (lo < hi) {
        const sl_u128_t *base = s->open_ends + lo;
        size_t n = hi - lo;
        while (n > 1) {
            size_t half = n / 2;
            base = base[half] < hash ? base + half : base;
            n -= half;
        }
        lo = (size_t)(base - s->open_ends) + (*base < hash);
    }
    if (lo < s->open_count && s->open_shards[lo]->start <= hash) return s->open_shards[lo];
    return NULL;
}

static int open_cmp(const void *a, const void *b) {
    const sl_kshard_t *x = *(sl_kshard_t *const *)a, *y = *(sl_kshard_t *const *)b;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

int sl_kstream_reserve(sl_kstream_t *s, size_t extra) {
    size_t need = s->shard_count + extra ? s->shard_count + extra : 1;
    if (need <= s->shard_cap) return 0;
    sl_kshard_t **shards = realloc(s->shards, need * sizeof *shards);
    if (!shards) return SL_ENOMEM;
    s->shards = shards;
    sl_kshard_t **open = realloc(s->open_shards, need * sizeof *open);
    if (!open) return SL_ENOMEM;
    s->open_shards = open;
    sl_u128_t *ends = realloc(s->open_ends, need * sizeof *ends);
    if (!ends) return SL_ENOMEM;
    s->open_ends = ends;
    /* room for the routing table of as many open shards (sl_kstream_reindex cannot fail) */
    unsigned bits = route_bits(need);
    if (bits) {
        uint32_t *t = realloc(s->route_table, (((size_t)1 << bits) + 1) * sizeof *t);
        if (!t) return SL_ENOMEM;
        s->route_table = t;
    }
    s->shard_cap = need;
    return 0;
}

int sl_kstream_reindex(sl_kstream_t *s) {
    int rc = sl_kstream_reserve(s, 0);
    if (rc) return rc;
    sl_kshard_t **idx = s->open_shards;
    size_t n = 0;
    for (size_t i = 0; i < s->shard_count; i++)
        if (!s->shards[i]->closed_ms) idx[n++] = s->shards[i];
    qsort(idx, n, sizeof *idx, open_cmp);
    for (size_t i = 0; i < n; i++)
        s->open_ends[i] = idx[i]->end;
    s->open_count = n;
    /* route_table[p] = the first open shard whose end is at or above bucket p's first key; the
     * table was sized for shard_cap >= n shards, so it has room for route_bits(n) */
    s->route_bits = route_bits(n);
    size_t buckets = (size_t)1 << s->route_bits, i = 0;
    for (size_t p = 0; s->route_bits && p <= buckets; p++) {
        if (p == buckets) {
            s->route_table[p] = (uint32_t)n;
            break;
        }
        sl_u128_t first = (sl_u128_t)p << (128 - s->route_bits);
        while (i < n && s->open_ends[i] < first)
            i++;
        s->route_table[p] = (uint32_t)i;
    }
    return 0;
}

size_t sl_kstream_open_shards(const sl_kstream_t *s) {
    size_t n = 0;
    for (size_t i = 0; i < s->shard_count; i++)
        n += s->shards[i]->closed_ms == 0;
    return n;
}

size_t sl_kinesis_open_shard_count(sl_kinesis_t *k, int64_t now_ms) {
    size_t n = 0;
    for (size_t i = 0; i < k->stream_count; i++)
        if (sl_kstream_status(k->streams[i], now_ms) != SL_KS_GONE)
            n += sl_kstream_open_shards(k->streams[i]);
    return n;
}

size_t sl_kinesis_on_demand_count(sl_kinesis_t *k, int64_t now_ms) {
    size_t n = 0;
    for (size_t i = 0; i < k->stream_count; i++)
        n += k->streams[i]->on_demand && sl_kstream_status(k->streams[i], now_ms) != SL_KS_GONE;
    return n;
}

size_t sl_kinesis_creating_count(sl_kinesis_t *k, int64_t now_ms) {
    size_t n = 0;
    for (size_t i = 0; i < k->stream_count; i++)
        n += sl_kstream_status(k->streams[i], now_ms) == SL_KS_CREATING;
    return n;
}

sl_kconsumer_t *sl_kstream_consumer(const sl_kstream_t *s, const char *name, size_t len) {
    for (size_t i = 0; i < s->consumer_count; i++) {
        sl_kconsumer_t *c = s->consumers[i];
        if (strlen(c->name) == len && memcmp(c->name, name, len) == 0) return c;
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------------- */
/* catalog write-through */

static void metrics_text(unsigned m, char *out, size_t cap) {
    size_t n = 0;
    out[0] = 0;
    for (int i = 0; i < SL_KMETRICS_COUNT; i++) {
        if (!(m & (1u << i))) continue;
        n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", sl_kmetric_names[i]);
    }
}

static unsigned metrics_parse(const char *t) {
    unsigned m = 0;
    if (!t) return 0;
    for (int i = 0; i < SL_KMETRICS_COUNT; i++) {
        const char *p = strstr(t, sl_kmetric_names[i]);
        size_t n = strlen(sl_kmetric_names[i]);
        while (p) {
            if ((p == t || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) {
                m |= 1u << i;
                break;
            }
            p = strstr(p + 1, sl_kmetric_names[i]);
        }
    }
    return m;
}

static void stream_row(const sl_kinesis_t *k, const sl_kstream_t *s, sl_cat_stream_t *row,
                       char *metrics, size_t mcap) {
    metrics_text(s->metrics, metrics, mcap);
    *row = (sl_cat_stream_t){
        .id = s->id,
        .account = k->account,
        .region = k->region,
        .name = s->name,
        .arn = s->arn,
        .status = sl_kstatus_name(s->status),
        .mode = s->on_demand ? "ON_DEMAND" : "PROVISIONED",
        .created_ms = s->created_ms,
        .status_until_ms = s->status_until_ms,
        .retention_hours = s->retention_hours,
        .max_record_size_kib = s->max_record_size_kib,
        .encryption_type = s->encrypted ? "KMS" : "NONE",
        .key_id = s->key_id[0] ? s->key_id : NULL,
        .shard_level_metrics = metrics,
        .warm_throughput_mibps = s->warm_mibps,
        .next_shard_index = (int32_t)s->next_shard_index,
    };
}

/* A control-plane change reached the catalog: the background thread refreshes the catalog's
 * backup soon (catalog.db.bak, what `sluice repair` restores from). */
static void catalog_changed(sl_kinesis_t *k) {
    __atomic_store_n(&k->backup_changed_ms, sl_time_now_ms(), __ATOMIC_RELEASE);
    __atomic_store_n(&k->backup_due, 1, __ATOMIC_RELEASE);
}

int sl_kinesis_save_stream(sl_kinesis_t *k, sl_kstream_t *s) {
    catalog_changed(k);
    sl_cat_stream_t row;
    char metrics[256];
    stream_row(k, s, &row, metrics, sizeof metrics);
    int rc = sl_catalog_stream_update(k->catalog, &row);
    if (rc) SL_ERROR("catalog: saving stream %s failed: %s", s->name, sl_strerror(rc));
    return rc;
}

int sl_kinesis_save_shard(sl_kinesis_t *k, sl_kshard_t *sh) {
    catalog_changed(k);
    char parent[24], adj[24];
    if (sh->parent >= 0) sl_shardid_format((uint32_t)sh->parent, parent);
    if (sh->adjacent_parent >= 0) sl_shardid_format((uint32_t)sh->adjacent_parent, adj);
    sl_cat_shard_t row = {
        .stream_id = sh->stream->id,
        .shard_index = (int32_t)sh->index,
        .parent_shard_id = sh->parent >= 0 ? parent : NULL,
        .adjacent_parent_shard_id = sh->adjacent_parent >= 0 ? adj : NULL,
        .starting_hash_key = sh->start_dec,
        .ending_hash_key = sh->end_dec,
        .created_ms = sh->created_ms,
        .closed_ms = sh->closed_ms,
        .seq_reserved = (int64_t)__atomic_load_n(&sh->seq_reserved, __ATOMIC_ACQUIRE),
        .seq_written = (int64_t)__atomic_load_n(&sh->seq_written, __ATOMIC_ACQUIRE),
    };
    int rc = sl_catalog_shard_put(k->catalog, &row);
    if (rc)
        SL_ERROR("catalog: saving shard %s of %s failed: %s", sh->id, sh->stream->name,
                 sl_strerror(rc));
    return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* construction and destruction of in-memory objects */

static void tags_free(sl_ktags_t *t) {
    for (size_t i = 0; i < t->count; i++) {
        free(t->items[i].key);
        free(t->items[i].value);
    }
    free(t->items);
    *t = (sl_ktags_t){0};
}

static void shard_free(sl_kshard_t *sh) {
    if (!sh) return;
    if (sh->log) sl_storage_shard_close(sh->log);
    free(sh);
}

static void consumer_free(sl_kconsumer_t *c) {
    tags_free(&c->tags);
    free(c->policy);
    free(c);
}

static void stream_free(sl_kstream_t *s) {
    for (size_t i = 0; i < s->shard_count; i++)
        shard_free(s->shards[i]);
    free(s->shards);
    free(s->open_shards);
    free(s->open_ends);
    free(s->route_table);
    for (size_t i = 0; i < s->consumer_count; i++)
        consumer_free(s->consumers[i]);
    free(s->consumers);
    tags_free(&s->tags);
    free(s->policy);
    sl_kcrypt_free(s);
    free(s);
}

static int stream_insert_sorted(sl_kinesis_t *k, sl_kstream_t *s) {
    size_t i = sl_kinesis_lower_bound(k, s->name, strlen(s->name), false);
    sl_kstream_t **n = realloc(k->streams, (k->stream_count + 1) * sizeof *n);
    if (!n) return SL_ENOMEM;
    k->streams = n;
    memmove(&n[i + 1], &n[i], (k->stream_count - i) * sizeof *n);
    n[i] = s;
    k->stream_count++;
    return 0;
}

static void stream_remove(sl_kinesis_t *k, sl_kstream_t *s) {
    for (size_t i = 0; i < k->stream_count; i++) {
        if (k->streams[i] != s) continue;
        memmove(&k->streams[i], &k->streams[i + 1], (k->stream_count - i - 1) * sizeof *k->streams);
        k->stream_count--;
        return;
    }
}

static void seq_request_persist(sl_kinesis_t *k, sl_kshard_t *sh);

void sl_kinesis_storage_commit(void *ctx, sl_shard_log_t *log, uint64_t next_seq) {
    (void)ctx;
    /* Logs the storage opens on its own (journal replay at open) have no shard yet. */
    sl_kshard_t *sh = sl_shard_log_user(log);
    sl_kinesis_t *k = sh && sh->stream ? sh->stream->k : NULL;
    if (!k) return;
    __atomic_store_n(&sh->seq_tip, next_seq, __ATOMIC_RELEASE);
    /* The catalog learns soon that this shard has records, so that losing its log later is
     * reported (once per shard: afterwards each raise records the tip). */
    if (__atomic_load_n(&sh->seq_written, __ATOMIC_ACQUIRE) <= 1) seq_request_persist(k, sh);
    sl_klisteners_notify(k, sh, next_seq);
}

void sl_kstream_insert_shard(sl_kstream_t *s, sl_kshard_t *sh) {
    SL_ASSERT(s->shard_count < s->shard_cap);
    sl_kshard_t **n = s->shards;
    size_t i = s->shard_count;
    while (i > 0 && n[i - 1]->index > sh->index) {
        n[i] = n[i - 1];
        i--;
    }
    n[i] = sh;
    s->shard_count++;
    sh->stream = s;
}

static int shard_open_log(sl_kinesis_t *k, sl_kstream_t *s, sl_kshard_t *sh) {
    int rc = sl_storage_shard_open(k->storage, s->storage_key, sh->id, sh, &sh->log);
    if (rc) SL_ERROR("storage: opening log of %s/%s failed: %s", s->name, sh->id, sl_strerror(rc));
    return rc;
}

static int shard_attach(sl_kinesis_t *k, sl_kstream_t *s, sl_kshard_t *sh) {
    int rc = sl_kstream_reserve(s, 1);
    if (rc) return rc;
    sl_kstream_insert_shard(s, sh);
    return shard_open_log(k, s, sh);
}

static sl_kshard_t *shard_new(uint32_t index, sl_u128_t start, sl_u128_t end, int64_t created_ms) {
    /* 64-byte aligned: the put path's fields share its first two cache lines (engine.h) */
    size_t size = (sizeof(sl_kshard_t) + 63) / 64 * 64;
    sl_kshard_t *sh = aligned_alloc(64, size);
    if (!sh) return NULL;
    memset(sh, 0, size);
    sh->index = index;
    sl_shardid_format(index, sh->id);
    sh->start = start;
    sh->end = end;
    sl_hashkey_format(start, sh->start_dec);
    sl_hashkey_format(end, sh->end_dec);
    sh->created_ms = created_ms;
    sh->parent = sh->adjacent_parent = -1;
    /* A new shard: its log is empty and its first block is reserved with its catalog row. */
    sh->seq_claimed = sh->seq_tip = sh->seq_start = sh->seq_written = 1;
    sh->seq_reserved = 1 + SL_KINESIS_SEQ_BLOCK;
    return sh;
}

int sl_kshard_prepare(sl_kinesis_t *k, sl_kstream_t *s, uint32_t index, sl_u128_t start,
                      sl_u128_t end, int32_t parent, int32_t adjacent_parent, int64_t created_ms,
                      sl_kshard_t **out) {
    sl_kshard_t *sh = shard_new(index, start, end, created_ms);
    if (!sh) return SL_ENOMEM;
    sh->parent = parent;
    sh->adjacent_parent = adjacent_parent;
    sh->stream = s; /* the log's user: storage reaches the engine through it */
    int rc = shard_open_log(k, s, sh);
    if (rc) {
        free(sh);
        return rc;
    }
    *out = sh;
    return 0;
}

void sl_kshard_discard(sl_kshard_t *sh) {
    shard_free(sh);
}

int sl_kinesis_add_shard(sl_kinesis_t *k, sl_kstream_t *s, sl_u128_t start, sl_u128_t end,
                         int32_t parent, int32_t adjacent_parent, int64_t now_ms,
                         sl_kshard_t **out) {
    sl_kshard_t *sh = shard_new(s->next_shard_index, start, end, now_ms);
    if (!sh) return SL_ENOMEM;
    sh->parent = parent;
    sh->adjacent_parent = adjacent_parent;
    s->next_shard_index++;
    int rc = shard_attach(k, s, sh);
    if (rc == 0) rc = sl_kinesis_save_shard(k, sh);
    if (rc == 0) rc = sl_kinesis_save_stream(k, s);
    if (rc == 0) rc = sl_kstream_reindex(s);
    if (out) *out = sh;
    return rc;
}

static int tags_mem_set(sl_ktags_t *tags, const char *key, const char *value);

/* The catalog rows of a new resource's tags (inside the caller's transaction). */
static int tag_rows_put(sl_kinesis_t *k, const char *arn, const sl_ktag_rows_t *tags) {
    int rc = 0;
    for (size_t i = 0; tags && i < tags->count && rc == 0; i++)
        rc = sl_catalog_tag_put(k->catalog, arn, tags->keys[i], tags->values[i]);
    return rc;
}

/* The memory side, once those rows are committed. */
static int tag_rows_apply(sl_ktags_t *t, const sl_ktag_rows_t *tags) {
    int rc = 0;
    for (size_t i = 0; tags && i < tags->count; i++) {
        int mrc = tags_mem_set(t, tags->keys[i], tags->values[i]);
        if (mrc && rc == 0) rc = mrc;
    }
    return rc;
}

int sl_kinesis_create_stream(sl_kinesis_t *k, const char *name, int shard_count, bool on_demand,
                             int32_t max_record_size_kib, int64_t warm_mibps,
                             const sl_ktag_rows_t *tags, int64_t now_ms, sl_kstream_t **out) {
    catalog_changed(k);
    sl_kstream_t *s = calloc(1, sizeof *s);
    if (!s) return SL_ENOMEM;
    s->k = k;
    snprintf(s->name, sizeof s->name, "%s", name);
    sl_arn_stream(s->arn, sizeof s->arn, k->region, k->account, name);
    s->status = SL_KS_CREATING;
    s->status_until_ms = now_ms + k->cfg.create_stream_ms;
    s->on_demand = on_demand;
    s->created_ms = now_ms;
    s->retention_hours = SL_KINESIS_RETENTION_HOURS_DEFAULT;
    s->max_record_size_kib = max_record_size_kib;
    s->warm_mibps = warm_mibps;
    s->next_shard_index = (uint32_t)shard_count;

    sl_cat_stream_t row;
    char metrics[8] = "";
    stream_row(k, s, &row, metrics, sizeof metrics);
    int rc = sl_catalog_begin(k->catalog);
    if (rc) goto fail;
    rc = sl_catalog_stream_insert(k->catalog, &row);
    if (rc) goto fail_tx;
    s->id = row.id;
    snprintf(s->storage_key, sizeof s->storage_key, "%s%lld-%s", k->storage_prefix,
             (long long)s->id, s->name);
    /* Initial shards are dated a little before the stream so that their StartingSequenceNumber is
     * below any record's (kinesalite does the same). */
    for (int i = 0; i < shard_count; i++) {
        sl_u128_t a, b;
        sl_hashkey_split_even(shard_count, i, &a, &b);
        sl_kshard_t *sh = shard_new((uint32_t)i, a, b, now_ms - 2000);
        if (!sh) {
            rc = SL_ENOMEM;
            goto fail_tx;
        }
        rc = shard_attach(k, s, sh);
        if (rc == 0) rc = sl_kinesis_save_shard(k, sh);
        if (rc) goto fail_tx;
    }
    rc = tag_rows_put(k, s->arn, tags);
    if (rc) goto fail_tx;
    rc = sl_catalog_commit(k->catalog);
    if (rc) goto fail_tx;
    rc = sl_kstream_reindex(s);
    if (rc) goto fail;
    rc = stream_insert_sorted(k, s);
    if (rc) goto fail;
    if (out) *out = s;
    sl_kinesis_kick(k);
    return tag_rows_apply(&s->tags, tags);
fail_tx:
    sl_catalog_rollback(k->catalog);
fail:
    for (size_t i = 0; i < s->shard_count; i++) {
        if (s->shards[i]->log) sl_storage_shard_close(s->shards[i]->log);
        s->shards[i]->log = NULL;
    }
    if (s->storage_key[0]) sl_storage_stream_delete(k->storage, s->storage_key);
    stream_free(s);
    return rc;
}

int sl_kinesis_begin_update(sl_kinesis_t *k, sl_kstream_t *s, int64_t now_ms) {
    s->status = SL_KS_UPDATING;
    s->status_until_ms = now_ms + k->cfg.update_stream_ms;
    int rc = sl_kinesis_save_stream(k, s);
    sl_kinesis_kick(k);
    return rc;
}

int sl_kinesis_delete_stream(sl_kinesis_t *k, sl_kstream_t *s, int64_t now_ms) {
    sl_kstatus_t status = s->status;
    int64_t until = s->status_until_ms;
    s->status = SL_KS_DELETING;
    s->status_until_ms = now_ms + k->cfg.delete_stream_ms;
    int rc = sl_kinesis_save_stream(k, s);
    if (rc) {
        /* Not recorded (a full disk): the caller answers a failure, so nothing may happen. */
        s->status = status;
        s->status_until_ms = until;
        return rc;
    }
    sl_kinesis_kick(k);
    return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* tags, policies, consumers, settings */

const sl_ktag_t *sl_ktags_find(const sl_ktags_t *tags, const char *key) {
    for (size_t i = 0; i < tags->count; i++)
        if (strcmp(tags->items[i].key, key) == 0) return &tags->items[i];
    return NULL;
}

/* The memory side of a tag change (after its catalog write). */
static int tags_mem_set(sl_ktags_t *tags, const char *key, const char *value) {
    for (size_t i = 0; i < tags->count; i++) {
        if (strcmp(tags->items[i].key, key) != 0) continue;
        char *v = strdup(value);
        if (!v) return SL_ENOMEM;
        free(tags->items[i].value);
        tags->items[i].value = v;
        return 0;
    }
    sl_ktag_t *n = realloc(tags->items, (tags->count + 1) * sizeof *n);
    if (!n) return SL_ENOMEM;
    tags->items = n;
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return SL_ENOMEM;
    }
    size_t i = tags->count;
    while (i > 0 && strcmp(n[i - 1].key, key) > 0) {
        n[i] = n[i - 1];
        i--;
    }
    n[i].key = k;
    n[i].value = v;
    tags->count++;
    return 0;
}

static void tags_mem_remove(sl_ktags_t *tags, const char *key) {
    for (size_t i = 0; i < tags->count; i++) {
        if (strcmp(tags->items[i].key, key) != 0) continue;
        free(tags->items[i].key);
        free(tags->items[i].value);
        memmove(&tags->items[i], &tags->items[i + 1], (tags->count - i - 1) * sizeof *tags->items);
        tags->count--;
        return;
    }
}

int sl_kinesis_tags_write(sl_kinesis_t *k, sl_ktags_t *tags, const char *arn,
                          const char *const *keys, const char *const *values, size_t n) {
    catalog_changed(k);
    int rc = sl_catalog_begin(k->catalog);
    if (rc) return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (values) {
            rc = sl_catalog_tag_put(k->catalog, arn, keys[i], values[i]);
        } else if (sl_ktags_find(tags, keys[i])) {
            rc = sl_catalog_tag_delete(k->catalog, arn, keys[i]);
            if (rc == SL_ENOTFOUND) rc = 0;
        }
    }
    if (rc == 0) rc = sl_catalog_commit(k->catalog);
    if (rc) {
        sl_catalog_rollback(k->catalog);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (!values) {
            tags_mem_remove(tags, keys[i]);
            continue;
        }
        int mrc = tags_mem_set(tags, keys[i], values[i]);
        if (mrc && rc == 0) rc = mrc;
    }
    return rc;
}

int sl_kinesis_tag_set(sl_kinesis_t *k, sl_ktags_t *tags, const char *arn, const char *key,
                       const char *value) {
    const char *v = value ? value : "";
    return sl_kinesis_tags_write(k, tags, arn, &key, &v, 1);
}

int sl_kinesis_policy_set(sl_kinesis_t *k, char **slot, const char *arn, const char *policy) {
    catalog_changed(k);
    int rc = policy ? sl_catalog_policy_put(k->catalog, arn, policy)
                    : sl_catalog_policy_delete(k->catalog, arn);
    if (rc && !(rc == SL_ENOTFOUND && !policy)) return rc;
    free(*slot);
    *slot = policy ? strdup(policy) : NULL;
    return policy && !*slot ? SL_ENOMEM : 0;
}

int sl_kinesis_consumer_save(sl_kinesis_t *k, sl_kstream_t *s, sl_kconsumer_t *c) {
    catalog_changed(k);
    sl_cat_consumer_t row = {
        .stream_id = s->id,
        .name = c->name,
        .arn = c->arn,
        .status = sl_kstatus_name(c->status),
        .created_ms = c->created_ms,
        .status_until_ms = c->status_until_ms,
    };
    return sl_catalog_consumer_put(k->catalog, &row);
}

int sl_kinesis_consumer_add(sl_kinesis_t *k, sl_kstream_t *s, const char *name,
                            const sl_ktag_rows_t *tags, int64_t now_ms, sl_kconsumer_t **out) {
    sl_kconsumer_t *c = calloc(1, sizeof *c);
    if (!c) return SL_ENOMEM;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->created_ms = now_ms;
    c->status = SL_KS_CREATING;
    c->status_until_ms = now_ms + k->cfg.consumer_ms;
    sl_arn_consumer(c->arn, sizeof c->arn, k->region, k->account, s->name, name, now_ms / 1000);
    sl_kconsumer_t **n = realloc(s->consumers, (s->consumer_count + 1) * sizeof *n);
    if (!n) {
        free(c);
        return SL_ENOMEM;
    }
    s->consumers = n;
    int rc = sl_catalog_begin(k->catalog);
    if (rc == 0) {
        rc = sl_kinesis_consumer_save(k, s, c);
        if (rc == 0) rc = tag_rows_put(k, c->arn, tags);
        if (rc == 0) rc = sl_catalog_commit(k->catalog);
        if (rc) sl_catalog_rollback(k->catalog);
    }
    if (rc) {
        free(c);
        return rc;
    }
    n[s->consumer_count++] = c;
    *out = c;
    sl_kinesis_kick(k);
    return tag_rows_apply(&c->tags, tags);
}

int sl_kinesis_setting_save(sl_kinesis_t *k) {
    catalog_changed(k);
    int64_t v[2] = {k->commitment_enabled ? 1 : 0, k->commitment_started_ms};
    return sl_catalog_setting_put(k->catalog, "account_commitment", v, sizeof v);
}

/* ---------------------------------------------------------------------------------------------- */
/* background thread: persists due state transitions, removes deleted streams, applies retention */

/* Deletes the logs first (that frees space on a full disk), then the catalog row; when that fails,
 * the stream stays DELETING (its record in the catalog says so) and the next pass retries. Returns
 * whether the stream is gone. */
static bool remove_stream_now(sl_kinesis_t *k, sl_kstream_t *s, int64_t now) {
    catalog_changed(k);
    for (size_t i = 0; i < s->shard_count; i++) {
        /* reaper_pass checked there is no reader-pool job, and none can start under the write lock
         */
        SL_ASSERT(__atomic_load_n(&s->shards[i]->readers, __ATOMIC_ACQUIRE) == 0);
        if (s->shards[i]->log) sl_storage_shard_close(s->shards[i]->log);
        s->shards[i]->log = NULL;
    }
    int rc = sl_storage_stream_delete(k->storage, s->storage_key);
    if (rc) SL_WARN("storage: deleting logs of stream %s failed: %s", s->name, sl_strerror(rc));
    rc = sl_catalog_stream_delete(k->catalog, s->id);
    if (rc == 0 && s->dk_count) {
        char name[256];
        snprintf(name, sizeof name, "sse:%s", s->storage_key);
        sl_catalog_setting_delete(k->catalog, name); /* its data keys: nothing left to read */
    }
    if (rc == 0) sl_kquota_forget(k, s);
    if (rc) {
        SL_WARN("catalog: deleting stream %s failed: %s; will retry", s->name, sl_strerror(rc));
        s->status_until_ms = now + 1000;
        return false;
    }
    SL_INFO("stream %s deleted", s->name);
    stream_remove(k, s);
    stream_free(s);
    return true;
}

static bool stream_has_readers(const sl_kstream_t *s) {
    for (size_t i = 0; i < s->shard_count; i++)
        if (__atomic_load_n(&s->shards[i]->readers, __ATOMIC_ACQUIRE) > 0) return true;
    return false;
}

bool sl_kinesis_reap_if_due(sl_kinesis_t *k, sl_kstream_t *s, int64_t now_ms) {
    if (s->status != SL_KS_DELETING || now_ms < s->status_until_ms || stream_has_readers(s))
        return false;
    return remove_stream_now(k, s, now_ms);
}

static int64_t reaper_pass(sl_kinesis_t *k, bool retention) {
    int64_t now = sl_time_now_ms();
    int64_t next = now + 1000;
    sl_kinesis_wrlock(k);
    for (size_t i = 0; i < k->stream_count;) {
        sl_kstream_t *s = k->streams[i];
        if (s->status != SL_KS_ACTIVE) {
            if (now >= s->status_until_ms) {
                if (s->status == SL_KS_DELETING) {
                    if (stream_has_readers(s)) {
                        /* A reader-pool job still uses one of its logs (it started before the
                         * deletion was due): try again in a moment rather than wait under the
                         * lock, which the job's completion needs. */
                        if (now + SL_KINESIS_DELETE_RETRY_MS < next)
                            next = now + SL_KINESIS_DELETE_RETRY_MS;
                        i++;
                        continue;
                    }
                    if (remove_stream_now(k, s, now)) continue;
                    i++;
                    continue;
                }
                s->status = SL_KS_ACTIVE;
                sl_kinesis_save_stream(k, s);
            } else if (s->status_until_ms < next) {
                next = s->status_until_ms;
            }
        }
        for (size_t c = 0; c < s->consumer_count;) {
            sl_kconsumer_t *co = s->consumers[c];
            if (co->status != SL_KS_ACTIVE && now >= co->status_until_ms) {
                if (co->status == SL_KS_DELETING) {
                    sl_catalog_consumer_delete(k->catalog, co->arn);
                    consumer_free(co);
                    memmove(&s->consumers[c], &s->consumers[c + 1],
                            (s->consumer_count - c - 1) * sizeof *s->consumers);
                    s->consumer_count--;
                    continue;
                }
                co->status = SL_KS_ACTIVE;
                sl_kinesis_consumer_save(k, s, co);
            } else if (co->status != SL_KS_ACTIVE && co->status_until_ms < next) {
                next = co->status_until_ms;
            }
            c++;
        }
        if (retention) {
            int64_t cutoff = now - (int64_t)s->retention_hours * 3600000;
            for (size_t j = 0; j < s->shard_count; j++)
                if (s->shards[j]->log) sl_storage_trim(s->shards[j]->log, cutoff);
        }
        i++;
    }
    sl_kinesis_unlock(k);
    return next;
}

/* Refreshes <data_dir>/catalog.db.bak once control-plane changes have been quiet for
 * SL_KINESIS_BACKUP_QUIET_MS (or SL_KINESIS_BACKUP_DELAY_MAX_MS after the first pending one), so
 * that a burst of changes costs one copy and its fsync does not land next to the first writes
 * that usually follow a CreateStream; `force` backs up now (clean shutdown). */
static void backup_pass(sl_kinesis_t *k, bool force) {
    if (!k->backup_path[0]) return;
    if (!__atomic_load_n(&k->backup_due, __ATOMIC_ACQUIRE)) {
        k->backup_pending_ms = 0;
        return;
    }
    int64_t now = sl_time_now_ms();
    if (!k->backup_pending_ms) k->backup_pending_ms = now;
    int64_t quiet = now - __atomic_load_n(&k->backup_changed_ms, __ATOMIC_ACQUIRE);
    if (!force && quiet < SL_KINESIS_BACKUP_QUIET_MS &&
        now - k->backup_pending_ms < SL_KINESIS_BACKUP_DELAY_MAX_MS)
        return;
    __atomic_store_n(&k->backup_due, 0, __ATOMIC_RELEASE);
    k->backup_pending_ms = 0;
    if (sl_catalog_backup(k->catalog, k->backup_path) != 0)
        __atomic_store_n(&k->backup_due, 1, __ATOMIC_RELEASE);
}

static void *reaper_main(void *arg) {
    sl_kinesis_t *k = arg;
    int64_t last_retention = 0;
    pthread_mutex_lock(&k->reaper_mu);
    while (!k->stopping) {
        pthread_mutex_unlock(&k->reaper_mu);
        int64_t now = sl_time_now_ms();
        bool retention = now - last_retention >= 60000;
        if (retention) last_retention = now;
        int64_t next = reaper_pass(k, retention);
        int64_t scale_next = sl_kscale_pass(k, sl_time_now_ms());
        if (scale_next < next) next = scale_next;
        backup_pass(k, false);
        if (__atomic_load_n(&k->backup_due, __ATOMIC_ACQUIRE) && next > sl_time_now_ms() + 500)
            next = sl_time_now_ms() + 500;
        pthread_mutex_lock(&k->reaper_mu);
        if (k->stopping) break;
        int64_t wait_ms = next - sl_time_now_ms();
        if (wait_ms < 1) wait_ms = 1;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (wait_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&k->reaper_cv, &k->reaper_mu, &ts);
    }
    pthread_mutex_unlock(&k->reaper_mu);
    return NULL;
}

void sl_kinesis_kick(sl_kinesis_t *k) {
    pthread_mutex_lock(&k->reaper_mu);
    pthread_cond_signal(&k->reaper_cv);
    pthread_mutex_unlock(&k->reaper_mu);
}

/* ---------------------------------------------------------------------------------------------- */
/* sequence reservations (docs/storage-format.md, "Sequence reservations") */

static void seq_request_persist(sl_kinesis_t *k, sl_kshard_t *sh) {
    if (__atomic_exchange_n(&sh->seq_persist, 1, __ATOMIC_ACQ_REL)) return; /* already asked */
    pthread_mutex_lock(&k->reserve_mu);
    k->reserve_kicked = true;
    pthread_cond_signal(&k->reserve_cv);
    pthread_mutex_unlock(&k->reserve_mu);
}

int sl_kshard_seq_claim(sl_kinesis_t *k, sl_kshard_t *sh, size_t n) {
    uint64_t after = __atomic_add_fetch(&sh->seq_claimed, (uint64_t)n, __ATOMIC_ACQ_REL);
    uint64_t reserved = __atomic_load_n(&sh->seq_reserved, __ATOMIC_ACQUIRE);
    if (after + SL_KINESIS_SEQ_BLOCK / 2 > reserved) seq_request_persist(k, sh);
    /* The append gets seqs below `after`; all of them must be below the reservation. */
    if (after > reserved) {
        __atomic_sub_fetch(&sh->seq_claimed, (uint64_t)n, __ATOMIC_ACQ_REL);
        /* A catalog that cannot be written (a full disk) fails the append like storage would. */
        int err = __atomic_load_n(&k->reserve_error, __ATOMIC_ACQUIRE);
        return err ? err : SL_EAGAIN;
    }
    return 0;
}

void sl_kshard_seq_unclaim(sl_kshard_t *sh, size_t n) {
    __atomic_sub_fetch(&sh->seq_claimed, (uint64_t)n, __ATOMIC_ACQ_REL);
}

static uint64_t u64_max(uint64_t a, uint64_t b) {
    return a > b ? a : b;
}

/* Persists, in one catalog transaction, the bounds of every shard that asked: a reservation one
 * block above its claims when less than half a block is left, and its committed tip. Only then
 * are the new reservations used. Holds the engine lock for reading (shards stay put). */
static int seq_persist_pass(sl_kinesis_t *k) {
    sl_kinesis_rdlock(k);
    int rc = sl_catalog_begin(k->catalog);
    for (size_t i = 0; i < k->stream_count && rc == 0; i++) {
        sl_kstream_t *s = k->streams[i];
        for (size_t j = 0; j < s->shard_count && rc == 0; j++) {
            sl_kshard_t *sh = s->shards[j];
            if (!__atomic_exchange_n(&sh->seq_persist, 0, __ATOMIC_ACQ_REL)) continue;
            uint64_t claimed = __atomic_load_n(&sh->seq_claimed, __ATOMIC_ACQUIRE);
            uint64_t want = __atomic_load_n(&sh->seq_reserved, __ATOMIC_ACQUIRE);
            if (claimed + SL_KINESIS_SEQ_BLOCK / 2 > want) want = claimed + SL_KINESIS_SEQ_BLOCK;
            uint64_t written = u64_max(__atomic_load_n(&sh->seq_written, __ATOMIC_ACQUIRE),
                                       __atomic_load_n(&sh->seq_tip, __ATOMIC_ACQUIRE));
            sh->seq_raising = want;
            rc = sl_catalog_shard_seq_set(k->catalog, s->id, (int32_t)sh->index, (int64_t)want,
                                          (int64_t)written);
            if (rc == SL_ENOTFOUND) rc = 0; /* no row (yet): its insert carries the reservation */
            if (rc == 0) __atomic_store_n(&sh->seq_written, written, __ATOMIC_RELEASE);
        }
    }
    if (rc == 0)
        rc = sl_catalog_commit(k->catalog);
    else
        sl_catalog_rollback(k->catalog);
    for (size_t i = 0; i < k->stream_count; i++) {
        sl_kstream_t *s = k->streams[i];
        for (size_t j = 0; j < s->shard_count; j++) {
            sl_kshard_t *sh = s->shards[j];
            if (!sh->seq_raising) continue;
            if (rc == 0) {
                uint64_t cur = __atomic_load_n(&sh->seq_reserved, __ATOMIC_ACQUIRE);
                if (sh->seq_raising > cur)
                    __atomic_store_n(&sh->seq_reserved, sh->seq_raising, __ATOMIC_RELEASE);
            } else {
                __atomic_store_n(&sh->seq_persist, 1, __ATOMIC_RELEASE); /* retried */
            }
            sh->seq_raising = 0;
        }
    }
    sl_kinesis_unlock(k);
    __atomic_store_n(&k->reserve_error, rc == SL_EAGAIN ? 0 : rc, __ATOMIC_RELEASE);
    if (rc)
        SL_WARN("catalog: raising sequence reservations failed: %s; writes to shards that used "
                "theirs up fail "
                "until it succeeds",
                sl_strerror(rc));
    return rc;
}

static void *reserver_main(void *arg) {
    sl_kinesis_t *k = arg;
    pthread_mutex_lock(&k->reserve_mu);
    while (!k->reserve_stop) {
        if (!k->reserve_kicked) {
            pthread_cond_wait(&k->reserve_cv, &k->reserve_mu);
            continue;
        }
        k->reserve_kicked = false;
        pthread_mutex_unlock(&k->reserve_mu);
        int rc = seq_persist_pass(k);
        pthread_mutex_lock(&k->reserve_mu);
        if (rc && !k->reserve_stop) {
            /* Try again in a while (a full disk, say), or sooner when kicked. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&k->reserve_cv, &k->reserve_mu, &ts);
            k->reserve_kicked = true;
        }
    }
    pthread_mutex_unlock(&k->reserve_mu);
    return NULL;
}

/* At open, after every shard log was recovered: a log whose tip is below the catalog's reservation
 * continues at the reservation (storage floor), so that no seq handed out before is reused; a tip
 * below the catalog's seq_written means records were lost at rest, which is logged with the exact
 * range. Then every shard reserves its next block, in one catalog transaction. */
static int seq_open_all(sl_kinesis_t *k) {
    size_t jumped = 0, lost = 0;
    for (size_t i = 0; i < k->stream_count; i++) {
        sl_kstream_t *s = k->streams[i];
        for (size_t j = 0; j < s->shard_count; j++) {
            sl_kshard_t *sh = s->shards[j];
            sl_shard_bounds_t b;
            int rc = sl_storage_bounds(sh->log, &b);
            if (rc) return rc;
            uint64_t tip = b.next_seq, next = tip;
            if (sh->seq_reserved > tip) {
                rc = sl_storage_shard_set_floor(sh->log, sh->seq_reserved);
                if (rc) {
                    SL_ERROR("storage: stream %s shard %s: cannot continue at seq %" PRIu64 ": %s",
                             s->name, sh->id, sh->seq_reserved, sl_strerror(rc));
                    return rc;
                }
                next = sh->seq_reserved;
            }
            if (sh->seq_written > tip) {
                lost++;
                bool empty = b.first_seq == b.next_seq && b.bytes == 0 && tip == 1;
                SL_WARN(
                    "recovery: stream %s shard %s: the catalog records writes up to seq %" PRIu64
                    " but the log ends at seq %" PRIu64 "%s%s%s: records with seq %" PRIu64
                    "..%" PRIu64 " are lost; new records continue at seq %" PRIu64
                    ", above every seq handed out before "
                    "(sluice check lists what is on disk)",
                    s->name, sh->id, sh->seq_written - 1, tip - 1,
                    empty ? " (its directory streams/" : "", empty ? s->storage_key : "",
                    empty ? "/... is missing or holds no segment" : "", tip, sh->seq_written - 1,
                    next);
            } else if (next > tip) {
                jumped++;
            }
            sh->seq_claimed = sh->seq_start = next;
            sh->seq_tip = tip;
            sh->seq_written = u64_max(sh->seq_written, tip);
            sh->seq_raising = next + SL_KINESIS_SEQ_BLOCK;
        }
    }
    if (jumped)
        SL_INFO("recovery: %zu shard(s) continue at their reserved sequence numbers, up to %" PRIu64
                " above their logs' tips (the last run did not shut down cleanly, so seqs it may "
                "have handed out "
                "are skipped)",
                jumped, (uint64_t)SL_KINESIS_SEQ_BLOCK);
    if (lost) SL_WARN("recovery: %zu shard(s) lost records at rest (see above)", lost);
    int rc = sl_catalog_begin(k->catalog);
    for (size_t i = 0; i < k->stream_count && rc == 0; i++) {
        sl_kstream_t *s = k->streams[i];
        for (size_t j = 0; j < s->shard_count && rc == 0; j++) {
            sl_kshard_t *sh = s->shards[j];
            rc = sl_catalog_shard_seq_set(k->catalog, s->id, (int32_t)sh->index,
                                          (int64_t)sh->seq_raising, (int64_t)sh->seq_written);
        }
    }
    if (rc == 0)
        rc = sl_catalog_commit(k->catalog);
    else
        sl_catalog_rollback(k->catalog);
    for (size_t i = 0; i < k->stream_count; i++) {
        sl_kstream_t *s = k->streams[i];
        for (size_t j = 0; j < s->shard_count; j++) {
            sl_kshard_t *sh = s->shards[j];
            if (rc == 0)
                sh->seq_reserved = sh->seq_raising;
            else
                sh->seq_persist =
                    1; /* the reserve thread retries; until then writes may be throttled */
            sh->seq_raising = 0;
        }
    }
    if (rc) {
        SL_WARN("catalog: reserving sequence numbers at start failed: %s; writes fail until a "
                "retry in the "
                "background succeeds",
                sl_strerror(rc));
        k->reserve_kicked = true;
        k->reserve_error = rc == SL_EAGAIN ? 0 : rc;
    }
    return 0;
}

/* At a clean shutdown, after every shard log was closed (all appends completed, data durable):
 * the reservation comes down to the exact tip, so the next start continues there without a skip. */
static void seq_close_all(sl_kinesis_t *k) {
    for (size_t i = 0; i < k->stream_count; i++) {
        sl_kstream_t *s = k->streams[i];
        for (size_t j = 0; j < s->shard_count; j++) {
            if (s->shards[j]->log) sl_storage_shard_close(s->shards[j]->log);
            s->shards[j]->log = NULL;
        }
    }
    int rc = sl_catalog_begin(k->catalog);
    for (size_t i = 0; i < k->stream_count && rc == 0; i++) {
        sl_kstream_t *s = k->streams[i];
        for (size_t j = 0; j < s->shard_count && rc == 0; j++) {
            sl_kshard_t *sh = s->shards[j];
            uint64_t tip = __atomic_load_n(&sh->seq_tip, __ATOMIC_ACQUIRE);
            uint64_t next = u64_max(tip, sh->seq_start);
            rc = sl_catalog_shard_seq_set(k->catalog, s->id, (int32_t)sh->index, (int64_t)next,
                                          (int64_t)u64_max(tip, sh->seq_written));
            if (rc == SL_ENOTFOUND) rc = 0;
        }
    }
    if (rc == 0)
        rc = sl_catalog_commit(k->catalog);
    else
        sl_catalog_rollback(k->catalog);
    if (rc)
        SL_WARN("catalog: recording the shards' tips at shutdown failed: %s; the next start skips "
                "ahead to the "
                "reserved sequence numbers",
                sl_strerror(rc));
}

/* ---------------------------------------------------------------------------------------------- */
/* loading */

typedef struct {
    sl_kinesis_t *k;
    int rc;
} load_ctx_t;

static sl_kstream_t *stream_by_id(sl_kinesis_t *k, int64_t id) {
    for (size_t i = 0; i < k->stream_count; i++)
        if (k->streams[i]->id == id) return k->streams[i];
    return NULL;
}

static void load_stream(void *arg, const sl_cat_stream_t *r) {
    load_ctx_t *lc = arg;
    sl_kstream_t *s = calloc(1, sizeof *s);
    if (!s) {
        lc->rc = SL_ENOMEM;
        return;
    }
    s->k = lc->k;
    s->id = r->id;
    snprintf(s->name, sizeof s->name, "%s", r->name);
    snprintf(s->arn, sizeof s->arn, "%s", r->arn);
    snprintf(s->storage_key, sizeof s->storage_key, "%s%lld-%s", lc->k->storage_prefix,
             (long long)s->id, s->name);
    s->status = status_parse(r->status);
    s->status_until_ms = r->status_until_ms;
    s->on_demand = r->mode && strcmp(r->mode, "ON_DEMAND") == 0;
    s->created_ms = r->created_ms;
    s->retention_hours = r->retention_hours;
    s->max_record_size_kib = r->max_record_size_kib;
    s->encrypted = r->encryption_type && strcmp(r->encryption_type, "KMS") == 0;
    snprintf(s->key_id, sizeof s->key_id, "%s", r->key_id ? r->key_id : "");
    s->metrics = metrics_parse(r->shard_level_metrics);
    s->warm_mibps = r->warm_throughput_mibps;
    s->next_shard_index = (uint32_t)r->next_shard_index;
    if (stream_insert_sorted(lc->k, s) != 0) {
        stream_free(s);
        lc->rc = SL_ENOMEM;
    }
}

static void load_shard(void *arg, const sl_cat_shard_t *r) {
    load_ctx_t *lc = arg;
    sl_kstream_t *s = stream_by_id(lc->k, r->stream_id);
    if (!s) return;
    sl_u128_t a = 0, b = 0;
    sl_hashkey_parse(r->starting_hash_key, strlen(r->starting_hash_key), &a);
    sl_hashkey_parse(r->ending_hash_key, strlen(r->ending_hash_key), &b);
    sl_kshard_t *sh = shard_new((uint32_t)r->shard_index, a, b, r->created_ms);
    if (!sh) {
        lc->rc = SL_ENOMEM;
        return;
    }
    sh->closed_ms = r->closed_ms;
    sh->seq_reserved = r->seq_reserved > 0 ? (uint64_t)r->seq_reserved : 0;
    sh->seq_written = r->seq_written > 0 ? (uint64_t)r->seq_written : 0;
    uint32_t p;
    if (r->parent_shard_id &&
        sl_shardid_parse(r->parent_shard_id, strlen(r->parent_shard_id), &p) == 0)
        sh->parent = (int32_t)p;
    if (r->adjacent_parent_shard_id &&
        sl_shardid_parse(r->adjacent_parent_shard_id, strlen(r->adjacent_parent_shard_id), &p) == 0)
        sh->adjacent_parent = (int32_t)p;
    int rc = shard_attach(lc->k, s, sh);
    if (rc) lc->rc = rc;
}

static void load_consumer(void *arg, const sl_cat_consumer_t *r) {
    load_ctx_t *lc = arg;
    sl_kstream_t *s = stream_by_id(lc->k, r->stream_id);
    if (!s) return;
    sl_kconsumer_t *c = calloc(1, sizeof *c);
    sl_kconsumer_t **n = c ? realloc(s->consumers, (s->consumer_count + 1) * sizeof *n) : NULL;
    if (!n) {
        free(c);
        lc->rc = SL_ENOMEM;
        return;
    }
    s->consumers = n;
    snprintf(c->name, sizeof c->name, "%s", r->name);
    snprintf(c->arn, sizeof c->arn, "%s", r->arn);
    c->status = status_parse(r->status);
    c->status_until_ms = r->status_until_ms;
    c->created_ms = r->created_ms;
    n[s->consumer_count++] = c;
}

/* Finds the tags/policy slot of a resource ARN among loaded streams and consumers. */
static void resource_slots(sl_kinesis_t *k, const char *arn, sl_ktags_t **tags, char ***policy) {
    *tags = NULL;
    *policy = NULL;
    for (size_t i = 0; i < k->stream_count; i++) {
        sl_kstream_t *s = k->streams[i];
        if (strcmp(s->arn, arn) == 0) {
            *tags = &s->tags;
            *policy = &s->policy;
            return;
        }
        for (size_t c = 0; c < s->consumer_count; c++) {
            if (strcmp(s->consumers[c]->arn, arn) == 0) {
                *tags = &s->consumers[c]->tags;
                *policy = &s->consumers[c]->policy;
                return;
            }
        }
    }
}

static void load_tag(void *arg, const char *arn, const char *key, const char *value) {
    load_ctx_t *lc = arg;
    sl_ktags_t *tags;
    char **policy;
    resource_slots(lc->k, arn, &tags, &policy);
    if (!tags) return;
    sl_ktag_t *n = realloc(tags->items, (tags->count + 1) * sizeof *n);
    if (!n) {
        lc->rc = SL_ENOMEM;
        return;
    }
    tags->items = n;
    n[tags->count].key = strdup(key);
    n[tags->count].value = strdup(value);
    tags->count++;
}

static void load_policy(void *arg, const char *arn, const char *text) {
    load_ctx_t *lc = arg;
    sl_ktags_t *tags;
    char **policy;
    resource_slots(lc->k, arn, &tags, &policy);
    if (policy) *policy = strdup(text);
}

typedef struct {
    sl_kinesis_t *k;
} reconcile_ctx_t;

/* Whether a log on disk is for this engine (account) to reconcile: other accounts' stream keys
 * start with "<12-digit account id>.", the default account's with the catalog id and '-'; keys
 * starting with '_' are other services' logs in the same storage. */
static bool key_is_ours(const sl_kinesis_t *k, const char *stream_key) {
    if (stream_key[0] == '_') return false; /* another service's log (Firehose's "_fh.") */
    size_t n = strlen(k->storage_prefix);
    if (n) return strncmp(stream_key, k->storage_prefix, n) == 0;
    return !(strspn(stream_key, "0123456789") == 12 && stream_key[12] == '.');
}

static void reconcile_log(void *arg, const char *stream_key, const char *shard_key) {
    reconcile_ctx_t *rc = arg;
    if (!key_is_ours(rc->k, stream_key)) return;
    for (size_t i = 0; i < rc->k->stream_count; i++) {
        sl_kstream_t *s = rc->k->streams[i];
        if (strcmp(s->storage_key, stream_key) != 0) continue;
        for (size_t j = 0; j < s->shard_count; j++)
            if (strcmp(s->shards[j]->id, shard_key) == 0) return;
    }
    SL_WARN("recovery: log streams/%s/%s has no shard in the catalog; it is left on disk untouched "
            "and not "
            "served (remove it by hand once it is not needed)",
            stream_key, shard_key);
}

static int load_token_key(sl_kinesis_t *k) {
    size_t n = 0;
    int rc = sl_catalog_setting_get(k->catalog, "token_key", k->token_key, sizeof k->token_key, &n);
    if (rc == 0 && n == sizeof k->token_key) return 0;
    rc = sl_token_key_generate(k->token_key);
    if (rc) return rc;
    return sl_catalog_setting_put(k->catalog, "token_key", k->token_key, sizeof k->token_key);
}

/* ---- idempotency keys after a restart (kinesis/idem.h, "Durability") ---- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int status;
    sl_read_result_t *res;
} idem_read_t;

static void idem_read_cb(void *arg, int status, sl_read_result_t *res) {
    idem_read_t *w = arg;
    pthread_mutex_lock(&w->mu);
    w->status = status;
    w->res = res; /* kept: freed by idem_restore_shard */
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Reads the shard's records of the last idempotency window and restores their tags. */
static void idem_restore_shard(sl_kinesis_t *k, sl_kstream_t *s, sl_kshard_t *sh, int64_t since) {
    uint64_t seq;
    if (!sh->log || sl_storage_seek_time(sh->log, since, &seq) != 0) return;
    for (;;) {
        idem_read_t w = {.status = 0};
        pthread_mutex_init(&w.mu, NULL);
        pthread_cond_init(&w.cv, NULL);
        int rc = sl_storage_read(sh->log, seq, SL_KINESIS_GET_RECORDS_MAX,
                                 SL_KINESIS_GET_RECORDS_BYTES_MAX, since, idem_read_cb, &w);
        if (rc == 0) {
            pthread_mutex_lock(&w.mu);
            while (!w.done)
                pthread_cond_wait(&w.cv, &w.mu);
            pthread_mutex_unlock(&w.mu);
        }
        pthread_mutex_destroy(&w.mu);
        pthread_cond_destroy(&w.cv);
        if (rc != 0 || w.status != 0 || !w.res) {
            if (w.res) sl_storage_read_free(w.res);
            return;
        }
        size_t n = w.res->count;
        uint64_t next = w.res->next_seq;
        for (size_t i = 0; i < n; i++) {
            const sl_record_t *r = &w.res->records[i];
            const char *key;
            size_t key_len, index, count;
            if (sl_kidem_parse_tag(r->attributes, r->attributes_len, &key, &key_len, &index,
                                   &count))
                sl_kidem_restore(k->idem, s->name, s->encrypted, key, key_len, index, count, sh->id,
                                 sh->created_ms, sh->index, r->seq, r->arrival_ms);
        }
        sl_storage_read_free(w.res);
        if (n == 0 || next <= seq) return;
        seq = next;
    }
}

static void idem_restore(sl_kinesis_t *k) {
    int64_t since = sl_time_now_ms() - SL_KINESIS_IDEMPOTENCY_WINDOW_MS;
    for (size_t i = 0; i < k->stream_count; i++)
        for (size_t j = 0; j < k->streams[i]->shard_count; j++)
            idem_restore_shard(k, k->streams[i], k->streams[i]->shards[j], since);
    size_t n = sl_kidem_restore_end(k->idem);
    if (n)
        SL_INFO("restored %zu idempotency keys of the last %d s", n,
                SL_KINESIS_IDEMPOTENCY_WINDOW_MS / 1000);
}

int sl_kinesis_open(const sl_kinesis_config_t *cfg, sl_kinesis_t **out) {
    sl_kinesis_t *k = calloc(1, sizeof *k);
    if (!k) return SL_ENOMEM;
    k->cfg = *cfg;
    if (k->cfg.iterator_ttl_ms <= 0) k->cfg.iterator_ttl_ms = SL_KINESIS_ITERATOR_TTL_MS;
    if (cfg->faults) k->faults = *cfg->faults;
    k->rates = SL_KLIMIT_RATES_AWS;
    if (cfg->shard_write_bytes_per_s > 0) k->rates.write_bytes_per_s = cfg->shard_write_bytes_per_s;
    if (cfg->shard_write_records_per_s > 0)
        k->rates.write_records_per_s = cfg->shard_write_records_per_s;
    if (cfg->shard_read_bytes_per_s > 0) k->rates.read_bytes_per_s = cfg->shard_read_bytes_per_s;
    if (cfg->shard_read_calls_per_s > 0) k->rates.read_calls_per_s = cfg->shard_read_calls_per_s;
    if (cfg->efo_bytes_per_s > 0) k->rates.efo_bytes_per_s = cfg->efo_bytes_per_s;
    k->fault_draws = (uint64_t)sl_kthrottle_now_ns(); /* a different sequence of draws each run */
    snprintf(k->region, sizeof k->region, "%s", cfg->region);
    snprintf(k->account, sizeof k->account, "%s", cfg->account);
    snprintf(k->storage_prefix, sizeof k->storage_prefix, "%s",
             cfg->storage_prefix ? cfg->storage_prefix : "");
    pthread_rwlock_init(&k->lock, NULL);
    pthread_mutex_init(&k->reaper_mu, NULL);
    pthread_cond_init(&k->reaper_cv, NULL);
    pthread_mutex_init(&k->reserve_mu, NULL);
    pthread_cond_init(&k->reserve_cv, NULL);
    /* cfg->data_dir need not outlive this call: the backup's path is kept here. */
    if (cfg->data_dir && *cfg->data_dir)
        snprintf(k->backup_path, sizeof k->backup_path, "%s/catalog.db.bak", cfg->data_dir);

    k->catalog = cfg->catalog;
    k->storage = cfg->storage;
    int rc = sl_klisteners_init(k);
    if (rc) goto fail;
    rc = sl_kidem_create(&k->idem);
    if (rc) goto fail;
    rc = load_token_key(k);
    if (rc) goto fail;
    int64_t v[2];
    size_t vn = 0;
    if (sl_catalog_setting_get(k->catalog, "account_commitment", v, sizeof v, &vn) == 0 &&
        vn == sizeof v) {
        k->commitment_enabled = v[0] != 0;
        k->commitment_started_ms = v[1];
    }

    load_ctx_t lc = {.k = k};
    sl_catalog_visitor_t vis = {
        .stream = load_stream,
        .shard = load_shard,
        .consumer = load_consumer,
        .tag = load_tag,
        .policy = load_policy,
    };
    rc = sl_catalog_load(k->catalog, &vis, &lc);
    if (rc == 0) rc = lc.rc;
    if (rc) {
        SL_ERROR("loading the catalog failed: %s", sl_strerror(rc));
        goto fail;
    }
    for (size_t i = 0; i < k->stream_count && rc == 0; i++)
        rc = sl_kstream_reindex(k->streams[i]);
    for (size_t i = 0; i < k->stream_count && rc == 0; i++)
        rc = sl_kcrypt_load(k, k->streams[i]);
    for (size_t i = 0; i < k->stream_count && rc == 0; i++)
        rc = sl_kquota_load(k, k->streams[i]);
    if (rc) goto fail;
    reconcile_ctx_t rcx = {.k = k};
    sl_storage_list(k->storage, reconcile_log, &rcx);
    size_t shards = 0;
    for (size_t i = 0; i < k->stream_count; i++)
        shards += k->streams[i]->shard_count;
    SL_INFO("loaded %zu streams with %zu shards from %s", k->stream_count, shards, cfg->data_dir);
    rc = seq_open_all(k);
    if (rc) goto fail;
    idem_restore(k);
    catalog_changed(k); /* a backup of what this start loaded */

    k->readpool = cfg->readpool;
    if (!k->readpool) {
        rc = sl_kreadpool_create(SL_KINESIS_READ_THREADS, &k->readpool);
        if (rc) goto fail;
        k->readpool_owned = true;
    }
    rc = pthread_create(&k->reserver, NULL, reserver_main, k) ? SL_ENOMEM : 0;
    if (rc) goto fail;
    k->reserver_started = true;
    rc = pthread_create(&k->reaper, NULL, reaper_main, k) ? SL_ENOMEM : 0;
    if (rc) goto fail;
    *out = k;
    return 0;
fail:
    sl_kreadpool_detach(k);
    if (k->readpool_owned) sl_kreadpool_destroy(k->readpool);
    if (k->reserver_started) {
        pthread_mutex_lock(&k->reserve_mu);
        k->reserve_stop = true;
        pthread_cond_signal(&k->reserve_cv);
        pthread_mutex_unlock(&k->reserve_mu);
        pthread_join(k->reserver, NULL);
    }
    for (size_t i = 0; i < k->stream_count; i++)
        stream_free(k->streams[i]);
    free(k->streams);
    sl_klisteners_deinit(k);
    sl_kidem_destroy(k->idem);
    free(k);
    return rc;
}

void sl_kinesis_close(sl_kinesis_t *k) {
    if (!k) return;
    pthread_mutex_lock(&k->reaper_mu);
    k->stopping = true;
    pthread_cond_signal(&k->reaper_cv);
    pthread_mutex_unlock(&k->reaper_mu);
    pthread_join(k->reaper, NULL);
    sl_kreadpool_detach(k); /* its queued reads run first */
    if (k->readpool_owned) sl_kreadpool_destroy(k->readpool);
    k->readpool = NULL;
    pthread_mutex_lock(&k->reserve_mu);
    k->reserve_stop = true;
    pthread_cond_signal(&k->reserve_cv);
    pthread_mutex_unlock(&k->reserve_mu);
    pthread_join(k->reserver, NULL);
    seq_close_all(k);
    /* The backup matches the catalog as this clean shutdown leaves it. */
    __atomic_store_n(&k->backup_due, 1, __ATOMIC_RELEASE);
    backup_pass(k, true);
    for (size_t i = 0; i < k->stream_count; i++)
        stream_free(k->streams[i]);
    free(k->streams);
    sl_klisteners_deinit(k);
    sl_kidem_destroy(k->idem);
    pthread_rwlock_destroy(&k->lock);
    free(k);
}

const char *sl_kinesis_account(const sl_kinesis_t *k) {
    return k->account;
}
