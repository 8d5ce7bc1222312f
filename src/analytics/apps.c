/* Kinesis Data Analytics applications of one account (see apps.h): the registry, AWS's rules for
 * names, versions and states, the validation of code against the inputs, and the application
 * records in analytics.db (the item store), which hold each application in the shape of
 * DescribeApplication's ApplicationDetail (sl_an_app_encode, the binding's encoder too). */
#include "analytics/apps.h"

#include "analytics/engine.h"
#include "analytics/internal.h"
#include "analytics/runner.h"
#include "catalog/itemstore.h"
#include "core/buf.h"
#include "core/common.h"
#include "core/log.h"
#include "firehose/reader.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char APPS_TABLE[] = "applications";

const char *sl_an_status_name(sl_an_status_t s) {
    static const char *const names[] = {"READY",    "STARTING", "RUNNING",
                                        "UPDATING", "STOPPING", "DELETING"};
    return (unsigned)s < SL_ARRAY_LEN(names) ? names[s] : "READY";
}

static bool fail(sl_an_err_t *err, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(sl_an_err_t *err, const char *type, const char *fmt, ...) {
    err->type = type;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}

/* ---- owned strings and copies ---- */

static int dup_opt(char **dst, const char *src) {
    *dst = NULL;
    if (!src) return 0;
    *dst = strndup(src, strlen(src));
    return *dst ? 0 : SL_ENOMEM;
}

static void schema_free(sl_an_schema_t *s) {
    free(s->row_path);
    free(s->row_delim);
    free(s->col_delim);
    free(s->encoding);
    for (size_t i = 0; i < s->ncols; i++) {
        free(s->cols[i].name);
        free(s->cols[i].sql_type);
        free(s->cols[i].mapping);
    }
    free(s->cols);
    memset(s, 0, sizeof *s);
}

static int schema_copy(sl_an_schema_t *d, const sl_an_schema_t *s) {
    memset(d, 0, sizeof *d);
    d->csv = s->csv;
    int rc = dup_opt(&d->row_path, s->row_path);
    if (!rc) rc = dup_opt(&d->row_delim, s->row_delim);
    if (!rc) rc = dup_opt(&d->col_delim, s->col_delim);
    if (!rc) rc = dup_opt(&d->encoding, s->encoding);
    if (!rc && s->ncols && !(d->cols = calloc(s->ncols, sizeof *d->cols))) rc = SL_ENOMEM;
    for (size_t i = 0; !rc && i < s->ncols; i++) {
        d->ncols++;
        rc = dup_opt(&d->cols[i].name, s->cols[i].name);
        if (!rc) rc = dup_opt(&d->cols[i].sql_type, s->cols[i].sql_type);
        if (!rc) rc = dup_opt(&d->cols[i].mapping, s->cols[i].mapping);
    }
    return rc;
}

static void input_free(sl_an_input_t *in) {
    free(in->resource_arn);
    free(in->role_arn);
    free(in->processor_arn);
    free(in->processor_role_arn);
    schema_free(&in->schema);
}

static int input_copy(sl_an_input_t *d, const sl_an_input_t *s) {
    *d = *s;
    d->resource_arn = d->role_arn = d->processor_arn = d->processor_role_arn = NULL;
    memset(&d->schema, 0, sizeof d->schema);
    int rc = dup_opt(&d->resource_arn, s->resource_arn);
    if (!rc) rc = dup_opt(&d->role_arn, s->role_arn);
    if (!rc) rc = dup_opt(&d->processor_arn, s->processor_arn);
    if (!rc) rc = dup_opt(&d->processor_role_arn, s->processor_role_arn);
    if (!rc) rc = schema_copy(&d->schema, &s->schema);
    return rc;
}

void sl_an_app_free(sl_an_app_t *a) {
    free(a->description);
    free(a->code);
    free(a->service_role);
    if (a->has_input) input_free(&a->input);
    for (size_t i = 0; i < a->noutputs; i++) {
        free(a->outputs[i].resource_arn);
        free(a->outputs[i].role_arn);
    }
    for (size_t i = 0; i < a->ntags; i++) {
        free(a->tags[i].key);
        free(a->tags[i].value);
    }
    free(a->tags);
    if (a->has_ref) sl_an_ref_free(&a->ref);
    for (size_t i = 0; i < a->ncwlogs; i++)
        sl_an_cwlog_free(&a->cwlogs[i]);
    memset(a, 0, sizeof *a);
}

void sl_an_ref_free(sl_an_refsrc_t *r) {
    free(r->bucket_arn);
    free(r->file_key);
    free(r->role_arn);
    schema_free(&r->schema);
    memset(r, 0, sizeof *r);
}

void sl_an_cwlog_free(sl_an_cwlog_t *c) {
    free(c->log_stream_arn);
    free(c->role_arn);
    memset(c, 0, sizeof *c);
}

int sl_an_app_copy(sl_an_app_t *d, const sl_an_app_t *s) {
    *d = *s;
    d->description = d->code = d->service_role = NULL;
    d->has_input = false;
    d->noutputs = d->ntags = d->ncwlogs = 0;
    d->tags = NULL;
    d->has_ref = false;
    int rc = dup_opt(&d->description, s->description);
    if (!rc) rc = dup_opt(&d->code, s->code);
    if (!rc) rc = dup_opt(&d->service_role, s->service_role);
    if (!rc && s->has_input) {
        d->has_input = true;
        rc = input_copy(&d->input, &s->input);
    }
    for (size_t i = 0; !rc && i < s->noutputs; i++) {
        d->outputs[i] = s->outputs[i];
        d->outputs[i].resource_arn = d->outputs[i].role_arn = NULL;
        d->noutputs++;
        rc = dup_opt(&d->outputs[i].resource_arn, s->outputs[i].resource_arn);
        if (!rc) rc = dup_opt(&d->outputs[i].role_arn, s->outputs[i].role_arn);
    }
    if (!rc && s->has_ref) {
        d->has_ref = true;
        d->ref = s->ref;
        d->ref.bucket_arn = d->ref.file_key = d->ref.role_arn = NULL;
        memset(&d->ref.schema, 0, sizeof d->ref.schema);
        rc = dup_opt(&d->ref.bucket_arn, s->ref.bucket_arn);
        if (!rc) rc = dup_opt(&d->ref.file_key, s->ref.file_key);
        if (!rc) rc = dup_opt(&d->ref.role_arn, s->ref.role_arn);
        if (!rc) rc = schema_copy(&d->ref.schema, &s->ref.schema);
    }
    for (size_t i = 0; !rc && i < s->ncwlogs; i++) {
        d->cwlogs[i] = s->cwlogs[i];
        d->cwlogs[i].log_stream_arn = d->cwlogs[i].role_arn = NULL;
        d->ncwlogs++;
        rc = dup_opt(&d->cwlogs[i].log_stream_arn, s->cwlogs[i].log_stream_arn);
        if (!rc) rc = dup_opt(&d->cwlogs[i].role_arn, s->cwlogs[i].role_arn);
    }
    if (!rc && s->ntags && !(d->tags = calloc(s->ntags, sizeof *d->tags))) rc = SL_ENOMEM;
    for (size_t i = 0; !rc && i < s->ntags; i++) {
        d->ntags++;
        rc = dup_opt(&d->tags[i].key, s->tags[i].key);
        if (!rc) rc = dup_opt(&d->tags[i].value, s->tags[i].value);
    }
    if (rc) sl_an_app_free(d);
    return rc;
}

void sl_an_new_id(sl_an_app_t *app, char id[SL_AN_ID_MAX + 1]) {
    if (app->next_id < 1) app->next_id = 1;
    snprintf(id, SL_AN_ID_MAX + 1, "%d.1", app->next_id++);
}

/* ---- ApplicationDetail: the answer of DescribeApplication and the stored record ---- */

static void enc_opt(sl_enc_t *e, const char *key, const char *s) {
    if (s) sl_enc_kv_cstr(e, key, s);
}

void sl_an_schema_encode(sl_enc_t *e, const sl_an_schema_t *s) {
    sl_enc_map_begin(e);
    sl_enc_key(e, "RecordFormat");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "RecordFormatType", s->csv ? "CSV" : "JSON");
    if (s->csv ? s->row_delim || s->col_delim : s->row_path != NULL) {
        sl_enc_key(e, "MappingParameters");
        sl_enc_map_begin(e);
        if (s->csv) {
            sl_enc_key(e, "CSVMappingParameters");
            sl_enc_map_begin(e);
            enc_opt(e, "RecordRowDelimiter", s->row_delim);
            enc_opt(e, "RecordColumnDelimiter", s->col_delim);
            sl_enc_map_end(e);
        } else {
            sl_enc_key(e, "JSONMappingParameters");
            sl_enc_map_begin(e);
            sl_enc_kv_cstr(e, "RecordRowPath", s->row_path);
            sl_enc_map_end(e);
        }
        sl_enc_map_end(e);
    }
    sl_enc_map_end(e);
    enc_opt(e, "RecordEncoding", s->encoding);
    sl_enc_key(e, "RecordColumns");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < s->ncols; i++) {
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "Name", s->cols[i].name);
        enc_opt(e, "Mapping", s->cols[i].mapping);
        sl_enc_kv_cstr(e, "SqlType", s->cols[i].sql_type);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    sl_enc_map_end(e);
}

static void enc_resource(sl_enc_t *e, const char *key, const char *arn, const char *role) {
    sl_enc_key(e, key);
    sl_enc_map_begin(e);
    enc_opt(e, "ResourceARN", arn);
    enc_opt(e, "RoleARN", role);
    sl_enc_map_end(e);
}

/* The in-application stream names of an input: <prefix>_001 ... */
static void inapp_name(const sl_an_input_t *in, int i, char *out, size_t cap) {
    snprintf(out, cap, "%s_%03d", in->name_prefix, (i + 1) % 1000);
}

void sl_an_inputs_encode(sl_enc_t *e, const sl_an_app_t *a) {
    sl_enc_array_begin(e);
    if (a->has_input) {
        const sl_an_input_t *in = &a->input;
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "InputId", in->id);
        sl_enc_kv_cstr(e, "NamePrefix", in->name_prefix);
        sl_enc_key(e, "InAppStreamNames");
        sl_enc_array_begin(e);
        for (int i = 0; i < in->parallelism; i++) {
            char name[SL_AN_INAPP_NAME_MAX + 16];
            inapp_name(in, i, name, sizeof name);
            sl_enc_cstr(e, name);
        }
        sl_enc_array_end(e);
        if (in->processor_arn) {
            sl_enc_key(e, "InputProcessingConfigurationDescription");
            sl_enc_map_begin(e);
            enc_resource(e, "InputLambdaProcessorDescription", in->processor_arn,
                         in->processor_role_arn);
            sl_enc_map_end(e);
        }
        enc_resource(
            e, in->firehose ? "KinesisFirehoseInputDescription" : "KinesisStreamsInputDescription",
            in->resource_arn, in->role_arn);
        sl_enc_key(e, "InputSchema");
        sl_an_schema_encode(e, &in->schema);
        sl_enc_key(e, "InputParallelism");
        sl_enc_map_begin(e);
        sl_enc_kv_int(e, "Count", in->parallelism);
        sl_enc_map_end(e);
        if (in->starting_position[0]) {
            sl_enc_key(e, "InputStartingPositionConfiguration");
            sl_enc_map_begin(e);
            sl_enc_kv_cstr(e, "InputStartingPosition", in->starting_position);
            sl_enc_map_end(e);
        }
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
}

void sl_an_outputs_encode(sl_enc_t *e, const sl_an_app_t *a) {
    sl_enc_array_begin(e);
    for (size_t i = 0; i < a->noutputs; i++) {
        const sl_an_output_t *o = &a->outputs[i];
        static const char *const kinds[] = {"KinesisStreamsOutputDescription",
                                            "KinesisFirehoseOutputDescription",
                                            "LambdaOutputDescription"};
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "OutputId", o->id);
        sl_enc_kv_cstr(e, "Name", o->name);
        enc_resource(e, kinds[o->kind], o->resource_arn, o->role_arn);
        sl_enc_key(e, "DestinationSchema");
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "RecordFormatType", o->csv ? "CSV" : "JSON");
        sl_enc_map_end(e);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
}

void sl_an_refs_encode(sl_enc_t *e, const sl_an_app_t *a) {
    sl_enc_array_begin(e);
    if (a->has_ref) {
        const sl_an_refsrc_t *r = &a->ref;
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "ReferenceId", r->id);
        sl_enc_kv_cstr(e, "TableName", r->table);
        sl_enc_key(e, "S3ReferenceDataSourceDescription");
        sl_enc_map_begin(e);
        enc_opt(e, "BucketARN", r->bucket_arn);
        enc_opt(e, "FileKey", r->file_key);
        enc_opt(e, "ReferenceRoleARN", r->role_arn);
        sl_enc_map_end(e);
        sl_enc_key(e, "ReferenceSchema");
        sl_an_schema_encode(e, &r->schema);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
}

void sl_an_cwlogs_encode(sl_enc_t *e, const sl_an_app_t *a) {
    sl_enc_array_begin(e);
    for (size_t i = 0; i < a->ncwlogs; i++) {
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "CloudWatchLoggingOptionId", a->cwlogs[i].id);
        enc_opt(e, "LogStreamARN", a->cwlogs[i].log_stream_arn);
        enc_opt(e, "RoleARN", a->cwlogs[i].role_arn);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
}

void sl_an_app_encode(sl_enc_t *e, const sl_an_app_t *a, bool stored) {
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "ApplicationName", a->name);
    enc_opt(e, "ApplicationDescription", a->description);
    sl_enc_kv_cstr(e, "ApplicationARN", a->arn);
    sl_enc_kv_cstr(e, "ApplicationStatus", sl_an_status_name(a->status));
    sl_enc_key(e, "CreateTimestamp");
    sl_enc_timestamp_ms(e, a->created_ms);
    sl_enc_key(e, "LastUpdateTimestamp");
    sl_enc_timestamp_ms(e, a->updated_ms);
    sl_enc_key(e, "InputDescriptions");
    sl_an_inputs_encode(e, a);
    sl_enc_key(e, "OutputDescriptions");
    sl_an_outputs_encode(e, a);
    sl_enc_key(e, "ReferenceDataSourceDescriptions");
    sl_an_refs_encode(e, a);
    sl_enc_key(e, "CloudWatchLoggingOptionDescriptions");
    sl_an_cwlogs_encode(e, a);
    enc_opt(e, "ApplicationCode", a->code);
    sl_enc_kv_int(e, "ApplicationVersionId", a->version);
    if (stored) {
        /* what only the store keeps */
        enc_opt(e, "ServiceExecutionRole", a->service_role);
        sl_enc_kv_int(e, "NextId", a->next_id);
        sl_enc_kv_int(e, "StartedAt", a->started_ms);
        sl_enc_key(e, "Tags");
        sl_enc_array_begin(e);
        for (size_t i = 0; i < a->ntags; i++) {
            sl_enc_map_begin(e);
            sl_enc_kv_cstr(e, "Key", a->tags[i].key);
            enc_opt(e, "Value", a->tags[i].value);
            sl_enc_map_end(e);
        }
        sl_enc_array_end(e);
    }
    sl_enc_map_end(e);
}

void sl_an_app_encode_v2(sl_enc_t *e, const sl_an_app_t *a) {
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "ApplicationARN", a->arn);
    enc_opt(e, "ApplicationDescription", a->description);
    sl_enc_kv_cstr(e, "ApplicationName", a->name);
    sl_enc_kv_cstr(e, "RuntimeEnvironment", "SQL-1_0");
    enc_opt(e, "ServiceExecutionRole", a->service_role);
    sl_enc_kv_cstr(e, "ApplicationStatus", sl_an_status_name(a->status));
    sl_enc_kv_int(e, "ApplicationVersionId", a->version);
    sl_enc_key(e, "CreateTimestamp");
    sl_enc_timestamp_ms(e, a->created_ms);
    sl_enc_key(e, "LastUpdateTimestamp");
    sl_enc_timestamp_ms(e, a->updated_ms);
    sl_enc_key(e, "ApplicationConfigurationDescription");
    sl_enc_map_begin(e);
    sl_enc_key(e, "SqlApplicationConfigurationDescription");
    sl_enc_map_begin(e);
    sl_enc_key(e, "InputDescriptions");
    sl_an_inputs_encode(e, a);
    sl_enc_key(e, "OutputDescriptions");
    sl_an_outputs_encode(e, a);
    sl_enc_key(e, "ReferenceDataSourceDescriptions");
    sl_an_refs_encode(e, a);
    sl_enc_map_end(e);
    sl_enc_key(e, "ApplicationCodeConfigurationDescription");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "CodeContentType", "PLAINTEXT");
    sl_enc_key(e, "CodeContentDescription");
    sl_enc_map_begin(e);
    enc_opt(e, "TextContent", a->code);
    sl_enc_kv_int(e, "CodeSize", a->code ? (int64_t)strlen(a->code) : 0);
    sl_enc_map_end(e);
    sl_enc_map_end(e);
    sl_enc_map_end(e);
    sl_enc_key(e, "CloudWatchLoggingOptionDescriptions");
    sl_an_cwlogs_encode(e, a);
    sl_enc_map_end(e);
}

/* ---- decoding: the request shapes (Input, Output, SourceSchema, Tags) and stored records ---- */

static char *val_dup(const sl_val_t *map, const char *key) {
    size_t len;
    const char *s = sl_val_get_str(map, key, &len);
    return s ? strndup(s, len) : NULL;
}

static void val_copy(const sl_val_t *map, const char *key, char *dst, size_t cap) {
    size_t len;
    const char *s = sl_val_get_str(map, key, &len);
    if (s) snprintf(dst, cap, "%.*s", (int)len, s);
}

int sl_an_schema_decode(const sl_val_t *v, sl_an_schema_t *s) {
    memset(s, 0, sizeof *s);
    const sl_val_t *fmt = sl_val_get(v, "RecordFormat");
    size_t len;
    const char *type = sl_val_get_str(fmt, "RecordFormatType", &len);
    s->csv = type && len == 3 && memcmp(type, "CSV", 3) == 0;
    const sl_val_t *mp = sl_val_get(fmt, "MappingParameters");
    const sl_val_t *csv = sl_val_get(mp, "CSVMappingParameters");
    const sl_val_t *json = sl_val_get(mp, "JSONMappingParameters");
    if (csv) {
        s->row_delim = val_dup(csv, "RecordRowDelimiter");
        s->col_delim = val_dup(csv, "RecordColumnDelimiter");
    }
    if (json) s->row_path = val_dup(json, "RecordRowPath");
    s->encoding = val_dup(v, "RecordEncoding");
    const sl_val_t *cols = sl_val_get(v, "RecordColumns");
    size_t n = cols && cols->type == SL_VAL_ARRAY ? cols->u.arr.count : 0;
    if (n && !(s->cols = calloc(n, sizeof *s->cols))) return SL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const sl_val_t *c = cols->u.arr.items[i];
        sl_an_column_def_t *d = &s->cols[s->ncols++];
        d->name = val_dup(c, "Name");
        d->sql_type = val_dup(c, "SqlType");
        d->mapping = val_dup(c, "Mapping");
        if (!d->name || !d->sql_type) return SL_ENOMEM;
    }
    return 0;
}

/* An Input of a request (CreateApplication, AddApplicationInput) or a stored InputDescription. */
int sl_an_input_decode(const sl_val_t *v, sl_an_input_t *in) {
    memset(in, 0, sizeof *in);
    val_copy(v, "InputId", in->id, sizeof in->id);
    val_copy(v, "NamePrefix", in->name_prefix, sizeof in->name_prefix);
    const sl_val_t *src = sl_val_get(v, "KinesisStreamsInput");
    if (!src) src = sl_val_get(v, "KinesisStreamsInputDescription");
    if (!src) {
        src = sl_val_get(v, "KinesisFirehoseInput");
        if (!src) src = sl_val_get(v, "KinesisFirehoseInputDescription");
        in->firehose = src != NULL;
    }
    in->resource_arn = val_dup(src, "ResourceARN");
    in->role_arn = val_dup(src, "RoleARN");
    const sl_val_t *proc = sl_val_get(v, "InputProcessingConfiguration");
    if (!proc) proc = sl_val_get(v, "InputProcessingConfigurationDescription");
    const sl_val_t *lambda = sl_val_get(proc, "InputLambdaProcessor");
    if (!lambda) lambda = sl_val_get(proc, "InputLambdaProcessorDescription");
    if (lambda) {
        in->processor_arn = val_dup(lambda, "ResourceARN");
        in->processor_role_arn = val_dup(lambda, "RoleARN");
    }
    int64_t count = 1;
    sl_val_get_int(sl_val_get(v, "InputParallelism"), "Count", &count);
    in->parallelism = (int)count;
    val_copy(sl_val_get(v, "InputStartingPositionConfiguration"), "InputStartingPosition",
             in->starting_position, sizeof in->starting_position);
    return sl_an_schema_decode(sl_val_get(v, "InputSchema"), &in->schema);
}

/* An Output of a request or a stored OutputDescription. */
int sl_an_output_decode(const sl_val_t *v, sl_an_output_t *o) {
    memset(o, 0, sizeof *o);
    val_copy(v, "OutputId", o->id, sizeof o->id);
    val_copy(v, "Name", o->name, sizeof o->name);
    static const char *const names[][2] = {
        {"KinesisStreamsOutput", "KinesisStreamsOutputDescription"},
        {"KinesisFirehoseOutput", "KinesisFirehoseOutputDescription"},
        {"LambdaOutput", "LambdaOutputDescription"},
    };
    for (int k = 0; k < 3; k++) {
        const sl_val_t *d = sl_val_get(v, names[k][0]);
        if (!d) d = sl_val_get(v, names[k][1]);
        if (!d) continue;
        o->kind = (sl_an_output_kind_t)k;
        o->resource_arn = val_dup(d, "ResourceARN");
        o->role_arn = val_dup(d, "RoleARN");
        break;
    }
    size_t len;
    const char *type = sl_val_get_str(sl_val_get(v, "DestinationSchema"), "RecordFormatType", &len);
    o->csv = type && len == 3 && memcmp(type, "CSV", 3) == 0;
    return 0;
}

int sl_an_tags_decode(const sl_val_t *list, sl_an_tag_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    size_t count = list && list->type == SL_VAL_ARRAY ? list->u.arr.count : 0;
    if (!count) return 0;
    sl_an_tag_t *tags = calloc(count, sizeof *tags);
    if (!tags) return SL_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        tags[i].key = val_dup(list->u.arr.items[i], "Key");
        tags[i].value = val_dup(list->u.arr.items[i], "Value");
    }
    *out = tags;
    *n = count;
    return 0;
}

int sl_an_ref_decode(const sl_val_t *v, sl_an_refsrc_t *r) {
    memset(r, 0, sizeof *r);
    val_copy(v, "ReferenceId", r->id, sizeof r->id);
    val_copy(v, "TableName", r->table, sizeof r->table);
    const sl_val_t *s3 = sl_val_get(v, "S3ReferenceDataSource");
    if (!s3) s3 = sl_val_get(v, "S3ReferenceDataSourceDescription");
    r->bucket_arn = val_dup(s3, "BucketARN");
    r->file_key = val_dup(s3, "FileKey");
    r->role_arn = val_dup(s3, "ReferenceRoleARN");
    return sl_an_schema_decode(sl_val_get(v, "ReferenceSchema"), &r->schema);
}

int sl_an_cwlog_decode(const sl_val_t *v, sl_an_cwlog_t *c) {
    memset(c, 0, sizeof *c);
    val_copy(v, "CloudWatchLoggingOptionId", c->id, sizeof c->id);
    c->log_stream_arn = val_dup(v, "LogStreamARN");
    c->role_arn = val_dup(v, "RoleARN");
    return 0;
}

static int app_decode(const sl_val_t *v, sl_an_app_t *a) {
    memset(a, 0, sizeof *a);
    val_copy(v, "ApplicationName", a->name, sizeof a->name);
    val_copy(v, "ApplicationARN", a->arn, sizeof a->arn);
    a->description = val_dup(v, "ApplicationDescription");
    a->code = val_dup(v, "ApplicationCode");
    a->service_role = val_dup(v, "ServiceExecutionRole");
    int64_t n = 0;
    sl_val_get_int(v, "ApplicationVersionId", &a->version);
    sl_val_get_int(v, "NextId", &n);
    a->next_id = (int)n;
    sl_val_get_int(v, "StartedAt", &a->started_ms);
    const sl_val_t *ts = sl_val_get(v, "CreateTimestamp");
    if (ts && ts->type == SL_VAL_NUMBER) a->created_ms = (int64_t)(ts->u.num.d * 1000.0 + 0.5);
    ts = sl_val_get(v, "LastUpdateTimestamp");
    if (ts && ts->type == SL_VAL_NUMBER) a->updated_ms = (int64_t)(ts->u.num.d * 1000.0 + 0.5);
    size_t len;
    const char *status = sl_val_get_str(v, "ApplicationStatus", &len);
    /* a running application resumes running after a restart */
    a->status =
        status && len == 7 && memcmp(status, "RUNNING", 7) == 0 ? SL_AN_RUNNING : SL_AN_READY;
    int rc = 0;
    const sl_val_t *ins = sl_val_get(v, "InputDescriptions");
    if (ins && ins->type == SL_VAL_ARRAY && ins->u.arr.count) {
        a->has_input = true;
        rc = sl_an_input_decode(ins->u.arr.items[0], &a->input);
    }
    const sl_val_t *outs = sl_val_get(v, "OutputDescriptions");
    for (size_t i = 0; !rc && outs && outs->type == SL_VAL_ARRAY && i < outs->u.arr.count &&
                       i < SL_AN_OUTPUTS_MAX;
         i++) {
        rc = sl_an_output_decode(outs->u.arr.items[i], &a->outputs[i]);
        a->noutputs++;
    }
    const sl_val_t *refs = sl_val_get(v, "ReferenceDataSourceDescriptions");
    if (!rc && refs && refs->type == SL_VAL_ARRAY && refs->u.arr.count) {
        a->has_ref = true;
        rc = sl_an_ref_decode(refs->u.arr.items[0], &a->ref);
    }
    const sl_val_t *cws = sl_val_get(v, "CloudWatchLoggingOptionDescriptions");
    for (size_t i = 0;
         !rc && cws && cws->type == SL_VAL_ARRAY && i < cws->u.arr.count && i < SL_AN_CWLOGS_MAX;
         i++) {
        rc = sl_an_cwlog_decode(cws->u.arr.items[i], &a->cwlogs[i]);
        a->ncwlogs++;
    }
    if (!rc) rc = sl_an_tags_decode(sl_val_get(v, "Tags"), &a->tags, &a->ntags);
    return rc;
}

/* ---- the registry ---- */

struct sl_an_apps {
    sl_an_apps_config_t cfg;
    char region[64], account_id[16];
    char path[1200]; /* analytics.db; runners keep their positions beside it */
    sl_itemstore_t *store;
    pthread_mutex_t mu;
    sl_an_app_t **apps; /* sorted by name */
    size_t count;
    sl_an_runner_t **runners; /* runners[i] belongs to apps[i] (NULL when not running) */
    int discovering;          /* DiscoverInputSchema threads running (mu) */
    pthread_cond_t discovered;
};

sl_kinesis_t *sl_an_apps_kinesis(sl_an_apps_t *s) {
    return s->cfg.kinesis;
}

struct sl_firehose *sl_an_apps_firehose(sl_an_apps_t *s) {
    return s->cfg.firehose;
}

sl_objstore_t *sl_an_apps_objstore(sl_an_apps_t *s) {
    return s->cfg.objstore;
}

void sl_an_apps_discovering(sl_an_apps_t *s, int delta) {
    pthread_mutex_lock(&s->mu);
    s->discovering += delta;
    if (s->discovering == 0) pthread_cond_broadcast(&s->discovered);
    pthread_mutex_unlock(&s->mu);
}

void sl_an_apps_quiesce(sl_an_apps_t *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    while (s->discovering > 0)
        pthread_cond_wait(&s->discovered, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

static int store_put(sl_an_apps_t *s, const sl_an_app_t *a) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_an_app_encode(&e, a, true);
    if (sl_buf_failed(&b)) return SL_ENOMEM;
    sl_itemstore_op_t op = {SL_ITEMSTORE_PUT_ITEM, APPS_TABLE, a->name,
                            strlen(a->name),       b.data,     b.len};
    int rc = sl_itemstore_write(s->store, &op, 1);
    sl_buf_free(&b);
    return rc;
}

static int store_delete(sl_an_apps_t *s, const char *name) {
    sl_itemstore_op_t op = {SL_ITEMSTORE_DELETE_ITEM, APPS_TABLE, name, strlen(name), NULL, 0};
    return sl_itemstore_write(s->store, &op, 1);
}

static size_t seek(const sl_an_apps_t *s, const char *name, bool *found) {
    size_t lo = 0, hi = s->count;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, s->apps[mid]->name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int insert_at(sl_an_apps_t *s, size_t at, sl_an_app_t *a) {
    sl_an_app_t **apps = realloc(s->apps, (s->count + 1) * sizeof *apps);
    if (!apps) return SL_ENOMEM;
    s->apps = apps;
    sl_an_runner_t **runners = realloc(s->runners, (s->count + 1) * sizeof *runners);
    if (!runners) return SL_ENOMEM;
    s->runners = runners;
    memmove(&s->apps[at + 1], &s->apps[at], (s->count - at) * sizeof *apps);
    memmove(&s->runners[at + 1], &s->runners[at], (s->count - at) * sizeof *runners);
    s->apps[at] = a;
    s->runners[at] = NULL;
    s->count++;
    return 0;
}

static void remove_at(sl_an_apps_t *s, size_t at) {
    sl_an_app_free(s->apps[at]);
    free(s->apps[at]);
    memmove(&s->apps[at], &s->apps[at + 1], (s->count - at - 1) * sizeof *s->apps);
    memmove(&s->runners[at], &s->runners[at + 1], (s->count - at - 1) * sizeof *s->runners);
    s->count--;
}

static int load_item(void *ctx, const char *table, const void *key, size_t key_len, const void *val,
                     size_t len) {
    (void)key;
    (void)key_len;
    sl_an_apps_t *s = ctx;
    if (strcmp(table, APPS_TABLE) != 0) return 0;
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    char *copy = sl_arena_strndup(&arena, val, len);
    sl_val_t *v = NULL;
    const char *reason;
    int rc = copy && sl_json_parse(copy, len, &arena, &v, &reason) == 0 ? 0 : SL_ECORRUPT;
    sl_an_app_t *a = rc ? NULL : calloc(1, sizeof *a);
    if (!rc && !a) rc = SL_ENOMEM;
    if (!rc) rc = app_decode(v, a);
    bool found;
    size_t at = rc ? 0 : seek(s, a->name, &found);
    if (!rc) rc = insert_at(s, at, a);
    if (rc && a) {
        sl_an_app_free(a);
        free(a);
    }
    sl_arena_deinit(&arena);
    if (rc)
        SL_ERROR("analytics: an application record of account %s is unreadable: %s", s->account_id,
                 sl_strerror(rc));
    return rc;
}

static int load_table(void *ctx, const char *table, const void *meta, size_t len) {
    (void)ctx;
    (void)table;
    (void)meta;
    (void)len;
    return 0;
}

int sl_an_apps_open(const sl_an_apps_config_t *cfg, sl_an_apps_t **out) {
    sl_an_apps_t *s = calloc(1, sizeof *s);
    if (!s) return SL_ENOMEM;
    s->cfg = *cfg;
    snprintf(s->region, sizeof s->region, "%s", cfg->region);
    snprintf(s->account_id, sizeof s->account_id, "%s", cfg->account_id);
    s->cfg.region = s->region;
    s->cfg.account_id = s->account_id;
    snprintf(s->path, sizeof s->path, "%s", cfg->path);
    s->cfg.path = s->path;
    if (s->cfg.poll_ms <= 0) s->cfg.poll_ms = 200;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->discovered, NULL);
    int rc = sl_itemstore_open(cfg->path, &s->store);
    if (rc == 0) rc = sl_itemstore_load(s->store, load_table, load_item, s);
    if (rc) {
        sl_an_apps_close(s);
        return rc;
    }
    /* applications that were running run again, from where they stopped */
    for (size_t i = 0; i < s->count; i++) {
        if (s->apps[i]->status != SL_AN_RUNNING) continue;
        rc = sl_an_runner_start(&s->cfg, s->path, s->apps[i], true, &s->runners[i]);
        if (rc)
            SL_ERROR("analytics: application %s of account %s cannot run: %s", s->apps[i]->name,
                     s->account_id, sl_strerror(rc));
    }
    *out = s;
    return 0;
}

void sl_an_apps_close(sl_an_apps_t *s) {
    if (!s) return;
    sl_an_apps_quiesce(s);
    for (size_t i = 0; i < s->count; i++) {
        sl_an_runner_stop(s->runners[i]);
        sl_an_app_free(s->apps[i]);
        free(s->apps[i]);
    }
    free(s->apps);
    free(s->runners);
    sl_itemstore_close(s->store);
    pthread_cond_destroy(&s->discovered);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- validation ---- */

/* Checks the input's schema and the code against it (a scratch engine: the input's in-app
 * streams, then the code). */
static bool validate(const sl_an_app_t *a, sl_an_err_t *err) {
    if (a->has_input) {
        const sl_an_input_t *in = &a->input;
        if (in->parallelism < 1 || in->parallelism > SL_AN_PARALLELISM_MAX)
            return fail(err, "InvalidArgumentException",
                        "InputParallelism count must be between 1 and %d", SL_AN_PARALLELISM_MAX);
        if (!in->resource_arn)
            return fail(err, "InvalidArgumentException",
                        "Either KinesisStreamsInput or KinesisFirehoseInput must be specified");
    }
    for (size_t i = 0; i < a->noutputs; i++)
        if (!a->outputs[i].resource_arn)
            return fail(err, "InvalidArgumentException",
                        "Exactly one of KinesisStreamsOutput, KinesisFirehoseOutput or "
                        "LambdaOutput must be specified");
    if (a->has_ref && !a->ref.schema.ncols)
        return fail(err, "InvalidArgumentException", "ReferenceSchema needs RecordColumns");
    sl_an_engine_t *eng = NULL;
    sl_an_options_t opt = sl_an_options_default();
    if (sl_an_engine_create(&opt, 0, &eng) != 0)
        return fail(err, "ServiceUnavailableException", "Out of memory.");
    /* the inputs' streams, the reference table (empty here) and the code */
    bool ok = sl_an_runner_prepare(eng, a, NULL, err);
    sl_an_engine_destroy(eng);
    return ok;
}

/* Outputs must name in-application streams the code creates (checked at start, as AWS). */
static bool validate_outputs(const sl_an_app_t *a, sl_an_err_t *err) {
    sl_an_engine_t *eng = NULL;
    sl_an_options_t opt = sl_an_options_default();
    if (sl_an_engine_create(&opt, 0, &eng) != 0)
        return fail(err, "ServiceUnavailableException", "Out of memory.");
    bool ok = sl_an_runner_prepare(eng, a, NULL, err);
    for (size_t i = 0; ok && i < a->noutputs; i++) {
        const sl_sql_column_t *cols;
        size_t n;
        if (sl_an_engine_columns(eng, a->outputs[i].name, &cols, &n) != 0)
            ok =
                fail(err, "InvalidApplicationConfigurationException",
                     "Output stream %s does not exist in the application code", a->outputs[i].name);
    }
    sl_an_engine_destroy(eng);
    return ok;
}

/* ---- operations ---- */

bool sl_an_create(sl_an_apps_t *s, sl_an_app_t *app, int64_t now_ms, sl_an_err_t *err) {
    snprintf(app->arn, sizeof app->arn, "arn:aws:kinesisanalytics:%s:%s:application/%s", s->region,
             s->account_id, app->name);
    app->status = SL_AN_READY;
    app->version = 1;
    app->created_ms = app->updated_ms = now_ms;
    app->next_id = 1;
    if (app->has_input) sl_an_new_id(app, app->input.id);
    for (size_t i = 0; i < app->noutputs; i++)
        sl_an_new_id(app, app->outputs[i].id);
    if (app->has_ref) sl_an_new_id(app, app->ref.id);
    for (size_t i = 0; i < app->ncwlogs; i++)
        sl_an_new_id(app, app->cwlogs[i].id);
    if (!validate(app, err)) return false;
    pthread_mutex_lock(&s->mu);
    bool found;
    size_t at = seek(s, app->name, &found);
    bool ok = true;
    if (found)
        ok = fail(err, "ResourceInUseException", "Application %s already exists", app->name);
    else if (s->count >= SL_AN_APPS_MAX)
        ok = fail(err, "LimitExceededException",
                  "Number of applications in the account exceeds the limit (%d)", SL_AN_APPS_MAX);
    sl_an_app_t *copy = ok ? calloc(1, sizeof *copy) : NULL;
    if (ok && (!copy || sl_an_app_copy(copy, app) != 0)) {
        free(copy);
        copy = NULL;
        ok = fail(err, "ServiceUnavailableException", "Out of memory.");
    }
    int rc = ok ? store_put(s, copy) : 0;
    if (ok && rc) ok = fail(err, "ServiceUnavailableException", "%s", sl_strerror(rc));
    if (ok && (rc = insert_at(s, at, copy)) != 0)
        ok = fail(err, "ServiceUnavailableException", "%s", sl_strerror(rc));
    if (!ok && copy) {
        sl_an_app_free(copy);
        free(copy);
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static bool not_found(sl_an_err_t *err, const char *name) {
    return fail(err, "ResourceNotFoundException", "Application %s is not found", name);
}

bool sl_an_describe(sl_an_apps_t *s, const char *name, sl_an_app_t *out, sl_an_err_t *err) {
    pthread_mutex_lock(&s->mu);
    bool found;
    size_t at = seek(s, name, &found);
    bool ok = found ? sl_an_app_copy(out, s->apps[at]) == 0 ||
                          fail(err, "ServiceUnavailableException", "Out of memory.")
                    : not_found(err, name);
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static size_t find_arn(const sl_an_apps_t *s, const char *arn) {
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->apps[i]->arn, arn) == 0) return i;
    return s->count;
}

bool sl_an_describe_arn(sl_an_apps_t *s, const char *arn, sl_an_app_t *out, sl_an_err_t *err) {
    pthread_mutex_lock(&s->mu);
    size_t at = find_arn(s, arn);
    bool ok = at < s->count
                  ? sl_an_app_copy(out, s->apps[at]) == 0 ||
                        fail(err, "ServiceUnavailableException", "Out of memory.")
                  : fail(err, "ResourceNotFoundException", "Resource %s is not found", arn);
    pthread_mutex_unlock(&s->mu);
    return ok;
}

bool sl_an_list(sl_an_apps_t *s, const char *exclusive_start, int limit, sl_an_summary_t *out,
                size_t *count, bool *more, sl_an_err_t *err) {
    (void)err;
    pthread_mutex_lock(&s->mu);
    size_t i = 0;
    if (exclusive_start) {
        bool found;
        i = seek(s, exclusive_start, &found);
        if (found) i++;
    }
    size_t n = 0;
    for (; i < s->count && n < (size_t)limit; i++, n++) {
        snprintf(out[n].name, sizeof out[n].name, "%s", s->apps[i]->name);
        snprintf(out[n].arn, sizeof out[n].arn, "%s", s->apps[i]->arn);
        out[n].status = s->apps[i]->status;
        out[n].version = s->apps[i]->version;
    }
    *count = n;
    *more = i < s->count;
    pthread_mutex_unlock(&s->mu);
    return true;
}

/* A stopped or deleted application no longer holds its delivery stream's records (a running
 * one holds them across restarts: runner.c). */
static void release_hold(sl_an_apps_t *s, const char *name) {
    if (!s->cfg.firehose) return;
    char holder[SL_AN_APP_NAME_MAX + 32];
    sl_an_fh_holder(name, holder, sizeof holder);
    int rc = sl_firehose_hold_release(s->cfg.firehose, holder);
    if (rc) SL_WARN("analytics: the delivery stream hold of %s stays: %s", name, sl_strerror(rc));
}

bool sl_an_delete(sl_an_apps_t *s, const char *name, int64_t create_ms, sl_an_err_t *err) {
    pthread_mutex_lock(&s->mu);
    bool found;
    size_t at = seek(s, name, &found);
    bool ok = found || not_found(err, name);
    /* to the second: botocore sends whole seconds (its unixTimestamp serializer drops the
     * fraction DescribeApplication gave) */
    if (ok && create_ms / 1000 != s->apps[at]->created_ms / 1000)
        ok = fail(err, "ResourceNotFoundException",
                  "Application %s with the provided create timestamp is not found", name);
    int rc = ok ? store_delete(s, name) : 0;
    if (ok && rc) ok = fail(err, "ServiceUnavailableException", "%s", sl_strerror(rc));
    if (ok) {
        sl_an_runner_stop(s->runners[at]); /* its last positions and state are saved here */
        release_hold(s, name);
        remove_at(s, at);
        /* ... and go with the application: one created later with its name starts afresh */
        static const char *const kept[] = {"pos", "state", "pos.tmp", "state.tmp"};
        for (size_t i = 0; i < SL_ARRAY_LEN(kept); i++) {
            char path[sizeof s->path + SL_AN_APP_NAME_MAX + 16];
            snprintf(path, sizeof path, "%s.%s.%s", s->path, name, kept[i]);
            unlink(path);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

bool sl_an_start(sl_an_apps_t *s, const char *name, const char *const *ids,
                 const char *const *positions, size_t n, int64_t now_ms, sl_an_err_t *err) {
    pthread_mutex_lock(&s->mu);
    bool found;
    size_t at = seek(s, name, &found);
    bool ok = found || not_found(err, name);
    sl_an_app_t *a = ok ? s->apps[at] : NULL;
    if (ok && a->status != SL_AN_READY)
        ok = fail(err, "ResourceInUseException",
                  "Application %s is in %s state, it must be in READY state", name,
                  sl_an_status_name(a->status));
    if (ok && !a->has_input)
        ok = fail(err, "InvalidApplicationConfigurationException",
                  "Application %s has no input configured", name);
    for (size_t i = 0; ok && i < n; i++)
        if (strcmp(ids[i], a->input.id) != 0)
            ok = fail(err, "InvalidArgumentException", "Input %s is not found in application %s",
                      ids[i], name);
    if (ok && n == 0)
        ok = fail(err, "InvalidArgumentException",
                  "InputConfigurations must name the application's input %s", a->input.id);
    if (ok && a->input.firehose && strcmp(positions[n - 1], "TRIM_HORIZON") == 0)
        ok = fail(err, "InvalidArgumentException",
                  "TRIM_HORIZON is not available for a Kinesis Data Firehose delivery stream "
                  "input (NOW or LAST_STOPPED_POINT)");
    if (ok) ok = validate_outputs(a, err);
    if (ok) {
        snprintf(a->input.starting_position, sizeof a->input.starting_position, "%s",
                 positions[n - 1]);
        a->status = SL_AN_RUNNING;
        a->updated_ms = a->started_ms = now_ms;
        int rc = store_put(s, a);
        if (rc == 0) rc = sl_an_runner_start(&s->cfg, s->path, a, false, &s->runners[at]);
        if (rc) {
            a->status = SL_AN_READY;
            store_put(s, a);
            ok = fail(err, "ServiceUnavailableException", "%s", sl_strerror(rc));
        }
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

bool sl_an_stop(sl_an_apps_t *s, const char *name, int64_t now_ms, sl_an_err_t *err) {
    pthread_mutex_lock(&s->mu);
    bool found;
    size_t at = seek(s, name, &found);
    bool ok = found || not_found(err, name);
    if (ok && s->apps[at]->status == SL_AN_RUNNING) {
        /* the runner saves its positions (LAST_STOPPED_POINT) before it ends */
        sl_an_runner_stop(s->runners[at]);
        s->runners[at] = NULL;
        release_hold(s, name);
        s->apps[at]->status = SL_AN_READY;
        s->apps[at]->updated_ms = now_ms;
        int rc = store_put(s, s->apps[at]);
        if (rc) ok = fail(err, "ServiceUnavailableException", "%s", sl_strerror(rc));
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

bool sl_an_change(sl_an_apps_t *s, const char *name, int64_t current_version, int64_t now_ms,
                  sl_an_change_fn fn, void *ctx, sl_an_err_t *err) {
    pthread_mutex_lock(&s->mu);
    bool found;
    size_t at = seek(s, name, &found);
    bool ok = found || not_found(err, name);
    sl_an_app_t *a = ok ? s->apps[at] : NULL;
    if (ok && current_version > 0 && a->version != current_version)
        ok = fail(err, "ConcurrentModificationException",
                  "Current application version %lld does not match the provided version %lld",
                  (long long)a->version, (long long)current_version);
    sl_an_app_t next;
    memset(&next, 0, sizeof next);
    if (ok && sl_an_app_copy(&next, a) != 0)
        ok = fail(err, "ServiceUnavailableException", "Out of memory.");
    if (ok) ok = fn(ctx, &next, err);
    if (ok) ok = validate(&next, err);
    if (ok && a->status == SL_AN_RUNNING) ok = validate_outputs(&next, err);
    if (ok) {
        next.version++;
        next.updated_ms = now_ms;
        int rc = store_put(s, &next);
        if (rc) {
            ok = fail(err, "ServiceUnavailableException", "%s", sl_strerror(rc));
        } else {
            bool running = a->status == SL_AN_RUNNING;
            if (running) {
                sl_an_runner_stop(s->runners[at]);
                s->runners[at] = NULL;
            }
            sl_an_app_free(a);
            *a = next;
            memset(&next, 0, sizeof next);
            if (running && sl_an_runner_start(&s->cfg, s->path, a, true, &s->runners[at]) != 0)
                SL_ERROR("analytics: application %s cannot run its update", a->name);
        }
    }
    sl_an_app_free(&next);
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static int tag_index(const sl_an_app_t *a, const char *key) {
    for (size_t i = 0; i < a->ntags; i++)
        if (strcmp(a->tags[i].key, key) == 0) return (int)i;
    return -1;
}

bool sl_an_tag(sl_an_apps_t *s, const char *arn, const sl_an_tag_t *tags, size_t n,
               sl_an_err_t *err) {
    pthread_mutex_lock(&s->mu);
    size_t at = find_arn(s, arn);
    bool ok =
        at < s->count || fail(err, "ResourceNotFoundException", "Resource %s is not found", arn);
    sl_an_app_t next;
    memset(&next, 0, sizeof next);
    if (ok && sl_an_app_copy(&next, s->apps[at]) != 0)
        ok = fail(err, "ServiceUnavailableException", "Out of memory.");
    for (size_t i = 0; ok && i < n; i++) {
        int t = tag_index(&next, tags[i].key);
        char *value = NULL;
        if (dup_opt(&value, tags[i].value) != 0) {
            ok = fail(err, "ServiceUnavailableException", "Out of memory.");
            break;
        }
        if (t >= 0) {
            free(next.tags[t].value);
            next.tags[t].value = value;
            continue;
        }
        sl_an_tag_t *grown = realloc(next.tags, (next.ntags + 1) * sizeof *grown);
        char *key = NULL;
        if (!grown || dup_opt(&key, tags[i].key) != 0) {
            if (grown) next.tags = grown;
            free(value);
            ok = fail(err, "ServiceUnavailableException", "Out of memory.");
            break;
        }
        next.tags = grown;
        next.tags[next.ntags++] = (sl_an_tag_t){key, value};
    }
    if (ok && next.ntags > SL_AN_TAGS_MAX)
        ok = fail(err, "TooManyTagsException", "Application %s would have more than %d tags",
                  next.name, SL_AN_TAGS_MAX);
    if (ok) {
        int rc = store_put(s, &next);
        if (rc) ok = fail(err, "ServiceUnavailableException", "%s", sl_strerror(rc));
    }
    if (ok) {
        sl_an_tag_t *t = s->apps[at]->tags;
        size_t tn = s->apps[at]->ntags;
        s->apps[at]->tags = next.tags;
        s->apps[at]->ntags = next.ntags;
        next.tags = t;
        next.ntags = tn;
    }
    sl_an_app_free(&next);
    pthread_mutex_unlock(&s->mu);
    return ok;
}

bool sl_an_untag(sl_an_apps_t *s, const char *arn, const char *const *keys, size_t n,
                 sl_an_err_t *err) {
    pthread_mutex_lock(&s->mu);
    size_t at = find_arn(s, arn);
    bool ok =
        at < s->count || fail(err, "ResourceNotFoundException", "Resource %s is not found", arn);
    if (ok) {
        sl_an_app_t *a = s->apps[at];
        for (size_t i = 0; i < n; i++) {
            int t = tag_index(a, keys[i]);
            if (t < 0) continue;
            free(a->tags[t].key);
            free(a->tags[t].value);
            a->tags[t] = a->tags[--a->ntags];
        }
        int rc = store_put(s, a);
        if (rc) ok = fail(err, "ServiceUnavailableException", "%s", sl_strerror(rc));
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}
