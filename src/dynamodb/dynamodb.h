/* The DynamoDB service core (docs/dynamodb.md), typed and transport-free: tables of one account,
 * their items, and the operations on them. The binding (api/dynamodb/) turns JSON into the typed
 * requests below and the results back into JSON; nothing here knows HTTP or JSON.
 *
 * State: every table and item of the account is held in memory (an engine per account) and
 * written through to the item store (catalog/itemstore.h, one SQLite file per account) by the
 * engine's writer thread, which groups the changes queued meanwhile into one transaction (group
 * commit). A write is acknowledged (its done callback called with 0) only once durable; a failed
 * store write fails that write and every later one (InternalServerError), since memory already
 * holds the change.
 *
 * Threads and locks: the engine's rwlock guards tables and items; reads hold it for reading,
 * writes for writing while they check conditions and change memory, never during I/O. Done
 * callbacks run on the writer thread. */
#ifndef SL_DYNAMODB_DYNAMODB_H
#define SL_DYNAMODB_DYNAMODB_H

#include "dynamodb/expr.h"
#include "dynamodb/value.h"

#include <stdint.h>

typedef struct sl_ddb sl_ddb_t;

#define SL_DDB_NAME_MAX 255          /* table, index and attribute names in key schemas */
#define SL_DDB_ITEM_BYTES_MAX 409600 /* 400 KB */
/* Levels of nesting an item may have: DynamoDB allows 32; the JSON decoder's depth bound
 * (SL_WIRE_DEPTH_MAX, two JSON levels per level of M or L) lets requests carry 31, so updates are
 * held to what a request could put and an answer can carry. */
#define SL_DDB_NESTING_MAX 31
#define SL_DDB_GSI_MAX 20
#define SL_DDB_TAGS_MAX 50
#define SL_DDB_ATTR_DEFS_MAX 64
#define SL_DDB_TABLES_MAX 2500              /* DynamoDB's default quota per account and region */
#define SL_DDB_PAGE_BYTES_MAX (1024 * 1024) /* Query/Scan stop after 1 MB */

typedef struct {
    const char *path;        /* the item store file: <account dir>/dynamodb.db */
    const char *region;      /* for ARNs */
    const char *account;     /* 12 digits */
    int64_t create_table_ms; /* CREATING -> ACTIVE after this long */
} sl_ddb_config_t;

int sl_ddb_open(const sl_ddb_config_t *cfg, sl_ddb_t **out);
/* Waits for queued writes to be durable, then frees everything. */
void sl_ddb_close(sl_ddb_t *ddb);

typedef enum {
    SL_DDB_ERR_NONE,
    SL_DDB_ERR_VALIDATION,
    SL_DDB_ERR_NOT_FOUND,
    SL_DDB_ERR_IN_USE,
    SL_DDB_ERR_CONDITION,
    SL_DDB_ERR_LIMIT,
    SL_DDB_ERR_INTERNAL,
} sl_ddb_err_type_t;

typedef struct {
    sl_ddb_err_type_t type;
    int cause;           /* INTERNAL: the SL_E* code */
    char message[1024];  /* DynamoDB's text ("" = none) */
    sl_ddb_item_t *item; /* CONDITION with ReturnValuesOnConditionCheckFailure: the old item */
} sl_ddb_err_t;

/* ---- tables ---- */

typedef struct {
    char name[SL_DDB_NAME_MAX + 1];
    sl_ddb_type_t type; /* S, N or B */
} sl_ddb_keyattr_t;

typedef struct {
    char name[SL_DDB_NAME_MAX + 1];
    sl_ddb_keyattr_t hash, range; /* range.name[0] == 0: none */
    char projection[16];          /* ALL, KEYS_ONLY, INCLUDE */
    char **include;               /* INCLUDE: non-key attributes */
    size_t include_count;
    int64_t rcu, wcu; /* 0 for PAY_PER_REQUEST */
    int64_t created_ms;
} sl_ddb_gsi_t;

typedef struct {
    char key[129];
    char value[257];
} sl_ddb_tag_t;

/* A table's description (also CreateTable's request). */
typedef struct {
    char name[SL_DDB_NAME_MAX + 1];
    sl_ddb_keyattr_t hash, range;
    sl_ddb_keyattr_t attr_defs[SL_DDB_ATTR_DEFS_MAX];
    size_t attr_def_count;
    bool on_demand; /* BillingMode PAY_PER_REQUEST */
    int64_t rcu, wcu;
    bool sse;
    char sse_type[16];
    char kms_key[256];
    sl_ddb_gsi_t gsis[SL_DDB_GSI_MAX];
    size_t gsi_count;
    sl_ddb_tag_t tags[SL_DDB_TAGS_MAX];
    size_t tag_count;
    int64_t created_ms;
    /* filled by describe: */
    char arn[400];
    char id[40];
    const char *status; /* CREATING, ACTIVE, DELETING */
    int64_t item_count, size_bytes;
} sl_ddb_table_desc_t;

/* CreateTable: desc filled by the caller (names, keys, definitions, billing, GSIs, tags); on
 * success *desc is completed (status CREATING). DynamoDB's checks and errors. */
int sl_ddb_create_table(sl_ddb_t *ddb, sl_ddb_table_desc_t *desc, int64_t now_ms, sl_ddb_err_t *err,
                        void (*done)(void *ctx, int status), void *ctx);
int sl_ddb_describe_table(sl_ddb_t *ddb, const char *name, int64_t now_ms, sl_ddb_table_desc_t *out,
                          sl_ddb_err_t *err);
int sl_ddb_delete_table(sl_ddb_t *ddb, const char *name, int64_t now_ms, sl_ddb_table_desc_t *out,
                        sl_ddb_err_t *err, void (*done)(void *ctx, int status), void *ctx);
/* The names after `start` (NULL = from the first), at most limit; *more when others follow. */
int sl_ddb_list_tables(sl_ddb_t *ddb, const char *start, size_t limit, sl_arena_t *arena,
                       char ***names, size_t *count, bool *more);

/* UpdateTable: billing changes and new GSIs (gsi_add, with its attribute definitions in defs). */
typedef struct {
    const char *name;
    int billing; /* 0 = unchanged, 1 = PAY_PER_REQUEST, 2 = PROVISIONED */
    int64_t rcu, wcu;
    bool has_throughput;
    const sl_ddb_gsi_t *gsi_add;
    const char *gsi_delete;
    const sl_ddb_keyattr_t *defs;
    size_t def_count;
} sl_ddb_update_table_t;
int sl_ddb_update_table(sl_ddb_t *ddb, const sl_ddb_update_table_t *req, int64_t now_ms,
                        sl_ddb_table_desc_t *out, sl_ddb_err_t *err,
                        void (*done)(void *ctx, int status), void *ctx);

/* Tags by table ARN. */
int sl_ddb_tag(sl_ddb_t *ddb, const char *arn, const sl_ddb_tag_t *add, size_t add_count,
               const char *const *remove, size_t remove_count, sl_ddb_err_t *err,
               void (*done)(void *ctx, int status), void *ctx);
int sl_ddb_list_tags(sl_ddb_t *ddb, const char *arn, sl_ddb_table_desc_t *out, sl_ddb_err_t *err);

/* ---- items ---- */

typedef enum {
    SL_DDB_RV_NONE,
    SL_DDB_RV_ALL_OLD,
    SL_DDB_RV_UPDATED_OLD,
    SL_DDB_RV_ALL_NEW,
    SL_DDB_RV_UPDATED_NEW,
} sl_ddb_rv_t;

typedef enum { SL_DDB_PUT, SL_DDB_UPDATE, SL_DDB_DELETE_ITEM } sl_ddb_write_kind_t;

typedef struct {
    sl_ddb_write_kind_t kind;
    const char *table;
    sl_ddb_item_t item; /* PUT: the item; UPDATE, DELETE: the key */
    const sl_ddb_expr_t *condition;
    const sl_ddb_update_t *update;
    sl_ddb_rv_t return_values;
    bool return_old_on_failure; /* ReturnValuesOnConditionCheckFailure ALL_OLD */
} sl_ddb_write_t;

/* Put, Update or Delete one item. Returns 0 when the write is queued (done(ctx, status) follows
 * from the writer thread once it is durable, or failed) and *out holds the ReturnValues item
 * (NULL = none), or -1 with *err (done is not called). */
int sl_ddb_write(sl_ddb_t *ddb, const sl_ddb_write_t *w, int64_t now_ms, sl_arena_t *arena,
                 sl_ddb_item_t **out, sl_ddb_err_t *err, void (*done)(void *ctx, int status),
                 void *ctx);
/* BatchWriteItem: puts and deletes (no conditions), all checked before any is applied. */
int sl_ddb_write_batch(sl_ddb_t *ddb, const sl_ddb_write_t *ws, size_t count, int64_t now_ms,
                       sl_arena_t *arena, sl_ddb_err_t *err, void (*done)(void *ctx, int status),
                       void *ctx);

/* GetItem: *out = the item (projected) or NULL. */
int sl_ddb_get(sl_ddb_t *ddb, const char *table, const sl_ddb_item_t *key,
               const sl_ddb_projection_t *projection, int64_t now_ms, sl_arena_t *arena,
               sl_ddb_item_t **out, sl_ddb_err_t *err);

typedef struct {
    const char *table;
    const char *index;                  /* GSI name or NULL */
    const sl_ddb_expr_t *key_condition; /* Query only */
    const sl_ddb_expr_t *filter;
    const sl_ddb_projection_t *projection;
    bool backward;
    int64_t limit; /* 0 = none */
    bool count_only;
    const sl_ddb_item_t *start_key;
    int64_t segment, total_segments; /* Scan; total 0 = not parallel */
} sl_ddb_query_t;

typedef struct {
    sl_ddb_item_t *items;
    size_t count;
    size_t scanned;
    sl_ddb_item_t *last_key; /* NULL = no more */
} sl_ddb_page_t;

/* Query (scan false) or Scan (scan true). */
int sl_ddb_query(sl_ddb_t *ddb, const sl_ddb_query_t *q, bool scan, int64_t now_ms,
                 sl_arena_t *arena, sl_ddb_page_t *out, sl_ddb_err_t *err);

#endif
