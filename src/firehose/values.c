/* Value-tree helpers for stored destination configurations (see internal.h). */
#include "firehose/internal.h"

#include "core/common.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <stdio.h>
#include <string.h>

sl_val_t *fh_val_clone(sl_arena_t *a, const sl_val_t *v) {
    if (!v) return NULL;
    sl_val_t *c = sl_arena_alloc(a, sizeof *c);
    if (!c) return NULL;
    *c = *v;
    switch (v->type) {
    case SL_VAL_NUMBER:
        if (v->u.num.text) c->u.num.text = sl_arena_strndup(a, v->u.num.text, v->u.num.text_len);
        break;
    case SL_VAL_STRING:
    case SL_VAL_BYTES:
        c->u.str.ptr = sl_arena_strndup(a, v->u.str.ptr, v->u.str.len);
        break;
    case SL_VAL_ARRAY:
        c->u.arr.items =
            sl_arena_calloc(a, v->u.arr.count ? v->u.arr.count : 1, sizeof(sl_val_t *));
        for (size_t i = 0; c->u.arr.items && i < v->u.arr.count; i++)
            c->u.arr.items[i] = fh_val_clone(a, v->u.arr.items[i]);
        break;
    case SL_VAL_MAP:
        c->u.map.items = sl_arena_calloc(a, v->u.map.count ? v->u.map.count : 1, sizeof(sl_kv_t));
        for (size_t i = 0; c->u.map.items && i < v->u.map.count; i++) {
            c->u.map.items[i].key =
                sl_arena_strndup(a, v->u.map.items[i].key, v->u.map.items[i].key_len);
            c->u.map.items[i].key_len = v->u.map.items[i].key_len;
            c->u.map.items[i].val = fh_val_clone(a, v->u.map.items[i].val);
        }
        break;
    default:
        break;
    }
    return c;
}

sl_val_t *fh_val_str(sl_arena_t *a, const char *s) {
    sl_val_t *v = sl_arena_calloc(a, 1, sizeof *v);
    if (!v) return NULL;
    v->type = SL_VAL_STRING;
    v->u.str.len = strlen(s);
    v->u.str.ptr = sl_arena_strndup(a, s, v->u.str.len);
    return v;
}

sl_val_t *fh_val_int(sl_arena_t *a, int64_t i) {
    sl_val_t *v = sl_arena_calloc(a, 1, sizeof *v);
    if (!v) return NULL;
    v->type = SL_VAL_NUMBER;
    v->u.num.i = i;
    v->u.num.d = (double)i;
    v->u.num.is_integer = true;
    return v;
}

sl_val_t *fh_val_map(sl_arena_t *a) {
    sl_val_t *v = sl_arena_calloc(a, 1, sizeof *v);
    if (v) v->type = SL_VAL_MAP;
    return v;
}

static sl_kv_t *find(sl_val_t *map, const char *key) {
    if (!map || map->type != SL_VAL_MAP) return NULL;
    size_t n = strlen(key);
    for (size_t i = map->u.map.count; i-- > 0;)
        if (map->u.map.items[i].key_len == n && memcmp(map->u.map.items[i].key, key, n) == 0)
            return &map->u.map.items[i];
    return NULL;
}

void fh_val_set(sl_arena_t *a, sl_val_t *map, const char *key, sl_val_t *v) {
    if (!map || map->type != SL_VAL_MAP || !v) return;
    sl_kv_t *kv = find(map, key);
    if (kv) {
        kv->val = v;
        return;
    }
    sl_kv_t *items = sl_arena_alloc(a, (map->u.map.count + 1) * sizeof *items);
    if (!items) return;
    if (map->u.map.count) memcpy(items, map->u.map.items, map->u.map.count * sizeof *items);
    items[map->u.map.count].key = sl_arena_strndup(a, key, strlen(key));
    items[map->u.map.count].key_len = strlen(key);
    items[map->u.map.count].val = v;
    map->u.map.items = items;
    map->u.map.count++;
}

void fh_val_remove(sl_val_t *map, const char *key) {
    if (!map || map->type != SL_VAL_MAP) return;
    size_t n = strlen(key), w = 0;
    for (size_t i = 0; i < map->u.map.count; i++) {
        sl_kv_t kv = map->u.map.items[i];
        if (kv.key_len == n && memcmp(kv.key, key, n) == 0) continue;
        map->u.map.items[w++] = kv;
    }
    map->u.map.count = w;
}

void fh_val_rename(sl_val_t *map, const char *from, const char *to) {
    sl_kv_t *kv = find(map, from);
    if (!kv) return;
    kv->key = to;
    kv->key_len = strlen(to);
}

/* Members AWS replaces whole on UpdateDestination rather than merging. */
static bool replaced_whole(const char *key, size_t len) {
    static const char *const whole[] = {"ProcessingConfiguration", "CommonAttributes"};
    for (size_t i = 0; i < SL_ARRAY_LEN(whole); i++)
        if (strlen(whole[i]) == len && memcmp(whole[i], key, len) == 0) return true;
    return false;
}

sl_val_t *fh_val_merge(sl_arena_t *a, const sl_val_t *base, const sl_val_t *update) {
    if (!update) return fh_val_clone(a, base);
    if (!base || base->type != SL_VAL_MAP || update->type != SL_VAL_MAP)
        return fh_val_clone(a, update);
    sl_val_t *out = fh_val_clone(a, base);
    for (size_t i = 0; out && i < update->u.map.count; i++) {
        const sl_kv_t *kv = &update->u.map.items[i];
        if (kv->val->type == SL_VAL_NULL) continue;
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)kv->key_len, kv->key);
        sl_kv_t *old = find(out, key);
        sl_val_t *v = old && !replaced_whole(kv->key, kv->key_len)
                          ? fh_val_merge(a, old->val, kv->val)
                          : fh_val_clone(a, kv->val);
        fh_val_set(a, out, key, v);
    }
    return out;
}

int fh_val_to_json(const sl_val_t *v, sl_buf_t *out) {
    sl_enc_t e;
    sl_enc_init(&e, out, SL_FMT_JSON);
    sl_enc_value(&e, v);
    return sl_buf_failed(out) ? SL_ENOMEM : 0;
}

int fh_val_from_json(sl_arena_t *a, const char *text, size_t len, sl_val_t **out) {
    char *copy = sl_arena_alloc(a, len + 1);
    if (!copy) return SL_ENOMEM;
    memcpy(copy, text, len);
    copy[len] = 0;
    const char *reason = NULL;
    return sl_json_parse(copy, len, a, out, &reason) == 0 ? 0 : SL_ECORRUPT;
}
