/* The catalog on a real SQLite file in a temporary directory: insert/update/delete/load, reopen,
 * cascading deletes, uniqueness, transactions, concurrent writers, a child process that dies
 * without closing, a corrupt file and a schema newer than this build. */
#include "catalog/catalog.h"
#include "core/common.h"
#include "test.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Load output rendered as text, one line per row, so whole states compare with one CHECK. */
typedef struct {
    char text[131072];
    size_t len;
    bool overflow;
    int streams, shards, consumers, tags, policies;
} dump_t;

#define APPEND(d, ...)                                                                             \
    do {                                                                                           \
        int _n = snprintf((d)->text + (d)->len, sizeof(d)->text - (d)->len, __VA_ARGS__);          \
        if (_n > 0) (d)->len += (size_t)_n;                                                        \
        if ((d)->len >= sizeof(d)->text) (d)->len = sizeof(d)->text - 1, (d)->overflow = true;     \
    } while (0)

#define S(x) ((x) ? (x) : "NULL")

static void on_stream(void *arg, const sl_cat_stream_t *s) {
    dump_t *d = arg;
    d->streams++;
    APPEND(d, "stream %lld %s/%s/%s %s %s %s %lld %lld %d %d %s %s %s %lld %d\n", (long long)s->id,
           s->account, s->region, s->name, s->arn, s->status, s->mode, (long long)s->created_ms,
           (long long)s->status_until_ms, s->retention_hours, s->max_record_size_kib,
           S(s->encryption_type), S(s->key_id), S(s->shard_level_metrics),
           (long long)s->warm_throughput_mibps, s->next_shard_index);
}

static void on_shard(void *arg, const sl_cat_shard_t *s) {
    dump_t *d = arg;
    d->shards++;
    APPEND(d, "shard %lld %d %s %s %s %s %lld %lld\n", (long long)s->stream_id, s->shard_index,
           S(s->parent_shard_id), S(s->adjacent_parent_shard_id), s->starting_hash_key,
           s->ending_hash_key, (long long)s->created_ms, (long long)s->closed_ms);
}

static void on_consumer(void *arg, const sl_cat_consumer_t *k) {
    dump_t *d = arg;
    d->consumers++;
    APPEND(d, "consumer %lld %s %s %s %lld %lld\n", (long long)k->stream_id, k->name, k->arn,
           k->status, (long long)k->created_ms, (long long)k->status_until_ms);
}

static void on_tag(void *arg, const char *arn, const char *key, const char *value) {
    dump_t *d = arg;
    d->tags++;
    APPEND(d, "tag %s %s=%s\n", arn, key, value);
}

static void on_policy(void *arg, const char *arn, const char *policy) {
    dump_t *d = arg;
    d->policies++;
    APPEND(d, "policy %s %s\n", arn, policy);
}

static const sl_catalog_visitor_t visitor = {.stream = on_stream,
                                             .shard = on_shard,
                                             .consumer = on_consumer,
                                             .tag = on_tag,
                                             .policy = on_policy};

static void dump(sl_catalog_t *c, dump_t *d) {
    memset(d, 0, sizeof *d);
    CHECK_EQ_INT(sl_catalog_load(c, &visitor, d), 0);
    CHECK(!d->overflow);
}

static char dir[] = "/tmp/sl_test_catalog_XXXXXX";
static char path[256];

static sl_cat_stream_t make_stream(const char *name, const char *arn) {
    sl_cat_stream_t s = {
        .account = "000000000000",
        .region = "us-east-1",
        .name = name,
        .arn = arn,
        .status = "CREATING",
        .mode = "PROVISIONED",
        .created_ms = 1700000000000,
        .status_until_ms = 1700000000500,
        .retention_hours = 24,
        .max_record_size_kib = 1024,
        .encryption_type = "NONE",
        .key_id = NULL,
        .shard_level_metrics = "",
        .warm_throughput_mibps = -1,
        .next_shard_index = 2,
    };
    return s;
}

#define ARN_A "arn:aws:kinesis:us-east-1:000000000000:stream/a"
#define ARN_B "arn:aws:kinesis:us-east-1:000000000000:stream/b"
#define ARN_A_C1 ARN_A "/consumer/c1:1700000001"
#define ARN_A_C2 ARN_A "/consumer/c2:1700000002"

static void basic(void) {
    sl_catalog_t *c = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(path, &c), 0);
    if (!c) return;

    sl_cat_stream_t a = make_stream("a", ARN_A);
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &a), 0);
    CHECK(a.id > 0);
    sl_cat_stream_t dup = make_stream("a", "arn:other");
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &dup), SL_EEXIST);
    sl_cat_stream_t dup_arn = make_stream("other", ARN_A);
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &dup_arn), SL_EEXIST);
    sl_cat_stream_t other_region =
        make_stream("a", "arn:aws:kinesis:eu-west-1:000000000000:stream/a");
    other_region.region = "eu-west-1";
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &other_region), 0);
    sl_cat_stream_t missing = make_stream("m", "arn:m");
    missing.status = NULL;
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &missing), SL_EINVAL);

    sl_cat_stream_t b = make_stream("b", ARN_B);
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &b), 0);
    CHECK(b.id > other_region.id && other_region.id > a.id);

    a.status = "ACTIVE";
    a.encryption_type = "KMS";
    a.key_id = "alias/aws/kinesis";
    a.shard_level_metrics = "IncomingBytes,OutgoingBytes";
    a.next_shard_index = 3;
    a.warm_throughput_mibps = 100;
    CHECK_EQ_INT(sl_catalog_stream_update(c, &a), 0);
    sl_cat_stream_t ghost = make_stream("ghost", "arn:ghost");
    ghost.id = 9999;
    CHECK_EQ_INT(sl_catalog_stream_update(c, &ghost), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_catalog_stream_delete(c, 9999), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_catalog_stream_delete(c, other_region.id), 0);

    sl_cat_shard_t sh = {.stream_id = a.id,
                         .shard_index = 0,
                         .starting_hash_key = "0",
                         .ending_hash_key = "170141183460469231731687303715884105727",
                         .created_ms = 1700000000000};
    CHECK_EQ_INT(sl_catalog_shard_put(c, &sh), 0);
    sh.shard_index = 1;
    sh.starting_hash_key = "170141183460469231731687303715884105728";
    sh.ending_hash_key = "340282366920938463463374607431768211455";
    CHECK_EQ_INT(sl_catalog_shard_put(c, &sh), 0);
    sh.closed_ms = 1700000100000; /* upsert closes shard 1 */
    CHECK_EQ_INT(sl_catalog_shard_put(c, &sh), 0);
    sl_cat_shard_t child = {.stream_id = a.id,
                            .shard_index = 2,
                            .parent_shard_id = "shardId-000000000001",
                            .adjacent_parent_shard_id = NULL,
                            .starting_hash_key = "170141183460469231731687303715884105728",
                            .ending_hash_key = "340282366920938463463374607431768211455",
                            .created_ms = 1700000101000};
    CHECK_EQ_INT(sl_catalog_shard_put(c, &child), 0);
    sl_cat_shard_t bshard = {.stream_id = b.id,
                             .shard_index = 0,
                             .starting_hash_key = "0",
                             .ending_hash_key = "340282366920938463463374607431768211455",
                             .created_ms = 5};
    CHECK_EQ_INT(sl_catalog_shard_put(c, &bshard), 0);
    sl_cat_shard_t orphan = bshard;
    orphan.stream_id = 9999;
    CHECK_EQ_INT(sl_catalog_shard_put(c, &orphan), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_catalog_shard_delete(c, b.id, 7), SL_ENOTFOUND);

    sl_cat_consumer_t k1 = {.stream_id = a.id,
                            .name = "c1",
                            .arn = ARN_A_C1,
                            .status = "CREATING",
                            .created_ms = 1700000001000,
                            .status_until_ms = 1700000001500};
    sl_cat_consumer_t k2 = {.stream_id = a.id,
                            .name = "c2",
                            .arn = ARN_A_C2,
                            .status = "ACTIVE",
                            .created_ms = 1700000002000};
    CHECK_EQ_INT(sl_catalog_consumer_put(c, &k1), 0);
    CHECK_EQ_INT(sl_catalog_consumer_put(c, &k2), 0);
    k1.status = "ACTIVE";
    CHECK_EQ_INT(sl_catalog_consumer_put(c, &k1), 0);
    sl_cat_consumer_t korphan = k1;
    korphan.arn = "arn:x";
    korphan.stream_id = 9999;
    CHECK_EQ_INT(sl_catalog_consumer_put(c, &korphan), SL_ENOTFOUND);

    CHECK_EQ_INT(sl_catalog_tag_put(c, ARN_A, "env", "dev"), 0);
    CHECK_EQ_INT(sl_catalog_tag_put(c, ARN_A, "env", "prod"), 0);
    CHECK_EQ_INT(sl_catalog_tag_put(c, ARN_A, "team", ""), 0);
    CHECK_EQ_INT(sl_catalog_tag_put(c, ARN_A_C1, "k", "v"), 0);
    CHECK_EQ_INT(sl_catalog_tag_put(c, ARN_A_C2, "k2", "v2"), 0);
    CHECK_EQ_INT(sl_catalog_tag_put(c, ARN_B, "owner", "me"), 0);
    CHECK_EQ_INT(sl_catalog_tag_delete(c, ARN_B, "nope"), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_catalog_policy_put(c, ARN_A, "{\"Version\":\"2012-10-17\"}"), 0);
    CHECK_EQ_INT(sl_catalog_policy_put(c, ARN_A_C1, "{}"), 0);
    CHECK_EQ_INT(sl_catalog_policy_put(c, ARN_B, "{\"b\":1}"), 0);
    CHECK_EQ_INT(sl_catalog_policy_delete(c, "arn:none"), SL_ENOTFOUND);

    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 7);
    CHECK_EQ_INT(sl_catalog_setting_put(c, "token_key", key, sizeof key), 0);
    CHECK_EQ_INT(sl_catalog_setting_put(c, "empty", NULL, 0), 0);

    dump_t d1;
    dump(c, &d1);
    char expected[4096];
    snprintf(expected, sizeof expected,
             "stream %lld 000000000000/us-east-1/a " ARN_A
             " ACTIVE PROVISIONED 1700000000000 1700000000500 24 1024 KMS alias/aws/kinesis "
             "IncomingBytes,OutgoingBytes 100 3\n"
             "stream %lld 000000000000/us-east-1/b " ARN_B
             " CREATING PROVISIONED 1700000000000 1700000000500 24 1024 NONE NULL  -1 2\n"
             "shard %lld 0 NULL NULL 0 170141183460469231731687303715884105727 1700000000000 0\n"
             "shard %lld 1 NULL NULL 170141183460469231731687303715884105728 "
             "340282366920938463463374607431768211455 1700000000000 1700000100000\n"
             "shard %lld 2 shardId-000000000001 NULL 170141183460469231731687303715884105728 "
             "340282366920938463463374607431768211455 1700000101000 0\n"
             "shard %lld 0 NULL NULL 0 340282366920938463463374607431768211455 5 0\n"
             "consumer %lld c1 " ARN_A_C1 " ACTIVE 1700000001000 1700000001500\n"
             "consumer %lld c2 " ARN_A_C2 " ACTIVE 1700000002000 0\n"
             "tag " ARN_A " env=prod\n"
             "tag " ARN_A " team=\n"
             "tag " ARN_A_C1 " k=v\n"
             "tag " ARN_A_C2 " k2=v2\n"
             "tag " ARN_B " owner=me\n"
             "policy " ARN_A " {\"Version\":\"2012-10-17\"}\n"
             "policy " ARN_A_C1 " {}\n"
             "policy " ARN_B " {\"b\":1}\n",
             (long long)a.id, (long long)b.id, (long long)a.id, (long long)a.id, (long long)a.id,
             (long long)b.id, (long long)a.id, (long long)a.id);
    CHECK_EQ_STR(d1.text, expected);

    /* Partial visitors. */
    dump_t only;
    memset(&only, 0, sizeof only);
    sl_catalog_visitor_t v2 = {.tag = on_tag};
    CHECK_EQ_INT(sl_catalog_load(c, &v2, &only), 0);
    CHECK_EQ_INT(only.tags, 5);
    CHECK_EQ_INT(only.streams, 0);
    sl_catalog_close(c);

    /* Reopen: the same state, and the settings. */
    c = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(path, &c), 0);
    if (!c) return;
    dump_t d2;
    dump(c, &d2);
    CHECK_EQ_STR(d2.text, d1.text);
    uint8_t got[64];
    size_t n = 0;
    CHECK_EQ_INT(sl_catalog_setting_get(c, "token_key", got, sizeof got, &n), 0);
    CHECK_EQ_INT(n, 32);
    CHECK(memcmp(got, key, 32) == 0);
    CHECK_EQ_INT(sl_catalog_setting_get(c, "token_key", got, 31, &n), SL_ELIMIT);
    CHECK_EQ_INT(n, 32);
    CHECK_EQ_INT(sl_catalog_setting_get(c, "empty", got, sizeof got, &n), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(sl_catalog_setting_get(c, "absent", got, sizeof got, &n), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_catalog_setting_delete(c, "empty"), 0);
    CHECK_EQ_INT(sl_catalog_setting_get(c, "empty", got, sizeof got, &n), SL_ENOTFOUND);

    /* Deleting a consumer takes its tags and policy. */
    CHECK_EQ_INT(sl_catalog_consumer_delete(c, ARN_A_C1), 0);
    CHECK_EQ_INT(sl_catalog_consumer_delete(c, ARN_A_C1), SL_ENOTFOUND);
    dump_t d3;
    dump(c, &d3);
    CHECK_EQ_INT(d3.consumers, 1);
    CHECK_EQ_INT(d3.tags, 4);
    CHECK_EQ_INT(d3.policies, 2);
    CHECK(strstr(d3.text, ARN_A_C1) == NULL);

    /* Deleting stream a cascades to its shards, consumers, and the tags/policies of its ARN and
     * its consumers' ARNs; stream b is untouched. */
    CHECK_EQ_INT(sl_catalog_stream_delete(c, a.id), 0);
    dump_t d4;
    dump(c, &d4);
    snprintf(expected, sizeof expected,
             "stream %lld 000000000000/us-east-1/b " ARN_B
             " CREATING PROVISIONED 1700000000000 1700000000500 24 1024 NONE NULL  -1 2\n"
             "shard %lld 0 NULL NULL 0 340282366920938463463374607431768211455 5 0\n"
             "tag " ARN_B " owner=me\n"
             "policy " ARN_B " {\"b\":1}\n",
             (long long)b.id, (long long)b.id);
    CHECK_EQ_STR(d4.text, expected);
    /* A recreated stream of the same name gets a fresh id (AUTOINCREMENT, never reused). */
    sl_cat_stream_t a2 = make_stream("a", ARN_A);
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &a2), 0);
    CHECK(a2.id > b.id);
    CHECK_EQ_INT(sl_catalog_shard_delete(c, b.id, 0), 0);
    CHECK_EQ_INT(sl_catalog_tag_delete(c, ARN_B, "owner"), 0);
    CHECK_EQ_INT(sl_catalog_policy_delete(c, ARN_B), 0);
    sl_catalog_close(c);
}

static void transactions(void) {
    sl_catalog_t *c = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(path, &c), 0);
    if (!c) return;
    dump_t before, after;
    dump(c, &before);

    CHECK_EQ_INT(sl_catalog_commit(c), SL_EINVAL);
    CHECK_EQ_INT(sl_catalog_rollback(c), SL_EINVAL);
    CHECK_EQ_INT(sl_catalog_begin(c), 0);
    CHECK_EQ_INT(sl_catalog_begin(c), SL_EINVAL);
    sl_cat_stream_t t = make_stream("t", "arn:t");
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &t), 0);
    CHECK_EQ_INT(sl_catalog_tag_put(c, "arn:t", "k", "v"), 0);
    CHECK_EQ_INT(sl_catalog_rollback(c), 0);
    dump(c, &after);
    CHECK_EQ_STR(after.text, before.text);

    /* A failing operation inside a group rolls back only itself. */
    CHECK_EQ_INT(sl_catalog_begin(c), 0);
    t = make_stream("t", "arn:t");
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &t), 0);
    CHECK_EQ_INT(sl_catalog_consumer_delete(c, "arn:nope"), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_catalog_tag_put(c, "arn:t", "k", "v"), 0);
    CHECK_EQ_INT(sl_catalog_commit(c), 0);
    dump(c, &after);
    CHECK_EQ_INT(after.streams, before.streams + 1);
    CHECK_EQ_INT(after.tags, before.tags + 1);
    CHECK_EQ_INT(sl_catalog_stream_delete(c, t.id), 0);
    dump(c, &after);
    CHECK_EQ_STR(after.text, before.text);
    sl_catalog_close(c);
}

typedef struct {
    sl_catalog_t *c;
    int thread;
    int failures;
} worker_t;

#define WORKER_STREAMS 40

static void *worker(void *p) {
    worker_t *w = p;
    for (int i = 0; i < WORKER_STREAMS; i++) {
        char name[64], arn[128];
        snprintf(name, sizeof name, "w%d-%d", w->thread, i);
        snprintf(arn, sizeof arn, "arn:w:%s", name);
        bool group = (i % 2) == 0;
        if (group && sl_catalog_begin(w->c) != 0) w->failures++;
        sl_cat_stream_t s = make_stream(name, arn);
        if (sl_catalog_stream_insert(w->c, &s) != 0) w->failures++;
        sl_cat_shard_t sh = {.stream_id = s.id,
                             .shard_index = 0,
                             .starting_hash_key = "0",
                             .ending_hash_key = "1",
                             .created_ms = 1};
        if (sl_catalog_shard_put(w->c, &sh) != 0) w->failures++;
        if (sl_catalog_tag_put(w->c, arn, "t", name) != 0) w->failures++;
        if (group && sl_catalog_commit(w->c) != 0) w->failures++;
    }
    return NULL;
}

static void threads(void) {
    sl_catalog_t *c = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(path, &c), 0);
    if (!c) return;
    dump_t before, after;
    dump(c, &before);
    worker_t w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_t){.c = c, .thread = i};
        CHECK_EQ_INT(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(w[i].failures, 0);
    }
    dump(c, &after);
    CHECK_EQ_INT(after.streams, before.streams + 4 * WORKER_STREAMS);
    CHECK_EQ_INT(after.shards, before.shards + 4 * WORKER_STREAMS);
    CHECK_EQ_INT(after.tags, before.tags + 4 * WORKER_STREAMS);
    sl_catalog_close(c);
}

/* A process that commits and then dies without closing: the change is there after reopening. */
static void crash(void) {
    pid_t pid = fork();
    if (pid == 0) {
        sl_catalog_t *c = NULL;
        if (sl_catalog_open_sqlite(path, &c) != 0) _exit(2);
        sl_cat_stream_t s = make_stream("crash", "arn:crash");
        if (sl_catalog_stream_insert(c, &s) != 0) _exit(3);
        if (sl_catalog_tag_put(c, "arn:crash", "k", "survives") != 0) _exit(4);
        _exit(0); /* no close, no checkpoint */
    }
    CHECK(pid > 0);
    int status = 0;
    CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    sl_catalog_t *c = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(path, &c), 0);
    if (!c) return;
    dump_t d;
    dump(c, &d);
    /* The WAL index is in the heap: no memory-mapped -shm file, whose pages SIGBUS on a full disk
     * (the recovery of the crashed child's WAL above ran without one too). */
    char shm[300];
    snprintf(shm, sizeof shm, "%s-shm", path);
    CHECK(access(shm, F_OK) != 0);
    CHECK(strstr(d.text, "tag arn:crash k=survives\n") != NULL);
    CHECK(strstr(d.text, "/crash arn:crash CREATING") != NULL);
    sl_catalog_close(c);

    /* The journal is WAL. */
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK_EQ_INT(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_EQ_STR((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void bad_files(void) {
    /* Not a database. */
    char junk[300];
    snprintf(junk, sizeof junk, "%s/junk.db", dir);
    FILE *f = fopen(junk, "wb");
    CHECK(f != NULL);
    if (f) {
        for (int i = 0; i < 4096; i++)
            fputc('x', f);
        fclose(f);
    }
    sl_catalog_t *c = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(junk, &c), SL_ECORRUPT);
    CHECK(c == NULL);

    /* A schema newer than this build is refused, not "migrated". */
    char newer[300];
    snprintf(newer, sizeof newer, "%s/newer.db", dir);
    CHECK_EQ_INT(sl_catalog_open_sqlite(newer, &c), 0);
    sl_catalog_close(c);
    c = NULL;
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(newer, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db, "UPDATE schema_version SET version = 999", NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    CHECK_EQ_INT(sl_catalog_open_sqlite(newer, &c), SL_ECORRUPT);
    CHECK(c == NULL);

    /* A directory that does not exist. */
    CHECK(sl_catalog_open_sqlite("/nonexistent-dir-sl/x/catalog.db", &c) < 0);
    CHECK(c == NULL);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    basic();
    transactions();
    threads();
    crash();
    bad_files();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    TEST_MAIN_END();
}
