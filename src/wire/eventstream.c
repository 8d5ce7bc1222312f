/* AWS event-stream framing (spec §5.3): the encoder used for SubscribeToShard events and a
 * decoder that checks everything botocore checks (CRCs, lengths, header types, duplicate names),
 * used by tests, fuzzing and clients. CRC32 is zlib's (IEEE 802.3). */
#include "wire/eventstream.h"

#include "core/common.h"
#include "core/limits.h"

#include <string.h>
#include <zlib.h>

#define ES_PRELUDE_BYTES 12u
#define ES_OVERHEAD_BYTES 16u /* prelude + message CRC */

static inline void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t get_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t get_be64(const uint8_t *p) {
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static uint32_t crc32_of(const uint8_t *p, size_t n) {
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

int sl_es_encode(sl_buf_t *out, const sl_es_header_t *headers, size_t header_count,
                 const void *payload, size_t payload_len) {
    SL_ASSERT(out && (headers || header_count == 0) && (payload || payload_len == 0));
    size_t headers_len = 0;
    for (size_t i = 0; i < header_count; i++) {
        size_t name_len = strlen(headers[i].name);
        size_t value_len = strlen(headers[i].value);
        if (name_len == 0 || name_len > 255 || value_len > 65535) return SL_EINVAL;
        headers_len += 1 + name_len + 1 + 2 + value_len;
        if (headers_len > SL_EVENTSTREAM_HEADERS_MAX) return SL_EINVAL;
    }
    if (payload_len > SL_EVENTSTREAM_PAYLOAD_MAX) return SL_EINVAL;
    size_t total = ES_OVERHEAD_BYTES + headers_len + payload_len;
    uint8_t *msg = (uint8_t *)sl_buf_reserve(out, total);
    if (!msg) return SL_ENOMEM;
    put_be32(msg, (uint32_t)total);
    put_be32(msg + 4, (uint32_t)headers_len);
    put_be32(msg + 8, crc32_of(msg, 8));
    uint8_t *w = msg + ES_PRELUDE_BYTES;
    for (size_t i = 0; i < header_count; i++) {
        size_t name_len = strlen(headers[i].name);
        size_t value_len = strlen(headers[i].value);
        *w++ = (uint8_t)name_len;
        memcpy(w, headers[i].name, name_len);
        w += name_len;
        *w++ = 7; /* string */
        *w++ = (uint8_t)(value_len >> 8);
        *w++ = (uint8_t)value_len;
        memcpy(w, headers[i].value, value_len);
        w += value_len;
    }
    if (payload_len) memcpy(w, payload, payload_len);
    w += payload_len;
    SL_ASSERT(w + 4 == msg + total); /* the lengths in the prelude match what was written */
    put_be32(w, crc32_of(msg, total - 4));
    out->len += total;
    return 0;
}

/* Value size of a header type with a fixed-size value; -1 for variable (6, 7) or unknown. */
static int fixed_value_size(uint8_t type) {
    switch (type) {
    case 0:
    case 1:
        return 0;
    case 2:
        return 1;
    case 3:
        return 2;
    case 4:
        return 4;
    case 5:
    case 8:
        return 8;
    case 9:
        return 16;
    default:
        return -1;
    }
}

/* FNV-1a over a header name, for the duplicate check. */
static uint32_t name_hash(const uint8_t *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

int sl_es_decode(const uint8_t *data, size_t len, sl_arena_t *arena, sl_es_message_t *msg,
                 const char **reason) {
    const char *dummy;
    if (!reason) reason = &dummy;
    *reason = NULL;
    memset(msg, 0, sizeof *msg);
    if (len < ES_PRELUDE_BYTES) return SL_EAGAIN;
    uint32_t total = get_be32(data), headers_len = get_be32(data + 4);
    /* The prelude CRC comes first, so garbage never makes us wait for gigabytes. */
    if (get_be32(data + 8) != crc32_of(data, 8)) {
        *reason = "prelude CRC mismatch";
        return SL_EINVAL;
    }
    if (total < ES_OVERHEAD_BYTES || headers_len > total - ES_OVERHEAD_BYTES) {
        *reason = "invalid message length";
        return SL_EINVAL;
    }
    if (headers_len > SL_EVENTSTREAM_HEADERS_MAX) {
        *reason = "headers too long";
        return SL_EINVAL;
    }
    size_t payload_len = total - ES_OVERHEAD_BYTES - headers_len;
    if (payload_len > SL_EVENTSTREAM_PAYLOAD_MAX) {
        *reason = "payload too long";
        return SL_EINVAL;
    }
    if (len < total) return SL_EAGAIN;
    if (get_be32(data + total - 4) != crc32_of(data, total - 4)) {
        *reason = "message CRC mismatch";
        return SL_EINVAL;
    }

    /* First pass: validate the header block and count the headers. */
    const uint8_t *h = data + ES_PRELUDE_BYTES, *hend = h + headers_len;
    size_t count = 0;
    for (const uint8_t *p = h; p < hend;) {
        size_t name_len = *p++;
        if ((size_t)(hend - p) < name_len + 1) goto truncated;
        p += name_len;
        uint8_t type = *p++;
        int fixed = fixed_value_size(type);
        if (type == 6 || type == 7) {
            if (hend - p < 2) goto truncated;
            size_t vlen = (size_t)p[0] << 8 | p[1];
            p += 2;
            if ((size_t)(hend - p) < vlen) goto truncated;
            p += vlen;
        } else if (fixed >= 0) {
            if (hend - p < fixed) goto truncated;
            p += fixed;
        } else {
            *reason = "unknown header type";
            return SL_EINVAL;
        }
        count++;
    }

    sl_es_decoded_header_t *hdrs = NULL;
    if (count) {
        hdrs = sl_arena_calloc(arena, count, sizeof *hdrs);
        /* Open-addressing set of header indexes for the duplicate check (load factor <= 1/2). */
        size_t slots = 16;
        while (slots < count * 2)
            slots *= 2;
        uint32_t *set = sl_arena_calloc(arena, slots, sizeof *set);
        size_t *name_lens = sl_arena_alloc(arena, count * sizeof *name_lens);
        if (!hdrs || !set || !name_lens) {
            *reason = "out of memory";
            return SL_ENOMEM;
        }
        size_t i = 0;
        for (const uint8_t *p = h; p < hend; i++) {
            sl_es_decoded_header_t *d = &hdrs[i];
            size_t name_len = *p++;
            const uint8_t *name = p;
            p += name_len;
            for (size_t s = name_hash(name, name_len) & (slots - 1);; s = (s + 1) & (slots - 1)) {
                if (set[s] == 0) {
                    set[s] = (uint32_t)i + 1;
                    break;
                }
                const sl_es_decoded_header_t *o = &hdrs[set[s] - 1];
                if (name_lens[set[s] - 1] == name_len && memcmp(o->name, name, name_len) == 0) {
                    *reason = "duplicate header name";
                    return SL_EINVAL;
                }
            }
            name_lens[i] = name_len;
            d->name = sl_arena_strndup(arena, (const char *)name, name_len);
            if (!d->name) {
                *reason = "out of memory";
                return SL_ENOMEM;
            }
            d->type = *p++;
            switch (d->type) {
            case 0:
                d->num = 1;
                break;
            case 1:
                d->num = 0;
                break;
            case 2:
                d->num = (int8_t)p[0];
                p += 1;
                break;
            case 3:
                d->num = (int16_t)(uint16_t)((uint16_t)p[0] << 8 | p[1]);
                p += 2;
                break;
            case 4:
                d->num = (int32_t)get_be32(p);
                p += 4;
                break;
            case 5:
            case 8:
                d->num = (int64_t)get_be64(p);
                p += 8;
                break;
            case 9:
                memcpy(d->uuid, p, 16);
                p += 16;
                break;
            default: { /* 6, 7: validated above */
                size_t vlen = (size_t)p[0] << 8 | p[1];
                p += 2;
                d->str = sl_arena_strndup(arena, (const char *)p, vlen);
                if (!d->str) {
                    *reason = "out of memory";
                    return SL_ENOMEM;
                }
                d->str_len = vlen;
                p += vlen;
            }
            }
        }
    }
    msg->headers = hdrs;
    msg->header_count = count;
    msg->payload = hend;
    msg->payload_len = payload_len;
    msg->total_len = total;
    return 0;

truncated:
    *reason = "truncated header";
    return SL_EINVAL;
}
