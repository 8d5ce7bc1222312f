/* The runner of a RUNNING application (see runner.h). */
#include "analytics/runner.h"

#include "analytics/clock.h"
#include "analytics/mapping.h"
#include "analytics/ser.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "core/log.h"
#include "core/time.h"
#include "core/waiter.h"
#include "firehose/firehose.h"
#include "firehose/reader.h"
#include "kinesis/follow.h"
#include "kinesis/seqnum.h"
#include "wire/base64.h"
#include "wire/json.h"
#include "objstore/objstore.h"
#include "wire/enc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNNER_PUT_RECORDS_MAX 500 /* one PutRecords */
#define RUNNER_SAVE_EVERY_MS 1000
#define RUNNER_FH_BATCH_BYTES_MAX (4u << 20) /* one PutRecordBatch */
#define RUNNER_SYNC_PASSES_MAX 1000   /* reads of the input in one move of the virtual clock */
#define RUNNER_SYNC_DELIVERY_MS 10000 /* a move waits this long at most for the outputs */

/* Rows waiting for their output stream: the encoded records, in order. */
typedef struct {
    struct sl_an_runner *r;
    const sl_an_output_t *out;
    char stream[512]; /* the output stream's ARN */
    sl_buf_t data;    /* the records back to back */
    size_t *ends;     /* end offset of each record in data */
    size_t count, cap;
    int retries; /* Lambda outputs: failed deliveries of the first rows in a row (retryHint) */
} pending_t;

struct sl_an_runner {
    sl_an_apps_config_t cfg;
    sl_an_app_t app;
    char pos_path[1400];
    char state_path[1400]; /* the engine's window state, beside the positions */
    bool resume;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    /* moves of the virtual clock (clock.h), under mu: asked by sl_an_runner_sync, done by the
     * thread; exited once the thread ended (a move no longer waits for it) */
    pthread_cond_t synced;
    uint64_t sync_asked, sync_done;
    int64_t sync_to_ms;
    bool exited;
    /* the thread's */
    int64_t now_ms; /* the runner's time (runner_time) */
    sl_an_engine_t *eng;
    sl_kfollow_t *follow;      /* a Kinesis input */
    sl_fh_reader_t *fh_reader; /* a Firehose input */
    sl_an_record_schema_t schema;
    sl_an_record_column_t *cols;
    char (*inapp)[SL_AN_INAPP_NAME_MAX + 16]; /* the input's in-app stream names */
    int64_t *last_rowtime;                    /* per in-app stream */
    pending_t outputs[SL_AN_OUTPUTS_MAX];
    uint64_t key_counter;
};

/* ---- preparing an engine ---- */

static bool fail(sl_an_err_t *err, const char *type, const char *msg) {
    err->type = type;
    snprintf(err->message, sizeof err->message, "%s", msg);
    return false;
}

/* The columns of a schema as the engine takes them (names and types borrowed), or NULL. */
static sl_sql_column_t *columns_of(const sl_an_schema_t *s) {
    sl_sql_column_t *cols = calloc(s->ncols + 1, sizeof *cols);
    for (size_t c = 0; cols && c < s->ncols; c++) {
        cols[c].name = s->cols[c].name;
        const char *t = s->cols[c].sql_type;
        if (sl_sql_parse_type(t, strlen(t), &cols[c].type) != 0) {
            free(cols);
            return NULL;
        }
    }
    return cols;
}

/* The rows of a reference table: values of every row back to back, strings in the arena. */
typedef struct {
    sl_sql_value_t *values;
    size_t ncols, nrows, cap;
    sl_arena_t *arena;
    bool failed;
} table_rows_t;

static void on_table_row(void *ctx, const sl_sql_value_t *values, size_t n) {
    table_rows_t *t = ctx;
    if (t->failed) return;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        sl_sql_value_t *grown = realloc(t->values, cap * t->ncols * sizeof *grown);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->values = grown;
        t->cap = cap;
    }
    sl_sql_value_t *row = &t->values[t->nrows * t->ncols];
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = i < n ? values[i] : (sl_sql_value_t){.null = true};
        /* strings point into the mapping's scratch: copy them into the table's arena */
        if (i < n && !row[i].null &&
            (row[i].kind == SL_SQL_CHAR || row[i].kind == SL_SQL_VARCHAR ||
             row[i].kind == SL_SQL_BINARY || row[i].kind == SL_SQL_VARBINARY)) {
            char *copy = sl_arena_alloc(t->arena, row[i].u.s.len + 1);
            if (!copy) {
                t->failed = true;
                return;
            }
            memcpy(copy, row[i].u.s.ptr, row[i].u.s.len);
            row[i].u.s.ptr = copy;
        }
    }
    t->nrows++;
}

/* Reads the reference object (a local bucket of the account's object store) into rows. A missing
 * object or a record that does not map leaves the table empty or without that record, logged, as
 * AWS keeps the application RUNNING without the data. */
static void load_table(sl_objstore_t *store, const sl_an_app_t *a, table_rows_t *t) {
    const sl_an_refsrc_t *r = &a->ref;
    const char *bucket = r->bucket_arn ? strstr(r->bucket_arn, ":::") : NULL;
    if (!bucket || !r->file_key) return;
    bucket += 3;
    sl_arena_t scratch;
    sl_arena_init(&scratch, 4096);
    sl_objstore_info_t info;
    sl_objstore_err_t oerr = {0};
    void *data = NULL;
    uint64_t first = 0, len = 0;
    int rc = sl_objstore_get(store, bucket, r->file_key, NULL, &scratch, &info, &data, &first, &len,
                             &oerr);
    if (rc != 0) {
        SL_WARN("analytics: application %s: reference data s3://%s/%s cannot be read (%s)", a->name,
                bucket, r->file_key, oerr.code ? oerr.code->code : sl_strerror(rc));
        sl_arena_deinit(&scratch);
        return;
    }
    sl_an_record_column_t *cols = calloc(r->schema.ncols + 1, sizeof *cols);
    if (cols) {
        for (size_t c = 0; c < r->schema.ncols; c++) {
            cols[c].name = r->schema.cols[c].name;
            sl_sql_parse_type(r->schema.cols[c].sql_type, strlen(r->schema.cols[c].sql_type),
                              &cols[c].type);
            cols[c].mapping = r->schema.cols[c].mapping;
        }
        sl_an_record_schema_t schema = {
            .format = r->schema.csv ? SL_AN_FORMAT_CSV : SL_AN_FORMAT_JSON,
            .row_path = r->schema.row_path ? r->schema.row_path : "$",
            .row_delim = r->schema.row_delim ? r->schema.row_delim : "\n",
            .col_delim = r->schema.col_delim ? r->schema.col_delim : ",",
            .cols = cols,
            .ncols = r->schema.ncols,
        };
        char msg[512];
        if (sl_an_map_record(&schema, data, len, &scratch, on_table_row, t, msg, sizeof msg) != 0)
            SL_WARN("analytics: application %s: reference data s3://%s/%s: %s", a->name, bucket,
                    r->file_key, msg);
    }
    free(cols);
    free(data);
    sl_arena_deinit(&scratch);
}

bool sl_an_runner_prepare(sl_an_engine_t *eng, const sl_an_app_t *a, sl_objstore_t *objstore,
                          sl_an_err_t *err) {
    if (a->has_input) {
        size_t n = a->input.schema.ncols;
        sl_sql_column_t *cols = columns_of(&a->input.schema);
        if (!cols) return fail(err, "InvalidArgumentException", "Invalid SQL type");
        sl_sql_error_t se;
        for (int i = 0; i < a->input.parallelism; i++) {
            char name[SL_AN_INAPP_NAME_MAX + 16];
            snprintf(name, sizeof name, "%s_%03d", a->input.name_prefix, (i + 1) % 1000);
            if (sl_an_engine_add_source(eng, name, cols, n, &se) != 0) {
                free(cols);
                return fail(err, "InvalidArgumentException", se.message);
            }
        }
        free(cols);
    }
    if (a->has_ref) {
        sl_sql_column_t *cols = columns_of(&a->ref.schema);
        if (!cols) return fail(err, "InvalidArgumentException", "Invalid SQL type");
        sl_arena_t arena;
        sl_arena_init(&arena, 4096);
        table_rows_t rows = {.ncols = a->ref.schema.ncols, .arena = &arena};
        if (objstore) load_table(objstore, a, &rows);
        sl_sql_error_t se;
        int rc = sl_an_engine_set_table(eng, a->ref.table, cols, a->ref.schema.ncols,
                                        rows.failed ? NULL : rows.values,
                                        rows.failed ? 0 : rows.nrows, &se);
        free(rows.values);
        sl_arena_deinit(&arena);
        free(cols);
        if (rc != 0) return fail(err, "InvalidArgumentException", se.message);
    }
    sl_sql_error_t se;
    if (a->code && *a->code && sl_an_engine_load(eng, a->code, strlen(a->code), &se) != 0)
        return fail(err, "CodeValidationException", se.message);
    return true;
}

/* ---- functions (Lambda preprocessing and outputs) ---- */

/* Invokes fn with the JSON in b and parses the JSON answer into *out (in arena). */
static int invoke_json(sl_an_runner_t *r, const char *fn, const sl_buf_t *b, sl_arena_t *arena,
                       sl_val_t **out) {
    if (!r->cfg.invoke) {
        SL_WARN("analytics: application %s: function %s cannot be invoked (--functions off)",
                r->app.name, fn);
        return SL_EAGAIN;
    }
    uint8_t *res = NULL;
    size_t res_len = 0;
    char error[256] = "";
    if (r->cfg.invoke(r->cfg.invoke_ctx, fn, b->data, b->len, &res, &res_len, error,
                      sizeof error) != 0) {
        SL_WARN("analytics: application %s: function %s failed (%s); retrying", r->app.name, fn,
                error);
        free(res);
        return SL_EAGAIN;
    }
    char *copy = sl_arena_strndup(arena, (const char *)res, res_len);
    free(res);
    const char *reason;
    if (!copy || sl_json_parse(copy, res_len, arena, out, &reason) != 0 ||
        (*out)->type != SL_VAL_MAP) {
        SL_WARN("analytics: application %s: function %s answered no JSON object; retrying",
                r->app.name, fn);
        return SL_EAGAIN;
    }
    return 0;
}

/* The result of recordId in a function's {"records":[{"recordId","result","data"}]}. */
static const sl_val_t *result_of(const sl_val_t *answer, const char *id) {
    const sl_val_t *list = sl_val_get(answer, "records");
    for (size_t i = 0; list && list->type == SL_VAL_ARRAY && i < list->u.arr.count; i++) {
        const char *rid = sl_val_get_str(list->u.arr.items[i], "recordId", NULL);
        if (rid && strcmp(rid, id) == 0) return list->u.arr.items[i];
    }
    return NULL;
}

/* ---- outputs ---- */

static void json_value(sl_enc_t *e, const sl_sql_value_t *v, const sl_sql_type_t *t) {
    if (v->null) {
        sl_enc_null(e);
        return;
    }
    switch (v->kind) {
    case SL_SQL_BOOLEAN:
        sl_enc_bool(e, v->u.b);
        return;
    case SL_SQL_TINYINT:
    case SL_SQL_SMALLINT:
    case SL_SQL_INTEGER:
    case SL_SQL_BIGINT:
        sl_enc_int(e, v->u.i);
        return;
    case SL_SQL_REAL: {
        /* a REAL is a float: its shortest text (1.02, as Java prints it), not the digits of the
         * double it widens to (1.0199999809265137) */
        char text[64];
        sl_an_value_format(v, 0, text, sizeof text);
        sl_enc_double(e, strtod(text, NULL));
        return;
    }
    case SL_SQL_DOUBLE:
    case SL_SQL_DECIMAL:
        sl_enc_double(e, v->u.d);
        return;
    default: {
        char text[4096];
        size_t n = sl_an_value_format(v, t ? t->scale : 0, text, sizeof text);
        sl_enc_str(e, text, n);
    }
    }
}

/* A row of an output's in-application stream, encoded as its DestinationSchema says: a JSON
 * object keyed by the column names, or a CSV line. */
static void on_output_row(void *ctx, const char *stream, const sl_an_row_t *row) {
    (void)stream;
    pending_t *p = ctx;
    const sl_sql_column_t *cols = NULL;
    size_t ncols = 0;
    sl_an_engine_columns(p->r->eng, p->out->name, &cols, &ncols);
    size_t start = p->data.len;
    if (p->out->csv) {
        for (size_t i = 0; i < row->nvalues; i++) {
            char text[4096];
            size_t n = row->values[i].null
                           ? 0
                           : sl_an_value_format(&row->values[i], i < ncols ? cols[i].type.scale : 0,
                                                text, sizeof text);
            if (i) sl_buf_append_byte(&p->data, ',');
            sl_buf_append(&p->data, text, n);
        }
        sl_buf_append_byte(&p->data, '\n');
    } else {
        sl_enc_t e;
        sl_enc_init(&e, &p->data, SL_FMT_JSON);
        sl_enc_map_begin(&e);
        for (size_t i = 0; i < row->nvalues && i < ncols; i++) {
            sl_enc_key(&e, cols[i].name);
            json_value(&e, &row->values[i], &cols[i].type);
        }
        sl_enc_map_end(&e);
    }
    if (sl_buf_failed(&p->data)) return;
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        size_t *ends = realloc(p->ends, cap * sizeof *ends);
        if (!ends) {
            p->data.len = start;
            return;
        }
        p->ends = ends;
        p->cap = cap;
    }
    p->ends[p->count++] = p->data.len;
}

static void put_done(sl_kput_t *op) {
    sl_waiter_signal(op->arg, 0);
}

/* Delivers n waiting rows from `from` to a Lambda output: true when the function answered Ok
 * for every one (else they are all sent again, retryHint one higher). */
static bool deliver_lambda(sl_an_runner_t *r, pending_t *p, size_t from, size_t n) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    char id[200];
    snprintf(id, sizeof id, "%s-%" PRIu64, r->app.name, ++r->key_counter);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "invocationId", id);
    sl_enc_kv_cstr(&e, "applicationArn", r->app.arn);
    sl_enc_key(&e, "records");
    sl_enc_array_begin(&e);
    for (size_t i = from; i < from + n; i++) {
        size_t start = i ? p->ends[i - 1] : 0;
        snprintf(id, sizeof id, "%zu", i - from);
        sl_enc_map_begin(&e);
        sl_enc_kv_cstr(&e, "recordId", id);
        sl_enc_key(&e, "lambdaDeliveryRecordMetadata");
        sl_enc_map_begin(&e);
        sl_enc_kv_int(&e, "retryHint", p->retries);
        sl_enc_map_end(&e);
        sl_enc_key(&e, "data");
        sl_enc_bytes(&e, p->data.data + start, p->ends[i] - start);
        sl_enc_map_end(&e);
    }
    sl_enc_array_end(&e);
    sl_enc_map_end(&e);
    sl_arena_t arena;
    sl_arena_init(&arena, 16384);
    sl_val_t *answer = NULL;
    bool ok = !sl_buf_failed(&b) && invoke_json(r, p->out->resource_arn, &b, &arena, &answer) == 0;
    for (size_t i = 0; ok && i < n; i++) {
        snprintf(id, sizeof id, "%zu", i);
        const sl_val_t *res = result_of(answer, id);
        const char *result = res ? sl_val_get_str(res, "result", NULL) : NULL;
        ok = result && strcmp(result, "Ok") == 0;
    }
    sl_arena_deinit(&arena);
    sl_buf_free(&b);
    p->retries = ok ? 0 : p->retries + 1;
    return ok;
}

/* ---- a Firehose output (KinesisFirehoseOutput) ---- */

static void fh_put_done(void *arg, int status, uint64_t first_seq) {
    (void)first_seq;
    sl_waiter_signal(arg, status);
}

/* Puts n waiting rows from `from` into the output's delivery stream (one PutRecordBatch, each
 * row a record): true when they are stored. */
static bool deliver_firehose(sl_an_runner_t *r, pending_t *p, size_t from, size_t n) {
    const char *arn = p->out->resource_arn;
    const char *slash = strstr(arn, ":deliverystream/");
    const char *name = slash ? slash + strlen(":deliverystream/") : arn;
    if (!r->cfg.firehose) {
        SL_WARN("analytics: application %s: this server has no Firehose for %s; retrying",
                r->app.name, arn);
        return false;
    }
    sl_fh_record_t recs[RUNNER_PUT_RECORDS_MAX];
    for (size_t i = 0; i < n; i++) {
        size_t start = from + i ? p->ends[from + i - 1] : 0;
        recs[i] =
            (sl_fh_record_t){(const uint8_t *)p->data.data + start, p->ends[from + i] - start};
    }
    sl_waiter_t w;
    sl_waiter_init(&w);
    bool encrypted = false;
    uint64_t log_id = 0;
    sl_fherr_t err = {0};
    int rc = sl_firehose_put(r->cfg.firehose, name, recs, n, sl_time_now_ms(), fh_put_done, &w,
                             &encrypted, &log_id, &err);
    if (rc == 0) {
        rc = sl_waiter_wait(&w);
        if (rc) snprintf(err.message, sizeof err.message, "%s", sl_strerror(rc));
    } else {
        sl_waiter_destroy(&w);
    }
    if (rc != 0)
        SL_WARN("analytics: application %s cannot write to %s (%s); retrying", r->app.name, arn,
                err.message);
    return rc == 0;
}

/* Puts an output's waiting rows (PutRecords of at most 500, or one invocation of a Lambda
 * output, or PutRecordBatch of at most 500 to a delivery stream). Rows that could not be delivered
 * stay waiting, in order, for the next flush: delivery is retried without end, as on AWS. */
static void flush_output(sl_an_runner_t *r, pending_t *p) {
    size_t done = 0;
    while (p->out->kind == SL_AN_OUT_LAMBDA && done < p->count) {
        size_t n = SL_MIN(p->count - done, (size_t)RUNNER_PUT_RECORDS_MAX);
        if (!deliver_lambda(r, p, done, n)) break;
        done += n;
    }
    while (p->out->kind == SL_AN_OUT_FIREHOSE && done < p->count) {
        /* PutRecordBatch: at most 500 records and 4 MiB */
        size_t n = 1, base = done ? p->ends[done - 1] : 0;
        while (done + n < p->count && n < RUNNER_PUT_RECORDS_MAX &&
               p->ends[done + n] - base <= RUNNER_FH_BATCH_BYTES_MAX)
            n++;
        if (!deliver_firehose(r, p, done, n)) break;
        done += n;
    }
    if (p->out->kind != SL_AN_OUT_STREAM) goto cut;
    while (done < p->count) {
        size_t n = SL_MIN(p->count - done, (size_t)RUNNER_PUT_RECORDS_MAX);
        sl_krecord_t recs[RUNNER_PUT_RECORDS_MAX];
        char keys[RUNNER_PUT_RECORDS_MAX][24];
        for (size_t i = 0; i < n; i++) {
            size_t from = done + i ? p->ends[done + i - 1] : 0;
            size_t len = snprintf(keys[i], sizeof keys[i], "%" PRIu64, ++r->key_counter);
            recs[i] = (sl_krecord_t){.partition_key = keys[i],
                                     .partition_key_len = len,
                                     .data = (const uint8_t *)p->data.data + from,
                                     .data_len = p->ends[done + i] - from};
        }
        sl_arena_t arena;
        sl_arena_init(&arena, 8192);
        sl_waiter_t w;
        sl_waiter_init(&w);
        size_t arn_len = strlen(p->stream);
        sl_kput_t op = {
            .stream = {NULL, 0, p->stream, arn_len},
            .records = recs,
            .count = n,
            .now_ms = sl_time_now_ms(),
            .arena = &arena,
            .cb = put_done,
            .arg = &w,
        };
        int rc = sl_kinesis_put(r->cfg.kinesis, &op);
        if (rc == SL_KINESIS_PENDING)
            sl_waiter_wait(&w);
        else
            sl_waiter_destroy(&w);
        bool ok = rc >= 0 && op.err.type == SL_KERR_NONE && op.failed == 0;
        sl_arena_deinit(&arena);
        if (!ok) {
            if (rc < 0 || op.err.type != SL_KERR_NONE)
                SL_WARN("analytics: application %s cannot write to %s (%s); retrying", r->app.name,
                        p->stream, op.err.message);
            break; /* a partly stored batch is put again whole: at least once */
        }
        done += n;
    }
cut:
    if (done == 0) return;
    size_t cut = p->ends[done - 1];
    memmove(p->data.data, p->data.data + cut, p->data.len - cut);
    p->data.len -= cut;
    for (size_t i = done; i < p->count; i++)
        p->ends[i - done] = p->ends[i] - cut;
    p->count -= done;
}

/* ---- time ---- */

/* The runner's time: the wall clock, never going back, or the virtual clock's time as its last
 * move brought it to this runner (clock.h). */
static int64_t runner_time(sl_an_runner_t *r) {
    if (!sl_an_clock_is_virtual(r->cfg.clock)) {
        int64_t now = sl_time_now_ms();
        if (now > r->now_ms) r->now_ms = now;
    }
    return r->now_ms;
}

/* ---- input ---- */

typedef struct {
    sl_an_runner_t *r;
    int stream;
    int64_t arrival_ms;
} row_ctx_t;

static void on_row(void *ctx, const sl_sql_value_t *values, size_t n) {
    row_ctx_t *rc = ctx;
    sl_an_runner_t *r = rc->r;
    sl_sql_value_t row[SL_AN_COLUMNS_MAX + 1];
    if (n > SL_AN_COLUMNS_MAX) n = SL_AN_COLUMNS_MAX;
    memcpy(row, values, n * sizeof *row);
    row[n] = (sl_sql_value_t){.kind = SL_SQL_TIMESTAMP, .u.i = rc->arrival_ms};
    sl_an_engine_insert(r->eng, r->inapp[rc->stream], r->last_rowtime[rc->stream], row, n + 1);
}

/* ROWTIME of a row entering in-application stream `stream` now: the runner's time (the wall
 * clock or the virtual one), never going back. */
static int64_t rowtime_now(sl_an_runner_t *r, int stream) {
    int64_t now = runner_time(r);
    if (now > r->last_rowtime[stream]) r->last_rowtime[stream] = now;
    return r->last_rowtime[stream];
}

/* One record into its in-application stream (or error_stream when it does not map). */
static void insert_record(sl_an_runner_t *r, int stream, int64_t arrival_ms, const void *data,
                          size_t len, sl_arena_t *arena) {
    rowtime_now(r, stream);
    row_ctx_t rc = {r, stream, arrival_ms};
    char msg[512];
    sl_arena_reset(arena);
    if (sl_an_map_record(&r->schema, data, len, arena, on_row, &rc, msg, sizeof msg) != 0)
        sl_an_engine_insert_error(r->eng, r->inapp[stream], r->last_rowtime[stream], msg, data,
                                  len);
}

/* Lambda preprocessing (InputProcessingConfiguration): the batch goes to the function as AWS
 * sends it (with kinesisStreamRecordMetadata from a shard, kinesisFirehoseRecordMetadata when
 * shard is NULL: a Firehose input); Ok records (their new data) are mapped, Dropped ones
 * skipped, ProcessingFailed ones and those the answer leaves out go to error_stream. A failed
 * invocation stops the pass: the batch is read and sent again (AWS retries without end). */
static int preprocess(sl_an_runner_t *r, const sl_kfollow_shard_t *shard, int stream,
                      const sl_krecord_t *records, size_t count, sl_arena_t *arena) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    char id[200];
    snprintf(id, sizeof id, "%s-%" PRIu64 "-%" PRIu64, r->app.name, ++r->key_counter,
             (uint64_t)sl_time_now_ms());
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "invocationId", id);
    sl_enc_kv_cstr(&e, "applicationArn", r->app.arn);
    sl_enc_kv_cstr(&e, "streamArn", r->app.input.resource_arn);
    sl_enc_key(&e, "records");
    sl_enc_array_begin(&e);
    for (size_t i = 0; i < count; i++) {
        const sl_krecord_t *k = &records[i];
        snprintf(id, sizeof id, "%zu", i);
        sl_enc_map_begin(&e);
        sl_enc_kv_cstr(&e, "recordId", id);
        if (shard) {
            sl_seqnum_t sn =
                sl_kinesis_seqnum(shard->created_ms, shard->index, k->seq, k->arrival_ms);
            char seq[64];
            sl_seqnum_format(&sn, seq);
            sl_enc_key(&e, "kinesisStreamRecordMetadata");
            sl_enc_map_begin(&e);
            sl_enc_kv_cstr(&e, "shardId", shard->shard_id);
            sl_enc_kv_str(&e, "partitionKey", k->partition_key, k->partition_key_len);
            sl_enc_kv_cstr(&e, "sequenceNumber", seq);
        } else {
            sl_enc_key(&e, "kinesisFirehoseRecordMetadata");
            sl_enc_map_begin(&e);
        }
        sl_enc_kv_int(&e, "approximateArrivalTimestamp", k->arrival_ms);
        sl_enc_map_end(&e);
        sl_enc_key(&e, "data");
        sl_enc_bytes(&e, k->data, k->data_len);
        sl_enc_map_end(&e);
    }
    sl_enc_array_end(&e);
    sl_enc_map_end(&e);
    sl_arena_t answer_arena;
    sl_arena_init(&answer_arena, 16384);
    sl_val_t *answer = NULL;
    int rc = sl_buf_failed(&b)
                 ? SL_ENOMEM
                 : invoke_json(r, r->app.input.processor_arn, &b, &answer_arena, &answer);
    sl_buf_free(&b);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        snprintf(id, sizeof id, "%zu", i);
        const sl_val_t *res = result_of(answer, id);
        const char *result = res ? sl_val_get_str(res, "result", NULL) : NULL;
        if (result && strcmp(result, "Dropped") == 0) continue;
        size_t dlen = 0;
        const char *data =
            result && strcmp(result, "Ok") == 0 ? sl_val_get_str(res, "data", &dlen) : NULL;
        uint8_t *bytes = data ? malloc(dlen / 4 * 3 + 3) : NULL;
        size_t blen = 0;
        char bad;
        if (bytes && sl_base64_decode(data, dlen, bytes, &blen, &bad) == SL_B64_OK) {
            insert_record(r, stream, records[i].arrival_ms, bytes, blen, arena);
        } else {
            sl_an_engine_insert_error(
                r->eng, r->inapp[stream], rowtime_now(r, stream),
                !res      ? "The preprocessing function returned no result for the record"
                : !result ? "The preprocessing function's result has no status"
                : strcmp(result, "Ok") == 0 ? "The preprocessing function returned invalid data"
                                            : "The preprocessing function failed the record",
                records[i].data, records[i].data_len);
        }
        free(bytes);
    }
    sl_arena_deinit(&answer_arena);
    return rc;
}

static int on_records(void *ctx, const sl_kfollow_shard_t *shard, const sl_krecord_t *records,
                      size_t count) {
    sl_an_runner_t *r = ctx;
    int stream = (int)(shard->index % (uint32_t)r->app.input.parallelism);
    sl_arena_t arena;
    sl_arena_init(&arena, 16384);
    int rc = 0;
    if (r->app.input.processor_arn) {
        rc = preprocess(r, shard, stream, records, count, &arena);
    } else {
        for (size_t i = 0; i < count; i++)
            insert_record(r, stream, records[i].arrival_ms, records[i].data, records[i].data_len,
                          &arena);
    }
    sl_arena_deinit(&arena);
    return rc;
}

/* ---- a Firehose input (KinesisFirehoseInput) ---- */

#define RUNNER_FH_READ_RECORDS_MAX 10000
#define RUNNER_FH_READ_BYTES_MAX (4u << 20)

/* Records a delivery stream received, into the first in-application stream (a delivery stream
 * has no shards to spread over InputParallelism), through the preprocessing function if any. */
static int on_fh_records(void *ctx, const sl_fh_read_record_t *records, size_t count) {
    sl_an_runner_t *r = ctx;
    sl_arena_t arena;
    sl_arena_init(&arena, 16384);
    int rc = 0;
    if (r->app.input.processor_arn) {
        sl_krecord_t *recs = calloc(count, sizeof *recs);
        for (size_t i = 0; recs && i < count; i++)
            recs[i] = (sl_krecord_t){.data = records[i].data,
                                     .data_len = records[i].len,
                                     .arrival_ms = records[i].arrival_ms,
                                     .seq = records[i].seq};
        rc = recs ? preprocess(r, NULL, 0, recs, count, &arena) : SL_ENOMEM;
        free(recs);
    } else {
        for (size_t i = 0; i < count; i++)
            insert_record(r, 0, records[i].arrival_ms, records[i].data, records[i].len, &arena);
    }
    sl_arena_deinit(&arena);
    return rc;
}

/* The reader of a Firehose input: NOW is the time of the StartApplication (AWS offers no
 * TRIM_HORIZON for a delivery stream); LAST_STOPPED_POINT is restored by load_positions. */
static int open_firehose_input(sl_an_runner_t *r) {
    if (!r->cfg.firehose) {
        SL_ERROR("analytics: application %s: this server has no Firehose for %s", r->app.name,
                 r->app.input.resource_arn);
        return SL_ENOTFOUND;
    }
    return sl_firehose_reader_open(r->cfg.firehose, r->app.input.resource_arn, r->app.started_ms,
                                   &r->fh_reader);
}

/* One pass over the input: *delivered records read, *caught_up when it has no more now. */
static int read_input(sl_an_runner_t *r, size_t *delivered, bool *caught_up) {
    *delivered = 0;
    *caught_up = true;
    if (!r->fh_reader) return sl_kfollow_pass(r->follow, on_records, r, delivered, caught_up);
    int rc = sl_firehose_reader_read(r->fh_reader, RUNNER_FH_READ_RECORDS_MAX,
                                     RUNNER_FH_READ_BYTES_MAX, on_fh_records, r, delivered);
    *caught_up = *delivered == 0;
    return rc;
}

/* ---- positions (LAST_STOPPED_POINT) ---- */

static bool write_atomic(const char *path, const void *data, size_t len) {
    char tmp[1400 + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, len ? data : "", len) == (ssize_t)len && fsync(fd) == 0;
    if (fd >= 0) close(fd);
    return ok && rename(tmp, path) == 0;
}

static bool read_all(const char *path, sl_buf_t *b) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return false;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        sl_buf_append(b, chunk, n);
    fclose(fp);
    return !sl_buf_failed(b);
}

/* The window state is saved with the positions it belongs to: the state file holds those
 * positions, then the engine's checkpoint (analytics/engine.h). It is written before the
 * positions file and restored only when its positions equal that file's, so a crash between the
 * two writes falls back to empty windows (AWS's behaviour) rather than counting records twice. */
static void save_positions(sl_an_runner_t *r) {
    sl_buf_t b = SL_BUF_INIT, st = SL_BUF_INIT;
    char fh_pos[96];
    if (r->fh_reader) {
        if (sl_firehose_reader_save(r->fh_reader, fh_pos, sizeof fh_pos) != 0) return;
        sl_buf_append(&b, fh_pos, strlen(fh_pos));
    } else if (!r->follow || sl_kfollow_save(r->follow, &b) != 0) {
        sl_buf_free(&b);
        return;
    }
    an_put_bytes(&st, b.data ? b.data : "", b.len);
    if (sl_an_engine_checkpoint_save(r->eng, &st) != 0 || sl_buf_failed(&st) ||
        !write_atomic(r->state_path, st.data, st.len)) {
        SL_WARN("analytics: cannot save the window state of %s: %s", r->app.name, strerror(errno));
        unlink(r->state_path); /* never leave an older state beside newer positions */
    }
    if (!write_atomic(r->pos_path, b.data, b.len)) {
        SL_WARN("analytics: cannot save the positions of %s: %s", r->app.name, strerror(errno));
    } else if (r->fh_reader) {
        /* the delivery stream keeps what this position has not read, across a restart too
         * (until the application stops): the delivery may trim before this reader is back */
        char holder[SL_AN_APP_NAME_MAX + 32];
        sl_an_fh_holder(r->app.name, holder, sizeof holder);
        int rc = sl_firehose_reader_commit(r->fh_reader, holder);
        if (rc)
            SL_WARN("analytics: cannot hold the delivery stream records of %s: %s", r->app.name,
                    sl_strerror(rc));
    }
    sl_buf_free(&st);
    sl_buf_free(&b);
}

static void load_positions(sl_an_runner_t *r) {
    sl_buf_t b = SL_BUF_INIT, st = SL_BUF_INIT;
    if (read_all(r->pos_path, &b) && b.len) {
        if (r->fh_reader)
            sl_firehose_reader_restore(r->fh_reader, b.data, b.len);
        else
            sl_kfollow_restore(r->follow, b.data, b.len);
        if (read_all(r->state_path, &st) && st.len) {
            const uint8_t *p = (const uint8_t *)st.data, *end = p + st.len, *pos;
            size_t plen;
            if (an_get_bytes(&p, end, &pos, &plen) && plen == b.len &&
                memcmp(pos, b.data, plen) == 0 &&
                sl_an_engine_checkpoint_restore(r->eng, p, (size_t)(end - p)) == 0)
                SL_INFO("analytics: %s resumes its open windows", r->app.name);
            else
                SL_WARN("analytics: the window state of %s does not fit its positions or code; "
                        "its windows start empty",
                        r->app.name);
        }
    }
    sl_buf_free(&st);
    sl_buf_free(&b);
}

/* ---- moves of the virtual clock ---- */

void sl_an_runner_sync(sl_an_runner_t *r, int64_t now_ms) {
    pthread_mutex_lock(&r->mu);
    uint64_t ticket = ++r->sync_asked;
    if (now_ms > r->sync_to_ms) r->sync_to_ms = now_ms;
    pthread_cond_signal(&r->cv);
    while (r->sync_done < ticket && !r->exited)
        pthread_cond_wait(&r->synced, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

static bool sync_asked(sl_an_runner_t *r) {
    pthread_mutex_lock(&r->mu);
    bool asked = r->sync_asked != r->sync_done;
    pthread_mutex_unlock(&r->mu);
    return asked;
}

static bool stopping(sl_an_runner_t *r) {
    pthread_mutex_lock(&r->mu);
    bool stop = r->stop;
    pthread_mutex_unlock(&r->mu);
    return stop;
}

static bool wait_or_stop(sl_an_runner_t *r, int ms);

/* A move asked by sl_an_runner_sync: reads what the input holds at the old time, then moves to
 * the new time (closing the windows that end by then) and delivers the output rows, waiting a
 * while at most for outputs that refuse them. *dirty: records were read. */
static void serve_sync(sl_an_runner_t *r, bool *dirty) {
    pthread_mutex_lock(&r->mu);
    uint64_t asked = r->sync_asked;
    int64_t to = r->sync_to_ms;
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < RUNNER_SYNC_PASSES_MAX; i++) {
        size_t delivered = 0;
        bool caught_up = true;
        int rc = read_input(r, &delivered, &caught_up);
        if (delivered) *dirty = true;
        if (rc != 0 || (caught_up && !delivered)) break;
    }
    if (to > r->now_ms) r->now_ms = to;
    sl_an_engine_advance(r->eng, r->now_ms);
    int64_t give_up = sl_time_mono_ms() + RUNNER_SYNC_DELIVERY_MS;
    for (;;) {
        bool waiting = false;
        for (size_t i = 0; i < r->app.noutputs; i++) {
            flush_output(r, &r->outputs[i]);
            if (r->outputs[i].count) waiting = true;
        }
        if (!waiting || sl_time_mono_ms() >= give_up || stopping(r)) break;
        wait_or_stop(r, r->cfg.poll_ms);
    }
    pthread_mutex_lock(&r->mu);
    r->sync_done = asked;
    pthread_cond_broadcast(&r->synced);
    pthread_mutex_unlock(&r->mu);
}

/* ---- the thread ---- */

static int setup(sl_an_runner_t *r) {
    const sl_an_app_t *a = &r->app;
    sl_an_options_t opt = sl_an_options_default();
    if (r->cfg.engine.window_rows_max) opt.window_rows_max = r->cfg.engine.window_rows_max;
    if (r->cfg.engine.window_groups_max) opt.window_groups_max = r->cfg.engine.window_groups_max;
    if (r->cfg.engine.state_bytes_max) opt.state_bytes_max = r->cfg.engine.state_bytes_max;
    int rc = sl_an_engine_create(&opt, runner_time(r), &r->eng);
    if (rc) return rc;
    sl_an_err_t err = {0};
    if (!sl_an_runner_prepare(r->eng, a, r->cfg.objstore, &err)) {
        SL_ERROR("analytics: application %s: %s", a->name, err.message);
        return SL_EINVAL;
    }
    int par = a->input.parallelism;
    r->inapp = calloc((size_t)par, sizeof *r->inapp);
    r->last_rowtime = calloc((size_t)par, sizeof *r->last_rowtime);
    r->cols = calloc(a->input.schema.ncols + 1, sizeof *r->cols);
    if (!r->inapp || !r->last_rowtime || !r->cols) return SL_ENOMEM;
    for (int i = 0; i < par; i++)
        snprintf(r->inapp[i], sizeof r->inapp[i], "%s_%03d", a->input.name_prefix, (i + 1) % 1000);
    const sl_an_schema_t *s = &a->input.schema;
    for (size_t c = 0; c < s->ncols; c++) {
        r->cols[c].name = s->cols[c].name;
        sl_sql_parse_type(s->cols[c].sql_type, strlen(s->cols[c].sql_type), &r->cols[c].type);
        r->cols[c].mapping = s->cols[c].mapping;
    }
    r->schema = (sl_an_record_schema_t){
        .format = s->csv ? SL_AN_FORMAT_CSV : SL_AN_FORMAT_JSON,
        .row_path = s->row_path ? s->row_path : "$",
        .row_delim = s->row_delim ? s->row_delim : "\n",
        .col_delim = s->col_delim ? s->col_delim : ",",
        .cols = r->cols,
        .ncols = s->ncols,
    };
    for (size_t i = 0; i < a->noutputs; i++) {
        rc = sl_an_engine_subscribe(r->eng, a->outputs[i].name, on_output_row, &r->outputs[i]);
        if (rc) return rc;
    }
    /* NOW: records that arrive from the StartApplication on (a timestamp, so that records put
     * right after the call are read even before this thread opened the shards) */
    const char *pos = a->input.starting_position;
    if (a->input.firehose) {
        rc = open_firehose_input(r);
    } else {
        sl_kfollow_config_t fc = {
            .k = r->cfg.kinesis,
            .stream = a->input.resource_arn,
            .start =
                strcmp(pos, "TRIM_HORIZON") == 0 ? SL_KSTART_TRIM_HORIZON : SL_KSTART_AT_TIMESTAMP,
            .start_ms = a->started_ms,
        };
        rc = sl_kfollow_create(&fc, &r->follow);
    }
    if (rc) return rc;
    if (r->resume || strcmp(pos, "LAST_STOPPED_POINT") == 0)
        load_positions(r);
    else {
        unlink(r->pos_path);
        unlink(r->state_path);
    }
    return 0;
}

static bool wait_or_stop(sl_an_runner_t *r, int ms) {
    pthread_mutex_lock(&r->mu);
    if (!r->stop && ms > 0 && r->sync_asked == r->sync_done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    bool stop = r->stop;
    pthread_mutex_unlock(&r->mu);
    return stop;
}

static void run(sl_an_runner_t *r) {
    int rc = setup(r);
    if (rc) {
        SL_ERROR("analytics: application %s cannot run: %s", r->app.name, sl_strerror(rc));
        return;
    }
    int64_t saved_mono = sl_time_mono_ms();
    bool dirty = false;
    for (;;) {
        if (sync_asked(r)) serve_sync(r, &dirty);
        size_t delivered = 0;
        bool caught_up = true;
        rc = read_input(r, &delivered, &caught_up);
        sl_an_engine_advance(r->eng, runner_time(r));
        bool waiting = false;
        for (size_t i = 0; i < r->app.noutputs; i++) {
            flush_output(r, &r->outputs[i]);
            if (r->outputs[i].count) waiting = true;
        }
        if (delivered) dirty = true;
        /* positions move only once the rows they produced are stored, so a restart from
         * LAST_STOPPED_POINT repeats at most the last second's records */
        if (dirty && !waiting && sl_time_mono_ms() - saved_mono >= RUNNER_SAVE_EVERY_MS) {
            save_positions(r);
            saved_mono = sl_time_mono_ms();
            dirty = false;
        }
        bool idle = rc != 0 || (caught_up && !delivered) || waiting;
        if (wait_or_stop(r, idle ? r->cfg.poll_ms : 0)) break;
    }
    sl_an_engine_advance(r->eng, runner_time(r));
    for (size_t i = 0; i < r->app.noutputs; i++)
        flush_output(r, &r->outputs[i]);
    save_positions(r);
}

static void *runner_main(void *arg) {
    sl_an_runner_t *r = arg;
    run(r);
    pthread_mutex_lock(&r->mu);
    r->exited = true; /* moves of the clock no longer wait for this runner */
    pthread_cond_broadcast(&r->synced);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int sl_an_runner_start(const sl_an_apps_config_t *cfg, const char *pos_base, const sl_an_app_t *app,
                       bool resume, sl_an_runner_t **out) {
    sl_an_runner_t *r = calloc(1, sizeof *r);
    if (!r) return SL_ENOMEM;
    r->cfg = *cfg;
    r->resume = resume;
    if (sl_an_app_copy(&r->app, app) != 0) {
        free(r);
        return SL_ENOMEM;
    }
    snprintf(r->pos_path, sizeof r->pos_path, "%s.%s.pos", pos_base, app->name);
    snprintf(r->state_path, sizeof r->state_path, "%s.%s.state", pos_base, app->name);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    pthread_cond_init(&r->synced, NULL);
    for (size_t i = 0; i < r->app.noutputs; i++) {
        r->outputs[i].r = r;
        r->outputs[i].out = &r->app.outputs[i];
        r->outputs[i].data = (sl_buf_t)SL_BUF_INIT;
        snprintf(r->outputs[i].stream, sizeof r->outputs[i].stream, "%s",
                 r->app.outputs[i].resource_arn);
    }
    /* the virtual clock: from its time when the runner joins its moves */
    int rc = sl_an_clock_attach(cfg->clock, r);
    r->now_ms = sl_an_clock_now(cfg->clock);
    if (rc == 0 && pthread_create(&r->thread, NULL, runner_main, r) != 0) {
        sl_an_clock_detach(cfg->clock, r);
        rc = SL_EIO;
    }
    if (rc) {
        pthread_cond_destroy(&r->synced);
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        sl_an_app_free(&r->app);
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void sl_an_fh_holder(const char *app_name, char *out, size_t cap) {
    snprintf(out, cap, "kda/%s", app_name);
}

void sl_an_runner_stop(sl_an_runner_t *r) {
    if (!r) return;
    sl_an_clock_detach(r->cfg.clock, r); /* waits for a move in progress */
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    sl_kfollow_destroy(r->follow);
    sl_firehose_reader_close(r->fh_reader);
    sl_an_engine_destroy(r->eng);
    for (size_t i = 0; i < SL_AN_OUTPUTS_MAX; i++) {
        sl_buf_free(&r->outputs[i].data);
        free(r->outputs[i].ends);
    }
    free(r->cols);
    free(r->inapp);
    free(r->last_rowtime);
    pthread_cond_destroy(&r->synced);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    sl_an_app_free(&r->app);
    free(r);
}
