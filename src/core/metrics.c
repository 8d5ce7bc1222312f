/* The metrics registry (metrics.h). Cells: every series owns a run of consecutive cell indexes
 * (counter: count, sum; histogram: count, sum as double bits, one count per bucket). Each thread
 * has a block: an array of chunk pointers, each chunk SL_METRICS_CHUNK_CELLS cells, allocated by
 * the owning thread the first time it touches a cell in it. A series' run never straddles two
 * chunks. Only the owner writes a block's cells; readers sum every block's cells under the
 * registry mutex (which the hot path never takes). The mutex is recursive so that a family's
 * collect callback may create the series it sets (appended at a list's tail while it is walked). */
#include "core/metrics.h"

#include "core/common.h"
#include "core/limits.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CHUNKS_MAX (SL_METRICS_CELLS_MAX / SL_METRICS_CHUNK_CELLS)

typedef _Atomic uint64_t cell_t;

typedef struct block {
    _Atomic(cell_t *) chunks[CHUNKS_MAX];
    struct block *next_all;  /* every block ever made */
    struct block *next_free; /* blocks of exited threads, waiting for a new thread */
} block_t;

struct sl_metric_series {
    sl_metric_t *metric;
    char *values[SL_METRIC_LABELS_MAX];
    uint32_t slot; /* first cell */
    _Atomic int64_t gauge;
    atomic_bool live;
    sl_series_t *next;
};

struct sl_metric {
    const sl_metric_desc_t *desc;
    size_t labels_len;
    uint32_t cells; /* per series */
    sl_series_t *head, *tail;
    sl_metric_t *next;
};

static struct {
    pthread_mutex_t mu;
    pthread_once_t once;
    pthread_key_t key;
    sl_metric_t *head, *tail;
    uint32_t cells_used;
    block_t *blocks, *free_blocks;
} g = {.mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP, .once = PTHREAD_ONCE_INIT};

#ifndef SL_METRICS_OFF
static _Thread_local block_t *t_block;

static void thread_exit(void *arg) {
    block_t *b = arg;
    pthread_mutex_lock(&g.mu);
    b->next_free = g.free_blocks;
    g.free_blocks = b;
    pthread_mutex_unlock(&g.mu);
    t_block = NULL;
}

static void init_key(void) {
    int rc = pthread_key_create(&g.key, thread_exit);
    SL_ASSERT(rc == 0);
}

/* The calling thread's block: a released one if any (its counts continue), else a new one. */
static block_t *attach(void) {
    pthread_once(&g.once, init_key);
    pthread_mutex_lock(&g.mu);
    block_t *b = g.free_blocks;
    if (b) {
        g.free_blocks = b->next_free;
    } else {
        b = calloc(1, sizeof *b);
        if (b) {
            b->next_all = g.blocks;
            g.blocks = b;
        }
    }
    pthread_mutex_unlock(&g.mu);
    if (!b) return NULL;
    pthread_setspecific(g.key, b);
    t_block = b;
    return b;
}

static cell_t *cells_of(const sl_series_t *s) {
    block_t *b = t_block;
    if (!b && !(b = attach())) return NULL;
    uint32_t ci = s->slot / SL_METRICS_CHUNK_CELLS;
    cell_t *chunk = atomic_load_explicit(&b->chunks[ci], memory_order_relaxed);
    if (!chunk) {
        chunk = calloc(SL_METRICS_CHUNK_CELLS, sizeof *chunk);
        if (!chunk) return NULL;
        atomic_store_explicit(&b->chunks[ci], chunk, memory_order_release);
    }
    return chunk + s->slot % SL_METRICS_CHUNK_CELLS;
}

/* Only the owning thread writes a cell, so a relaxed load and store suffice (no locked add). */
static inline void bump(cell_t *c, uint64_t v) {
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

static uint64_t dbits(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}
#endif /* SL_METRICS_OFF */

static double bitsd(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

#ifndef SL_METRICS_OFF
/* The hot path (compiled out with SL_METRICS_OFF). */
void sl_metric_add(sl_series_t *s, uint64_t value) {
    if (!s) return;
    cell_t *c = cells_of(s);
    if (!c) return;
    bump(&c[0], 1);
    bump(&c[1], value);
}

void sl_metric_observe(sl_series_t *s, double value) {
    if (!s) return;
    const sl_metric_desc_t *d = s->metric->desc;
    cell_t *c = cells_of(s);
    if (!c) return;
    size_t i = 0;
    while (i < d->bounds_len && value > d->bounds[i])
        i++;
    bump(&c[0], 1);
    double sum = bitsd(atomic_load_explicit(&c[1], memory_order_relaxed)) + value;
    atomic_store_explicit(&c[1], dbits(sum), memory_order_relaxed);
    bump(&c[2 + i], 1);
}

void sl_metric_set(sl_series_t *s, int64_t value) {
    if (s) atomic_store_explicit(&s->gauge, value, memory_order_relaxed);
}

void sl_metric_gauge_add(sl_series_t *s, int64_t delta) {
    if (s) atomic_fetch_add_explicit(&s->gauge, delta, memory_order_relaxed);
}
#endif

bool sl_metrics_enabled(void) {
#ifdef SL_METRICS_OFF
    return false;
#else
    return true;
#endif
}

sl_metric_t *sl_metric_declare(const sl_metric_desc_t *desc) {
    SL_ASSERT(desc && desc->prom_name && desc->help);
    SL_ASSERT(desc->kind != SL_METRIC_HISTOGRAM ||
              (desc->bounds_len > 0 && desc->bounds_len + 3 <= SL_METRICS_CHUNK_CELLS));
    pthread_mutex_lock(&g.mu);
    sl_metric_t *m;
    for (m = g.head; m; m = m->next)
        if (strcmp(m->desc->prom_name, desc->prom_name) == 0) break;
    if (!m && (m = calloc(1, sizeof *m))) {
        m->desc = desc;
        while (m->labels_len < SL_METRIC_LABELS_MAX && desc->labels[m->labels_len])
            m->labels_len++;
        m->cells = desc->kind == SL_METRIC_COUNTER     ? 2
                   : desc->kind == SL_METRIC_HISTOGRAM ? (uint32_t)(3 + desc->bounds_len)
                                                       : 0;
        if (g.tail)
            g.tail->next = m;
        else
            g.head = m;
        g.tail = m;
    }
    pthread_mutex_unlock(&g.mu);
    return m;
}

static bool same_values(const sl_series_t *s, size_t n, const char *const *values) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], values[i] ? values[i] : "") != 0) return false;
    return true;
}

/* Reserves a run of `n` cells in one chunk; UINT32_MAX when the registry is full. */
static uint32_t reserve_cells(uint32_t n) {
    if (n == 0) return 0;
    uint32_t at = g.cells_used;
    if (at % SL_METRICS_CHUNK_CELLS + n > SL_METRICS_CHUNK_CELLS)
        at += SL_METRICS_CHUNK_CELLS - at % SL_METRICS_CHUNK_CELLS;
    if ((uint64_t)at + n > SL_METRICS_CELLS_MAX) return UINT32_MAX;
    g.cells_used = at + n;
    return at;
}

sl_series_t *sl_metric_series(sl_metric_t *m, const char *const *values) {
    if (!m) return NULL;
    pthread_mutex_lock(&g.mu);
    sl_series_t *s;
    for (s = m->head; s; s = s->next)
        if (same_values(s, m->labels_len, values)) break;
    if (s) {
        atomic_store(&s->live, true);
        goto done;
    }
    uint32_t slot = reserve_cells(m->cells);
    if (slot == UINT32_MAX || !(s = calloc(1, sizeof *s))) {
        s = NULL;
        goto done;
    }
    s->metric = m;
    s->slot = slot;
    for (size_t i = 0; i < m->labels_len; i++) {
        s->values[i] = strdup(values[i] ? values[i] : "");
        if (!s->values[i]) {
            while (i > 0)
                free(s->values[--i]);
            free(s);
            s = NULL; /* the reserved cells stay unused: only after an allocation failure */
            goto done;
        }
    }
    atomic_store(&s->live, true);
    if (m->tail)
        m->tail->next = s;
    else
        m->head = s;
    m->tail = s;
done:
    pthread_mutex_unlock(&g.mu);
    return s;
}

void sl_series_release(sl_series_t *s) {
    if (s) atomic_store(&s->live, false);
}

/* Sums every thread's cells of series `s` into `sample` (buckets into `buckets`). */
static void sum_cells(const sl_series_t *s, sl_metric_sample_t *sample, uint64_t *buckets) {
    const sl_metric_t *m = s->metric;
    uint32_t ci = s->slot / SL_METRICS_CHUNK_CELLS, off = s->slot % SL_METRICS_CHUNK_CELLS;
    double dsum = 0;
    uint64_t usum = 0;
    for (const block_t *b = g.blocks; b; b = b->next_all) {
        cell_t *chunk = atomic_load_explicit(&b->chunks[ci], memory_order_acquire);
        if (!chunk) continue;
        cell_t *c = chunk + off;
        sample->count += atomic_load_explicit(&c[0], memory_order_relaxed);
        uint64_t raw = atomic_load_explicit(&c[1], memory_order_relaxed);
        if (m->desc->kind == SL_METRIC_HISTOGRAM) {
            dsum += bitsd(raw);
            for (size_t i = 0; i <= m->desc->bounds_len; i++)
                buckets[i] += atomic_load_explicit(&c[2 + i], memory_order_relaxed);
        } else {
            usum += raw;
        }
    }
    sample->sum = m->desc->kind == SL_METRIC_HISTOGRAM ? dsum : (double)usum;
}

void sl_metrics_collect(void (*fn)(void *arg, const sl_metric_sample_t *sample), void *arg) {
    uint64_t buckets[SL_METRICS_CHUNK_CELLS];
    pthread_mutex_lock(&g.mu);
    for (sl_metric_t *m = g.head; m; m = m->next) {
        if (m->desc->collect) m->desc->collect(m->desc->collect_arg);
        for (sl_series_t *s = m->head; s; s = s->next) {
            if (!atomic_load(&s->live)) continue;
            sl_metric_sample_t sample = {.desc = m->desc, .values = (const char *const *)s->values};
            /* gauges, and counters kept by a collect callback (process CPU time) */
            if (m->desc->kind == SL_METRIC_GAUGE ||
                (m->desc->kind == SL_METRIC_COUNTER && m->desc->collect)) {
                sample.sum = (double)atomic_load_explicit(&s->gauge, memory_order_relaxed);
            } else {
                memset(buckets, 0, sizeof(uint64_t) * (m->desc->bounds_len + 1));
                sum_cells(s, &sample, buckets);
                if (m->desc->kind == SL_METRIC_HISTOGRAM) sample.buckets = buckets;
            }
            fn(arg, &sample);
        }
    }
    pthread_mutex_unlock(&g.mu);
}

void sl_metrics_families(void (*fn)(void *arg, const sl_metric_desc_t *desc), void *arg) {
    pthread_mutex_lock(&g.mu);
    for (sl_metric_t *m = g.head; m; m = m->next)
        fn(arg, m->desc);
    pthread_mutex_unlock(&g.mu);
}
