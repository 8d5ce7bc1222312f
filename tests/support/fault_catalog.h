/* Fault injection for the catalog: a wrapper around a catalog's own operations table
 * (catalog/catalog.h, sl_catalog_ops_t) that forwards every call until armed. Armed with N, the
 * Nth write of the arming thread from then on (1 = the next one) fails with the given code, and
 * so does every later one while `sticky`; other threads' writes (the engine's background and
 * reserve threads) always go through and are not counted. Writes are the row operations (streams,
 * shards, consumers, tags, policies, settings) and commit; begin, rollback, reads, load and backup
 * always go through, so a failed write inside a transaction is rolled back by the real catalog as
 * usual. The state is process-global; arm and disarm from one thread, with no other using the
 * catalog. */
#ifndef SL_TESTS_SUPPORT_FAULT_CATALOG_H
#define SL_TESTS_SUPPORT_FAULT_CATALOG_H

#include "catalog/catalog.h"

#include <stdbool.h>

/* Puts the wrapper in front of c's operations (once per catalog; until sl_fault_catalog_remove). */
void sl_fault_catalog_install(sl_catalog_t *c);
/* Gives c its own operations back (call before closing it). */
void sl_fault_catalog_remove(sl_catalog_t *c);
void sl_fault_catalog_arm(long nth, int code, bool sticky);
void sl_fault_catalog_disarm(void);
/* Writes of the arming thread seen since the last arm or disarm, and how many of them failed. */
long sl_fault_catalog_writes(void);
long sl_fault_catalog_failed(void);

#endif
