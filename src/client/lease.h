/* The consumer's lease table (client/lease.c): KCL 2.x's schema in a DynamoDB table named after
 * the application, read and written with the legacy parameters the KCL sends (Expected,
 * AttributeUpdates), so a KCL worker and a libsluice worker can share one table. Every function
 * is one or a few blocking DynamoDB calls through the lease client; the consumer (client/
 * consumer.c) decides when to call them. docs/consumer.md describes the protocol. */
#ifndef SL_CLIENT_LEASE_H
#define SL_CLIENT_LEASE_H

#include "client/sluice.h"

#include <stdbool.h>
#include <stdint.h>

enum {
    SL_LEASE_KEY_MAX = 128,
    SL_LEASE_OWNER_MAX = 160,
    SL_LEASE_SEQ_MAX = 136, /* a sequence number (up to 128 digits) or a sentinel */
    SL_LEASE_HASH_MAX = 48,
    SL_LEASE_PARENTS_MAX = 2,
};

/* One lease item as the KCL writes it. */
typedef struct {
    char key[SL_LEASE_KEY_MAX];     /* leaseKey: the shard id */
    char owner[SL_LEASE_OWNER_MAX]; /* leaseOwner; "" when unowned */
    int64_t counter;                /* leaseCounter */
    char checkpoint[SL_LEASE_SEQ_MAX];
    int64_t checkpoint_sub;
    int64_t owner_switches;
    char parents[SL_LEASE_PARENTS_MAX][SL_LEASE_KEY_MAX];
    int parent_count;
    char start_hash[SL_LEASE_HASH_MAX], end_hash[SL_LEASE_HASH_MAX]; /* "" when absent */
} sl_lease_t;

/* Where and how: the table, the client, the last error's text. */
typedef struct {
    sl_client_t *client;
    const char *table;
    char error[512];
} sl_lease_table_t;

/* Creates the table when it is missing (HASH leaseKey, PAY_PER_REQUEST) and waits until it is
 * ACTIVE. Returns 0, SLUICE_ESERVICE or SLUICE_EIO (text in t->error). */
int sl_lease_table_ensure(sl_lease_table_t *t);
/* Every lease (Scan, paginated) into a heap array. Returns 0 or an error. */
int sl_lease_scan(sl_lease_table_t *t, sl_lease_t **out, size_t *count);
/* GetItem (consistent). *found false when the lease does not exist. */
int sl_lease_get(sl_lease_table_t *t, const char *key, sl_lease_t *out, bool *found);
/* PutItem if absent. Returns 0, SLUICE_ELEASELOST when it already exists, or an error. */
int sl_lease_create(sl_lease_table_t *t, const sl_lease_t *l);
/* Renew: counter + 1 if counter and owner are unchanged. */
int sl_lease_renew(sl_lease_table_t *t, sl_lease_t *l);
/* Take or steal for `owner` if the counter is unchanged (ownerSwitchesSinceCheckpoint + 1 when
 * the owner changes). On success l reflects the new item. */
int sl_lease_take(sl_lease_table_t *t, sl_lease_t *l, const char *owner);
/* Give up: removes leaseOwner if it is still l->owner. */
int sl_lease_evict(sl_lease_table_t *t, sl_lease_t *l);
/* Stores checkpoint (seq, sub) if the counter and owner are unchanged; resets the owner
 * switches. */
int sl_lease_checkpoint(sl_lease_table_t *t, sl_lease_t *l, const char *seq, int64_t sub);
/* Writes childShardIds on an existing lease (no counter change, as the KCL does). */
int sl_lease_set_children(sl_lease_table_t *t, const char *key, const char *const *children,
                          size_t count);

/* ---- the taker's choice (pure; client/lease.c) ---- */

/* One lease as the taker sees it. */
typedef struct {
    const char *owner; /* "" when unowned */
    int64_t idle_ms;   /* how long its counter stood still, by this worker's clock */
    bool mine;         /* this worker holds it */
    bool finished;     /* checkpoint SHARD_END: nobody holds it any more */
} sl_lease_view_t;

typedef struct {
    int failover_ms;
    int max_leases_for_worker;
    int max_leases_to_steal;
} sl_taker_config_t;

/* KCL 2.x's taker decision for worker `me` over every lease of the table: expired = idle longer
 * than the failover time; available = unowned or expired; target = ceil(live leases / workers)
 * (workers: the owners of live, not available leases, and me), capped by max_leases_for_worker.
 * Leases idle for 3 failover times are taken first, all at once (up to the cap); otherwise
 * random available ones up to the target; with none available, up to max_leases_to_steal of the
 * most loaded worker's when it holds at least the target (one when more than one is needed and
 * it holds exactly the target). Writes the chosen indices to out (at most cap) and returns how
 * many. */
size_t sl_lease_choose(const sl_lease_view_t *leases, size_t n, const char *me,
                       const sl_taker_config_t *cfg, unsigned *seed, size_t *out, size_t cap);

#endif
