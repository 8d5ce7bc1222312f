/* Table metadata in the item store: the description written as an encoded item (value.h), so the
 * store keeps one opaque blob per table and no second format exists. */
#include "dynamodb/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A small builder of map values in an arena. */
typedef struct {
    sl_arena_t *arena;
    sl_ddb_attr_t attrs[64];
    size_t count;
} mapb_t;

static void put_s(mapb_t *m, const char *name, const char *s) {
    if (m->count >= 64) return;
    m->attrs[m->count++] =
        (sl_ddb_attr_t){name, strlen(name), {.type = SL_DDB_S, .u.str = {s, strlen(s)}}};
}

static void put_n(mapb_t *m, const char *name, int64_t v) {
    char *t = sl_arena_sprintf(m->arena, "%" PRId64, v);
    if (!t || m->count >= 64) return;
    m->attrs[m->count++] =
        (sl_ddb_attr_t){name, strlen(name), {.type = SL_DDB_N, .u.str = {t, strlen(t)}}};
}

static void put_v(mapb_t *m, const char *name, sl_ddb_val_t v) {
    if (m->count >= 64) return;
    m->attrs[m->count++] = (sl_ddb_attr_t){name, strlen(name), v};
}

static sl_ddb_val_t as_map(mapb_t *m) {
    sl_ddb_val_t v = {.type = SL_DDB_M};
    v.u.map.items = sl_arena_calloc(m->arena, m->count + 1, sizeof(sl_ddb_attr_t));
    if (v.u.map.items) {
        memcpy(v.u.map.items, m->attrs, m->count * sizeof(sl_ddb_attr_t));
        v.u.map.count = m->count;
    }
    return v;
}

static void put_key(mapb_t *m, const char *name, const sl_ddb_keyattr_t *k) {
    mapb_t km = {.arena = m->arena};
    put_s(&km, "n", k->name);
    put_s(&km, "t", k->name[0] ? sl_ddb_type_name(k->type) : "");
    put_v(m, name, as_map(&km));
}

void sl_ddb_meta_encode(sl_buf_t *out, const sl_ddb_table_desc_t *d) {
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    mapb_t m = {.arena = &arena};
    put_s(&m, "name", d->name);
    put_key(&m, "hash", &d->hash);
    put_key(&m, "range", &d->range);
    sl_ddb_val_t defs = {.type = SL_DDB_L};
    defs.u.list.items = sl_arena_calloc(&arena, d->attr_def_count + 1, sizeof(sl_ddb_val_t));
    for (size_t i = 0; defs.u.list.items && i < d->attr_def_count; i++) {
        mapb_t km = {.arena = &arena};
        put_key(&km, "k", &d->attr_defs[i]);
        defs.u.list.items[defs.u.list.count++] = km.attrs[0].val;
    }
    put_v(&m, "defs", defs);
    put_n(&m, "on_demand", d->on_demand);
    put_n(&m, "rcu", d->rcu);
    put_n(&m, "wcu", d->wcu);
    put_n(&m, "sse", d->sse);
    put_s(&m, "sse_type", d->sse_type);
    put_s(&m, "kms_key", d->kms_key);
    put_n(&m, "created_ms", d->created_ms);
    sl_ddb_val_t gsis = {.type = SL_DDB_L};
    gsis.u.list.items = sl_arena_calloc(&arena, d->gsi_count + 1, sizeof(sl_ddb_val_t));
    for (size_t i = 0; gsis.u.list.items && i < d->gsi_count; i++) {
        const sl_ddb_gsi_t *g = &d->gsis[i];
        mapb_t gm = {.arena = &arena};
        put_s(&gm, "name", g->name);
        put_key(&gm, "hash", &g->hash);
        put_key(&gm, "range", &g->range);
        put_s(&gm, "projection", g->projection);
        put_n(&gm, "rcu", g->rcu);
        put_n(&gm, "wcu", g->wcu);
        put_n(&gm, "created_ms", g->created_ms);
        sl_ddb_val_t inc = {.type = SL_DDB_L};
        inc.u.list.items = sl_arena_calloc(&arena, g->include_count + 1, sizeof(sl_ddb_val_t));
        for (size_t j = 0; inc.u.list.items && j < g->include_count; j++)
            inc.u.list.items[inc.u.list.count++] =
                (sl_ddb_val_t){.type = SL_DDB_S, .u.str = {g->include[j], strlen(g->include[j])}};
        put_v(&gm, "include", inc);
        gsis.u.list.items[gsis.u.list.count++] = as_map(&gm);
    }
    put_v(&m, "gsis", gsis);
    sl_ddb_val_t tags = {.type = SL_DDB_L};
    tags.u.list.items = sl_arena_calloc(&arena, d->tag_count + 1, sizeof(sl_ddb_val_t));
    for (size_t i = 0; tags.u.list.items && i < d->tag_count; i++) {
        mapb_t tm = {.arena = &arena};
        put_s(&tm, "k", d->tags[i].key);
        put_s(&tm, "v", d->tags[i].value);
        tags.u.list.items[tags.u.list.count++] = as_map(&tm);
    }
    put_v(&m, "tags", tags);
    sl_ddb_item_t item = {m.attrs, m.count};
    sl_ddb_item_encode(out, &item);
    sl_arena_deinit(&arena);
}

static const sl_ddb_val_t *get(const sl_ddb_val_t *map, const char *name) {
    if (!map || map->type != SL_DDB_M) return NULL;
    sl_ddb_item_t m = {map->u.map.items, map->u.map.count};
    return sl_ddb_item_get(&m, name, strlen(name));
}

static void get_s(const sl_ddb_val_t *map, const char *name, char *out, size_t cap) {
    const sl_ddb_val_t *v = get(map, name);
    if (v && v->type == SL_DDB_S) snprintf(out, cap, "%.*s", (int)v->u.str.len, v->u.str.ptr);
}

static int64_t get_n(const sl_ddb_val_t *map, const char *name) {
    const sl_ddb_val_t *v = get(map, name);
    if (!v || v->type != SL_DDB_N) return 0;
    char buf[32];
    snprintf(buf, sizeof buf, "%.*s", (int)v->u.str.len, v->u.str.ptr);
    return strtoll(buf, NULL, 10);
}

static void get_key(const sl_ddb_val_t *map, const char *name, sl_ddb_keyattr_t *k) {
    const sl_ddb_val_t *km = get(map, name);
    char type[4] = "";
    get_s(km, "n", k->name, sizeof k->name);
    get_s(km, "t", type, sizeof type);
    k->type = sl_ddb_type_of(type, strlen(type));
}

int sl_ddb_meta_decode(const void *data, size_t len, sl_ddb_table_desc_t *d) {
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_ddb_item_t item;
    int rc = sl_ddb_item_decode(data, len, &arena, &item);
    if (rc) {
        sl_arena_deinit(&arena);
        return rc;
    }
    sl_ddb_val_t root = {.type = SL_DDB_M, .u.map = {item.attrs, item.count}};
    memset(d, 0, sizeof *d);
    get_s(&root, "name", d->name, sizeof d->name);
    get_key(&root, "hash", &d->hash);
    get_key(&root, "range", &d->range);
    const sl_ddb_val_t *defs = get(&root, "defs");
    for (size_t i = 0; defs && defs->type == SL_DDB_L && i < defs->u.list.count &&
                       d->attr_def_count < SL_DDB_ATTR_DEFS_MAX;
         i++) {
        sl_ddb_val_t wrap = {.type = SL_DDB_M,
                             .u.map = {&(sl_ddb_attr_t){"k", 1, defs->u.list.items[i]}, 1}};
        get_key(&wrap, "k", &d->attr_defs[d->attr_def_count++]);
    }
    d->on_demand = get_n(&root, "on_demand") != 0;
    d->rcu = get_n(&root, "rcu");
    d->wcu = get_n(&root, "wcu");
    d->sse = get_n(&root, "sse") != 0;
    get_s(&root, "sse_type", d->sse_type, sizeof d->sse_type);
    get_s(&root, "kms_key", d->kms_key, sizeof d->kms_key);
    d->created_ms = get_n(&root, "created_ms");
    const sl_ddb_val_t *gsis = get(&root, "gsis");
    for (size_t i = 0;
         gsis && gsis->type == SL_DDB_L && i < gsis->u.list.count && d->gsi_count < SL_DDB_GSI_MAX;
         i++) {
        const sl_ddb_val_t *gm = &gsis->u.list.items[i];
        sl_ddb_gsi_t *g = &d->gsis[d->gsi_count++];
        get_s(gm, "name", g->name, sizeof g->name);
        get_key(gm, "hash", &g->hash);
        get_key(gm, "range", &g->range);
        get_s(gm, "projection", g->projection, sizeof g->projection);
        g->rcu = get_n(gm, "rcu");
        g->wcu = get_n(gm, "wcu");
        g->created_ms = get_n(gm, "created_ms");
        const sl_ddb_val_t *inc = get(gm, "include");
        if (inc && inc->type == SL_DDB_L && inc->u.list.count) {
            g->include = calloc(inc->u.list.count, sizeof(char *));
            for (size_t j = 0; g->include && j < inc->u.list.count; j++) {
                const sl_ddb_val_t *s = &inc->u.list.items[j];
                if (s->type != SL_DDB_S) continue;
                g->include[g->include_count] = strndup(s->u.str.ptr, s->u.str.len);
                if (g->include[g->include_count]) g->include_count++;
            }
        }
    }
    const sl_ddb_val_t *tags = get(&root, "tags");
    for (size_t i = 0;
         tags && tags->type == SL_DDB_L && i < tags->u.list.count && d->tag_count < SL_DDB_TAGS_MAX;
         i++) {
        get_s(&tags->u.list.items[i], "k", d->tags[d->tag_count].key, sizeof d->tags[0].key);
        get_s(&tags->u.list.items[i], "v", d->tags[d->tag_count].value, sizeof d->tags[0].value);
        d->tag_count++;
    }
    sl_arena_deinit(&arena);
    return d->name[0] && d->hash.name[0] ? 0 : SL_ECORRUPT;
}
