/* Lookup helpers over the decoded document tree. */
#include "wire/value.h"

#include <string.h>

sl_val_t *sl_val_get(const sl_val_t *map, const char *key) {
    if (!map || map->type != SL_VAL_MAP) return NULL;
    size_t n = strlen(key);
    for (size_t i = map->u.map.count; i-- > 0;) {
        const sl_kv_t *kv = &map->u.map.items[i];
        if (kv->key_len == n && memcmp(kv->key, key, n) == 0) {
            if (!kv->val || kv->val->type == SL_VAL_NULL) return NULL;
            return kv->val;
        }
    }
    return NULL;
}

const char *sl_val_get_str(const sl_val_t *map, const char *key, size_t *len_out) {
    sl_val_t *v = sl_val_get(map, key);
    if (!v || v->type != SL_VAL_STRING) {
        if (len_out) *len_out = 0;
        return NULL;
    }
    if (len_out) *len_out = v->u.str.len;
    return v->u.str.ptr;
}

bool sl_val_get_int(const sl_val_t *map, const char *key, int64_t *out) {
    sl_val_t *v = sl_val_get(map, key);
    if (!v || v->type != SL_VAL_NUMBER) return false;
    *out = v->u.num.i;
    return true;
}

bool sl_val_get_bool(const sl_val_t *map, const char *key, bool *out) {
    sl_val_t *v = sl_val_get(map, key);
    if (!v || v->type != SL_VAL_BOOL) return false;
    *out = v->u.b;
    return true;
}
