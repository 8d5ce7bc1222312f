/* The CloudWatch binding (see binding.h): PutMetricData, GetMetricStatistics, GetMetricData and
 * ListMetrics over the metric store (cloudwatch/cloudwatch.h), answering in the request's
 * protocol: AWS JSON 1.0 (call->enc) or Query (XML, call->query). */
#include "api/cloudwatch/binding.h"

#include "api/cloudwatch/model.h"
#include "cloudwatch/expr.h"
#include "core/common.h"
#include "core/time.h"
#include "wire/awserror.h"
#include "wire/enc.h"
#include "wire/value.h"
#include "wire/xml.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INVALID_VALUE "InvalidParameterValue"
#define INVALID_COMBINATION "InvalidParameterCombination"
#define MISSING_PARAMETER "MissingParameter"
#define VALIDATION_ERROR "ValidationError"
#define LIST_PAGE 500 /* ListMetrics: metrics per answer, as CloudWatch */

static sl_cw_t *store(const sl_front_call_t *call) {
    return call->binding;
}

static const char *str_of(const sl_val_t *map, const char *key) {
    return sl_val_get_str(map, key, NULL);
}

static bool num_of(const sl_val_t *map, const char *key, double *out) {
    const sl_val_t *v = sl_val_get(map, key);
    if (!v || v->type != SL_VAL_NUMBER) return false;
    *out = v->u.num.d;
    return true;
}

static bool time_of(const sl_val_t *map, const char *key, int64_t *out) {
    const sl_val_t *v = sl_val_get(map, key);
    if (!v || v->type != SL_VAL_TIMESTAMP) return false;
    *out = v->u.ts_ms;
    return true;
}

static size_t list_len(const sl_val_t *map, const char *key) {
    const sl_val_t *v = sl_val_get(map, key);
    return v && v->type == SL_VAL_ARRAY ? v->u.arr.count : 0;
}

static const sl_val_t *list_at(const sl_val_t *map, const char *key, size_t i) {
    return sl_val_get(map, key)->u.arr.items[i];
}

/* Dimensions [{Name, Value}] (validated by the model) into the arena. */
static sl_cw_dim_t *dims_of(sl_front_call_t *call, const sl_val_t *map, size_t *n) {
    *n = list_len(map, "Dimensions");
    sl_cw_dim_t *d = sl_arena_calloc(call->arena, *n ? *n : 1, sizeof *d);
    for (size_t i = 0; d && i < *n; i++) {
        const sl_val_t *dim = list_at(map, "Dimensions", i);
        d[i].name = str_of(dim, "Name");
        d[i].value = str_of(dim, "Value");
    }
    return d;
}

static void format_time(int64_t ms, char out[32]) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void xml_double(sl_xml_writer_t *w, const char *name, double v) {
    sl_xml_element_fmt(w, name, "%.17g", v);
}

/* ---- PutMetricData ---- */

typedef struct {
    int rc;
} put_state_t;

static void put_finish(sl_front_call_t *call) {
    put_state_t *st = call->state;
    if (st->rc) {
        sl_front_fail_internal(call, st->rc);
        return;
    }
    if (call->query) {
        sl_xml_writer_t w;
        sl_front_query_begin(call, &w, false);
        sl_front_query_end(call, &w);
        return;
    }
    sl_front_reply(call);
}

static void put_done(void *arg, int rc) {
    sl_front_call_t *call = arg;
    ((put_state_t *)call->state)->rc = rc;
    sl_front_post(call, put_finish);
}

/* One datum's statistics: Value, StatisticValues or Values/Counts (exactly one of them). */
static bool datum_stats(sl_front_call_t *call, const sl_val_t *d, size_t index,
                        sl_cw_datum_t *datum) {
    sl_cw_stats_t *s = &datum->stats;
    double v;
    const sl_val_t *sv = sl_val_get(d, "StatisticValues");
    size_t nv = list_len(d, "Values"), nc = list_len(d, "Counts");
    bool has_value = num_of(d, "Value", &v);
    if (has_value + (sv != NULL) + (nv > 0) > 1) {
        sl_front_fail(call, INVALID_COMBINATION,
                      "The parameters MetricData.member.%zu.Value, "
                      "MetricData.member.%zu.StatisticValues and MetricData.member.%zu.Values "
                      "are mutually exclusive and you have specified more than one.",
                      index, index, index);
        return false;
    }
    if (has_value) {
        *s = (sl_cw_stats_t){1, v, v, v};
    } else if (sv) {
        *s = (sl_cw_stats_t){0};
        num_of(sv, "SampleCount", &s->count);
        num_of(sv, "Sum", &s->sum);
        num_of(sv, "Minimum", &s->min);
        num_of(sv, "Maximum", &s->max);
    } else if (nv > 0) {
        if (nc && nc != nv) {
            sl_front_fail(call, INVALID_VALUE,
                          "The parameters MetricData.member.%zu.Values and "
                          "MetricData.member.%zu.Counts must be of the same size.",
                          index, index);
            return false;
        }
        *s = (sl_cw_stats_t){0};
        double *values = sl_arena_alloc(call->arena, nv * sizeof *values);
        double *counts = nc ? sl_arena_alloc(call->arena, nc * sizeof *counts) : NULL;
        if (!values || (nc && !counts)) {
            sl_front_fail_internal(call, SL_ENOMEM);
            return false;
        }
        datum->values = values;
        datum->counts = counts;
        datum->value_count = nv;
        for (size_t i = 0; i < nv; i++) {
            const sl_val_t *x = list_at(d, "Values", i);
            double c = nc ? list_at(d, "Counts", i)->u.num.d : 1;
            double val = x->u.num.d;
            values[i] = val;
            if (counts) counts[i] = c;
            if (s->count == 0 || val < s->min) s->min = val;
            if (s->count == 0 || val > s->max) s->max = val;
            s->count += c;
            s->sum += val * c;
        }
    } else {
        sl_front_fail(call, MISSING_PARAMETER,
                      "The parameter MetricData.member.%zu.Value is required.", index);
        return false;
    }
    return true;
}

static void op_put_metric_data(sl_front_call_t *call) {
    const char *ns = str_of(call->in, "Namespace");
    if (ns && strncmp(ns, "AWS/", 4) == 0) {
        sl_front_fail(call, INVALID_VALUE, "The value AWS/ for parameter Namespace is invalid.");
        return;
    }
    size_t n = list_len(call->in, "MetricData");
    sl_cw_datum_t *data = sl_arena_calloc(call->arena, n ? n : 1, sizeof *data);
    put_state_t *st = sl_arena_calloc(call->arena, 1, sizeof *st);
    if (!data || !st) return sl_front_fail_internal(call, SL_ENOMEM);
    for (size_t i = 0; i < n; i++) {
        const sl_val_t *d = list_at(call->in, "MetricData", i);
        sl_cw_datum_t *x = &data[i];
        x->metric =
            (sl_cw_metric_t){.account = call->account, .ns = ns, .name = str_of(d, "MetricName")};
        x->metric.dims = dims_of(call, d, &x->metric.dim_count);
        if (!x->metric.dims) return sl_front_fail_internal(call, SL_ENOMEM);
        x->unit = str_of(d, "Unit");
        if (!x->unit) x->unit = "None";
        if (!time_of(d, "Timestamp", &x->time_ms)) x->time_ms = call->now_ms;
        if (!datum_stats(call, d, i + 1, x)) return;
    }
    call->state = st;
    int rc = sl_cw_put(store(call), data, n, put_done, call);
    if (rc == SL_ELIMIT) {
        sl_front_fail(call, "LimitExceeded", "The maximum number of metrics was reached.");
        return;
    }
    if (rc) sl_front_fail_internal(call, rc);
}

/* ---- GetMetricStatistics ---- */

enum { ST_SAMPLE_COUNT = 1, ST_AVERAGE = 2, ST_SUM = 4, ST_MINIMUM = 8, ST_MAXIMUM = 16 };
static const char *const stat_names[] = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"};

static int stat_bit(const char *name) {
    for (int i = 0; i < 5; i++)
        if (name && strcmp(name, stat_names[i]) == 0) return 1 << i;
    return 0;
}

/* A percentile statistic "pNN" or "pNN.NN" (0 to 100, at most two decimals) into *out. */
static bool percentile_of(const char *name, double *out) {
    if (!name || name[0] != 'p' || !isdigit((unsigned char)name[1])) return false;
    const char *c = name + 1;
    size_t whole = 0, frac = 0;
    while (isdigit((unsigned char)*c))
        c++, whole++;
    if (*c == '.') {
        c++;
        while (isdigit((unsigned char)*c))
            c++, frac++;
        if (frac == 0) return false;
    }
    if (*c || whole > 3 || frac > 2) return false;
    double v = strtod(name + 1, NULL);
    if (v < 0 || v > 100) return false;
    *out = v;
    return true;
}

static double stat_value(const sl_cw_stats_t *s, int bit) {
    switch (bit) {
    case ST_SAMPLE_COUNT:
        return s->count;
    case ST_AVERAGE:
        return s->count ? s->sum / s->count : 0;
    case ST_SUM:
        return s->sum;
    case ST_MINIMUM:
        return s->min;
    default:
        return s->max;
    }
}

typedef struct {
    sl_front_call_t *call;
    int stats;
    const char *const *ext_names; /* ExtendedStatistics, in the request's order */
    size_t ext_count;
    sl_xml_writer_t *w;
} points_t;

static void on_point(void *arg, int64_t time_ms, const sl_cw_stats_t *s, const double *pct,
                     const char *unit) {
    points_t *p = arg;
    size_t available = 0;
    for (size_t i = 0; i < p->ext_count; i++)
        available += !isnan(pct[i]);
    if (p->w) {
        char ts[32];
        format_time(time_ms, ts);
        sl_xml_open(p->w, "member", NULL);
        sl_xml_element(p->w, "Timestamp", ts);
        for (int i = 0; i < 5; i++)
            if (p->stats & (1 << i)) xml_double(p->w, stat_names[i], stat_value(s, 1 << i));
        if (available) {
            sl_xml_open(p->w, "ExtendedStatistics", NULL);
            for (size_t i = 0; i < p->ext_count; i++) {
                if (isnan(pct[i])) continue;
                sl_xml_open(p->w, "entry", NULL);
                sl_xml_element(p->w, "key", p->ext_names[i]);
                xml_double(p->w, "value", pct[i]);
                sl_xml_close(p->w);
            }
            sl_xml_close(p->w);
        }
        sl_xml_element(p->w, "Unit", unit);
        sl_xml_close(p->w);
        return;
    }
    sl_enc_t *e = &p->call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "Timestamp");
    sl_enc_timestamp_ms(e, time_ms);
    for (int i = 0; i < 5; i++)
        if (p->stats & (1 << i)) {
            sl_enc_key(e, stat_names[i]);
            sl_enc_double(e, stat_value(s, 1 << i));
        }
    if (available) {
        sl_enc_key(e, "ExtendedStatistics");
        sl_enc_map_begin(e);
        for (size_t i = 0; i < p->ext_count; i++) {
            if (isnan(pct[i])) continue;
            sl_enc_key(e, p->ext_names[i]);
            sl_enc_double(e, pct[i]);
        }
        sl_enc_map_end(e);
    }
    sl_enc_kv_cstr(e, "Unit", unit);
    sl_enc_map_end(e);
}

/* Period, StartTime and EndTime as CloudWatch checks them. */
static bool range_ok(sl_front_call_t *call, const sl_val_t *in, int64_t period, int64_t *start,
                     int64_t *end) {
    if (period <= 0 ||
        (period % 60 != 0 && period != 1 && period != 5 && period != 10 && period != 30)) {
        sl_front_fail(call, INVALID_VALUE, "The parameter Period must be a multiple of 60.");
        return false;
    }
    time_of(in, "StartTime", start);
    time_of(in, "EndTime", end);
    if (*end <= *start) {
        sl_front_fail(call, INVALID_VALUE,
                      "The parameter StartTime must be less than the "
                      "parameter EndTime.");
        return false;
    }
    return true;
}

static void op_get_metric_statistics(sl_front_call_t *call) {
    const sl_val_t *in = call->in;
    int stats = 0;
    for (size_t i = 0; i < list_len(in, "Statistics"); i++) {
        const sl_val_t *s = list_at(in, "Statistics", i);
        stats |= stat_bit(s->type == SL_VAL_STRING ? s->u.str.ptr : NULL);
    }
    size_t next = list_len(in, "ExtendedStatistics");
    if (next > SL_CW_PERCENTILES_MAX) next = SL_CW_PERCENTILES_MAX; /* the model's bound */
    const char *ext_names[SL_CW_PERCENTILES_MAX];
    double pcts[SL_CW_PERCENTILES_MAX];
    for (size_t i = 0; i < next; i++) {
        const sl_val_t *x = list_at(in, "ExtendedStatistics", i);
        ext_names[i] = x->type == SL_VAL_STRING ? x->u.str.ptr : "";
        if (!percentile_of(ext_names[i], &pcts[i])) {
            sl_front_fail(call, INVALID_VALUE,
                          "The value %s for parameter ExtendedStatistics is not supported.",
                          ext_names[i]);
            return;
        }
    }
    if (!stats && !next) {
        sl_front_fail(call, MISSING_PARAMETER,
                      "At least one of the parameters Statistics and ExtendedStatistics must be "
                      "specified.");
        return;
    }
    int64_t period = 0, start = 0, end = 0;
    sl_val_get_int(in, "Period", &period);
    if (!range_ok(call, in, period, &start, &end)) return;
    sl_cw_metric_t m = {
        .account = call->account, .ns = str_of(in, "Namespace"), .name = str_of(in, "MetricName")};
    m.dims = dims_of(call, in, &m.dim_count);
    if (!m.dims) return sl_front_fail_internal(call, SL_ENOMEM);
    points_t p = {.call = call, .stats = stats, .ext_names = ext_names, .ext_count = next};
    const char *unit = str_of(in, "Unit");
    if (call->query) {
        sl_xml_writer_t w;
        sl_front_query_begin(call, &w, true);
        sl_xml_element(&w, "Label", m.name);
        sl_xml_open(&w, "Datapoints", NULL);
        p.w = &w;
        sl_cw_query(store(call), &m, start, end, period, unit, pcts, next, on_point, &p);
        sl_xml_close(&w);
        sl_front_query_end(call, &w);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "Label", m.name);
    sl_enc_key(e, "Datapoints");
    sl_enc_array_begin(e);
    sl_cw_query(store(call), &m, start, end, period, unit, pcts, next, on_point, &p);
    sl_enc_array_end(e);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

/* ---- GetMetricData ---- */

typedef struct {
    sl_cw_series_t s;
    size_t cap;
    int stat;   /* a statistic bit, or 0 for a percentile */
    double pct; /* the percentile */
    sl_arena_t *arena;
} series_t;

static void on_series_point(void *arg, int64_t time_ms, const sl_cw_stats_t *s, const double *pct,
                            const char *unit) {
    (void)unit;
    series_t *x = arg;
    double v = x->stat ? stat_value(s, x->stat) : pct[0];
    if (isnan(v)) return; /* no percentile for this period */
    if (x->s.n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        int64_t *t = sl_arena_alloc(x->arena, cap * sizeof *t);
        double *vals = sl_arena_alloc(x->arena, cap * sizeof *vals);
        if (!t || !vals) return;
        if (x->s.n) {
            memcpy(t, x->s.t, x->s.n * sizeof *t);
            memcpy(vals, x->s.v, x->s.n * sizeof *vals);
        }
        x->s.t = t;
        x->s.v = vals;
        x->cap = cap;
    }
    x->s.t[x->s.n] = time_ms;
    x->s.v[x->s.n++] = v;
}

/* One query of GetMetricData while it is evaluated. */
typedef enum { Q_TODO, Q_BUSY, Q_DONE } qstate_t;

typedef struct {
    const sl_val_t *q;
    const char *id;
    sl_cw_expr_t *expr; /* NULL for a MetricStat query */
    series_t metric;    /* a MetricStat query's series */
    sl_cw_value_t value;
    qstate_t state;
} query_t;

typedef struct {
    sl_front_call_t *call;
    query_t *queries;
    size_t count;
    sl_cw_eval_t ev;
} gmd_t;

static int eval_query(gmd_t *g, query_t *q, char *err, size_t cap);

static int lookup(void *ctx, const char *id, sl_cw_value_t *out, char *err, size_t cap) {
    gmd_t *g = ctx;
    for (size_t i = 0; i < g->count; i++) {
        query_t *q = &g->queries[i];
        if (strcmp(q->id, id) != 0) continue;
        int rc = eval_query(g, q, err, cap);
        if (rc == 0) *out = q->value;
        return rc;
    }
    return SL_ENOTFOUND;
}

static int eval_query(gmd_t *g, query_t *q, char *err, size_t cap) {
    if (q->state == Q_DONE) return 0;
    if (q->state == Q_BUSY) {
        snprintf(err, cap, "the expression %s refers to itself", q->id);
        return SL_EINVAL;
    }
    q->state = Q_BUSY;
    int rc = sl_cw_expr_eval(q->expr, &g->ev, &q->value, err, cap);
    q->state = Q_DONE;
    return rc;
}

static bool id_valid(const char *id) {
    if (!id || !islower((unsigned char)id[0])) return false;
    for (const char *c = id; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_') return false;
    return true;
}

/* A scalar result is shown at every timestamp any MetricStat query has. */
static int scalar_series(gmd_t *g, double v, sl_cw_series_t *out) {
    size_t total = 0;
    for (size_t i = 0; i < g->count; i++)
        if (!g->queries[i].expr) total += g->queries[i].metric.s.n;
    int64_t *t = sl_arena_alloc(g->call->arena, (total ? total : 1) * sizeof *t);
    double *vals = sl_arena_alloc(g->call->arena, (total ? total : 1) * sizeof *vals);
    if (!t || !vals) return SL_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < g->count; i++) {
        const sl_cw_series_t *s = &g->queries[i].metric.s;
        if (g->queries[i].expr) continue;
        for (size_t k = 0; k < s->n; k++) {
            size_t j = 0;
            while (j < n && t[j] != s->t[k])
                j++;
            if (j == n) t[n++] = s->t[k];
        }
    }
    for (size_t i = 1; i < n; i++) /* insertion sort: few points */
        for (size_t j = i; j > 0 && t[j - 1] > t[j]; j--) {
            int64_t x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    for (size_t i = 0; i < n; i++)
        vals[i] = v;
    *out = (sl_cw_series_t){.t = t, .v = vals, .n = n};
    return 0;
}

static void write_result(sl_front_call_t *call, sl_xml_writer_t *w, const char *id,
                         const char *label, const sl_cw_series_t *r, bool ascending) {
    if (call->query) {
        sl_xml_open(w, "member", NULL);
        sl_xml_element(w, "Id", id);
        sl_xml_element(w, "Label", label);
        sl_xml_open(w, "Timestamps", NULL);
        for (size_t k = 0; k < r->n; k++) {
            char ts[32];
            format_time(r->t[ascending ? k : r->n - 1 - k], ts);
            sl_xml_element(w, "member", ts);
        }
        sl_xml_close(w);
        sl_xml_open(w, "Values", NULL);
        for (size_t k = 0; k < r->n; k++)
            xml_double(w, "member", r->v[ascending ? k : r->n - 1 - k]);
        sl_xml_close(w);
        sl_xml_element(w, "StatusCode", "Complete");
        sl_xml_close(w);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "Id", id);
    sl_enc_kv_cstr(e, "Label", label);
    sl_enc_key(e, "Timestamps");
    sl_enc_array_begin(e);
    for (size_t k = 0; k < r->n; k++)
        sl_enc_timestamp_ms(e, r->t[ascending ? k : r->n - 1 - k]);
    sl_enc_array_end(e);
    sl_enc_key(e, "Values");
    sl_enc_array_begin(e);
    for (size_t k = 0; k < r->n; k++)
        sl_enc_double(e, r->v[ascending ? k : r->n - 1 - k]);
    sl_enc_array_end(e);
    sl_enc_kv_cstr(e, "StatusCode", "Complete");
    sl_enc_map_end(e);
}

static void op_get_metric_data(sl_front_call_t *call) {
    const sl_val_t *in = call->in;
    int64_t start = 0, end = 0;
    time_of(in, "StartTime", &start);
    time_of(in, "EndTime", &end);
    if (end <= start) {
        sl_front_fail(call, INVALID_VALUE,
                      "The parameter StartTime must be less than the "
                      "parameter EndTime.");
        return;
    }
    const char *scan = str_of(in, "ScanBy");
    bool ascending = scan && strcmp(scan, "TimestampAscending") == 0;
    size_t n = list_len(in, "MetricDataQueries");
    query_t *qs = sl_arena_calloc(call->arena, n ? n : 1, sizeof *qs);
    const char **metric_ids = sl_arena_calloc(call->arena, n ? n : 1, sizeof *metric_ids);
    sl_cw_series_t *metrics = sl_arena_calloc(call->arena, n ? n : 1, sizeof *metrics);
    if (!qs || !metric_ids || !metrics) return sl_front_fail_internal(call, SL_ENOMEM);
    gmd_t g = {.call = call, .queries = qs, .count = n};
    size_t metric_count = 0;
    int64_t default_period = 0;
    char err[256];
    /* first the checks of every query, then the MetricStat queries' data */
    for (size_t i = 0; i < n; i++) {
        query_t *q = &qs[i];
        q->q = list_at(in, "MetricDataQueries", i);
        q->id = str_of(q->q, "Id");
        const sl_val_t *ms = sl_val_get(q->q, "MetricStat");
        const char *expr = str_of(q->q, "Expression");
        if (!id_valid(q->id)) {
            sl_front_fail(call, VALIDATION_ERROR,
                          "The value %s for parameter MetricDataQueries.member.%zu.Id is not "
                          "valid: it must start with a lowercase letter and contain only "
                          "letters, numbers and underscores.",
                          q->id ? q->id : "", i + 1);
            return;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(qs[k].id, q->id) == 0) {
                sl_front_fail(call, VALIDATION_ERROR,
                              "The value %s for parameter MetricDataQueries.member.%zu.Id is "
                              "used by more than one query.",
                              q->id, i + 1);
                return;
            }
        if (!ms && !expr) {
            sl_front_fail(call, VALIDATION_ERROR,
                          "The parameter MetricDataQueries.member.%zu.MetricStat is required.\n",
                          i + 1);
            return;
        }
        if (ms && expr) {
            sl_front_fail(call, VALIDATION_ERROR,
                          "The parameters MetricDataQueries.member.%zu.MetricStat and "
                          "MetricDataQueries.member.%zu.Expression are mutually exclusive and "
                          "you have specified both.",
                          i + 1, i + 1);
            return;
        }
        if (expr) {
            int rc = sl_cw_expr_parse(expr, call->arena, &q->expr, err, sizeof err);
            if (rc == SL_ENOMEM) return sl_front_fail_internal(call, rc);
            if (rc) {
                sl_front_fail(call, VALIDATION_ERROR, "Error in expression %s: %s", q->id, err);
                return;
            }
            continue;
        }
        const char *stat = str_of(ms, "Stat");
        q->metric.stat = stat_bit(stat);
        q->metric.arena = call->arena;
        if (!q->metric.stat && !percentile_of(stat, &q->metric.pct)) {
            sl_front_fail(call, VALIDATION_ERROR,
                          "The value for parameter MetricDataQueries.member.%zu.MetricStat.Stat "
                          "is not a valid statistic.",
                          i + 1);
            return;
        }
        int64_t period = 0;
        sl_val_get_int(ms, "Period", &period);
        if (period <= 0 || period % 60 != 0) {
            sl_front_fail(call, INVALID_VALUE, "The parameter Period must be a multiple of 60.");
            return;
        }
        if (!default_period) default_period = period;
    }
    for (size_t i = 0; i < n; i++) {
        query_t *q = &qs[i];
        if (q->expr) continue;
        const sl_val_t *ms = sl_val_get(q->q, "MetricStat");
        const sl_val_t *metric = sl_val_get(ms, "Metric");
        sl_cw_metric_t m = {.account = call->account,
                            .ns = str_of(metric, "Namespace"),
                            .name = str_of(metric, "MetricName")};
        m.dims = dims_of(call, metric, &m.dim_count);
        if (!m.dims || !m.ns || !m.name) return sl_front_fail_internal(call, SL_ENOMEM);
        sl_val_get_int(ms, "Period", &q->metric.s.period_s);
        const char *label = str_of(q->q, "Label");
        q->metric.s.label = label ? label : m.name;
        sl_cw_query(store(call), &m, start, end, q->metric.s.period_s, str_of(ms, "Unit"),
                    &q->metric.pct, q->metric.stat ? 0 : 1, on_series_point, &q->metric);
        q->value = (sl_cw_value_t){.kind = SL_CW_SERIES, .series = q->metric.s};
        q->state = Q_DONE;
        metrics[metric_count] = q->metric.s;
        metric_ids[metric_count++] = q->id;
    }
    g.ev = (sl_cw_eval_t){.arena = call->arena,
                          .lookup = lookup,
                          .ctx = &g,
                          .metrics = metrics,
                          .metric_ids = metric_ids,
                          .metric_count = metric_count,
                          .start_ms = start,
                          .end_ms = end,
                          .period_s = default_period ? default_period : 60};
    for (size_t i = 0; i < n; i++) {
        query_t *q = &qs[i];
        if (!q->expr) continue;
        int64_t period = 0;
        if (sl_val_get_int(q->q, "Period", &period) && period > 0) g.ev.period_s = period;
        int rc = eval_query(&g, q, err, sizeof err);
        if (rc == SL_ENOMEM) return sl_front_fail_internal(call, rc);
        if (rc) {
            sl_front_fail(call, VALIDATION_ERROR, "Error in expression %s: %s", q->id, err);
            return;
        }
    }
    sl_xml_writer_t w;
    sl_enc_t *e = &call->enc;
    if (call->query) {
        sl_front_query_begin(call, &w, true);
        sl_xml_open(&w, "MetricDataResults", NULL);
    } else {
        sl_enc_map_begin(e);
        sl_enc_key(e, "MetricDataResults");
        sl_enc_array_begin(e);
    }
    for (size_t i = 0; i < n; i++) {
        query_t *q = &qs[i];
        bool ret = true;
        sl_val_get_bool(q->q, "ReturnData", &ret);
        if (!ret) continue;
        const char *label = str_of(q->q, "Label");
        if (!q->expr) {
            write_result(call, &w, q->id, q->metric.s.label, &q->metric.s, ascending);
        } else if (q->value.kind == SL_CW_SERIES) {
            write_result(call, &w, q->id, label ? label : q->id, &q->value.series, ascending);
        } else if (q->value.kind == SL_CW_ARRAY) {
            for (size_t k = 0; k < q->value.count; k++) {
                const sl_cw_series_t *s = &q->value.items[k];
                write_result(call, &w, q->id,
                             label      ? label
                             : s->label ? s->label
                                        : q->id,
                             s, ascending);
            }
        } else {
            sl_cw_series_t s;
            if (scalar_series(&g, q->value.scalar, &s))
                return sl_front_fail_internal(call, SL_ENOMEM);
            write_result(call, &w, q->id, label ? label : q->id, &s, ascending);
        }
    }
    if (call->query) {
        sl_xml_close(&w);
        sl_xml_open(&w, "Messages", NULL);
        sl_xml_close(&w);
        sl_front_query_end(call, &w);
        return;
    }
    sl_enc_array_end(e);
    sl_enc_key(e, "Messages");
    sl_enc_array_begin(e);
    sl_enc_array_end(e);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

/* ---- ListMetrics ---- */

typedef struct {
    sl_front_call_t *call;
    sl_xml_writer_t *w;
} list_t;

static void on_metric(void *arg, const sl_cw_metric_t *m) {
    list_t *l = arg;
    if (l->w) {
        sl_xml_open(l->w, "member", NULL);
        sl_xml_element(l->w, "Namespace", m->ns);
        sl_xml_element(l->w, "MetricName", m->name);
        sl_xml_open(l->w, "Dimensions", NULL);
        for (size_t i = 0; i < m->dim_count; i++) {
            sl_xml_open(l->w, "member", NULL);
            sl_xml_element(l->w, "Name", m->dims[i].name);
            sl_xml_element(l->w, "Value", m->dims[i].value);
            sl_xml_close(l->w);
        }
        sl_xml_close(l->w);
        sl_xml_close(l->w);
        return;
    }
    sl_enc_t *e = &l->call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "Namespace", m->ns);
    sl_enc_kv_cstr(e, "MetricName", m->name);
    sl_enc_key(e, "Dimensions");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < m->dim_count; i++) {
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "Name", m->dims[i].name);
        sl_enc_kv_cstr(e, "Value", m->dims[i].value);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    sl_enc_map_end(e);
}

/* NextToken: the hex of the last metric key of the page before. */
static char *token_encode(sl_arena_t *a, const char *key) {
    size_t n = strlen(key);
    char *t = sl_arena_alloc(a, 2 * n + 1);
    for (size_t i = 0; t && i < n; i++)
        snprintf(t + 2 * i, 3, "%02x", (unsigned char)key[i]);
    return t;
}

static char *token_decode(sl_arena_t *a, const char *t) {
    size_t n = strlen(t);
    if (n == 0 || n % 2 || n > 2 * 4096) return NULL;
    char *key = sl_arena_alloc(a, n / 2 + 1);
    for (size_t i = 0; key && i < n / 2; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = t[2 * i + (size_t)k];
            int d = isdigit((unsigned char)c) ? c - '0'
                    : (c >= 'a' && c <= 'f')  ? c - 'a' + 10
                                              : -1;
            if (d < 0) return NULL;
            v = v * 16 + (unsigned)d;
        }
        if (v == 0) return NULL;
        key[i] = (char)v;
        key[i + 1] = 0;
    }
    return key;
}

static void op_list_metrics(sl_front_call_t *call) {
    const sl_val_t *in = call->in;
    size_t nf = 0;
    sl_cw_dim_t *filters = dims_of(call, in, &nf);
    if (!filters) return sl_front_fail_internal(call, SL_ENOMEM);
    list_t l = {.call = call};
    sl_cw_list_query_t q = {.account = call->account,
                            .ns = str_of(in, "Namespace"),
                            .name = str_of(in, "MetricName"),
                            .filters = filters,
                            .filter_count = nf,
                            .limit = LIST_PAGE};
    const char *token = str_of(in, "NextToken");
    if (token && !(q.after = token_decode(call->arena, token))) {
        sl_front_fail(call, INVALID_VALUE, "Request parameter NextToken is invalid");
        return;
    }
    const char *recent = str_of(in, "RecentlyActive"); /* PT3H: the model's only value */
    if (recent) q.active_since_ms = call->now_ms - 3 * 3600 * 1000;
    char *next = NULL;
    sl_xml_writer_t w;
    sl_enc_t *e = &call->enc;
    if (call->query) {
        sl_front_query_begin(call, &w, true);
        sl_xml_open(&w, "Metrics", NULL);
        l.w = &w;
    } else {
        sl_enc_map_begin(e);
        sl_enc_key(e, "Metrics");
        sl_enc_array_begin(e);
    }
    int rc = sl_cw_list(store(call), &q, on_metric, &l, &next);
    bool more = next != NULL;
    const char *token_out = more ? token_encode(call->arena, next) : NULL;
    free(next);
    if (rc || (more && !token_out)) return sl_front_fail_internal(call, rc ? rc : SL_ENOMEM);
    if (call->query) {
        sl_xml_close(&w);
        if (token_out) sl_xml_element(&w, "NextToken", token_out);
        sl_front_query_end(call, &w);
        return;
    }
    sl_enc_array_end(e);
    if (token_out) sl_enc_kv_cstr(e, "NextToken", token_out);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

static void op_unsupported(sl_front_call_t *call) {
    sl_front_fail(call, SL_AWS_INTERNAL_FAILURE, "%s is not supported by this server.",
                  call->op->name);
}

static sl_front_op_fn handler(const char *op_name) {
    if (strcmp(op_name, "PutMetricData") == 0) return op_put_metric_data;
    if (strcmp(op_name, "GetMetricStatistics") == 0) return op_get_metric_statistics;
    if (strcmp(op_name, "GetMetricData") == 0) return op_get_metric_data;
    if (strcmp(op_name, "ListMetrics") == 0) return op_list_metrics;
    return op_unsupported;
}

void sl_cwapi_describe(sl_cw_t *cw, sl_cwapi_protocol_t protocol, sl_front_service_t *svc) {
    static const sl_front_protocol_t protocols[] = {
        [SL_CWAPI_JSON] = SL_FRONT_PROTO_JSON,
        [SL_CWAPI_QUERY] = SL_FRONT_PROTO_QUERY,
        [SL_CWAPI_RPC_V2_CBOR] = SL_FRONT_PROTO_RPC_V2_CBOR,
    };
    bool query = protocol == SL_CWAPI_QUERY;
    *svc = (sl_front_service_t){
        .name = "monitoring", /* also the SigV4 scope of the JSON and RPC v2 descriptors */
        .protocol = protocols[protocol],
        .model = &sl_cloudwatch_model,
        .handler = handler,
        .signing_name = query ? sl_cloudwatch_model.signing_name : NULL,
        .json_content_type = "application/x-amz-json-1.0",
        .cbor_content_type = protocol == SL_CWAPI_RPC_V2_CBOR ? "application/cbor" : NULL,
        .xml_namespace = "http://monitoring.amazonaws.com/doc/2010-08-01/",
        .binding = cw,
    };
}
