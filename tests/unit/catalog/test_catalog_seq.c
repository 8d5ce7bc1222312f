/* The catalog's schema version 2: per-shard sequence reservations (seq_reserved, seq_written),
 * the migration of a version 1 file, streams inserted with their original id (repair), the online
 * backup and the read-only verification used by `sluice check`. */
#include "catalog/catalog.h"
#include "core/common.h"
#include "test.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/sl_test_catalog_seq_XXXXXX";

typedef struct {
    int shards;
    int64_t reserved[4], written[4];
    int64_t stream_ids[4];
    int streams;
} seen_t;

static void on_stream(void *arg, const sl_cat_stream_t *s) {
    seen_t *d = arg;
    if (d->streams < 4) d->stream_ids[d->streams] = s->id;
    d->streams++;
}

static void on_shard(void *arg, const sl_cat_shard_t *s) {
    seen_t *d = arg;
    if (d->shards < 4) {
        d->reserved[d->shards] = s->seq_reserved;
        d->written[d->shards] = s->seq_written;
    }
    d->shards++;
}

static seen_t load(sl_catalog_t *c) {
    seen_t d = {0};
    sl_catalog_visitor_t v = {.stream = on_stream, .shard = on_shard};
    CHECK_EQ_INT(sl_catalog_load(c, &v, &d), 0);
    return d;
}

static sl_cat_stream_t make_stream(const char *name, const char *arn) {
    return (sl_cat_stream_t){.account = "000000000000",
                             .region = "us-east-1",
                             .name = name,
                             .arn = arn,
                             .status = "ACTIVE",
                             .mode = "PROVISIONED",
                             .created_ms = 1700000000000,
                             .retention_hours = 24,
                             .max_record_size_kib = 1024,
                             .warm_throughput_mibps = -1,
                             .next_shard_index = 1};
}

static sl_cat_shard_t make_shard(int64_t stream_id, int64_t reserved, int64_t written) {
    return (sl_cat_shard_t){.stream_id = stream_id,
                            .shard_index = 0,
                            .starting_hash_key = "0",
                            .ending_hash_key = "340282366920938463463374607431768211455",
                            .created_ms = 1700000000000,
                            .seq_reserved = reserved,
                            .seq_written = written};
}

static void reservations(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/seq.db", dir);
    sl_catalog_t *c = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(path, &c), 0);
    if (!c) return;
    sl_cat_stream_t s = make_stream("a", "arn:a");
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &s), 0);
    sl_cat_shard_t sh = make_shard(s.id, 1 + (1 << 20), 1);
    CHECK_EQ_INT(sl_catalog_shard_put(c, &sh), 0);
    seen_t d = load(c);
    CHECK_EQ_INT(d.shards, 1);
    CHECK_EQ_INT(d.reserved[0], 1 + (1 << 20));
    CHECK_EQ_INT(d.written[0], 1);
    /* Raising through seq_set, then a put of the whole row with older values keeps the higher
     * bounds (a resharding save must never lower a reservation). */
    CHECK_EQ_INT(sl_catalog_shard_seq_set(c, s.id, 0, 5000000, 4000000), 0);
    sh.closed_ms = 1700000009000;
    CHECK_EQ_INT(sl_catalog_shard_put(c, &sh), 0);
    d = load(c);
    CHECK_EQ_INT(d.reserved[0], 5000000);
    CHECK_EQ_INT(d.written[0], 4000000);
    /* A clean shutdown lowers the reservation to the exact tip. */
    CHECK_EQ_INT(sl_catalog_shard_seq_set(c, s.id, 0, 4000123, 4000123), 0);
    d = load(c);
    CHECK_EQ_INT(d.reserved[0], 4000123);
    CHECK_EQ_INT(sl_catalog_shard_seq_set(c, s.id, 7, 1, 1), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_catalog_shard_seq_set(c, s.id, 0, -1, 1), SL_EINVAL);

    /* A stream inserted with its original id keeps it; the next automatic id is above it. */
    sl_cat_stream_t r = make_stream("restored", "arn:restored");
    r.id = 42;
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &r), 0);
    CHECK_EQ_INT(r.id, 42);
    sl_cat_stream_t n = make_stream("next", "arn:next");
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &n), 0);
    CHECK_EQ_INT(n.id, 43);
    sl_cat_stream_t dup = make_stream("other", "arn:other");
    dup.id = 42;
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &dup), SL_EEXIST);

    /* The backup is a consistent copy that opens as a catalog. */
    char bak[320];
    snprintf(bak, sizeof bak, "%s/seq.db.bak", dir);
    CHECK_EQ_INT(sl_catalog_backup(c, bak), 0);
    sl_catalog_close(c);
    c = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(bak, &c), 0);
    if (c) {
        d = load(c);
        CHECK_EQ_INT(d.streams, 3);
        CHECK_EQ_INT(d.shards, 1);
        CHECK_EQ_INT(d.reserved[0], 4000123);
        sl_catalog_close(c);
    }
}

/* A file written by a version 1 build (no reservation columns) opens, migrates, keeps its rows and
 * reads 0 ("unknown") for the new columns. */
static void migration(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/v1.db", dir);
    sl_catalog_t *c = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(path, &c), 0);
    if (!c) return;
    sl_cat_stream_t s = make_stream("old", "arn:old");
    CHECK_EQ_INT(sl_catalog_stream_insert(c, &s), 0);
    sl_cat_shard_t sh = make_shard(s.id, 0, 0);
    CHECK_EQ_INT(sl_catalog_shard_put(c, &sh), 0);
    sl_catalog_close(c);
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(
        sqlite3_exec(db,
                     "ALTER TABLE shards DROP COLUMN seq_reserved; ALTER TABLE shards DROP COLUMN "
                     "seq_written; UPDATE schema_version SET version = 1",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    sl_catalog_verify_t v;
    CHECK_EQ_INT(sl_catalog_sqlite_verify(path, &v), 0);
    CHECK_EQ_INT(v.schema_version, 1);
    CHECK(v.schema_ok && v.integrity_ok && v.opened);
    c = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(path, &c), 0);
    if (!c) return;
    seen_t d = load(c);
    CHECK_EQ_INT(d.streams, 1);
    CHECK_EQ_INT(d.shards, 1);
    CHECK_EQ_INT(d.reserved[0], 0);
    CHECK_EQ_INT(d.written[0], 0);
    CHECK_EQ_INT(sl_catalog_shard_seq_set(c, s.id, 0, 100, 50), 0);
    d = load(c);
    CHECK_EQ_INT(d.reserved[0], 100);
    sl_catalog_close(c);
    CHECK_EQ_INT(sl_catalog_sqlite_verify(path, &v), 0);
    CHECK_EQ_INT(v.schema_version, sl_catalog_sqlite_schema_version());
}

static void verification(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/verify.db", dir);
    sl_catalog_verify_t v;
    CHECK_EQ_INT(sl_catalog_sqlite_verify(path, &v), SL_ENOTFOUND);
    sl_catalog_t *c = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(path, &c), 0);
    for (int i = 0; c && i < 200; i++) {
        char name[32], arn[64];
        snprintf(name, sizeof name, "s%d", i);
        snprintf(arn, sizeof arn, "arn:s%d", i);
        sl_cat_stream_t s = make_stream(name, arn);
        CHECK_EQ_INT(sl_catalog_stream_insert(c, &s), 0);
    }
    sl_catalog_close(c);
    CHECK_EQ_INT(sl_catalog_sqlite_verify(path, &v), 0);
    CHECK(v.opened && v.integrity_ok && v.schema_ok);
    CHECK_EQ_STR(v.detail, "");

    /* Damage in the middle of the file (a table page): SQLite opens it, the check does not pass. */
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (f) {
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        CHECK(size > 8192);
        fseek(f, 4096, SEEK_SET);
        for (int i = 0; i < 4096; i++)
            fputc(0x5a, f);
        fclose(f);
    }
    CHECK_EQ_INT(sl_catalog_sqlite_verify(path, &v), 0);
    CHECK(!v.integrity_ok);
    CHECK(v.detail[0] != 0);

    /* A destroyed header: not even opened. */
    f = fopen(path, "r+b");
    if (f) {
        for (int i = 0; i < 100; i++)
            fputc(0, f);
        fclose(f);
    }
    CHECK_EQ_INT(sl_catalog_sqlite_verify(path, &v), 0);
    CHECK(!v.opened);
    CHECK(!v.integrity_ok);
    c = NULL;
    CHECK(sl_catalog_open_sqlite(path, &c) < 0);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    reservations();
    migration();
    verification();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    TEST_MAIN_END();
}
