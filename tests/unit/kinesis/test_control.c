/* Control-plane field changes (kinesis/control.c) write the catalog first: with the catalog's
 * writes failing (tests/support/fault_catalog.h: the SQLite catalog's own operations wrapped so
 * that its writes return SL_EIO), every change leaves memory as it was and
 * returns the error; with the writes working, memory changes and the catalog has the new values
 * (checked by reopening the engine on the same data directory). */
#include "kinesis_util.h"
#include "kinesis/engine.h"
#include "support/fault_catalog.h"
#include "test.h"

/* Makes every catalog write of this thread fail until restored (tests/support/fault_catalog.h). */
static void catalog_fail(sl_catalog_t *c) {
    sl_fault_catalog_install(c);
    sl_fault_catalog_arm(1, SL_EIO, true);
}

static void catalog_restore(sl_catalog_t *c) {
    sl_fault_catalog_disarm();
    sl_fault_catalog_remove(c);
}

typedef struct {
    int32_t retention_hours, max_record_size_kib;
    unsigned metrics;
    bool on_demand, encrypted;
    int64_t warm_mibps, status_until_ms;
    sl_kstatus_t status;
    char key_id[2049];
} fields_t;

static fields_t fields_of(const sl_kstream_t *s) {
    fields_t f = {s->retention_hours,
                  s->max_record_size_kib,
                  s->metrics,
                  s->on_demand,
                  s->encrypted,
                  s->warm_mibps,
                  s->status_until_ms,
                  s->status,
                  ""};
    snprintf(f.key_id, sizeof f.key_id, "%s", s->key_id);
    return f;
}

static bool fields_equal(const fields_t *a, const fields_t *b) {
    return a->retention_hours == b->retention_hours &&
           a->max_record_size_kib == b->max_record_size_kib && a->metrics == b->metrics &&
           a->on_demand == b->on_demand && a->encrypted == b->encrypted &&
           a->warm_mibps == b->warm_mibps && a->status_until_ms == b->status_until_ms &&
           a->status == b->status && strcmp(a->key_id, b->key_id) == 0;
}

static const char *const KEY = "alias/test-key";

/* Every change fails with the catalog failing, and memory is what it was before. */
static void test_failed_write_changes_nothing(kutil_engine_t *e) {
    sl_kinesis_t *k = e->k;
    int64_t now = sl_time_now_ms();
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kinesis_find(k, "control", 7, now);
    CHECK(s != NULL);
    fields_t before = fields_of(s);
    sl_kshard_t *sh = sl_kstream_shard(s, 0);
    sl_kconsumer_t *c = NULL;
    CHECK_EQ_INT(sl_kinesis_consumer_add(k, s, "reader", NULL, now, &c), 0);
    sl_kstatus_t consumer_status = c->status;
    int64_t consumer_until = c->status_until_ms;
    bool commitment = k->commitment_enabled;
    int64_t commitment_started = k->commitment_started_ms;

    catalog_fail(e->catalog);
    CHECK_EQ_INT(sl_kinesis_set_retention(k, s, 48), SL_EIO);
    CHECK_EQ_INT(sl_kinesis_set_metrics(k, s, 3), SL_EIO);
    CHECK_EQ_INT(sl_kinesis_set_max_record_size(k, s, 2048), SL_EIO);
    CHECK_EQ_INT(sl_kinesis_set_stream_mode(k, s, true, true, 100, now), SL_EIO);
    CHECK_EQ_INT(sl_kinesis_set_warm_throughput(k, s, 200, now), SL_EIO);
    CHECK_EQ_INT(sl_kinesis_set_encryption(k, s, true, KEY, now), SL_EIO);
    CHECK_EQ_INT(sl_kinesis_set_commitment(k, !commitment, now), SL_EIO);
    CHECK_EQ_INT(sl_kinesis_consumer_deregister(k, s, c, now), SL_EIO);
    CHECK_EQ_INT(sl_kinesis_close_shard(k, sh, now), SL_EIO);
    catalog_restore(e->catalog);

    fields_t after = fields_of(s);
    CHECK(fields_equal(&before, &after));
    CHECK_EQ_INT(sl_kstream_status(s, now), SL_KS_ACTIVE);
    CHECK_EQ_INT(c->status, consumer_status);
    CHECK_EQ_INT(c->status_until_ms, consumer_until);
    CHECK(k->commitment_enabled == commitment);
    CHECK_EQ_INT(k->commitment_started_ms, commitment_started);
    CHECK_EQ_INT(sh->closed_ms, 0);
    sl_kinesis_unlock(k);
}

/* With the catalog working, each change is in memory at once and in the catalog after a reopen. */
static void test_successful_write_changes_both(kutil_engine_t *e, const char *dir) {
    sl_kinesis_t *k = e->k;
    int64_t now = sl_time_now_ms();
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kinesis_find(k, "control", 7, now);
    CHECK(s != NULL);
    CHECK_EQ_INT(sl_kinesis_set_retention(k, s, 48), 0);
    CHECK_EQ_INT(s->retention_hours, 48);
    CHECK_EQ_INT(sl_kinesis_set_metrics(k, s, 5), 0);
    CHECK_EQ_INT(s->metrics, 5);
    CHECK_EQ_INT(sl_kinesis_set_max_record_size(k, s, 2048), 0);
    CHECK_EQ_INT(s->max_record_size_kib, 2048);
    CHECK_EQ_INT(sl_kinesis_set_commitment(k, true, now), 0);
    CHECK(k->commitment_enabled);
    CHECK_EQ_INT(sl_kinesis_set_stream_mode(k, s, true, true, 100, now), 0);
    CHECK(s->on_demand);
    CHECK_EQ_INT(s->warm_mibps, 100);
    CHECK_EQ_INT(s->status, SL_KS_UPDATING);
    CHECK_EQ_INT(sl_kinesis_set_warm_throughput(k, s, 200, now), 0);
    CHECK_EQ_INT(s->warm_mibps, 200);
    CHECK_EQ_INT(sl_kinesis_set_encryption(k, s, true, KEY, now), 0);
    CHECK(s->encrypted);
    CHECK_EQ_STR(s->key_id, KEY);
    sl_kconsumer_t *c = sl_kstream_consumer(s, "reader", 6);
    CHECK(c != NULL);
    CHECK_EQ_INT(sl_kinesis_consumer_deregister(k, s, c, now), 0);
    CHECK_EQ_INT(c->status, SL_KS_DELETING);
    sl_kinesis_unlock(k);

    kutil_close(e);
    k = kutil_open(e, dir, false);
    sl_kinesis_rdlock(k);
    s = sl_kinesis_find(k, "control", 7, sl_time_now_ms());
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_INT(s->retention_hours, 48);
        CHECK_EQ_INT(s->metrics, 5);
        CHECK_EQ_INT(s->max_record_size_kib, 2048);
        CHECK(s->on_demand);
        CHECK_EQ_INT(s->warm_mibps, 200);
        CHECK(s->encrypted);
        CHECK_EQ_STR(s->key_id, KEY);
    }
    CHECK(k->commitment_enabled);
    CHECK_EQ_INT(k->commitment_started_ms, now);
    sl_kinesis_unlock(k);

    /* closing a shard: the row first, then memory */
    sl_kinesis_wrlock(k);
    s = sl_kinesis_find(k, "control", 7, sl_time_now_ms());
    sl_kshard_t *sh = s ? sl_kstream_shard(s, 0) : NULL;
    CHECK(sh != NULL);
    if (sh) {
        CHECK_EQ_INT(sl_kinesis_close_shard(k, sh, now), 0);
        CHECK_EQ_INT(sh->closed_ms, now);
    }
    sl_kinesis_unlock(k);
}

int main(void) {
    char *dir = kutil_tmpdir("control");
    kutil_engine_t e;
    kutil_open(&e, dir, false);
    kutil_stream(e.k, "control", 2);
    test_failed_write_changes_nothing(&e);
    test_successful_write_changes_both(&e, dir);
    kutil_close(&e);
    kutil_rm_rf(dir);
    free(dir);
    TEST_MAIN_END();
}
