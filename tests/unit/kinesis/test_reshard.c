/* Resharding in the core (kinesis/reshard.c) without HTTP: SplitShard, MergeShards and
 * UpdateShardCount up and down change the shards as AWS does (closed parents, children with their
 * parent links and hash ranges, even ranges after UpdateShardCount), with AWS's errors; the
 * catalog holds exactly what memory holds (checked by reopening the engine); and a catalog write
 * that fails anywhere in a reshard (tests/support/fault_catalog.h fails the Nth write, for every N
 * up to the commit) leaves memory and the catalog as they were, the stream still taking and
 * serving records. */
#include "kinesis_util.h"
#include "kinesis/control.h"
#include "kinesis/engine.h"
#include "kinesis/hashkey.h"
#include "support/fault_catalog.h"
#include "test.h"

/* The stream's shards and next shard index as text, for comparing before and after. */
static void dump(sl_kinesis_t *k, const char *name, char *out, size_t cap) {
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kinesis_find(k, name, strlen(name), sl_time_now_ms());
    size_t n = (size_t)snprintf(out, cap, "next=%u;", s ? s->next_shard_index : 0);
    for (size_t i = 0; s && i < s->shard_count && n < cap; i++) {
        const sl_kshard_t *sh = s->shards[i];
        n += (size_t)snprintf(out + n, cap - n, "%u:%s-%s:%d:%d:%lld:%lld;", sh->index,
                              sh->start_dec, sh->end_dec, sh->parent, sh->adjacent_parent,
                              (long long)sh->created_ms, (long long)sh->closed_ms);
    }
    sl_kinesis_unlock(k);
}

static size_t open_count(sl_kinesis_t *k, const char *name) {
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kinesis_find(k, name, strlen(name), sl_time_now_ms());
    size_t n = s ? sl_kstream_open_shards(s) : 0;
    sl_kinesis_unlock(k);
    return n;
}

static sl_kstream_ref_t ref(const char *name) {
    return (sl_kstream_ref_t){.name = name, .name_len = strlen(name)};
}

static bool split(sl_kinesis_t *k, const char *name, const char *shard, const char *key,
                  sl_kerr_t *err) {
    sl_ksplit_t op = {.stream = ref(name),
                      .shard_id = shard,
                      .shard_id_len = strlen(shard),
                      .hash_key = key,
                      .hash_key_len = strlen(key),
                      .now_ms = sl_time_now_ms()};
    return sl_kinesis_split_shard(k, &op, err);
}

static bool merge(sl_kinesis_t *k, const char *name, const char *a, const char *b, sl_kerr_t *err) {
    sl_kmerge_t op = {.stream = ref(name),
                      .shard_id = a,
                      .shard_id_len = strlen(a),
                      .adjacent_id = b,
                      .adjacent_id_len = strlen(b),
                      .now_ms = sl_time_now_ms()};
    return sl_kinesis_merge_shards(k, &op, err);
}

static bool scale(sl_kinesis_t *k, const char *name, int64_t target, sl_kerr_t *err) {
    sl_kscale_t op = {.stream = ref(name), .target = target, .now_ms = sl_time_now_ms()};
    bool ok = sl_kinesis_update_shard_count(k, &op, err);
    if (ok) {
        CHECK_EQ_STR(op.stream_name, name);
        CHECK(strstr(op.stream_arn, name) != NULL);
    }
    return ok;
}

/* The open shards are the even split of `target`, and every shard's parents exist, are closed and
 * cover exactly its range. */
static void check_shape(sl_kinesis_t *k, const char *name, int target) {
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kinesis_find(k, name, strlen(name), sl_time_now_ms());
    CHECK_EQ_INT(s->open_count, target);
    for (int i = 0; i < target && (size_t)i < s->open_count; i++) {
        sl_u128_t a, b;
        sl_hashkey_split_even(target, i, &a, &b);
        CHECK(s->open_shards[i]->start == a);
        CHECK(s->open_shards[i]->end == b);
    }
    for (size_t i = 0; i < s->shard_count; i++) {
        const sl_kshard_t *sh = s->shards[i];
        if (sh->parent < 0) continue;
        const sl_kshard_t *p = sl_kstream_shard(s, (uint32_t)sh->parent);
        const sl_kshard_t *q =
            sh->adjacent_parent >= 0 ? sl_kstream_shard(s, (uint32_t)sh->adjacent_parent) : NULL;
        CHECK(p != NULL && p->closed_ms != 0);
        if (!p) continue;
        CHECK(sh->created_ms > p->created_ms && sh->created_ms % 1000 == 0);
        if (q) {
            CHECK(q->closed_ms != 0);
            CHECK(p->end + 1 == q->start);
            CHECK(sh->start == p->start && sh->end == q->end);
        } else {
            CHECK(sh->start >= p->start && sh->end <= p->end);
        }
    }
    sl_kinesis_unlock(k);
}

/* Puts records with many partition keys and reads every one back from the shards they went to. */
static void check_stream_works(sl_kinesis_t *k, const char *name) {
    enum { N = 32 };
    sl_arena_t arena_storage, *arena = &arena_storage;
    sl_arena_init(arena, 1 << 16);
    sl_krecord_t recs[N];
    char pks[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(pks[i], sizeof pks[i], "pk-%d", i);
        recs[i] = kutil_record(pks[i], "data");
    }
    sl_kput_t op;
    kutil_put(k, arena, name, recs, N, false, &op);
    CHECK(op.err.type == SL_KERR_NONE);
    CHECK_EQ_INT(op.failed, 0);
    size_t read = 0;
    for (size_t g = 0; g < op.group_count; g++) {
        sl_kiterator_t it;
        sl_kstart_t at = {.type = SL_KSTART_AT_SEQUENCE_NUMBER};
        char seq[64];
        sl_seqnum_t sn = sl_kinesis_seqnum(op.groups[g].shard_created_ms, op.groups[g].shard_index,
                                           op.groups[g].first_seq, op.groups[g].arrival_ms);
        sl_seqnum_format(&sn, seq);
        at.sequence_number = seq;
        at.sequence_number_len = strlen(seq);
        kutil_iterator(k, name, op.groups[g].shard_id, at, &it);
        CHECK(it.err.type == SL_KERR_NONE);
        sl_kread_t rd;
        kutil_read(k, &it.reader, 1000, 1 << 20, &rd);
        CHECK(rd.err.type == SL_KERR_NONE);
        CHECK_EQ_INT(rd.count, op.groups[g].count);
        read += rd.count;
        sl_kread_release(&rd);
    }
    CHECK_EQ_INT(read, N);
    sl_arena_deinit(arena);
}

static void test_split_merge(sl_kinesis_t *k) {
    kutil_stream(k, "sm", 1);
    sl_kerr_t err;
    const char *half = "170141183460469231731687303715884105728"; /* 2^127 */
    CHECK(split(k, "sm", "shardId-000000000000", half, &err));
    char d[4096];
    dump(k, "sm", d, sizeof d);
    CHECK(strstr(d, "next=3;") == d);
    CHECK(strstr(d, "1:0-170141183460469231731687303715884105727:0:-1:") != NULL);
    CHECK(strstr(d, "2:170141183460469231731687303715884105728-"
                    "340282366920938463463374607431768211455:0:-1:") != NULL);
    CHECK(strstr(d, ":0;1:") == NULL); /* shard 0 is closed */
    CHECK_EQ_INT(open_count(k, "sm"), 2);
    check_shape(k, "sm", 2);

    /* errors, with AWS's texts */
    CHECK(!split(k, "sm", "shardId-000000000000", half, &err));
    CHECK(err.type == SL_KERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "has already been merged or split") != NULL);
    CHECK(!split(k, "sm", "shardId-000000000001", "1", &err));
    CHECK(err.type == SL_KERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "NewStartingHashKey 1 used in SplitShard()") != NULL);
    CHECK(!split(k, "sm", "shardId-000000000099", "5", &err));
    CHECK(err.type == SL_KERR_RESOURCE_NOT_FOUND);
    CHECK_EQ_STR(err.message, "Could not find shard shardId-000000000099 in stream sm under "
                              "account 123456789012.");
    CHECK(!split(k, "sm", "bogus", "5", &err));
    CHECK_EQ_STR(err.message, "Could not find shard bogus in stream sm under account "
                              "123456789012.");
    CHECK(!split(k, "nope", "shardId-000000000001", "5", &err));
    CHECK(err.type == SL_KERR_RESOURCE_NOT_FOUND);
    CHECK(!merge(k, "sm", "shardId-000000000002", "shardId-000000000001", &err));
    CHECK(err.type == SL_KERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "are not an adjacent pair of shards") != NULL);
    dump(k, "sm", d, sizeof d);
    CHECK(strstr(d, "next=3") == d);

    CHECK(merge(k, "sm", "shardId-000000000001", "2", &err));
    dump(k, "sm", d, sizeof d);
    CHECK(strstr(d, "3:0-340282366920938463463374607431768211455:1:2:") != NULL);
    check_shape(k, "sm", 1);
    check_stream_works(k, "sm");
}

static void test_update_shard_count(sl_kinesis_t *k) {
    kutil_stream(k, "scale", 2);
    sl_kerr_t err;
    /* 2 -> 3 splits both shards and merges two of the new children at once */
    CHECK(scale(k, "scale", 3, &err));
    check_shape(k, "scale", 3);
    CHECK(scale(k, "scale", 6, &err));
    check_shape(k, "scale", 6);
    CHECK(scale(k, "scale", 3, &err));
    check_shape(k, "scale", 3);
    CHECK(scale(k, "scale", 5, &err));
    check_shape(k, "scale", 5);
    CHECK(scale(k, "scale", 5, &err)); /* no change */
    check_shape(k, "scale", 5);
    CHECK(!scale(k, "scale", 11, &err));
    CHECK(err.type == SL_KERR_LIMIT_EXCEEDED);
    CHECK(strstr(err.message, "Current open shard count: 5 Target shard count: 11") != NULL);
    CHECK(!scale(k, "scale", 2, &err));
    CHECK(err.type == SL_KERR_LIMIT_EXCEEDED);
    check_stream_works(k, "scale");
}

/* Runs `op` with the Nth catalog write failing, for N = 1, 2, ... until it succeeds: each failure
 * must leave memory and (after a reopen) the catalog as they were. */
static void fail_each_write(kutil_engine_t *e, const char *dir, const char *name,
                            bool (*op)(sl_kinesis_t *k, const char *name, sl_kerr_t *err)) {
    char before[8192], after[8192], reopened[8192];
    dump(e->k, name, before, sizeof before);
    long nth = 1;
    for (; nth < 64; nth++) {
        sl_fault_catalog_install(e->catalog);
        sl_fault_catalog_arm(nth, SL_EIO, false);
        sl_kerr_t err;
        bool ok = op(e->k, name, &err);
        long failed = sl_fault_catalog_failed();
        sl_fault_catalog_disarm();
        sl_fault_catalog_remove(e->catalog);
        if (ok) {
            CHECK_EQ_INT(failed, 0);
            break;
        }
        CHECK_EQ_INT(failed, 1);
        CHECK(err.type == SL_KERR_INTERNAL && err.cause == SL_EIO);
        dump(e->k, name, after, sizeof after);
        CHECK_EQ_STR(after, before);
        check_stream_works(e->k, name);
        kutil_close(e);
        kutil_open(e, dir, false);
        dump(e->k, name, reopened, sizeof reopened);
        CHECK_EQ_STR(reopened, before);
    }
    CHECK(nth > 2); /* the operation wrote several rows, each of which was made to fail */
    dump(e->k, name, after, sizeof after);
    CHECK(strcmp(after, before) != 0);
    kutil_close(e);
    kutil_open(e, dir, false);
    dump(e->k, name, reopened, sizeof reopened);
    CHECK_EQ_STR(reopened, after);
    check_stream_works(e->k, name);
}

static bool op_split(sl_kinesis_t *k, const char *name, sl_kerr_t *err) {
    return split(k, name, "shardId-000000000000", "1000", err);
}
static bool op_merge(sl_kinesis_t *k, const char *name, sl_kerr_t *err) {
    return merge(k, name, "shardId-000000000002", "shardId-000000000003", err);
}
static bool op_scale_up(sl_kinesis_t *k, const char *name, sl_kerr_t *err) {
    return scale(k, name, 6, err);
}
static bool op_scale_down(sl_kinesis_t *k, const char *name, sl_kerr_t *err) {
    return scale(k, name, 4, err);
}

static void test_failed_catalog_write(kutil_engine_t *e, const char *dir) {
    kutil_stream(e->k, "fault", 4);
    fail_each_write(e, dir, "fault", op_split);
    fail_each_write(e, dir, "fault", op_merge);
    fail_each_write(e, dir, "fault", op_scale_up);
    check_shape(e->k, "fault", 6);
    fail_each_write(e, dir, "fault", op_scale_down);
    check_shape(e->k, "fault", 4);
}

int main(void) {
    char *dir = kutil_tmpdir("reshard");
    kutil_engine_t e;
    kutil_open(&e, dir, false);
    test_split_merge(e.k);
    test_update_shard_count(e.k);
    test_failed_catalog_write(&e, dir);
    kutil_close(&e);
    kutil_rm_rf(dir);
    free(dir);
    TEST_MAIN_END();
}
