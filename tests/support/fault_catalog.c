/* The catalog fault wrapper (fault_catalog.h). */
#include "support/fault_catalog.h"

#include <pthread.h>

static const sl_catalog_ops_t *real;
static sl_catalog_ops_t wrapped;
static long arm_nth, seen, failed;
static int arm_code;
static bool arm_sticky;
static pthread_t arm_thread;

/* Counts a write; true when it must fail. */
static bool fail_now(void) {
    if (!arm_nth || !pthread_equal(pthread_self(), arm_thread)) return false;
    seen++;
    if (!arm_nth || seen < arm_nth || (seen > arm_nth && !arm_sticky)) return false;
    failed++;
    return true;
}

#define FAULT_WRITE(name, params, args)                                                            \
    static int fault_##name params {                                                               \
        if (fail_now()) return arm_code;                                                           \
        return real->name args;                                                                    \
    }

FAULT_WRITE(commit, (sl_catalog_t * c), (c))
FAULT_WRITE(stream_insert, (sl_catalog_t * c, sl_cat_stream_t *s), (c, s))
FAULT_WRITE(stream_update, (sl_catalog_t * c, const sl_cat_stream_t *s), (c, s))
FAULT_WRITE(stream_delete, (sl_catalog_t * c, int64_t id), (c, id))
FAULT_WRITE(shard_put, (sl_catalog_t * c, const sl_cat_shard_t *s), (c, s))
FAULT_WRITE(shard_delete, (sl_catalog_t * c, int64_t stream_id, int32_t index),
            (c, stream_id, index))
FAULT_WRITE(shard_seq_set,
            (sl_catalog_t * c, int64_t stream_id, int32_t index, int64_t reserved, int64_t written),
            (c, stream_id, index, reserved, written))
FAULT_WRITE(consumer_put, (sl_catalog_t * c, const sl_cat_consumer_t *k), (c, k))
FAULT_WRITE(consumer_delete, (sl_catalog_t * c, const char *arn), (c, arn))
FAULT_WRITE(tag_put, (sl_catalog_t * c, const char *arn, const char *key, const char *value),
            (c, arn, key, value))
FAULT_WRITE(tag_delete, (sl_catalog_t * c, const char *arn, const char *key), (c, arn, key))
FAULT_WRITE(policy_put, (sl_catalog_t * c, const char *arn, const char *policy), (c, arn, policy))
FAULT_WRITE(policy_delete, (sl_catalog_t * c, const char *arn), (c, arn))
FAULT_WRITE(setting_put, (sl_catalog_t * c, const char *key, const void *value, size_t len),
            (c, key, value, len))
FAULT_WRITE(setting_delete, (sl_catalog_t * c, const char *key), (c, key))

void sl_fault_catalog_install(sl_catalog_t *c) {
    real = c->ops;
    wrapped = *real;
    wrapped.commit = fault_commit;
    wrapped.stream_insert = fault_stream_insert;
    wrapped.stream_update = fault_stream_update;
    wrapped.stream_delete = fault_stream_delete;
    wrapped.shard_put = fault_shard_put;
    wrapped.shard_delete = fault_shard_delete;
    wrapped.shard_seq_set = fault_shard_seq_set;
    wrapped.consumer_put = fault_consumer_put;
    wrapped.consumer_delete = fault_consumer_delete;
    wrapped.tag_put = fault_tag_put;
    wrapped.tag_delete = fault_tag_delete;
    wrapped.policy_put = fault_policy_put;
    wrapped.policy_delete = fault_policy_delete;
    wrapped.setting_put = fault_setting_put;
    wrapped.setting_delete = fault_setting_delete;
    c->ops = &wrapped;
    sl_fault_catalog_disarm();
}

void sl_fault_catalog_remove(sl_catalog_t *c) {
    if (c->ops == &wrapped) c->ops = real;
}

void sl_fault_catalog_arm(long nth, int code, bool sticky) {
    arm_nth = nth;
    arm_code = code;
    arm_sticky = sticky;
    arm_thread = pthread_self();
    seen = failed = 0;
}

void sl_fault_catalog_disarm(void) {
    arm_nth = 0;
    seen = failed = 0;
}

long sl_fault_catalog_writes(void) {
    return seen;
}

long sl_fault_catalog_failed(void) {
    return failed;
}
