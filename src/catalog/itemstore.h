/* The item store: durable tables of keyed blobs, one SQLite file per account (dynamodb.db, WAL,
 * synchronous=FULL: a write that returned 0 survives kill -9 and power loss). It knows nothing of
 * JSON or of DynamoDB's types: a table is a name with an opaque metadata blob, an item is an
 * opaque key and an opaque value. The DynamoDB core (src/dynamodb/) keeps its tables in memory
 * and writes every change through this interface, grouped, from its writer thread.
 *
 * Threads: a store is used by one thread at a time (the core's writer thread, or the opener while
 * loading). Returns 0 or a negative SL_E* code (SL_ENOSPC for a full disk, SL_ECORRUPT, SL_EIO). */
#ifndef SL_CATALOG_ITEMSTORE_H
#define SL_CATALOG_ITEMSTORE_H

#include <stddef.h>

typedef struct sl_itemstore sl_itemstore_t;

typedef enum {
    SL_ITEMSTORE_PUT_TABLE,    /* table, val = metadata (insert or replace) */
    SL_ITEMSTORE_DELETE_TABLE, /* table and every item in it */
    SL_ITEMSTORE_PUT_ITEM,     /* table, key, val (insert or replace) */
    SL_ITEMSTORE_DELETE_ITEM,  /* table, key */
} sl_itemstore_op_kind_t;

typedef struct {
    sl_itemstore_op_kind_t kind;
    const char *table;
    const void *key;
    size_t key_len;
    const void *val;
    size_t val_len;
} sl_itemstore_op_t;

/* Opens (creating) the store at path. */
int sl_itemstore_open(const char *path, sl_itemstore_t **out);
void sl_itemstore_close(sl_itemstore_t *store);

/* Calls table_fn for every table, then item_fn for every item (in no particular order). A
 * non-zero return from a callback stops the walk and is returned. */
int sl_itemstore_load(sl_itemstore_t *store,
                      int (*table_fn)(void *ctx, const char *table, const void *meta, size_t len),
                      int (*item_fn)(void *ctx, const char *table, const void *key, size_t key_len,
                                     const void *val, size_t val_len),
                      void *ctx);

/* Applies ops in order in one transaction; durable when it returns 0. */
int sl_itemstore_write(sl_itemstore_t *store, const sl_itemstore_op_t *ops, size_t count);

#endif
