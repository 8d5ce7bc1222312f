/* Tags and resource policies in the core (kinesis/tags.c) without HTTP: stream and consumer tags
 * are added, replaced, listed (sorted, paged) and removed with AWS's errors (characters, the
 * 'aws:' prefix, the tag limit counted over new keys only); several tags are written in one
 * catalog transaction, so a failed write (tests/support/fault_catalog.h) changes none of them,
 * in memory or in the catalog (checked by reopening); policies are put, read and deleted. */
#include "kinesis_util.h"
#include "kinesis/control.h"
#include "kinesis/engine.h"
#include "support/fault_catalog.h"
#include "test.h"

static sl_arena_t arena;

static sl_ktag_ref_t tag(const char *key, const char *value) {
    return (sl_ktag_ref_t){key, strlen(key), value, strlen(value)};
}

/* Adds the tags, or removes their keys, of stream "t" (arn NULL) or of the resource. */
static bool change(sl_kinesis_t *k, bool adding, const char *arn, const sl_ktag_ref_t *tags,
                   size_t n, sl_kerr_t *err) {
    sl_ktag_change_t op = {.stream = {.name = "t", .name_len = 1},
                           .resource = arn != NULL,
                           .resource_arn = arn,
                           .resource_arn_len = arn ? strlen(arn) : 0,
                           .tags = tags,
                           .count = n,
                           .now_ms = sl_time_now_ms()};
    return adding ? sl_kinesis_tags_add(k, &op, err) : sl_kinesis_tags_remove(k, &op, err);
}

static bool add(sl_kinesis_t *k, const char *arn, const sl_ktag_ref_t *tags, size_t n,
                sl_kerr_t *err) {
    return change(k, true, arn, tags, n, err);
}

static bool del(sl_kinesis_t *k, const char *arn, const sl_ktag_ref_t *keys, size_t n,
                sl_kerr_t *err) {
    return change(k, false, arn, keys, n, err);
}

/* "k1=v1,k2=v2" of the stream (arn NULL) or the resource. */
static const char *list(sl_kinesis_t *k, const char *arn, int64_t limit, const char *start,
                        bool *more) {
    sl_ktag_list_t op = {.stream = {.name = "t", .name_len = 1},
                         .resource = arn != NULL,
                         .resource_arn = arn,
                         .resource_arn_len = arn ? strlen(arn) : 0,
                         .limit = limit,
                         .exclusive_start = start,
                         .now_ms = sl_time_now_ms(),
                         .arena = &arena};
    sl_kerr_t err;
    if (!sl_kinesis_tags_list(k, &op, &err)) return "error";
    if (more) *more = op.more;
    char *out = sl_arena_alloc(&arena, 4096);
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < op.count; i++)
        n += (size_t)snprintf(out + n, 4096 - n, "%s%s=%s", i ? "," : "", op.tags[i].key,
                              op.tags[i].value);
    return out;
}

static void test_stream_tags(kutil_engine_t *e, const char *dir) {
    sl_kinesis_t *k = e->k;
    sl_kerr_t err;
    sl_ktag_ref_t two[] = {tag("b", "2"), tag("a", "1")};
    CHECK(add(k, NULL, two, 2, &err));
    CHECK_EQ_STR(list(k, NULL, 50, NULL, NULL), "a=1,b=2");
    sl_ktag_ref_t replace[] = {tag("a", "one")};
    CHECK(add(k, NULL, replace, 1, &err));
    bool more = false;
    CHECK_EQ_STR(list(k, NULL, 1, NULL, &more), "a=one");
    CHECK(more);
    CHECK_EQ_STR(list(k, NULL, 50, "a", &more), "b=2");
    CHECK(!more);

    sl_ktag_ref_t bad[] = {tag("x", "ok"), tag("y#", "v")};
    CHECK(!add(k, NULL, bad, 2, &err));
    CHECK(err.type == SL_KERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "Some tags contain invalid characters") == err.message);
    sl_ktag_ref_t pct[] = {tag("p%", "v")};
    CHECK(!add(k, NULL, pct, 1, &err));
    CHECK(strstr(err.message, "Failed to add tags to stream t under account 123456789012 because "
                              "some tags contained illegal characters.") == err.message);
    sl_ktag_ref_t aws[] = {tag("aws:x", "v")};
    CHECK(!add(k, NULL, aws, 1, &err));
    CHECK(err.type == SL_KERR_INVALID_ARGUMENT);              /* ':' is not a tag character */
    CHECK_EQ_STR(list(k, NULL, 50, NULL, NULL), "a=one,b=2"); /* nothing of the refused calls */

    /* the limit (50) counts new keys only: 48 new + 2 known fit, 49 new do not */
    enum { MANY = SL_KINESIS_TAGS_PER_STREAM_MAX };
    sl_ktag_ref_t many[MANY];
    char keys[MANY][8];
    for (int i = 0; i < MANY; i++) {
        snprintf(keys[i], sizeof keys[i], "m%02d", i);
        many[i] = tag(keys[i], "v");
    }
    CHECK(!add(k, NULL, many, MANY - 1, &err));
    CHECK(strstr(err.message, "cannot have more than 10 tags") != NULL); /* AWS's text */
    many[MANY - 2] = tag("a", "A");
    many[MANY - 1] = tag("b", "B");
    CHECK(add(k, NULL, many, MANY, &err));
    CHECK(strstr(list(k, NULL, 50, NULL, NULL), "a=A,b=B,m00=v,m01=v,") != NULL);
    CHECK(del(k, NULL, many, MANY - 2, &err));
    sl_ktag_ref_t eight[8];
    for (int i = 0; i < 8; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        eight[i] = tag(keys[i], "v");
    }
    CHECK(add(k, NULL, eight, 8, &err));
    CHECK_EQ_STR(list(k, NULL, 50, NULL, NULL), "a=A,b=B,k0=v,k1=v,k2=v,k3=v,k4=v,k5=v,k6=v,k7=v");

    /* removing: '%' keys refused for the stream; absent keys ignored */
    sl_ktag_ref_t rm_bad[] = {tag("k0", ""), tag("q%", "")};
    CHECK(!del(k, NULL, rm_bad, 2, &err));
    CHECK(strstr(err.message, "Failed to remove tags from stream t") == err.message);
    sl_ktag_ref_t rm[] = {tag("k0", ""), tag("k1", ""), tag("absent", "")};
    CHECK(del(k, NULL, rm, 3, &err));
    CHECK_EQ_STR(list(k, NULL, 50, NULL, NULL), "a=A,b=B,k2=v,k3=v,k4=v,k5=v,k6=v,k7=v");

    /* a failed write in the middle of a batch changes none of the batch */
    sl_ktag_ref_t batch[] = {tag("a", "new"), tag("n1", "v"), tag("n2", "v")};
    for (long nth = 1; nth <= 4; nth++) {
        sl_fault_catalog_install(e->catalog);
        sl_fault_catalog_arm(nth, SL_EIO, false);
        CHECK(!add(k, NULL, batch, 3, &err));
        CHECK(err.type == SL_KERR_INTERNAL && err.cause == SL_EIO);
        if (nth <= 3) { /* two deletes and the commit */
            sl_ktag_ref_t rm2[] = {tag("k2", ""), tag("k3", "")};
            sl_fault_catalog_arm(nth, SL_EIO, false);
            CHECK(!del(k, NULL, rm2, 2, &err));
        }
        sl_fault_catalog_disarm();
        sl_fault_catalog_remove(e->catalog);
        CHECK_EQ_STR(list(k, NULL, 50, NULL, NULL), "a=A,b=B,k2=v,k3=v,k4=v,k5=v,k6=v,k7=v");
    }
    kutil_close(e);
    k = kutil_open(e, dir, false);
    CHECK_EQ_STR(list(k, NULL, 50, NULL, NULL), "a=A,b=B,k2=v,k3=v,k4=v,k5=v,k6=v,k7=v");
}

static void test_resources(sl_kinesis_t *k) {
    sl_kerr_t err;
    char stream_arn[512], consumer_arn[512];
    sl_kinesis_rdlock(k);
    snprintf(stream_arn, sizeof stream_arn, "%s", sl_kinesis_find(k, "t", 1, 0)->arn);
    sl_kinesis_unlock(k);
    sl_kconsumer_register_t reg = {.stream_arn = stream_arn,
                                   .stream_arn_len = strlen(stream_arn),
                                   .name = "c",
                                   .name_len = 1,
                                   .now_ms = sl_time_now_ms()};
    CHECK(sl_kinesis_register_consumer(k, &reg, &err));
    snprintf(consumer_arn, sizeof consumer_arn, "%s", reg.consumer.arn);

    sl_ktag_ref_t one[] = {tag("team", "x")};
    CHECK(add(k, consumer_arn, one, 1, &err));
    CHECK_EQ_STR(list(k, consumer_arn, 0, NULL, NULL), "team=x");
    CHECK(del(k, consumer_arn, one, 1, &err));
    CHECK_EQ_STR(list(k, consumer_arn, 0, NULL, NULL), "");
    CHECK_EQ_STR(list(k, stream_arn, 0, NULL, NULL), "a=A,b=B,k2=v,k3=v,k4=v,k5=v,k6=v,k7=v");
    CHECK(!add(k, "arn:nonsense", one, 1, &err));
    CHECK_EQ_STR(err.message, "Invalid ResourceARN arn:nonsense.");

    /* policies */
    sl_kpolicy_t pol = {.resource_arn = consumer_arn,
                        .resource_arn_len = strlen(consumer_arn),
                        .now_ms = sl_time_now_ms()};
    const char *text = NULL;
    CHECK(sl_kinesis_policy_get(k, &pol, &arena, &text, &err));
    CHECK_EQ_STR(text, "{}");
    CHECK(!sl_kinesis_policy_put(k, &pol, &err)); /* delete with none */
    CHECK(err.type == SL_KERR_RESOURCE_NOT_FOUND);
    pol.policy = "{\"Version\":\"2012-10-17\"}";
    CHECK(sl_kinesis_policy_put(k, &pol, &err));
    CHECK(sl_kinesis_policy_get(k, &pol, &arena, &text, &err));
    CHECK_EQ_STR(text, "{\"Version\":\"2012-10-17\"}");
    pol.policy = NULL;
    CHECK(sl_kinesis_policy_put(k, &pol, &err));
    CHECK(sl_kinesis_policy_get(k, &pol, &arena, &text, &err));
    CHECK_EQ_STR(text, "{}");
}

int main(void) {
    char *dir = kutil_tmpdir("tags");
    sl_arena_init(&arena, 1 << 16);
    kutil_engine_t e;
    kutil_open(&e, dir, false);
    kutil_stream(e.k, "t", 1);
    test_stream_tags(&e, dir);
    test_resources(e.k);
    kutil_close(&e);
    sl_arena_deinit(&arena);
    kutil_rm_rf(dir);
    free(dir);
    TEST_MAIN_END();
}
