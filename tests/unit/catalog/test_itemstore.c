/* The item store (catalog/itemstore.c): tables of opaque keyed blobs written in one transaction,
 * read back after reopening, replaced and deleted with their items. */
#include "catalog/itemstore.h"
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

typedef struct {
    int tables, items;
    char last_table[64];
    char last_val[64];
} seen_t;

static int on_table(void *ctx, const char *table, const void *meta, size_t len) {
    seen_t *s = ctx;
    s->tables++;
    snprintf(s->last_table, sizeof s->last_table, "%s=%.*s", table, (int)len, (const char *)meta);
    return 0;
}

static int on_item(void *ctx, const char *table, const void *key, size_t key_len, const void *val,
                   size_t val_len) {
    seen_t *s = ctx;
    (void)table;
    (void)key;
    (void)key_len;
    s->items++;
    snprintf(s->last_val, sizeof s->last_val, "%.*s", (int)val_len, (const char *)val);
    return 0;
}

static seen_t load(const char *path) {
    sl_itemstore_t *st;
    seen_t s = {0};
    CHECK_EQ_INT(sl_itemstore_open(path, &st), 0);
    CHECK_EQ_INT(sl_itemstore_load(st, on_table, on_item, &s), 0);
    sl_itemstore_close(st);
    return s;
}

int main(void) {
    char dir[] = "/tmp/sl-itemstore-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/dynamodb.db", dir);
    sl_itemstore_t *st;
    CHECK_EQ_INT(sl_itemstore_open(path, &st), 0);
    sl_itemstore_op_t ops[] = {
        {SL_ITEMSTORE_PUT_TABLE, "t", NULL, 0, "m1", 2},
        {SL_ITEMSTORE_PUT_ITEM, "t", "k1", 2, "v1", 2},
        {SL_ITEMSTORE_PUT_ITEM, "t", "k2", 2, "v2", 2},
        {SL_ITEMSTORE_PUT_ITEM, "t", "k1", 2, "v3", 2}, /* replaces */
        {SL_ITEMSTORE_DELETE_ITEM, "t", "k2", 2, NULL, 0},
        {SL_ITEMSTORE_PUT_TABLE, "t", NULL, 0, "m2", 2},
    };
    CHECK_EQ_INT(sl_itemstore_write(st, ops, sizeof ops / sizeof ops[0]), 0);
    /* The WAL index is in the heap: no memory-mapped -shm file, whose pages SIGBUS on a full disk.
     */
    char shm[160];
    snprintf(shm, sizeof shm, "%s-shm", path);
    CHECK(access(shm, F_OK) != 0);
    sl_itemstore_close(st);
    seen_t s = load(path);
    CHECK_EQ_INT(s.tables, 1);
    CHECK_EQ_INT(s.items, 1);
    CHECK_EQ_STR(s.last_table, "t=m2");
    CHECK_EQ_STR(s.last_val, "v3");
    CHECK_EQ_INT(sl_itemstore_open(path, &st), 0);
    sl_itemstore_op_t drop = {SL_ITEMSTORE_DELETE_TABLE, "t", NULL, 0, NULL, 0};
    CHECK_EQ_INT(sl_itemstore_write(st, &drop, 1), 0);
    sl_itemstore_close(st);
    s = load(path);
    CHECK_EQ_INT(s.tables, 0);
    CHECK_EQ_INT(s.items, 0);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
    TEST_MAIN_END();
}
