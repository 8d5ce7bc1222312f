/* Kinesis Data Analytics SQL applications as a service (docs/analytics.md): each account's
 * applications (their inputs, outputs, code, tags, version and status), kept durably in the
 * account's analytics.db, and the runners that execute a RUNNING application's code over its
 * Sluice input stream into its output streams (runner.c). Typed and transport-free: the binding
 * (api/kinesisanalytics) decodes requests into these structures and encodes the answers.
 *
 * Threads: every operation takes the account's lock; a running application has its own thread,
 * which reads and writes streams through the Kinesis core of the account. */
#ifndef SL_ANALYTICS_APPS_H
#define SL_ANALYTICS_APPS_H

#include "analytics/engine.h"
#include "analytics/sql.h"
#include "wire/enc.h"
#include "wire/value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_kinesis sl_kinesis_t;
typedef struct sl_objstore sl_objstore_t;
typedef struct sl_an_apps sl_an_apps_t;

#define SL_AN_APP_NAME_MAX 128
#define SL_AN_ARN_MAX 2048
#define SL_AN_ID_MAX 50
#define SL_AN_INAPP_NAME_MAX 32
#define SL_AN_COLUMNS_MAX 1000
#define SL_AN_OUTPUTS_MAX 3
#define SL_AN_TAGS_MAX 50
#define SL_AN_PARALLELISM_MAX 64
#define SL_AN_APPS_MAX 50 /* applications per account (AWS's default quota) */
#define SL_AN_CWLOGS_MAX 10

typedef enum {
    SL_AN_READY,
    SL_AN_STARTING,
    SL_AN_RUNNING,
    SL_AN_UPDATING,
    SL_AN_STOPPING,
    SL_AN_DELETING
} sl_an_status_t;
const char *sl_an_status_name(sl_an_status_t s);

/* One column of a SourceSchema. */
typedef struct {
    char *name;     /* RecordColumn.Name */
    char *sql_type; /* "VARCHAR(4)", "DOUBLE" ... */
    char *mapping;  /* JSON: the JSONPath; NULL when absent */
} sl_an_column_def_t;

typedef struct {
    bool csv;        /* RecordFormatType CSV, else JSON */
    char *row_path;  /* JSON RecordRowPath (NULL: no MappingParameters) */
    char *row_delim; /* CSV RecordRowDelimiter */
    char *col_delim; /* CSV RecordColumnDelimiter */
    char *encoding;  /* RecordEncoding or NULL */
    sl_an_column_def_t *cols;
    size_t ncols;
} sl_an_schema_t;

/* A streaming input (at most one per application). */
typedef struct {
    char id[SL_AN_ID_MAX + 1];
    char name_prefix[SL_AN_INAPP_NAME_MAX + 1];
    bool firehose; /* KinesisFirehoseInput, else KinesisStreamsInput */
    char *resource_arn;
    char *role_arn;
    int parallelism; /* InputParallelism.Count, 1..64 */
    sl_an_schema_t schema;
    char *processor_arn; /* InputProcessingConfiguration's InputLambdaProcessor, or NULL */
    char *processor_role_arn;
    char starting_position[24]; /* the last StartApplication's for this input, or "" */
} sl_an_input_t;

typedef enum { SL_AN_OUT_STREAM, SL_AN_OUT_FIREHOSE, SL_AN_OUT_LAMBDA } sl_an_output_kind_t;

typedef struct {
    char id[SL_AN_ID_MAX + 1];
    char name[SL_AN_INAPP_NAME_MAX + 1]; /* the in-application stream (case-sensitive) */
    sl_an_output_kind_t kind;
    char *resource_arn;
    char *role_arn;
    bool csv; /* DestinationSchema.RecordFormatType CSV, else JSON */
} sl_an_output_t;

/* A reference data source (at most one): an object of the account's object store loaded into an
 * in-application table when the application starts or is updated. */
typedef struct {
    char id[SL_AN_ID_MAX + 1];
    char table[SL_AN_INAPP_NAME_MAX + 1];
    char *bucket_arn; /* arn:aws:s3:::<bucket> */
    char *file_key;
    char *role_arn;
    sl_an_schema_t schema;
} sl_an_refsrc_t;

/* A CloudWatch logging option: kept and reported (logs go to the server's log). */
typedef struct {
    char id[SL_AN_ID_MAX + 1];
    char *log_stream_arn;
    char *role_arn;
} sl_an_cwlog_t;

typedef struct {
    char *key;
    char *value; /* NULL when absent */
} sl_an_tag_t;

/* An application's configuration as DescribeApplication reports it (strings owned). */
typedef struct {
    char name[SL_AN_APP_NAME_MAX + 1];
    char arn[SL_AN_ARN_MAX + 1];
    char *description; /* NULL when absent */
    char *code;        /* NULL when absent */
    sl_an_status_t status;
    int64_t version;
    int64_t created_ms, updated_ms;
    bool has_input;
    sl_an_input_t input;
    sl_an_output_t outputs[SL_AN_OUTPUTS_MAX];
    size_t noutputs;
    bool has_ref;
    sl_an_refsrc_t ref;
    sl_an_cwlog_t cwlogs[SL_AN_CWLOGS_MAX];
    size_t ncwlogs;
    sl_an_tag_t *tags;
    size_t ntags;
    int next_id;        /* the next sub-resource id's first number ("<n>.1") */
    int64_t started_ms; /* the last StartApplication: where NOW starts reading */
    char *service_role; /* v2's ServiceExecutionRole (NULL when made with v1) */
} sl_an_app_t;

void sl_an_app_free(sl_an_app_t *a); /* the owned members; not a itself */
int sl_an_app_copy(sl_an_app_t *dst, const sl_an_app_t *src);

/* An error as the binding reports it: the AWS type and message; type NULL = success. */
typedef struct {
    const char *type;
    char message[512];
} sl_an_err_t;

/* Invokes a function of the account (RequestResponse) and waits for it, from a runner's thread:
 * 0 with the response payload (*result, malloc'd), or non-zero with a message in `error` (the
 * function failed, timed out or does not exist). */
typedef int (*sl_an_invoke_fn)(void *ctx, const char *function, const void *payload, size_t len,
                               uint8_t **result, size_t *result_len, char *error, size_t error_cap);

typedef struct {
    const char *region;
    const char *account_id;
    const char *path;        /* the account's analytics.db */
    sl_kinesis_t *kinesis;   /* the account's streams: inputs and outputs */
    sl_objstore_t *objstore; /* the account's object store: reference data (NULL: none) */
    /* the account's delivery streams: Firehose inputs and outputs (NULL: such applications wait,
     * logging why) */
    struct sl_firehose *firehose;
    /* Lambda preprocessing of inputs and Lambda outputs (set by the composition root from the
     * functions service; NULL: such applications fail to run their functions, retrying) */
    sl_an_invoke_fn invoke;
    void *invoke_ctx;
    int poll_ms; /* a runner's idle wait between reads (0: 200) */
    /* The runners' clock (clock.h; not owned, shared by every account): NULL = the wall clock */
    struct sl_an_clock *clock;
    /* The bounds of each application's window state (engine.h; zeros: the defaults) */
    sl_an_options_t engine;
} sl_an_apps_config_t;

int sl_an_apps_open(const sl_an_apps_config_t *cfg, sl_an_apps_t **out);
/* Stops every runner (their positions are saved as LAST_STOPPED_POINT) and frees. */
void sl_an_apps_close(sl_an_apps_t *apps);

/* CreateApplication: app holds the request (name, description, code, input, outputs, tags; ids
 * are given here). On success *app is completed (ARN, status, version, ids, timestamps). */
bool sl_an_create(sl_an_apps_t *apps, sl_an_app_t *app, int64_t now_ms, sl_an_err_t *err);
/* DescribeApplication: a copy in *out (free with sl_an_app_free). */
bool sl_an_describe(sl_an_apps_t *apps, const char *name, sl_an_app_t *out, sl_an_err_t *err);
/* ListApplications: names after `exclusive_start` (or from the first), at most `limit`. */
typedef struct {
    char name[SL_AN_APP_NAME_MAX + 1];
    char arn[SL_AN_ARN_MAX + 1];
    sl_an_status_t status;
    int64_t version;
} sl_an_summary_t;
bool sl_an_list(sl_an_apps_t *apps, const char *exclusive_start, int limit, sl_an_summary_t *out,
                size_t *count, bool *more, sl_an_err_t *err);
/* DeleteApplication: create_ms must equal the application's CreateTimestamp (ms). */
bool sl_an_delete(sl_an_apps_t *apps, const char *name, int64_t create_ms, sl_an_err_t *err);

/* StartApplication: positions[i] for input ids[i] ("NOW", "TRIM_HORIZON", "LAST_STOPPED_POINT"). */
bool sl_an_start(sl_an_apps_t *apps, const char *name, const char *const *ids,
                 const char *const *positions, size_t n, int64_t now_ms, sl_an_err_t *err);
bool sl_an_stop(sl_an_apps_t *apps, const char *name, int64_t now_ms, sl_an_err_t *err);

/* The mutations that carry CurrentApplicationVersionId (v2 may leave it out: current_version 0
 * skips the check): `fn` changes a copy of the application
 * (returning false with err set to refuse); the copy is validated (code against the inputs),
 * stored with the version incremented, and a running application restarts on it. */
typedef bool (*sl_an_change_fn)(void *ctx, sl_an_app_t *app, sl_an_err_t *err);
bool sl_an_change(sl_an_apps_t *apps, const char *name, int64_t current_version, int64_t now_ms,
                  sl_an_change_fn fn, void *ctx, sl_an_err_t *err);
/* A new sub-resource id ("<n>.1") for app (advances app->next_id). */
void sl_an_new_id(sl_an_app_t *app, char id[SL_AN_ID_MAX + 1]);

/* Tags by application ARN: add (replacing values), remove, list. */
bool sl_an_tag(sl_an_apps_t *apps, const char *arn, const sl_an_tag_t *tags, size_t n,
               sl_an_err_t *err);
bool sl_an_untag(sl_an_apps_t *apps, const char *arn, const char *const *keys, size_t n,
                 sl_an_err_t *err);
/* The application of an ARN, copied (for ListTagsForResource). */
bool sl_an_describe_arn(sl_an_apps_t *apps, const char *arn, sl_an_app_t *out, sl_an_err_t *err);

/* ---- DiscoverInputSchema (discover.c) ---- */

typedef struct {
    const char *resource_arn;      /* a stream to sample, or NULL */
    const char *starting_position; /* NOW (wait a few seconds for records), TRIM_HORIZON ... */
    const char *bucket_arn;        /* else an object of the account's object store */
    const char *file_key;
} sl_an_discover_req_t;

typedef struct {
    sl_an_err_t err;       /* type NULL: found */
    sl_an_schema_t schema; /* InputSchema */
    char **raw;            /* RawInputRecords */
    size_t nraw;
    char **parsed; /* ParsedInputRecords: nparsed rows of schema.ncols fields (NULL: null) */
    size_t nparsed;
} sl_an_discovery_t;

/* Samples and infers on a thread of its own; `done(ctx)` runs there when *out is filled (the
 * server's close waits for it: sl_an_apps_quiesce). Returns 0 or SL_ENOMEM/SL_EIO. */
int sl_an_discover_start(sl_an_apps_t *apps, const sl_an_discover_req_t *req,
                         sl_an_discovery_t *out, void (*done)(void *ctx), void *ctx);
void sl_an_discovery_free(sl_an_discovery_t *d);
/* The inference alone (what the thread runs after sampling): records added with _add_raw (text,
 * copied), then _infer fills the schema and the parsed records, or err
 * (UnableToDetectSchemaException). crlf: the sample's rows ended in \r\n. */
void sl_an_discovery_add_raw(sl_an_discovery_t *d, const char *s, size_t len);
void sl_an_discover_infer(sl_an_discovery_t *d, bool crlf);
/* Waits until no discovery runs (before the front that answers them stops). NULL: no-op. */
void sl_an_apps_quiesce(sl_an_apps_t *apps);

/* ---- the wire shapes (AWS's member names; the binding's answers and the stored records) ---- */

/* ApplicationDetail (stored: with the tags and the next id, which only the store keeps). */
void sl_an_app_encode(sl_enc_t *e, const sl_an_app_t *a, bool stored);
/* v2's ApplicationDetail (RuntimeEnvironment SQL-1_0, the SQL configuration and the code in
 * ApplicationConfigurationDescription). */
void sl_an_app_encode_v2(sl_enc_t *e, const sl_an_app_t *a);
/* The InputDescriptions and OutputDescriptions lists (AddApplicationInput/Output's answers). */
void sl_an_inputs_encode(sl_enc_t *e, const sl_an_app_t *a);
void sl_an_outputs_encode(sl_enc_t *e, const sl_an_app_t *a);
void sl_an_refs_encode(sl_enc_t *e, const sl_an_app_t *a);
void sl_an_cwlogs_encode(sl_enc_t *e, const sl_an_app_t *a);
void sl_an_schema_encode(sl_enc_t *e, const sl_an_schema_t *s);
/* An Input / Output of a request (or their stored descriptions); a SourceSchema; a Tags list.
 * Strings are copied (free with the app). Returns 0 or SL_ENOMEM. */
int sl_an_input_decode(const sl_val_t *v, sl_an_input_t *in);
int sl_an_output_decode(const sl_val_t *v, sl_an_output_t *o);
int sl_an_schema_decode(const sl_val_t *v, sl_an_schema_t *s);
int sl_an_tags_decode(const sl_val_t *list, sl_an_tag_t **out, size_t *n);
/* A ReferenceDataSource (or its stored description) / a CloudWatchLoggingOption (or its
 * description). */
int sl_an_ref_decode(const sl_val_t *v, sl_an_refsrc_t *r);
int sl_an_cwlog_decode(const sl_val_t *v, sl_an_cwlog_t *c);
void sl_an_ref_free(sl_an_refsrc_t *r);
void sl_an_cwlog_free(sl_an_cwlog_t *c);

#endif
