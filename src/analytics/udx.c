/* Table functions (analytics/udx.h): the sketches TOP_K_ITEMS_TUMBLING and
 * COUNT_DISTINCT_ITEMS_TUMBLING, the random cut forest (RANDOM_CUT_FOREST and
 * RANDOM_CUT_FOREST_WITH_EXPLANATION), HOTSPOTS and GROUP_RANK. Written from the published
 * descriptions (the SQL reference's parameters and output columns; Guha, Mishra, Roy, Schrijvers,
 * "Robust Random Cut Forest Based Anomaly Detection on Streams", ICML 2016; Flajolet et al.'s
 * HyperLogLog; Metwally et al.'s Space-Saving; DBSCAN's core points for hotspots). */
#include "analytics/udx.h"

#include "analytics/ser.h"
#include "core/common.h"
#include "core/limits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { UDX_TOPK, UDX_DISTINCT, UDX_RCF, UDX_RCF_EXPL, UDX_HOTSPOTS, UDX_GROUP_RANK };

static const char *const UDX_NAMES[] = {"TOP_K_ITEMS_TUMBLING",
                                        "COUNT_DISTINCT_ITEMS_TUMBLING",
                                        "RANDOM_CUT_FOREST",
                                        "RANDOM_CUT_FOREST_WITH_EXPLANATION",
                                        "HOTSPOTS",
                                        "GROUP_RANK"};

#define ITEM_TEXT_MAX 1024       /* ITEM VARCHAR(1024): a value as text */
#define DISTINCT_EXACT_MAX 10000 /* the SQL reference: exact up to 10,000 distinct items */
#define HLL_BITS 14
#define HLL_REGS (1u << HLL_BITS)
#define RCF_DIMS_MAX 30 /* numeric columns the forest reads */

/* --- random numbers: splitmix64, seeded per function so runs are reproducible ------------- */

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double rng_unit(uint64_t *s) {
    return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

static uint64_t hash_bytes(const void *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const uint8_t *)p)[i]) * 1099511628211ull;
    uint64_t s = h;
    return rng_next(&s); /* a final mix: HyperLogLog needs well-spread bits */
}

/* --- TOP_K_ITEMS_TUMBLING: Space-Saving counters ------------------------------------------- */

typedef struct {
    char *item;
    uint32_t len;
    uint64_t hash;
    int64_t count, error;
    int32_t next; /* bucket chain */
    int32_t heap; /* position in the min-heap */
} ss_counter_t;

typedef struct {
    ss_counter_t *c;
    size_t n, cap, max; /* max: the counters Space-Saving keeps */
    int32_t *buckets;
    size_t nbuckets;
    int32_t *heap; /* counter indexes, min-heap by count */
} topk_t;

static void heap_swap(topk_t *t, size_t a, size_t b) {
    int32_t x = t->heap[a];
    t->heap[a] = t->heap[b];
    t->heap[b] = x;
    t->c[t->heap[a]].heap = (int32_t)a;
    t->c[t->heap[b]].heap = (int32_t)b;
}

static void heap_down(topk_t *t, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && t->c[t->heap[l]].count < t->c[t->heap[m]].count) m = l;
        if (r < t->n && t->c[t->heap[r]].count < t->c[t->heap[m]].count) m = r;
        if (m == i) return;
        heap_swap(t, i, m);
        i = m;
    }
}

static void heap_up(topk_t *t, size_t i) {
    while (i > 0 && t->c[t->heap[(i - 1) / 2]].count > t->c[t->heap[i]].count) {
        heap_swap(t, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void topk_link(topk_t *t, int32_t i) {
    size_t b = t->c[i].hash & (t->nbuckets - 1);
    t->c[i].next = t->buckets[b];
    t->buckets[b] = i;
}

static void topk_unlink(topk_t *t, int32_t i) {
    int32_t *p = &t->buckets[t->c[i].hash & (t->nbuckets - 1)];
    while (*p != i)
        p = &t->c[*p].next;
    *p = t->c[i].next;
}

static int topk_grow(topk_t *t) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    if (cap > t->max) cap = t->max;
    ss_counter_t *c = realloc(t->c, cap * sizeof *c);
    if (!c) return -1;
    t->c = c;
    int32_t *h = realloc(t->heap, cap * sizeof *h);
    if (!h) return -1;
    t->heap = h;
    size_t nb = 1;
    while (nb < cap * 2)
        nb <<= 1;
    int32_t *b = malloc(nb * sizeof *b);
    if (!b) return -1;
    for (size_t i = 0; i < nb; i++)
        b[i] = -1;
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
    t->cap = cap;
    for (size_t i = 0; i < t->n; i++)
        topk_link(t, (int32_t)i);
    return 0;
}

static void topk_reset(topk_t *t) {
    for (size_t i = 0; i < t->n; i++)
        free(t->c[i].item);
    free(t->c);
    free(t->heap);
    free(t->buckets);
    size_t max = t->max;
    memset(t, 0, sizeof *t);
    t->max = max;
}

/* Counts one item (count times: restore adds whole counters). */
static int topk_add(topk_t *t, const char *item, size_t len, int64_t count, int64_t error) {
    uint64_t h = hash_bytes(item, len);
    if (t->nbuckets) {
        for (int32_t i = t->buckets[h & (t->nbuckets - 1)]; i >= 0; i = t->c[i].next) {
            ss_counter_t *c = &t->c[i];
            if (c->hash == h && c->len == len && memcmp(c->item, item, len) == 0) {
                c->count += count;
                heap_down(t, (size_t)c->heap);
                return 0;
            }
        }
    }
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, item, len);
    copy[len] = 0;
    if (t->n == t->cap && t->cap < t->max && topk_grow(t)) {
        free(copy);
        return -1;
    }
    if (t->n < t->cap) {
        int32_t i = (int32_t)t->n++;
        t->c[i] = (ss_counter_t){copy, (uint32_t)len, h, count, error, -1, i};
        t->heap[i] = i;
        topk_link(t, i);
        heap_up(t, (size_t)i);
        return 0;
    }
    /* full: the least counted item gives its counter to the new one (its count is the bound
     * of the new item's overestimate) */
    int32_t m = t->heap[0];
    ss_counter_t *c = &t->c[m];
    topk_unlink(t, m);
    free(c->item);
    c->item = copy;
    c->len = (uint32_t)len;
    c->hash = h;
    c->error = c->count;
    c->count += count;
    topk_link(t, m);
    heap_down(t, 0);
    return 0;
}

static int cmp_counters(const void *pa, const void *pb) {
    const ss_counter_t *a = *(ss_counter_t *const *)pa, *b = *(ss_counter_t *const *)pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    size_t n = SL_MIN(a->len, b->len);
    int c = memcmp(a->item, b->item, n);
    if (c) return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* --- COUNT_DISTINCT_ITEMS_TUMBLING: an exact set, then HyperLogLog ------------------------- */

typedef struct {
    uint64_t *set; /* open addressing; 0 is empty */
    size_t n, cap;
    uint8_t *hll; /* HLL_REGS registers once past DISTINCT_EXACT_MAX */
} distinct_t;

static void hll_add(uint8_t *regs, uint64_t h) {
    uint32_t idx = (uint32_t)(h >> (64 - HLL_BITS));
    uint64_t w = (h << HLL_BITS) | (1ull << (HLL_BITS - 1));
    uint8_t rho = (uint8_t)(__builtin_clzll(w) + 1);
    if (rho > regs[idx]) regs[idx] = rho;
}

static int64_t hll_estimate(const uint8_t *regs) {
    double m = HLL_REGS, sum = 0;
    size_t zeros = 0;
    for (size_t i = 0; i < HLL_REGS; i++) {
        sum += ldexp(1.0, -regs[i]);
        zeros += regs[i] == 0;
    }
    double e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    if (e <= 2.5 * m && zeros) e = m * log(m / (double)zeros); /* linear counting */
    return (int64_t)llround(e);
}

static int set_insert(distinct_t *d, uint64_t h) {
    if (!h) h = 1;
    if ((d->n + 1) * 2 > d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        uint64_t *s = calloc(cap, sizeof *s);
        if (!s) return -1;
        for (size_t i = 0; i < d->cap; i++) {
            if (!d->set[i]) continue;
            size_t j = d->set[i] & (cap - 1);
            while (s[j])
                j = (j + 1) & (cap - 1);
            s[j] = d->set[i];
        }
        free(d->set);
        d->set = s;
        d->cap = cap;
    }
    size_t j = h & (d->cap - 1);
    while (d->set[j]) {
        if (d->set[j] == h) return 0;
        j = (j + 1) & (d->cap - 1);
    }
    d->set[j] = h;
    d->n++;
    return 0;
}

static bool set_has(const distinct_t *d, uint64_t h) {
    if (!h) h = 1;
    if (!d->cap) return false;
    for (size_t j = h & (d->cap - 1); d->set[j]; j = (j + 1) & (d->cap - 1))
        if (d->set[j] == h) return true;
    return false;
}

static int distinct_add(distinct_t *d, uint64_t h) {
    if (d->hll) {
        hll_add(d->hll, h);
        return 0;
    }
    if (d->n < DISTINCT_EXACT_MAX || set_has(d, h)) return set_insert(d, h);
    d->hll = calloc(HLL_REGS, 1);
    if (!d->hll) return -1;
    for (size_t i = 0; i < d->cap; i++)
        if (d->set[i]) hll_add(d->hll, d->set[i]);
    hll_add(d->hll, h);
    free(d->set);
    d->set = NULL;
    d->n = d->cap = 0;
    return 0;
}

static int64_t distinct_count(const distinct_t *d) {
    return d->hll ? hll_estimate(d->hll) : (int64_t)d->n;
}

static void distinct_reset(distinct_t *d) {
    free(d->set);
    free(d->hll);
    memset(d, 0, sizeof *d);
}

/* --- random cut trees ---------------------------------------------------------------------- */

/* One tree over at most `sample` points of `dims` dimensions. Nodes live in arrays of 2 *
 * sample entries: a leaf holds a point (lo == hi) and how many sampled points equal it; an
 * internal node a cut (dim, value: x <= value goes left) and its subtree's bounding box. */
typedef struct {
    int32_t *left, *right, *parent, *dim, *mass;
    double *cut, *lo, *hi; /* lo/hi: nodes x dims */
    int32_t root, free_list;
    /* the time-decayed reservoir: (weight, leaf), a max-heap on weight */
    double *weight;
    int32_t *leaf;
    size_t nsample;
} rct_t;

typedef struct {
    size_t trees, sample, shingle, ncols, dims;
    double decay; /* timeDecay: a point's weight falls by e every timeDecay points */
    rct_t *t;
    double *shingle_buf; /* the last `shingle` rows' numeric values, oldest first */
    size_t rows;         /* rows seen */
    uint64_t points;     /* points inserted */
    double *scratch;     /* per-dim work: 4 x dims */
} rcf_t;

static int rct_init(rct_t *t, size_t sample, size_t dims) {
    size_t nodes = 2 * sample;
    memset(t, 0, sizeof *t);
    t->left = malloc(nodes * sizeof(int32_t));
    t->right = malloc(nodes * sizeof(int32_t));
    t->parent = malloc(nodes * sizeof(int32_t));
    t->dim = malloc(nodes * sizeof(int32_t));
    t->mass = malloc(nodes * sizeof(int32_t));
    t->cut = malloc(nodes * sizeof(double));
    t->lo = malloc(nodes * dims * sizeof(double));
    t->hi = malloc(nodes * dims * sizeof(double));
    t->weight = malloc((sample + 1) * sizeof(double));
    t->leaf = malloc((sample + 1) * sizeof(int32_t));
    if (!t->left || !t->right || !t->parent || !t->dim || !t->mass || !t->cut || !t->lo || !t->hi ||
        !t->weight || !t->leaf)
        return -1;
    t->root = -1;
    t->free_list = 0;
    for (size_t i = 0; i < nodes; i++)
        t->left[i] = i + 1 < nodes ? (int32_t)(i + 1) : -1; /* the free list runs through left */
    return 0;
}

static void rct_deinit(rct_t *t) {
    free(t->left);
    free(t->right);
    free(t->parent);
    free(t->dim);
    free(t->mass);
    free(t->cut);
    free(t->lo);
    free(t->hi);
    free(t->weight);
    free(t->leaf);
    memset(t, 0, sizeof *t);
    t->root = -1;
}

static int32_t rct_node(rct_t *t) {
    int32_t n = t->free_list;
    SL_ASSERT(n >= 0);
    t->free_list = t->left[n];
    return n;
}

static void rct_release(rct_t *t, int32_t n) {
    t->left[n] = t->free_list;
    t->free_list = n;
}

static bool rct_is_leaf(const rct_t *t, int32_t n) {
    return t->right[n] < 0;
}

/* Inserts point p; returns its leaf. */
static int32_t rct_insert(rct_t *t, size_t D, const double *p, uint64_t *rng) {
    if (t->root < 0) {
        int32_t n = rct_node(t);
        t->right[n] = -1;
        t->parent[n] = -1;
        t->mass[n] = 1;
        memcpy(&t->lo[n * D], p, D * sizeof *p);
        memcpy(&t->hi[n * D], p, D * sizeof *p);
        t->root = n;
        return n;
    }
    int32_t node = t->root;
    for (;;) {
        const double *lo = &t->lo[node * D], *hi = &t->hi[node * D];
        double total = 0;
        for (size_t d = 0; d < D; d++)
            total += fmax(hi[d], p[d]) - fmin(lo[d], p[d]);
        if (total <= 0) { /* the same point as this leaf */
            for (int32_t a = node; a >= 0; a = t->parent[a])
                t->mass[a]++;
            return node;
        }
        double r = rng_unit(rng) * total, c = 0;
        size_t dim = 0;
        for (dim = 0; dim < D; dim++) {
            double span = fmax(hi[dim], p[dim]) - fmin(lo[dim], p[dim]);
            if (r < span || dim == D - 1) {
                c = fmin(lo[dim], p[dim]) + fmin(r, span);
                break;
            }
            r -= span;
        }
        bool separates = (p[dim] < lo[dim] && c < lo[dim]) || (p[dim] > hi[dim] && c >= hi[dim]);
        if (!separates && rct_is_leaf(t, node)) {
            /* rounding put the cut on the leaf's point: cut at the lower of the two instead,
             * in a dimension where they differ (there is one: total > 0) */
            for (dim = 0; dim < D && p[dim] == lo[dim]; dim++)
                ;
            SL_ASSERT(dim < D);
            c = fmin(p[dim], lo[dim]);
            separates = true;
        }
        if (separates) {
            int32_t leaf = rct_node(t), in = rct_node(t);
            t->right[leaf] = -1;
            t->mass[leaf] = 1;
            memcpy(&t->lo[leaf * D], p, D * sizeof *p);
            memcpy(&t->hi[leaf * D], p, D * sizeof *p);
            bool p_left = p[dim] <= c;
            t->left[in] = p_left ? leaf : node;
            t->right[in] = p_left ? node : leaf;
            t->dim[in] = (int32_t)dim;
            t->cut[in] = c;
            t->mass[in] = t->mass[node] + 1;
            for (size_t d = 0; d < D; d++) {
                t->lo[in * D + d] = fmin(lo[d], p[d]);
                t->hi[in * D + d] = fmax(hi[d], p[d]);
            }
            int32_t par = t->parent[node];
            t->parent[in] = par;
            t->parent[node] = in;
            t->parent[leaf] = in;
            if (par < 0)
                t->root = in;
            else if (t->left[par] == node)
                t->left[par] = in;
            else
                t->right[par] = in;
            for (int32_t a = par; a >= 0; a = t->parent[a]) {
                t->mass[a]++;
                for (size_t d = 0; d < D; d++) {
                    t->lo[a * D + d] = fmin(t->lo[a * D + d], p[d]);
                    t->hi[a * D + d] = fmax(t->hi[a * D + d], p[d]);
                }
            }
            return leaf;
        }
        SL_ASSERT(!rct_is_leaf(t, node));
        node = p[t->dim[node]] <= t->cut[node] ? t->left[node] : t->right[node];
    }
}

/* Removes one point of `leaf`. */
static void rct_delete(rct_t *t, size_t D, int32_t leaf) {
    if (t->mass[leaf] > 1) {
        for (int32_t a = leaf; a >= 0; a = t->parent[a])
            t->mass[a]--;
        return;
    }
    int32_t par = t->parent[leaf];
    rct_release(t, leaf);
    if (par < 0) {
        t->root = -1;
        return;
    }
    int32_t sib = t->left[par] == leaf ? t->right[par] : t->left[par];
    int32_t gp = t->parent[par];
    t->parent[sib] = gp;
    rct_release(t, par);
    if (gp < 0) {
        t->root = sib;
        return;
    }
    if (t->left[gp] == par)
        t->left[gp] = sib;
    else
        t->right[gp] = sib;
    for (int32_t a = gp; a >= 0; a = t->parent[a]) {
        t->mass[a]--;
        int32_t l = t->left[a], r = t->right[a];
        for (size_t d = 0; d < D; d++) {
            t->lo[a * D + d] = fmin(t->lo[l * D + d], t->lo[r * D + d]);
            t->hi[a * D + d] = fmax(t->hi[l * D + d], t->hi[r * D + d]);
        }
    }
}

/* The anomaly score of p in one tree, and its attribution per dimension (high: p above the
 * box, low: below) when attr is given (2 x D). A point isolated at depth d scores 1 / (d + 1);
 * a point equal to a leaf of mass m at depth d scores 1 / (d + log2(m + 1)); on the way back up,
 * each node mixes in the probability that a random cut of the box grown by p separates p. The
 * result is scaled by log2(1 + sample) so typical points score about 1. */
static double rct_score(const rct_t *t, size_t D, const double *p, double *attr) {
    if (t->root < 0) return 0;
    int32_t path[2 * 1024 + 2];
    size_t depth = 0;
    int32_t node = t->root;
    while (!rct_is_leaf(t, node) && depth < SL_ARRAY_LEN(path) - 1) {
        path[depth++] = node;
        node = p[t->dim[node]] <= t->cut[node] ? t->left[node] : t->right[node];
    }
    const double *q = &t->lo[node * D];
    double gap = 0, s;
    for (size_t d = 0; d < D; d++)
        gap += fabs(p[d] - q[d]);
    if (attr) memset(attr, 0, 2 * D * sizeof *attr);
    if (gap <= 0) {
        s = 1.0 / ((double)depth + log2((double)t->mass[node] + 1));
        if (attr)
            for (size_t d = 0; d < 2 * D; d++)
                attr[d] = s / (double)(2 * D);
    } else {
        s = 1.0 / ((double)depth + 1);
        if (attr)
            for (size_t d = 0; d < D; d++)
                attr[p[d] > q[d] ? d : D + d] = s * fabs(p[d] - q[d]) / gap;
    }
    while (depth > 0) {
        node = path[--depth];
        const double *lo = &t->lo[node * D], *hi = &t->hi[node * D];
        double grown = 0, out = 0;
        for (size_t d = 0; d < D; d++) {
            grown += fmax(hi[d], p[d]) - fmin(lo[d], p[d]);
            out += fmax(0, p[d] - hi[d]) + fmax(0, lo[d] - p[d]);
        }
        if (grown <= 0 || out <= 0) continue;
        double prob = out / grown, unseen = 1.0 / ((double)depth + 1);
        s = prob * unseen + (1 - prob) * s;
        if (attr) {
            for (size_t d = 0; d < D; d++) {
                attr[d] = fmax(0, p[d] - hi[d]) / grown * unseen + (1 - prob) * attr[d];
                attr[D + d] = fmax(0, lo[d] - p[d]) / grown * unseen + (1 - prob) * attr[D + d];
            }
        }
    }
    return s;
}

static void reservoir_swap(rct_t *t, size_t a, size_t b) {
    double w = t->weight[a];
    int32_t l = t->leaf[a];
    t->weight[a] = t->weight[b];
    t->leaf[a] = t->leaf[b];
    t->weight[b] = w;
    t->leaf[b] = l;
}

static void reservoir_push(rct_t *t, double w, int32_t leaf) {
    size_t i = t->nsample++;
    t->weight[i] = w;
    t->leaf[i] = leaf;
    while (i > 0 && t->weight[(i - 1) / 2] < t->weight[i]) {
        reservoir_swap(t, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void reservoir_pop(rct_t *t) {
    t->nsample--;
    reservoir_swap(t, 0, t->nsample);
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->nsample && t->weight[l] > t->weight[m]) m = l;
        if (r < t->nsample && t->weight[r] > t->weight[m]) m = r;
        if (m == i) return;
        reservoir_swap(t, i, m);
        i = m;
    }
}

/* Offers the point to every tree's sample: a point of sequence number n gets the weight
 * log(-log u) - n / timeDecay and the sample keeps the `sample` smallest weights, which is
 * weighted reservoir sampling with weights growing by e every timeDecay points. */
static void rcf_update(rcf_t *f, const double *p, uint64_t *rng) {
    double age = (double)f->points / f->decay;
    for (size_t i = 0; i < f->trees; i++) {
        rct_t *t = &f->t[i];
        double w = log(-log(rng_unit(rng))) - age;
        if (t->nsample == f->sample) {
            if (w >= t->weight[0]) continue;
            int32_t old = t->leaf[0];
            reservoir_pop(t);
            rct_delete(t, f->dims, old);
        }
        int32_t leaf = rct_insert(t, f->dims, p, rng);
        reservoir_push(t, w, leaf);
    }
    f->points++;
}

/* --- HOTSPOTS ------------------------------------------------------------------------------ */

/* The window's points with DBSCAN's structure kept up to date as a point enters and the oldest
 * leaves, so that a row costs about the work near those two points, not a pass over the window:
 * a grid of cells of side scanRadius over the first (up to three) dimensions, each point's count
 * of neighbours within scanRadius (itself included; dense: at least minimumNumberOfPoints), and
 * the hotspots (clusters: the dense points connected through dense neighbours, with the points
 * next to them) with their counts and boxes. Points are window slots 0..window-1. */
typedef struct {
    int32_t head; /* first member (cnext chain), -1: free */
    int32_t count;
    bool box_dirty; /* a member on the box's edge left: recomputed before output */
} hot_cluster_t;

typedef struct {
    size_t window, min_points, dims;
    double radius;
    double *pts; /* ring of window x dims */
    size_t head, n;
    size_t g, nbuckets;      /* grid dimensions; buckets, a power of two >= 2 x window */
    int64_t *cell;           /* per slot: its cell (g coordinates) */
    int32_t *bucket, *gnext; /* cell chains */
    int32_t *nbr;            /* per slot: points within scanRadius, itself included */
    int32_t *cl;             /* per slot: its hotspot, -1: none */
    int32_t *cnext, *cprev;  /* per slot: the hotspot's member chain */
    hot_cluster_t *clusters; /* window entries */
    double *lo, *hi;         /* per hotspot: its box (dims each) */
    double *wlo, *whi;       /* the window's box */
    bool wbox_dirty;
    uint32_t *seen, epoch;          /* per slot: visited by the current search when == epoch */
    uint32_t *seed, seed_epoch;     /* per slot: a seed of the current removal */
    uint32_t *touched, touch_epoch; /* per hotspot: touched by the current removal */
    /* scratch, window entries each: neighbour lists, a search queue, the points that became or
     * stopped being dense, points to place again, seeds, one hotspot's seeds, touched hotspots */
    int32_t *near, *near2, *queue, *list, *lost, *cand, *seeds, *cseeds, *tlist;
} hot_t;

/* --- GROUP_RANK --------------------------------------------------------------------------- */

/* The rows of one ROWTIME, held until ROWTIME moves on or maxIdle passes (at most
 * SL_ANALYTICS_WINDOW_ROWS_MAX: a larger group is ranked in parts). */
typedef struct {
    bool desc, out_desc;
    int64_t max_idle, output_max;
    an_row_t **rows;
    size_t n, cap;
} rank_t;

/* --- the function -------------------------------------------------------------------------- */

struct an_udx {
    int kind;
    size_t nin;
    int col;           /* TOP_K, COUNT_DISTINCT: the column */
    int64_t window_ms; /* TOP_K, COUNT_DISTINCT */
    int64_t k;
    bool open;
    int64_t win_start;
    topk_t topk;
    distinct_t distinct;
    rcf_t rcf;
    bool directionality;
    hot_t hot;
    rank_t rank;
    int numeric[RCF_DIMS_MAX]; /* the numeric input columns (RCF, HOTSPOTS) */
    size_t nnumeric;
    const sl_sql_column_t *in;
    uint64_t rng, seed;
};

bool an_udx_known(const char *name) {
    for (size_t i = 0; i < SL_ARRAY_LEN(UDX_NAMES); i++)
        if (strcmp(name, UDX_NAMES[i]) == 0) return true;
    return false;
}

/* A literal argument: a number (possibly negative), a string, a boolean, or NULL. */
static bool lit_number(const sl_sql_expr_t *e, double *out, bool *is_null) {
    bool neg = false;
    *is_null = false;
    if (e->kind == SL_SQL_E_UNARY && e->op == SL_SQL_OP_NEG && e->args[0]->kind == SL_SQL_E_LIT) {
        neg = true;
        e = e->args[0];
    }
    if (e->kind != SL_SQL_E_LIT) return false;
    const sl_sql_value_t *v = &e->value;
    if (v->null) {
        *is_null = true;
        return true;
    }
    if (v->kind >= SL_SQL_TINYINT && v->kind <= SL_SQL_BIGINT)
        *out = (double)v->u.i;
    else if (v->kind >= SL_SQL_DECIMAL && v->kind <= SL_SQL_DOUBLE)
        *out = v->u.d;
    else
        return false;
    if (neg) *out = -*out;
    return true;
}

static bool is_numeric_input(int kind) {
    return (kind >= SL_SQL_TINYINT && kind <= SL_SQL_BIGINT) || kind == SL_SQL_REAL ||
           kind == SL_SQL_DOUBLE;
}

/* A numeric column's value as a coordinate: NULL, NaN and infinities count as 0 (a cut of an
 * infinite box, or a grid cell of NaN, means nothing). */
static double as_double(const sl_sql_value_t *v) {
    if (v->null) return 0;
    if (v->kind >= SL_SQL_TINYINT && v->kind <= SL_SQL_BIGINT) return (double)v->u.i;
    if (!isfinite(v->u.d)) return 0;
    /* beyond 1e100 only the sign matters: sums over 900 dimensions stay finite */
    return fmax(-1e100, fmin(1e100, v->u.d));
}

/* An integer parameter in [lo, hi], or its default when absent or NULL. */
static int int_param(const char *fn, const char *pname, sl_sql_expr_t *const *args, size_t nargs,
                     size_t i, int64_t def, int64_t lo, int64_t hi, int64_t *out, char *msg,
                     size_t cap) {
    *out = def;
    if (i >= nargs) {
        if (def >= 0) return 0;
        snprintf(msg, cap, "Invalid number of arguments to function '%s'", fn);
        return -1;
    }
    double x;
    bool null;
    if (!lit_number(args[i], &x, &null) || (null && def < 0)) {
        snprintf(msg, cap, "Parameter '%s' of %s must be a numeric literal", pname, fn);
        return -1;
    }
    if (null) return 0;
    if (x != floor(x) || x < (double)lo || x > (double)hi) {
        snprintf(msg, cap, "Parameter '%s' of %s must be an integer between %lld and %lld", pname,
                 fn, (long long)lo, (long long)hi);
        return -1;
    }
    *out = (int64_t)x;
    return 0;
}

static int column_param(const char *fn, sl_sql_expr_t *const *args, size_t nargs,
                        const sl_sql_column_t *in, size_t nin, int *col, char *msg, size_t cap) {
    if (nargs < 1 || args[0]->kind != SL_SQL_E_LIT || args[0]->value.null ||
        (args[0]->value.kind != SL_SQL_CHAR && args[0]->value.kind != SL_SQL_VARCHAR)) {
        snprintf(msg, cap, "The column name parameter of %s must be a string literal", fn);
        return -1;
    }
    const sl_sql_value_t *v = &args[0]->value;
    for (size_t i = 0; i < nin; i++)
        if (strlen(in[i].name) == v->u.s.len && memcmp(in[i].name, v->u.s.ptr, v->u.s.len) == 0) {
            *col = (int)i;
            return 0;
        }
    snprintf(msg, cap, "Column '%.*s' not found in the input of %s", (int)v->u.s.len, v->u.s.ptr,
             fn);
    return -1;
}

/* The numeric input columns (RCF, HOTSPOTS); DECIMAL is not among them, as on AWS. */
static int numeric_columns(an_udx_t *u, const char *fn, const sl_sql_column_t *in, size_t nin,
                           char *msg, size_t cap) {
    for (size_t i = 0; i < nin; i++) {
        if (!is_numeric_input(in[i].type.kind)) continue;
        if (u->nnumeric == RCF_DIMS_MAX) {
            snprintf(msg, cap, "%s accepts at most %d numeric columns", fn, RCF_DIMS_MAX);
            return -1;
        }
        u->numeric[u->nnumeric++] = (int)i;
    }
    if (!u->nnumeric) {
        snprintf(msg, cap,
                 "%s needs at least one numeric column (DOUBLE, INTEGER, FLOAT, TINYINT, "
                 "SMALLINT, REAL or BIGINT) in its input",
                 fn);
        return -1;
    }
    return 0;
}

static int out_columns(sl_arena_t *arena, const sl_sql_column_t *in, size_t nin,
                       const sl_sql_column_t *extra, size_t nextra, sl_sql_column_t **cols,
                       size_t *ncols) {
    sl_sql_column_t *c = sl_arena_calloc(arena, nin + nextra + 1, sizeof *c);
    if (!c) return -1;
    if (nin) memcpy(c, in, nin * sizeof *c);
    memcpy(c + nin, extra, nextra * sizeof *c);
    *cols = c;
    *ncols = nin + nextra;
    return 0;
}

/* --- HOTSPOTS: the window's structure, kept incrementally ----------------------------------- */

static void hot_free(hot_t *h) {
    free(h->pts);
    free(h->cell);
    free(h->bucket);
    free(h->gnext);
    free(h->nbr);
    free(h->cl);
    free(h->cnext);
    free(h->cprev);
    free(h->clusters);
    free(h->lo);
    free(h->wlo);
    free(h->seen);
    free(h->seed);
    free(h->touched);
    free(h->near);
}

/* Empties the window (the parameters stay). */
static void hot_clear(hot_t *h) {
    h->head = h->n = 0;
    for (size_t i = 0; i < h->nbuckets; i++)
        h->bucket[i] = -1;
    for (size_t c = 0; c < h->window; c++)
        h->clusters[c] = (hot_cluster_t){.head = -1};
    for (size_t i = 0; i < h->window; i++)
        h->cl[i] = -1;
    h->wbox_dirty = true;
}

static int hot_init(hot_t *h) {
    size_t W = h->window, D = h->dims;
    h->g = SL_MIN(D, (size_t)3);
    h->nbuckets = 1;
    while (h->nbuckets < 2 * W)
        h->nbuckets <<= 1;
    h->pts = calloc(W * D, sizeof(double));
    h->cell = calloc(W * h->g, sizeof(int64_t));
    h->bucket = calloc(h->nbuckets, sizeof(int32_t));
    h->gnext = calloc(W, sizeof(int32_t));
    h->nbr = calloc(W, sizeof(int32_t));
    h->cl = calloc(W, sizeof(int32_t));
    h->cnext = calloc(W, sizeof(int32_t));
    h->cprev = calloc(W, sizeof(int32_t));
    h->clusters = calloc(W, sizeof(hot_cluster_t));
    h->lo = calloc(2 * W * D, sizeof(double));
    h->wlo = calloc(2 * D, sizeof(double));
    h->seen = calloc(W, sizeof(uint32_t));
    h->seed = calloc(W, sizeof(uint32_t));
    h->touched = calloc(W, sizeof(uint32_t));
    h->near = calloc(9 * W, sizeof(int32_t));
    if (!h->pts || !h->cell || !h->bucket || !h->gnext || !h->nbr || !h->cl || !h->cnext ||
        !h->cprev || !h->clusters || !h->lo || !h->wlo || !h->seen || !h->seed || !h->touched ||
        !h->near)
        return -1;
    h->hi = h->lo + W * D;
    h->whi = h->wlo + D;
    int32_t **scratch[] = {&h->near2, &h->queue, &h->list,   &h->lost,
                           &h->cand,  &h->seeds, &h->cseeds, &h->tlist};
    for (size_t i = 0; i < SL_ARRAY_LEN(scratch); i++)
        *scratch[i] = h->near + (i + 1) * W;
    hot_clear(h);
    return 0;
}

#define HOT_PT(h, i) (&(h)->pts[(size_t)(i) * (h)->dims])

static size_t hot_bucket(const hot_t *h, const int64_t *c) {
    return hash_bytes(c, h->g * sizeof *c) & (h->nbuckets - 1);
}

/* The points within scanRadius of point i, i itself not included, into out; their number. */
static size_t hot_near(const hot_t *h, int32_t i, int32_t *out) {
    size_t ncells = 1, n = 0, D = h->dims, g = h->g;
    for (size_t d = 0; d < g; d++)
        ncells *= 3;
    const double *p = HOT_PT(h, i), r2 = h->radius * h->radius;
    const int64_t *ci = &h->cell[(size_t)i * g];
    for (size_t k = 0; k < ncells; k++) {
        int64_t c[3];
        size_t r = k;
        for (size_t d = 0; d < g; d++, r /= 3)
            c[d] = ci[d] + (int64_t)(r % 3) - 1;
        for (int32_t j = h->bucket[hot_bucket(h, c)]; j >= 0; j = h->gnext[j]) {
            if (j == i || memcmp(&h->cell[(size_t)j * g], c, g * sizeof *c) != 0) continue;
            const double *q = HOT_PT(h, j);
            double dist = 0;
            for (size_t d = 0; d < D && dist <= r2; d++)
                dist += (p[d] - q[d]) * (p[d] - q[d]);
            if (dist <= r2) out[n++] = j;
        }
    }
    return n;
}

/* A new stamp for marks: when the counter wraps, the old marks are cleared, so that one left
 * from 2^32 stamps ago is never taken for a current one. */
static void next_epoch(uint32_t *epoch, uint32_t *marks, size_t n) {
    if (++*epoch == 0) {
        memset(marks, 0, n * sizeof *marks);
        *epoch = 1;
    }
}

static bool hot_core(const hot_t *h, int32_t i) {
    return (size_t)h->nbr[i] >= h->min_points;
}

static void box_extend(double *lo, double *hi, const double *p, size_t D) {
    for (size_t d = 0; d < D; d++) {
        lo[d] = fmin(lo[d], p[d]);
        hi[d] = fmax(hi[d], p[d]);
    }
}

static bool box_on_edge(const double *lo, const double *hi, const double *p, size_t D) {
    for (size_t d = 0; d < D; d++)
        if (p[d] <= lo[d] || p[d] >= hi[d]) return true;
    return false;
}

static void hot_join(hot_t *h, int32_t i, int32_t c) {
    hot_cluster_t *k = &h->clusters[c];
    size_t D = h->dims;
    if (k->count == 0) {
        memcpy(&h->lo[(size_t)c * D], HOT_PT(h, i), D * sizeof(double));
        memcpy(&h->hi[(size_t)c * D], HOT_PT(h, i), D * sizeof(double));
        k->box_dirty = false;
    } else {
        box_extend(&h->lo[(size_t)c * D], &h->hi[(size_t)c * D], HOT_PT(h, i), D);
    }
    h->cl[i] = c;
    h->cprev[i] = -1;
    h->cnext[i] = k->head;
    if (k->head >= 0) h->cprev[k->head] = i;
    k->head = i;
    k->count++;
}

static void hot_leave(hot_t *h, int32_t i) {
    int32_t c = h->cl[i];
    if (c < 0) return;
    hot_cluster_t *k = &h->clusters[c];
    if (h->cprev[i] >= 0)
        h->cnext[h->cprev[i]] = h->cnext[i];
    else
        k->head = h->cnext[i];
    if (h->cnext[i] >= 0) h->cprev[h->cnext[i]] = h->cprev[i];
    h->cl[i] = -1;
    if (--k->count == 0)
        k->head = -1;
    else if (box_on_edge(&h->lo[(size_t)c * h->dims], &h->hi[(size_t)c * h->dims], HOT_PT(h, i),
                         h->dims))
        k->box_dirty = true;
}

static int32_t hot_new_cluster(hot_t *h) {
    for (size_t c = 0; c < h->window; c++)
        if (h->clusters[c].count == 0) return (int32_t)c;
    SL_ASSERT(!"more hotspots than points");
    return -1;
}

/* Moves every member of hotspot `from` into `to`. */
static void hot_merge(hot_t *h, int32_t from, int32_t to) {
    int32_t i = h->clusters[from].head;
    bool dirty = h->clusters[from].box_dirty || h->clusters[to].box_dirty;
    while (i >= 0) {
        int32_t nx = h->cnext[i];
        h->cl[i] = -1;
        hot_join(h, i, to);
        i = nx;
    }
    h->clusters[from] = (hot_cluster_t){.head = -1};
    h->clusters[to].box_dirty = dirty;
}

/* Point i just became dense (or entered dense): it joins, and so merges, the hotspots of its
 * dense neighbours, and takes its neighbours that belong to none. */
static void hot_absorb(hot_t *h, int32_t i) {
    size_t n = hot_near(h, i, h->near2);
    int32_t c = -1;
    for (size_t k = 0; k < n; k++) {
        int32_t j = h->near2[k], cj = h->cl[j];
        if (!hot_core(h, j) || cj < 0 || cj == c) continue;
        if (c < 0) {
            c = cj;
        } else if (h->clusters[cj].count > h->clusters[c].count) {
            hot_merge(h, c, cj);
            c = cj;
        } else {
            hot_merge(h, cj, c);
        }
    }
    if (c < 0) c = hot_new_cluster(h);
    if (h->cl[i] != c) {
        hot_leave(h, i);
        hot_join(h, i, c);
    }
    for (size_t k = 0; k < n; k++)
        if (h->cl[h->near2[k]] < 0) hot_join(h, h->near2[k], c);
}

/* A point that is not dense belongs to the hotspot of a dense neighbour (`prefer` if it has one
 * there), or to none. */
static void hot_attach(hot_t *h, int32_t i, int32_t prefer) {
    size_t n = hot_near(h, i, h->near2);
    int32_t c = -1;
    for (size_t k = 0; k < n; k++) {
        int32_t j = h->near2[k];
        if (!hot_core(h, j) || h->cl[j] < 0) continue;
        if (c < 0 || h->cl[j] == prefer) c = h->cl[j];
        if (c == prefer) break;
    }
    if (c == h->cl[i]) return;
    hot_leave(h, i);
    if (c >= 0) hot_join(h, i, c);
}

static void hot_insert(hot_t *h, int32_t s) {
    size_t g = h->g;
    const double *p = HOT_PT(h, s);
    for (size_t d = 0; d < g; d++)
        h->cell[(size_t)s * g + d] = (int64_t)fmax(-4e18, fmin(4e18, floor(p[d] / h->radius)));
    size_t b = hot_bucket(h, &h->cell[(size_t)s * g]);
    h->gnext[s] = h->bucket[b];
    h->bucket[b] = s;
    h->cl[s] = -1;
    size_t n = hot_near(h, s, h->near);
    h->nbr[s] = (int32_t)n + 1;
    size_t ngained = 0;
    for (size_t k = 0; k < n; k++) {
        int32_t j = h->near[k];
        if ((size_t)++h->nbr[j] == h->min_points) h->list[ngained++] = j;
    }
    if (hot_core(h, s)) h->list[ngained++] = s;
    for (size_t k = 0; k < ngained; k++)
        hot_absorb(h, h->list[k]);
    if (h->cl[s] < 0 && !hot_core(h, s)) hot_attach(h, s, -1);
    if (!h->wbox_dirty) box_extend(h->wlo, h->whi, p, h->dims);
}

/* Are the seeds (marked with seed_epoch) of hotspot c still connected through dense points?
 * A search from the first, expanding the seeds it reaches first, until it has reached them all. */
static bool hot_connected(hot_t *h, const int32_t *seeds, size_t nseeds) {
    if (nseeds < 2) return true;
    next_epoch(&h->epoch, h->seen, h->window);
    size_t qh = 0, qt = 0, reached = 1, sh = 0, st = 0;
    int32_t *sq = h->list; /* the seeds reached, expanded first */
    h->seen[seeds[0]] = h->epoch;
    sq[st++] = seeds[0];
    while (reached < nseeds && (sh < st || qh < qt)) {
        int32_t i = sh < st ? sq[sh++] : h->queue[qh++];
        size_t n = hot_near(h, i, h->near2);
        for (size_t k = 0; k < n; k++) {
            int32_t j = h->near2[k];
            if (h->seen[j] == h->epoch || !hot_core(h, j)) continue;
            h->seen[j] = h->epoch;
            if (h->seed[j] == h->seed_epoch) {
                reached++;
                sq[st++] = j;
            } else {
                h->queue[qt++] = j;
            }
        }
    }
    return reached == nseeds;
}

/* Hotspot c may have split: its members are placed again, as a fresh DBSCAN pass over them. */
static void hot_rebuild(hot_t *h, int32_t c) {
    size_t n = 0;
    int32_t *members = h->near; /* the caller is done with near */
    for (int32_t i = h->clusters[c].head; i >= 0; i = h->cnext[i])
        members[n++] = i;
    for (size_t k = 0; k < n; k++)
        h->cl[members[k]] = -1;
    h->clusters[c] = (hot_cluster_t){.head = -1};
    for (size_t k = 0; k < n; k++) {
        int32_t s = members[k];
        if (h->cl[s] >= 0 || !hot_core(h, s)) continue;
        int32_t id = hot_new_cluster(h);
        size_t qh = 0, qt = 0;
        hot_join(h, s, id);
        h->queue[qt++] = s;
        while (qh < qt) {
            int32_t i = h->queue[qh++];
            size_t m = hot_near(h, i, h->near2);
            for (size_t x = 0; x < m; x++) {
                int32_t j = h->near2[x];
                if (h->cl[j] >= 0) continue;
                hot_join(h, j, id);
                if (hot_core(h, j)) h->queue[qt++] = j;
            }
        }
    }
    for (size_t k = 0; k < n; k++)
        if (h->cl[members[k]] < 0) hot_attach(h, members[k], -1);
}

/* The oldest point q leaves: its neighbours' counts drop; where a dense point is lost (q, or a
 * neighbour now below the minimum) its hotspot is split only if the dense points next to the lost
 * ones (the seeds) no longer reach each other, and the points that were next to a lost one are
 * placed again. */
static void hot_remove(hot_t *h, int32_t q) {
    int32_t *link = &h->bucket[hot_bucket(h, &h->cell[(size_t)q * h->g])];
    while (*link != q)
        link = &h->gnext[*link];
    *link = h->gnext[q];
    size_t n = hot_near(h, q, h->near), nlost = 0;
    for (size_t k = 0; k < n; k++) {
        int32_t j = h->near[k];
        if ((size_t)h->nbr[j]-- == h->min_points) h->lost[nlost++] = j;
    }
    bool q_core = hot_core(h, q);
    int32_t qc = h->cl[q];
    if (!h->wbox_dirty && box_on_edge(h->wlo, h->whi, HOT_PT(h, q), h->dims)) h->wbox_dirty = true;
    hot_leave(h, q);
    if (!q_core && !nlost) return; /* no dense point lost: every hotspot stands */
    /* the seeds and the points to place again, from the neighbourhoods of the lost points */
    next_epoch(&h->seed_epoch, h->seed, h->window);
    next_epoch(&h->epoch, h->seen, h->window);
    size_t nseeds = 0, ncand = 0;
    for (size_t l = 0; l <= nlost; l++) {
        const int32_t *nb = h->near;
        size_t m = n;
        if (l < nlost) {
            h->cand[ncand++] = h->lost[l];
            h->seen[h->lost[l]] = h->epoch;
            m = hot_near(h, h->lost[l], h->near2);
            nb = h->near2;
        } else if (!q_core) {
            break;
        }
        for (size_t k = 0; k < m; k++) {
            int32_t j = nb[k];
            if (hot_core(h, j)) {
                if (h->seed[j] != h->seed_epoch) {
                    h->seed[j] = h->seed_epoch;
                    h->seeds[nseeds++] = j;
                }
            } else if (h->seen[j] != h->epoch) {
                h->seen[j] = h->epoch;
                h->cand[ncand++] = j;
            }
        }
    }
    /* the hotspots that lost a dense point: split where their seeds no longer connect */
    next_epoch(&h->touch_epoch, h->touched, h->window);
    size_t ntouched = 0;
    for (size_t l = 0; l <= nlost; l++) {
        int32_t c = l < nlost ? h->cl[h->lost[l]] : q_core ? qc : -1;
        if (c < 0 || h->touched[c] == h->touch_epoch) continue;
        h->touched[c] = h->touch_epoch;
        h->tlist[ntouched++] = c;
    }
    for (size_t t = 0; t < ntouched; t++) {
        int32_t c = h->tlist[t];
        size_t ncs = 0;
        for (size_t k = 0; k < nseeds; k++)
            if (h->cl[h->seeds[k]] == c) h->cseeds[ncs++] = h->seeds[k];
        if (h->clusters[c].count && (ncs == 0 || !hot_connected(h, h->cseeds, ncs)))
            hot_rebuild(h, c);
    }
    for (size_t k = 0; k < ncand; k++)
        if (!hot_core(h, h->cand[k])) hot_attach(h, h->cand[k], h->cl[h->cand[k]]);
}

/* The boxes that a departure left stale, found again from their members. */
static void hot_boxes(hot_t *h) {
    size_t D = h->dims;
    if (h->wbox_dirty) {
        for (size_t d = 0; d < D; d++) {
            h->wlo[d] = INFINITY;
            h->whi[d] = -INFINITY;
        }
        for (size_t i = 0; i < h->n; i++)
            box_extend(h->wlo, h->whi, HOT_PT(h, (h->head + i) % h->window), D);
        h->wbox_dirty = false;
    }
    for (size_t c = 0; c < h->window; c++) {
        hot_cluster_t *k = &h->clusters[c];
        if (!k->count || !k->box_dirty) continue;
        double *lo = &h->lo[c * D], *hi = &h->hi[c * D];
        memcpy(lo, HOT_PT(h, k->head), D * sizeof(double));
        memcpy(hi, lo, D * sizeof(double));
        for (int32_t i = h->cnext[k->head]; i >= 0; i = h->cnext[i])
            box_extend(lo, hi, HOT_PT(h, i), D);
        k->box_dirty = false;
    }
}

int an_udx_plan(const char *name, sl_sql_expr_t *const *args, size_t nargs,
                const sl_sql_column_t *in, size_t nin, sl_arena_t *arena, an_udx_t **out,
                sl_sql_column_t **cols, size_t *ncols, char *msg, size_t cap) {
    int kind = -1;
    for (size_t i = 0; i < SL_ARRAY_LEN(UDX_NAMES); i++)
        if (strcmp(name, UDX_NAMES[i]) == 0) kind = (int)i;
    if (kind < 0) {
        snprintf(msg, cap, "No match found for function signature %s", name);
        return -1;
    }
    an_udx_t *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    u->kind = kind;
    u->nin = nin;
    u->in = in;
    u->rng = u->seed = hash_bytes(name, strlen(name));
    int64_t x;
    switch (kind) {
    case UDX_TOPK: {
        if (nargs != 3) {
            snprintf(msg, cap, "Invalid number of arguments to function '%s'", name);
            goto fail;
        }
        if (column_param(name, args, nargs, in, nin, &u->col, msg, cap) ||
            int_param(name, "K", args, nargs, 1, -1, 1, 100000, &u->k, msg, cap) ||
            int_param(name, "windowSize", args, nargs, 2, -1, 1, 3600, &x, msg, cap))
            goto fail;
        u->window_ms = x * 1000;
        /* Space-Saving is exact while the distinct values fit its counters */
        u->topk.max = (size_t)SL_MIN(SL_MAX(u->k * 4, 4096), SL_ANALYTICS_WINDOW_GROUPS_MAX);
        sl_sql_column_t extra[] = {{"ITEM", {.kind = SL_SQL_VARCHAR, .len = ITEM_TEXT_MAX}},
                                   {"ITEM_COUNT", {.kind = SL_SQL_BIGINT}}};
        if (out_columns(arena, NULL, 0, extra, 2, cols, ncols)) goto oom;
        break;
    }
    case UDX_DISTINCT: {
        if (nargs != 2) {
            snprintf(msg, cap, "Invalid number of arguments to function '%s'", name);
            goto fail;
        }
        if (column_param(name, args, nargs, in, nin, &u->col, msg, cap) ||
            int_param(name, "windowSize", args, nargs, 1, -1, 1, 3600, &x, msg, cap))
            goto fail;
        u->window_ms = x * 1000;
        sl_sql_column_t extra[] = {{"NUMBER_OF_DISTINCT_ITEMS", {.kind = SL_SQL_BIGINT}}};
        if (out_columns(arena, NULL, 0, extra, 1, cols, ncols)) goto oom;
        break;
    }
    case UDX_RCF:
    case UDX_RCF_EXPL: {
        int64_t trees, sample, decay, shingle, dir = 0;
        size_t max = kind == UDX_RCF ? 4 : 5;
        if (nargs > max) {
            snprintf(msg, cap, "Invalid number of arguments to function '%s'", name);
            goto fail;
        }
        if (numeric_columns(u, name, in, nin, msg, cap) ||
            int_param(name, "numberOfTrees", args, nargs, 0, 100, 1, 1000, &trees, msg, cap) ||
            int_param(name, "subSampleSize", args, nargs, 1, 256, 10, 1000, &sample, msg, cap) ||
            int_param(name, "timeDecay", args, nargs, 2, 100000, 1, 2147483647, &decay, msg, cap) ||
            int_param(name, "shingleSize", args, nargs, 3, 1, 1, 30, &shingle, msg, cap))
            goto fail;
        if (nargs == 5) {
            const sl_sql_expr_t *b = args[4];
            if (b->kind != SL_SQL_E_LIT || (!b->value.null && b->value.kind != SL_SQL_BOOLEAN)) {
                snprintf(msg, cap, "Parameter 'withDirectionality' of %s must be TRUE or FALSE",
                         name);
                goto fail;
            }
            dir = !b->value.null && b->value.u.b;
        }
        if (sample >= decay) {
            snprintf(msg, cap, "Parameter 'subSampleSize' of %s must be less than 'timeDecay'",
                     name);
            goto fail;
        }
        size_t dims = u->nnumeric * (size_t)shingle;
        if ((uint64_t)trees * (uint64_t)sample * dims > SL_ANALYTICS_RCF_CELLS_MAX) {
            snprintf(msg, cap,
                     "%s would hold more than %d values (numberOfTrees x subSampleSize x numeric "
                     "columns x shingleSize)",
                     name, SL_ANALYTICS_RCF_CELLS_MAX);
            goto fail;
        }
        u->directionality = dir;
        rcf_t *f = &u->rcf;
        f->trees = (size_t)trees;
        f->sample = (size_t)sample;
        f->decay = (double)decay;
        f->shingle = (size_t)shingle;
        f->ncols = u->nnumeric;
        f->dims = dims;
        f->t = calloc(f->trees, sizeof *f->t);
        f->shingle_buf = calloc(dims, sizeof(double));
        f->scratch = calloc(4 * dims + 1, sizeof(double));
        if (!f->t || !f->shingle_buf || !f->scratch) goto oom;
        for (size_t i = 0; i < f->trees; i++)
            if (rct_init(&f->t[i], f->sample, dims)) goto oom;
        sl_sql_column_t extra[] = {{"ANOMALY_SCORE", {.kind = SL_SQL_DOUBLE}},
                                   {"ANOMALY_EXPLANATION", {.kind = SL_SQL_VARCHAR, .len = 20480}}};
        if (out_columns(arena, in, nin, extra, kind == UDX_RCF ? 1 : 2, cols, ncols)) goto oom;
        break;
    }
    case UDX_HOTSPOTS: {
        if (nargs != 3) {
            snprintf(msg, cap, "Invalid number of arguments to function '%s'", name);
            goto fail;
        }
        int64_t window, minpts;
        double radius;
        bool null;
        if (numeric_columns(u, name, in, nin, msg, cap) ||
            int_param(name, "windowSize", args, nargs, 0, -1, 100, 1000, &window, msg, cap))
            goto fail;
        if (!lit_number(args[1], &radius, &null) || null || !(radius > 0)) {
            snprintf(msg, cap, "Parameter 'scanRadius' of %s must be a number greater than 0",
                     name);
            goto fail;
        }
        if (int_param(name, "minimumNumberOfPointsInAHotspot", args, nargs, 2, -1, 2, window,
                      &minpts, msg, cap))
            goto fail;
        hot_t *h = &u->hot;
        h->window = (size_t)window;
        h->min_points = (size_t)minpts;
        h->radius = radius;
        h->dims = u->nnumeric;
        if (hot_init(h)) goto oom;
        sl_sql_column_t extra[] = {{"HOTSPOTS_RESULT", {.kind = SL_SQL_VARCHAR, .len = 10000}}};
        if (out_columns(arena, in, nin, extra, 1, cols, ncols)) goto oom;
        break;
    }
    case UDX_GROUP_RANK: {
        if (nargs != 6) {
            snprintf(msg, cap, "Invalid number of arguments to function '%s'", name);
            goto fail;
        }
        if (column_param(name, args, nargs, in, nin, &u->col, msg, cap)) goto fail;
        int k = in[u->col].type.kind;
        if (!(k >= SL_SQL_TINYINT && k <= SL_SQL_BIGINT) && k != SL_SQL_CHAR &&
            k != SL_SQL_VARCHAR) {
            snprintf(msg, cap,
                     "The column '%s' ranked by %s must be INTEGER, CHAR or VARCHAR (or another "
                     "integer type)",
                     in[u->col].name, name);
            goto fail;
        }
        const sl_sql_value_t *lit[3];
        static const char *const pnames[] = {"rankOutColumnName", "sortOrder", "outputOrder"};
        for (size_t i = 0; i < 3; i++) {
            const sl_sql_expr_t *a = args[i + 1];
            if (a->kind != SL_SQL_E_LIT || a->value.null ||
                (a->value.kind != SL_SQL_CHAR && a->value.kind != SL_SQL_VARCHAR) ||
                a->value.u.s.len == 0 || a->value.u.s.len > SL_ANALYTICS_IDENT_MAX_CHARS) {
                snprintf(msg, cap, "Parameter '%s' of %s must be a string literal", pnames[i],
                         name);
                goto fail;
            }
            lit[i] = &a->value;
            if (i == 0) continue;
            bool asc = lit[i]->u.s.len == 3 && strncasecmp(lit[i]->u.s.ptr, "asc", 3) == 0;
            bool desc = lit[i]->u.s.len == 4 && strncasecmp(lit[i]->u.s.ptr, "desc", 4) == 0;
            if (!asc && !desc) {
                snprintf(msg, cap, "Parameter '%s' of %s must be 'asc' or 'desc'", pnames[i], name);
                goto fail;
            }
            if (i == 1)
                u->rank.desc = desc;
            else
                u->rank.out_desc = desc;
        }
        const char *rname = sl_arena_strndup(arena, lit[0]->u.s.ptr, lit[0]->u.s.len);
        if (!rname) goto oom;
        for (size_t i = 0; i < nin; i++)
            if (strcmp(in[i].name, rname) == 0) {
                snprintf(msg, cap,
                         "Parameter 'rankOutColumnName' of %s names the input column '%s'", name,
                         rname);
                goto fail;
            }
        if (int_param(name, "maxIdle", args, nargs, 4, -1, 0, INT32_MAX, &u->rank.max_idle, msg,
                      cap) ||
            int_param(name, "outputMax", args, nargs, 5, -1, 0, INT32_MAX, &u->rank.output_max, msg,
                      cap))
            goto fail;
        sl_sql_column_t extra[] = {{rname, {.kind = SL_SQL_INTEGER}}};
        if (out_columns(arena, in, nin, extra, 1, cols, ncols)) goto oom;
        break;
    }
    default:
        break;
    }
    *out = u;
    return 0;
oom:
    snprintf(msg, cap, "out of memory");
fail:
    an_udx_free(u);
    return -1;
}

void an_udx_free(an_udx_t *u) {
    if (!u) return;
    topk_reset(&u->topk);
    distinct_reset(&u->distinct);
    if (u->rcf.t)
        for (size_t i = 0; i < u->rcf.trees; i++)
            rct_deinit(&u->rcf.t[i]);
    free(u->rcf.t);
    free(u->rcf.shingle_buf);
    free(u->rcf.scratch);
    hot_free(&u->hot);
    for (size_t i = 0; i < u->rank.n; i++)
        free(u->rank.rows[i]);
    free(u->rank.rows);
    free(u);
}

void an_udx_reset(an_udx_t *u) {
    u->rng = u->seed;
    u->open = false;
    topk_reset(&u->topk);
    distinct_reset(&u->distinct);
    rcf_t *f = &u->rcf;
    for (size_t i = 0; f->t && i < f->trees; i++) {
        rct_deinit(&f->t[i]);
        if (rct_init(&f->t[i], f->sample, f->dims)) rct_deinit(&f->t[i]);
    }
    if (f->shingle_buf) memset(f->shingle_buf, 0, f->dims * sizeof(double));
    f->rows = 0;
    f->points = 0;
    if (u->kind == UDX_HOTSPOTS) hot_clear(&u->hot);
    for (size_t i = 0; i < u->rank.n; i++)
        free(u->rank.rows[i]);
    u->rank.n = 0;
}

/* --- tumbling sketches --------------------------------------------------------------------- */

static void vtext(sl_sql_value_t *v, const char *s, size_t len) {
    memset(v, 0, sizeof *v);
    v->kind = SL_SQL_VARCHAR;
    v->u.s.ptr = s;
    v->u.s.len = (uint32_t)len;
}

/* Emits the open window's result at its end and forgets it. */
static void window_close(an_udx_t *u, sl_arena_t *tmp, an_udx_emit_fn emit, void *ctx) {
    if (!u->open) return;
    int64_t end = u->win_start + u->window_ms;
    u->open = false;
    if (u->kind == UDX_DISTINCT) {
        sl_sql_value_t v = {.kind = SL_SQL_BIGINT};
        v.u.i = distinct_count(&u->distinct);
        distinct_reset(&u->distinct);
        emit(ctx, end, &v, 1);
        return;
    }
    topk_t *t = &u->topk;
    ss_counter_t **order = malloc((t->n + 1) * sizeof *order);
    if (order) {
        for (size_t i = 0; i < t->n; i++)
            order[i] = &t->c[i];
        qsort(order, t->n, sizeof *order, cmp_counters);
        for (size_t i = 0; i < t->n && i < (size_t)u->k; i++) {
            sl_sql_value_t v[2];
            char *s = sl_arena_strndup(tmp, order[i]->item, order[i]->len);
            if (!s) break;
            vtext(&v[0], s, order[i]->len);
            memset(&v[1], 0, sizeof v[1]);
            v[1].kind = SL_SQL_BIGINT;
            v[1].u.i = order[i]->count;
            emit(ctx, end, v, 2);
        }
        free(order);
    }
    topk_reset(t);
}

static void tumbling_row(an_udx_t *u, int64_t rowtime, const sl_sql_value_t *v, sl_arena_t *tmp,
                         an_udx_emit_fn emit, void *ctx) {
    if (u->open && rowtime >= u->win_start + u->window_ms) window_close(u, tmp, emit, ctx);
    if (!u->open) {
        /* windows are aligned to the epoch, as STEP(ROWTIME BY INTERVAL ...) is */
        int64_t w = u->window_ms;
        u->win_start = rowtime >= 0 ? rowtime / w * w : -((-rowtime + w - 1) / w) * w;
        u->open = true;
    }
    const sl_sql_value_t *x = &v[u->col];
    if (x->null) return; /* NULLs are not items */
    char buf[ITEM_TEXT_MAX + 1];
    size_t len;
    if (x->kind == SL_SQL_CHAR || x->kind == SL_SQL_VARCHAR) {
        len = SL_MIN(x->u.s.len, (uint32_t)ITEM_TEXT_MAX);
        memcpy(buf, x->u.s.ptr, len);
    } else {
        len = sl_an_value_format(x, 0, buf, sizeof buf);
    }
    if (u->kind == UDX_DISTINCT)
        distinct_add(&u->distinct, hash_bytes(buf, len));
    else
        topk_add(&u->topk, buf, len, 1, 0);
}

/* --- RCF and HOTSPOTS: one output row per input row ---------------------------------------- */

static const char *fmt_num(sl_arena_t *tmp, double x) {
    return sl_arena_sprintf(tmp, "%.6g", x);
}

static void rcf_row(an_udx_t *u, int64_t rowtime, const sl_sql_value_t *v, size_t n,
                    sl_arena_t *tmp, an_udx_emit_fn emit, void *ctx) {
    rcf_t *f = &u->rcf;
    size_t C = f->ncols, D = f->dims;
    /* shift the shingle and append this row's numeric values */
    memmove(f->shingle_buf, f->shingle_buf + C, (D - C) * sizeof(double));
    for (size_t c = 0; c < C; c++)
        f->shingle_buf[D - C + c] = as_double(&v[u->numeric[c]]);
    f->rows++;
    double score = 0;
    double *attr = f->scratch, *acc = f->scratch + 2 * D;
    bool explain = u->kind == UDX_RCF_EXPL;
    memset(acc, 0, 2 * D * sizeof *acc);
    if (f->rows >= f->shingle) {
        if (f->points >= f->sample) { /* scores are 0 while the samples fill */
            double norm = log2(1.0 + (double)f->sample);
            for (size_t i = 0; i < f->trees; i++) {
                score += rct_score(&f->t[i], D, f->shingle_buf, explain ? attr : NULL);
                if (explain)
                    for (size_t d = 0; d < 2 * D; d++)
                        acc[d] += attr[d];
            }
            score = score * norm / (double)f->trees;
            for (size_t d = 0; d < 2 * D; d++)
                acc[d] = acc[d] * norm / (double)f->trees;
        }
        rcf_update(f, f->shingle_buf, &u->rng);
    }
    sl_sql_value_t *out = sl_arena_calloc(tmp, n + 3, sizeof *out);
    if (!out) return;
    memcpy(out, v, SL_MIN(n, u->nin) * sizeof *out);
    out[u->nin].kind = SL_SQL_DOUBLE;
    out[u->nin].u.d = score;
    if (explain) {
        /* per column: the attributions of its value in every shingle position */
        sl_buf_t b = SL_BUF_INIT;
        sl_buf_append_byte(&b, '{');
        for (size_t c = 0; c < C; c++) {
            double high = 0, low = 0;
            for (size_t s = 0; s < f->shingle; s++) {
                high += acc[s * C + c];
                low += acc[D + s * C + c];
            }
            sl_buf_printf(&b, "%s\"%s\":{", c ? "," : "", u->in[u->numeric[c]].name);
            if (u->directionality)
                sl_buf_printf(&b, "\"DIRECTION\":\"%s\",\"STRENGTH\":\"%s\",",
                              high >= low ? "HIGH" : "LOW", fmt_num(tmp, fabs(high - low)));
            sl_buf_printf(&b, "\"ATTRIBUTION_SCORE\":\"%s\"}", fmt_num(tmp, high + low));
        }
        sl_buf_append_byte(&b, '}');
        char *s = sl_buf_failed(&b) ? NULL : sl_arena_strndup(tmp, b.data, b.len);
        if (s)
            vtext(&out[u->nin + 1], s, b.len);
        else
            out[u->nin + 1] = (sl_sql_value_t){.kind = SL_SQL_VARCHAR, .null = true};
        sl_buf_free(&b);
    }
    emit(ctx, rowtime, out, u->nin + (explain ? 2 : 1));
}

static void hot_row(an_udx_t *u, int64_t rowtime, const sl_sql_value_t *v, size_t n,
                    sl_arena_t *tmp, an_udx_emit_fn emit, void *ctx) {
    hot_t *h = &u->hot;
    size_t D = h->dims, W = h->window;
    size_t slot = (h->head + h->n) % W;
    if (h->n == W) {
        slot = h->head;
        hot_remove(h, (int32_t)slot);
        h->head = (h->head + 1) % W;
        h->n--;
    }
    for (size_t d = 0; d < D; d++)
        h->pts[slot * D + d] = as_double(&v[u->numeric[d]]);
    h->n++;
    hot_insert(h, (int32_t)slot);
    hot_boxes(h);
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_str(&b, "{\"hotspots\":[");
    /* the window's own box, for the relative density */
    double all = 1;
    for (size_t d = 0; d < D; d++)
        all *= fmax(h->whi[d] - h->wlo[d], h->radius);
    double base = (double)h->n / all;
    typedef struct {
        double density;
        int32_t c;
    } spot_t;
    size_t nspots = 0;
    spot_t *spots = NULL;
    for (size_t c = 0; c < W; c++) {
        const hot_cluster_t *k = &h->clusters[c];
        if (!k->count) continue;
        if (!spots) spots = sl_arena_alloc(tmp, W * sizeof *spots);
        if (!spots) goto done;
        double vol = 1;
        for (size_t d = 0; d < D; d++)
            vol *= fmax(h->hi[c * D + d] - h->lo[c * D + d], h->radius);
        spots[nspots++] = (spot_t){(double)k->count / vol / base, (int32_t)c};
    }
    /* densest first */
    for (size_t i = 1; i < nspots; i++)
        for (size_t j = i; j > 0 && spots[j].density > spots[j - 1].density; j--) {
            spot_t x = spots[j];
            spots[j] = spots[j - 1];
            spots[j - 1] = x;
        }
    for (size_t i = 0; i < nspots; i++) {
        size_t c = (size_t)spots[i].c;
        sl_buf_printf(&b, "%s{\"density\":%s,\"minValues\":[", i ? "," : "",
                      fmt_num(tmp, spots[i].density));
        for (size_t d = 0; d < D; d++)
            sl_buf_printf(&b, "%s%s", d ? "," : "", fmt_num(tmp, h->lo[c * D + d]));
        sl_buf_append_str(&b, "],\"maxValues\":[");
        for (size_t d = 0; d < D; d++)
            sl_buf_printf(&b, "%s%s", d ? "," : "", fmt_num(tmp, h->hi[c * D + d]));
        sl_buf_append_str(&b, "]}");
    }
done:
    sl_buf_append_str(&b, "]}");
    sl_sql_value_t *out = sl_arena_calloc(tmp, n + 2, sizeof *out);
    char *s = sl_buf_failed(&b) ? NULL : sl_arena_strndup(tmp, b.data, b.len);
    if (out) {
        memcpy(out, v, SL_MIN(n, u->nin) * sizeof *out);
        if (s)
            vtext(&out[u->nin], s, b.len);
        else
            out[u->nin] = (sl_sql_value_t){.kind = SL_SQL_VARCHAR, .null = true};
        emit(ctx, rowtime, out, u->nin + 1);
    }
    sl_buf_free(&b);
}

/* GROUP_RANK: sorts the held rows by the column (NULLs last, ties in arrival order), ranks them
 * as RANK() does (ties share a rank, the next rank skips), and emits up to outputMax of them in
 * the output order at `now` (the row or bound that completed the group: as a GROUP BY's rows,
 * they cannot go out before the time that closed them). */
static int cmp_rank_value(const an_udx_t *u, const an_row_t *a, const an_row_t *b) {
    const sl_sql_value_t *x = &a->v[u->col], *y = &b->v[u->col];
    if (x->null || y->null) return (int)x->null - (int)y->null;
    int c = an_compare(x, y);
    return u->rank.desc ? -c : c;
}

typedef struct {
    an_row_t *row;
    size_t seq; /* arrival */
} ranked_t;

static int cmp_ranked(const void *pa, const void *pb, void *arg) {
    const ranked_t *a = pa, *b = pb;
    int c = cmp_rank_value(arg, a->row, b->row);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

static void rank_flush(an_udx_t *u, int64_t now, sl_arena_t *tmp, an_udx_emit_fn emit, void *ctx) {
    rank_t *r = &u->rank;
    if (!r->n) return;
    int32_t *rank = sl_arena_alloc(tmp, r->n * sizeof *rank);
    ranked_t *sorted = sl_arena_alloc(tmp, r->n * sizeof *sorted);
    if (sorted) {
        for (size_t i = 0; i < r->n; i++)
            sorted[i] = (ranked_t){r->rows[i], i};
        qsort_r(sorted, r->n, sizeof *sorted, cmp_ranked, u);
        for (size_t i = 0; i < r->n; i++)
            r->rows[i] = sorted[i].row;
    }
    size_t limit = r->output_max ? SL_MIN((size_t)r->output_max, r->n) : r->n;
    for (size_t i = 0; rank && sorted && i < r->n; i++)
        rank[i] =
            i && cmp_rank_value(u, r->rows[i - 1], r->rows[i]) == 0 ? rank[i - 1] : (int32_t)i + 1;
    for (size_t k = 0; rank && sorted && k < limit; k++) {
        /* descending output: the last rank first, ties still in arrival order */
        size_t i = k;
        if (r->out_desc) {
            /* the k-th row from the end, mirrored within its ties */
            size_t hi = r->n - 1 - k;
            int32_t want = rank[hi];
            size_t lo = hi;
            while (lo > 0 && rank[lo - 1] == want)
                lo--;
            size_t last = hi;
            while (last + 1 < r->n && rank[last + 1] == want)
                last++;
            i = lo + (last - hi);
        }
        const an_row_t *row = r->rows[i];
        sl_sql_value_t *out = sl_arena_calloc(tmp, u->nin + 2, sizeof *out);
        if (!out) break;
        memcpy(out, row->v, u->nin * sizeof *out);
        out[u->nin].kind = SL_SQL_INTEGER;
        out[u->nin].u.i = rank[i];
        emit(ctx, now, out, u->nin + 1);
    }
    for (size_t i = 0; i < r->n; i++)
        free(r->rows[i]);
    r->n = 0;
}

static void rank_row(an_udx_t *u, int64_t rowtime, const sl_sql_value_t *v, sl_arena_t *tmp,
                     an_udx_emit_fn emit, void *ctx) {
    rank_t *r = &u->rank;
    if (r->n && (r->rows[0]->rowtime != rowtime || r->n >= SL_ANALYTICS_WINDOW_ROWS_MAX))
        rank_flush(u, rowtime, tmp, emit, ctx);
    an_row_t *row = an_row_copy(rowtime, v, u->nin);
    if (!row) return;
    if (an_udx_hold(u, row)) free(row);
}

int an_udx_hold(an_udx_t *u, an_row_t *row) {
    rank_t *r = &u->rank;
    if (u->kind != UDX_GROUP_RANK || row->n != u->nin || r->n >= SL_ANALYTICS_WINDOW_ROWS_MAX ||
        (r->n && r->rows[0]->rowtime != row->rowtime))
        return -1;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        an_row_t **g = realloc(r->rows, cap * sizeof *g);
        if (!g) return -1;
        r->rows = g;
        r->cap = cap;
    }
    r->rows[r->n++] = row;
    return 0;
}

bool an_udx_holds_rows(const an_udx_t *u) {
    return u->kind == UDX_GROUP_RANK;
}

size_t an_udx_held(const an_udx_t *u, an_row_t *const **rows) {
    *rows = u->rank.rows;
    return u->kind == UDX_GROUP_RANK ? u->rank.n : 0;
}

void an_udx_row(an_udx_t *u, int64_t rowtime, const sl_sql_value_t *v, size_t n, sl_arena_t *tmp,
                an_udx_emit_fn emit, void *ctx) {
    if (n < u->nin) return;
    switch (u->kind) {
    case UDX_TOPK:
    case UDX_DISTINCT:
        tumbling_row(u, rowtime, v, tmp, emit, ctx);
        break;
    case UDX_RCF:
    case UDX_RCF_EXPL:
        rcf_row(u, rowtime, v, n, tmp, emit, ctx);
        break;
    case UDX_HOTSPOTS:
        hot_row(u, rowtime, v, n, tmp, emit, ctx);
        break;
    case UDX_GROUP_RANK:
        rank_row(u, rowtime, v, tmp, emit, ctx);
        break;
    default:
        break;
    }
}

void an_udx_bound(an_udx_t *u, int64_t t, sl_arena_t *tmp, an_udx_emit_fn emit, void *ctx) {
    if ((u->kind == UDX_TOPK || u->kind == UDX_DISTINCT) && u->open &&
        t >= u->win_start + u->window_ms)
        window_close(u, tmp, emit, ctx);
    /* a group is complete when maxIdle has passed since its rows (0: no idle timeout) */
    if (u->kind == UDX_GROUP_RANK && u->rank.n && u->rank.max_idle &&
        t >= u->rank.rows[u->rank.n - 1]->rowtime + u->rank.max_idle)
        rank_flush(u, t, tmp, emit, ctx);
}

/* --- saved state --------------------------------------------------------------------------- */

int an_udx_save(const an_udx_t *u, sl_buf_t *out) {
    an_put_u64(out, (uint64_t)u->kind);
    an_put_u64(out, u->rng);
    an_put_u64(out, u->open);
    an_put_u64(out, (uint64_t)u->win_start);
    switch (u->kind) {
    case UDX_TOPK:
        an_put_u64(out, u->topk.n);
        for (size_t i = 0; i < u->topk.n; i++) {
            const ss_counter_t *c = &u->topk.c[i];
            an_put_bytes(out, c->item, c->len);
            an_put_u64(out, (uint64_t)c->count);
            an_put_u64(out, (uint64_t)c->error);
        }
        break;
    case UDX_DISTINCT:
        an_put_u64(out, u->distinct.hll != NULL);
        if (u->distinct.hll) {
            sl_buf_append(out, u->distinct.hll, HLL_REGS);
        } else {
            an_put_u64(out, u->distinct.n);
            for (size_t i = 0; i < u->distinct.cap; i++)
                if (u->distinct.set[i]) an_put_u64(out, u->distinct.set[i]);
        }
        break;
    case UDX_RCF:
    case UDX_RCF_EXPL: {
        /* the forest as its samples: each tree is rebuilt by inserting them again (the cuts
         * differ, the distribution of trees does not) */
        const rcf_t *f = &u->rcf;
        an_put_u64(out, f->rows);
        an_put_u64(out, f->points);
        for (size_t d = 0; d < f->dims; d++)
            an_put_f64(out, f->shingle_buf[d]);
        for (size_t i = 0; i < f->trees; i++) {
            const rct_t *t = &f->t[i];
            an_put_u64(out, t->nsample);
            for (size_t s = 0; s < t->nsample; s++) {
                an_put_f64(out, t->weight[s]);
                for (size_t d = 0; d < f->dims; d++)
                    an_put_f64(out, t->lo[(size_t)t->leaf[s] * f->dims + d]);
            }
        }
        break;
    }
    case UDX_HOTSPOTS:
        an_put_u64(out, u->hot.n);
        for (size_t i = 0; i < u->hot.n; i++)
            for (size_t d = 0; d < u->hot.dims; d++)
                an_put_f64(out, u->hot.pts[((u->hot.head + i) % u->hot.window) * u->hot.dims + d]);
        break;
    default:
        break;
    }
    return sl_buf_failed(out) ? SL_ENOMEM : 0;
}

int an_udx_restore(an_udx_t *u, const uint8_t **p, const uint8_t *end) {
    uint64_t kind, open, x;
    int64_t start;
    if (!an_get_u64(p, end, &kind) || kind != (uint64_t)u->kind || !an_get_u64(p, end, &u->rng) ||
        !an_get_u64(p, end, &open) || !an_get_i64(p, end, &start))
        return -1;
    if (open > 1 || start <= -((int64_t)1 << 52) || start >= ((int64_t)1 << 52)) return -1;
    u->open = open != 0;
    u->win_start = start;
    size_t n;
    switch (u->kind) {
    case UDX_TOPK:
        topk_reset(&u->topk);
        if (!an_get_count(p, end, 24, &n) || n > u->topk.max) return -1;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *item;
            size_t len;
            int64_t count, error;
            if (!an_get_bytes(p, end, &item, &len) || len > ITEM_TEXT_MAX ||
                !an_get_i64(p, end, &count) || !an_get_i64(p, end, &error) || count < 1 ||
                topk_add(&u->topk, (const char *)item, len, count, error))
                return -1;
        }
        break;
    case UDX_DISTINCT:
        distinct_reset(&u->distinct);
        if (!an_get_u64(p, end, &x)) return -1;
        if (x) {
            if ((size_t)(end - *p) < HLL_REGS) return -1;
            u->distinct.hll = malloc(HLL_REGS);
            if (!u->distinct.hll) return -1;
            memcpy(u->distinct.hll, *p, HLL_REGS);
            *p += HLL_REGS;
        } else {
            if (!an_get_count(p, end, 8, &n) || n > DISTINCT_EXACT_MAX) return -1;
            for (size_t i = 0; i < n; i++)
                if (!an_get_u64(p, end, &x) || set_insert(&u->distinct, x)) return -1;
        }
        break;
    case UDX_RCF:
    case UDX_RCF_EXPL: {
        rcf_t *f = &u->rcf;
        if (!an_get_count(p, end, 0, &f->rows) || !an_get_u64(p, end, &f->points)) return -1;
        for (size_t d = 0; d < f->dims; d++)
            if (!an_get_f64(p, end, &f->shingle_buf[d]) || !isfinite(f->shingle_buf[d])) return -1;
        double *pt = f->scratch;
        for (size_t i = 0; i < f->trees; i++) {
            rct_t *t = &f->t[i];
            rct_deinit(t);
            if (rct_init(t, f->sample, f->dims)) return -1;
            if (!an_get_count(p, end, 8 * (f->dims + 1), &n) || n > f->sample) return -1;
            for (size_t s = 0; s < n; s++) {
                double w;
                if (!an_get_f64(p, end, &w) || !isfinite(w)) return -1;
                for (size_t d = 0; d < f->dims; d++)
                    if (!an_get_f64(p, end, &pt[d]) || !(fabs(pt[d]) <= 1e100)) return -1;
                int32_t leaf = rct_insert(t, f->dims, pt, &u->rng);
                reservoir_push(t, w, leaf);
            }
        }
        break;
    }
    case UDX_HOTSPOTS:
        /* the points, oldest first; the structure over them is built again by inserting them
         * in order (a point next to two hotspots may then count in the other one) */
        hot_clear(&u->hot);
        if (!an_get_count(p, end, 8 * u->hot.dims, &n) || n > u->hot.window) return -1;
        for (size_t i = 0; i < n * u->hot.dims; i++)
            if (!an_get_f64(p, end, &u->hot.pts[i]) || !isfinite(u->hot.pts[i])) return -1;
        for (size_t i = 0; i < n; i++) {
            u->hot.n++;
            hot_insert(&u->hot, (int32_t)i);
        }
        break;
    case UDX_GROUP_RANK: /* the held rows follow, read by the checkpoint (an_udx_hold) */
        for (size_t i = 0; i < u->rank.n; i++)
            free(u->rank.rows[i]);
        u->rank.n = 0;
        break;
    default:
        break;
    }
    return 0;
}
