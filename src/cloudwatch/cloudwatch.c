/* The CloudWatch metrics store (cloudwatch.h). Memory: a hash table of metrics, each with its
 * 1-minute points sorted by time. The registry's metrics are sampled into the current minute at
 * each query and at each minute's end (deltas against the last sample); the writer thread then
 * appends the closed minute to the log. PutMetricData's data are appended when they arrive.
 *
 * Log frames: u32 payload length, u32 CRC32C of the payload, payload = i64 minute (ms), 4 f64
 * statistics (count, sum, min, max), u8 dimension count, then u16-length strings: unit, account,
 * namespace, name, and each dimension's name and value; then the minute's sketch (sketch.h): u8
 * 1, f64 count of zeros, u32 bucket count, and per bucket i32 key + f64 count (frames written
 * before sketches existed end after the strings, and their minutes have no percentiles). Replay
 * stops at the first bad frame (a torn append) and the file is rewritten with one frame per
 * point.
 *
 * Lock order: the store's mutex, then the registry's (sl_metrics_collect). */
#include "cloudwatch/cloudwatch.h"

#include "cloudwatch/sketch.h"

#include "core/buf.h"
#include "core/common.h"
#include "core/crc32c.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/time.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MINUTE_MS 60000
#define BUCKETS 4096

typedef struct {
    int64_t minute_ms;
    sl_cw_stats_t s;
    sl_cw_sketch_t sk; /* the minute's distribution; invalid: no percentiles */
} point_t;

typedef struct cw_metric {
    char *key; /* account, ns, name, sorted dimensions, separated by \x1f */
    char *account, *ns, *name, *unit;
    sl_cw_dim_t dims[SL_CW_DIMENSIONS_MAX];
    size_t dim_count;
    bool registry; /* fed by the registry: closed minutes are logged by the writer */
    point_t *points;
    size_t point_count, point_cap;
    struct cw_metric *next, *next_all;
} cw_metric_t;

/* The registry's last sample of one series, for deltas. */
typedef struct snap {
    char *key;
    double count, sum;
    struct snap *next;
} snap_t;

typedef struct job {
    sl_buf_t frames;
    void (*done)(void *, int);
    void *arg;
    struct job *next;
} job_t;

struct sl_cw {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cw_metric_t *buckets[BUCKETS];
    cw_metric_t *all; /* every metric, newest first */
    size_t metric_count;
    snap_t *snaps[BUCKETS];
    int64_t window_ms;
    int fd;
    char path[SL_DATA_SUBDIR_BYTES_MAX + 32];
    job_t *jobs, **jobs_tail;
    bool stop;
    pthread_t writer;
    bool started;
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static int dim_cmp(const void *a, const void *b) {
    return strcmp(((const sl_cw_dim_t *)a)->name, ((const sl_cw_dim_t *)b)->name);
}

/* The metric's key (malloc'd) with its dimensions sorted into `sorted`. */
static char *metric_key(const sl_cw_metric_t *m, sl_cw_dim_t *sorted) {
    size_t n = m->dim_count < SL_CW_DIMENSIONS_MAX ? m->dim_count : SL_CW_DIMENSIONS_MAX;
    memcpy(sorted, m->dims, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, dim_cmp);
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_printf(&b, "%s\x1f%s\x1f%s", m->account, m->ns, m->name);
    for (size_t i = 0; i < n; i++)
        sl_buf_printf(&b, "\x1f%s=%s", sorted[i].name, sorted[i].value);
    sl_buf_append_byte(&b, 0);
    if (sl_buf_failed(&b)) {
        sl_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static cw_metric_t *find(sl_cw_t *cw, const char *key) {
    for (cw_metric_t *m = cw->buckets[hash_str(key) % BUCKETS]; m; m = m->next)
        if (strcmp(m->key, key) == 0) return m;
    return NULL;
}

static void metric_free(cw_metric_t *m) {
    free(m->key);
    free(m->account);
    free(m->ns);
    free(m->name);
    free(m->unit);
    for (size_t i = 0; i < m->dim_count; i++) {
        free((char *)m->dims[i].name);
        free((char *)m->dims[i].value);
    }
    for (size_t i = 0; i < m->point_count; i++)
        sl_cw_sketch_free(&m->points[i].sk);
    free(m->points);
    free(m);
}

/* The metric `m` (found or created; caller holds mu), or NULL when out of memory or full. */
static cw_metric_t *metric_get(sl_cw_t *cw, const sl_cw_metric_t *id, const char *unit) {
    sl_cw_dim_t sorted[SL_CW_DIMENSIONS_MAX];
    char *key = metric_key(id, sorted);
    if (!key) return NULL;
    cw_metric_t *m = find(cw, key);
    if (m) {
        free(key);
        if (unit && strcmp(m->unit, unit) != 0) {
            char *u = strdup(unit);
            if (u) {
                free(m->unit);
                m->unit = u;
            }
        }
        return m;
    }
    if (cw->metric_count >= SL_CW_METRICS_MAX || !(m = calloc(1, sizeof *m))) {
        free(key);
        return NULL;
    }
    m->key = key;
    m->account = strdup(id->account);
    m->ns = strdup(id->ns);
    m->name = strdup(id->name);
    m->unit = strdup(unit ? unit : "None");
    bool ok = m->account && m->ns && m->name && m->unit;
    for (size_t i = 0; ok && i < id->dim_count && i < SL_CW_DIMENSIONS_MAX; i++) {
        m->dims[i].name = strdup(sorted[i].name);
        m->dims[i].value = strdup(sorted[i].value);
        m->dim_count = i + 1;
        ok = m->dims[i].name && m->dims[i].value;
    }
    if (!ok) {
        metric_free(m);
        return NULL;
    }
    cw_metric_t **b = &cw->buckets[hash_str(key) % BUCKETS];
    m->next = *b;
    *b = m;
    m->next_all = cw->all;
    cw->all = m;
    cw->metric_count++;
    return m;
}

static void stats_merge(sl_cw_stats_t *into, const sl_cw_stats_t *s) {
    if (into->count == 0) {
        *into = *s;
        return;
    }
    into->count += s->count;
    into->sum += s->sum;
    if (s->min < into->min) into->min = s->min;
    if (s->max > into->max) into->max = s->max;
}

/* Adds statistics and their distribution (NULL: unknown, so no percentiles) to the metric's
 * point of the minute of time_ms (caller holds mu). */
static int point_add(cw_metric_t *m, int64_t time_ms, const sl_cw_stats_t *s,
                     const sl_cw_sketch_t *sk) {
    int64_t minute = time_ms - ((time_ms % MINUTE_MS) + MINUTE_MS) % MINUTE_MS;
    size_t i = m->point_count;
    while (i > 0 && m->points[i - 1].minute_ms > minute)
        i--;
    if (i > 0 && m->points[i - 1].minute_ms == minute) {
        stats_merge(&m->points[i - 1].s, s);
        if (sk)
            sl_cw_sketch_merge(&m->points[i - 1].sk, sk);
        else
            m->points[i - 1].sk.invalid = true;
        return 0;
    }
    if (m->point_count == m->point_cap) {
        size_t cap = m->point_cap ? m->point_cap * 2 : 16;
        point_t *p = realloc(m->points, cap * sizeof *p);
        if (!p) return SL_ENOMEM;
        m->points = p;
        m->point_cap = cap;
    }
    memmove(&m->points[i + 1], &m->points[i], (m->point_count - i) * sizeof *m->points);
    m->points[i] = (point_t){.minute_ms = minute, .s = *s};
    if (sk)
        sl_cw_sketch_merge(&m->points[i].sk, sk);
    else
        m->points[i].sk.invalid = true;
    m->point_count++;
    return 0;
}

/* The distribution of one datum: its values (and counts), else a value repeated when every
 * sample had it (one sample, or minimum = maximum: CloudWatch's rule for StatisticValues), else
 * unknown (invalid). */
static void datum_sketch(const sl_cw_datum_t *d, sl_cw_sketch_t *sk) {
    *sk = (sl_cw_sketch_t){0};
    if (d->value_count) {
        for (size_t i = 0; i < d->value_count; i++)
            sl_cw_sketch_add(sk, d->values[i], d->counts ? d->counts[i] : 1);
    } else if (d->stats.count == 1 || d->stats.min == d->stats.max) {
        sl_cw_sketch_add(sk, d->stats.min, d->stats.count);
    } else {
        sk->invalid = true;
    }
}

/* ---- log frames ---- */

static void put_u16_str(sl_buf_t *b, const char *s) {
    size_t n = strlen(s);
    if (n > 65535) n = 65535;
    uint16_t l = (uint16_t)n;
    sl_buf_append(b, &l, 2);
    sl_buf_append(b, s, n);
}

static void frame(sl_buf_t *b, const cw_metric_t *m, int64_t minute_ms, const sl_cw_stats_t *s,
                  const sl_cw_sketch_t *sk) {
    sl_buf_t p = SL_BUF_INIT;
    sl_buf_append(&p, &minute_ms, 8);
    double v[4] = {s->count, s->sum, s->min, s->max};
    sl_buf_append(&p, v, sizeof v);
    uint8_t nd = (uint8_t)m->dim_count;
    sl_buf_append(&p, &nd, 1);
    put_u16_str(&p, m->unit);
    put_u16_str(&p, m->account);
    put_u16_str(&p, m->ns);
    put_u16_str(&p, m->name);
    for (size_t i = 0; i < m->dim_count; i++) {
        put_u16_str(&p, m->dims[i].name);
        put_u16_str(&p, m->dims[i].value);
    }
    uint8_t valid = !sk->invalid;
    sl_buf_append(&p, &valid, 1);
    if (valid) {
        sl_buf_append(&p, &sk->zero, 8);
        sl_buf_append(&p, &sk->n, 4);
        for (uint32_t i = 0; i < sk->n; i++) {
            sl_buf_append(&p, &sk->bins[i].key, 4);
            sl_buf_append(&p, &sk->bins[i].count, 8);
        }
    }
    if (sl_buf_failed(&p)) {
        b->failed = true;
    } else {
        uint32_t hdr[2] = {(uint32_t)p.len, sl_crc32c(0, p.data, p.len)};
        sl_buf_append(b, hdr, sizeof hdr);
        sl_buf_append(b, p.data, p.len);
    }
    sl_buf_free(&p);
}

static bool get_str(const uint8_t **p, const uint8_t *end, char *out, size_t cap) {
    if (end - *p < 2) return false;
    uint16_t l;
    memcpy(&l, *p, 2);
    *p += 2;
    if (end - *p < l || l >= cap) return false;
    memcpy(out, *p, l);
    out[l] = 0;
    *p += l;
    return true;
}

/* Replays one frame's payload into memory; false when it does not parse. */
static bool replay_frame(sl_cw_t *cw, const uint8_t *p, const uint8_t *end, int64_t oldest_ms) {
    if (end - p < 8 + 32 + 1) return false;
    int64_t minute;
    double v[4];
    memcpy(&minute, p, 8);
    memcpy(v, p + 8, sizeof v);
    uint8_t nd = p[40];
    p += 41;
    if (nd > SL_CW_DIMENSIONS_MAX) return false;
    static char text[4 + 2 * SL_CW_DIMENSIONS_MAX][1024];
    for (size_t i = 0; i < 4u + 2u * nd; i++)
        if (!get_str(&p, end, text[i], sizeof text[i])) return false;
    /* the sketch, when the frame has one */
    sl_cw_sketch_t sk = {.invalid = true};
    if (p < end) {
        uint32_t n;
        if (p[0] == 1 && end - p >= 13) {
            sk.invalid = false;
            memcpy(&sk.zero, p + 1, 8);
            memcpy(&n, p + 9, 4);
            p += 13;
            if (n > 2 * SL_CW_SKETCH_KEY_MAX + 1 || (size_t)(end - p) != (size_t)n * 12)
                return false;
            for (uint32_t i = 0; i < n; i++, p += 12) {
                int32_t key;
                double count;
                memcpy(&key, p, 4);
                memcpy(&count, p + 4, 8);
                if (key < -SL_CW_SKETCH_KEY_MAX || key > SL_CW_SKETCH_KEY_MAX) {
                    sl_cw_sketch_free(&sk);
                    return false;
                }
                sl_cw_bin_t bin = {key, count};
                sl_cw_sketch_t one = {.bins = &bin, .n = 1, .cap = 1};
                sl_cw_sketch_merge(&sk, &one);
            }
        } else if (p[0] != 0 || end - p != 1) {
            return false;
        }
    }
    if (minute < oldest_ms) {
        sl_cw_sketch_free(&sk);
        return true;
    }
    sl_cw_dim_t dims[SL_CW_DIMENSIONS_MAX];
    for (size_t i = 0; i < nd; i++)
        dims[i] = (sl_cw_dim_t){text[4 + 2 * i], text[5 + 2 * i]};
    sl_cw_metric_t id = {text[1], text[2], text[3], dims, nd};
    cw_metric_t *m = metric_get(cw, &id, text[0]);
    sl_cw_stats_t s = {v[0], v[1], v[2], v[3]};
    if (m) point_add(m, minute, &s, sk.invalid ? NULL : &sk);
    sl_cw_sketch_free(&sk);
    return true;
}

static int write_all(int fd, const char *data, size_t len) {
    while (len) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno == ENOSPC ? SL_ENOSPC : SL_EIO;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Reads the log, keeps what is inside the window, rewrites it compacted (temp file, fsync,
 * rename) and leaves it open for appends. */
static int load(sl_cw_t *cw) {
    int64_t oldest = sl_time_now_ms() - cw->window_ms;
    int fd = open(cw->path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        uint8_t *data = NULL;
        size_t len = 0;
        if (fstat(fd, &st) == 0 && st.st_size > 0 && (data = malloc((size_t)st.st_size))) {
            ssize_t r;
            while (len < (size_t)st.st_size &&
                   (r = read(fd, data + len, (size_t)st.st_size - len)) > 0)
                len += (size_t)r;
        }
        close(fd);
        size_t off = 0;
        while (data && len - off >= 8) {
            uint32_t hdr[2];
            memcpy(hdr, data + off, 8);
            if (hdr[0] > len - off - 8 || sl_crc32c(0, data + off + 8, hdr[0]) != hdr[1] ||
                !replay_frame(cw, data + off + 8, data + off + 8 + hdr[0], oldest))
                break;
            off += 8 + hdr[0];
        }
        if (data && off < len)
            SL_WARN("cloudwatch: %s: %zu bytes after the last good frame dropped", cw->path,
                    len - off);
        free(data);
    }
    char tmp[sizeof cw->path + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", cw->path);
    sl_buf_t b = SL_BUF_INIT;
    for (cw_metric_t *m = cw->all; m; m = m->next_all)
        for (size_t i = 0; i < m->point_count; i++)
            frame(&b, m, m->points[i].minute_ms, &m->points[i].s, &m->points[i].sk);
    if (sl_buf_failed(&b)) {
        sl_buf_free(&b);
        return SL_ENOMEM;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? (errno == ENOSPC ? SL_ENOSPC : SL_EIO) : write_all(fd, b.data, b.len);
    if (rc == 0 && fdatasync(fd) != 0) rc = errno == ENOSPC ? SL_ENOSPC : SL_EIO;
    if (fd >= 0) close(fd);
    sl_buf_free(&b);
    if (rc == 0 && rename(tmp, cw->path) != 0) rc = SL_EIO;
    if (rc) {
        /* A full disk must not stop the server from starting (it serves reads): the log stays
         * as it was, uncompacted, and new frames are appended to it (or fail to be, logged). */
        unlink(tmp);
        cw->fd = open(cw->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (cw->fd < 0) return rc;
        SL_WARN("cloudwatch: cannot compact %s (%s): appending to it as it is", cw->path,
                sl_strerror(rc));
        return 0;
    }
    cw->fd = open(cw->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    return cw->fd < 0 ? SL_EIO : 0;
}

/* ---- the registry's metrics ---- */

typedef struct {
    sl_cw_t *cw;
    int64_t at_ms;
    bool gauges;
} sample_ctx_t;

static snap_t *snap_get(sl_cw_t *cw, const char *key) {
    snap_t **b = &cw->snaps[hash_str(key) % BUCKETS];
    for (snap_t *s = *b; s; s = s->next)
        if (strcmp(s->key, key) == 0) return s;
    snap_t *s = calloc(1, sizeof *s);
    if (!s || !(s->key = strdup(key))) {
        free(s);
        return NULL;
    }
    s->next = *b;
    *b = s;
    return s;
}

static void on_sample(void *arg, const sl_metric_sample_t *s) {
    sample_ctx_t *c = arg;
    const sl_metric_desc_t *d = s->desc;
    if (!d->ns) return;
    const char *account = NULL;
    sl_cw_dim_t dims[SL_METRIC_LABELS_MAX];
    size_t nd = 0;
    for (size_t i = 0; i < SL_METRIC_LABELS_MAX && d->labels[i]; i++) {
        if (strcmp(d->labels[i], "AccountId") == 0)
            account = s->values[i];
        else
            dims[nd++] = (sl_cw_dim_t){d->labels[i], s->values[i]};
    }
    if (!account) return; /* CloudWatch shows a metric to its account only */
    sl_cw_stats_t st;
    sl_cw_sketch_t sk = {0};
    if (d->kind == SL_METRIC_GAUGE) {
        if (!c->gauges) return;
        st = (sl_cw_stats_t){1, s->sum, s->sum, s->sum};
        sl_cw_sketch_add(&sk, s->sum, 1);
    } else {
        char key[1024];
        snprintf(key, sizeof key, "%s\x1f%s\x1f%s\x1f%s", d->prom_name, account,
                 nd > 0 ? dims[0].value : "", nd > 1 ? dims[1].value : "");
        snap_t *sn = snap_get(c->cw, key);
        if (!sn) return;
        double dc = (double)s->count - sn->count, ds = s->sum - sn->sum;
        sn->count = (double)s->count;
        sn->sum = s->sum;
        if (dc <= 0) return;
        st = (sl_cw_stats_t){dc, ds, ds / dc, ds / dc};
        /* the registry keeps sums: each sample's calls count at their average */
        sl_cw_sketch_add(&sk, ds / dc, dc);
    }
    sl_cw_metric_t id = {account, d->ns, d->name, dims, nd};
    cw_metric_t *m = metric_get(c->cw, &id, d->unit);
    if (m) {
        m->registry = true;
        point_add(m, c->at_ms, &st, &sk);
    }
    sl_cw_sketch_free(&sk);
}

/* Samples the registry into the minute of at_ms (caller holds mu). */
static void sample(sl_cw_t *cw, int64_t at_ms, bool gauges) {
    sample_ctx_t c = {cw, at_ms, gauges};
    sl_metrics_collect(on_sample, &c);
}

/* ---- writer thread ---- */

static void *writer_main(void *arg) {
    sl_cw_t *cw = arg;
    int64_t logged_minute = sl_time_now_ms() / MINUTE_MS * MINUTE_MS; /* minutes before: done */
    pthread_mutex_lock(&cw->mu);
    while (!cw->stop) {
        if (cw->jobs) {
            job_t *jobs = cw->jobs;
            cw->jobs = NULL;
            cw->jobs_tail = &cw->jobs;
            pthread_mutex_unlock(&cw->mu);
            int rc = 0;
            for (job_t *j = jobs; j && rc == 0; j = j->next)
                rc = write_all(cw->fd, j->frames.data, j->frames.len);
            if (rc == 0 && fdatasync(cw->fd) != 0) rc = SL_EIO;
            if (rc) SL_ERROR("cloudwatch: cannot write %s: %s", cw->path, sl_strerror(rc));
            while (jobs) {
                job_t *next = jobs->next;
                jobs->done(jobs->arg, rc);
                sl_buf_free(&jobs->frames);
                free(jobs);
                jobs = next;
            }
            pthread_mutex_lock(&cw->mu);
            continue;
        }
        int64_t now = sl_time_now_ms();
        int64_t due = logged_minute + MINUTE_MS + 200; /* just after the minute closed */
        if (now < due) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t wait_ms = due - now;
            ts.tv_sec += wait_ms / 1000;
            ts.tv_nsec += (wait_ms % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&cw->cv, &cw->mu, &ts);
            continue;
        }
        /* the minute `logged_minute` closed: its last deltas, then its registry points */
        sample(cw, logged_minute, true);
        sl_buf_t b = SL_BUF_INIT;
        int64_t oldest = now - cw->window_ms;
        for (cw_metric_t *m = cw->all; m; m = m->next_all) {
            size_t drop = 0;
            while (drop < m->point_count && m->points[drop].minute_ms < oldest)
                drop++;
            for (size_t i = 0; i < drop; i++)
                sl_cw_sketch_free(&m->points[i].sk);
            if (drop) {
                memmove(m->points, m->points + drop, (m->point_count - drop) * sizeof *m->points);
                m->point_count -= drop;
            }
            if (!m->registry) continue;
            for (size_t i = m->point_count; i > 0; i--) {
                const point_t *p = &m->points[i - 1];
                if (p->minute_ms < logged_minute) break;
                if (p->minute_ms == logged_minute) frame(&b, m, p->minute_ms, &p->s, &p->sk);
            }
        }
        logged_minute += MINUTE_MS;
        pthread_mutex_unlock(&cw->mu);
        if (b.len && !sl_buf_failed(&b) &&
            (write_all(cw->fd, b.data, b.len) != 0 || fdatasync(cw->fd) != 0))
            SL_ERROR("cloudwatch: cannot write %s", cw->path);
        sl_buf_free(&b);
        pthread_mutex_lock(&cw->mu);
    }
    pthread_mutex_unlock(&cw->mu);
    return NULL;
}

int sl_cw_open(const char *dir, int window_days, sl_cw_t **out) {
    *out = NULL;
    sl_cw_t *cw = calloc(1, sizeof *cw);
    if (!cw) return SL_ENOMEM;
    pthread_mutex_init(&cw->mu, NULL);
    pthread_cond_init(&cw->cv, NULL);
    cw->fd = -1;
    cw->jobs_tail = &cw->jobs;
    cw->window_ms = (int64_t)window_days * 86400000;
    snprintf(cw->path, sizeof cw->path, "%s/cloudwatch.log", dir);
    int rc = load(cw);
    if (rc == 0 && pthread_create(&cw->writer, NULL, writer_main, cw) != 0) rc = SL_ENOMEM;
    if (rc) {
        SL_ERROR("cloudwatch: cannot open %s: %s", cw->path, sl_strerror(rc));
        sl_cw_close(cw);
        return rc;
    }
    cw->started = true;
    *out = cw;
    return 0;
}

void sl_cw_close(sl_cw_t *cw) {
    if (!cw) return;
    if (cw->started) {
        pthread_mutex_lock(&cw->mu);
        cw->stop = true;
        pthread_cond_signal(&cw->cv);
        pthread_mutex_unlock(&cw->mu);
        pthread_join(cw->writer, NULL);
    }
    for (job_t *j = cw->jobs; j;) { /* never left: the writer drains before it stops */
        job_t *next = j->next;
        sl_buf_free(&j->frames);
        free(j);
        j = next;
    }
    while (cw->all) {
        cw_metric_t *next = cw->all->next_all;
        metric_free(cw->all);
        cw->all = next;
    }
    for (size_t i = 0; i < BUCKETS; i++)
        while (cw->snaps[i]) {
            snap_t *next = cw->snaps[i]->next;
            free(cw->snaps[i]->key);
            free(cw->snaps[i]);
            cw->snaps[i] = next;
        }
    if (cw->fd >= 0) close(cw->fd);
    pthread_cond_destroy(&cw->cv);
    pthread_mutex_destroy(&cw->mu);
    free(cw);
}

int sl_cw_put(sl_cw_t *cw, const sl_cw_datum_t *data, size_t count, void (*done)(void *, int),
              void *arg) {
    job_t *j = calloc(1, sizeof *j);
    if (!j) return SL_ENOMEM;
    j->done = done;
    j->arg = arg;
    int rc = 0;
    pthread_mutex_lock(&cw->mu);
    for (size_t i = 0; i < count && rc == 0; i++) {
        cw_metric_t *m = metric_get(cw, &data[i].metric, data[i].unit);
        if (!m) {
            rc = SL_ELIMIT;
            break;
        }
        sl_cw_sketch_t sk;
        datum_sketch(&data[i], &sk);
        rc = point_add(m, data[i].time_ms, &data[i].stats, &sk);
        int64_t minute = data[i].time_ms - ((data[i].time_ms % MINUTE_MS) + MINUTE_MS) % MINUTE_MS;
        frame(&j->frames, m, minute, &data[i].stats, &sk);
        sl_cw_sketch_free(&sk);
    }
    if (rc == 0 && sl_buf_failed(&j->frames)) rc = SL_ENOMEM;
    if (rc == 0) {
        *cw->jobs_tail = j;
        cw->jobs_tail = &j->next;
        pthread_cond_signal(&cw->cv);
    }
    pthread_mutex_unlock(&cw->mu);
    if (rc) {
        sl_buf_free(&j->frames);
        free(j);
    }
    return rc;
}

/* One period's statistics and percentiles to fn (NAN where a percentile is unavailable). */
static void emit(sl_cw_point_fn fn, void *arg, int64_t time_ms, const sl_cw_stats_t *acc,
                 const sl_cw_sketch_t *sk, const double *pcts, size_t npct, double *vals,
                 const char *unit) {
    for (size_t i = 0; i < npct; i++)
        if (!sl_cw_sketch_quantile(sk, pcts[i] / 100.0, acc->min, acc->max, &vals[i]))
            vals[i] = NAN;
    fn(arg, time_ms, acc, npct ? vals : NULL, unit);
}

void sl_cw_query(sl_cw_t *cw, const sl_cw_metric_t *id, int64_t start_ms, int64_t end_ms,
                 int64_t period_s, const char *unit, const double *pcts, size_t npct,
                 sl_cw_point_fn fn, void *arg) {
    sl_cw_dim_t sorted[SL_CW_DIMENSIONS_MAX];
    char *key = metric_key(id, sorted);
    double vals[SL_CW_PERCENTILES_MAX];
    if (!key) return;
    if (npct > SL_CW_PERCENTILES_MAX) npct = SL_CW_PERCENTILES_MAX;
    int64_t period_ms = period_s * 1000;
    pthread_mutex_lock(&cw->mu);
    sample(cw, sl_time_now_ms(), false); /* up to this moment, as /metrics shows it */
    cw_metric_t *m = find(cw, key);
    free(key);
    if (m && (!unit || strcmp(unit, m->unit) == 0) && period_ms > 0) {
        int64_t bucket = INT64_MIN;
        sl_cw_stats_t acc = {0};
        sl_cw_sketch_t sk = {0};
        for (size_t i = 0; i < m->point_count; i++) {
            const point_t *p = &m->points[i];
            if (p->minute_ms < start_ms || p->minute_ms >= end_ms) continue;
            /* periods aligned to multiples of the period since the epoch, as CloudWatch */
            int64_t b = p->minute_ms - ((p->minute_ms % period_ms) + period_ms) % period_ms;
            if (b != bucket && acc.count > 0)
                emit(fn, arg, bucket, &acc, &sk, pcts, npct, vals, m->unit);
            if (b != bucket) {
                acc = (sl_cw_stats_t){0};
                sl_cw_sketch_free(&sk);
            }
            bucket = b;
            stats_merge(&acc, &p->s);
            if (npct) sl_cw_sketch_merge(&sk, &p->sk);
        }
        if (acc.count > 0) emit(fn, arg, bucket, &acc, &sk, pcts, npct, vals, m->unit);
        sl_cw_sketch_free(&sk);
    }
    pthread_mutex_unlock(&cw->mu);
}

static bool matches(const cw_metric_t *m, const char *account, const char *ns, const char *name,
                    const sl_cw_dim_t *filters, size_t filter_count) {
    if (strcmp(m->account, account) != 0 || (ns && strcmp(m->ns, ns) != 0) ||
        (name && strcmp(m->name, name) != 0) || m->point_count == 0)
        return false;
    for (size_t i = 0; i < filter_count; i++) {
        bool found = false;
        for (size_t k = 0; k < m->dim_count && !found; k++)
            found = strcmp(m->dims[k].name, filters[i].name) == 0 &&
                    (!filters[i].value || strcmp(m->dims[k].value, filters[i].value) == 0);
        if (!found) return false;
    }
    return true;
}

static int key_cmp(const void *a, const void *b) {
    return strcmp((*(cw_metric_t *const *)a)->key, (*(cw_metric_t *const *)b)->key);
}

int sl_cw_list(sl_cw_t *cw, const sl_cw_list_query_t *q, sl_cw_metric_fn fn, void *arg,
               char **next) {
    *next = NULL;
    pthread_mutex_lock(&cw->mu);
    sample(cw, sl_time_now_ms(), false);
    cw_metric_t **found = malloc((cw->metric_count ? cw->metric_count : 1) * sizeof *found);
    if (!found) {
        pthread_mutex_unlock(&cw->mu);
        return SL_ENOMEM;
    }
    size_t n = 0;
    for (cw_metric_t *m = cw->all; m; m = m->next_all) {
        if (!matches(m, q->account, q->ns, q->name, q->filters, q->filter_count)) continue;
        if (q->after && strcmp(m->key, q->after) <= 0) continue;
        if (q->active_since_ms &&
            m->points[m->point_count - 1].minute_ms + MINUTE_MS <= q->active_since_ms)
            continue;
        found[n++] = m;
    }
    qsort(found, n, sizeof *found, key_cmp);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (q->limit && i == q->limit) {
            if (!(*next = strdup(found[i - 1]->key))) rc = SL_ENOMEM;
            break;
        }
        const cw_metric_t *m = found[i];
        sl_cw_metric_t id = {m->account, m->ns, m->name, m->dims, m->dim_count};
        fn(arg, &id);
    }
    pthread_mutex_unlock(&cw->mu);
    free(found);
    return rc;
}
