/* DiscoverInputSchema (spec §1.7): samples records from a Sluice stream or an object of the
 * account's object store and infers their format (JSON objects, or CSV with its row and column
 * delimiters), the column names (AWS's renaming: COL_ before reserved words, characters outside
 * [A-Za-z0-9_] dropped, COL_<ordinal> when nothing is left), the SQL types (integers INTEGER or
 * BIGINT, other numbers REAL, true/false BOOLEAN, text VARCHAR(n) with n the next of 4, 16, 64,
 * 256 ... at least the longest value) and, for JSON, each column's JSONPath. Runs on a thread of
 * its own (sampling blocks); the caller is told through `done`. */
#include "analytics/apps.h"

#include "analytics/runner.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "core/time.h"
#include "firehose/reader.h"
#include "kinesis/follow.h"
#include "objstore/objstore.h"
#include "wire/json.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DISCOVER_RECORDS_MAX 100
#define DISCOVER_WAIT_MS 3000 /* NOW: how long records are awaited */
#define DISCOVER_NAME_MAX 100

/* Words a discovered column may not be named as is (SQL's reserved words the dialect knows). */
static const char *const RESERVED[] = {
    "ABS",          "ALL",
    "ALLOCATE",     "ALTER",
    "AND",          "ANY",
    "ARE",          "ARRAY",
    "AS",           "ASYMMETRIC",
    "AT",           "AUTHORIZATION",
    "AVG",          "BEGIN",
    "BETWEEN",      "BIGINT",
    "BINARY",       "BLOB",
    "BOOLEAN",      "BOTH",
    "BY",           "CALL",
    "CALLED",       "CARDINALITY",
    "CASCADED",     "CASE",
    "CAST",         "CEIL",
    "CEILING",      "CHAR",
    "CHARACTER",    "CHECK",
    "CLOSE",        "COALESCE",
    "COLLATE",      "COLUMN",
    "COMMIT",       "CONDITION",
    "CONNECT",      "CONSTRAINT",
    "CONVERT",      "CORR",
    "COUNT",        "CREATE",
    "CROSS",        "CUBE",
    "CURRENT",      "CURRENT_DATE",
    "CURRENT_TIME", "CURRENT_TIMESTAMP",
    "CURRENT_USER", "CURSOR",
    "CYCLE",        "DATE",
    "DAY",          "DEALLOCATE",
    "DEC",          "DECIMAL",
    "DECLARE",      "DEFAULT",
    "DELETE",       "DESCRIBE",
    "DISTINCT",     "DOUBLE",
    "DROP",         "DYNAMIC",
    "EACH",         "ELEMENT",
    "ELSE",         "END",
    "ESCAPE",       "EVERY",
    "EXCEPT",       "EXEC",
    "EXECUTE",      "EXISTS",
    "EXP",          "EXTERNAL",
    "EXTRACT",      "FALSE",
    "FETCH",        "FILTER",
    "FLOAT",        "FLOOR",
    "FOR",          "FOREIGN",
    "FREE",         "FROM",
    "FULL",         "FUNCTION",
    "FUSION",       "GET",
    "GLOBAL",       "GRANT",
    "GROUP",        "GROUPING",
    "HAVING",       "HOLD",
    "HOUR",         "IDENTITY",
    "IN",           "INDICATOR",
    "INNER",        "INOUT",
    "INSENSITIVE",  "INSERT",
    "INT",          "INTEGER",
    "INTERSECT",    "INTERSECTION",
    "INTERVAL",     "INTO",
    "IS",           "JOIN",
    "LANGUAGE",     "LARGE",
    "LATERAL",      "LEADING",
    "LEFT",         "LIKE",
    "LN",           "LOCAL",
    "LOCALTIME",    "LOCALTIMESTAMP",
    "LOWER",        "MATCH",
    "MAX",          "MEMBER",
    "MERGE",        "METHOD",
    "MIN",          "MINUTE",
    "MOD",          "MODIFIES",
    "MODULE",       "MONTH",
    "MULTISET",     "NATIONAL",
    "NATURAL",      "NCHAR",
    "NCLOB",        "NEW",
    "NO",           "NONE",
    "NORMALIZE",    "NOT",
    "NULL",         "NULLIF",
    "NUMERIC",      "OF",
    "OLD",          "ON",
    "ONLY",         "OPEN",
    "OR",           "ORDER",
    "OUT",          "OUTER",
    "OVER",         "OVERLAPS",
    "OVERLAY",      "PARAMETER",
    "PARTITION",    "POSITION",
    "POWER",        "PRECISION",
    "PREPARE",      "PRIMARY",
    "PROCEDURE",    "RANGE",
    "RANK",         "READS",
    "REAL",         "RECURSIVE",
    "REF",          "REFERENCES",
    "REFERENCING",  "RELEASE",
    "RESULT",       "RETURN",
    "RETURNS",      "REVOKE",
    "RIGHT",        "ROLLBACK",
    "ROLLUP",       "ROW",
    "ROWS",         "ROWTIME",
    "SAVEPOINT",    "SCOPE",
    "SCROLL",       "SEARCH",
    "SECOND",       "SELECT",
    "SENSITIVE",    "SESSION_USER",
    "SET",          "SIMILAR",
    "SMALLINT",     "SOME",
    "SPECIFIC",     "SQL",
    "SQRT",         "START",
    "STATIC",       "STREAM",
    "SUBMULTISET",  "SUBSTRING",
    "SUM",          "SYMMETRIC",
    "SYSTEM",       "SYSTEM_USER",
    "TABLE",        "THEN",
    "TIME",         "TIMESTAMP",
    "TINYINT",      "TO",
    "TRAILING",     "TRANSLATE",
    "TRANSLATION",  "TREAT",
    "TRIGGER",      "TRIM",
    "TRUE",         "UNION",
    "UNIQUE",       "UNKNOWN",
    "UNNEST",       "UPDATE",
    "UPPER",        "USER",
    "USING",        "VALUE",
    "VALUES",       "VARBINARY",
    "VARCHAR",      "VARYING",
    "WHEN",         "WHENEVER",
    "WHERE",        "WINDOW",
    "WITH",         "WITHIN",
    "WITHOUT",      "YEAR",
};

static bool reserved(const char *name) {
    for (size_t i = 0; i < SL_ARRAY_LEN(RESERVED); i++)
        if (strcasecmp(RESERVED[i], name) == 0) return true;
    return false;
}

/* A source name as a column name (spec §1.7). */
static char *column_name(const char *src, size_t len, size_t ordinal) {
    char kept[DISCOVER_NAME_MAX + 1];
    size_t n = 0;
    for (size_t i = 0; i < len && n < DISCOVER_NAME_MAX; i++)
        if (isalnum((unsigned char)src[i]) || src[i] == '_') kept[n++] = src[i];
    kept[n] = 0;
    char out[DISCOVER_NAME_MAX + 32];
    if (n == 0)
        snprintf(out, sizeof out, "COL_%zu", ordinal);
    else if (n < len || len > DISCOVER_NAME_MAX || isdigit((unsigned char)kept[0]) ||
             reserved(kept))
        snprintf(out, sizeof out, "COL_%s", kept);
    else
        snprintf(out, sizeof out, "%s", kept);
    return strdup(out);
}

/* ---- types ---- */

typedef enum { T_NONE, T_INT, T_BIGINT, T_REAL, T_BOOL, T_TEXT } kind_t;

typedef struct {
    kind_t kind;
    size_t max_len; /* text length (the longest value) */
} col_type_t;

static kind_t kind_of_text(const char *s, size_t len) {
    if (len == 0) return T_NONE;
    if ((len == 4 && strncasecmp(s, "true", 4) == 0) ||
        (len == 5 && strncasecmp(s, "false", 5) == 0))
        return T_BOOL;
    char buf[64];
    if (len >= sizeof buf) return T_TEXT;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (*end == 0 && errno == 0) return v >= -2147483648LL && v <= 2147483647LL ? T_INT : T_BIGINT;
    errno = 0;
    strtod(buf, &end);
    if (*end == 0 && errno == 0 && !isspace((unsigned char)buf[0])) return T_REAL;
    return T_TEXT;
}

static void widen(col_type_t *t, kind_t k, size_t len) {
    if (len > t->max_len) t->max_len = len;
    if (k == T_NONE || k == t->kind) return;
    if (t->kind == T_NONE)
        t->kind = k;
    else if ((t->kind == T_INT || t->kind == T_BIGINT || t->kind == T_REAL) &&
             (k == T_INT || k == T_BIGINT || k == T_REAL))
        t->kind = t->kind > k ? t->kind : k;
    else
        t->kind = T_TEXT;
}

static char *sql_type(const col_type_t *t) {
    char buf[32];
    switch (t->kind) {
    case T_INT:
        return strdup("INTEGER");
    case T_BIGINT:
        return strdup("BIGINT");
    case T_REAL:
        return strdup("REAL");
    case T_BOOL:
        return strdup("BOOLEAN");
    default: {
        size_t n = 4;
        while (n < t->max_len && n < 65535 / 4)
            n *= 4;
        snprintf(buf, sizeof buf, "VARCHAR(%zu)", n);
        return strdup(buf);
    }
    }
}

/* Does text convert to the column's type (ParsedInputRecords shows NULL where it does not)? */
static bool fits(const col_type_t *t, const char *s, size_t len) {
    if (t->kind == T_TEXT || t->kind == T_NONE) return true;
    kind_t k = kind_of_text(s, len);
    if (t->kind == T_BOOL) return k == T_BOOL;
    return k == T_INT || k == T_BIGINT || (k == T_REAL && t->kind == T_REAL);
}

/* ---- the result ---- */

void sl_an_discovery_add_raw(sl_an_discovery_t *d, const char *s, size_t len) {
    char **grown = realloc(d->raw, (d->nraw + 1) * sizeof *grown);
    if (!grown) return;
    d->raw = grown;
    char *copy = strndup(s, len);
    if (!copy) return;
    d->raw[d->nraw++] = copy;
}

void sl_an_discovery_free(sl_an_discovery_t *d) {
    for (size_t i = 0; i < d->nraw; i++)
        free(d->raw[i]);
    free(d->raw);
    for (size_t i = 0; i < d->nparsed * d->schema.ncols; i++)
        free(d->parsed[i]);
    free(d->parsed);
    for (size_t i = 0; i < d->schema.ncols; i++) {
        free(d->schema.cols[i].name);
        free(d->schema.cols[i].sql_type);
        free(d->schema.cols[i].mapping);
    }
    free(d->schema.cols);
    free(d->schema.row_path);
    free(d->schema.row_delim);
    free(d->schema.col_delim);
    free(d->schema.encoding);
    memset(d, 0, sizeof *d);
}

/* ---- JSON ---- */

typedef struct {
    char *name; /* the source key */
    col_type_t type;
} jcol_t;

static bool infer_json(sl_an_discovery_t *d) {
    sl_arena_t arena;
    sl_arena_init(&arena, 16384);
    sl_val_t **docs = calloc(d->nraw + 1, sizeof *docs);
    jcol_t *cols = NULL;
    size_t ncols = 0;
    bool ok = docs != NULL && d->nraw > 0;
    for (size_t r = 0; ok && r < d->nraw; r++) {
        size_t len = strlen(d->raw[r]);
        char *copy = sl_arena_strndup(&arena, d->raw[r], len);
        const char *reason;
        if (!copy || sl_json_parse(copy, len, &arena, &docs[r], &reason) != 0 ||
            docs[r]->type != SL_VAL_MAP) {
            ok = false;
            break;
        }
        for (size_t i = 0; i < docs[r]->u.map.count; i++) {
            const sl_kv_t *kv = &docs[r]->u.map.items[i];
            size_t c = 0;
            while (c < ncols && (strlen(cols[c].name) != kv->key_len ||
                                 memcmp(cols[c].name, kv->key, kv->key_len) != 0))
                c++;
            if (c == ncols) {
                jcol_t *grown = realloc(cols, (ncols + 1) * sizeof *grown);
                if (!grown || ncols >= SL_AN_COLUMNS_MAX) {
                    ok = false;
                    break;
                }
                cols = grown;
                cols[ncols++] = (jcol_t){strndup(kv->key, kv->key_len), {T_NONE, 0}};
            }
            const sl_val_t *v = kv->val;
            if (!v || v->type == SL_VAL_NULL) continue;
            if (v->type == SL_VAL_NUMBER)
                widen(&cols[c].type,
                      !v->u.num.is_integer                                        ? T_REAL
                      : v->u.num.i >= -2147483648LL && v->u.num.i <= 2147483647LL ? T_INT
                                                                                  : T_BIGINT,
                      v->u.num.text_len);
            else if (v->type == SL_VAL_BOOL)
                widen(&cols[c].type, T_BOOL, 5);
            else if (v->type == SL_VAL_STRING)
                widen(&cols[c].type, T_TEXT, v->u.str.len);
            else /* objects and arrays: their JSON text */
                widen(&cols[c].type, T_TEXT, 64);
        }
    }
    if (ok && ncols == 0) ok = false;
    if (ok) {
        d->schema.csv = false;
        d->schema.row_path = strdup("$");
        d->schema.encoding = strdup("UTF-8");
        d->schema.cols = calloc(ncols, sizeof *d->schema.cols);
        d->parsed = calloc(d->nraw * ncols + 1, sizeof *d->parsed);
        ok = d->schema.cols && d->parsed;
    }
    for (size_t c = 0; ok && c < ncols; c++) {
        sl_an_column_def_t *col = &d->schema.cols[c];
        col->name = column_name(cols[c].name, strlen(cols[c].name), c);
        col->sql_type = sql_type(&cols[c].type);
        size_t mlen = strlen(cols[c].name) + 3;
        col->mapping = malloc(mlen);
        if (col->mapping) snprintf(col->mapping, mlen, "$.%s", cols[c].name);
        d->schema.ncols++;
    }
    for (size_t r = 0; ok && r < d->nraw; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const sl_val_t *v = sl_val_get(docs[r], cols[c].name);
            char **slot = &d->parsed[r * ncols + c];
            if (!v) continue;
            if (v->type == SL_VAL_STRING) {
                *slot = strndup(v->u.str.ptr, v->u.str.len);
            } else if (v->type == SL_VAL_NUMBER) {
                *slot = strndup(v->u.num.text, v->u.num.text_len);
            } else if (v->type == SL_VAL_BOOL) {
                *slot = strdup(v->u.b ? "true" : "false");
            } else {
                sl_buf_t b = SL_BUF_INIT;
                sl_enc_t e;
                sl_enc_init(&e, &b, SL_FMT_JSON);
                sl_enc_value(&e, v);
                if (!sl_buf_failed(&b)) *slot = strndup(b.data, b.len);
                sl_buf_free(&b);
            }
        }
    }
    if (ok) d->nparsed = d->nraw;
    for (size_t c = 0; c < ncols; c++)
        free(cols[c].name);
    free(cols);
    free(docs);
    sl_arena_deinit(&arena);
    return ok;
}

/* ---- CSV ---- */

/* Splits line into fields by delim (no quoting); returns the count, at most max. */
static size_t split(const char *line, char delim, const char **starts, size_t *lens, size_t max) {
    size_t n = 0;
    const char *p = line;
    for (;;) {
        const char *q = strchr(p, delim);
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (n < max) {
            starts[n] = p;
            lens[n] = len;
        }
        n++;
        if (!q) break;
        p = q + 1;
    }
    return n;
}

static bool infer_csv(sl_an_discovery_t *d, bool crlf) {
    static const char delims[] = {',', '|', '\t', ';'};
    char delim = 0;
    size_t width = 0;
    const char **starts = calloc(SL_AN_COLUMNS_MAX + 1, sizeof *starts);
    size_t *lens = calloc(SL_AN_COLUMNS_MAX + 1, sizeof *lens);
    bool ok = starts && lens && d->nraw > 0;
    /* the delimiter that gives every row the same number (> 1) of fields */
    for (size_t k = 0; ok && !delim && k < sizeof delims; k++) {
        size_t w = split(d->raw[0], delims[k], starts, lens, SL_AN_COLUMNS_MAX);
        if (w < 2 || w > SL_AN_COLUMNS_MAX) continue;
        bool same = true;
        for (size_t r = 1; same && r < d->nraw; r++)
            same = split(d->raw[r], delims[k], starts, lens, SL_AN_COLUMNS_MAX) == w;
        if (same) {
            delim = delims[k];
            width = w;
        }
    }
    if (!delim) ok = false;
    col_type_t *types = ok ? calloc(width, sizeof *types) : NULL;
    if (ok && !types) ok = false;
    /* the first row is a header when each of its fields is text (none empty) and the rows
     * after it have a non-text column */
    bool header = false;
    if (ok && d->nraw > 1) {
        split(d->raw[0], delim, starts, lens, width);
        bool all_text = true;
        for (size_t c = 0; c < width && all_text; c++)
            all_text = kind_of_text(starts[c], lens[c]) == T_TEXT;
        for (size_t r = 1; r < d->nraw; r++) {
            split(d->raw[r], delim, starts, lens, width);
            for (size_t c = 0; c < width; c++)
                widen(&types[c], kind_of_text(starts[c], lens[c]), lens[c]);
        }
        bool some_typed = false;
        for (size_t c = 0; c < width; c++)
            some_typed |= types[c].kind != T_TEXT && types[c].kind != T_NONE;
        header = all_text && some_typed;
        if (!header) { /* the first row is data too */
            split(d->raw[0], delim, starts, lens, width);
            for (size_t c = 0; c < width; c++)
                widen(&types[c], kind_of_text(starts[c], lens[c]), lens[c]);
        }
    } else if (ok) {
        split(d->raw[0], delim, starts, lens, width);
        for (size_t c = 0; c < width; c++)
            widen(&types[c], kind_of_text(starts[c], lens[c]), lens[c]);
    }
    if (ok) {
        char dl[2] = {delim, 0};
        d->schema.csv = true;
        d->schema.row_delim = strdup(crlf ? "\r\n" : "\n");
        d->schema.col_delim = strdup(dl);
        d->schema.encoding = strdup("UTF-8");
        d->schema.cols = calloc(width, sizeof *d->schema.cols);
        d->parsed = calloc(d->nraw * width + 1, sizeof *d->parsed);
        ok = d->schema.cols && d->parsed;
    }
    if (ok) split(d->raw[0], delim, starts, lens, width);
    for (size_t c = 0; ok && c < width; c++) {
        sl_an_column_def_t *col = &d->schema.cols[c];
        char ordinal[32];
        snprintf(ordinal, sizeof ordinal, "COL_%zu", c);
        col->name = header ? column_name(starts[c], lens[c], c) : strdup(ordinal);
        col->sql_type = sql_type(&types[c]);
        d->schema.ncols++;
    }
    for (size_t r = 0; ok && r < d->nraw; r++) {
        split(d->raw[r], delim, starts, lens, width);
        for (size_t c = 0; c < width; c++)
            if (fits(&types[c], starts[c], lens[c]))
                d->parsed[r * width + c] = strndup(starts[c], lens[c]);
    }
    if (ok) d->nparsed = d->nraw;
    free(types);
    free(starts);
    free(lens);
    return ok;
}

void sl_an_discover_infer(sl_an_discovery_t *d, bool crlf) {
    if (d->nraw && infer_json(d)) return;
    /* a JSON attempt may have left parts */
    sl_an_schema_t empty = {0};
    free(d->schema.row_path);
    free(d->schema.encoding);
    free(d->parsed);
    d->parsed = NULL;
    d->schema = empty;
    if (d->nraw && infer_csv(d, crlf)) return;
    d->err.type = "UnableToDetectSchemaException";
    snprintf(d->err.message, sizeof d->err.message,
             d->nraw ? "Unable to detect the schema of the %zu records sampled: they are neither "
                       "JSON objects nor delimited text with a consistent number of columns"
                     : "No records were found to detect a schema from%.0zu",
             d->nraw);
}

/* ---- sampling ---- */

static int on_sample(void *ctx, const sl_kfollow_shard_t *shard, const sl_krecord_t *records,
                     size_t n) {
    (void)shard;
    sl_an_discovery_t *d = ctx;
    for (size_t i = 0; i < n && d->nraw < DISCOVER_RECORDS_MAX; i++)
        sl_an_discovery_add_raw(d, (const char *)records[i].data, records[i].data_len);
    return 0;
}

typedef struct {
    sl_an_apps_t *apps;
    sl_an_discover_req_t req;
    char *resource_arn, *position, *bucket_arn, *file_key;
    sl_an_discovery_t *out;
    void (*done)(void *ctx);
    void *ctx;
} job_t;

static void sample_stream(const job_t *j, sl_an_discovery_t *d) {
    const sl_an_discover_req_t *req = &j->req;
    bool now = !req->starting_position || strcmp(req->starting_position, "NOW") == 0;
    sl_kfollow_config_t fc = {
        .k = sl_an_apps_kinesis(j->apps),
        .stream = req->resource_arn,
        .start = now ? SL_KSTART_LATEST : SL_KSTART_TRIM_HORIZON,
        .records_max = DISCOVER_RECORDS_MAX,
    };
    sl_kfollow_t *f;
    if (sl_kfollow_create(&fc, &f) != 0) return;
    int64_t deadline = sl_time_mono_ms() + (now ? DISCOVER_WAIT_MS : 0);
    for (;;) {
        size_t delivered;
        bool caught_up;
        int rc = sl_kfollow_pass(f, on_sample, d, &delivered, &caught_up);
        if (rc == SL_ENOTFOUND) {
            d->err.type = "ResourceNotFoundException";
            snprintf(d->err.message, sizeof d->err.message, "Stream %s is not found",
                     req->resource_arn);
            break;
        }
        if (rc != 0 || d->nraw >= DISCOVER_RECORDS_MAX) break;
        if (caught_up && !delivered) {
            if (d->nraw || sl_time_mono_ms() >= deadline) break;
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL); /* NOW: waiting for records to arrive */
        }
    }
    sl_kfollow_destroy(f);
}

/* ---- a delivery stream (KinesisFirehoseInput) ---- */

static int on_fh_sample(void *ctx, const sl_fh_read_record_t *records, size_t n) {
    sl_an_discovery_t *d = ctx;
    for (size_t i = 0; i < n && d->nraw < DISCOVER_RECORDS_MAX; i++)
        sl_an_discovery_add_raw(d, (const char *)records[i].data, records[i].len);
    return 0;
}

/* The records a delivery stream receives from now on, for a few seconds at most (a delivery
 * stream has no TRIM_HORIZON, as for StartApplication). */
static void sample_delivery_stream(const job_t *j, sl_an_discovery_t *d) {
    const sl_an_discover_req_t *req = &j->req;
    sl_firehose_t *fh = sl_an_apps_firehose(j->apps);
    if (req->starting_position && strcmp(req->starting_position, "NOW") != 0) {
        d->err.type = "InvalidArgumentException";
        snprintf(d->err.message, sizeof d->err.message,
                 "%s is not available for a Kinesis Data Firehose delivery stream (NOW)",
                 req->starting_position);
        return;
    }
    sl_fh_reader_t *r = NULL;
    if (!fh || sl_firehose_reader_open(fh, req->resource_arn, sl_time_now_ms(), &r) != 0) {
        d->err.type = "ResourceNotFoundException";
        snprintf(d->err.message, sizeof d->err.message, "Delivery stream %s is not found",
                 req->resource_arn);
        return;
    }
    int64_t deadline = sl_time_mono_ms() + DISCOVER_WAIT_MS;
    for (;;) {
        size_t delivered = 0;
        int rc = sl_firehose_reader_read(r, DISCOVER_RECORDS_MAX - d->nraw, 1u << 20, on_fh_sample,
                                         d, &delivered);
        if (rc == SL_ENOTFOUND) {
            d->err.type = "ResourceNotFoundException";
            snprintf(d->err.message, sizeof d->err.message, "Delivery stream %s is not found",
                     req->resource_arn);
            break;
        }
        if (rc != 0 || d->nraw >= DISCOVER_RECORDS_MAX) break;
        if (!delivered) {
            if (d->nraw || sl_time_mono_ms() >= deadline) break;
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL); /* waiting for records to arrive */
        }
    }
    sl_firehose_reader_close(r);
}

/* The object's rows are the records. */
static bool sample_object(const job_t *j, sl_an_discovery_t *d) {
    const sl_an_discover_req_t *req = &j->req;
    sl_objstore_t *store = sl_an_apps_objstore(j->apps);
    const char *bucket = req->bucket_arn ? strstr(req->bucket_arn, ":::") : NULL;
    if (!bucket || !store) {
        d->err.type = "InvalidArgumentException";
        snprintf(d->err.message, sizeof d->err.message, "BucketARN %s names no bucket here",
                 req->bucket_arn ? req->bucket_arn : "");
        return false;
    }
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_objstore_info_t info;
    sl_objstore_err_t oerr = {0};
    void *data = NULL;
    uint64_t first = 0, len = 0;
    int rc = sl_objstore_get(store, bucket + 3, req->file_key, NULL, &arena, &info, &data, &first,
                             &len, &oerr);
    sl_arena_deinit(&arena);
    if (rc != 0) {
        d->err.type = "ResourceNotFoundException";
        snprintf(d->err.message, sizeof d->err.message, "Object %s in %s cannot be read (%s)",
                 req->file_key, req->bucket_arn, oerr.code ? oerr.code->code : sl_strerror(rc));
        return false;
    }
    const char *p = data, *end = p + len;
    bool crlf = memmem(p, len, "\r\n", 2) != NULL;
    while (p < end && d->nraw < DISCOVER_RECORDS_MAX) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        const char *line_end = stop > p && stop[-1] == '\r' ? stop - 1 : stop;
        if (line_end > p) sl_an_discovery_add_raw(d, p, (size_t)(line_end - p));
        p = nl ? nl + 1 : end;
    }
    free(data);
    return crlf;
}

static void *discover_main(void *arg) {
    job_t *j = arg;
    bool crlf = false;
    if (j->req.resource_arn && strstr(j->req.resource_arn, ":deliverystream/"))
        sample_delivery_stream(j, j->out);
    else if (j->req.resource_arn)
        sample_stream(j, j->out);
    else
        crlf = sample_object(j, j->out);
    if (!j->out->err.type) sl_an_discover_infer(j->out, crlf);
    sl_an_apps_t *apps = j->apps;
    j->done(j->ctx);
    free(j->resource_arn);
    free(j->position);
    free(j->bucket_arn);
    free(j->file_key);
    free(j);
    sl_an_apps_discovering(apps, -1);
    return NULL;
}

int sl_an_discover_start(sl_an_apps_t *apps, const sl_an_discover_req_t *req,
                         sl_an_discovery_t *out, void (*done)(void *ctx), void *ctx) {
    memset(out, 0, sizeof *out);
    job_t *j = calloc(1, sizeof *j);
    if (!j) return SL_ENOMEM;
    j->apps = apps;
    j->req = *req;
    j->resource_arn = req->resource_arn ? strdup(req->resource_arn) : NULL;
    j->position = req->starting_position ? strdup(req->starting_position) : NULL;
    j->bucket_arn = req->bucket_arn ? strdup(req->bucket_arn) : NULL;
    j->file_key = req->file_key ? strdup(req->file_key) : NULL;
    j->req.resource_arn = j->resource_arn;
    j->req.starting_position = j->position;
    j->req.bucket_arn = j->bucket_arn;
    j->req.file_key = j->file_key;
    j->out = out;
    j->done = done;
    j->ctx = ctx;
    sl_an_apps_discovering(apps, 1);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, discover_main, j);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        sl_an_apps_discovering(apps, -1);
        free(j->resource_arn);
        free(j->position);
        free(j->bucket_arn);
        free(j->file_key);
        free(j);
        return SL_EIO;
    }
    return 0;
}
