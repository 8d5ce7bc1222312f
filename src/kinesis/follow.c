/* Following every shard of a stream (see follow.h). */
#include "kinesis/follow.h"

#include "core/arena.h"
#include "core/common.h"
#include "core/time.h"
#include "core/waiter.h"
#include "kinesis/control.h"
#include "kinesis/names.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOLLOW_LIST_EVERY_MS 5000
#define FOLLOW_SHARDS_MAX 100000

typedef enum { SH_NEW, SH_READING, SH_ENDED } shard_state_t;

typedef struct {
    uint32_t index;
    int32_t parents[2]; /* -1 = none */
    shard_state_t state;
    bool restored;    /* its position came from sl_kfollow_restore */
    bool from_parent; /* a child of a shard this follower read: starts at TRIM_HORIZON */
    bool has_reader;
    uint64_t position; /* restored, until the reader exists */
    sl_kreader_t reader;
} fshard_t;

struct sl_kfollow {
    sl_kfollow_config_t cfg;
    char stream[512];
    fshard_t *shards; /* by index, sorted */
    size_t count;
    int64_t listed_mono_ms; /* 0 = list at the next pass */
};

/* ---- waiting for the reader pool ---- */

/* Waits when the operation is pending, else just frees the waiter. */
static void waiter_finish(sl_waiter_t *w, int rc) {
    if (rc == SL_KINESIS_PENDING)
        sl_waiter_wait(w);
    else
        sl_waiter_destroy(w);
}

static void iterator_done(sl_kiterator_t *op) {
    sl_waiter_signal(op->arg, 0);
}

static void read_done(sl_kread_t *op) {
    sl_waiter_signal(op->arg, 0);
}

/* ---- shards ---- */

static sl_kstream_ref_t ref_of(const sl_kfollow_t *f) {
    size_t n = strlen(f->stream);
    if (strncmp(f->stream, "arn:", 4) == 0) return (sl_kstream_ref_t){NULL, 0, f->stream, n};
    return (sl_kstream_ref_t){f->stream, n, NULL, 0};
}

static fshard_t *find(sl_kfollow_t *f, uint32_t index) {
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->shards[mid].index == index) return &f->shards[mid];
        if (f->shards[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static fshard_t *add(sl_kfollow_t *f, uint32_t index) {
    fshard_t *have = find(f, index);
    if (have) return have;
    if (f->count >= FOLLOW_SHARDS_MAX) return NULL;
    fshard_t *grown = realloc(f->shards, (f->count + 1) * sizeof *grown);
    if (!grown) return NULL;
    f->shards = grown;
    size_t at = f->count;
    while (at > 0 && f->shards[at - 1].index > index)
        at--;
    memmove(&f->shards[at + 1], &f->shards[at], (f->count - at) * sizeof *grown);
    f->count++;
    fshard_t *s = &f->shards[at];
    memset(s, 0, sizeof *s);
    s->index = index;
    s->parents[0] = s->parents[1] = -1;
    return s;
}

/* Refreshes the shard list (new children appear; parents are recorded). */
static int list(sl_kfollow_t *f) {
    sl_arena_t arena;
    sl_arena_init(&arena, 16384);
    const char *next = NULL;
    int rc = 0;
    do {
        sl_klist_shards_t op = {.max_results = 1000, .now_ms = sl_time_now_ms(), .arena = &arena};
        if (next)
            op.next_token = next, op.next_token_len = strlen(next);
        else
            op.stream = ref_of(f);
        sl_kerr_t err = {0};
        if (!sl_kinesis_list_shards(f->cfg.k, &op, &err)) {
            rc = err.type == SL_KERR_RESOURCE_NOT_FOUND ? SL_ENOTFOUND : SL_EAGAIN;
            break;
        }
        for (size_t i = 0; i < op.count; i++) {
            const sl_kshard_info_t *in = &op.shards[i];
            bool known = find(f, in->index) != NULL;
            fshard_t *s = add(f, in->index);
            if (!s) {
                rc = SL_ENOMEM;
                break;
            }
            if (known) continue;
            s->parents[0] = in->parent;
            s->parents[1] = in->adjacent_parent;
            /* a child of a shard followed here is read whole, after its parents */
            for (int p = 0; p < 2; p++) {
                fshard_t *parent = s->parents[p] >= 0 ? find(f, (uint32_t)s->parents[p]) : NULL;
                if (parent && (parent->has_reader || parent->state != SH_NEW))
                    s->from_parent = true;
            }
        }
        next = op.next;
    } while (rc == 0 && next);
    sl_arena_deinit(&arena);
    if (rc == 0) f->listed_mono_ms = sl_time_mono_ms();
    return rc;
}

/* A shard may be read once each parent this follower knows has ended. */
static bool parents_done(sl_kfollow_t *f, const fshard_t *s) {
    for (int p = 0; p < 2; p++) {
        fshard_t *parent = s->parents[p] >= 0 ? find(f, (uint32_t)s->parents[p]) : NULL;
        if (parent && parent->state != SH_ENDED) return false;
    }
    return true;
}

static int open_reader(sl_kfollow_t *f, fshard_t *s) {
    char id[24];
    sl_shardid_format(s->index, id);
    sl_kstart_t start = {.type = f->cfg.start};
    /* a restored position replaces the start: any cheap one gives the reader */
    if (s->from_parent || s->restored) start.type = SL_KSTART_TRIM_HORIZON;
    if (start.type == SL_KSTART_AT_TIMESTAMP) {
        start.has_timestamp = true;
        start.timestamp_ms = f->cfg.start_ms;
    }
    sl_waiter_t w;
    sl_waiter_init(&w);
    sl_kiterator_t op = {
        .stream = ref_of(f),
        .shard_id = id,
        .shard_id_len = strlen(id),
        .start = start,
        .op_name = "GetShardIterator",
        .now_ms = sl_time_now_ms(),
        .cb = iterator_done,
        .arg = &w,
    };
    int rc = sl_kinesis_shard_iterator(f->cfg.k, &op);
    waiter_finish(&w, rc);
    if (rc < 0) return rc;
    if (op.err.type != SL_KERR_NONE)
        return op.err.type == SL_KERR_RESOURCE_NOT_FOUND ? SL_ENOTFOUND : SL_EAGAIN;
    s->reader = op.reader;
    if (s->restored) s->reader.position = s->position;
    s->has_reader = true;
    s->state = SH_READING;
    return 0;
}

/* One read of one shard. */
static int read_shard(sl_kfollow_t *f, fshard_t *s, sl_kfollow_fn fn, void *ctx, size_t *delivered,
                      bool *caught_up) {
    sl_waiter_t w;
    sl_waiter_init(&w);
    sl_kread_t op = {
        .reader = s->reader,
        .records_max = f->cfg.records_max,
        .bytes_max = f->cfg.bytes_max,
        .memory_first = true,
        .now_ms = sl_time_now_ms(),
        .cb = read_done,
        .arg = &w,
    };
    int rc = sl_kinesis_read(f->cfg.k, &op);
    waiter_finish(&w, rc);
    if (rc < 0) return rc;
    if (op.err.type != SL_KERR_NONE) {
        bool gone = op.gone;
        sl_kread_release(&op);
        if (gone) { /* the shard expired (retention): its children carry on */
            s->state = SH_ENDED;
            f->listed_mono_ms = 0;
            return 0;
        }
        return SL_EAGAIN;
    }
    char id[24];
    sl_shardid_format(s->index, id);
    sl_kfollow_shard_t shard = {id, s->index, op.shard_created_ms};
    rc = op.count ? fn(ctx, &shard, op.records, op.count) : 0;
    if (rc == 0) {
        *delivered += op.count;
        if (op.shard_ended) {
            s->state = SH_ENDED;
            f->listed_mono_ms = 0; /* its children are listed at the next pass */
        } else {
            s->reader.position = op.next_position;
            if (!op.caught_up) *caught_up = false;
        }
    }
    sl_kread_release(&op);
    return rc;
}

int sl_kfollow_create(const sl_kfollow_config_t *cfg, sl_kfollow_t **out) {
    sl_kfollow_t *f = calloc(1, sizeof *f);
    if (!f) return SL_ENOMEM;
    f->cfg = *cfg;
    snprintf(f->stream, sizeof f->stream, "%s", cfg->stream);
    f->cfg.stream = f->stream;
    if (!f->cfg.records_max) f->cfg.records_max = 10000;
    if (!f->cfg.bytes_max) f->cfg.bytes_max = 4u << 20;
    *out = f;
    return 0;
}

void sl_kfollow_destroy(sl_kfollow_t *f) {
    if (!f) return;
    free(f->shards);
    free(f);
}

int sl_kfollow_pass(sl_kfollow_t *f, sl_kfollow_fn fn, void *ctx, size_t *delivered,
                    bool *caught_up) {
    *delivered = 0;
    *caught_up = true;
    int rc = 0;
    if (!f->listed_mono_ms || sl_time_mono_ms() - f->listed_mono_ms >= FOLLOW_LIST_EVERY_MS)
        rc = list(f);
    for (size_t i = 0; rc == 0 && i < f->count; i++) {
        fshard_t *s = &f->shards[i];
        if (s->state == SH_ENDED || !parents_done(f, s)) continue;
        if (!s->has_reader) {
            rc = open_reader(f, s);
            if (rc == SL_ENOTFOUND) { /* trimmed away since the list: nothing to read */
                s->state = SH_ENDED;
                rc = 0;
                continue;
            }
            if (rc) break;
        }
        rc = read_shard(f, s, fn, ctx, delivered, caught_up);
        s = &f->shards[i];
    }
    return rc;
}

int sl_kfollow_save(const sl_kfollow_t *f, sl_buf_t *out) {
    for (size_t i = 0; i < f->count; i++) {
        const fshard_t *s = &f->shards[i];
        char id[24];
        sl_shardid_format(s->index, id);
        if (s->state == SH_ENDED)
            sl_buf_printf(out, "%s ended\n", id);
        else if (s->has_reader)
            sl_buf_printf(out, "%s %" PRIu64 "\n", id, s->reader.position);
        else if (s->restored)
            sl_buf_printf(out, "%s %" PRIu64 "\n", id, s->position);
    }
    return sl_buf_failed(out) ? SL_ENOMEM : 0;
}

int sl_kfollow_restore(sl_kfollow_t *f, const char *text, size_t len) {
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        const char *sp = memchr(p, ' ', (size_t)(nl - p));
        uint32_t index;
        if (sp && sl_shardid_parse(p, (size_t)(sp - p), &index) == 0) {
            fshard_t *s = add(f, index);
            if (!s) return SL_ENOMEM;
            char value[32];
            snprintf(value, sizeof value, "%.*s", (int)(nl - sp - 1), sp + 1);
            if (strcmp(value, "ended") == 0) {
                s->state = SH_ENDED;
            } else {
                char *e;
                unsigned long long pos = strtoull(value, &e, 10);
                if (e == value || *e) return SL_EINVAL;
                s->restored = true;
                s->position = pos;
            }
        }
        p = nl + 1;
    }
    return 0;
}
