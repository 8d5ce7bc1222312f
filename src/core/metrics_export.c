/* Exports of the metrics registry that need no transport: the Prometheus text exposition format
 * (the front serves it at GET /metrics) and the process metrics read from /proc. */
#include "core/metrics.h"

#include "core/common.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- Prometheus text format ---- */

typedef struct {
    sl_buf_t *out;
    const sl_metric_desc_t *last; /* the family whose HELP/TYPE was written last */
} prom_t;

/* StreamName -> stream_name */
static void label_name(sl_buf_t *b, const char *name) {
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z') {
            if (p != name) sl_buf_append_byte(b, '_');
            c = (char)(c - 'A' + 'a');
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            c = '_';
        }
        sl_buf_append_byte(b, (uint8_t)c);
    }
}

static void label_value(sl_buf_t *b, const char *v) {
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            sl_buf_append_byte(b, '\\');
            sl_buf_append_byte(b, (uint8_t)*v);
        } else if (*v == '\n') {
            sl_buf_append_str(b, "\\n");
        } else {
            sl_buf_append_byte(b, (uint8_t)*v);
        }
    }
}

static void number(sl_buf_t *b, double v) {
    if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
        sl_buf_printf(b, "%lld", (long long)v);
    else
        sl_buf_printf(b, "%.15g", v);
}

/* `{a="x",b="y"` plus an extra label (le) when given, then `}`; nothing without labels. */
static void labels(sl_buf_t *b, const sl_metric_sample_t *s, const char *le) {
    bool any = false;
    for (size_t i = 0; i < SL_METRIC_LABELS_MAX && s->desc->labels[i]; i++) {
        sl_buf_append_str(b, any ? "," : "{");
        label_name(b, s->desc->labels[i]);
        sl_buf_append_str(b, "=\"");
        label_value(b, s->values[i]);
        sl_buf_append_byte(b, '"');
        any = true;
    }
    if (le) {
        sl_buf_append_str(b, any ? "," : "{");
        sl_buf_printf(b, "le=\"%s\"", le);
        any = true;
    }
    if (any) sl_buf_append_byte(b, '}');
}

static void prom_sample(void *arg, const sl_metric_sample_t *s) {
    prom_t *p = arg;
    sl_buf_t *b = p->out;
    const sl_metric_desc_t *d = s->desc;
    double scale = d->prom_scale != 0 ? d->prom_scale : 1;
    if (p->last != d) {
        static const char *const types[] = {"counter", "histogram", "gauge"};
        sl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", d->prom_name, d->help, d->prom_name,
                      types[d->kind]);
        p->last = d;
    }
    if (d->kind != SL_METRIC_HISTOGRAM) {
        sl_buf_append_str(b, d->prom_name);
        labels(b, s, NULL);
        sl_buf_append_byte(b, ' ');
        number(b, s->sum * scale);
        sl_buf_append_byte(b, '\n');
        return;
    }
    uint64_t cumulative = 0;
    char le[40];
    for (size_t i = 0; i <= d->bounds_len; i++) {
        cumulative += s->buckets[i];
        if (i < d->bounds_len)
            snprintf(le, sizeof le, "%.15g", d->bounds[i] * scale);
        else
            snprintf(le, sizeof le, "+Inf");
        sl_buf_printf(b, "%s_bucket", d->prom_name);
        labels(b, s, le);
        sl_buf_printf(b, " %llu\n", (unsigned long long)cumulative);
    }
    sl_buf_printf(b, "%s_sum", d->prom_name);
    labels(b, s, NULL);
    sl_buf_append_byte(b, ' ');
    number(b, s->sum * scale);
    sl_buf_printf(b, "\n%s_count", d->prom_name);
    labels(b, s, NULL);
    sl_buf_printf(b, " %llu\n", (unsigned long long)s->count);
}

int sl_metrics_prometheus(sl_buf_t *out) {
    prom_t p = {.out = out};
    sl_metrics_collect(prom_sample, &p);
    return sl_buf_failed(out) ? SL_ENOMEM : 0;
}

/* ---- process metrics (Prometheus's standard names) ---- */

enum { P_CPU, P_RSS, P_VSZ, P_FDS, P_THREADS, P_START, P_COUNT };
static sl_series_t *g_proc[P_COUNT];

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static void process_collect(void *arg) {
    (void)arg;
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return;
    char line[1024];
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    const char *p = strrchr(line, ')'); /* after the command name, which may hold spaces */
    if (!p) return;
    unsigned long long utime = 0, stime = 0, vsize = 0, starttime = 0;
    long long rss = 0, threads = 0;
    /* fields 3.. after ") ": state(3) ... utime(14) stime(15) ... num_threads(20) ...
     * starttime(22) vsize(23) rss(24) */
    if (sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %lld %*d "
               "%llu %llu %lld",
               &utime, &stime, &threads, &starttime, &vsize, &rss) != 6)
        return;
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    if (tick <= 0) tick = 100;
    sl_metric_set(g_proc[P_CPU], (int64_t)((utime + stime) * 1000 / (unsigned long long)tick));
    sl_metric_set(g_proc[P_RSS], rss * page);
    sl_metric_set(g_proc[P_VSZ], (int64_t)vsize);
    sl_metric_set(g_proc[P_THREADS], threads);
    sl_metric_set(g_proc[P_FDS], count_fds());
    /* start time: boot time + starttime ticks */
    f = fopen("/proc/stat", "r");
    if (!f) return;
    long long btime = 0;
    char buf[256];
    while (fgets(buf, sizeof buf, f))
        if (sscanf(buf, "btime %lld", &btime) == 1) break;
    fclose(f);
    sl_metric_set(g_proc[P_START], btime * 1000 + (int64_t)(starttime * 1000 / (unsigned)tick));
}

static const sl_metric_desc_t proc_descs[P_COUNT] = {
    [P_CPU] = {.prom_name = "process_cpu_seconds_total",
               .help = "Total user and system CPU time spent in seconds.",
               .kind = SL_METRIC_COUNTER,
               .prom_scale = 0.001,
               .collect = process_collect},
    [P_RSS] = {.prom_name = "process_resident_memory_bytes",
               .help = "Resident memory size in bytes.",
               .kind = SL_METRIC_GAUGE},
    [P_VSZ] = {.prom_name = "process_virtual_memory_bytes",
               .help = "Virtual memory size in bytes.",
               .kind = SL_METRIC_GAUGE},
    [P_FDS] = {.prom_name = "process_open_fds",
               .help = "Number of open file descriptors.",
               .kind = SL_METRIC_GAUGE},
    [P_THREADS] = {.prom_name = "process_threads",
                   .help = "Number of OS threads in the process.",
                   .kind = SL_METRIC_GAUGE},
    [P_START] = {.prom_name = "process_start_time_seconds",
                 .help = "Start time of the process since unix epoch in seconds.",
                 .kind = SL_METRIC_GAUGE,
                 .prom_scale = 0.001},
};

void sl_metrics_process_declare(void) {
    for (size_t i = 0; i < P_COUNT; i++)
        g_proc[i] = sl_metric_series(sl_metric_declare(&proc_descs[i]), NULL);
}
