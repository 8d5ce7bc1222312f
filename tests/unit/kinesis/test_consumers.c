/* Consumers in the core (kinesis/consumers.c) without HTTP: registration (ACTIVE once consumer_ms
 * passed, 0 here), duplicates refused, lookup by ConsumerARN or StreamARN + ConsumerName, paged
 * listing with a sealed NextToken, deregistration; a registration or deregistration whose catalog
 * write fails (tests/support/fault_catalog.h) changes nothing, in memory or in the catalog. */
#include "kinesis_util.h"
#include "kinesis/control.h"
#include "kinesis/engine.h"
#include "support/fault_catalog.h"
#include "test.h"

static char stream_arn[512];

static bool reg(sl_kinesis_t *k, const char *name, sl_kconsumer_info_t *out, sl_kerr_t *err) {
    sl_kconsumer_register_t op = {.stream_arn = stream_arn,
                                  .stream_arn_len = strlen(stream_arn),
                                  .name = name,
                                  .name_len = strlen(name),
                                  .now_ms = sl_time_now_ms()};
    bool ok = sl_kinesis_register_consumer(k, &op, err);
    if (ok && out) *out = op.consumer;
    return ok;
}

static sl_kconsumer_ref_t by_name(const char *name) {
    return (sl_kconsumer_ref_t){.stream_arn = stream_arn,
                                .stream_arn_len = strlen(stream_arn),
                                .name = name,
                                .name_len = strlen(name)};
}

static int count_live(sl_kinesis_t *k) {
    sl_arena_t a;
    sl_arena_init(&a, 1 << 16);
    sl_kconsumer_list_t op = {.stream_arn = stream_arn,
                              .stream_arn_len = strlen(stream_arn),
                              .max_results = 100,
                              .now_ms = sl_time_now_ms(),
                              .arena = &a};
    sl_kerr_t err;
    int n = sl_kinesis_list_consumers(k, &op, &err) ? (int)op.count : -1;
    sl_arena_deinit(&a);
    return n;
}

static void test_lifecycle(sl_kinesis_t *k) {
    sl_kerr_t err;
    sl_kconsumer_info_t c, d;
    CHECK(reg(k, "one", &c, &err));
    CHECK_EQ_STR(c.name, "one");
    CHECK(strstr(c.arn, "/consumer/one:") != NULL);
    CHECK_EQ_STR(c.stream_arn, stream_arn);
    CHECK(!reg(k, "one", NULL, &err));
    CHECK(err.type == SL_KERR_RESOURCE_IN_USE);
    CHECK(strstr(err.message, "Consumer one under stream c already exists") == err.message);

    sl_kconsumer_ref_t ref = by_name("one");
    CHECK(sl_kinesis_describe_consumer(k, &ref, sl_time_now_ms(), &d, &err));
    CHECK_EQ_STR(d.arn, c.arn);
    CHECK_EQ_INT(d.status, SL_KS_ACTIVE);
    sl_kconsumer_ref_t by_arn = {.arn = c.arn, .arn_len = strlen(c.arn)};
    CHECK(sl_kinesis_describe_consumer(k, &by_arn, sl_time_now_ms(), &d, &err));
    CHECK_EQ_STR(d.name, "one");
    sl_kconsumer_ref_t none = {0};
    CHECK(!sl_kinesis_describe_consumer(k, &none, sl_time_now_ms(), &d, &err));
    CHECK_EQ_STR(err.message,
                 "Either ConsumerARN or both ConsumerName and StreamARN must be provided.");
    sl_kconsumer_ref_t missing = by_name("two");
    CHECK(!sl_kinesis_describe_consumer(k, &missing, sl_time_now_ms(), &d, &err));
    CHECK(err.type == SL_KERR_RESOURCE_NOT_FOUND);

    /* paging: three consumers, two a page */
    CHECK(reg(k, "two", NULL, &err));
    CHECK(reg(k, "three", NULL, &err));
    sl_arena_t a;
    sl_arena_init(&a, 1 << 16);
    sl_kconsumer_list_t page = {.stream_arn = stream_arn,
                                .stream_arn_len = strlen(stream_arn),
                                .max_results = 2,
                                .now_ms = sl_time_now_ms(),
                                .arena = &a};
    CHECK(sl_kinesis_list_consumers(k, &page, &err));
    CHECK_EQ_INT(page.count, 2);
    CHECK(page.next != NULL);
    page.next_token = page.next;
    page.next_token_len = page.next ? strlen(page.next) : 0;
    CHECK(sl_kinesis_list_consumers(k, &page, &err));
    CHECK_EQ_INT(page.count, 1);
    CHECK_EQ_STR(page.consumers[0].name, "three");
    CHECK(page.next == NULL);
    page.next_token = "garbage";
    page.next_token_len = 7;
    CHECK(!sl_kinesis_list_consumers(k, &page, &err));
    CHECK_EQ_STR(err.message, "Invalid NextToken.");
    sl_arena_deinit(&a);

    /* deregistration: DELETING, gone at once with consumer_ms 0 */
    sl_kconsumer_gone_t gone;
    CHECK(sl_kinesis_deregister_consumer(k, &by_arn, sl_time_now_ms(), &gone, &err));
    CHECK_EQ_STR(gone.stream_name, "c");
    CHECK_EQ_STR(gone.consumer_arn, c.arn);
    CHECK(!sl_kinesis_describe_consumer(k, &by_arn, sl_time_now_ms(), &d, &err));
    CHECK_EQ_INT(count_live(k), 2);
}

static void test_failed_writes(kutil_engine_t *e, const char *dir) {
    sl_kerr_t err;
    sl_fault_catalog_install(e->catalog);
    sl_fault_catalog_arm(1, SL_ENOSPC, true);
    CHECK(!reg(e->k, "four", NULL, &err));
    CHECK(err.type == SL_KERR_INTERNAL && err.cause == SL_ENOSPC);
    sl_kconsumer_ref_t ref = by_name("two");
    sl_kconsumer_gone_t gone;
    CHECK(!sl_kinesis_deregister_consumer(e->k, &ref, sl_time_now_ms(), &gone, &err));
    sl_fault_catalog_disarm();
    sl_fault_catalog_remove(e->catalog);
    CHECK_EQ_INT(count_live(e->k), 2);
    sl_kconsumer_info_t d;
    CHECK(sl_kinesis_describe_consumer(e->k, &ref, sl_time_now_ms(), &d, &err));
    CHECK_EQ_INT(d.status, SL_KS_ACTIVE);
    /* a registration with tags: the consumer's row, the tag's row and the commit, each failing */
    sl_ktag_ref_t tags[] = {{"team", 4, "x", 1}};
    sl_kconsumer_register_t op = {.stream_arn = stream_arn,
                                  .stream_arn_len = strlen(stream_arn),
                                  .name = "tagged",
                                  .name_len = 6,
                                  .tags = tags,
                                  .tag_count = 1,
                                  .now_ms = sl_time_now_ms()};
    for (long nth = 1; nth <= 3; nth++) {
        sl_fault_catalog_install(e->catalog);
        sl_fault_catalog_arm(nth, SL_EIO, false);
        CHECK(!sl_kinesis_register_consumer(e->k, &op, &err));
        sl_fault_catalog_disarm();
        sl_fault_catalog_remove(e->catalog);
        CHECK_EQ_INT(count_live(e->k), 2);
    }
    kutil_close(e);
    kutil_open(e, dir, false);
    CHECK_EQ_INT(count_live(e->k), 2);
    CHECK(sl_kinesis_register_consumer(e->k, &op, &err));
    CHECK_EQ_INT(count_live(e->k), 3);
    sl_kconsumer_ref_t four = by_name("four");
    CHECK(!sl_kinesis_describe_consumer(e->k, &four, sl_time_now_ms(), &d, &err));
}

int main(void) {
    char *dir = kutil_tmpdir("consumers");
    kutil_engine_t e;
    kutil_open(&e, dir, false);
    sl_kstream_t *s = kutil_stream(e.k, "c", 1);
    snprintf(stream_arn, sizeof stream_arn, "%s", s->arn);
    test_lifecycle(e.k);
    test_failed_writes(&e, dir);
    kutil_close(&e);
    kutil_rm_rf(dir);
    free(dir);
    TEST_MAIN_END();
}
