/* DynamoDB attribute values: equality, order, sizes, copies and the stored encoding (value.h). */
#include "dynamodb/value.h"

#include "core/common.h"
#include "dynamodb/number.h"

#include <string.h>

static const char *const type_names[] = {
    [SL_DDB_S] = "S",   [SL_DDB_N] = "N",   [SL_DDB_B] = "B",       [SL_DDB_SS] = "SS",
    [SL_DDB_NS] = "NS", [SL_DDB_BS] = "BS", [SL_DDB_BOOL] = "BOOL", [SL_DDB_NULL] = "NULL",
    [SL_DDB_M] = "M",   [SL_DDB_L] = "L",
};

/* Decoding nests at most this deep (DynamoDB allows 32 levels of nesting). */
#define DECODE_DEPTH_MAX 64

const char *sl_ddb_type_name(sl_ddb_type_t type) {
    return type >= SL_DDB_S && type <= SL_DDB_L ? type_names[type] : "?";
}

sl_ddb_type_t sl_ddb_type_of(const char *name, size_t len) {
    for (int t = SL_DDB_S; t <= SL_DDB_L; t++)
        if (strlen(type_names[t]) == len && memcmp(type_names[t], name, len) == 0)
            return (sl_ddb_type_t)t;
    return 0;
}

bool sl_ddb_is_set(sl_ddb_type_t type) {
    return type == SL_DDB_SS || type == SL_DDB_NS || type == SL_DDB_BS;
}

sl_ddb_val_t *sl_ddb_item_get(const sl_ddb_item_t *item, const char *name, size_t len) {
    for (size_t i = 0; i < item->count; i++)
        if (item->attrs[i].name_len == len && memcmp(item->attrs[i].name, name, len) == 0)
            return &item->attrs[i].val;
    return NULL;
}

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl) {
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c) return c < 0 ? -1 : 1;
    return al == bl ? 0 : al < bl ? -1 : 1;
}

int sl_ddb_val_cmp(const sl_ddb_val_t *a, const sl_ddb_val_t *b) {
    if (a->type == SL_DDB_N && b->type == SL_DDB_N) {
        sl_ddb_num_t x, y;
        sl_ddb_num_parse(a->u.str.ptr, a->u.str.len, &x);
        sl_ddb_num_parse(b->u.str.ptr, b->u.str.len, &y);
        return sl_ddb_num_cmp(&x, &y);
    }
    return bytes_cmp(a->u.str.ptr, a->u.str.len, b->u.str.ptr, b->u.str.len);
}

static bool set_has(const sl_ddb_val_t *set, const sl_ddb_val_t *v) {
    for (size_t i = 0; i < set->u.list.count; i++)
        if (sl_ddb_val_equal(&set->u.list.items[i], v)) return true;
    return false;
}

bool sl_ddb_val_equal(const sl_ddb_val_t *a, const sl_ddb_val_t *b) {
    if (a->type != b->type) return false;
    switch (a->type) {
    case SL_DDB_S:
    case SL_DDB_B:
    case SL_DDB_N:
        return a->u.str.len == b->u.str.len &&
               memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0;
    case SL_DDB_BOOL:
        return a->u.b == b->u.b;
    case SL_DDB_NULL:
        return true;
    case SL_DDB_SS:
    case SL_DDB_NS:
    case SL_DDB_BS:
        if (a->u.list.count != b->u.list.count) return false;
        for (size_t i = 0; i < a->u.list.count; i++)
            if (!set_has(b, &a->u.list.items[i])) return false;
        return true;
    case SL_DDB_L:
        if (a->u.list.count != b->u.list.count) return false;
        for (size_t i = 0; i < a->u.list.count; i++)
            if (!sl_ddb_val_equal(&a->u.list.items[i], &b->u.list.items[i])) return false;
        return true;
    case SL_DDB_M:
        if (a->u.map.count != b->u.map.count) return false;
        for (size_t i = 0; i < a->u.map.count; i++) {
            const sl_ddb_attr_t *x = &a->u.map.items[i];
            sl_ddb_item_t bm = {b->u.map.items, b->u.map.count};
            const sl_ddb_val_t *y = sl_ddb_item_get(&bm, x->name, x->name_len);
            if (!y || !sl_ddb_val_equal(&x->val, y)) return false;
        }
        return true;
    }
    return false;
}

/* A number's size: about one byte per two significant digits, plus one. */
static size_t num_size(const char *text, size_t len) {
    size_t digits = 0;
    for (size_t i = 0; i < len; i++)
        digits += text[i] >= '0' && text[i] <= '9';
    return (digits + 1) / 2 + 1;
}

size_t sl_ddb_val_size(const sl_ddb_val_t *v) {
    size_t n = 0;
    switch (v->type) {
    case SL_DDB_S:
    case SL_DDB_B:
        return v->u.str.len;
    case SL_DDB_N:
        return num_size(v->u.str.ptr, v->u.str.len);
    case SL_DDB_BOOL:
    case SL_DDB_NULL:
        return 1;
    case SL_DDB_SS:
    case SL_DDB_NS:
    case SL_DDB_BS:
        for (size_t i = 0; i < v->u.list.count; i++)
            n += sl_ddb_val_size(&v->u.list.items[i]);
        return n;
    case SL_DDB_L:
        n = 3;
        for (size_t i = 0; i < v->u.list.count; i++)
            n += 1 + sl_ddb_val_size(&v->u.list.items[i]);
        return n;
    case SL_DDB_M:
        n = 3;
        for (size_t i = 0; i < v->u.map.count; i++)
            n += 1 + v->u.map.items[i].name_len + sl_ddb_val_size(&v->u.map.items[i].val);
        return n;
    }
    return 0;
}

size_t sl_ddb_item_size(const sl_ddb_item_t *item) {
    size_t n = 0;
    for (size_t i = 0; i < item->count; i++)
        n += item->attrs[i].name_len + sl_ddb_val_size(&item->attrs[i].val);
    return n;
}

static size_t val_depth(const sl_ddb_val_t *v) {
    size_t max = 0;
    if (v->type == SL_DDB_L)
        for (size_t i = 0; i < v->u.list.count; i++) {
            size_t d = val_depth(&v->u.list.items[i]);
            if (d > max) max = d;
        }
    else if (v->type == SL_DDB_M)
        for (size_t i = 0; i < v->u.map.count; i++) {
            size_t d = val_depth(&v->u.map.items[i].val);
            if (d > max) max = d;
        }
    else
        return 0;
    return max + 1;
}

size_t sl_ddb_item_depth(const sl_ddb_item_t *item) {
    size_t max = 0;
    for (size_t i = 0; i < item->count; i++) {
        size_t d = val_depth(&item->attrs[i].val);
        if (d > max) max = d;
    }
    return max + 1;
}

int sl_ddb_val_copy(sl_arena_t *arena, const sl_ddb_val_t *src, sl_ddb_val_t *dst) {
    *dst = *src;
    switch (src->type) {
    case SL_DDB_S:
    case SL_DDB_B:
    case SL_DDB_N:
        dst->u.str.ptr = sl_arena_strndup(arena, src->u.str.ptr, src->u.str.len);
        return dst->u.str.ptr ? 0 : SL_ENOMEM;
    case SL_DDB_SS:
    case SL_DDB_NS:
    case SL_DDB_BS:
    case SL_DDB_L:
        dst->u.list.items = sl_arena_calloc(arena, src->u.list.count + 1, sizeof(sl_ddb_val_t));
        if (!dst->u.list.items) return SL_ENOMEM;
        for (size_t i = 0; i < src->u.list.count; i++)
            if (sl_ddb_val_copy(arena, &src->u.list.items[i], &dst->u.list.items[i]))
                return SL_ENOMEM;
        return 0;
    case SL_DDB_M: {
        sl_ddb_item_t s = {src->u.map.items, src->u.map.count}, d;
        if (sl_ddb_item_copy(arena, &s, &d)) return SL_ENOMEM;
        dst->u.map.items = d.attrs;
        return 0;
    }
    case SL_DDB_BOOL:
    case SL_DDB_NULL:
        return 0;
    }
    return 0;
}

int sl_ddb_item_copy(sl_arena_t *arena, const sl_ddb_item_t *src, sl_ddb_item_t *dst) {
    dst->count = src->count;
    dst->attrs = sl_arena_calloc(arena, src->count + 1, sizeof(sl_ddb_attr_t));
    if (!dst->attrs) return SL_ENOMEM;
    for (size_t i = 0; i < src->count; i++) {
        dst->attrs[i].name = sl_arena_strndup(arena, src->attrs[i].name, src->attrs[i].name_len);
        dst->attrs[i].name_len = src->attrs[i].name_len;
        if (!dst->attrs[i].name || sl_ddb_val_copy(arena, &src->attrs[i].val, &dst->attrs[i].val))
            return SL_ENOMEM;
    }
    return 0;
}

/* ---- the stored encoding ---- */

static void put_varint(sl_buf_t *out, uint64_t v) {
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) b[n] |= 0x80;
        n++;
    } while (v);
    sl_buf_append(out, b, n);
}

static void encode_attrs(sl_buf_t *out, const sl_ddb_attr_t *attrs, size_t count) {
    put_varint(out, count);
    for (size_t i = 0; i < count; i++) {
        put_varint(out, attrs[i].name_len);
        sl_buf_append(out, attrs[i].name, attrs[i].name_len);
        sl_ddb_val_encode(out, &attrs[i].val);
    }
}

void sl_ddb_val_encode(sl_buf_t *out, const sl_ddb_val_t *v) {
    sl_buf_append_byte(out, (uint8_t)v->type);
    switch (v->type) {
    case SL_DDB_S:
    case SL_DDB_B:
    case SL_DDB_N:
        put_varint(out, v->u.str.len);
        sl_buf_append(out, v->u.str.ptr, v->u.str.len);
        break;
    case SL_DDB_BOOL:
        sl_buf_append_byte(out, v->u.b ? 1 : 0);
        break;
    case SL_DDB_NULL:
        break;
    case SL_DDB_SS:
    case SL_DDB_NS:
    case SL_DDB_BS:
    case SL_DDB_L:
        put_varint(out, v->u.list.count);
        for (size_t i = 0; i < v->u.list.count; i++)
            sl_ddb_val_encode(out, &v->u.list.items[i]);
        break;
    case SL_DDB_M:
        encode_attrs(out, v->u.map.items, v->u.map.count);
        break;
    }
}

void sl_ddb_item_encode(sl_buf_t *out, const sl_ddb_item_t *item) {
    encode_attrs(out, item->attrs, item->count);
}

typedef struct {
    const uint8_t *p, *end;
    sl_arena_t *arena;
} reader_t;

static int get_varint(reader_t *r, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return SL_ECORRUPT;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return SL_ECORRUPT;
}

static int get_bytes(reader_t *r, const char **ptr, size_t *len) {
    uint64_t n;
    if (get_varint(r, &n) || n > (uint64_t)(r->end - r->p)) return SL_ECORRUPT;
    char *s = sl_arena_strndup(r->arena, (const char *)r->p, (size_t)n);
    if (!s) return SL_ENOMEM;
    r->p += n;
    *ptr = s;
    *len = (size_t)n;
    return 0;
}

static int decode_val(reader_t *r, sl_ddb_val_t *v, int depth);

static int decode_attrs(reader_t *r, sl_ddb_attr_t **attrs, size_t *count, int depth) {
    uint64_t n;
    if (get_varint(r, &n) || n > (uint64_t)(r->end - r->p)) return SL_ECORRUPT;
    *attrs = sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(sl_ddb_attr_t));
    if (!*attrs) return SL_ENOMEM;
    *count = (size_t)n;
    for (size_t i = 0; i < n; i++) {
        int rc = get_bytes(r, &(*attrs)[i].name, &(*attrs)[i].name_len);
        if (rc == 0) rc = decode_val(r, &(*attrs)[i].val, depth + 1);
        if (rc) return rc;
    }
    return 0;
}

static int decode_val(reader_t *r, sl_ddb_val_t *v, int depth) {
    if (depth > DECODE_DEPTH_MAX || r->p >= r->end) return SL_ECORRUPT;
    memset(v, 0, sizeof *v);
    v->type = (sl_ddb_type_t)*r->p++;
    uint64_t n;
    switch (v->type) {
    case SL_DDB_S:
    case SL_DDB_B:
    case SL_DDB_N:
        return get_bytes(r, &v->u.str.ptr, &v->u.str.len);
    case SL_DDB_BOOL:
        if (r->p >= r->end) return SL_ECORRUPT;
        v->u.b = *r->p++ != 0;
        return 0;
    case SL_DDB_NULL:
        return 0;
    case SL_DDB_SS:
    case SL_DDB_NS:
    case SL_DDB_BS:
    case SL_DDB_L:
        if (get_varint(r, &n) || n > (uint64_t)(r->end - r->p)) return SL_ECORRUPT;
        v->u.list.items = sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(sl_ddb_val_t));
        if (!v->u.list.items) return SL_ENOMEM;
        v->u.list.count = (size_t)n;
        for (size_t i = 0; i < n; i++) {
            int rc = decode_val(r, &v->u.list.items[i], depth + 1);
            if (rc) return rc;
        }
        return 0;
    case SL_DDB_M:
        return decode_attrs(r, &v->u.map.items, &v->u.map.count, depth);
    }
    return SL_ECORRUPT;
}

int sl_ddb_item_decode(const void *data, size_t len, sl_arena_t *arena, sl_ddb_item_t *out) {
    reader_t r = {data, (const uint8_t *)data + len, arena};
    int rc = decode_attrs(&r, &out->attrs, &out->count, 0);
    if (rc == 0 && r.p != r.end) rc = SL_ECORRUPT;
    return rc;
}

int sl_ddb_val_decode(const void *data, size_t len, sl_arena_t *arena, sl_ddb_val_t *out) {
    reader_t r = {data, (const uint8_t *)data + len, arena};
    int rc = decode_val(&r, out, 0);
    if (rc == 0 && r.p != r.end) rc = SL_ECORRUPT;
    return rc;
}
