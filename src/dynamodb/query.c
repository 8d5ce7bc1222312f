/* DynamoDB Query and Scan (see dynamodb.h): key conditions on the table or a global secondary
 * index, filters, projections, pages of at most Limit items or 1 MB, ExclusiveStartKey, and
 * parallel scan segments. */
#include "dynamodb/internal.h"

#include "core/crc32c.h"

#include <stdlib.h>
#include <string.h>

int sl_ddb_key_of(const sl_ddb_table_t *t, const sl_ddb_item_t *key, const sl_ddb_val_t **hash,
                  const sl_ddb_val_t **range, sl_ddb_err_t *err);

typedef struct {
    const sl_ddb_keyattr_t *hash, *range; /* of the table or the index */
    const sl_ddb_gsi_t *gsi;
} schema_t;

static bool is_name(const sl_ddb_expr_t *e, const sl_ddb_keyattr_t *k) {
    return k && k->name[0] && e->kind == SL_DDB_X_PATH && e->path.count == 1 &&
           !e->path.elems[0].is_index && e->path.elems[0].name_len == strlen(k->name) &&
           memcmp(e->path.elems[0].name, k->name, e->path.elems[0].name_len) == 0;
}

/* The path an elementary key condition is about, or NULL. */
static const sl_ddb_expr_t *cond_path(const sl_ddb_expr_t *c) {
    if (c->kind == SL_DDB_X_CMP || c->kind == SL_DDB_X_BETWEEN)
        return c->args[0]->kind == SL_DDB_X_PATH ? c->args[0] : NULL;
    if (c->kind == SL_DDB_X_BEGINS_WITH) return c->args[0];
    return NULL;
}

/* Splits the key condition into its hash equality and optional range condition. */
static int key_conditions(const sl_ddb_expr_t *kc, const schema_t *s, const sl_ddb_val_t **hash,
                          const sl_ddb_expr_t **range, sl_ddb_err_t *err) {
    const sl_ddb_expr_t *parts[2];
    size_t n = 0;
    if (kc->kind == SL_DDB_X_AND) {
        if (kc->args[0]->kind == SL_DDB_X_AND || kc->args[1]->kind == SL_DDB_X_AND) {
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                        "Invalid KeyConditionExpression: The expression has redundant "
                        "parentheses;");
            return -1;
        }
        parts[n++] = kc->args[0];
        parts[n++] = kc->args[1];
    } else {
        parts[n++] = kc;
    }
    *hash = NULL;
    *range = NULL;
    for (size_t i = 0; i < n; i++) {
        const sl_ddb_expr_t *c = parts[i];
        if (c->kind == SL_DDB_X_OR || c->kind == SL_DDB_X_NOT || c->kind == SL_DDB_X_IN ||
            (c->kind == SL_DDB_X_CMP && c->cmp == SL_DDB_NE)) {
            static const char *const ops[] = {[SL_DDB_X_OR] = "OR",
                                              [SL_DDB_X_NOT] = "NOT",
                                              [SL_DDB_X_IN] = "IN",
                                              [SL_DDB_X_CMP] = "<>"};
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                        "Invalid operator used in KeyConditionExpression: %s", ops[c->kind]);
            return -1;
        }
        const sl_ddb_expr_t *p = cond_path(c);
        if (!p) {
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION, "Query key condition not supported");
            return -1;
        }
        if (is_name(p, s->hash) && c->kind == SL_DDB_X_CMP && c->cmp == SL_DDB_EQ &&
            c->args[1]->kind == SL_DDB_X_VALUE && !*hash) {
            *hash = c->args[1]->value;
            if ((*hash)->type != s->hash->type) {
                sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                            "One or more parameter values were invalid: Condition parameter type "
                            "does not match schema type");
                return -1;
            }
        } else if (is_name(p, s->range) && !*range) {
            *range = c;
        } else {
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION, "Query key condition not supported");
            return -1;
        }
    }
    if (!*hash) {
        sl_ddb_fail(err, SL_DDB_ERR_VALIDATION, "Query condition missed key schema element: %s",
                    s->hash->name);
        return -1;
    }
    return 0;
}

/* The key attributes of an item for LastEvaluatedKey: the table's, and the index's. */
static sl_ddb_item_t *key_of_item(const sl_ddb_table_t *t, const schema_t *s,
                                  const sl_ddb_item_t *item, sl_arena_t *arena) {
    const sl_ddb_keyattr_t *keys[4] = {&t->desc.hash, t->desc.range.name[0] ? &t->desc.range : NULL,
                                       s->gsi ? s->hash : NULL, s->gsi ? s->range : NULL};
    sl_ddb_item_t *k = sl_arena_calloc(arena, 1, sizeof *k);
    if (!k) return NULL;
    k->attrs = sl_arena_calloc(arena, 4, sizeof(sl_ddb_attr_t));
    if (!k->attrs) return NULL;
    for (int i = 0; i < 4; i++) {
        if (!keys[i] || !keys[i]->name[0]) continue;
        if (sl_ddb_item_get(k, keys[i]->name, strlen(keys[i]->name))) continue;
        const sl_ddb_val_t *v = sl_ddb_item_get(item, keys[i]->name, strlen(keys[i]->name));
        if (v) k->attrs[k->count++] = (sl_ddb_attr_t){keys[i]->name, strlen(keys[i]->name), *v};
    }
    return k;
}

typedef struct {
    const sl_ddb_ditem_t *it;
    sl_ddb_item_t item; /* decoded when `decoded` (at once for an index, else when reached) */
    bool decoded;
    const sl_ddb_val_t *ih, *ir; /* index key values */
} cand_t;

/* The candidate's item, decoded into the arena on first use; NULL on a decoding failure. */
static const sl_ddb_item_t *cand_item(cand_t *c, sl_arena_t *arena) {
    if (!c->decoded &&
        sl_ddb_item_decode(sl_ddb_ditem_blob(c->it), c->it->blob_len, arena, &c->item) != 0)
        return NULL;
    c->decoded = true;
    return &c->item;
}

static const schema_t *sort_schema;
static const sl_ddb_table_t *sort_table;
static bool sort_backward;

/* Index order: index hash, index range, then the table key. */
static int cand_cmp(const void *a, const void *b) {
    const cand_t *x = a, *y = b;
    int c = 0;
    if (sort_schema->range && sort_schema->range->name[0] && x->ir && y->ir)
        c = sl_ddb_val_cmp(x->ir, y->ir);
    if (c == 0) {
        sl_ddb_val_t h, r;
        sl_ddb_ditem_key(y->it, &h, &r);
        c = -sl_ddb_key_cmp(h.type, h.u.str.ptr, h.u.str.len, r.type, r.u.str.ptr, r.u.str.len,
                            x->it);
    }
    (void)sort_table;
    return sort_backward ? -c : c;
}

static pthread_mutex_t sort_mu = PTHREAD_MUTEX_INITIALIZER;

int sl_ddb_query(sl_ddb_t *d, const sl_ddb_query_t *q, bool scan, int64_t now_ms, sl_arena_t *arena,
                 sl_ddb_page_t *out, sl_ddb_err_t *err) {
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&d->lock);
    int rc = -1;
    cand_t *cands = NULL;
    sl_ddb_table_t *t = sl_ddb_find(d, q->table);
    if (!t || strcmp(sl_ddb_table_status(d, t, now_ms), "ACTIVE") != 0) {
        sl_ddb_fail(err, SL_DDB_ERR_NOT_FOUND, "Requested resource not found");
        goto out;
    }
    schema_t s = {&t->desc.hash, t->desc.range.name[0] ? &t->desc.range : NULL, NULL};
    if (q->index) {
        for (size_t g = 0; g < t->desc.gsi_count; g++)
            if (strcmp(t->desc.gsis[g].name, q->index) == 0) s.gsi = &t->desc.gsis[g];
        if (!s.gsi) {
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                        "The table does not have the specified index: %s", q->index);
            goto out;
        }
        s.hash = &s.gsi->hash;
        s.range = s.gsi->range.name[0] ? &s.gsi->range : NULL;
    }
    const sl_ddb_val_t *hash = NULL;
    const sl_ddb_expr_t *range_cond = NULL;
    if (!scan && key_conditions(q->key_condition, &s, &hash, &range_cond, err)) goto out;
    /* Candidates in order. */
    size_t lo = 0, hi = t->count;
    if (!scan && !s.gsi) {
        bool found;
        lo = sl_ddb_table_seek(t, hash, NULL, &found);
        hi = lo;
        while (hi < t->count && sl_ddb_key_cmp(hash->type, hash->u.str.ptr, hash->u.str.len, 0,
                                               NULL, 0, t->items[hi]) == 0)
            hi++;
    }
    cands = calloc(hi - lo + 1, sizeof *cands);
    if (!cands) {
        sl_ddb_fail(err, SL_DDB_ERR_INTERNAL, NULL);
        err->cause = SL_ENOMEM;
        goto out;
    }
    size_t n = 0;
    for (size_t i = lo; i < hi; i++) {
        const sl_ddb_ditem_t *it = t->items[i];
        if (scan && q->total_segments > 0 &&
            (int64_t)(sl_crc32c(0, it->data, it->hlen) % (uint32_t)q->total_segments) != q->segment)
            continue;
        cand_t *c = &cands[n];
        *c = (cand_t){.it = it}; /* the slot of a candidate left out before may be reused */
        if (s.gsi && !cand_item(c, arena)) {
            sl_ddb_fail(err, SL_DDB_ERR_INTERNAL, NULL);
            err->cause = SL_ECORRUPT;
            goto out;
        }
        if (s.gsi) {
            c->ih = sl_ddb_item_get(&c->item, s.hash->name, strlen(s.hash->name));
            c->ir =
                s.range ? sl_ddb_item_get(&c->item, s.range->name, strlen(s.range->name)) : NULL;
            if (!c->ih || (s.range && !c->ir)) continue; /* not in the index */
            if (!scan && !sl_ddb_val_equal(c->ih, hash)) continue;
        }
        n++;
    }
    if (!s.gsi && q->backward) {
        /* The table's order, reversed. */
        for (size_t i = 0; i < n / 2; i++) {
            cand_t tmp = cands[i];
            cands[i] = cands[n - 1 - i];
            cands[n - 1 - i] = tmp;
        }
    } else if (s.gsi) {
        pthread_mutex_lock(&sort_mu);
        sort_schema = &s;
        sort_table = t;
        sort_backward = q->backward;
        qsort(cands, n, sizeof *cands, cand_cmp);
        pthread_mutex_unlock(&sort_mu);
    }
    /* ExclusiveStartKey: continue after the candidate with that table key. */
    size_t from = 0;
    if (q->start_key) {
        const sl_ddb_val_t *sh, *sr;
        sl_ddb_item_t tk = {sl_arena_calloc(arena, 2, sizeof(sl_ddb_attr_t)), 0};
        if (!tk.attrs) {
            sl_ddb_fail(err, SL_DDB_ERR_INTERNAL, NULL);
            goto out;
        }
        const sl_ddb_keyattr_t *keys[2] = {&t->desc.hash,
                                           t->desc.range.name[0] ? &t->desc.range : NULL};
        for (int i = 0; i < 2; i++) {
            if (!keys[i]) continue;
            const sl_ddb_val_t *v =
                sl_ddb_item_get(q->start_key, keys[i]->name, strlen(keys[i]->name));
            if (v) tk.attrs[tk.count++] = (sl_ddb_attr_t){keys[i]->name, strlen(keys[i]->name), *v};
        }
        if (sl_ddb_key_of(t, &tk, &sh, &sr, err)) {
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                        "The provided starting key is invalid: The provided key element does not "
                        "match the schema");
            goto out;
        }
        /* The first candidate past the start key in this order. */
        while (from < n) {
            const sl_ddb_ditem_t *it = cands[from].it;
            int c = sl_ddb_key_cmp(sh->type, sh->u.str.ptr, sh->u.str.len, sr ? sr->type : 0,
                                   sr ? sr->u.str.ptr : NULL, sr ? sr->u.str.len : 0, it);
            from++;
            if (c == 0) break;
            if (!s.gsi && (q->backward ? c > 0 : c < 0)) {
                from--;
                break;
            }
        }
        if (s.gsi && from == n) {
            /* not found: nothing after it */
        }
    }
    out->items = sl_arena_calloc(arena, n + 1, sizeof(sl_ddb_item_t));
    if (!out->items) {
        sl_ddb_fail(err, SL_DDB_ERR_INTERNAL, NULL);
        err->cause = SL_ENOMEM;
        goto out;
    }
    size_t bytes = 0, last = n;
    for (size_t i = from; i < n; i++) {
        cand_t *c = &cands[i];
        if (!cand_item(c, arena)) {
            sl_ddb_fail(err, SL_DDB_ERR_INTERNAL, NULL);
            err->cause = SL_ECORRUPT;
            goto out;
        }
        if (range_cond && !sl_ddb_expr_test(range_cond, &c->item, arena)) continue;
        out->scanned++;
        last = i;
        bytes += c->it->size;
        if (!q->filter || sl_ddb_expr_test(q->filter, &c->item, arena)) {
            sl_ddb_item_t *dst = &out->items[out->count++];
            if (q->count_only) {
                /* counted only */
            } else if (q->projection) {
                if (sl_ddb_project(q->projection, &c->item, arena, dst)) {
                    sl_ddb_fail(err, SL_DDB_ERR_INTERNAL, NULL);
                    err->cause = SL_ENOMEM;
                    goto out;
                }
            } else {
                *dst = c->item;
            }
        }
        bool more = false;
        for (size_t j = i + 1; j < n && !more; j++) {
            const sl_ddb_item_t *next = range_cond ? cand_item(&cands[j], arena) : NULL;
            more = !range_cond || (next && sl_ddb_expr_test(range_cond, next, arena));
        }
        if (!more) break;
        if ((q->limit > 0 && (int64_t)out->scanned >= q->limit) || bytes >= SL_DDB_PAGE_BYTES_MAX) {
            out->last_key = key_of_item(t, &s, &cands[last].item, arena);
            break;
        }
    }
    rc = 0;
out:
    pthread_rwlock_unlock(&d->lock);
    free(cands);
    return rc;
}
