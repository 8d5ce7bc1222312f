/* The item store on SQLite (see itemstore.h). */
#include "catalog/itemstore.h"

#include "core/common.h"
#include "core/log.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>

struct sl_itemstore {
    sqlite3 *db;
    sqlite3_stmt *put_table, *delete_table, *delete_items, *put_item, *delete_item;
};

static int map_rc(int rc) {
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_FULL:
        return SL_ENOSPC;
    case SQLITE_NOMEM:
        return SL_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return SL_ECORRUPT;
    case SQLITE_READONLY:
        return SL_EROFS;
    default:
        return SL_EIO;
    }
}

static int exec(sl_itemstore_t *s, const char *sql) {
    char *err = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) SL_ERROR("item store: %s: %s", sql, err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return map_rc(rc);
}

static int prep(sl_itemstore_t *s, const char *sql, sqlite3_stmt **st) {
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc != SQLITE_OK) SL_ERROR("item store: %s: %s", sql, sqlite3_errmsg(s->db));
    return map_rc(rc);
}

int sl_itemstore_open(const char *path, sl_itemstore_t **out) {
    *out = NULL;
    sl_itemstore_t *s = calloc(1, sizeof *s);
    if (!s) return SL_ENOMEM;
    int rc = map_rc(sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL));
    if (rc) SL_ERROR("item store: cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "");
    /* Exclusive locking keeps the WAL index in the heap, not in a mapped -shm file whose pages
     * SIGBUS on a full disk (see sl_catalog_open_sqlite). */
    if (rc == 0) rc = exec(s, "PRAGMA locking_mode = EXCLUSIVE");
    if (rc == 0) rc = exec(s, "PRAGMA journal_mode = WAL");
    if (rc == 0) rc = exec(s, "PRAGMA synchronous = FULL");
    if (rc == 0)
        rc = exec(s, "CREATE TABLE IF NOT EXISTS tables (name TEXT PRIMARY KEY, meta BLOB NOT "
                     "NULL);"
                     "CREATE TABLE IF NOT EXISTS items (tbl TEXT NOT NULL, k BLOB NOT NULL, v BLOB "
                     "NOT NULL, PRIMARY KEY (tbl, k)) WITHOUT ROWID;");
    if (rc == 0) rc = prep(s, "INSERT OR REPLACE INTO tables VALUES (?1, ?2)", &s->put_table);
    if (rc == 0) rc = prep(s, "DELETE FROM tables WHERE name = ?1", &s->delete_table);
    if (rc == 0) rc = prep(s, "DELETE FROM items WHERE tbl = ?1", &s->delete_items);
    if (rc == 0) rc = prep(s, "INSERT OR REPLACE INTO items VALUES (?1, ?2, ?3)", &s->put_item);
    if (rc == 0) rc = prep(s, "DELETE FROM items WHERE tbl = ?1 AND k = ?2", &s->delete_item);
    if (rc) {
        sl_itemstore_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sl_itemstore_close(sl_itemstore_t *s) {
    if (!s) return;
    sqlite3_finalize(s->put_table);
    sqlite3_finalize(s->delete_table);
    sqlite3_finalize(s->delete_items);
    sqlite3_finalize(s->put_item);
    sqlite3_finalize(s->delete_item);
    sqlite3_close(s->db);
    free(s);
}

int sl_itemstore_load(sl_itemstore_t *s,
                      int (*table_fn)(void *ctx, const char *table, const void *meta, size_t len),
                      int (*item_fn)(void *ctx, const char *table, const void *key, size_t key_len,
                                     const void *val, size_t val_len),
                      void *ctx) {
    sqlite3_stmt *st = NULL;
    int rc = prep(s, "SELECT name, meta FROM tables", &st);
    int step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = table_fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_blob(st, 1),
                      (size_t)sqlite3_column_bytes(st, 1));
    if (rc == 0 && step != SQLITE_DONE) rc = map_rc(step);
    sqlite3_finalize(st);
    st = NULL;
    if (rc == 0) rc = prep(s, "SELECT tbl, k, v FROM items", &st);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = item_fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_blob(st, 1),
                     (size_t)sqlite3_column_bytes(st, 1), sqlite3_column_blob(st, 2),
                     (size_t)sqlite3_column_bytes(st, 2));
    if (rc == 0 && step != SQLITE_DONE) rc = map_rc(step);
    sqlite3_finalize(st);
    return rc;
}

static int run(sqlite3_stmt *st, const sl_itemstore_op_t *op, bool with_key, bool with_val) {
    sqlite3_bind_text(st, 1, op->table, -1, SQLITE_STATIC);
    if (with_key) sqlite3_bind_blob(st, 2, op->key, (int)op->key_len, SQLITE_STATIC);
    if (with_val) sqlite3_bind_blob(st, with_key ? 3 : 2, op->val, (int)op->val_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return map_rc(rc);
}

int sl_itemstore_write(sl_itemstore_t *s, const sl_itemstore_op_t *ops, size_t count) {
    int rc = exec(s, "BEGIN IMMEDIATE");
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const sl_itemstore_op_t *op = &ops[i];
        switch (op->kind) {
        case SL_ITEMSTORE_PUT_TABLE:
            rc = run(s->put_table, op, false, true);
            break;
        case SL_ITEMSTORE_DELETE_TABLE:
            rc = run(s->delete_items, op, false, false);
            if (rc == 0) rc = run(s->delete_table, op, false, false);
            break;
        case SL_ITEMSTORE_PUT_ITEM:
            rc = run(s->put_item, op, true, true);
            break;
        case SL_ITEMSTORE_DELETE_ITEM:
            rc = run(s->delete_item, op, true, false);
            break;
        }
    }
    if (rc == 0) rc = exec(s, "COMMIT");
    if (rc) {
        SL_ERROR("item store: write of %zu changes failed: %s", count, sl_strerror(rc));
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}
