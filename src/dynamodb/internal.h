/* The DynamoDB engine's private structures, shared by engine.c, tables.c, items.c, query.c and
 * meta.c. */
#ifndef SL_DYNAMODB_INTERNAL_H
#define SL_DYNAMODB_INTERNAL_H

#include "catalog/itemstore.h"
#include "catalog/itemwriter.h"
#include "core/common.h"
#include "dynamodb/dynamodb.h"

#include <pthread.h>
#include <stdarg.h>

/* One item in memory: its key values and its stored encoding, in one block. */
typedef struct {
    size_t hlen, rlen, blob_len, size;
    sl_ddb_type_t htype, rtype; /* rtype 0: the table has no range key */
    char data[];                /* hash bytes | range bytes | blob */
} sl_ddb_ditem_t;

static inline const char *sl_ddb_ditem_blob(const sl_ddb_ditem_t *it) {
    return it->data + it->hlen + it->rlen;
}

/* A table: its description and its items sorted by (hash bytes, range value). */
typedef struct {
    sl_ddb_table_desc_t desc;
    sl_ddb_ditem_t **items;
    size_t count, cap;
    int64_t bytes;
} sl_ddb_table_t;

struct sl_ddb {
    char region[32];
    char account[16];
    int64_t create_table_ms;
    pthread_rwlock_t lock;   /* tables and their items */
    sl_ddb_table_t **tables; /* SL_DDB_TABLES_MAX slots */
    size_t table_count;
    sl_itemstore_t *store;   /* used by the writer only (and sl_ddb_open) */
    sl_itemwriter_t *writer; /* group commit of every change (catalog/itemwriter.h) */
};

/* Queues a store change and/or a completion (sl_itemwriter_enqueue). Caller holds the engine's
 * write lock, so changes reach the store in memory order. */
static inline int sl_ddb_enqueue(sl_ddb_t *d, bool has_op, sl_itemstore_op_kind_t kind,
                                 const char *table, const void *key, size_t key_len,
                                 const void *val, size_t val_len,
                                 void (*done)(void *ctx, int status), void *ctx) {
    return sl_itemwriter_enqueue(d->writer, has_op, kind, table, key, key_len, val, val_len, done,
                                 ctx);
}
sl_ddb_table_t *sl_ddb_find(sl_ddb_t *d, const char *name);
void sl_ddb_table_free(sl_ddb_table_t *t);
void sl_ddb_ditem_key(const sl_ddb_ditem_t *it, sl_ddb_val_t *hash, sl_ddb_val_t *range);
int sl_ddb_key_cmp(sl_ddb_type_t ht, const char *h, size_t hl, sl_ddb_type_t rt, const char *r,
                   size_t rl, const sl_ddb_ditem_t *it);
size_t sl_ddb_table_seek(const sl_ddb_table_t *t, const sl_ddb_val_t *hash,
                         const sl_ddb_val_t *range, bool *found);
sl_ddb_ditem_t *sl_ddb_ditem_new(const sl_ddb_val_t *hash, const sl_ddb_val_t *range,
                                 const sl_buf_t *blob, size_t size);
int sl_ddb_table_put(sl_ddb_table_t *t, sl_ddb_ditem_t *it);
void sl_ddb_table_remove(sl_ddb_table_t *t, size_t at);
void sl_ddb_store_key(sl_buf_t *out, const sl_ddb_val_t *hash, const sl_ddb_val_t *range);
void sl_ddb_fail(sl_ddb_err_t *err, sl_ddb_err_type_t type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *sl_ddb_table_status(const sl_ddb_t *d, const sl_ddb_table_t *t, int64_t now_ms);

/* Table metadata in the store: the description as an encoded item (meta.c). */
void sl_ddb_meta_encode(sl_buf_t *out, const sl_ddb_table_desc_t *desc);
int sl_ddb_meta_decode(const void *data, size_t len, sl_ddb_table_desc_t *out);

#endif
