/* The CloudWatch binding (see binding.h): PutMetricData, GetMetricStatistics, GetMetricData and
 * ListMetrics over the metric store (cloudwatch/cloudwatch.h), answering in the request's
 * protocol: AWS JSON 1.0 (call->enc) or Query (XML, call->query). */
#include "api/cloudwatch/binding.h"

#include "api/cloudwatch/model.h"
#include "core/common.h"
#include "core/time.h"
#include "wire/awserror.h"
#include "wire/enc.h"
#include "wire/value.h"
#include "wire/xml.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define INVALID_VALUE "InvalidParameterValue"
#define INVALID_COMBINATION "InvalidParameterCombination"
#define MISSING_PARAMETER "MissingParameter"

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
static bool datum_stats(sl_front_call_t *call, const sl_val_t *d, size_t index, sl_cw_stats_t *s) {
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
        for (size_t i = 0; i < nv; i++) {
            const sl_val_t *x = list_at(d, "Values", i);
            double c = nc ? list_at(d, "Counts", i)->u.num.d : 1;
            double val = x->u.num.d;
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
        if (!datum_stats(call, d, i + 1, &x->stats)) return;
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
    sl_xml_writer_t *w;
} points_t;

static void on_point(void *arg, int64_t time_ms, const sl_cw_stats_t *s, const char *unit) {
    points_t *p = arg;
    if (p->w) {
        char ts[32];
        format_time(time_ms, ts);
        sl_xml_open(p->w, "member", NULL);
        sl_xml_element(p->w, "Timestamp", ts);
        for (int i = 0; i < 5; i++)
            if (p->stats & (1 << i)) xml_double(p->w, stat_names[i], stat_value(s, 1 << i));
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
    if (!stats) {
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
    points_t p = {.call = call, .stats = stats};
    if (call->query) {
        sl_xml_writer_t w;
        sl_front_query_begin(call, &w, true);
        sl_xml_element(&w, "Label", m.name);
        sl_xml_open(&w, "Datapoints", NULL);
        p.w = &w;
        sl_cw_query(store(call), &m, start, end, period, str_of(in, "Unit"), on_point, &p);
        sl_xml_close(&w);
        sl_front_query_end(call, &w);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "Label", m.name);
    sl_enc_key(e, "Datapoints");
    sl_enc_array_begin(e);
    sl_cw_query(store(call), &m, start, end, period, str_of(in, "Unit"), on_point, &p);
    sl_enc_array_end(e);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

/* ---- GetMetricData ---- */

typedef struct {
    int64_t *times;
    double *values;
    size_t count, cap;
    int stat;
    sl_arena_t *arena;
} series_t;

static void on_series_point(void *arg, int64_t time_ms, const sl_cw_stats_t *s, const char *unit) {
    (void)unit;
    series_t *x = arg;
    if (x->count == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        int64_t *t = sl_arena_alloc(x->arena, cap * sizeof *t);
        double *v = sl_arena_alloc(x->arena, cap * sizeof *v);
        if (!t || !v) return;
        if (x->count) {
            memcpy(t, x->times, x->count * sizeof *t);
            memcpy(v, x->values, x->count * sizeof *v);
        }
        x->times = t;
        x->values = v;
        x->cap = cap;
    }
    x->times[x->count] = time_ms;
    x->values[x->count++] = stat_value(s, x->stat);
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
    series_t *results = sl_arena_calloc(call->arena, n ? n : 1, sizeof *results);
    if (!results) return sl_front_fail_internal(call, SL_ENOMEM);
    for (size_t i = 0; i < n; i++) {
        const sl_val_t *q = list_at(in, "MetricDataQueries", i);
        const sl_val_t *ms = sl_val_get(q, "MetricStat");
        if (!ms) {
            sl_front_fail(call, INVALID_VALUE,
                          "Metric math expressions are not supported by this server "
                          "(MetricDataQueries.member.%zu).",
                          i + 1);
            return;
        }
        const sl_val_t *metric = sl_val_get(ms, "Metric");
        results[i].stat = stat_bit(str_of(ms, "Stat"));
        results[i].arena = call->arena;
        if (!results[i].stat) {
            sl_front_fail(call, INVALID_VALUE,
                          "The value %s for parameter MetricDataQueries.member.%zu.MetricStat.Stat "
                          "is not supported by this server.",
                          str_of(ms, "Stat") ? str_of(ms, "Stat") : "", i + 1);
            return;
        }
        int64_t period = 0;
        sl_val_get_int(ms, "Period", &period);
        if (period <= 0 || period % 60 != 0) {
            sl_front_fail(call, INVALID_VALUE, "The parameter Period must be a multiple of 60.");
            return;
        }
        sl_cw_metric_t m = {.account = call->account,
                            .ns = str_of(metric, "Namespace"),
                            .name = str_of(metric, "MetricName")};
        m.dims = dims_of(call, metric, &m.dim_count);
        if (!m.dims || !m.ns || !m.name) return sl_front_fail_internal(call, SL_ENOMEM);
        sl_cw_query(store(call), &m, start, end, period, str_of(ms, "Unit"), on_series_point,
                    &results[i]);
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
        const sl_val_t *q = list_at(in, "MetricDataQueries", i);
        bool ret = true;
        sl_val_get_bool(q, "ReturnData", &ret);
        if (!ret) continue;
        const char *id = str_of(q, "Id"), *label = str_of(q, "Label");
        if (!label) label = str_of(sl_val_get(sl_val_get(q, "MetricStat"), "Metric"), "MetricName");
        const series_t *r = &results[i];
        if (call->query) {
            sl_xml_open(&w, "member", NULL);
            sl_xml_element(&w, "Id", id);
            sl_xml_element(&w, "Label", label);
            sl_xml_open(&w, "Timestamps", NULL);
            for (size_t k = 0; k < r->count; k++) {
                char ts[32];
                format_time(r->times[ascending ? k : r->count - 1 - k], ts);
                sl_xml_element(&w, "member", ts);
            }
            sl_xml_close(&w);
            sl_xml_open(&w, "Values", NULL);
            for (size_t k = 0; k < r->count; k++)
                xml_double(&w, "member", r->values[ascending ? k : r->count - 1 - k]);
            sl_xml_close(&w);
            sl_xml_element(&w, "StatusCode", "Complete");
            sl_xml_close(&w);
            continue;
        }
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "Id", id);
        sl_enc_kv_cstr(e, "Label", label);
        sl_enc_key(e, "Timestamps");
        sl_enc_array_begin(e);
        for (size_t k = 0; k < r->count; k++)
            sl_enc_timestamp_ms(e, r->times[ascending ? k : r->count - 1 - k]);
        sl_enc_array_end(e);
        sl_enc_key(e, "Values");
        sl_enc_array_begin(e);
        for (size_t k = 0; k < r->count; k++)
            sl_enc_double(e, r->values[ascending ? k : r->count - 1 - k]);
        sl_enc_array_end(e);
        sl_enc_kv_cstr(e, "StatusCode", "Complete");
        sl_enc_map_end(e);
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

static void op_list_metrics(sl_front_call_t *call) {
    const sl_val_t *in = call->in;
    size_t nf = 0;
    sl_cw_dim_t *filters = dims_of(call, in, &nf);
    if (!filters) return sl_front_fail_internal(call, SL_ENOMEM);
    list_t l = {.call = call};
    const char *ns = str_of(in, "Namespace"), *name = str_of(in, "MetricName");
    if (call->query) {
        sl_xml_writer_t w;
        sl_front_query_begin(call, &w, true);
        sl_xml_open(&w, "Metrics", NULL);
        l.w = &w;
        sl_cw_list(store(call), call->account, ns, name, filters, nf, on_metric, &l);
        sl_xml_close(&w);
        sl_front_query_end(call, &w);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "Metrics");
    sl_enc_array_begin(e);
    sl_cw_list(store(call), call->account, ns, name, filters, nf, on_metric, &l);
    sl_enc_array_end(e);
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
        .name = "cloudwatch",
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
