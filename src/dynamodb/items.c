/* DynamoDB item operations: PutItem, UpdateItem, DeleteItem, BatchWriteItem and GetItem (see
 * dynamodb.h). */
#include "dynamodb/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sl_ddb_table_t *item_table(sl_ddb_t *d, const char *name, int64_t now_ms,
                                  sl_ddb_err_t *err) {
    sl_ddb_table_t *t = sl_ddb_find(d, name);
    if (!t || strcmp(sl_ddb_table_status(d, t, now_ms), "ACTIVE") != 0) {
        sl_ddb_fail(err, SL_DDB_ERR_NOT_FOUND, "Requested resource not found");
        return NULL;
    }
    return t;
}

static bool key_empty(const sl_ddb_val_t *v) {
    return (v->type == SL_DDB_S || v->type == SL_DDB_B) && v->u.str.len == 0;
}

/* The key values of a key-only map (GetItem, UpdateItem, DeleteItem): exactly the key
 * attributes, with their types. */
int sl_ddb_key_of(const sl_ddb_table_t *t, const sl_ddb_item_t *key, const sl_ddb_val_t **hash,
                  const sl_ddb_val_t **range, sl_ddb_err_t *err) {
    const sl_ddb_table_desc_t *d = &t->desc;
    size_t want = d->range.name[0] ? 2 : 1;
    *hash = sl_ddb_item_get(key, d->hash.name, strlen(d->hash.name));
    *range = d->range.name[0] ? sl_ddb_item_get(key, d->range.name, strlen(d->range.name)) : NULL;
    if (key->count != want || !*hash || (*hash)->type != d->hash.type ||
        (want == 2 && (!*range || (*range)->type != d->range.type))) {
        sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                    "The provided key element does not match the "
                    "schema");
        return -1;
    }
    const sl_ddb_val_t *e = key_empty(*hash) ? *hash : *range && key_empty(*range) ? *range : NULL;
    if (e) {
        sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                    "One or more parameter values are not valid. The AttributeValue for a key "
                    "attribute cannot contain an empty %s value. Key: %s",
                    e->type == SL_DDB_S ? "string" : "binary",
                    e == *hash ? d->hash.name : d->range.name);
        return -1;
    }
    return 0;
}

/* Checks a whole item's key and index key attributes (PutItem, and UpdateItem's result). */
static int check_item(const sl_ddb_table_t *t, const sl_ddb_item_t *item, const sl_ddb_val_t **hash,
                      const sl_ddb_val_t **range, sl_ddb_err_t *err) {
    const sl_ddb_table_desc_t *d = &t->desc;
    const sl_ddb_keyattr_t *keys[2] = {&d->hash, d->range.name[0] ? &d->range : NULL};
    const sl_ddb_val_t *vals[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        if (!keys[i]) continue;
        vals[i] = sl_ddb_item_get(item, keys[i]->name, strlen(keys[i]->name));
        if (!vals[i]) {
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                        "One or more parameter values were invalid: Missing the key %s in the "
                        "item",
                        keys[i]->name);
            return -1;
        }
        if (vals[i]->type != keys[i]->type) {
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                        "One or more parameter values were invalid: Type mismatch for key %s "
                        "expected: %s actual: %s",
                        keys[i]->name, sl_ddb_type_name(keys[i]->type),
                        sl_ddb_type_name(vals[i]->type));
            return -1;
        }
        if (key_empty(vals[i])) {
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                        "One or more parameter values are not valid. The AttributeValue for a key "
                        "attribute cannot contain an empty %s value. Key: %s",
                        vals[i]->type == SL_DDB_S ? "string" : "binary", keys[i]->name);
            return -1;
        }
    }
    for (size_t g = 0; g < d->gsi_count; g++) {
        const sl_ddb_keyattr_t *gk[2] = {&d->gsis[g].hash,
                                         d->gsis[g].range.name[0] ? &d->gsis[g].range : NULL};
        for (int i = 0; i < 2; i++) {
            if (!gk[i]) continue;
            const sl_ddb_val_t *v = sl_ddb_item_get(item, gk[i]->name, strlen(gk[i]->name));
            if (v && v->type != gk[i]->type) {
                sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                            "One or more parameter values were invalid: Type mismatch for Index "
                            "Key %s Expected: %s Actual: %s IndexName: %s",
                            gk[i]->name, sl_ddb_type_name(gk[i]->type), sl_ddb_type_name(v->type),
                            d->gsis[g].name);
                return -1;
            }
            if (v && key_empty(v)) {
                sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                            "One or more parameter values are not valid. A value specified for a "
                            "secondary index key is not supported. The AttributeValue for a key "
                            "attribute cannot contain an empty %s value. IndexName: %s, "
                            "IndexKey: %s",
                            v->type == SL_DDB_S ? "string" : "binary", d->gsis[g].name,
                            gk[i]->name);
                return -1;
            }
        }
    }
    *hash = vals[0];
    *range = vals[1];
    return 0;
}

/* The stored item at the key, decoded into the arena (NULL when none); *at its index. */
static sl_ddb_item_t *load(const sl_ddb_table_t *t, const sl_ddb_val_t *hash,
                           const sl_ddb_val_t *range, sl_arena_t *arena, size_t *at, int *rc) {
    bool found;
    *at = sl_ddb_table_seek(t, hash, range, &found);
    *rc = 0;
    if (!found) return NULL;
    sl_ddb_item_t *item = sl_arena_calloc(arena, 1, sizeof *item);
    if (!item) {
        *rc = SL_ENOMEM;
        return NULL;
    }
    const sl_ddb_ditem_t *it = t->items[*at];
    *rc = sl_ddb_item_decode(sl_ddb_ditem_blob(it), it->blob_len, arena, item);
    return *rc ? NULL : item;
}

static void internal(sl_ddb_err_t *err, int cause) {
    sl_ddb_fail(err, SL_DDB_ERR_INTERNAL, NULL);
    err->cause = cause;
}

/* The attributes of `from` whose names an update touched (UPDATED_OLD / UPDATED_NEW). */
static sl_ddb_item_t *updated_only(const sl_ddb_update_t *u, const sl_ddb_item_t *from,
                                   sl_arena_t *arena) {
    sl_ddb_item_t *out = sl_arena_calloc(arena, 1, sizeof *out);
    if (!out || !from) return out;
    out->attrs = sl_arena_calloc(arena, from->count + 1, sizeof(sl_ddb_attr_t));
    if (!out->attrs) return NULL;
    for (size_t i = 0; i < from->count; i++)
        for (size_t j = 0; j < u->count; j++) {
            const sl_ddb_path_elem_t *e = &u->actions[j].path.elems[0];
            if (e->name_len == from->attrs[i].name_len &&
                memcmp(e->name, from->attrs[i].name, e->name_len) == 0) {
                out->attrs[out->count++] = from->attrs[i];
                break;
            }
        }
    return out;
}

/* Checks and applies one write under the write lock; queues its store change with done. */
static int apply(sl_ddb_t *d, const sl_ddb_write_t *w, int64_t now_ms, sl_arena_t *arena,
                 sl_ddb_item_t **out, sl_ddb_err_t *err, void (*done)(void *ctx, int status),
                 void *ctx) {
    sl_ddb_table_t *t = item_table(d, w->table, now_ms, err);
    if (!t) return -1;
    const sl_ddb_table_desc_t *desc = &t->desc;
    const sl_ddb_val_t *hash, *range;
    if (w->kind == SL_DDB_PUT ? check_item(t, &w->item, &hash, &range, err)
                              : sl_ddb_key_of(t, &w->item, &hash, &range, err))
        return -1;
    if (w->kind == SL_DDB_UPDATE && w->update)
        for (size_t i = 0; i < w->update->count; i++) {
            const sl_ddb_path_elem_t *e = &w->update->actions[i].path.elems[0];
            const char *keys[2] = {desc->hash.name, desc->range.name};
            for (int k = 0; k < 2; k++)
                if (keys[k][0] && e->name_len == strlen(keys[k]) &&
                    memcmp(e->name, keys[k], e->name_len) == 0) {
                    sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                                "One or more parameter values were invalid: Cannot update "
                                "attribute %s. This attribute is part of the key",
                                keys[k]);
                    return -1;
                }
        }
    size_t at;
    int rc;
    sl_ddb_item_t *old = load(t, hash, range, arena, &at, &rc);
    if (rc) {
        internal(err, rc);
        return -1;
    }
    if (w->condition && !sl_ddb_expr_test(w->condition, old, arena)) {
        sl_ddb_fail(err, SL_DDB_ERR_CONDITION, "The conditional request failed");
        if (w->return_old_on_failure) err->item = old;
        return -1;
    }
    sl_ddb_item_t *next = NULL;
    if (w->kind == SL_DDB_PUT) {
        next = (sl_ddb_item_t *)&w->item;
    } else if (w->kind == SL_DDB_UPDATE) {
        next = sl_arena_calloc(arena, 1, sizeof *next);
        int crc = next ? sl_ddb_item_copy(arena, old ? old : &w->item, next) : SL_ENOMEM;
        if (crc) {
            internal(err, crc);
            return -1;
        }
        const char *why = NULL;
        if (w->update && (rc = sl_ddb_update_apply(w->update, next, arena, &why))) {
            if (rc == SL_EINVAL)
                sl_ddb_fail(err, SL_DDB_ERR_VALIDATION, "%s", why);
            else
                internal(err, rc);
            return -1;
        }
        if (check_item(t, next, &hash, &range, err)) return -1;
        if (sl_ddb_item_depth(next) > SL_DDB_NESTING_MAX) {
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                        "Nesting Levels have exceeded supported limits");
            return -1;
        }
    }
    sl_buf_t key = SL_BUF_INIT, blob = SL_BUF_INIT;
    sl_ddb_store_key(&key, hash, range);
    sl_ddb_ditem_t *it = NULL;
    if (next) {
        size_t size = sl_ddb_item_size(next);
        if (size > SL_DDB_ITEM_BYTES_MAX) {
            sl_buf_free(&key);
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                        w->kind == SL_DDB_PUT
                            ? "Item size has exceeded the maximum allowed size"
                            : "Item size to update has exceeded the maximum allowed size");
            return -1;
        }
        sl_ddb_item_encode(&blob, next);
        it = sl_buf_failed(&blob) ? NULL : sl_ddb_ditem_new(hash, range, &blob, size);
        rc = it ? 0 : SL_ENOMEM;
    }
    if (rc == 0 && sl_buf_failed(&key)) rc = SL_ENOMEM;
    if (rc == 0 && (next || old))
        rc = sl_ddb_enqueue(d, true, next ? SL_ITEMSTORE_PUT_ITEM : SL_ITEMSTORE_DELETE_ITEM,
                            desc->name, key.data, key.len, blob.data, blob.len, done, ctx);
    else if (rc == 0)
        rc = sl_ddb_enqueue(d, false, SL_ITEMSTORE_PUT_ITEM, desc->name, NULL, 0, NULL, 0, done,
                            ctx);
    sl_buf_free(&key);
    sl_buf_free(&blob);
    if (rc) {
        free(it);
        internal(err, rc);
        return -1;
    }
    if (it)
        rc = sl_ddb_table_put(t, it); /* cannot fail for lack of room: see below */
    else if (old)
        sl_ddb_table_remove(t, at);
    (void)rc;
    *out = NULL;
    switch (w->return_values) {
    case SL_DDB_RV_ALL_OLD:
        *out = old;
        break;
    case SL_DDB_RV_ALL_NEW:
        *out = next;
        break;
    case SL_DDB_RV_UPDATED_OLD:
        *out = w->update ? updated_only(w->update, old, arena) : NULL;
        break;
    case SL_DDB_RV_UPDATED_NEW:
        *out = w->update ? updated_only(w->update, next, arena) : NULL;
        break;
    case SL_DDB_RV_NONE:
        break;
    }
    return 0;
}

/* Makes room for one more item so that sl_ddb_table_put after the store change was queued
 * cannot fail. */
static int reserve(sl_ddb_t *d, const char *name, size_t extra) {
    sl_ddb_table_t *t = sl_ddb_find(d, name);
    if (!t || t->count + extra <= t->cap) return 0;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < t->count + extra)
        cap *= 2;
    sl_ddb_ditem_t **items = realloc(t->items, cap * sizeof *items);
    if (!items) return SL_ENOMEM;
    t->items = items;
    t->cap = cap;
    return 0;
}

int sl_ddb_write(sl_ddb_t *d, const sl_ddb_write_t *w, int64_t now_ms, sl_arena_t *arena,
                 sl_ddb_item_t **out, sl_ddb_err_t *err, void (*done)(void *ctx, int status),
                 void *ctx) {
    pthread_rwlock_wrlock(&d->lock);
    int rc = reserve(d, w->table, 1);
    if (rc)
        internal(err, rc);
    else
        rc = apply(d, w, now_ms, arena, out, err, done, ctx);
    pthread_rwlock_unlock(&d->lock);
    return rc ? -1 : 0;
}

int sl_ddb_write_batch(sl_ddb_t *d, const sl_ddb_write_t *ws, size_t count, int64_t now_ms,
                       sl_arena_t *arena, sl_ddb_err_t *err, void (*done)(void *ctx, int status),
                       void *ctx) {
    pthread_rwlock_wrlock(&d->lock);
    int rc = 0;
    /* Check everything first: a batch is refused whole. */
    for (size_t i = 0; rc == 0 && i < count; i++) {
        sl_ddb_table_t *t = item_table(d, ws[i].table, now_ms, err);
        const sl_ddb_val_t *h, *r;
        if (!t || (ws[i].kind == SL_DDB_PUT ? check_item(t, &ws[i].item, &h, &r, err)
                                            : sl_ddb_key_of(t, &ws[i].item, &h, &r, err)))
            rc = -1;
        else if (ws[i].kind == SL_DDB_PUT &&
                 sl_ddb_item_size(&ws[i].item) > SL_DDB_ITEM_BYTES_MAX) {
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                        "Item size has exceeded the maximum allowed size");
            rc = -1;
        }
        for (size_t j = 0; rc == 0 && j < i; j++) {
            if (strcmp(ws[j].table, ws[i].table) != 0) continue;
            const sl_ddb_val_t *h2, *r2;
            sl_ddb_err_t ignore;
            if (ws[j].kind == SL_DDB_PUT ? check_item(t, &ws[j].item, &h2, &r2, &ignore)
                                         : sl_ddb_key_of(t, &ws[j].item, &h2, &r2, &ignore))
                continue;
            if (sl_ddb_val_equal(h, h2) && (!r || sl_ddb_val_equal(r, r2))) {
                sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                            "Provided list of item keys contains duplicates");
                rc = -1;
            }
        }
        if (rc == 0 && reserve(d, ws[i].table, count)) {
            internal(err, SL_ENOMEM);
            rc = -1;
        }
    }
    for (size_t i = 0; rc == 0 && i < count; i++) {
        sl_ddb_item_t *ignored;
        bool last = i + 1 == count;
        rc = apply(d, &ws[i], now_ms, arena, &ignored, err, last ? done : NULL, last ? ctx : NULL);
    }
    pthread_rwlock_unlock(&d->lock);
    return rc ? -1 : 0;
}

int sl_ddb_get(sl_ddb_t *d, const char *table, const sl_ddb_item_t *key,
               const sl_ddb_projection_t *projection, int64_t now_ms, sl_arena_t *arena,
               sl_ddb_item_t **out, sl_ddb_err_t *err) {
    pthread_rwlock_rdlock(&d->lock);
    int rc = -1;
    *out = NULL;
    sl_ddb_table_t *t = item_table(d, table, now_ms, err);
    const sl_ddb_val_t *hash, *range;
    if (t && sl_ddb_key_of(t, key, &hash, &range, err) == 0) {
        size_t at;
        int lrc;
        sl_ddb_item_t *item = load(t, hash, range, arena, &at, &lrc);
        if (lrc) {
            internal(err, lrc);
        } else if (item && projection) {
            *out = sl_arena_calloc(arena, 1, sizeof **out);
            lrc = *out ? sl_ddb_project(projection, item, arena, *out) : SL_ENOMEM;
            if (lrc)
                internal(err, lrc);
            else
                rc = 0;
        } else {
            *out = item;
            rc = 0;
        }
    }
    pthread_rwlock_unlock(&d->lock);
    return rc;
}
