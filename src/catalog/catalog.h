/* The metadata store: streams, shards, consumers, tags, resource policies and small settings
 * (e.g. the token key), kept in SQLite (catalog.db, WAL mode, synchronous=FULL so an acknowledged
 * catalog change survives power loss; foreign keys on; schema versioned with migrations).
 * Everything reaches the catalog through this interface so a replicated store can replace it:
 * sl_catalog_t is a table of operations (sl_catalog_ops_t) that an implementation embeds as the
 * first member of its own struct; SQLite (catalog.c, sl_catalog_open_sqlite) is the one there is.
 * The contract below is the interface's, whatever the implementation.
 *
 * Threads: one connection guarded by one recursive mutex; every call is safe from any thread.
 * sl_catalog_begin takes the mutex until sl_catalog_commit/rollback on the same thread, so a group
 * of writes is never interleaved with another thread's calls (which wait).
 * Ownership: the catalog object is owned by whoever opened it; strings passed in are copied;
 * strings handed to visitor callbacks are valid only during the callback.
 * Every write is its own transaction unless grouped with begin/commit.
 * Returns: 0 or a negative SL_E* code. SQLite errors map to SL_EEXIST (unique constraint),
 * SL_ENOTFOUND (missing row or foreign key), SL_ENOSPC (disk full), SL_EAGAIN (busy),
 * SL_ENOMEM, SL_ECORRUPT (corrupt database or a schema newer than this build), SL_EIO (other). */
#ifndef SL_CATALOG_CATALOG_H
#define SL_CATALOG_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_catalog sl_catalog_t;

/* A stream row. Required strings: account, region, name, arn, status, mode. Optional (NULL is
 * stored as NULL and read back as NULL): encryption_type, key_id, shard_level_metrics. */
typedef struct {
    int64_t id; /* assigned by insert; AUTOINCREMENT, never reused */
    const char *account, *region, *name, *arn, *status, *mode;
    int64_t created_ms, status_until_ms;
    int32_t retention_hours, max_record_size_kib;
    const char *encryption_type, *key_id, *shard_level_metrics; /* metrics: comma separated */
    int64_t warm_throughput_mibps;                              /* -1 = none */
    int32_t next_shard_index;
} sl_cat_stream_t;

/* A shard row. parent ids NULL when none; hash keys decimal strings. */
typedef struct {
    int64_t stream_id;
    int32_t shard_index;
    const char *parent_shard_id, *adjacent_parent_shard_id;
    const char *starting_hash_key, *ending_hash_key;
    int64_t created_ms, closed_ms; /* closed_ms 0 = open */
    /* Sequence reservation (docs/storage-format.md, "Sequence reservations"): no storage seq at
     * or above seq_reserved has ever been handed out for this shard; records below seq_written
     * are known to have been committed. 0 means unknown (a row written before schema version 2).
     * Both stay below 2^63. */
    int64_t seq_reserved, seq_written;
} sl_cat_shard_t;

/* An enhanced fan-out consumer row; name, arn and status required. */
typedef struct {
    int64_t stream_id;
    const char *name, *arn, *status;
    int64_t created_ms, status_until_ms;
} sl_cat_consumer_t;

/* IAM rows of the account (iam/store.c): users, their access keys (the secret wrapped by the
 * master key, never in clear) and their inline policies. */
typedef struct {
    const char *name, *user_id;
    int64_t created_ms;
} sl_cat_iam_user_t;

typedef struct {
    const char *access_key_id, *user_name, *status; /* status: Active | Inactive */
    const void *secret_wrapped;
    size_t secret_wrapped_len;
    int64_t created_ms;
} sl_cat_iam_key_t;

typedef struct {
    const char *user_name, *policy_name, *document;
} sl_cat_iam_policy_t;

/* Callbacks for sl_catalog_load; NULL members are skipped. Callbacks must not call back into the
 * catalog. */
typedef struct {
    void (*stream)(void *arg, const sl_cat_stream_t *s);
    void (*shard)(void *arg, const sl_cat_shard_t *s);
    void (*consumer)(void *arg, const sl_cat_consumer_t *k);
    void (*tag)(void *arg, const char *arn, const char *key, const char *value);
    void (*policy)(void *arg, const char *arn, const char *policy);
    void (*iam_user)(void *arg, const sl_cat_iam_user_t *u);
    void (*iam_key)(void *arg, const sl_cat_iam_key_t *k);
    void (*iam_policy)(void *arg, const sl_cat_iam_policy_t *p);
} sl_catalog_visitor_t;

/* The operations of a catalog implementation; sl_catalog_* below call them and carry the contract.
 */
typedef struct sl_catalog_ops {
    void (*close)(sl_catalog_t *c);
    int (*begin)(sl_catalog_t *c);
    int (*commit)(sl_catalog_t *c);
    int (*rollback)(sl_catalog_t *c);
    int (*stream_insert)(sl_catalog_t *c, sl_cat_stream_t *s);
    int (*stream_update)(sl_catalog_t *c, const sl_cat_stream_t *s);
    int (*stream_delete)(sl_catalog_t *c, int64_t id);
    int (*shard_put)(sl_catalog_t *c, const sl_cat_shard_t *s);
    int (*shard_delete)(sl_catalog_t *c, int64_t stream_id, int32_t shard_index);
    int (*shard_seq_set)(sl_catalog_t *c, int64_t stream_id, int32_t shard_index,
                         int64_t seq_reserved, int64_t seq_written);
    int (*consumer_put)(sl_catalog_t *c, const sl_cat_consumer_t *k);
    int (*consumer_delete)(sl_catalog_t *c, const char *arn);
    int (*tag_put)(sl_catalog_t *c, const char *resource_arn, const char *key, const char *value);
    int (*tag_delete)(sl_catalog_t *c, const char *resource_arn, const char *key);
    int (*policy_put)(sl_catalog_t *c, const char *resource_arn, const char *policy);
    int (*policy_delete)(sl_catalog_t *c, const char *resource_arn);
    int (*setting_put)(sl_catalog_t *c, const char *key, const void *value, size_t len);
    int (*setting_get)(sl_catalog_t *c, const char *key, void *buf, size_t cap, size_t *len_out);
    int (*setting_delete)(sl_catalog_t *c, const char *key);
    int (*iam_user_put)(sl_catalog_t *c, const sl_cat_iam_user_t *u);
    int (*iam_user_delete)(sl_catalog_t *c, const char *name);
    int (*iam_key_put)(sl_catalog_t *c, const sl_cat_iam_key_t *k);
    int (*iam_key_delete)(sl_catalog_t *c, const char *access_key_id);
    int (*iam_policy_put)(sl_catalog_t *c, const sl_cat_iam_policy_t *p);
    int (*iam_policy_delete)(sl_catalog_t *c, const char *user_name, const char *policy_name);
    int (*load)(sl_catalog_t *c, const sl_catalog_visitor_t *v, void *arg);
    int (*backup)(sl_catalog_t *c, const char *path);
} sl_catalog_ops_t;

/* The interface head: the first member of every implementation's struct. */
struct sl_catalog {
    const sl_catalog_ops_t *ops;
};

/* Opens (creating if needed) the SQLite catalog file at path and migrates its schema. */
int sl_catalog_open_sqlite(const char *path, sl_catalog_t **out);

/* Closes the catalog; rolls back a transaction left open. NULL is a no-op. */
static inline void sl_catalog_close(sl_catalog_t *c) {
    if (c) c->ops->close(c);
}

/* Groups the following writes of this thread in one transaction. A nested begin returns
 * SL_EINVAL; commit/rollback without begin (or from another thread) return SL_EINVAL. */
static inline int sl_catalog_begin(sl_catalog_t *c) {
    return c->ops->begin(c);
}
static inline int sl_catalog_commit(sl_catalog_t *c) {
    return c->ops->commit(c);
}
static inline int sl_catalog_rollback(sl_catalog_t *c) {
    return c->ops->rollback(c);
}

/* Inserts a stream and sets s->id; when s->id > 0 that id is used (repair rebuilds rows with the
 * ids their logs are named by). SL_EEXIST when (account, region, name) or the ARN exists;
 * SL_EINVAL when a required string is NULL. */
static inline int sl_catalog_stream_insert(sl_catalog_t *c, sl_cat_stream_t *s) {
    return c->ops->stream_insert(c, s);
}
/* Rewrites every column of the stream s->id. SL_ENOTFOUND when there is no such stream. */
static inline int sl_catalog_stream_update(sl_catalog_t *c, const sl_cat_stream_t *s) {
    return c->ops->stream_update(c, s);
}
/* Deletes the stream, its shards and consumers, and the tags and policies of its ARN and of its
 * consumers' ARNs, in one transaction. SL_ENOTFOUND when there is no such stream. */
static inline int sl_catalog_stream_delete(sl_catalog_t *c, int64_t id) {
    return c->ops->stream_delete(c, id);
}

/* Inserts or replaces the shard (stream_id, shard_index). Replacing never lowers seq_reserved or
 * seq_written (the larger value stays). SL_ENOTFOUND when the stream is missing. */
static inline int sl_catalog_shard_put(sl_catalog_t *c, const sl_cat_shard_t *s) {
    return c->ops->shard_put(c, s);
}
/* Sets the sequence reservation of one shard exactly (it may lower it: a clean shutdown records
 * the exact tip). SL_ENOTFOUND when the shard is absent; SL_EINVAL for negative values. */
static inline int sl_catalog_shard_seq_set(sl_catalog_t *c, int64_t stream_id, int32_t shard_index,
                                           int64_t seq_reserved, int64_t seq_written) {
    return c->ops->shard_seq_set(c, stream_id, shard_index, seq_reserved, seq_written);
}
/* Deletes one shard (e.g. expired after retention). SL_ENOTFOUND when absent. */
static inline int sl_catalog_shard_delete(sl_catalog_t *c, int64_t stream_id, int32_t shard_index) {
    return c->ops->shard_delete(c, stream_id, shard_index);
}

/* Inserts or replaces a consumer by ARN. SL_ENOTFOUND when the stream is missing. */
static inline int sl_catalog_consumer_put(sl_catalog_t *c, const sl_cat_consumer_t *k) {
    return c->ops->consumer_put(c, k);
}
/* Deletes a consumer and the tags and policy of its ARN. SL_ENOTFOUND when absent. */
static inline int sl_catalog_consumer_delete(sl_catalog_t *c, const char *arn) {
    return c->ops->consumer_delete(c, arn);
}

/* Tags and resource policies, keyed by resource ARN. Puts insert or replace; deletes return
 * SL_ENOTFOUND when there was nothing to delete. */
static inline int sl_catalog_tag_put(sl_catalog_t *c, const char *resource_arn, const char *key,
                                     const char *value) {
    return c->ops->tag_put(c, resource_arn, key, value);
}
static inline int sl_catalog_tag_delete(sl_catalog_t *c, const char *resource_arn,
                                        const char *key) {
    return c->ops->tag_delete(c, resource_arn, key);
}
static inline int sl_catalog_policy_put(sl_catalog_t *c, const char *resource_arn,
                                        const char *policy) {
    return c->ops->policy_put(c, resource_arn, policy);
}
static inline int sl_catalog_policy_delete(sl_catalog_t *c, const char *resource_arn) {
    return c->ops->policy_delete(c, resource_arn);
}

/* Small opaque settings (e.g. "token_key"). get copies up to cap bytes and sets *len_out to the
 * stored length; SL_ENOTFOUND when absent, SL_ELIMIT when cap is smaller than the value (nothing
 * copied, *len_out still set). */
static inline int sl_catalog_setting_put(sl_catalog_t *c, const char *key, const void *value,
                                         size_t len) {
    return c->ops->setting_put(c, key, value, len);
}
static inline int sl_catalog_setting_get(sl_catalog_t *c, const char *key, void *buf, size_t cap,
                                         size_t *len_out) {
    return c->ops->setting_get(c, key, buf, cap, len_out);
}
static inline int sl_catalog_setting_delete(sl_catalog_t *c, const char *key) {
    return c->ops->setting_delete(c, key);
}

/* Visits every stream (by id), then shards (by stream id, index), consumers (by stream id,
 * created_ms, arn), tags (by arn, key), policies (by arn), all in one read transaction. */
/* IAM rows. _put of a user fails with SL_EEXIST when it exists; _put of a key or a policy
 * inserts or replaces. _delete: SL_ENOTFOUND when absent. */
static inline int sl_catalog_iam_user_put(sl_catalog_t *c, const sl_cat_iam_user_t *u) {
    return c->ops->iam_user_put(c, u);
}
static inline int sl_catalog_iam_user_delete(sl_catalog_t *c, const char *name) {
    return c->ops->iam_user_delete(c, name);
}
static inline int sl_catalog_iam_key_put(sl_catalog_t *c, const sl_cat_iam_key_t *k) {
    return c->ops->iam_key_put(c, k);
}
static inline int sl_catalog_iam_key_delete(sl_catalog_t *c, const char *access_key_id) {
    return c->ops->iam_key_delete(c, access_key_id);
}
static inline int sl_catalog_iam_policy_put(sl_catalog_t *c, const sl_cat_iam_policy_t *p) {
    return c->ops->iam_policy_put(c, p);
}
static inline int sl_catalog_iam_policy_delete(sl_catalog_t *c, const char *user_name,
                                               const char *policy_name) {
    return c->ops->iam_policy_delete(c, user_name, policy_name);
}
static inline int sl_catalog_load(sl_catalog_t *c, const sl_catalog_visitor_t *v, void *arg) {
    return c->ops->load(c, v, arg);
}

/* Writes a consistent copy of the whole catalog to `path` (a new file written beside it, made
 * durable, then renamed over path), for `sluice repair`. */
static inline int sl_catalog_backup(sl_catalog_t *c, const char *path) {
    return c->ops->backup(c, path);
}

/* ---- the SQLite catalog file, without opening it for use (`sluice check`) ---- */

/* The schema version this build writes. */
int sl_catalog_sqlite_schema_version(void);

/* What sl_catalog_sqlite_verify found. */
typedef struct {
    int schema_version; /* -1 when it could not be read */
    bool opened;        /* SQLite could open the file and read its schema version */
    bool integrity_ok;  /* PRAGMA integrity_check answered "ok" */
    bool schema_ok;     /* schema_version is one this build can open */
    bool locked;        /* another process holds the file: a running server (exclusive lock) */
    char detail[512];   /* the first problem, in words; "" when none */
} sl_catalog_verify_t;

/* Copies the catalog file at src_path (its WAL included) to a new single-file database at dst_path
 * through a read-only connection, without migrating or changing src_path. */
int sl_catalog_sqlite_copy(const char *src_path, const char *dst_path);

/* Checks the catalog file at path without changing it (read-only connection; no migration):
 * returns 0 and fills *out whatever it finds (SL_ENOTFOUND when there is no such file). */
int sl_catalog_sqlite_verify(const char *path, sl_catalog_verify_t *out);

#endif
