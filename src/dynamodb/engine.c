/* The DynamoDB engine of one account: tables in memory, written through to the item store by its
 * group-commit writer (see dynamodb.h, catalog/itemwriter.h). */
#include "dynamodb/internal.h"

#include "core/crc32c.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- items in memory ---- */

void sl_ddb_ditem_key(const sl_ddb_ditem_t *it, sl_ddb_val_t *hash, sl_ddb_val_t *range) {
    *hash = (sl_ddb_val_t){.type = it->htype, .u.str = {it->data, it->hlen}};
    *range = (sl_ddb_val_t){.type = it->rtype, .u.str = {it->data + it->hlen, it->rlen}};
}

int sl_ddb_key_cmp(sl_ddb_type_t ht, const char *h, size_t hl, sl_ddb_type_t rt, const char *r,
                   size_t rl, const sl_ddb_ditem_t *it) {
    if (ht != it->htype) return ht < it->htype ? -1 : 1;
    int c = memcmp(h, it->data, hl < it->hlen ? hl : it->hlen);
    if (c) return c < 0 ? -1 : 1;
    if (hl != it->hlen) return hl < it->hlen ? -1 : 1;
    if (!rt) return 0;
    sl_ddb_val_t a = {.type = rt, .u.str = {r, rl}};
    sl_ddb_val_t b = {.type = it->rtype, .u.str = {it->data + it->hlen, it->rlen}};
    return sl_ddb_val_cmp(&a, &b);
}

/* Index of the first item not below the key; *found when equal. */
size_t sl_ddb_table_seek(const sl_ddb_table_t *t, const sl_ddb_val_t *hash,
                         const sl_ddb_val_t *range, bool *found) {
    size_t lo = 0, hi = t->count;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = sl_ddb_key_cmp(hash->type, hash->u.str.ptr, hash->u.str.len,
                               range ? range->type : 0, range ? range->u.str.ptr : NULL,
                               range ? range->u.str.len : 0, t->items[mid]);
        if (c == 0 && (range || !t->desc.range.name[0])) {
            *found = true;
            return mid;
        }
        if (c <= 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

sl_ddb_ditem_t *sl_ddb_ditem_new(const sl_ddb_val_t *hash, const sl_ddb_val_t *range,
                                 const sl_buf_t *blob, size_t size) {
    size_t rlen = range ? range->u.str.len : 0;
    sl_ddb_ditem_t *it = malloc(sizeof *it + hash->u.str.len + rlen + blob->len);
    if (!it) return NULL;
    it->htype = hash->type;
    it->rtype = range ? range->type : 0;
    it->hlen = hash->u.str.len;
    it->rlen = rlen;
    it->blob_len = blob->len;
    it->size = size;
    memcpy(it->data, hash->u.str.ptr, it->hlen);
    if (rlen) memcpy(it->data + it->hlen, range->u.str.ptr, rlen);
    memcpy(it->data + it->hlen + rlen, blob->data, blob->len);
    return it;
}

int sl_ddb_table_put(sl_ddb_table_t *t, sl_ddb_ditem_t *it) {
    sl_ddb_val_t h, r;
    sl_ddb_ditem_key(it, &h, &r);
    bool found;
    size_t at = sl_ddb_table_seek(t, &h, it->rtype ? &r : NULL, &found);
    if (!it->rtype && at < t->count &&
        sl_ddb_key_cmp(h.type, h.u.str.ptr, h.u.str.len, 0, NULL, 0, t->items[at]) == 0)
        found = true;
    if (found) {
        t->bytes -= t->items[at]->size;
        free(t->items[at]);
        t->items[at] = it;
        t->bytes += it->size;
        return 0;
    }
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        sl_ddb_ditem_t **items = realloc(t->items, cap * sizeof *items);
        if (!items) return SL_ENOMEM;
        t->items = items;
        t->cap = cap;
    }
    memmove(&t->items[at + 1], &t->items[at], (t->count - at) * sizeof *t->items);
    t->items[at] = it;
    t->count++;
    t->bytes += it->size;
    return 0;
}

void sl_ddb_table_remove(sl_ddb_table_t *t, size_t at) {
    t->bytes -= t->items[at]->size;
    free(t->items[at]);
    memmove(&t->items[at], &t->items[at + 1], (t->count - at - 1) * sizeof *t->items);
    t->count--;
}

/* The stored key of an item: the encodings of its hash and range values. */
void sl_ddb_store_key(sl_buf_t *out, const sl_ddb_val_t *hash, const sl_ddb_val_t *range) {
    sl_ddb_val_encode(out, hash);
    if (range && range->type) sl_ddb_val_encode(out, range);
}

sl_ddb_table_t *sl_ddb_find(sl_ddb_t *d, const char *name) {
    for (size_t i = 0; i < d->table_count; i++)
        if (strcmp(d->tables[i]->desc.name, name) == 0) return d->tables[i];
    return NULL;
}

void sl_ddb_table_free(sl_ddb_table_t *t) {
    if (!t) return;
    for (size_t i = 0; i < t->count; i++)
        free(t->items[i]);
    free(t->items);
    for (size_t g = 0; g < t->desc.gsi_count; g++) {
        for (size_t i = 0; i < t->desc.gsis[g].include_count; i++)
            free(t->desc.gsis[g].include[i]);
        free(t->desc.gsis[g].include);
    }
    free(t);
}

/* ---- open / close ---- */

static int load_table(void *ctx, const char *name, const void *meta, size_t len) {
    sl_ddb_t *d = ctx;
    sl_ddb_table_t *t = calloc(1, sizeof *t);
    if (!t) return SL_ENOMEM;
    int rc = sl_ddb_meta_decode(meta, len, &t->desc);
    if (rc || strcmp(t->desc.name, name) != 0 || d->table_count >= SL_DDB_TABLES_MAX) {
        SL_ERROR("dynamodb: table %s of account %s has damaged metadata", name, d->account);
        sl_ddb_table_free(t);
        return rc ? rc : SL_ECORRUPT;
    }
    d->tables[d->table_count++] = t;
    return 0;
}

static int load_item(void *ctx, const char *table, const void *key, size_t key_len, const void *val,
                     size_t val_len) {
    (void)key;
    (void)key_len;
    sl_ddb_t *d = ctx;
    sl_ddb_table_t *t = sl_ddb_find(d, table);
    if (!t) return 0; /* a deleted table's leftovers */
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_ddb_item_t item;
    int rc = sl_ddb_item_decode(val, val_len, &arena, &item);
    const sl_ddb_val_t *h =
        rc ? NULL : sl_ddb_item_get(&item, t->desc.hash.name, strlen(t->desc.hash.name));
    const sl_ddb_val_t *r =
        rc || !t->desc.range.name[0]
            ? NULL
            : sl_ddb_item_get(&item, t->desc.range.name, strlen(t->desc.range.name));
    if (rc == 0 && (!h || (t->desc.range.name[0] && !r))) rc = SL_ECORRUPT;
    if (rc == 0) {
        sl_buf_t blob = {.data = (char *)val, .len = val_len};
        sl_ddb_ditem_t *it = sl_ddb_ditem_new(h, r, &blob, sl_ddb_item_size(&item));
        rc = it ? sl_ddb_table_put(t, it) : SL_ENOMEM;
    }
    if (rc) SL_ERROR("dynamodb: an item of table %s is damaged: %s", table, sl_strerror(rc));
    sl_arena_deinit(&arena);
    return rc;
}

int sl_ddb_open(const sl_ddb_config_t *cfg, sl_ddb_t **out) {
    *out = NULL;
    sl_ddb_t *d = calloc(1, sizeof *d);
    if (!d) return SL_ENOMEM;
    d->tables = calloc(SL_DDB_TABLES_MAX, sizeof *d->tables);
    snprintf(d->region, sizeof d->region, "%s", cfg->region);
    snprintf(d->account, sizeof d->account, "%s", cfg->account);
    d->create_table_ms = cfg->create_table_ms;
    pthread_rwlock_init(&d->lock, NULL);
    int rc = d->tables ? sl_itemstore_open(cfg->path, &d->store) : SL_ENOMEM;
    if (rc == 0) rc = sl_itemstore_load(d->store, load_table, load_item, d);
    if (rc == 0) rc = sl_itemwriter_start(d->store, "dynamodb", d->account, &d->writer);
    if (rc) {
        SL_ERROR("dynamodb: cannot open %s: %s", cfg->path, sl_strerror(rc));
        sl_itemstore_close(d->store);
        for (size_t i = 0; i < d->table_count; i++)
            sl_ddb_table_free(d->tables[i]);
        free(d->tables);
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void sl_ddb_close(sl_ddb_t *d) {
    if (!d) return;
    sl_itemwriter_stop(d->writer); /* writes what is queued first */
    sl_itemstore_close(d->store);
    for (size_t i = 0; i < d->table_count; i++)
        sl_ddb_table_free(d->tables[i]);
    free(d->tables);
    pthread_rwlock_destroy(&d->lock);
    free(d);
}

void sl_ddb_fail(sl_ddb_err_t *err, sl_ddb_err_type_t type, const char *fmt, ...) {
    err->type = type;
    err->cause = 0;
    err->item = NULL;
    err->message[0] = 0;
    if (!fmt) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}
