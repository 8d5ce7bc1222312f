/* FilterCriteria (see filter.h): each mapping's patterns are parsed once (sl_esm_filter_compile)
 * and matched against every record read, before it joins a batch; a record that matches none is
 * processed without an invocation (the checkpoint moves past it). */
#include "esm/filter.h"

#include "esm/pattern.h"
#include "wire/json.h"

#include <stdlib.h>
#include <string.h>

/* Does the pattern (or one of its $or alternatives) name the record's data? */
static bool names_data(const sl_val_t *p) {
    for (size_t i = 0; p && p->type == SL_VAL_MAP && i < p->u.map.count; i++) {
        const sl_kv_t *kv = &p->u.map.items[i];
        if (kv->key_len == 4 && memcmp(kv->key, "data", 4) == 0) return true;
        if (kv->key_len == 3 && memcmp(kv->key, "$or", 3) == 0 && kv->val->type == SL_VAL_ARRAY)
            for (size_t k = 0; k < kv->val->u.arr.count; k++)
                if (names_data(kv->val->u.arr.items[k])) return true;
    }
    return false;
}

bool sl_esm_pattern_valid(const char *text) {
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    size_t len = strlen(text);
    char *copy = sl_arena_strndup(&arena, text, len);
    sl_val_t *v = NULL;
    const char *reason = NULL;
    bool ok =
        copy && sl_json_parse(copy, len, &arena, &v, &reason) == 0 && sl_pattern_check(v, &reason);
    sl_arena_deinit(&arena);
    return ok;
}

void sl_esm_filter_free(mapping_t *m) {
    if (m->filter_arena) {
        sl_arena_deinit(m->filter_arena);
        free(m->filter_arena);
    }
    m->filter_arena = NULL;
    m->filter_count = 0;
}

void sl_esm_filter_compile(mapping_t *m) {
    sl_esm_filter_free(m);
    if (!m->info.pattern_count) return;
    m->filter_arena = malloc(sizeof *m->filter_arena);
    if (!m->filter_arena) return;
    sl_arena_init(m->filter_arena, 4096);
    for (size_t k = 0, off = 0; k < m->info.pattern_count && k < SL_ESM_FILTERS_MAX; k++) {
        const char *p = m->info.patterns + off;
        size_t len = strlen(p);
        off += len + 1;
        char *copy = sl_arena_strndup(m->filter_arena, p, len);
        sl_val_t *v = NULL;
        const char *reason = NULL;
        if (!copy || sl_json_parse(copy, len, m->filter_arena, &v, &reason) != 0 ||
            !sl_pattern_check(v, &reason))
            continue; /* checked at create and update; a stored one that fails matches nothing */
        m->filters[m->filter_count] = v;
        m->filter_data[m->filter_count++] = names_data(v);
    }
}

static sl_val_t *str_val(sl_arena_t *a, const char *s, size_t len) {
    sl_val_t *v = sl_arena_calloc(a, 1, sizeof *v);
    if (v) {
        v->type = SL_VAL_STRING;
        v->u.str.ptr = s;
        v->u.str.len = len;
    }
    return v;
}

bool sl_esm_filter_match_record(const mapping_t *m, const rec_t *r) {
    if (!m->info.pattern_count) return true;
    sl_arena_t arena;
    sl_arena_init(&arena, 1024 + r->data_len * 2);
    sl_kv_t *items = sl_arena_calloc(&arena, 5, sizeof *items);
    sl_val_t *event = sl_arena_calloc(&arena, 1, sizeof *event);
    sl_val_t *ts = sl_arena_calloc(&arena, 1, sizeof *ts);
    bool matched = false;
    if (!items || !event || !ts) goto out;
    ts->type = SL_VAL_NUMBER;
    ts->u.num.d = (double)r->arrival_ms / 1000.0;
    ts->u.num.i = r->arrival_ms / 1000;
    items[0] = (sl_kv_t){"kinesisSchemaVersion", 20, str_val(&arena, "1.0", 3)};
    items[1] = (sl_kv_t){"partitionKey", 12, str_val(&arena, r->key, r->key_len)};
    items[2] = (sl_kv_t){"sequenceNumber", 14, str_val(&arena, r->seqnum, r->seqnum_len)};
    items[3] = (sl_kv_t){"approximateArrivalTimestamp", 27, ts};
    size_t count = 4;
    char *copy = sl_arena_strndup(&arena, (const char *)r->data, r->data_len);
    sl_val_t *data = NULL;
    const char *reason;
    bool json = copy && memchr(r->data, 0, r->data_len) == NULL &&
                sl_json_parse(copy, r->data_len, &arena, &data, &reason) == 0;
    if (json) items[count++] = (sl_kv_t){"data", 4, data};
    event->type = SL_VAL_MAP;
    event->u.map.items = items;
    event->u.map.count = count;
    if (!items[0].val || !items[1].val || !items[2].val) goto out;
    for (size_t k = 0; k < m->filter_count && !matched; k++) {
        if (!json && m->filter_data[k]) continue; /* data not JSON + a data filter: dropped */
        matched = sl_pattern_match(m->filters[k], event);
    }
out:
    sl_arena_deinit(&arena);
    return matched;
}
