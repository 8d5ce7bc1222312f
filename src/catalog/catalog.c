/* The metadata store on SQLite: the one implementation of the catalog interface (catalog.h has
 * the contract). One connection guarded by a recursive mutex; every write is its own transaction
 * (autocommit, or a SAVEPOINT when it takes several statements) unless the caller groups writes
 * with sl_catalog_begin/commit. Durability: WAL journal with synchronous=FULL, so a committed
 * change is fsync'd. */
#include "catalog/catalog.h"

#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct sq_catalog {
    sl_catalog_t base;   /* first: the interface (catalog.h) */
    sqlite3 *db;         /* owned; used only under mu */
    pthread_mutex_t mu;  /* recursive: begin holds it until commit/rollback */
    bool in_txn;         /* a caller's begin is open */
    pthread_t txn_owner; /* the thread that called begin */
} sq_catalog_t;

static sq_catalog_t *sq(sl_catalog_t *base) {
    SL_ASSERT(base);
    return (sq_catalog_t *)base;
}

/* Schema migrations: migrations[i] moves the schema from version i to i + 1. Append only. */
static const char *const migrations[] = {
    /* 0 -> 1: the first schema. */
    "CREATE TABLE settings ("
    "  key TEXT PRIMARY KEY,"
    "  value BLOB NOT NULL);"
    "CREATE TABLE streams ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  account TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  arn TEXT NOT NULL UNIQUE,"
    "  status TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  status_until_ms INTEGER NOT NULL,"
    "  retention_hours INTEGER NOT NULL,"
    "  max_record_size_kib INTEGER NOT NULL,"
    "  encryption_type TEXT,"
    "  key_id TEXT,"
    "  shard_level_metrics TEXT,"
    "  warm_throughput_mibps INTEGER NOT NULL,"
    "  next_shard_index INTEGER NOT NULL,"
    "  UNIQUE (account, region, name));"
    "CREATE TABLE shards ("
    "  stream_id INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,"
    "  shard_index INTEGER NOT NULL,"
    "  parent_shard_id TEXT,"
    "  adjacent_parent_shard_id TEXT,"
    "  starting_hash_key TEXT NOT NULL,"
    "  ending_hash_key TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  closed_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (stream_id, shard_index));"
    "CREATE TABLE consumers ("
    "  arn TEXT PRIMARY KEY,"
    "  stream_id INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  status_until_ms INTEGER NOT NULL);"
    "CREATE INDEX consumers_by_stream ON consumers(stream_id);"
    "CREATE TABLE tags ("
    "  arn TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (arn, key));"
    "CREATE TABLE policies ("
    "  arn TEXT PRIMARY KEY,"
    "  policy TEXT NOT NULL);",
    /* 1 -> 2: per-shard sequence reservations (docs/storage-format.md, "Sequence reservations").
     * Rows written by a version 1 build read 0: nothing known, nothing to continue above. */
    "ALTER TABLE shards ADD COLUMN seq_reserved INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE shards ADD COLUMN seq_written INTEGER NOT NULL DEFAULT 0;",
    /* 2 -> 3: IAM users, access keys (secrets wrapped by the master key) and inline user
     * policies (docs/security.md, "IAM"). */
    "CREATE TABLE IF NOT EXISTS iam_users ("
    "  name TEXT PRIMARY KEY,"
    "  user_id TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS iam_access_keys ("
    "  access_key_id TEXT PRIMARY KEY,"
    "  user_name TEXT NOT NULL REFERENCES iam_users(name),"
    "  status TEXT NOT NULL,"
    "  secret_wrapped BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS iam_user_policies ("
    "  user_name TEXT NOT NULL REFERENCES iam_users(name),"
    "  policy_name TEXT NOT NULL,"
    "  document TEXT NOT NULL,"
    "  PRIMARY KEY (user_name, policy_name));",
};
#define SCHEMA_VERSION ((int)SL_ARRAY_LEN(migrations))

/* Maps the connection's last SQLite error to an SL_E* code. */
static int map_err(sqlite3 *db, int rc) {
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return SL_EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return SL_ENOTFOUND;
    case SQLITE_CONSTRAINT_NOTNULL:
        return SL_EINVAL;
    default:
        break;
    }
    /* A read-only file system is named as such, not as an I/O error (SQLite reports it as
     * READONLY, or CANTOPEN when it cannot create the -wal/-shm files). */
    if ((rc & 0xff) == SQLITE_READONLY || (db && sqlite3_system_errno(db) == EROFS))
        return SL_EROFS;
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return SL_ENOSPC;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return SL_EAGAIN;
    case SQLITE_NOMEM:
        return SL_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return SL_ECORRUPT;
    case SQLITE_CONSTRAINT:
        return SL_EINVAL;
    default:
        return SL_EIO;
    }
}

static int fail_log(sq_catalog_t *c, int rc, const char *what) {
    int code = map_err(c->db, rc);
    if (code != SL_EEXIST && code != SL_ENOTFOUND)
        SL_WARN("catalog: %s: %s (sqlite %d)", what, sqlite3_errmsg(c->db),
                sqlite3_extended_errcode(c->db));
    return code;
}

static int exec_sql(sq_catalog_t *c, const char *sql) {
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail_log(c, rc, sql);
}

static int prep(sq_catalog_t *c, const char *sql, sqlite3_stmt **st) {
    int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return fail_log(c, rc, "prepare");
    }
    return 0;
}

/* Steps a statement that returns no rows to completion and finalizes it. */
static int run(sq_catalog_t *c, sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE ? 0 : fail_log(c, rc, sqlite3_sql(st));
    sqlite3_finalize(st);
    return out;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i) {
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return NULL;
    return (const char *)sqlite3_column_text(st, i);
}

static void lock(sq_catalog_t *c) {
    int rc = pthread_mutex_lock(&c->mu);
    SL_ASSERT(rc == 0);
}

static void unlock(sq_catalog_t *c) {
    int rc = pthread_mutex_unlock(&c->mu);
    SL_ASSERT(rc == 0);
}

/* A savepoint around one multi-statement operation: commits on its own outside a caller's
 * transaction, nests inside one. */
static int op_begin(sq_catalog_t *c) {
    return exec_sql(c, "SAVEPOINT sl_op");
}

static int op_end(sq_catalog_t *c, int rc) {
    if (rc == 0) {
        rc = exec_sql(c, "RELEASE sl_op");
        if (rc == 0) return 0;
    }
    /* ROLLBACK TO keeps the savepoint open; RELEASE then ends it. */
    sqlite3_exec(c->db, "ROLLBACK TO sl_op; RELEASE sl_op", NULL, NULL, NULL);
    return rc;
}

static int migrate(sq_catalog_t *c) {
    int rc = exec_sql(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    if (rc < 0) return rc;
    rc = exec_sql(c, "BEGIN IMMEDIATE");
    if (rc < 0) return rc;
    sqlite3_stmt *st = NULL;
    int version = -1;
    rc = prep(c, "SELECT version FROM schema_version", &st);
    if (rc < 0) goto fail;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        version = sqlite3_column_int(st, 0);
    } else if (step == SQLITE_DONE) {
        version = 0;
    } else {
        rc = fail_log(c, step, "read schema version");
        sqlite3_finalize(st);
        goto fail;
    }
    sqlite3_finalize(st);
    if (version < 0 || version > SCHEMA_VERSION) {
        SL_ERROR("catalog: schema version %d is not one this build knows (newest %d)", version,
                 SCHEMA_VERSION);
        rc = SL_ECORRUPT;
        goto fail;
    }
    if (version == SCHEMA_VERSION) return exec_sql(c, "COMMIT");
    for (int v = version; v < SCHEMA_VERSION; v++) {
        rc = exec_sql(c, migrations[v]);
        if (rc < 0) goto fail;
    }
    rc = exec_sql(c, "DELETE FROM schema_version");
    if (rc < 0) goto fail;
    rc = prep(c, "INSERT INTO schema_version (version) VALUES (?)", &st);
    if (rc < 0) goto fail;
    sqlite3_bind_int(st, 1, SCHEMA_VERSION);
    rc = run(c, st);
    if (rc < 0) goto fail;
    rc = exec_sql(c, "COMMIT");
    if (rc < 0) goto fail;
    if (version != SCHEMA_VERSION)
        SL_INFO("catalog: schema migrated from version %d to %d", version, SCHEMA_VERSION);
    return 0;
fail:
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static const sl_catalog_ops_t sq_ops;

int sl_catalog_open_sqlite(const char *path, sl_catalog_t **out) {
    *out = NULL;
    sq_catalog_t *c = calloc(1, sizeof *c);
    if (!c) return SL_ENOMEM;
    c->base.ops = &sq_ops;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    int prc = pthread_mutex_init(&c->mu, &attr);
    pthread_mutexattr_destroy(&attr);
    if (prc != 0) {
        free(c);
        return SL_ENOMEM;
    }
    /* Create the file private to the server's user (SQLite would make it 0644; its -wal and -shm
     * files get the database file's permissions). */
    int pfd = strcmp(path, ":memory:") != 0 ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
    if (pfd >= 0) close(pfd);
    if (pfd < 0 && errno == EROFS) {
        SL_ERROR("catalog: %s is on a read-only file system", path);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return SL_EROFS;
    }
    int rc = sqlite3_open_v2(
        path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = c->db ? fail_log(c, rc, path) : SL_ENOMEM;
        goto fail;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, SL_CATALOG_BUSY_TIMEOUT_MS);
    rc = exec_sql(c, "PRAGMA foreign_keys = ON");
    if (rc < 0) goto fail;

    /* One connection per file, held for the server's life: in exclusive locking mode SQLite keeps
     * the WAL index in the heap instead of a memory-mapped `-shm` file. A mapped file's pages get
     * their disk blocks only when first written through the mapping, and on a full disk that write
     * kills the process with SIGBUS instead of returning an error (seen at a start on a full disk).
     * It also keeps a second server off the same data directory. */
    rc = exec_sql(c, "PRAGMA locking_mode = EXCLUSIVE");
    if (rc < 0) goto fail;
    /* journal_mode answers with the mode in force; anything but WAL means we cannot keep our
     * durability promise (e.g. a read-only or in-memory database). */
    sqlite3_stmt *st = NULL;
    rc = prep(c, "PRAGMA journal_mode = WAL", &st);
    if (rc < 0) goto fail;
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW) {
        rc = fail_log(c, step, "journal_mode");
        sqlite3_finalize(st);
        goto fail;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    bool wal = mode && strcmp(mode, "wal") == 0;
    if (!wal) SL_ERROR("catalog: %s: journal mode is %s, not wal", path, mode ? mode : "?");
    sqlite3_finalize(st);
    if (!wal) {
        rc = SL_EIO;
        goto fail;
    }
    rc = exec_sql(c, "PRAGMA synchronous = FULL");
    if (rc < 0) goto fail;
    rc = migrate(c);
    if (rc < 0) goto fail;
    *out = &c->base;
    return 0;
fail:
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    free(c);
    return rc;
}

static void sq_close(sl_catalog_t *base) {
    sq_catalog_t *c = sq(base);
    if (c->in_txn) {
        SL_WARN("catalog: closed with a transaction open; rolling it back");
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    }
    int rc = sqlite3_close(c->db);
    if (rc != SQLITE_OK) SL_WARN("catalog: close: %s", sqlite3_errstr(rc));
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static bool owns_txn(sq_catalog_t *c) {
    return c->in_txn && pthread_equal(c->txn_owner, pthread_self());
}

static int sq_begin(sl_catalog_t *base) {
    sq_catalog_t *c = sq(base);
    lock(c);
    if (c->in_txn) { /* only this thread can see its own open transaction here */
        unlock(c);
        return SL_EINVAL;
    }
    int rc = exec_sql(c, "BEGIN IMMEDIATE");
    if (rc < 0) {
        unlock(c);
        return rc;
    }
    c->in_txn = true;
    c->txn_owner = pthread_self();
    SL_ASSERT(!sqlite3_get_autocommit(c->db)); /* BEGIN succeeded: SQLite holds a transaction */
    return 0;                                  /* the mutex stays held until commit or rollback */
}

static int txn_end(sq_catalog_t *c, bool commit) {
    lock(c);
    if (!owns_txn(c)) {
        unlock(c);
        return SL_EINVAL;
    }
    int rc = commit ? exec_sql(c, "COMMIT") : exec_sql(c, "ROLLBACK");
    /* A failed COMMIT may leave the transaction open: end it either way. */
    if (rc < 0 && !sqlite3_get_autocommit(c->db)) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    SL_ASSERT(rc < 0 || sqlite3_get_autocommit(c->db)); /* a successful end leaves none open */
    c->in_txn = false;
    unlock(c); /* this call */
    unlock(c); /* the begin */
    return rc;
}

static int sq_commit(sl_catalog_t *base) {
    sq_catalog_t *c = sq(base);
    return txn_end(c, true);
}

static int sq_rollback(sl_catalog_t *base) {
    sq_catalog_t *c = sq(base);
    return txn_end(c, false);
}

/* ---- streams ---- */

#define STREAM_COLS                                                                                \
    "account, region, name, arn, status, mode, created_ms, status_until_ms, retention_hours, "     \
    "max_record_size_kib, encryption_type, key_id, shard_level_metrics, warm_throughput_mibps, "   \
    "next_shard_index"

static bool stream_valid(const sl_cat_stream_t *s) {
    return s->account && s->region && s->name && s->arn && s->status && s->mode;
}

/* Binds the STREAM_COLS columns to parameters 1..15. */
static void bind_stream(sqlite3_stmt *st, const sl_cat_stream_t *s) {
    bind_text(st, 1, s->account);
    bind_text(st, 2, s->region);
    bind_text(st, 3, s->name);
    bind_text(st, 4, s->arn);
    bind_text(st, 5, s->status);
    bind_text(st, 6, s->mode);
    sqlite3_bind_int64(st, 7, s->created_ms);
    sqlite3_bind_int64(st, 8, s->status_until_ms);
    sqlite3_bind_int(st, 9, s->retention_hours);
    sqlite3_bind_int(st, 10, s->max_record_size_kib);
    bind_text(st, 11, s->encryption_type);
    bind_text(st, 12, s->key_id);
    bind_text(st, 13, s->shard_level_metrics);
    sqlite3_bind_int64(st, 14, s->warm_throughput_mibps);
    sqlite3_bind_int(st, 15, s->next_shard_index);
}

static int sq_stream_insert(sl_catalog_t *base, sl_cat_stream_t *s) {
    sq_catalog_t *c = sq(base);
    if (!stream_valid(s)) return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc = prep(
        c, "INSERT INTO streams (" STREAM_COLS ", id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        &st);
    if (rc == 0) {
        bind_stream(st, s);
        /* NULL lets AUTOINCREMENT choose. */
        if (s->id > 0)
            sqlite3_bind_int64(st, 16, s->id);
        else
            sqlite3_bind_null(st, 16);
        rc = run(c, st);
        if (rc == 0) s->id = sqlite3_last_insert_rowid(c->db);
    }
    unlock(c);
    return rc;
}

static int sq_stream_update(sl_catalog_t *base, const sl_cat_stream_t *s) {
    sq_catalog_t *c = sq(base);
    if (!stream_valid(s)) return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc = prep(c,
                  "UPDATE streams SET account=?1, region=?2, name=?3, arn=?4, status=?5, mode=?6, "
                  "created_ms=?7, status_until_ms=?8, retention_hours=?9, max_record_size_kib=?10, "
                  "encryption_type=?11, key_id=?12, shard_level_metrics=?13, "
                  "warm_throughput_mibps=?14, next_shard_index=?15 WHERE id=?16",
                  &st);
    if (rc == 0) {
        bind_stream(st, s);
        sqlite3_bind_int64(st, 16, s->id);
        rc = run(c, st);
        if (rc == 0 && sqlite3_changes(c->db) == 0) rc = SL_ENOTFOUND;
    }
    unlock(c);
    return rc;
}

/* Runs one statement with ?1 bound to an integer id. */
static int run_with_id(sq_catalog_t *c, const char *sql, int64_t id) {
    sqlite3_stmt *st;
    int rc = prep(c, sql, &st);
    if (rc < 0) return rc;
    sqlite3_bind_int64(st, 1, id);
    return run(c, st);
}

/* Runs one statement with ?1 bound to a string. */
static int run_with_text(sq_catalog_t *c, const char *sql, const char *s) {
    sqlite3_stmt *st;
    int rc = prep(c, sql, &st);
    if (rc < 0) return rc;
    bind_text(st, 1, s);
    return run(c, st);
}

static int sq_stream_delete(sl_catalog_t *base, int64_t id) {
    sq_catalog_t *c = sq(base);
    lock(c);
    int rc = op_begin(c);
    if (rc == 0) {
        rc = run_with_id(
            c,
            "DELETE FROM tags WHERE arn IN (SELECT arn FROM consumers WHERE stream_id=?1 "
            "UNION SELECT arn FROM streams WHERE id=?1)",
            id);
        if (rc == 0)
            rc = run_with_id(c,
                             "DELETE FROM policies WHERE arn IN (SELECT arn FROM consumers WHERE "
                             "stream_id=?1 UNION SELECT arn FROM streams WHERE id=?1)",
                             id);
        /* Shards and consumers go with the stream (ON DELETE CASCADE). */
        if (rc == 0) rc = run_with_id(c, "DELETE FROM streams WHERE id=?1", id);
        if (rc == 0 && sqlite3_changes(c->db) == 0) rc = SL_ENOTFOUND;
        rc = op_end(c, rc);
    }
    unlock(c);
    return rc;
}

/* ---- shards ---- */

static int sq_shard_put(sl_catalog_t *base, const sl_cat_shard_t *s) {
    sq_catalog_t *c = sq(base);
    if (!s->starting_hash_key || !s->ending_hash_key) return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc =
        prep(c,
             "INSERT INTO shards (stream_id, shard_index, parent_shard_id, "
             "adjacent_parent_shard_id, starting_hash_key, ending_hash_key, created_ms, closed_ms, "
             "seq_reserved, seq_written) "
             "VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (stream_id, shard_index) DO UPDATE SET "
             "parent_shard_id=excluded.parent_shard_id, "
             "adjacent_parent_shard_id=excluded.adjacent_parent_shard_id, "
             "starting_hash_key=excluded.starting_hash_key, "
             "ending_hash_key=excluded.ending_hash_key, created_ms=excluded.created_ms, "
             "closed_ms=excluded.closed_ms, "
             "seq_reserved=MAX(seq_reserved, excluded.seq_reserved), "
             "seq_written=MAX(seq_written, excluded.seq_written)",
             &st);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, s->stream_id);
        sqlite3_bind_int(st, 2, s->shard_index);
        bind_text(st, 3, s->parent_shard_id);
        bind_text(st, 4, s->adjacent_parent_shard_id);
        bind_text(st, 5, s->starting_hash_key);
        bind_text(st, 6, s->ending_hash_key);
        sqlite3_bind_int64(st, 7, s->created_ms);
        sqlite3_bind_int64(st, 8, s->closed_ms);
        sqlite3_bind_int64(st, 9, s->seq_reserved > 0 ? s->seq_reserved : 0);
        sqlite3_bind_int64(st, 10, s->seq_written > 0 ? s->seq_written : 0);
        rc = run(c, st);
    }
    unlock(c);
    return rc;
}

static int sq_shard_seq_set(sl_catalog_t *base, int64_t stream_id, int32_t shard_index,
                            int64_t seq_reserved, int64_t seq_written) {
    sq_catalog_t *c = sq(base);
    if (seq_reserved < 0 || seq_written < 0) return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc = prep(
        c, "UPDATE shards SET seq_reserved=?, seq_written=? WHERE stream_id=? AND shard_index=?",
        &st);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, seq_reserved);
        sqlite3_bind_int64(st, 2, seq_written);
        sqlite3_bind_int64(st, 3, stream_id);
        sqlite3_bind_int(st, 4, shard_index);
        rc = run(c, st);
        if (rc == 0 && sqlite3_changes(c->db) == 0) rc = SL_ENOTFOUND;
    }
    unlock(c);
    return rc;
}

static int sq_shard_delete(sl_catalog_t *base, int64_t stream_id, int32_t shard_index) {
    sq_catalog_t *c = sq(base);
    lock(c);
    sqlite3_stmt *st;
    int rc = prep(c, "DELETE FROM shards WHERE stream_id=? AND shard_index=?", &st);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, stream_id);
        sqlite3_bind_int(st, 2, shard_index);
        rc = run(c, st);
        if (rc == 0 && sqlite3_changes(c->db) == 0) rc = SL_ENOTFOUND;
    }
    unlock(c);
    return rc;
}

/* ---- consumers ---- */

static int sq_consumer_put(sl_catalog_t *base, const sl_cat_consumer_t *k) {
    sq_catalog_t *c = sq(base);
    if (!k->name || !k->arn || !k->status) return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc =
        prep(c,
             "INSERT INTO consumers (arn, stream_id, name, status, created_ms, status_until_ms) "
             "VALUES (?,?,?,?,?,?) ON CONFLICT (arn) DO UPDATE SET stream_id=excluded.stream_id, "
             "name=excluded.name, status=excluded.status, created_ms=excluded.created_ms, "
             "status_until_ms=excluded.status_until_ms",
             &st);
    if (rc == 0) {
        bind_text(st, 1, k->arn);
        sqlite3_bind_int64(st, 2, k->stream_id);
        bind_text(st, 3, k->name);
        bind_text(st, 4, k->status);
        sqlite3_bind_int64(st, 5, k->created_ms);
        sqlite3_bind_int64(st, 6, k->status_until_ms);
        rc = run(c, st);
    }
    unlock(c);
    return rc;
}

static int sq_consumer_delete(sl_catalog_t *base, const char *arn) {
    sq_catalog_t *c = sq(base);
    if (!arn) return SL_EINVAL;
    lock(c);
    int rc = op_begin(c);
    if (rc == 0) {
        rc = run_with_text(c, "DELETE FROM consumers WHERE arn=?1", arn);
        if (rc == 0 && sqlite3_changes(c->db) == 0) rc = SL_ENOTFOUND;
        if (rc == 0) rc = run_with_text(c, "DELETE FROM tags WHERE arn=?1", arn);
        if (rc == 0) rc = run_with_text(c, "DELETE FROM policies WHERE arn=?1", arn);
        rc = op_end(c, rc);
    }
    unlock(c);
    return rc;
}

/* ---- tags, policies, settings ---- */

static int sq_tag_put(sl_catalog_t *base, const char *resource_arn, const char *key,
                      const char *value) {
    sq_catalog_t *c = sq(base);
    if (!resource_arn || !key || !value) return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc = prep(c,
                  "INSERT INTO tags (arn, key, value) VALUES (?,?,?) "
                  "ON CONFLICT (arn, key) DO UPDATE SET value=excluded.value",
                  &st);
    if (rc == 0) {
        bind_text(st, 1, resource_arn);
        bind_text(st, 2, key);
        bind_text(st, 3, value);
        rc = run(c, st);
    }
    unlock(c);
    return rc;
}

static int sq_tag_delete(sl_catalog_t *base, const char *resource_arn, const char *key) {
    sq_catalog_t *c = sq(base);
    if (!resource_arn || !key) return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc = prep(c, "DELETE FROM tags WHERE arn=? AND key=?", &st);
    if (rc == 0) {
        bind_text(st, 1, resource_arn);
        bind_text(st, 2, key);
        rc = run(c, st);
        if (rc == 0 && sqlite3_changes(c->db) == 0) rc = SL_ENOTFOUND;
    }
    unlock(c);
    return rc;
}

static int sq_policy_put(sl_catalog_t *base, const char *resource_arn, const char *policy) {
    sq_catalog_t *c = sq(base);
    if (!resource_arn || !policy) return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc = prep(c,
                  "INSERT INTO policies (arn, policy) VALUES (?,?) "
                  "ON CONFLICT (arn) DO UPDATE SET policy=excluded.policy",
                  &st);
    if (rc == 0) {
        bind_text(st, 1, resource_arn);
        bind_text(st, 2, policy);
        rc = run(c, st);
    }
    unlock(c);
    return rc;
}

static int sq_policy_delete(sl_catalog_t *base, const char *resource_arn) {
    sq_catalog_t *c = sq(base);
    if (!resource_arn) return SL_EINVAL;
    lock(c);
    int rc = run_with_text(c, "DELETE FROM policies WHERE arn=?1", resource_arn);
    if (rc == 0 && sqlite3_changes(c->db) == 0) rc = SL_ENOTFOUND;
    unlock(c);
    return rc;
}

static int sq_setting_put(sl_catalog_t *base, const char *key, const void *value, size_t len) {
    sq_catalog_t *c = sq(base);
    if (!key || (!value && len > 0) || len > INT32_MAX) return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc = prep(c,
                  "INSERT INTO settings (key, value) VALUES (?,?) "
                  "ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                  &st);
    if (rc == 0) {
        bind_text(st, 1, key);
        /* A zero-length blob bound from a NULL pointer would be SQL NULL. */
        if (len == 0)
            sqlite3_bind_zeroblob(st, 2, 0);
        else
            sqlite3_bind_blob(st, 2, value, (int)len, SQLITE_TRANSIENT);
        rc = run(c, st);
    }
    unlock(c);
    return rc;
}

static int sq_setting_get(sl_catalog_t *base, const char *key, void *buf, size_t cap,
                          size_t *len_out) {
    sq_catalog_t *c = sq(base);
    if (!key) return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc = prep(c, "SELECT value FROM settings WHERE key=?", &st);
    if (rc == 0) {
        bind_text(st, 1, key);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            const void *v = sqlite3_column_blob(st, 0);
            size_t n = (size_t)sqlite3_column_bytes(st, 0);
            if (len_out) *len_out = n;
            if (n > cap)
                rc = SL_ELIMIT;
            else if (n > 0)
                memcpy(buf, v, n);
        } else if (step == SQLITE_DONE) {
            rc = SL_ENOTFOUND;
        } else {
            rc = fail_log(c, step, "setting_get");
        }
        sqlite3_finalize(st);
    }
    unlock(c);
    return rc;
}

static int sq_setting_delete(sl_catalog_t *base, const char *key) {
    sq_catalog_t *c = sq(base);
    if (!key) return SL_EINVAL;
    lock(c);
    int rc = run_with_text(c, "DELETE FROM settings WHERE key=?1", key);
    if (rc == 0 && sqlite3_changes(c->db) == 0) rc = SL_ENOTFOUND;
    unlock(c);
    return rc;
}

/* ---- IAM ---- */

static int sq_iam_user_put(sl_catalog_t *base, const sl_cat_iam_user_t *u) {
    sq_catalog_t *c = sq(base);
    if (!u->name || !u->user_id) return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc = prep(c, "INSERT INTO iam_users (name, user_id, created_ms) VALUES (?,?,?)", &st);
    if (rc == 0) {
        bind_text(st, 1, u->name);
        bind_text(st, 2, u->user_id);
        sqlite3_bind_int64(st, 3, u->created_ms);
        rc = run(c, st);
    }
    unlock(c);
    return rc;
}

static int sq_iam_user_delete(sl_catalog_t *base, const char *name) {
    sq_catalog_t *c = sq(base);
    if (!name) return SL_EINVAL;
    lock(c);
    int rc = run_with_text(c, "DELETE FROM iam_users WHERE name=?1", name);
    if (rc == 0 && sqlite3_changes(c->db) == 0) rc = SL_ENOTFOUND;
    unlock(c);
    return rc;
}

static int sq_iam_key_put(sl_catalog_t *base, const sl_cat_iam_key_t *k) {
    sq_catalog_t *c = sq(base);
    if (!k->access_key_id || !k->user_name || !k->status || !k->secret_wrapped ||
        k->secret_wrapped_len == 0 || k->secret_wrapped_len > INT32_MAX)
        return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc = prep(c,
                  "INSERT INTO iam_access_keys (access_key_id, user_name, status, secret_wrapped, "
                  "created_ms) VALUES (?,?,?,?,?) ON CONFLICT (access_key_id) DO UPDATE SET "
                  "status=excluded.status",
                  &st);
    if (rc == 0) {
        bind_text(st, 1, k->access_key_id);
        bind_text(st, 2, k->user_name);
        bind_text(st, 3, k->status);
        sqlite3_bind_blob(st, 4, k->secret_wrapped, (int)k->secret_wrapped_len, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 5, k->created_ms);
        rc = run(c, st);
    }
    unlock(c);
    return rc;
}

static int sq_iam_key_delete(sl_catalog_t *base, const char *access_key_id) {
    sq_catalog_t *c = sq(base);
    if (!access_key_id) return SL_EINVAL;
    lock(c);
    int rc = run_with_text(c, "DELETE FROM iam_access_keys WHERE access_key_id=?1", access_key_id);
    if (rc == 0 && sqlite3_changes(c->db) == 0) rc = SL_ENOTFOUND;
    unlock(c);
    return rc;
}

static int sq_iam_policy_put(sl_catalog_t *base, const sl_cat_iam_policy_t *p) {
    sq_catalog_t *c = sq(base);
    if (!p->user_name || !p->policy_name || !p->document) return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc = prep(c,
                  "INSERT INTO iam_user_policies (user_name, policy_name, document) VALUES (?,?,?) "
                  "ON CONFLICT (user_name, policy_name) DO UPDATE SET document=excluded.document",
                  &st);
    if (rc == 0) {
        bind_text(st, 1, p->user_name);
        bind_text(st, 2, p->policy_name);
        bind_text(st, 3, p->document);
        rc = run(c, st);
    }
    unlock(c);
    return rc;
}

static int sq_iam_policy_delete(sl_catalog_t *base, const char *user_name,
                                const char *policy_name) {
    sq_catalog_t *c = sq(base);
    if (!user_name || !policy_name) return SL_EINVAL;
    lock(c);
    sqlite3_stmt *st;
    int rc = prep(c, "DELETE FROM iam_user_policies WHERE user_name=? AND policy_name=?", &st);
    if (rc == 0) {
        bind_text(st, 1, user_name);
        bind_text(st, 2, policy_name);
        rc = run(c, st);
        if (rc == 0 && sqlite3_changes(c->db) == 0) rc = SL_ENOTFOUND;
    }
    unlock(c);
    return rc;
}

/* ---- load ---- */

/* Steps a query, calling row() for each row; finalizes. */
static int each_row(sq_catalog_t *c, const char *sql,
                    void (*row)(sqlite3_stmt *, const sl_catalog_visitor_t *, void *),
                    const sl_catalog_visitor_t *v, void *arg) {
    sqlite3_stmt *st;
    int rc = prep(c, sql, &st);
    if (rc < 0) return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        row(st, v, arg);
    rc = step == SQLITE_DONE ? 0 : fail_log(c, step, sql);
    sqlite3_finalize(st);
    return rc;
}

static void row_stream(sqlite3_stmt *st, const sl_catalog_visitor_t *v, void *arg) {
    sl_cat_stream_t s = {
        .id = sqlite3_column_int64(st, 0),
        .account = col_text(st, 1),
        .region = col_text(st, 2),
        .name = col_text(st, 3),
        .arn = col_text(st, 4),
        .status = col_text(st, 5),
        .mode = col_text(st, 6),
        .created_ms = sqlite3_column_int64(st, 7),
        .status_until_ms = sqlite3_column_int64(st, 8),
        .retention_hours = sqlite3_column_int(st, 9),
        .max_record_size_kib = sqlite3_column_int(st, 10),
        .encryption_type = col_text(st, 11),
        .key_id = col_text(st, 12),
        .shard_level_metrics = col_text(st, 13),
        .warm_throughput_mibps = sqlite3_column_int64(st, 14),
        .next_shard_index = sqlite3_column_int(st, 15),
    };
    v->stream(arg, &s);
}

static void row_shard(sqlite3_stmt *st, const sl_catalog_visitor_t *v, void *arg) {
    sl_cat_shard_t s = {
        .stream_id = sqlite3_column_int64(st, 0),
        .shard_index = sqlite3_column_int(st, 1),
        .parent_shard_id = col_text(st, 2),
        .adjacent_parent_shard_id = col_text(st, 3),
        .starting_hash_key = col_text(st, 4),
        .ending_hash_key = col_text(st, 5),
        .created_ms = sqlite3_column_int64(st, 6),
        .closed_ms = sqlite3_column_int64(st, 7),
        .seq_reserved = sqlite3_column_int64(st, 8),
        .seq_written = sqlite3_column_int64(st, 9),
    };
    v->shard(arg, &s);
}

static void row_consumer(sqlite3_stmt *st, const sl_catalog_visitor_t *v, void *arg) {
    sl_cat_consumer_t k = {
        .stream_id = sqlite3_column_int64(st, 0),
        .name = col_text(st, 1),
        .arn = col_text(st, 2),
        .status = col_text(st, 3),
        .created_ms = sqlite3_column_int64(st, 4),
        .status_until_ms = sqlite3_column_int64(st, 5),
    };
    v->consumer(arg, &k);
}

static void row_tag(sqlite3_stmt *st, const sl_catalog_visitor_t *v, void *arg) {
    v->tag(arg, col_text(st, 0), col_text(st, 1), col_text(st, 2));
}

static void row_policy(sqlite3_stmt *st, const sl_catalog_visitor_t *v, void *arg) {
    v->policy(arg, col_text(st, 0), col_text(st, 1));
}

static void row_iam_user(sqlite3_stmt *st, const sl_catalog_visitor_t *v, void *arg) {
    sl_cat_iam_user_t u = {col_text(st, 0), col_text(st, 1), sqlite3_column_int64(st, 2)};
    v->iam_user(arg, &u);
}

static void row_iam_key(sqlite3_stmt *st, const sl_catalog_visitor_t *v, void *arg) {
    sl_cat_iam_key_t k = {
        .access_key_id = col_text(st, 0),
        .user_name = col_text(st, 1),
        .status = col_text(st, 2),
        .secret_wrapped = sqlite3_column_blob(st, 3),
        .secret_wrapped_len = (size_t)sqlite3_column_bytes(st, 3),
        .created_ms = sqlite3_column_int64(st, 4),
    };
    v->iam_key(arg, &k);
}

static void row_iam_policy(sqlite3_stmt *st, const sl_catalog_visitor_t *v, void *arg) {
    sl_cat_iam_policy_t p = {col_text(st, 0), col_text(st, 1), col_text(st, 2)};
    v->iam_policy(arg, &p);
}

static int sq_load(sl_catalog_t *base, const sl_catalog_visitor_t *v, void *arg) {
    sq_catalog_t *c = sq(base);
    lock(c);
    /* One read transaction so the five queries see one consistent state. */
    int rc = op_begin(c);
    if (rc == 0) {
        if (rc == 0 && v->stream)
            rc = each_row(c, "SELECT id, " STREAM_COLS " FROM streams ORDER BY id", row_stream, v,
                          arg);
        if (rc == 0 && v->shard)
            rc = each_row(
                c,
                "SELECT stream_id, shard_index, parent_shard_id, adjacent_parent_shard_id, "
                "starting_hash_key, ending_hash_key, created_ms, closed_ms, seq_reserved, "
                "seq_written "
                "FROM shards "
                "ORDER BY stream_id, shard_index",
                row_shard, v, arg);
        if (rc == 0 && v->consumer)
            rc = each_row(c,
                          "SELECT stream_id, name, arn, status, created_ms, status_until_ms FROM "
                          "consumers ORDER BY stream_id, created_ms, arn",
                          row_consumer, v, arg);
        if (rc == 0 && v->tag)
            rc = each_row(c, "SELECT arn, key, value FROM tags ORDER BY arn, key", row_tag, v, arg);
        if (rc == 0 && v->policy)
            rc = each_row(c, "SELECT arn, policy FROM policies ORDER BY arn", row_policy, v, arg);
        if (rc == 0 && v->iam_user)
            rc = each_row(c, "SELECT name, user_id, created_ms FROM iam_users ORDER BY name",
                          row_iam_user, v, arg);
        if (rc == 0 && v->iam_key)
            rc = each_row(c,
                          "SELECT access_key_id, user_name, status, secret_wrapped, created_ms "
                          "FROM iam_access_keys ORDER BY user_name, created_ms, access_key_id",
                          row_iam_key, v, arg);
        if (rc == 0 && v->iam_policy)
            rc = each_row(c,
                          "SELECT user_name, policy_name, document FROM iam_user_policies "
                          "ORDER BY user_name, policy_name",
                          row_iam_policy, v, arg);
        rc = op_end(c, rc);
    }
    unlock(c);
    return rc;
}

/* ---- backup, verification ---- */

int sl_catalog_sqlite_schema_version(void) {
    return SCHEMA_VERSION;
}

static int sq_backup(sl_catalog_t *base, const char *path) {
    sq_catalog_t *c = sq(base);
    size_t n = strlen(path);
    char *tmp = malloc(n + 5);
    if (!tmp) return SL_ENOMEM;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    unlink(tmp);
    /* Created 0600 like every data file; SQLite then opens the existing (empty) file. */
    int pfd = open(tmp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (pfd >= 0) close(pfd);
    sqlite3 *dst = NULL;
    int rc = sqlite3_open_v2(
        tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        SL_WARN("catalog: backup to %s: %s", tmp, dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
        rc = SL_EIO;
        goto out;
    }
    lock(c);
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", c->db, "main");
    int step = b ? sqlite3_backup_step(b, -1) : sqlite3_errcode(dst);
    int fin = b ? sqlite3_backup_finish(b) : SQLITE_OK;
    unlock(c);
    if (step != SQLITE_DONE || fin != SQLITE_OK) {
        SL_WARN("catalog: backup to %s failed: %s", tmp, sqlite3_errmsg(dst));
        rc = (step & 0xff) == SQLITE_FULL ? SL_ENOSPC : SL_EIO;
        goto out;
    }
    /* The copy is a rollback-journal database (the backup keeps the destination's mode): one
     * self-contained file. Make it durable before it replaces the previous backup. */
    sqlite3_close(dst);
    dst = NULL;
    int fd = open(tmp, O_RDONLY);
    rc = fd >= 0 && fsync(fd) == 0 ? 0 : SL_EIO;
    if (fd >= 0) close(fd);
    if (rc == 0 && rename(tmp, path) != 0) rc = SL_EIO;
    if (rc == 0) {
        char *dir = strdup(path);
        char *slash = dir ? strrchr(dir, '/') : NULL;
        if (slash) {
            *slash = 0;
            int dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY);
            if (dfd >= 0) {
                (void)fsync(dfd);
                close(dfd);
            }
        }
        free(dir);
    }
    if (rc) SL_WARN("catalog: backup to %s failed: %s", path, strerror(errno));
out:
    if (dst) sqlite3_close(dst);
    if (rc) unlink(tmp);
    free(tmp);
    return rc;
}

int sl_catalog_sqlite_copy(const char *src_path, const char *dst_path) {
    sqlite3 *src = NULL, *dst = NULL;
    int rc = SL_EIO;
    if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        goto out;
    unlink(dst_path);
    if (sqlite3_open_v2(dst_path, &dst,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        goto out;
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) goto out;
    int step = sqlite3_backup_step(b, -1);
    int fin = sqlite3_backup_finish(b);
    if (step == SQLITE_DONE && fin == SQLITE_OK)
        rc = 0;
    else
        rc = (step & 0xff) == SQLITE_CORRUPT || (step & 0xff) == SQLITE_NOTADB ? SL_ECORRUPT
                                                                               : SL_EIO;
out:
    sqlite3_close(src);
    sqlite3_close(dst);
    return rc;
}

/* Runs a one-row query and copies its first column's text into out; returns the SQLite code. */
static int query_text(sqlite3 *db, const char *sql, char *out, size_t cap) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(out, cap, "%s", t ? (const char *)t : "");
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            out[0] = 0;
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK) snprintf(out, cap, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

int sl_catalog_sqlite_verify(const char *path, sl_catalog_verify_t *out) {
    memset(out, 0, sizeof *out);
    out->schema_version = -1;
    struct stat sb;
    if (stat(path, &sb) != 0) return SL_ENOTFOUND;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(out->detail, sizeof out->detail, "cannot open: %s",
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return 0;
    }
    char text[256];
    rc = query_text(db, "SELECT version FROM schema_version", text, sizeof text);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
        out->locked = true;
        snprintf(out->detail, sizeof out->detail, "locked by another process: %s", text);
        sqlite3_close(db);
        return 0;
    }
    if (rc != SQLITE_OK) {
        snprintf(out->detail, sizeof out->detail, "cannot read the schema version: %s", text);
    } else {
        out->opened = true;
        char *end = NULL;
        long v = strtol(text, &end, 10);
        out->schema_version = text[0] && end && !*end ? (int)v : -1;
        out->schema_ok = out->schema_version >= 1 && out->schema_version <= SCHEMA_VERSION;
        if (!out->schema_ok)
            snprintf(out->detail, sizeof out->detail,
                     "schema version '%s' is not one this build knows (1..%d)", text,
                     SCHEMA_VERSION);
    }
    rc = query_text(db, "PRAGMA integrity_check", text, sizeof text);
    out->integrity_ok = rc == SQLITE_OK && strcmp(text, "ok") == 0;
    if (!out->integrity_ok && !out->detail[0])
        snprintf(out->detail, sizeof out->detail, "integrity check: %s", text);
    sqlite3_close(db);
    return 0;
}

static const sl_catalog_ops_t sq_ops = {
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .stream_insert = sq_stream_insert,
    .stream_update = sq_stream_update,
    .stream_delete = sq_stream_delete,
    .shard_put = sq_shard_put,
    .shard_delete = sq_shard_delete,
    .shard_seq_set = sq_shard_seq_set,
    .consumer_put = sq_consumer_put,
    .consumer_delete = sq_consumer_delete,
    .tag_put = sq_tag_put,
    .tag_delete = sq_tag_delete,
    .policy_put = sq_policy_put,
    .policy_delete = sq_policy_delete,
    .setting_put = sq_setting_put,
    .setting_get = sq_setting_get,
    .setting_delete = sq_setting_delete,
    .iam_user_put = sq_iam_user_put,
    .iam_user_delete = sq_iam_user_delete,
    .iam_key_put = sq_iam_key_put,
    .iam_key_delete = sq_iam_key_delete,
    .iam_policy_put = sq_iam_policy_put,
    .iam_policy_delete = sq_iam_policy_delete,
    .load = sq_load,
    .backup = sq_backup,
};
