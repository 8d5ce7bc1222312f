/* The composition root of `sluice serve` (see compose.h). */
#include "server/compose.h"
#include "server/faults.h"
#include "server/ingest_keys.h"
#include "server/observe.h"

#include "api/cloudwatch/binding.h"
#include "api/console/console.h"
#include "api/dynamodb/binding.h"
#include "analytics/apps.h"
#include "analytics/clock.h"
#include "api/kinesisanalytics/binding.h"
#include "api/firehose/binding.h"
#include "api/ingest/ingest.h"
#include "api/kinesis/binding.h"
#include "api/kinesis/metrics.h"
#include "api/lambda/binding.h"
#include "api/iam/binding.h"
#include "api/kms/binding.h"
#include "api/s3/binding.h"
#include "api/sns/binding.h"
#include "api/sqs/binding.h"
#include "api/sts/binding.h"
#include "catalog/catalog.h"
#include "core/common.h"
#include "core/limits.h"
#include "core/linelog.h"
#include "core/log.h"
#include "core/time.h"
#include "core/waiter.h"
#include "dynamodb/dynamodb.h"
#include "esm/esm.h"
#include "firehose/firehose.h"
#include "front/front.h"
#include "iam/credentials.h"
#include "functions/functions.h"
#include "iam/policy.h"
#include "iam/roles.h"
#include "iam/session.h"
#include "iam/store.h"
#include "kms/seal.h"
#include "kinesis/control.h"
#include "kinesis/open.h"
#include "net/http.h"
#include "objstore/objstore.h"
#include "sns/sns.h"
#include "sqs/sqs.h"
#include "storage/backend.h"
#include "wire/awserror.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One account: its catalog, its Kinesis engine, its DynamoDB tables and its object store (owned by
 * the root), its functions (owned by the functions service) and the IAM store's view of it. */
typedef struct {
    char id[16];
    sl_catalog_t *catalog;
    sl_kinesis_t *kinesis;
    sl_ddb_t *dynamodb;
    sl_fn_account_t *functions; /* NULL with --functions off */
    sl_esm_account_t *esm;      /* owned by the esm service; NULL with --functions off */
    sl_lapi_account_t lambda;   /* what the Lambda binding's account hook answers */
    sl_objstore_t *objstore;    /* <account dir>/objects */
    sl_an_apps_t *analytics;    /* <account dir>/analytics.db and its running applications */
    sl_sqs_t *sqs;              /* <account dir>/sqs.db */
    sl_sns_t *sns;              /* <account dir>/sns.db */
    sl_firehose_t *firehose;    /* <account dir>/firehose.db, buffers in the shared storage */
    sl_iam_account_t iam;
    sl_kmsapi_account_t kms; /* the KMS binding's view of the account */
} account_t;

struct sl_compose {
    sl_config_t cfg;          /* copy of the configuration */
    sl_storage_t *storage;    /* owned; shared by every account's shard logs */
    sl_kreadpool_t *readpool; /* owned; the reader pool every account's engine reads on */
    sl_front_t *front;        /* owned: the AWS front, its routes registered by sl_compose_open */
    sl_kapi_t *kapi;          /* owned: the Kinesis binding */
    sl_ingest_keys_t *ingest_keys;     /* owned: --ingest-keys, NULL when the ingest front is off */
    sl_ingest_t *ingest;               /* owned: the ingest front's binding (default account) */
    sl_http_server_t *http;            /* owned */
    sl_iam_creds_t *creds;             /* owned: the --credentials file (--auth sigv4), or NULL */
    sl_functions_t *functions;         /* owned; NULL with --functions off */
    sl_esm_t *esm;                     /* owned: event-source mappings; NULL with --functions off */
    sl_http_server_t *runtime_http;    /* owned: the Runtime API on a loopback port */
    sl_http_server_t *metrics_http;    /* owned: --metrics-port, or NULL */
    sl_an_clock_t *an_clock;           /* owned: the analytics runners' clock (every account) */
    sl_cw_t *cloudwatch;               /* owned: the CloudWatch metric store (every account) */
    volatile bool ready;               /* GET /ready: open and accepting writes (atomic) */
    sl_s3api_t *s3api;                 /* owned: the S3 binding */
    sl_objstore_pool_t *objstore_pool; /* owned: the object stores' worker threads */
    sl_iam_store_t *iam;               /* owned: IAM users, keys and policies of every account */
    sl_kfaults_t faults;               /* --fault, parsed once, given to every account's engine */
    sl_kms_t *kms;                     /* owned: KMS keys and aliases of every account */
    sl_linelog_t *audit;               /* owned: --audit-log, or NULL */
    sl_iam_roles_t *roles;             /* owned: IAM roles of every account */
    sl_iamapi_t iamapi;                /* the IAM binding's view: iam and roles */
    uint8_t session_key[32];           /* seals STS session tokens (from the master key) */
    uint8_t firehose_key[32];          /* wraps Firehose's AWS_OWNED_CMK data keys (same) */
    /* The account registry: accounts[0] is the default account (--account-id, catalog and logs
     * where they have always been); the others live under <data_dir>/accounts/<id>/ and are
     * created on their first request. Entries below account_count never change once published
     * (release store), so lookups read them without a lock; accounts_mu serializes creation. */
    account_t accounts[SL_SERVER_ACCOUNTS_MAX];
    size_t account_count;
    pthread_mutex_t accounts_mu;
};

static sl_durability_t durability_of(const char *name) {
    if (!strcmp(name, "interval")) return SL_DURABILITY_INTERVAL;
    if (!strcmp(name, "none")) return SL_DURABILITY_NONE;
    return SL_DURABILITY_SYNC;
}

static int make_dir(const char *path) {
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        SL_ERROR("cannot create directory %s: %s", path, strerror(errno));
        return errno == ENOSPC ? SL_ENOSPC : SL_EIO;
    }
    return 0;
}

/* Makes a new directory entry durable (fsync of the directory that holds it). */
static int sync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : SL_EIO;
    if (rc) SL_ERROR("cannot sync directory %s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return rc;
}

static int open_catalog(const char *dir, sl_catalog_t **out) {
    char path[SL_DATA_PATH_BYTES_MAX];
    if (snprintf(path, sizeof path, "%s/catalog.db", dir) >= (int)sizeof path) {
        SL_ERROR("data directory path too long: %s", dir);
        return SL_EINVAL;
    }
    int rc = sl_catalog_open_sqlite(path, out);
    if (rc) SL_ERROR("cannot open catalog %s: %s", path, sl_strerror(rc));
    return rc;
}

static int open_storage(sl_compose_t *root) {
    const sl_config_t *cfg = &root->cfg;
    sl_storage_config_t scfg = {
        .data_dir = cfg->data_dir,
        .durability = durability_of(cfg->durability),
        .flush_interval_ms = (int)cfg->flush_interval_ms,
        .segment_bytes = (size_t)cfg->segment_bytes,
        .commit_interval_us = (int)cfg->commit_interval_us,
        .journal_bytes = (size_t)cfg->journal_bytes,
        .on_commit = sl_kinesis_storage_commit,
    };
    int rc = sl_storage_open_file(&scfg, &root->storage);
    if (rc) SL_ERROR("cannot open storage in %s: %s", cfg->data_dir, sl_strerror(rc));
    return rc;
}

/* --fault (kinesis/fault.h): parsed once, before anything is opened, so a bad rule stops the
 * start with its reason. */
static int parse_faults(sl_compose_t *root) {
    const char *reason = NULL;
    const char *spec = root->cfg.fault;
    if (sl_kfaults_parse(spec, strlen(spec), &root->faults, &reason) == 0) {
        if (root->faults.count) SL_WARN("fault injection is on: %s", spec);
        sl_fault_admin_number(&root->faults, 0);
        return 0;
    }
    SL_ERROR("--fault: %s", reason);
    return SL_EINVAL;
}

/* The fault admin API's change (server/faults.h): under accounts_mu, so that an account opened
 * meanwhile copies either the old rules or the new ones, then every engine. */
static int faults_change(void *ctx, int (*edit)(sl_kfaults_t *rules, void *arg), void *arg) {
    sl_compose_t *root = ctx;
    pthread_mutex_lock(&root->accounts_mu);
    sl_kfaults_t *copy = malloc(sizeof *copy);
    int rc = copy ? 0 : SL_ENOMEM;
    if (copy) *copy = root->faults;
    if (rc == 0) rc = edit(copy, arg);
    if (rc == 0) {
        root->faults = *copy;
        for (size_t i = 0; i < root->account_count; i++)
            if (root->accounts[i].kinesis) sl_kinesis_faults_set(root->accounts[i].kinesis, copy);
        char spec[SL_KINESIS_FAULT_SPEC_BYTES_MAX + 1];
        sl_kfaults_format(copy, spec, sizeof spec);
        SL_WARN("fault injection rules changed by the admin API: %s", spec[0] ? spec : "none");
    }
    pthread_mutex_unlock(&root->accounts_mu);
    free(copy);
    return rc;
}

/* Loads the KMS keys of account a (whose catalog is open), before its engine, which unwraps its
 * streams' data keys with them. */
static int open_kms(sl_compose_t *root, account_t *a) {
    a->kms.kms = root->kms;
    size_t idn = strnlen(a->id, sizeof a->kms.id - 1);
    memcpy(a->kms.id, a->id, idn);
    a->kms.id[idn] = 0;
    int rc = sl_kms_load(root->kms, a->id, a->catalog);
    if (rc) SL_ERROR("cannot load the KMS keys of account %s: %s", a->id, sl_strerror(rc));
    return rc;
}

/* Opens the engine of account a (whose catalog is open) with its logs in the shared storage. */
static int open_kinesis(sl_compose_t *root, account_t *a, const char *dir,
                        const char *storage_prefix) {
    const sl_config_t *cfg = &root->cfg;
    sl_kinesis_config_t kcfg = {
        .catalog = a->catalog,
        .storage = root->storage,
        .data_dir = dir,
        .region = cfg->region,
        .account = a->id,
        .storage_prefix = storage_prefix,
        .readpool = root->readpool,
        .create_stream_ms = cfg->create_stream_ms,
        .delete_stream_ms = cfg->delete_stream_ms,
        .update_stream_ms = cfg->update_stream_ms,
        .consumer_ms = cfg->consumer_ms,
        .iterator_ttl_ms = cfg->iterator_ttl_ms,
        .shard_limit = cfg->shard_limit,
        .on_demand_stream_limit = cfg->on_demand_stream_limit,
        .throughput_limits = strcmp(cfg->throughput_limits, "aws") == 0,
        .quotas = strcmp(cfg->quotas, "aws") == 0,
        .shard_write_bytes_per_s = cfg->shard_write_bytes_per_s,
        .shard_write_records_per_s = cfg->shard_write_records_per_s,
        .shard_read_bytes_per_s = cfg->shard_read_bytes_per_s,
        .shard_read_calls_per_s = cfg->shard_read_calls_per_s,
        .efo_bytes_per_s = cfg->efo_bytes_per_s,
        .on_demand_scaling = strcmp(cfg->on_demand_scaling, "on") == 0,
        .on_demand_scale_up_share = cfg->on_demand_scale_up_share,
        .on_demand_scale_down_share = cfg->on_demand_scale_down_share,
        .on_demand_window_ms = cfg->on_demand_window_s * 1000,
        .on_demand_shards_min = cfg->on_demand_shards_min,
        .on_demand_shards_max = cfg->on_demand_shards_max,
        .faults = &root->faults,
        .kms = root->kms,
    };
    return sl_kinesis_open(&kcfg, &a->kinesis);
}

/* Opens the DynamoDB tables of account a (<dir>/dynamodb.db). */
static int open_dynamodb(sl_compose_t *root, account_t *a, const char *dir) {
    char path[SL_DATA_PATH_BYTES_MAX];
    if (snprintf(path, sizeof path, "%s/dynamodb.db", dir) >= (int)sizeof path) return SL_EINVAL;
    sl_ddb_config_t dcfg = {
        .path = path,
        .region = root->cfg.region,
        .account = a->id,
        .create_table_ms = root->cfg.create_table_ms,
    };
    return sl_ddb_open(&dcfg, &a->dynamodb);
}

/* An analytics runner invokes a function (Lambda preprocessing, a Lambda output) of its account:
 * submitted to the functions service, waited for on the runner's thread. */
static void analytics_invoked(sl_fn_op_t *op) {
    sl_waiter_signal(op->arg, 0);
}

static int analytics_invoke(void *ctx, const char *function, const void *payload, size_t len,
                            uint8_t **result, size_t *result_len, char *error, size_t cap) {
    account_t *a = ctx;
    *result = NULL;
    *result_len = 0;
    if (!a->functions) {
        snprintf(error, cap, "the functions service is off (--functions off)");
        return SL_EINVAL;
    }
    sl_waiter_t w;
    sl_waiter_init(&w);
    sl_fn_op_t op = {
        .kind = SL_FN_INVOKE,
        .account = a->functions,
        .function_name = function,
        .invoke_type = SL_FN_INVOKE_SYNC,
        .payload = payload,
        .payload_len = len,
        .done = analytics_invoked,
        .arg = &w,
    };
    sl_fn_submit(&op);
    sl_waiter_wait(&w);
    int rc = 0;
    if (op.error_type) {
        snprintf(error, cap, "%s: %s", op.error_type, op.error_message);
        rc = SL_EAGAIN;
    } else if (op.function_error) {
        snprintf(error, cap, "%s: %.*s", op.function_error, (int)SL_MIN(op.result_len, 200),
                 op.result ? (const char *)op.result : "");
        rc = SL_EAGAIN;
    } else {
        *result = op.result; /* taken over */
        *result_len = op.result_len;
        op.result = NULL;
    }
    sl_fn_op_deinit(&op);
    return rc;
}

/* Opens the Kinesis Data Analytics applications of account a (<dir>/analytics.db); those that
 * were RUNNING run again. */
static int open_analytics(sl_compose_t *root, account_t *a, const char *dir) {
    char path[SL_DATA_PATH_BYTES_MAX];
    if (snprintf(path, sizeof path, "%s/analytics.db", dir) >= (int)sizeof path) return SL_EINVAL;
    sl_an_apps_config_t acfg = {
        .region = root->cfg.region,
        .account_id = a->id,
        .path = path,
        .kinesis = a->kinesis,
        .objstore = a->objstore,
        .firehose = a->firehose,
        .invoke = analytics_invoke,
        .invoke_ctx = a,
        .clock = root->an_clock,
        .engine = {.window_rows_max = (size_t)root->cfg.analytics_window_rows_max,
                   .window_groups_max = (size_t)root->cfg.analytics_window_groups_max,
                   .state_bytes_max = (size_t)root->cfg.analytics_state_bytes_max},
    };
    return sl_an_apps_open(&acfg, &a->analytics);
}

/* The SNS core's way to the queues of an account (deliveries to SQS subscriptions). */
static int sqs_of_account(void *ctx, const char *account, sl_sqs_t **out);

/* Opens the SQS queues and SNS topics of account a (<dir>/sqs.db, <dir>/sns.db). */
static int open_sqs_sns(sl_compose_t *root, account_t *a, const char *dir) {
    char path[SL_DATA_PATH_BYTES_MAX];
    if (snprintf(path, sizeof path, "%s/sqs.db", dir) >= (int)sizeof path) return SL_EINVAL;
    sl_sqs_config_t qcfg = {.path = path, .region = root->cfg.region, .account = a->id};
    int rc = sl_sqs_open(&qcfg, &a->sqs);
    if (rc) return rc;
    if (snprintf(path, sizeof path, "%s/sns.db", dir) >= (int)sizeof path) {
        sl_sqs_close(a->sqs);
        a->sqs = NULL;
        return SL_EINVAL;
    }
    sl_sns_config_t ncfg = {.path = path,
                            .region = root->cfg.region,
                            .account = a->id,
                            .sqs_of_account = sqs_of_account,
                            .sqs_ctx = root};
    return sl_sns_open(&ncfg, &a->sns);
}

/* Opens the object store of an account whose directory is `dir`. */
static int open_objstore(account_t *a, const char *dir) {
    char path[SL_DATA_PATH_BYTES_MAX + 16];
    snprintf(path, sizeof path, "%s/objects", dir);
    return sl_objstore_open(path, &a->objstore);
}

/* Opens the event-source mappings of account a (<dir>/esm.db), once its engine, functions, object
 * store, queues and topics (their OnFailure destinations) are open; with --functions off there
 * are none. */
static int open_esm(sl_compose_t *root, account_t *a, const char *dir) {
    a->lambda.functions = a->functions;
    if (!root->esm) return 0;
    sl_esm_account_config_t ecfg = {.account_id = a->id,
                                    .dir = dir,
                                    .kinesis = a->kinesis,
                                    .functions = a->functions,
                                    .objstore = a->objstore,
                                    .sqs = a->sqs,
                                    .sns = a->sns};
    int rc = sl_esm_account_open(root->esm, &ecfg, &a->esm);
    a->lambda.esm = a->esm;
    return rc;
}

/* Opens the delivery streams of account a (after its object store: they deliver into it). */
static int open_firehose(sl_compose_t *root, account_t *a, const char *dir, bool is_default) {
    char prefix[32];
    snprintf(prefix, sizeof prefix, is_default ? "_fh." : "_fh.%s.", a->id);
    sl_firehose_config_t fcfg = {
        .dir = dir,
        .region = root->cfg.region,
        .account = a->id,
        .storage = root->storage,
        .storage_prefix = prefix,
        .objstore = a->objstore,
        .kinesis = a->kinesis,
        .create_ms = root->cfg.create_stream_ms,
        .fixed_time_ms = root->cfg.firehose_fixed_time_ms,
        .external_buckets = root->cfg.s3_external_buckets,
        .kms = root->kms,
        .owned_key = root->firehose_key,
    };
    return sl_firehose_open(&fcfg, &a->firehose);
}

static void account_close(account_t *a) {
    sl_an_apps_close(a->analytics); /* its runners use the account's streams */
    sl_sns_close(a->sns);
    sl_sqs_close(a->sqs);
    sl_firehose_close(a->firehose);
    sl_objstore_close(a->objstore);
    sl_ddb_close(a->dynamodb);
    sl_kinesis_close(a->kinesis);
    sl_catalog_close(a->catalog);
    *a = (account_t){0};
}

/* ---- accounts ---- */

static bool is_account_id(const char *s) {
    return strlen(s) == 12 && strspn(s, "0123456789") == 12;
}

/* Opens (create: creates first) the account `id` under <data_dir>/accounts/<id>/ and publishes it
 * in the registry. Caller holds accounts_mu (or is the only thread, at start). */
static int account_open(sl_compose_t *root, const char *id, bool create, account_t **out) {
    size_t n = root->account_count;
    if (n >= (size_t)root->cfg.accounts_max) {
        SL_WARN("account %s refused: the server already holds %zu accounts (--accounts-max)", id,
                n);
        return SL_ELIMIT;
    }
    char accounts[SL_DATA_SUBDIR_BYTES_MAX], dir[SL_DATA_PATH_BYTES_MAX], prefix[16];
    snprintf(accounts, sizeof accounts, "%s/accounts", root->cfg.data_dir);
    snprintf(dir, sizeof dir, "%s/%s", accounts, id);
    snprintf(prefix, sizeof prefix, "%s.", id);
    int rc = 0;
    if (create) {
        rc = make_dir(accounts);
        if (rc == 0) rc = make_dir(dir);
    }
    account_t *a = &root->accounts[n];
    snprintf(a->id, sizeof a->id, "%s", id);
    if (rc == 0) rc = open_catalog(dir, &a->catalog);
    /* The account exists once its catalog's directory entries are durable: sync the chain. */
    if (rc == 0 && create) rc = sync_dir(dir);
    if (rc == 0 && create) rc = sync_dir(accounts);
    if (rc == 0 && create) rc = sync_dir(root->cfg.data_dir);
    if (rc == 0) rc = open_kms(root, a);
    if (rc == 0) rc = open_kinesis(root, a, dir, prefix);
    if (rc == 0) rc = open_dynamodb(root, a, dir);
    if (rc == 0 && root->functions)
        rc = sl_functions_account_open(root->functions, id, dir, &a->functions);
    if (rc == 0) rc = open_objstore(a, dir);
    if (rc == 0) rc = open_firehose(root, a, dir, false);
    if (rc == 0) rc = open_analytics(root, a, dir); /* after firehose: its inputs and outputs */
    if (rc == 0) rc = open_sqs_sns(root, a, dir);
    if (rc) {
        SL_ERROR("cannot open account %s in %s: %s", id, dir, sl_strerror(rc));
        account_close(a);
        return rc;
    }
    snprintf(a->iam.id, sizeof a->iam.id, "%s", id);
    a->iam.catalog = a->catalog;
    if (!create) rc = sl_iam_store_load(root->iam, &a->iam);
    if (rc == 0) rc = sl_iam_roles_load(root->roles, id, a->catalog);
    if (rc) SL_ERROR("cannot load the IAM rows of account %s: %s", id, sl_strerror(rc));
    /* The event-source mappings last: once open they run on the account's engine, which
     * account_close would close under them (the mapping service has no account close). */
    if (rc == 0 && (rc = open_esm(root, a, dir)) != 0)
        SL_ERROR("cannot open account %s in %s: %s", id, dir, sl_strerror(rc));
    if (rc) {
        sl_iam_roles_unload(root->roles, id);
        sl_iam_store_unload(root->iam, id);
        account_close(a);
        return rc;
    }
    if (root->kapi) sl_kapi_attach_kinesis(root->kapi, a->kinesis);
    if (create) SL_INFO("account %s created in %s", id, dir);
    __atomic_store_n(&root->account_count, n + 1, __ATOMIC_RELEASE);
    *out = a;
    return 0;
}

static account_t *account_find(sl_compose_t *root, const char *id) {
    size_t n = __atomic_load_n(&root->account_count, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < n; i++)
        if (strcmp(root->accounts[i].id, id) == 0) return &root->accounts[i];
    return NULL;
}

/* The account of an access key id: a 12-digit id is the account; any other key, and the default
 * account's own id, select the default account. */
static int account_for_key(sl_compose_t *root, const char *access_key_id, account_t **out) {
    *out = &root->accounts[0];
    if (!access_key_id || !is_account_id(access_key_id)) return 0;
    account_t *a = account_find(root, access_key_id);
    if (a) {
        *out = a;
        return 0;
    }
    pthread_mutex_lock(&root->accounts_mu);
    a = account_find(root, access_key_id);
    int rc = a ? 0 : account_open(root, access_key_id, true, &a);
    pthread_mutex_unlock(&root->accounts_mu);
    if (rc == 0) *out = a;
    return rc;
}

/* The Kinesis descriptor's account hook (sl_front_service_t.account): the engine of the
 * request's account. */
static int kinesis_for_key(void *ctx, const char *access_key_id, void **out) {
    account_t *a;
    int rc = account_for_key(ctx, access_key_id, &a);
    if (rc == 0) *out = a->kinesis;
    return rc;
}

/* The DynamoDB descriptor's account hook: the tables of the request's account. */
static int analytics_for_key(void *ctx, const char *access_key_id, void **out) {
    account_t *a;
    int rc = account_for_key(ctx, access_key_id, &a);
    if (rc == 0) *out = a->analytics;
    return rc;
}

static int dynamodb_for_key(void *ctx, const char *access_key_id, void **out) {
    account_t *a;
    int rc = account_for_key(ctx, access_key_id, &a);
    if (rc == 0) *out = a->dynamodb;
    return rc;
}

static int sqs_of_account(void *ctx, const char *account, sl_sqs_t **out) {
    account_t *a = account_find(ctx, account);
    *out = a ? a->sqs : NULL;
    return a ? 0 : SL_ENOTFOUND;
}

/* The SQS descriptors' account hook: the queues of the request's account. */
static int sqs_for_key(void *ctx, const char *access_key_id, void **out) {
    account_t *a;
    int rc = account_for_key(ctx, access_key_id, &a);
    if (rc == 0) *out = a->sqs;
    return rc;
}

static int sns_of_account(void *ctx, const char *account, sl_sns_t **out) {
    account_t *a = account_find(ctx, account);
    *out = a ? a->sns : NULL;
    return a ? 0 : SL_ENOTFOUND;
}

/* The SNS descriptor's account hook: the topics of the request's account. */
static int sns_for_key(void *ctx, const char *access_key_id, void **out) {
    account_t *a;
    int rc = account_for_key(ctx, access_key_id, &a);
    if (rc == 0) *out = a->sns;
    return rc;
}

/* The Lambda descriptor's account hook: the functions of the request's account (NULL with
 * --functions off: the binding then refuses every operation). */
static int functions_for_key(void *ctx, const char *access_key_id, void **out) {
    account_t *a;
    int rc = account_for_key(ctx, access_key_id, &a);
    if (rc == 0) *out = &a->lambda;
    return rc;
}

/* The functions service, with the default account's functions. Function processes run code from
 * the API: --functions off skips this. */
static int open_functions(sl_compose_t *root) {
    const sl_config_t *cfg = &root->cfg;
    if (strcmp(cfg->functions, "on") != 0) return 0;
    char runtime_dir[SL_DATA_SUBDIR_BYTES_MAX];
    snprintf(runtime_dir, sizeof runtime_dir, "%s/runtime", cfg->data_dir);
    sl_functions_config_t fcfg = {
        .region = cfg->region,
        .runtime_dir = runtime_dir,
        .concurrency = (int)cfg->functions_concurrency,
        .retry_delay_ms = cfg->functions_retry_ms,
        .user = cfg->functions_user,
    };
    int rc = sl_functions_create(&fcfg, &root->functions);
    if (rc) {
        SL_ERROR("cannot start the functions service: %s", sl_strerror(rc));
        return rc;
    }
    sl_esm_config_t ecfg = {.region = cfg->region};
    rc = sl_esm_create(&ecfg, &root->esm);
    if (rc) {
        SL_ERROR("cannot start the event-source mapping service: %s", sl_strerror(rc));
        return rc;
    }
    return sl_functions_account_open(root->functions, root->accounts[0].id, cfg->data_dir,
                                     &root->accounts[0].functions);
}

static int function_role(void *ctx, const char *account, const char *role_arn, const char *name,
                         int64_t now_s, sl_fn_creds_t *out);

/* The Runtime API server (127.0.0.1, a free port), started after the main listener so that the
 * first "listening on" line of the log stays the API's. */
static int start_runtime_api(sl_compose_t *root) {
    if (!root->functions) return 0;
    sl_http_server_config_t hcfg = {
        .bind_address = "127.0.0.1",
        .port = 0,
        .threads = 1,
        .body_max_bytes = SL_FN_PAYLOAD_BYTES_MAX + 1024 * 1024,
        .handler = sl_lapi_runtime_handle,
        .handler_ctx = root->functions,
        /* a runtime waits in /next for as long as no invocation comes */
        .idle_timeout_ms = 3600000,
    };
    int rc = sl_http_server_start(&hcfg, &root->runtime_http);
    if (rc) {
        SL_ERROR("cannot listen for the Lambda Runtime API: %s", sl_strerror(rc));
        return rc;
    }
    char api[64];
    snprintf(api, sizeof api, "127.0.0.1:%d", sl_http_server_port(root->runtime_http));
    /* the processes' SDKs call this server: its HTTP port, on loopback when it listens on
     * every address */
    const char *host = root->cfg.bind;
    if (!host[0] || strcmp(host, "0.0.0.0") == 0) host = "127.0.0.1";
    if (strcmp(host, "::") == 0 || strcmp(host, "[::]") == 0) host = "[::1]";
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "http://%s%s%s:%d",
             strchr(host, ':') && host[0] != '[' ? "[" : "", host,
             strchr(host, ':') && host[0] != '[' ? "]" : "", sl_http_server_port(root->http));
    sl_functions_set_identity(root->functions, function_role, root, endpoint);
    sl_functions_set_runtime_api(root->functions, api);
    SL_INFO("functions: Runtime API on %s", api);
    return 0;
}

/* The Firehose descriptor's account hook: the delivery streams of the request's account. */
static int firehose_for_key(void *ctx, const char *access_key_id, void **out) {
    account_t *a;
    int rc = account_for_key(ctx, access_key_id, &a);
    if (rc == 0) *out = a->firehose;
    return rc;
}

/* The S3 descriptor's account hook: the object store of the request's account. */
static int objstore_for_key(void *ctx, const char *access_key_id, void **out) {
    account_t *a;
    int rc = account_for_key(ctx, access_key_id, &a);
    if (rc == 0) *out = a->objstore;
    return rc;
}

/* The STS descriptor's account hook: the caller's account id (the principal's, or in open mode
 * the one the access key names, as for Kinesis), without creating an account. */
static int sts_account(void *ctx, const char *key, void **out) {
    sl_compose_t *root = ctx;
    *out = (void *)(key && is_account_id(key) ? key : root->accounts[0].id);
    return 0;
}

/* The KMS descriptor's account hook: the caller's account as the KMS binding sees it. */
static int kms_account(void *ctx, const char *key, void **out) {
    account_t *a;
    int rc = account_for_key(ctx, key, &a);
    if (rc == 0) *out = &a->kms;
    return rc;
}

/* The IAM descriptor's account hook: the caller's account as the IAM store sees it (created on
 * first use, as for Kinesis). */
static int iam_account(void *ctx, const char *key, void **out) {
    account_t *a;
    int rc = account_for_key(ctx, key, &a);
    if (rc == 0) *out = &a->iam;
    return rc;
}

/* The master key (--master-key-file, default <data_dir>/master.key), the IAM store with the
 * default account's rows (the other accounts load theirs as they open) and the KMS keys. */
static int open_iam(sl_compose_t *root) {
    char path[SL_DATA_PATH_BYTES_MAX];
    if (root->cfg.master_key_file[0])
        snprintf(path, sizeof path, "%s", root->cfg.master_key_file);
    else
        snprintf(path, sizeof path, "%s/master.key", root->cfg.data_dir);
    uint8_t key[32];
    int rc = sl_iam_master_key_load(path, key);
    if (rc == 0) rc = sl_iam_store_create(key, &root->iam);
    if (rc == 0) rc = sl_kms_create(key, root->cfg.region, &root->kms);
    if (rc == 0) rc = sl_iam_roles_create(&root->roles);
    if (rc == 0) sl_iam_session_key(key, root->session_key);
    if (rc == 0) sl_kms_derive_key(key, "sluice firehose aws-owned cmk v1", root->firehose_key);
    memset(key, 0, sizeof key);
    account_t *def = &root->accounts[0];
    snprintf(def->iam.id, sizeof def->iam.id, "%s", def->id);
    def->iam.catalog = def->catalog;
    if (rc == 0) rc = sl_iam_store_load(root->iam, &def->iam);
    if (rc == 0) rc = sl_iam_roles_load(root->roles, def->id, def->catalog);
    if (rc) SL_ERROR("cannot open the IAM store: %s", sl_strerror(rc));
    return rc;
}

/* GET /health: the server is up and serving (a plain route of the front). */
static void health(sl_front_call_t *call) {
    static const char body[] = "{\"status\":\"ok\"}";
    sl_front_respond(call, 200, "application/json", body, sizeof body - 1);
}

/* ---- authentication (docs/security.md) ---- */

static bool is_loopback(const char *addr) {
    return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
           strcmp(addr, "[::1]") == 0 || strcmp(addr, "localhost") == 0;
}

/* Temporary credentials (iam/session.h): the session the token carries, when it was issued for
 * this access key by this server. */
static int principal_of_session(sl_compose_t *root, const char *access_key_id, const char *token,
                                sl_front_principal_t *out) {
    sl_iam_session_t s;
    char secret[48];
    if (sl_iam_session_open(root->session_key, access_key_id, token, &s, secret) != 0)
        return SL_ENOTFOUND;
    snprintf(out->secret, sizeof out->secret, "%s", secret);
    memcpy(out->account_id, s.account_id, sizeof out->account_id);
    memcpy(out->user_name, s.user_name, sizeof out->user_name);
    snprintf(out->session_token, sizeof out->session_token, "%s", token);
    if (s.role)
        snprintf(out->arn, sizeof out->arn, "arn:aws:sts::%s:assumed-role/%s/%s", s.account_id,
                 s.user_name, s.role_session);
    else
        snprintf(out->arn, sizeof out->arn, "arn:aws:iam::%s:user/%s", s.account_id, s.user_name);
    out->expiration_s = s.expiration_s;
    out->admin = s.admin;
    out->temporary = true;
    out->role = s.role;
    memcpy(out->session_policy, s.policy, sizeof out->session_policy);
    memset(secret, 0, sizeof secret);
    return 0;
}

/* The front's principal lookup (sl_front_config_t.principal): STS's temporary credentials
 * (ASIA... keys with their session token), the credentials file, then the access keys of IAM
 * users (CreateAccessKey). */
static int principal_of_key(void *ctx, const char *access_key_id, const char *session_token,
                            sl_front_principal_t *out) {
    sl_compose_t *root = ctx;
    if (session_token && strncmp(access_key_id, "ASIA", 4) == 0 &&
        strncmp(session_token, "SLS", 3) == 0)
        return principal_of_session(root, access_key_id, session_token, out);
    sl_iam_principal_t p;
    int rc = sl_iam_creds_lookup(root->creds, access_key_id, &p);
    if (rc == SL_ENOTFOUND) rc = sl_iam_store_lookup(root->iam, access_key_id, &p);
    if (rc == 0) {
        memcpy(out->secret, p.secret, sizeof out->secret);
        memcpy(out->account_id, p.account_id, sizeof out->account_id);
        memcpy(out->user_name, p.user_name, sizeof out->user_name);
        memcpy(out->session_token, p.session_token, sizeof out->session_token);
        snprintf(out->arn, sizeof out->arn, "arn:aws:iam::%s:user/%s", p.account_id, p.user_name);
        out->expiration_s = p.expiration_s;
        out->admin = p.admin;
        out->temporary = out->role = false;
        out->session_policy[0] = '\0';
    }
    memset(&p, 0, sizeof p);
    return rc;
}

/* STS's credential issuer (api/sts/binding.h): temporary credentials for the caller
 * (GetSessionToken). In open mode nothing is verified: the credentials name the caller's
 * account by its id as the access key, so requests signed with them stay in that account. */
static int sts_issue(void *ctx, const sl_front_principal_t *caller, const char *account,
                     int64_t expiration_s, sl_iam_session_creds_t *out) {
    sl_compose_t *root = ctx;
    if (!caller) {
        int rc = sl_iam_session_issue(root->session_key,
                                      &(sl_iam_session_t){.expiration_s = expiration_s}, out);
        snprintf(out->access_key_id, sizeof out->access_key_id, "%s", account);
        return rc;
    }
    sl_iam_session_t s = {.admin = caller->admin, .expiration_s = expiration_s};
    memcpy(s.account_id, caller->account_id, sizeof s.account_id);
    memcpy(s.user_name, caller->user_name, sizeof s.user_name);
    return sl_iam_session_issue(root->session_key, &s, out);
}

/* The inline policies of a role together, for a request. */
static sl_iam_decision_t role_decision(sl_compose_t *root, const char *account, const char *role,
                                       const sl_iam_request_t *req, sl_arena_t *arena) {
    char names[SL_IAM_ROLE_POLICIES_MAX][SL_AUTH_NAME_BYTES_MAX];
    size_t count = 0;
    if (sl_iam_role_policy_list(root->roles, account, role, names, SL_IAM_ROLE_POLICIES_MAX,
                                &count) != 0)
        return SL_IAM_IMPLICIT_DENY;
    const sl_iam_policy_t *policies[SL_IAM_ROLE_POLICIES_MAX];
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        char *doc = NULL;
        const char *reason = NULL;
        sl_iam_policy_t *p = NULL;
        if (sl_iam_role_policy_get(root->roles, account, role, names[i], &doc) != 0) continue;
        if (sl_iam_policy_parse(doc, strlen(doc), arena, &p, &reason) == 0) policies[n++] = p;
        free(doc);
    }
    return sl_iam_policies_decide(policies, n, req);
}

/* The principal's session policy (AssumeRole's Policy) decided for a request: allow when it has
 * none (it only bounds what the other policies allow); one that no longer parses allows nothing. */
static sl_iam_decision_t session_decision(const sl_front_principal_t *principal,
                                          const sl_iam_request_t *req, sl_arena_t *arena) {
    if (!principal->session_policy[0]) return SL_IAM_ALLOW;
    sl_iam_policy_t *p = NULL;
    const char *reason = NULL;
    if (sl_iam_policy_parse(principal->session_policy, strlen(principal->session_policy), arena, &p,
                            &reason) != 0)
        return SL_IAM_IMPLICIT_DENY;
    return sl_iam_policy_decide(p, req);
}

/* The identity-based policies of a principal's IAM user together, for a request (a principal
 * without an IAM user, a non-admin of the credentials file, has none: implicit deny). A stored
 * document that no longer parses counts as no policy. */
static sl_iam_decision_t identity_decision(sl_compose_t *root,
                                           const sl_front_principal_t *principal,
                                           const sl_iam_request_t *req, sl_arena_t *arena) {
    enum { POLICIES_MAX = 32 };
    account_t *a;
    if (principal->admin) return SL_IAM_ALLOW;
    if (account_for_key(root, principal->account_id, &a) != 0) return SL_IAM_IMPLICIT_DENY;
    char names[POLICIES_MAX][SL_AUTH_NAME_BYTES_MAX];
    size_t count = 0;
    if (principal->role) /* an assumed role's session: the role's policies */
        return role_decision(root, principal->account_id, principal->user_name, req, arena);
    if (sl_iam_policy_list(root->iam, &a->iam, principal->user_name, names, POLICIES_MAX, &count) !=
        0)
        return SL_IAM_IMPLICIT_DENY;
    const sl_iam_policy_t *policies[POLICIES_MAX];
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        char *doc = NULL;
        const char *reason = NULL;
        sl_iam_policy_t *p = NULL;
        if (sl_iam_policy_get(root->iam, &a->iam, principal->user_name, names[i], &doc) != 0)
            continue;
        if (sl_iam_policy_parse(doc, strlen(doc), arena, &p, &reason) == 0) policies[n++] = p;
        free(doc);
    }
    return sl_iam_policies_decide(policies, n, req);
}

/* The account field of an ARN (arn:partition:service:region:account:...) when it is 12 digits. */
static bool arn_account(const char *arn, char out[16]) {
    const char *p = arn;
    for (int field = 0; field < 4 && p; field++) {
        p = strchr(p, ':');
        if (p) p++;
    }
    if (!p || strncmp(arn, "arn:", 4) != 0 || strspn(p, "0123456789") != 12 || p[12] != ':')
        return false;
    memcpy(out, p, 12);
    out[12] = '\0';
    return true;
}

/* The resource-based policy of a Kinesis stream or consumer (PutResourcePolicy), decided for
 * the request; implicit deny when the resource has none (or it does not parse) or is not a
 * Kinesis stream or consumer. The owner's account is looked up, never created. */
static sl_iam_decision_t resource_decision(sl_compose_t *root, const char *owner,
                                           const sl_iam_request_t *req, sl_arena_t *arena) {
    if (strncmp(req->resource, "arn:aws:kinesis:", 16) != 0 || !strstr(req->resource, ":stream/"))
        return SL_IAM_IMPLICIT_DENY;
    account_t *a = account_find(root, owner);
    if (!a) return SL_IAM_IMPLICIT_DENY;
    sl_kpolicy_t op = {.resource_arn = req->resource,
                       .resource_arn_len = strlen(req->resource),
                       .now_ms = sl_time_now_ms()};
    const char *text = NULL, *reason = NULL;
    sl_kerr_t err;
    sl_iam_policy_t *p = NULL;
    if (!sl_kinesis_policy_get(a->kinesis, &op, arena, &text, &err) || !text ||
        sl_iam_resource_policy_parse(text, strlen(text), arena, &p, &reason) != 0)
        return SL_IAM_IMPLICIT_DENY;
    return sl_iam_policy_decide(p, req);
}

/* The front's account_known hook: an account exists when it was created (it is open: every
 * account on disk is opened at start) or a principal of the credentials file belongs to it. IAM
 * users and roles live in accounts that exist. */
static bool account_known(void *ctx, const char *account_id) {
    sl_compose_t *root = ctx;
    return account_find(root, account_id) ||
           (root->creds && sl_iam_creds_names_account(root->creds, account_id));
}

/* The front's authorization hook (sl_front_config_t.authorize), as AWS evaluates policies:
 * an explicit deny in the principal's identity-based policies or in the resource's
 * resource-based policy wins; within one account either kind of policy may allow (an admin of
 * the credentials file is allowed by its identity); a resource of another account needs both
 * (cross-account access is granted only by the owner's resource policy). aws:SourceIp is the
 * client's address, aws:SecureTransport whether it came over TLS. */
static sl_front_authz_t authorize(void *ctx, const sl_front_principal_t *principal,
                                  const sl_front_authz_req_t *r, sl_arena_t *arena) {
    sl_compose_t *root = ctx;
    char owner[16];
    if (!arn_account(r->resource, owner))
        snprintf(owner, sizeof owner, "%s", principal->account_id);
    bool cross = strcmp(owner, principal->account_id) != 0;
    sl_iam_request_t req = {.action = r->action,
                            .resource = r->resource,
                            .source_ip = r->source_ip[0] ? r->source_ip : NULL,
                            .secure_transport = r->secure_transport,
                            .principal_arn = principal->arn,
                            .principal_account = principal->account_id};
    sl_iam_decision_t id = identity_decision(root, principal, &req, arena);
    if (id == SL_IAM_EXPLICIT_DENY) return SL_FRONT_AUTHZ_EXPLICIT_DENY;
    sl_iam_decision_t session = session_decision(principal, &req, arena);
    if (session == SL_IAM_EXPLICIT_DENY) return SL_FRONT_AUTHZ_SESSION_EXPLICIT_DENY;
    sl_iam_decision_t res = resource_decision(root, owner, &req, arena);
    if (res == SL_IAM_EXPLICIT_DENY) return SL_FRONT_AUTHZ_RESOURCE_EXPLICIT_DENY;
    /* a session policy bounds every grant: the role's policies and resource policies alike */
    if (!cross && id != SL_IAM_ALLOW && res != SL_IAM_ALLOW) return SL_FRONT_AUTHZ_IMPLICIT_DENY;
    if (cross && id != SL_IAM_ALLOW) return SL_FRONT_AUTHZ_IMPLICIT_DENY;
    if (session != SL_IAM_ALLOW) return SL_FRONT_AUTHZ_SESSION_IMPLICIT_DENY;
    if (cross && res != SL_IAM_ALLOW) return SL_FRONT_AUTHZ_RESOURCE_IMPLICIT_DENY;
    return SL_FRONT_AUTHZ_ALLOW;
}

/* STS AssumeRole (api/sts/binding.h), as AWS decides it: the role's trust policy must allow
 * the caller sts:AssumeRole (an explicit deny there or in the caller's identity policies wins);
 * a trust policy naming the caller's own ARN in the role's account is enough, one naming its
 * account needs the caller's identity to allow sts:AssumeRole on the role too, and so does every
 * caller of another account. A role that does not exist is refused the same way. Open mode
 * verifies nobody: an existing role is assumed. */
static int sts_assume(void *ctx, sl_sts_assume_t *op) {
    sl_compose_t *root = ctx;
    const sl_front_principal_t *caller = op->caller;
    char owner[16] = "";
    const char *slash = op->role_arn ? strrchr(op->role_arn, '/') : NULL;
    bool arn_ok = op->role_arn && strncmp(op->role_arn, "arn:aws:iam::", 13) == 0 &&
                  arn_account(op->role_arn, owner) && strstr(op->role_arn, ":role/") && slash &&
                  slash[1];
    const char *who = caller ? caller->arn : "anonymous";
    snprintf(op->error_message, sizeof op->error_message,
             "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", who,
             op->role_arn ? op->role_arn : "");
    /* the session policy first: input, whoever asks */
    size_t policy_len = op->policy ? strlen(op->policy) : 0;
    if (op->policy_arns) {
        op->error_type = SL_AWS_VALIDATION;
        snprintf(op->error_message, sizeof op->error_message,
                 "PolicyArns (managed session policies) are not supported by this server: pass "
                 "the session policy inline, in Policy.");
        return 0;
    }
    if (policy_len >= SL_AUTH_SESSION_POLICY_BYTES_MAX) {
        op->error_type = "PackedPolicyTooLarge";
        snprintf(op->error_message, sizeof op->error_message,
                 "Packed policy consumes %zu%% of allotted space, please use smaller policy for "
                 "session.",
                 policy_len * 100 / (SL_AUTH_SESSION_POLICY_BYTES_MAX - 1));
        return 0;
    }
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    if (op->policy) {
        sl_iam_policy_t *p = NULL;
        const char *reason = NULL;
        if (sl_iam_policy_parse(op->policy, policy_len, &arena, &p, &reason) != 0) {
            op->error_type = "MalformedPolicyDocument";
            snprintf(op->error_message, sizeof op->error_message, "%s",
                     reason ? reason : "The policy is not valid.");
            sl_arena_deinit(&arena);
            return 0;
        }
    }
    sl_iam_role_t *role = malloc(sizeof *role);
    if (!role) {
        sl_arena_deinit(&arena);
        return SL_ENOMEM;
    }
    bool allowed = arn_ok && account_find(root, owner) &&
                   sl_iam_role_get(root->roles, owner, slash + 1, role) == 0;
    if (allowed && caller) {
        sl_iam_request_t req = {.action = "sts:AssumeRole",
                                .resource = op->role_arn,
                                .principal_arn = caller->arn,
                                .principal_account = caller->account_id,
                                .external_id = op->external_id};
        sl_iam_policy_t *trust = NULL;
        const char *reason = NULL;
        sl_iam_decision_t by_trust = SL_IAM_IMPLICIT_DENY, exact = SL_IAM_IMPLICIT_DENY;
        if (sl_iam_resource_policy_parse(role->trust, strlen(role->trust), &arena, &trust,
                                         &reason) == 0) {
            by_trust = sl_iam_policy_decide(trust, &req);
            sl_iam_request_t only_arn = req;
            only_arn.principal_account = NULL; /* matches the caller's own ARN (or "*") only */
            exact = sl_iam_policy_decide(trust, &only_arn);
        }
        sl_iam_decision_t id = identity_decision(root, caller, &req, &arena);
        /* a caller that is itself a session with a session policy: bounded by it too */
        sl_iam_decision_t session = session_decision(caller, &req, &arena);
        if (session == SL_IAM_EXPLICIT_DENY) id = SL_IAM_EXPLICIT_DENY;
        if (session != SL_IAM_ALLOW && id == SL_IAM_ALLOW) id = SL_IAM_IMPLICIT_DENY;
        bool same = strcmp(owner, caller->account_id) == 0;
        allowed = by_trust == SL_IAM_ALLOW && id != SL_IAM_EXPLICIT_DENY &&
                  (id == SL_IAM_ALLOW || (same && exact == SL_IAM_ALLOW));
    }
    int rc = 0;
    if (!allowed) {
        op->error_type = SL_AWS_ACCESS_DENIED;
    } else if (op->duration_s < 900 || op->duration_s > role->max_session_s) {
        op->error_type = SL_AWS_VALIDATION;
        snprintf(op->error_message, sizeof op->error_message, "%s",
                 op->duration_s < 900
                     ? "1 validation error detected: Value at 'durationSeconds' failed to "
                       "satisfy constraint: Member must have value greater than or equal to 900"
                     : "The requested DurationSeconds exceeds the MaxSessionDuration set for "
                       "this role.");
    } else if (caller && caller->role && op->duration_s > 3600) {
        op->error_type = SL_AWS_VALIDATION;
        snprintf(op->error_message, sizeof op->error_message,
                 "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                 "assumed by role chaining.");
    } else {
        sl_iam_session_t *s = sl_arena_calloc(&arena, 1, sizeof *s);
        if (!s) {
            sl_arena_deinit(&arena);
            free(role);
            return SL_ENOMEM;
        }
        s->role = true;
        s->expiration_s = op->now_s + op->duration_s;
        snprintf(s->account_id, sizeof s->account_id, "%s", owner);
        snprintf(s->user_name, sizeof s->user_name, "%s", role->name);
        snprintf(s->role_session, sizeof s->role_session, "%s", op->session_name);
        if (op->policy) memcpy(s->policy, op->policy, policy_len + 1);
        rc = sl_iam_session_issue(root->session_key, s, &op->creds);
        op->expiration_s = s->expiration_s;
        snprintf(op->assumed_role_id, sizeof op->assumed_role_id, "%s:%s", role->role_id,
                 op->session_name);
        snprintf(op->assumed_role_arn, sizeof op->assumed_role_arn,
                 "arn:aws:sts::%s:assumed-role/%s/%s", owner, role->name, op->session_name);
        if (!caller) /* open mode: requests signed with the role's key land in its account */
            snprintf(op->creds.access_key_id, sizeof op->creds.access_key_id, "%s", owner);
    }
    sl_arena_deinit(&arena);
    free(role);
    return rc;
}

/* The functions' execution roles (functions/functions.h): as Lambda does, the function's
 * processes get a session of its Role, which must trust the service principal
 * lambda.amazonaws.com with sts:AssumeRole; the session lasts the role's MaxSessionDuration and is
 * named after the function. Open mode checks nothing: requests signed with the account's id as
 * access key land in the function's account. */
static int function_role(void *ctx, const char *account, const char *role_arn, const char *name,
                         int64_t now_s, sl_fn_creds_t *out) {
    sl_compose_t *root = ctx;
    memset(out, 0, sizeof *out);
    if (strcmp(root->cfg.auth, "sigv4") != 0) {
        snprintf(out->access_key_id, sizeof out->access_key_id, "%s", account);
        snprintf(out->secret, sizeof out->secret, "sluice-open-mode");
        return 0;
    }
    char owner[16];
    const char *slash = role_arn ? strrchr(role_arn, '/') : NULL;
    if (!role_arn || strncmp(role_arn, "arn:aws:iam::", 13) != 0 || !arn_account(role_arn, owner) ||
        !strstr(role_arn, ":role/") || !slash || !slash[1] || !account_find(root, owner))
        return SL_EINVAL;
    sl_iam_role_t *role = malloc(sizeof *role);
    sl_iam_session_t *s = calloc(1, sizeof *s);
    sl_iam_session_creds_t *creds = malloc(sizeof *creds);
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    int rc = role && s && creds ? 0 : SL_ENOMEM;
    if (rc == 0 && sl_iam_role_get(root->roles, owner, slash + 1, role) != 0) rc = SL_EINVAL;
    if (rc == 0) {
        sl_iam_policy_t *trust = NULL;
        const char *reason = NULL;
        sl_iam_request_t req = {.action = "sts:AssumeRole",
                                .resource = role_arn,
                                .principal_service = "lambda.amazonaws.com"};
        if (sl_iam_resource_policy_parse(role->trust, strlen(role->trust), &arena, &trust,
                                         &reason) != 0 ||
            sl_iam_policy_decide(trust, &req) != SL_IAM_ALLOW)
            rc = SL_EINVAL;
    }
    if (rc == 0) {
        s->role = true;
        s->expiration_s = now_s + role->max_session_s;
        snprintf(s->account_id, sizeof s->account_id, "%s", owner);
        snprintf(s->user_name, sizeof s->user_name, "%s", role->name);
        snprintf(s->role_session, sizeof s->role_session, "%s", name);
        rc = sl_iam_session_issue(root->session_key, s, creds);
    }
    if (rc == 0) {
        snprintf(out->access_key_id, sizeof out->access_key_id, "%s", creds->access_key_id);
        snprintf(out->secret, sizeof out->secret, "%s", creds->secret);
        snprintf(out->session_token, sizeof out->session_token, "%s", creds->session_token);
        out->expiration_s = s->expiration_s;
    }
    sl_arena_deinit(&arena);
    free(role);
    free(s);
    free(creds);
    return rc;
}

/* The authentication mode: --auth sigv4 reads the credentials file; --auth open is refused on
 * a non-loopback address unless --insecure-open-network says so (and then it is logged). */
static int open_auth(sl_compose_t *root) {
    const sl_config_t *cfg = &root->cfg;
    bool loopback = is_loopback(cfg->bind);
    if (strcmp(cfg->auth, "sigv4") == 0) {
        if (!cfg->credentials[0]) {
            SL_ERROR("--auth sigv4 needs --credentials FILE (the principals and their secrets; "
                     "docs/security.md)");
            return SL_EINVAL;
        }
        int rc = sl_iam_creds_open(cfg->credentials, cfg->account_id, &root->creds);
        if (rc) return rc;
        SL_INFO("auth: sigv4 (every request's signature is verified)");
    } else if (!loopback) {
        if (!cfg->insecure_open_network) {
            SL_ERROR("--bind %s is not a loopback address and --auth is open: anyone who reaches "
                     "the port could call every operation. Use --auth sigv4 --credentials FILE, "
                     "or pass --insecure-open-network 1 to accept that (docs/security.md)",
                     cfg->bind);
            return SL_EINVAL;
        }
        SL_WARN("INSECURE: --auth open on %s (--insecure-open-network): signatures are NOT "
                "verified; anyone who reaches the port can call every operation of every account",
                cfg->bind);
    }
    if (!loopback)
        SL_WARN("%s is not a loopback address: requests on the plain port travel unencrypted; "
                "use TLS (--tls-port, --tls-cert) and https:// endpoints (docs/security.md)",
                cfg->bind);
    return 0;
}

/* The front and its routes: every service's descriptor and the plain routes. */
static int open_front(sl_compose_t *root) {
    sl_front_config_t fcfg = {.cors_origins = root->cfg.cors_origins,
                              .signatures_verified = root->creds != NULL,
                              .principal = root->creds ? principal_of_key : NULL,
                              .principal_ctx = root,
                              .authorize = root->creds ? authorize : NULL,
                              .authorize_ctx = root,
                              .account_known = account_known,
                              .region = root->cfg.region,
                              .audit_log = root->audit};
    int rc = sl_front_create(&fcfg, &root->front);
    if (rc == 0) rc = sl_kapi_create(&root->kapi);
    for (size_t i = 0; rc == 0 && i < root->account_count; i++)
        sl_kapi_attach_kinesis(root->kapi, root->accounts[i].kinesis);
    if (rc == 0) {
        sl_front_service_t kinesis;
        sl_kapi_describe(root->kapi, &kinesis);
        kinesis.account = kinesis_for_key;
        kinesis.account_ctx = root;
        rc = sl_front_add_service(root->front, &kinesis);
    }
    if (rc == 0) {
        sl_front_service_t analytics;
        sl_kdaapi_describe(&analytics);
        analytics.account = analytics_for_key;
        analytics.account_ctx = root;
        rc = sl_front_add_service(root->front, &analytics);
    }
    if (rc == 0) {
        sl_front_service_t analytics_v2;
        sl_kdaapi_describe_v2(&analytics_v2);
        analytics_v2.account = analytics_for_key;
        analytics_v2.account_ctx = root;
        rc = sl_front_add_service(root->front, &analytics_v2);
    }
    if (rc == 0) rc = sl_kdaapi_register_clock(root->front, root->an_clock);
    if (rc == 0) {
        sl_front_service_t dynamodb;
        sl_dapi_describe(&dynamodb);
        dynamodb.account = dynamodb_for_key;
        dynamodb.account_ctx = root;
        rc = sl_front_add_service(root->front, &dynamodb);
    }
    if (rc == 0) {
        /* under --auth sigv4 the binding lets only admin principals create or change functions;
         * sl_lapi_admin_fn can refuse more (IAM policies, later). NULL = no further check */
        sl_front_service_t lambda;
        sl_lapi_describe(&lambda, NULL, NULL);
        lambda.account = functions_for_key;
        lambda.account_ctx = root;
        rc = sl_front_add_service(root->front, &lambda);
    }
    if (rc == 0) rc = sl_objstore_pool_create(SL_OBJSTORE_WORKERS, &root->objstore_pool);
    if (rc == 0) rc = sl_s3api_create(root->objstore_pool, root->cfg.region, &root->s3api);
    if (rc == 0) {
        sl_front_service_t s3;
        sl_s3api_describe(root->s3api, &s3);
        s3.account = objstore_for_key;
        s3.account_ctx = root;
        rc = sl_front_add_service(root->front, &s3);
    }
    if (rc == 0) {
        sl_front_service_t firehose;
        sl_fhapi_describe(&firehose);
        firehose.account = firehose_for_key;
        firehose.account_ctx = root;
        rc = sl_front_add_service(root->front, &firehose);
    }
    if (rc == 0) {
        sl_front_service_t sts;
        sl_sts_hooks_t hooks = {.issue = sts_issue, .assume = sts_assume, .ctx = root};
        sl_sts_describe(&sts, &hooks);
        sts.account = sts_account;
        sts.account_ctx = root;
        rc = sl_front_add_service(root->front, &sts);
    }
    if (rc == 0) {
        sl_front_service_t iam;
        root->iamapi = (sl_iamapi_t){root->iam, root->roles};
        sl_iamapi_describe(&root->iamapi, &iam);
        iam.account = iam_account;
        iam.account_ctx = root;
        rc = sl_front_add_service(root->front, &iam);
    }
    for (int proto = 0; rc == 0 && proto < SL_CWAPI_PROTOCOLS; proto++) {
        sl_front_service_t cw;
        sl_cwapi_describe(root->cloudwatch, (sl_cwapi_protocol_t)proto, &cw);
        cw.account = sts_account; /* the caller's account id, as for STS */
        cw.account_ctx = root;
        rc = sl_front_add_service(root->front, &cw);
    }
    if (rc == 0) {
        sl_front_service_t sqs_json, sqs_query;
        sl_sqsapi_describe(&sqs_json, &sqs_query);
        sqs_json.account = sqs_query.account = sqs_for_key;
        sqs_json.account_ctx = sqs_query.account_ctx = root;
        rc = sl_front_add_service(root->front, &sqs_json);
        if (rc == 0) rc = sl_front_add_service(root->front, &sqs_query);
    }
    if (rc == 0) {
        sl_front_service_t sns;
        sl_snsapi_describe(&sns);
        sns.account = sns_for_key;
        sns.account_ctx = root;
        rc = sl_front_add_service(root->front, &sns);
        if (rc == 0) rc = sl_snsapi_register_routes(root->front, sns_of_account, root);
    }
    if (rc == 0) {
        sl_front_service_t kms;
        sl_kmsapi_describe(&kms);
        kms.account = kms_account;
        kms.account_ctx = root;
        rc = sl_front_add_service(root->front, &kms);
    }
    if (rc == 0) rc = sl_front_add_route(root->front, "GET", "/health", false, health, root);
    if (rc == 0) rc = sl_console_register(root->front);
    if (rc == 0) rc = sl_observe_register(root->front, &root->ready);
    if (rc == 0 && strcmp(root->cfg.fault_admin, "on") == 0)
        rc = sl_fault_admin_register(root->front, faults_change, root);
    if (rc == 0) sl_observe_storage(root->storage, root->accounts[0].id);
    /* The HTTP ingest front: its routes exist only with --ingest-keys. */
    if (rc == 0 && root->cfg.ingest_keys[0]) {
        rc = sl_ingest_keys_open(root->cfg.ingest_keys, &root->ingest_keys);
        if (rc == 0)
            rc = sl_ingest_create(root->accounts[0].kinesis, sl_ingest_keys_check,
                                  root->ingest_keys, &root->ingest);
        if (rc == 0) rc = sl_ingest_register(root->ingest, root->front);
    } else if (rc == 0) {
        rc = sl_ingest_register_absent(root->front);
    }
    return rc;
}

/* Reopens every account found under <data_dir>/accounts/ (at start, before serving). */
static int accounts_reopen(sl_compose_t *root) {
    char accounts[SL_DATA_SUBDIR_BYTES_MAX];
    snprintf(accounts, sizeof accounts, "%s/accounts", root->cfg.data_dir);
    DIR *d = opendir(accounts);
    if (!d) {
        if (errno == ENOENT) return 0;
        SL_ERROR("cannot read %s: %s", accounts, strerror(errno));
        return SL_EIO;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!is_account_id(e->d_name)) continue;
        if (strcmp(e->d_name, root->cfg.account_id) == 0) {
            SL_WARN("%s/%s is not served: %s is the default account (--account-id), whose data is "
                    "in %s",
                    accounts, e->d_name, e->d_name, root->cfg.data_dir);
            continue;
        }
        account_t *a;
        rc = account_open(root, e->d_name, false, &a);
    }
    closedir(d);
    return rc;
}

static int start_http(sl_compose_t *root) {
    const sl_config_t *cfg = &root->cfg;
    char tls_dir[SL_DATA_SUBDIR_BYTES_MAX];
    snprintf(tls_dir, sizeof tls_dir, "%s/tls", cfg->data_dir);
    sl_http_server_config_t hcfg = {
        .bind_address = cfg->bind,
        .port = (int)cfg->port,
        .tls_port = (int)cfg->tls_port,
        .tls_cert_file = cfg->tls_cert[0] ? cfg->tls_cert : NULL,
        .tls_key_file = cfg->tls_key[0] ? cfg->tls_key : NULL,
        .tls_dir = tls_dir,
        .threads = (int)cfg->threads,
        .body_max_bytes = (size_t)cfg->body_max_bytes,
        .max_connections = (int)cfg->max_connections,
        .idle_timeout_ms = (int)cfg->idle_timeout_ms,
        .header_timeout_ms = (int)cfg->header_timeout_ms,
        .body_timeout_ms = (int)cfg->body_timeout_ms,
        .tls_handshake_timeout_ms = (int)cfg->tls_handshake_timeout_ms,
        .request_buffer_max_bytes = (size_t)cfg->request_buffer_max_bytes,
        .response_buffer_max_bytes = (size_t)cfg->response_buffer_max_bytes,
        .handler = sl_front_handle_http,
        .error_body = sl_front_error_body,
        .stream_body = sl_front_stream_body,
        .handler_ctx = root->front,
    };
    int rc = sl_http_server_start(&hcfg, &root->http);
    if (rc) {
        SL_ERROR("cannot listen on %s:%lld: %s", cfg->bind, (long long)cfg->port, sl_strerror(rc));
        return rc;
    }
    if (cfg->tls_port)
        SL_INFO("sluice listening on %s:%d (TLS on %s:%d), data in %s", cfg->bind,
                sl_http_server_port(root->http), cfg->bind, sl_http_server_tls_port(root->http),
                cfg->data_dir);
    else
        SL_INFO("sluice listening on %s:%d, data in %s", cfg->bind, sl_http_server_port(root->http),
                cfg->data_dir);
    return 0;
}

int sl_compose_open(const sl_config_t *cfg, sl_compose_t **out) {
    *out = NULL;
    sl_compose_t *root = calloc(1, sizeof *root);
    if (!root) return SL_ENOMEM;
    root->cfg = *cfg;
    pthread_mutex_init(&root->accounts_mu, NULL);
    account_t *def = &root->accounts[0];
    snprintf(def->id, sizeof def->id, "%s", cfg->account_id);
    int rc = parse_faults(root);
    if (rc == 0) rc = open_auth(root);
    if (rc == 0) rc = make_dir(cfg->data_dir);
    if (rc == 0) rc = open_catalog(cfg->data_dir, &def->catalog);
    if (rc == 0) rc = open_iam(root);
    if (rc == 0) rc = open_storage(root);
    if (rc == 0) rc = sl_kreadpool_create(SL_KINESIS_READ_THREADS, &root->readpool);
    if (rc == 0) rc = open_kms(root, def);
    if (rc == 0) rc = open_kinesis(root, def, cfg->data_dir, "");
    if (rc == 0) rc = open_dynamodb(root, def, cfg->data_dir);
    if (rc == 0) rc = open_functions(root);
    if (rc == 0) rc = open_objstore(def, cfg->data_dir);
    if (rc == 0)
        rc = sl_an_clock_create(strcmp(cfg->analytics_clock, "virtual") == 0, &root->an_clock);
    if (rc == 0) rc = open_firehose(root, def, cfg->data_dir, true);
    if (rc == 0) rc = open_analytics(root, def, cfg->data_dir); /* after firehose */
    if (rc == 0) {
        root->account_count = 1; /* before SNS, which finds queues by account */
        rc = open_sqs_sns(root, def, cfg->data_dir);
    }
    if (rc == 0) rc = open_esm(root, def, cfg->data_dir);
    if (rc == 0) {
        rc = accounts_reopen(root);
    }
    if (rc == 0) sl_kapi_metrics_declare();
    if (rc == 0) rc = sl_cw_open(cfg->data_dir, (int)cfg->metrics_window_days, &root->cloudwatch);
    if (rc == 0 && cfg->audit_log[0]) rc = sl_linelog_open(cfg->audit_log, &root->audit);
    if (rc == 0) rc = open_front(root);
    if (rc == 0) rc = start_http(root);
    if (rc == 0) rc = start_runtime_api(root);
    if (rc == 0 && cfg->metrics_port)
        rc = sl_observe_start_port(cfg->bind, (int)cfg->metrics_port, &root->metrics_http);
    if (rc) {
        SL_ERROR("cannot start: %s", sl_strerror(rc));
        sl_compose_close(root, 0);
        return rc;
    }
    __atomic_store_n(&root->ready, true, __ATOMIC_RELEASE);
    *out = root;
    return 0;
}

void sl_compose_close(sl_compose_t *root, int grace_ms) {
    if (!root) return;
    __atomic_store_n(&root->ready, false, __ATOMIC_RELEASE);
    /* the functions first: no completion reaches a network loop once they are stopped */
    sl_functions_stop(root->functions);
    /* then the pollers (no invocation completes any more; their checkpoints are written) */
    sl_esm_stop(root->esm);
    /* and the long polls of SQS: each posts its answer to a network loop */
    for (size_t i = 0; i < SL_SERVER_ACCOUNTS_MAX; i++)
        sl_sqs_stop(root->accounts[i].sqs);
    /* then the object store's jobs: each posts its answer to a network loop */
    sl_objstore_pool_destroy(root->objstore_pool);
    root->objstore_pool = NULL;
    /* DiscoverInputSchema answers from a thread of its own: let them finish while the front
     * can still send them */
    for (size_t i = 0; i < SL_SERVER_ACCOUNTS_MAX; i++)
        sl_an_apps_quiesce(root->accounts[i].analytics);
    sl_an_clock_quiesce(root->an_clock); /* and moves of the virtual clock */
    if (root->http) sl_http_server_stop(root->http, grace_ms);
    /* analytics runners may be waiting for a function: they stop while functions still run */
    for (size_t i = 0; i < SL_SERVER_ACCOUNTS_MAX; i++) {
        sl_an_apps_close(root->accounts[i].analytics);
        root->accounts[i].analytics = NULL;
    }
    if (root->runtime_http) sl_http_server_stop(root->runtime_http, 0);
    if (root->metrics_http) sl_http_server_stop(root->metrics_http, 0);
    sl_functions_destroy(root->functions);
    sl_an_clock_destroy(root->an_clock); /* after every runner stopped */
    sl_cw_close(root->cloudwatch);       /* after the server: no call waits for its writer */
    sl_front_destroy(root->front);
    sl_linelog_close(root->audit); /* after the server: every answer was sent */
    sl_iam_creds_close(root->creds);
    sl_iam_store_destroy(root->iam);
    sl_iam_roles_destroy(root->roles);
    sl_kapi_destroy(root->kapi);
    sl_ingest_destroy(root->ingest);
    sl_ingest_keys_close(root->ingest_keys);
    sl_s3api_destroy(root->s3api);
    for (size_t i = 0; i < SL_SERVER_ACCOUNTS_MAX; i++) /* SNS delivers into SQS: first */
        sl_sns_close(root->accounts[i].sns);
    for (size_t i = 0; i < SL_SERVER_ACCOUNTS_MAX; i++) {
        sl_an_apps_close(root->accounts[i].analytics); /* before the streams its runners use */
        sl_sqs_close(root->accounts[i].sqs);
        sl_firehose_close(root->accounts[i].firehose); /* before storage: it owns logs there */
        sl_ddb_close(root->accounts[i].dynamodb);
        sl_kinesis_close(root->accounts[i].kinesis);
    }
    sl_esm_destroy(root->esm);            /* after the engines: their reads completed */
    sl_kreadpool_destroy(root->readpool); /* after the engines: each waited for its reads */
    sl_kms_destroy(root->kms);            /* after the engines, which unwrap through it */
    sl_observe_storage(NULL, NULL);
    if (root->storage) sl_storage_close(root->storage);
    for (size_t i = 0; i < SL_SERVER_ACCOUNTS_MAX; i++) {
        sl_objstore_close(root->accounts[i].objstore);
        sl_catalog_close(root->accounts[i].catalog);
    }
    pthread_mutex_destroy(&root->accounts_mu);
    memset(root->session_key, 0, sizeof root->session_key);
    free(root);
}
