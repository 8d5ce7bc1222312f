/* The KPL aggregated-record codec (see wire/kpl.h): a hand-written writer and reader for the three
 * small proto2 messages of the format. Protobuf wire format: a key is varint(field << 3 | type);
 * type 0 = varint, 1 = 64-bit, 2 = length-delimited, 5 = 32-bit (3 and 4, groups, are refused). */
#include "wire/kpl.h"

#include "core/common.h"
#include "core/limits.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

const uint8_t sl_kpl_magic[SL_KPL_MAGIC_LEN] = {0xF3, 0x89, 0x9A, 0xC2};

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

static size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(sl_buf_t *b, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    sl_buf_append(b, tmp, n);
}

/* ---- builder ---- */

typedef struct {
    const char *ptr;
    size_t len;
} kpl_str_t;

/* A de-duplicated string table with an open-addressing index (slots hold entry + 1, 0 = empty). */
typedef struct {
    kpl_str_t *items;
    size_t count, cap;
    uint32_t *slots;
    size_t slot_count; /* power of two, at least twice count */
} kpl_table_t;

typedef struct {
    uint64_t pk_index;
    uint64_t ehk_index; /* UINT64_MAX = none */
    const uint8_t *data;
    size_t data_len;
} kpl_entry_t;

/* Owned by its creator; borrows the added records' bytes until finish or reset. */
struct sl_kpl_builder {
    kpl_table_t pks, ehks;
    kpl_entry_t *records;
    size_t count, cap;
    size_t proto_bytes; /* encoded protobuf size so far */
};

static uint64_t hash_bytes(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Index of s in t, or -1. */
static int64_t table_find(const kpl_table_t *t, const char *s, size_t n) {
    if (t->slot_count == 0) return -1;
    size_t mask = t->slot_count - 1;
    for (size_t i = hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        uint32_t v = t->slots[i];
        if (v == 0) return -1;
        const kpl_str_t *e = &t->items[v - 1];
        if (e->len == n && memcmp(e->ptr, s, n) == 0) return (int64_t)(v - 1);
    }
}

static int table_add(kpl_table_t *t, const char *s, size_t n, uint64_t *index) {
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        kpl_str_t *items = realloc(t->items, cap * sizeof *items);
        if (!items) return SL_ENOMEM;
        t->items = items;
        t->cap = cap;
    }
    if ((t->count + 1) * 2 > t->slot_count) {
        size_t sc = t->slot_count ? t->slot_count * 2 : 32;
        uint32_t *slots = calloc(sc, sizeof *slots);
        if (!slots) return SL_ENOMEM;
        for (size_t k = 0; k < t->count; k++) {
            size_t i = hash_bytes(t->items[k].ptr, t->items[k].len) & (sc - 1);
            while (slots[i])
                i = (i + 1) & (sc - 1);
            slots[i] = (uint32_t)(k + 1);
        }
        free(t->slots);
        t->slots = slots;
        t->slot_count = sc;
    }
    size_t i = hash_bytes(s, n) & (t->slot_count - 1);
    while (t->slots[i])
        i = (i + 1) & (t->slot_count - 1);
    t->items[t->count] = (kpl_str_t){s, n};
    t->slots[i] = (uint32_t)(t->count + 1);
    *index = t->count++;
    return 0;
}

static void table_reset(kpl_table_t *t) {
    t->count = 0;
    if (t->slots) memset(t->slots, 0, t->slot_count * sizeof *t->slots);
}

static void table_free(kpl_table_t *t) {
    free(t->items);
    free(t->slots);
}

static size_t string_field_bytes(size_t len) {
    return 1 + varint_len(len) + len;
}

static size_t record_inner_bytes(uint64_t pk_index, uint64_t ehk_index, size_t data_len) {
    size_t n = 1 + varint_len(pk_index) + 1 + varint_len(data_len) + data_len;
    if (ehk_index != UINT64_MAX) n += 1 + varint_len(ehk_index);
    return n;
}

int sl_kpl_builder_create(sl_kpl_builder_t **out) {
    *out = calloc(1, sizeof **out);
    return *out ? 0 : SL_ENOMEM;
}

void sl_kpl_builder_destroy(sl_kpl_builder_t *b) {
    if (!b) return;
    table_free(&b->pks);
    table_free(&b->ehks);
    free(b->records);
    free(b);
}

void sl_kpl_builder_reset(sl_kpl_builder_t *b) {
    table_reset(&b->pks);
    table_reset(&b->ehks);
    b->count = 0;
    b->proto_bytes = 0;
}

size_t sl_kpl_builder_count(const sl_kpl_builder_t *b) {
    return b->count;
}

size_t sl_kpl_builder_size(const sl_kpl_builder_t *b) {
    return SL_KPL_OVERHEAD_BYTES + b->proto_bytes;
}

size_t sl_kpl_builder_size_with(const sl_kpl_builder_t *b, const sl_kpl_record_t *r) {
    size_t n = b->proto_bytes;
    int64_t pk = table_find(&b->pks, r->pk, r->pk_len);
    if (pk < 0) {
        n += string_field_bytes(r->pk_len);
        pk = (int64_t)b->pks.count;
    }
    uint64_t ehk = UINT64_MAX;
    if (r->ehk) {
        int64_t e = table_find(&b->ehks, r->ehk, r->ehk_len);
        if (e < 0) {
            n += string_field_bytes(r->ehk_len);
            e = (int64_t)b->ehks.count;
        }
        ehk = (uint64_t)e;
    }
    size_t inner = record_inner_bytes((uint64_t)pk, ehk, r->data_len);
    return SL_KPL_OVERHEAD_BYTES + n + 1 + varint_len(inner) + inner;
}

int sl_kpl_builder_add(sl_kpl_builder_t *b, const sl_kpl_record_t *r) {
    if (b->count == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        kpl_entry_t *rs = realloc(b->records, cap * sizeof *rs);
        if (!rs) return SL_ENOMEM;
        b->records = rs;
        b->cap = cap;
    }
    kpl_entry_t e = {.ehk_index = UINT64_MAX, .data = r->data, .data_len = r->data_len};
    int64_t pk = table_find(&b->pks, r->pk, r->pk_len);
    if (pk >= 0) {
        e.pk_index = (uint64_t)pk;
    } else {
        if (table_add(&b->pks, r->pk, r->pk_len, &e.pk_index) != 0) return SL_ENOMEM;
        b->proto_bytes += string_field_bytes(r->pk_len);
    }
    if (r->ehk) {
        int64_t x = table_find(&b->ehks, r->ehk, r->ehk_len);
        if (x >= 0) {
            e.ehk_index = (uint64_t)x;
        } else {
            if (table_add(&b->ehks, r->ehk, r->ehk_len, &e.ehk_index) != 0) return SL_ENOMEM;
            b->proto_bytes += string_field_bytes(r->ehk_len);
        }
    }
    size_t inner = record_inner_bytes(e.pk_index, e.ehk_index, e.data_len);
    b->proto_bytes += 1 + varint_len(inner) + inner;
    b->records[b->count++] = e;
    return 0;
}

int sl_kpl_builder_finish(sl_kpl_builder_t *b, sl_buf_t *out) {
    size_t start = out->len;
    sl_buf_append(out, sl_kpl_magic, SL_KPL_MAGIC_LEN);
    size_t proto = out->len;
    for (size_t i = 0; i < b->pks.count; i++) {
        sl_buf_append_byte(out, 1 << 3 | PB_LEN);
        put_varint(out, b->pks.items[i].len);
        sl_buf_append(out, b->pks.items[i].ptr, b->pks.items[i].len);
    }
    for (size_t i = 0; i < b->ehks.count; i++) {
        sl_buf_append_byte(out, 2 << 3 | PB_LEN);
        put_varint(out, b->ehks.items[i].len);
        sl_buf_append(out, b->ehks.items[i].ptr, b->ehks.items[i].len);
    }
    for (size_t i = 0; i < b->count; i++) {
        const kpl_entry_t *e = &b->records[i];
        sl_buf_append_byte(out, 3 << 3 | PB_LEN);
        put_varint(out, record_inner_bytes(e->pk_index, e->ehk_index, e->data_len));
        sl_buf_append_byte(out, 1 << 3 | PB_VARINT);
        put_varint(out, e->pk_index);
        if (e->ehk_index != UINT64_MAX) {
            sl_buf_append_byte(out, 2 << 3 | PB_VARINT);
            put_varint(out, e->ehk_index);
        }
        sl_buf_append_byte(out, 3 << 3 | PB_LEN);
        put_varint(out, e->data_len);
        sl_buf_append(out, e->data, e->data_len);
    }
    uint8_t *digest = (uint8_t *)sl_buf_reserve(out, SL_KPL_DIGEST_LEN);
    if (sl_buf_failed(out) || !digest) return SL_ENOMEM;
    unsigned int dlen = 0;
    if (EVP_Digest(out->data + proto, out->len - proto, digest, &dlen, EVP_md5(), NULL) != 1)
        return SL_ENOMEM;
    out->len += SL_KPL_DIGEST_LEN;
    SL_ASSERT(out->len - start == sl_kpl_builder_size(b));
    sl_kpl_builder_reset(b);
    return 0;
}

/* ---- reader ---- */

bool sl_kpl_looks_aggregated(const uint8_t *data, size_t len) {
    return len > SL_KPL_OVERHEAD_BYTES && memcmp(data, sl_kpl_magic, SL_KPL_MAGIC_LEN) == 0;
}

typedef struct {
    const uint8_t *p, *end;
} pb_t;

static bool pb_varint(pb_t *r, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p == r->end) return false;
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Reads one field key and, for length-delimited fields, the payload; skips other payloads into
 * *len = 0. Returns false on malformed input. */
static bool pb_field(pb_t *r, uint32_t *field, int *type, const uint8_t **payload, size_t *len,
                     uint64_t *varint) {
    uint64_t key;
    if (!pb_varint(r, &key) || key >> 3 == 0 || key >> 3 > UINT32_MAX) return false;
    *field = (uint32_t)(key >> 3);
    *type = (int)(key & 7);
    *payload = NULL;
    *len = 0;
    switch (*type) {
    case PB_VARINT:
        return pb_varint(r, varint);
    case PB_I64:
        if (r->end - r->p < 8) return false;
        r->p += 8;
        return true;
    case PB_I32:
        if (r->end - r->p < 4) return false;
        r->p += 4;
        return true;
    case PB_LEN: {
        uint64_t n;
        if (!pb_varint(r, &n) || n > (uint64_t)(r->end - r->p)) return false;
        *payload = r->p;
        *len = (size_t)n;
        r->p += n;
        return true;
    }
    default:
        return false;
    }
}

typedef struct {
    uint64_t pk_index, ehk_index; /* ehk_index UINT64_MAX = none */
    const uint8_t *data;
    size_t data_len;
} kpl_parsed_t;

/* Parses one Record message; both required fields must be present. */
static const char *parse_record(const uint8_t *p, size_t n, kpl_parsed_t *out) {
    pb_t r = {p, p + n};
    bool have_pk = false, have_data = false;
    out->ehk_index = UINT64_MAX;
    while (r.p < r.end) {
        uint32_t field;
        int type;
        const uint8_t *payload;
        size_t len;
        uint64_t v = 0;
        if (!pb_field(&r, &field, &type, &payload, &len, &v)) return "malformed record";
        if (field == 1) {
            if (type != PB_VARINT) return "partition_key_index is not a varint";
            out->pk_index = v;
            have_pk = true;
        } else if (field == 2) {
            if (type != PB_VARINT) return "explicit_hash_key_index is not a varint";
            out->ehk_index = v;
        } else if (field == 3) {
            if (type != PB_LEN) return "data is not length-delimited";
            out->data = payload;
            out->data_len = len;
            have_data = true;
        }
    }
    if (!have_pk) return "record without partition_key_index";
    if (!have_data) return "record without data";
    return NULL;
}

int sl_kpl_decode(const uint8_t *data, size_t len, sl_kpl_record_fn fn, void *arg,
                  const char **reason) {
    if (len < SL_KPL_MAGIC_LEN || memcmp(data, sl_kpl_magic, SL_KPL_MAGIC_LEN) != 0) {
        *reason = "no aggregation magic";
        return SL_EINVAL;
    }
    if (len <= SL_KPL_OVERHEAD_BYTES) {
        *reason = "too short for an aggregate";
        return SL_EINVAL;
    }
    const uint8_t *proto = data + SL_KPL_MAGIC_LEN;
    size_t proto_len = len - SL_KPL_OVERHEAD_BYTES;
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_Digest(proto, proto_len, digest, &dlen, EVP_md5(), NULL) != 1 ||
        memcmp(digest, proto + proto_len, SL_KPL_DIGEST_LEN) != 0) {
        *reason = "MD5 checksum mismatch";
        return SL_EINVAL;
    }
    /* Pass 1: count and check the structure. */
    size_t counts[4] = {0};
    pb_t r = {proto, proto + proto_len};
    while (r.p < r.end) {
        uint32_t field;
        int type;
        const uint8_t *payload;
        size_t n;
        uint64_t v;
        if (!pb_field(&r, &field, &type, &payload, &n, &v)) {
            *reason = "malformed protobuf";
            return SL_EINVAL;
        }
        if (field >= 1 && field <= 3) {
            if (type != PB_LEN) {
                *reason = "table entry or record is not length-delimited";
                return SL_EINVAL;
            }
            if (++counts[field] > SL_KPL_ENTRIES_MAX) {
                *reason = "too many entries";
                return SL_ELIMIT;
            }
        }
    }
    kpl_str_t *pks = calloc(counts[1] + 1, sizeof *pks);
    kpl_str_t *ehks = calloc(counts[2] + 1, sizeof *ehks);
    kpl_parsed_t *recs = calloc(counts[3] + 1, sizeof *recs);
    int rc = SL_ENOMEM;
    *reason = "out of memory";
    if (!pks || !ehks || !recs) goto done;
    /* Pass 2: collect, and check every record against the tables. */
    size_t k[4] = {0};
    r = (pb_t){proto, proto + proto_len};
    rc = SL_EINVAL;
    while (r.p < r.end) {
        uint32_t field;
        int type;
        const uint8_t *payload;
        size_t n;
        uint64_t v;
        if (!pb_field(&r, &field, &type, &payload, &n, &v)) goto done; /* checked in pass 1 */
        if (field == 1) {
            pks[k[1]++] = (kpl_str_t){(const char *)payload, n};
        } else if (field == 2) {
            ehks[k[2]++] = (kpl_str_t){(const char *)payload, n};
        } else if (field == 3) {
            const char *why = parse_record(payload, n, &recs[k[3]++]);
            if (why) {
                *reason = why;
                goto done;
            }
        }
    }
    for (size_t i = 0; i < counts[3]; i++) {
        if (recs[i].pk_index >= counts[1]) {
            *reason = "partition_key_index out of range";
            goto done;
        }
        if (recs[i].ehk_index != UINT64_MAX && recs[i].ehk_index >= counts[2]) {
            *reason = "explicit_hash_key_index out of range";
            goto done;
        }
    }
    rc = 0;
    *reason = NULL;
    for (size_t i = 0; i < counts[3] && rc == 0; i++) {
        const kpl_parsed_t *p = &recs[i];
        sl_kpl_record_t u = {.pk = pks[p->pk_index].ptr,
                             .pk_len = pks[p->pk_index].len,
                             .data = p->data,
                             .data_len = p->data_len};
        if (p->ehk_index != UINT64_MAX) {
            u.ehk = ehks[p->ehk_index].ptr;
            u.ehk_len = ehks[p->ehk_index].len;
        }
        rc = fn(&u, i, arg);
    }
done:
    free(pks);
    free(ehks);
    free(recs);
    return rc;
}
