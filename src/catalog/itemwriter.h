/* The item store's group-commit writer: one thread per store that takes every change queued
 * since its last round, writes them in one transaction (sl_itemstore_write) and then runs each
 * change's completion with the round's status. Services that keep their state in memory and write
 * it through (DynamoDB tables, SQS queues, SNS topics) queue their changes here in memory order,
 * under their own lock, and answer a request from its completion, once the change is durable.
 *
 * After a failed round every later round fails with the same code without writing (memory may
 * hold changes the store lacks): the service answers errors until a restart reloads the store. */
#ifndef SL_CATALOG_ITEMWRITER_H
#define SL_CATALOG_ITEMWRITER_H

#include "catalog/itemstore.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct sl_itemwriter sl_itemwriter_t;
typedef void (*sl_itemwriter_done_fn)(void *ctx, int status);

/* Starts the writer of `store` (which it uses alone from now on); `what` names it in the log
 * ("dynamodb", "sqs" ...) with `account`. */
int sl_itemwriter_start(sl_itemstore_t *store, const char *what, const char *account,
                        sl_itemwriter_t **out);
/* Writes what is queued, runs the completions, ends the thread and frees. NULL: no-op. */
void sl_itemwriter_stop(sl_itemwriter_t *w);

/* Queues a change of kind on table (key and val copied; has_op false: no change, only `done`,
 * which then runs after the changes queued before it are durable). done may be NULL. Returns 0
 * or SL_ENOMEM. */
int sl_itemwriter_enqueue(sl_itemwriter_t *w, bool has_op, sl_itemstore_op_kind_t kind,
                          const char *table, const void *key, size_t key_len, const void *val,
                          size_t val_len, sl_itemwriter_done_fn done, void *ctx);

#endif
