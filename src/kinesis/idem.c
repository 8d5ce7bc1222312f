/* The idempotency table of an engine (see idem.h): a chained hash of (stream, key) entries and a
 * FIFO of the same entries in insertion order, from which expired and surplus entries are
 * dropped. An entry is PENDING while its owner put runs (later puts of the key queue on it), then
 * DONE with a heap copy of the owner's result. */
#include "kinesis/idem.h"

#include "core/common.h"
#include "core/limits.h"
#include "core/time.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 65536

typedef struct entry entry_t;
struct entry {
    entry_t *chain;         /* next in the bucket */
    entry_t *older, *newer; /* FIFO */
    uint64_t hash;
    char *id; /* "stream\0key" */
    size_t id_len;
    int64_t created_ms;
    bool done;
    bool restoring;     /* being rebuilt from stored tags (sl_kidem_restore) */
    sl_kput_t *waiters; /* PENDING: puts of the same key, chained by idem_next */
    /* DONE: the owner's result */
    size_t count;
    char stream_name[129];
    bool encrypted;
    size_t failed;
    sl_kput_group_t *groups;
    size_t group_count;
    sl_kput_entry_t *entries;
};

/* Owned by its engine. Every field under mu. */
struct sl_kidem {
    pthread_mutex_t mu;
    entry_t *buckets[BUCKETS];
    entry_t *oldest, *newest;
    size_t count;
};

int sl_kidem_create(sl_kidem_t **out) {
    sl_kidem_t *t = calloc(1, sizeof *t);
    if (!t) return SL_ENOMEM;
    pthread_mutex_init(&t->mu, NULL);
    *out = t;
    return 0;
}

static void entry_free(entry_t *e) {
    free(e->id);
    free(e->groups);
    free(e->entries);
    free(e);
}

void sl_kidem_destroy(sl_kidem_t *t) {
    if (!t) return;
    entry_t *e = t->oldest;
    while (e) {
        entry_t *next = e->newer;
        entry_free(e);
        e = next;
    }
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static uint64_t hash_of(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void unlink_entry(sl_kidem_t *t, entry_t *e) {
    entry_t **link = &t->buckets[e->hash % BUCKETS];
    while (*link != e)
        link = &(*link)->chain;
    *link = e->chain;
    if (e->older)
        e->older->newer = e->newer;
    else
        t->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        t->newest = e->older;
    t->count--;
}

/* Forgets DONE entries past the window, and the oldest DONE ones over the bound. */
static void expire(sl_kidem_t *t, int64_t now_ms) {
    entry_t *e = t->oldest;
    while (e && (e->created_ms + SL_KINESIS_IDEMPOTENCY_WINDOW_MS <= now_ms ||
                 t->count > SL_KINESIS_IDEMPOTENCY_KEYS_MAX)) {
        entry_t *next = e->newer;
        if (e->done) {
            unlink_entry(t, e);
            entry_free(e);
        }
        e = next;
    }
}

/* Copies the remembered result into op (from op's arena). */
static void replay(const entry_t *e, sl_kput_t *op) {
    if (op->count != e->count) {
        sl_kerr_set(&op->err, SL_KERR_INVALID_ARGUMENT,
                    "Idempotency key %.*s was used for a request of %zu records on stream %s; "
                    "this request has %zu.",
                    (int)op->idempotency_key_len, op->idempotency_key, e->count, e->stream_name,
                    op->count);
        return;
    }
    op->groups =
        sl_arena_alloc(op->arena, (e->group_count ? e->group_count : 1) * sizeof *op->groups);
    op->entries = sl_arena_alloc(op->arena, (e->count ? e->count : 1) * sizeof *op->entries);
    if (!op->groups || !op->entries) {
        sl_kerr_internal(&op->err, SL_ENOMEM);
        return;
    }
    if (e->group_count) memcpy(op->groups, e->groups, e->group_count * sizeof *op->groups);
    if (e->count) memcpy(op->entries, e->entries, e->count * sizeof *op->entries);
    op->group_count = e->group_count;
    op->failed = e->failed;
    op->encrypted = e->encrypted;
    op->replayed = true;
    memcpy(op->stream_name, e->stream_name, sizeof op->stream_name);
}

sl_kidem_status_t sl_kidem_begin(sl_kidem_t *t, const char *stream, sl_kput_t *op) {
    size_t sl = strlen(stream), kl = op->idempotency_key_len;
    char *id = malloc(sl + 1 + kl);
    if (!id) {
        sl_kerr_internal(&op->err, SL_ENOMEM);
        return SL_KIDEM_REPLAYED;
    }
    memcpy(id, stream, sl + 1);
    memcpy(id + sl + 1, op->idempotency_key, kl);
    size_t id_len = sl + 1 + kl;
    uint64_t h = hash_of(id, id_len);
    pthread_mutex_lock(&t->mu);
    expire(t, op->now_ms);
    entry_t *e = t->buckets[h % BUCKETS];
    while (e && !(e->hash == h && e->id_len == id_len && !memcmp(e->id, id, id_len)))
        e = e->chain;
    sl_kidem_status_t st;
    if (e && e->done) {
        replay(e, op);
        st = SL_KIDEM_REPLAYED;
    } else if (e) {
        op->idem_next = e->waiters;
        e->waiters = op;
        st = SL_KIDEM_WAITING;
    } else if (!(e = calloc(1, sizeof *e))) {
        sl_kerr_internal(&op->err, SL_ENOMEM);
        st = SL_KIDEM_REPLAYED;
    } else {
        e->id = id;
        id = NULL;
        e->id_len = id_len;
        e->hash = h;
        e->created_ms = op->now_ms;
        e->chain = t->buckets[h % BUCKETS];
        t->buckets[h % BUCKETS] = e;
        e->older = t->newest;
        if (t->newest)
            t->newest->newer = e;
        else
            t->oldest = e;
        t->newest = e;
        t->count++;
        op->idem_owner = true;
        op->idem_entry = e;
        st = SL_KIDEM_NEW;
    }
    pthread_mutex_unlock(&t->mu);
    free(id);
    return st;
}

void sl_kidem_finish(sl_kidem_t *t, sl_kput_t *op) {
    SL_ASSERT(op->idem_owner);
    entry_t *e = op->idem_entry;
    pthread_mutex_lock(&t->mu);
    SL_ASSERT(e != NULL && !e->done); /* a PENDING entry is never expired nor evicted */
    sl_kput_t *waiters = e->waiters;
    e->waiters = NULL;
    bool keep = op->err.type == SL_KERR_NONE;
    if (keep) {
        e->count = op->count;
        memcpy(e->stream_name, op->stream_name, sizeof e->stream_name);
        e->encrypted = op->encrypted;
        e->failed = op->failed;
        e->group_count = op->group_count;
        e->groups = malloc((op->group_count ? op->group_count : 1) * sizeof *e->groups);
        e->entries = malloc((op->count ? op->count : 1) * sizeof *e->entries);
        keep = e->groups && e->entries;
    }
    if (keep) {
        for (size_t i = 0; i < op->group_count; i++) {
            e->groups[i] = op->groups[i];
            e->groups[i].entries = NULL; /* private parts of the owner's call */
            e->groups[i].shard = NULL;
            e->groups[i].op = NULL;
        }
        memcpy(e->entries, op->entries, op->count * sizeof *e->entries);
        e->done = true;
    } else {
        unlink_entry(t, e);
    }
    /* Waiters get the result now (or the owner's error). */
    for (sl_kput_t *w = waiters; w; w = w->idem_next) {
        if (keep)
            replay(e, w);
        else
            w->err = op->err;
    }
    if (!keep) entry_free(e);
    pthread_mutex_unlock(&t->mu);
    while (waiters) {
        sl_kput_t *next = waiters->idem_next;
        waiters->cb(waiters);
        waiters = next;
    }
}

/* ---- durability: tags in the stored records, and the rebuild at open ---- */

#define TAG "sluice-idem:"
#define TAG_LEN (sizeof TAG - 1)

bool sl_kidem_tag(const sl_kput_t *op, size_t index, const char **attributes, size_t *len) {
    const sl_krecord_t *r = &op->records[index];
    size_t ehk = r->explicit_hash_key ? r->explicit_hash_key_len : 0;
    size_t cap = ehk + 1 + TAG_LEN + op->idempotency_key_len + 48;
    char *p = sl_arena_alloc(op->arena, cap);
    if (!p) return false;
    size_t n = 0;
    if (ehk) memcpy(p, r->explicit_hash_key, ehk);
    n = ehk;
    p[n++] = 0;
    memcpy(p + n, TAG, TAG_LEN);
    n += TAG_LEN;
    memcpy(p + n, op->idempotency_key, op->idempotency_key_len);
    n += op->idempotency_key_len;
    n += (size_t)snprintf(p + n, cap - n, "\n%zu/%zu", index, op->count);
    *attributes = p;
    *len = n;
    return true;
}

bool sl_kidem_parse_tag(const char *attributes, size_t len, const char **key, size_t *key_len,
                        size_t *index, size_t *count) {
    const char *nul = attributes ? memchr(attributes, 0, len) : NULL;
    if (!nul) return false;
    const char *p = nul + 1, *end = attributes + len;
    if ((size_t)(end - p) < TAG_LEN || memcmp(p, TAG, TAG_LEN) != 0) return false;
    p += TAG_LEN;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl || nl == p || nl - p > SL_KINESIS_IDEMPOTENCY_KEY_BYTES_MAX) return false;
    *key = p;
    *key_len = (size_t)(nl - p);
    size_t i = 0, c = 0;
    const char *q = nl + 1;
    bool digits = false;
    for (; q < end && *q >= '0' && *q <= '9' && i < SIZE_MAX / 10; q++, digits = true)
        i = i * 10 + (size_t)(*q - '0');
    if (!digits || q == end || *q++ != '/') return false;
    digits = false;
    for (; q < end && *q >= '0' && *q <= '9' && c < SIZE_MAX / 10; q++, digits = true)
        c = c * 10 + (size_t)(*q - '0');
    if (!digits || q != end || c == 0 || c > SL_KINESIS_PUT_RECORDS_MAX || i >= c) return false;
    *index = i;
    *count = c;
    return true;
}

void sl_kidem_restore(sl_kidem_t *t, const char *stream, bool encrypted, const char *key,
                      size_t key_len, size_t index, size_t count, const char *shard_id,
                      int64_t shard_created_ms, uint32_t shard_index, uint64_t seq,
                      int64_t arrival_ms) {
    size_t sl = strlen(stream);
    size_t id_len = sl + 1 + key_len;
    char *id = malloc(id_len);
    if (!id) return;
    memcpy(id, stream, sl + 1);
    memcpy(id + sl + 1, key, key_len);
    uint64_t h = hash_of(id, id_len);
    pthread_mutex_lock(&t->mu);
    entry_t *e = t->buckets[h % BUCKETS];
    while (e && !(e->hash == h && e->id_len == id_len && !memcmp(e->id, id, id_len)))
        e = e->chain;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (e) e->entries = malloc(count * sizeof *e->entries);
        if (!e || !e->entries) {
            if (e) free(e);
            goto out;
        }
        for (size_t i = 0; i < count; i++)
            e->entries[i] = (sl_kput_entry_t){.group = -1};
        e->id = id;
        id = NULL;
        e->id_len = id_len;
        e->hash = h;
        e->restoring = true;
        e->count = count;
        e->encrypted = encrypted;
        snprintf(e->stream_name, sizeof e->stream_name, "%s", stream);
        e->chain = t->buckets[h % BUCKETS];
        t->buckets[h % BUCKETS] = e;
        e->older = t->newest;
        if (t->newest)
            t->newest->newer = e;
        else
            t->oldest = e;
        t->newest = e;
        t->count++;
    }
    if (!e->restoring || e->count != count || e->entries[index].group >= 0) goto out;
    size_t g = 0;
    while (g < e->group_count && strcmp(e->groups[g].shard_id, shard_id) != 0)
        g++;
    if (g == e->group_count) {
        sl_kput_group_t *groups = realloc(e->groups, (g + 2) * sizeof *groups);
        if (!groups) goto out;
        e->groups = groups;
        groups[g] = (sl_kput_group_t){.shard_created_ms = shard_created_ms,
                                      .shard_index = shard_index,
                                      .first_seq = seq, /* what a PutRecord answer shows */
                                      .arrival_ms = arrival_ms};
        snprintf(groups[g].shard_id, sizeof groups[g].shard_id, "%s", shard_id);
        groups[g].shard_id_len = strlen(groups[g].shard_id);
        e->group_count++;
    }
    e->groups[g].count++;
    if (arrival_ms > e->groups[g].arrival_ms) e->groups[g].arrival_ms = arrival_ms;
    if (arrival_ms > e->created_ms) e->created_ms = arrival_ms;
    e->entries[index] = (sl_kput_entry_t){.group = (int32_t)g, .seq = seq};
out:
    pthread_mutex_unlock(&t->mu);
    free(id);
}

size_t sl_kidem_restore_end(sl_kidem_t *t) {
    size_t n = 0;
    pthread_mutex_lock(&t->mu);
    for (entry_t *e = t->oldest; e; e = e->newer) {
        if (!e->restoring) continue;
        e->restoring = false;
        e->done = true;
        n++;
        /* Records the crash cut before they were written: one failed group holds them (the
         * groups array always has room for one more). */
        size_t missing = 0;
        for (size_t i = 0; i < e->count; i++)
            if (e->entries[i].group < 0) missing++;
        if (!missing) continue;
        if (!e->groups) e->groups = malloc(sizeof *e->groups);
        if (!e->groups) {
            e->done = false; /* unusable: dropped below */
            continue;
        }
        size_t g = e->group_count++;
        e->groups[g] = (sl_kput_group_t){.status = SL_EIO, .count = missing};
        for (size_t i = 0; i < e->count; i++)
            if (e->entries[i].group < 0) e->entries[i].group = (int32_t)g;
        e->failed = missing;
    }
    for (entry_t *e = t->oldest; e;) {
        entry_t *next = e->newer;
        if (!e->done && !e->waiters) {
            unlink_entry(t, e);
            entry_free(e);
        }
        e = next;
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}
