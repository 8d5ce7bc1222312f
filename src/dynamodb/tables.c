/* DynamoDB table operations: CreateTable, DescribeTable, DeleteTable, ListTables, UpdateTable
 * and tags (see dynamodb.h). */
#include "dynamodb/internal.h"

#include "core/crc32c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sl_ddb_table_status(const sl_ddb_t *d, const sl_ddb_table_t *t, int64_t now_ms) {
    return now_ms < t->desc.created_ms + d->create_table_ms ? "CREATING" : "ACTIVE";
}

static void fill(const sl_ddb_t *d, const sl_ddb_table_t *t, int64_t now_ms,
                 sl_ddb_table_desc_t *out) {
    *out = t->desc;
    for (size_t g = 0; g < out->gsi_count; g++)
        out->gsis[g].include = NULL;
    snprintf(out->arn, sizeof out->arn, "arn:aws:dynamodb:%s:%s:table/%s", d->region, d->account,
             t->desc.name);
    uint32_t a = sl_crc32c(0, t->desc.name, strlen(t->desc.name));
    uint32_t b = sl_crc32c(a, &t->desc.created_ms, sizeof t->desc.created_ms);
    snprintf(out->id, sizeof out->id, "%08x-%04x-4%03x-8%03x-%08x%04x", a, b >> 16, b & 0xfff,
             (a >> 8) & 0xfff, a ^ b, b & 0xffff);
    out->status = sl_ddb_table_status(d, t, now_ms);
    out->item_count = (int64_t)t->count;
    out->size_bytes = t->bytes;
}

static const sl_ddb_keyattr_t *find_def(const sl_ddb_keyattr_t *defs, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(defs[i].name, name) == 0) return &defs[i];
    return NULL;
}

/* Checks that every key attribute of the table and its indexes is defined, gives the keys their
 * types, and that no definition is unused. */
static int check_keys(sl_ddb_table_desc_t *desc, sl_ddb_err_t *err) {
    sl_ddb_keyattr_t *keys[2 + 2 * SL_DDB_GSI_MAX];
    size_t n = 0;
    keys[n++] = &desc->hash;
    if (desc->range.name[0]) keys[n++] = &desc->range;
    for (size_t g = 0; g < desc->gsi_count; g++) {
        keys[n++] = &desc->gsis[g].hash;
        if (desc->gsis[g].range.name[0]) keys[n++] = &desc->gsis[g].range;
    }
    for (size_t i = 0; i < n; i++) {
        const sl_ddb_keyattr_t *def =
            find_def(desc->attr_defs, desc->attr_def_count, keys[i]->name);
        if (!def) {
            char keyl[1024] = "", defl[1024] = "";
            size_t o = 0;
            for (size_t j = 0; j < n && o < sizeof keyl; j++)
                o += (size_t)snprintf(keyl + o, sizeof keyl - o, "%s%s", j ? ", " : "",
                                      keys[j]->name);
            o = 0;
            for (size_t j = 0; j < desc->attr_def_count && o < sizeof defl; j++)
                o += (size_t)snprintf(defl + o, sizeof defl - o, "%s%s", j ? ", " : "",
                                      desc->attr_defs[j].name);
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                        "One or more parameter values were invalid: Some index key attributes "
                        "are not defined in AttributeDefinitions. Keys: [%s], "
                        "AttributeDefinitions: [%s]",
                        keyl, defl);
            return -1;
        }
        keys[i]->type = def->type;
    }
    for (size_t i = 0; i < desc->attr_def_count; i++) {
        bool used = false;
        for (size_t j = 0; j < n; j++)
            used |= strcmp(keys[j]->name, desc->attr_defs[i].name) == 0;
        if (!used) {
            sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                        "One or more parameter values were invalid: Number of attributes in "
                        "KeySchema does not exactly match number of attributes defined in "
                        "AttributeDefinitions");
            return -1;
        }
    }
    return 0;
}

int sl_ddb_create_table(sl_ddb_t *d, sl_ddb_table_desc_t *desc, int64_t now_ms, sl_ddb_err_t *err,
                        void (*done)(void *ctx, int status), void *ctx) {
    if (check_keys(desc, err)) return -1;
    sl_ddb_table_t *t = calloc(1, sizeof *t);
    if (!t) {
        sl_ddb_fail(err, SL_DDB_ERR_INTERNAL, NULL);
        err->cause = SL_ENOMEM;
        return -1;
    }
    t->desc = *desc;
    t->desc.created_ms = now_ms;
    for (size_t g = 0; g < t->desc.gsi_count; g++) {
        t->desc.gsis[g].created_ms = now_ms;
        t->desc.gsis[g].include = NULL;
        t->desc.gsis[g].include_count = 0;
    }
    sl_buf_t meta = SL_BUF_INIT;
    sl_ddb_meta_encode(&meta, &t->desc);
    pthread_rwlock_wrlock(&d->lock);
    int rc = 0;
    if (sl_ddb_find(d, desc->name)) {
        sl_ddb_fail(err, SL_DDB_ERR_IN_USE, "Table already exists: %s", desc->name);
        rc = -1;
    } else if (d->table_count >= SL_DDB_TABLES_MAX) {
        sl_ddb_fail(err, SL_DDB_ERR_LIMIT,
                    "Subscriber limit exceeded: There is a limit of %d tables per account",
                    SL_DDB_TABLES_MAX);
        rc = -1;
    } else if (sl_buf_failed(&meta) || sl_ddb_enqueue(d, true, SL_ITEMSTORE_PUT_TABLE, desc->name,
                                                      NULL, 0, meta.data, meta.len, done, ctx)) {
        sl_ddb_fail(err, SL_DDB_ERR_INTERNAL, NULL);
        err->cause = SL_ENOMEM;
        rc = -1;
    } else {
        d->tables[d->table_count++] = t;
        fill(d, t, now_ms, desc);
        desc->status = "CREATING";
        t = NULL;
    }
    pthread_rwlock_unlock(&d->lock);
    sl_buf_free(&meta);
    free(t);
    return rc;
}

int sl_ddb_describe_table(sl_ddb_t *d, const char *name, int64_t now_ms, sl_ddb_table_desc_t *out,
                          sl_ddb_err_t *err) {
    pthread_rwlock_rdlock(&d->lock);
    sl_ddb_table_t *t = sl_ddb_find(d, name);
    if (t) fill(d, t, now_ms, out);
    pthread_rwlock_unlock(&d->lock);
    if (!t) {
        sl_ddb_fail(err, SL_DDB_ERR_NOT_FOUND, "Requested resource not found: Table: %s not found",
                    name);
        return -1;
    }
    return 0;
}

int sl_ddb_delete_table(sl_ddb_t *d, const char *name, int64_t now_ms, sl_ddb_table_desc_t *out,
                        sl_ddb_err_t *err, void (*done)(void *ctx, int status), void *ctx) {
    pthread_rwlock_wrlock(&d->lock);
    int rc = 0;
    size_t at = d->table_count;
    for (size_t i = 0; i < d->table_count; i++)
        if (strcmp(d->tables[i]->desc.name, name) == 0) at = i;
    if (at == d->table_count) {
        sl_ddb_fail(err, SL_DDB_ERR_NOT_FOUND, "Requested resource not found: Table: %s not found",
                    name);
        rc = -1;
    } else if (strcmp(sl_ddb_table_status(d, d->tables[at], now_ms), "CREATING") == 0) {
        sl_ddb_fail(err, SL_DDB_ERR_IN_USE,
                    "Attempt to change a resource which is still in use: Table is being created: "
                    "%s",
                    name);
        rc = -1;
    } else if (sl_ddb_enqueue(d, true, SL_ITEMSTORE_DELETE_TABLE, name, NULL, 0, NULL, 0, done,
                              ctx)) {
        sl_ddb_fail(err, SL_DDB_ERR_INTERNAL, NULL);
        err->cause = SL_ENOMEM;
        rc = -1;
    } else {
        sl_ddb_table_t *t = d->tables[at];
        fill(d, t, now_ms, out);
        out->status = "DELETING";
        d->tables[at] = d->tables[--d->table_count];
        sl_ddb_table_free(t);
    }
    pthread_rwlock_unlock(&d->lock);
    return rc;
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int sl_ddb_list_tables(sl_ddb_t *d, const char *start, size_t limit, sl_arena_t *arena,
                       char ***names, size_t *count, bool *more) {
    pthread_rwlock_rdlock(&d->lock);
    size_t n = d->table_count;
    char **all = sl_arena_calloc(arena, n + 1, sizeof(char *));
    for (size_t i = 0; all && i < n; i++)
        all[i] = sl_arena_strndup(arena, d->tables[i]->desc.name, strlen(d->tables[i]->desc.name));
    pthread_rwlock_unlock(&d->lock);
    if (!all) return SL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!all[i]) return SL_ENOMEM;
    qsort(all, n, sizeof *all, name_cmp);
    size_t from = 0;
    while (start && from < n && strcmp(all[from], start) <= 0)
        from++;
    size_t take = n - from < limit ? n - from : limit;
    *names = all + from;
    *count = take;
    *more = from + take < n;
    return 0;
}

static sl_ddb_table_t *active_table(sl_ddb_t *d, const char *name, int64_t now_ms,
                                    sl_ddb_err_t *err) {
    sl_ddb_table_t *t = sl_ddb_find(d, name);
    if (!t) {
        sl_ddb_fail(err, SL_DDB_ERR_NOT_FOUND, "Requested resource not found: Table: %s not found",
                    name);
        return NULL;
    }
    if (strcmp(sl_ddb_table_status(d, t, now_ms), "ACTIVE") != 0) {
        sl_ddb_fail(err, SL_DDB_ERR_IN_USE,
                    "Attempt to change a resource which is still in use: Table is being created: "
                    "%s",
                    name);
        return NULL;
    }
    return t;
}

/* Writes t's metadata through (caller holds the write lock). */
static int save_meta(sl_ddb_t *d, const sl_ddb_table_t *t, sl_ddb_err_t *err,
                     void (*done)(void *ctx, int status), void *ctx) {
    sl_buf_t meta = SL_BUF_INIT;
    sl_ddb_meta_encode(&meta, &t->desc);
    int rc = sl_buf_failed(&meta) ? SL_ENOMEM
                                  : sl_ddb_enqueue(d, true, SL_ITEMSTORE_PUT_TABLE, t->desc.name,
                                                   NULL, 0, meta.data, meta.len, done, ctx);
    sl_buf_free(&meta);
    if (rc) {
        sl_ddb_fail(err, SL_DDB_ERR_INTERNAL, NULL);
        err->cause = rc;
        return -1;
    }
    return 0;
}

int sl_ddb_update_table(sl_ddb_t *d, const sl_ddb_update_table_t *req, int64_t now_ms,
                        sl_ddb_table_desc_t *out, sl_ddb_err_t *err,
                        void (*done)(void *ctx, int status), void *ctx) {
    pthread_rwlock_wrlock(&d->lock);
    int rc = -1;
    sl_ddb_table_t *t = active_table(d, req->name, now_ms, err);
    if (!t) goto out;
    sl_ddb_table_desc_t next = t->desc;
    if (req->billing) next.on_demand = req->billing == 1;
    if (req->has_throughput) {
        next.rcu = req->rcu;
        next.wcu = req->wcu;
    }
    if (req->billing == 1) next.rcu = next.wcu = 0;
    if (req->gsi_add) {
        for (size_t g = 0; g < next.gsi_count; g++)
            if (strcmp(next.gsis[g].name, req->gsi_add->name) == 0) {
                sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                            "One or more parameter values were invalid: Index with name %s "
                            "already exists",
                            req->gsi_add->name);
                goto out;
            }
        if (next.gsi_count >= SL_DDB_GSI_MAX) {
            sl_ddb_fail(err, SL_DDB_ERR_LIMIT,
                        "One or more parameter values were invalid: GlobalSecondaryIndex count "
                        "exceeds the per-table limit of %d",
                        SL_DDB_GSI_MAX);
            goto out;
        }
        sl_ddb_gsi_t *g = &next.gsis[next.gsi_count++];
        *g = *req->gsi_add;
        g->include = NULL;
        g->include_count = 0;
        g->created_ms = now_ms;
        for (size_t i = 0; i < req->def_count; i++)
            if (!find_def(next.attr_defs, next.attr_def_count, req->defs[i].name) &&
                next.attr_def_count < SL_DDB_ATTR_DEFS_MAX)
                next.attr_defs[next.attr_def_count++] = req->defs[i];
        if (check_keys(&next, err)) goto out;
    }
    if (req->gsi_delete) {
        size_t g = 0;
        while (g < next.gsi_count && strcmp(next.gsis[g].name, req->gsi_delete) != 0)
            g++;
        if (g == next.gsi_count) {
            sl_ddb_fail(err, SL_DDB_ERR_NOT_FOUND,
                        "Requested resource not found: Index: %s not found", req->gsi_delete);
            goto out;
        }
        free(next.gsis[g].include);
        memmove(&next.gsis[g], &next.gsis[g + 1], (next.gsi_count - g - 1) * sizeof next.gsis[0]);
        next.gsi_count--;
    }
    sl_ddb_table_desc_t old = t->desc;
    t->desc = next;
    if (save_meta(d, t, err, done, ctx)) {
        t->desc = old;
        goto out;
    }
    fill(d, t, now_ms, out);
    rc = 0;
out:
    pthread_rwlock_unlock(&d->lock);
    return rc;
}

/* The table of a resource ARN of this account, or NULL with AWS's error. */
static sl_ddb_table_t *by_arn(sl_ddb_t *d, const char *arn, sl_ddb_err_t *err) {
    char prefix[128];
    int n = snprintf(prefix, sizeof prefix, "arn:aws:dynamodb:%s:%s:table/", d->region, d->account);
    sl_ddb_table_t *t = NULL;
    if (strncmp(arn, prefix, (size_t)n) == 0) t = sl_ddb_find(d, arn + n);
    if (!t && strncmp(arn, "arn:", 4) != 0) {
        sl_ddb_fail(err, SL_DDB_ERR_VALIDATION,
                    "Invalid TableArn: Invalid ResourceArn provided "
                    "as input %s",
                    arn);
        return NULL;
    }
    if (!t)
        sl_ddb_fail(err, SL_DDB_ERR_NOT_FOUND,
                    "Requested resource not found: ResourcArn: %s not "
                    "found",
                    arn);
    return t;
}

int sl_ddb_tag(sl_ddb_t *d, const char *arn, const sl_ddb_tag_t *add, size_t add_count,
               const char *const *remove, size_t remove_count, sl_ddb_err_t *err,
               void (*done)(void *ctx, int status), void *ctx) {
    pthread_rwlock_wrlock(&d->lock);
    int rc = -1;
    sl_ddb_table_t *t = by_arn(d, arn, err);
    if (!t) goto out;
    sl_ddb_table_desc_t old = t->desc;
    for (size_t i = 0; i < add_count; i++) {
        size_t j = 0;
        while (j < t->desc.tag_count && strcmp(t->desc.tags[j].key, add[i].key) != 0)
            j++;
        if (j == t->desc.tag_count) {
            if (t->desc.tag_count >= SL_DDB_TAGS_MAX) {
                t->desc = old;
                sl_ddb_fail(err, SL_DDB_ERR_LIMIT,
                            "One or more parameter values were invalid: The number of tags "
                            "exceeds the limit of %d",
                            SL_DDB_TAGS_MAX);
                goto out;
            }
            t->desc.tag_count++;
        }
        t->desc.tags[j] = add[i];
    }
    for (size_t i = 0; i < remove_count; i++)
        for (size_t j = 0; j < t->desc.tag_count; j++)
            if (strcmp(t->desc.tags[j].key, remove[i]) == 0) {
                t->desc.tags[j] = t->desc.tags[--t->desc.tag_count];
                break;
            }
    if (save_meta(d, t, err, done, ctx)) {
        t->desc = old;
        goto out;
    }
    rc = 0;
out:
    pthread_rwlock_unlock(&d->lock);
    return rc;
}

int sl_ddb_list_tags(sl_ddb_t *d, const char *arn, sl_ddb_table_desc_t *out, sl_ddb_err_t *err) {
    pthread_rwlock_rdlock(&d->lock);
    sl_ddb_table_t *t = by_arn(d, arn, err);
    if (t) fill(d, t, 0, out);
    pthread_rwlock_unlock(&d->lock);
    return t ? 0 : -1;
}
