/* CBOR decoder (application/x-amz-cbor-1.1) into the sl_val_t tree, driven by libcbor's streaming
 * decoder: cbor_stream_decode() reports one item header per call through callbacks, and a stack
 * of open frames (arrays, maps, tags, indefinite strings) turns those events into a tree in the
 * request arena. Callbacks cannot return errors, so the first error is recorded in the context,
 * later callbacks do nothing, and the loop stops. Strings are copied into the arena (the input is
 * const and our strings must be NUL-terminated). Text strings must be valid UTF-8, map keys text.
 */
#include "wire/cbor.h"

#include "core/buf.h"
#include "core/common.h"
#include "core/limits.h"
#include "wire/utf8.h"

#include <cbor.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { FR_ARRAY, FR_MAP, FR_TAG, FR_TEXT_CHUNKS, FR_BYTE_CHUNKS } frame_kind_t;

typedef struct {
    frame_kind_t kind;
    bool indefinite;
    uint64_t remaining; /* definite arrays: items left; definite maps: pairs left */
    size_t base;        /* index of the first child on the scratch stack */
    uint64_t tag;       /* FR_TAG */
    sl_val_t *node;     /* FR_ARRAY, FR_MAP: the container being filled */
} frame_t;

typedef struct {
    sl_arena_t *arena;
    const char *err;
    sl_val_t *root;
    bool done;
    int depth;
    frame_t frames[SL_WIRE_DEPTH_MAX];
    sl_val_t **scratch; /* children of open containers (maps: key, value, key, value ...) */
    size_t scratch_len, scratch_cap;
    sl_buf_t chunks;   /* the indefinite string being assembled */
    size_t values;     /* bounded by SL_WIRE_VALUES_MAX */
    bool tag1_seconds; /* Smithy RPC v2 CBOR: tag 1 content counts seconds, integer or not */
} cbor_ctx_t;

static void set_err(cbor_ctx_t *c, const char *reason) {
    if (!c->err) c->err = reason;
}

static sl_val_t *new_val(cbor_ctx_t *c, sl_val_type_t type) {
    if (++c->values > SL_WIRE_VALUES_MAX) {
        set_err(c, "too many values");
        return NULL;
    }
    sl_val_t *v = sl_arena_alloc(c->arena, sizeof *v);
    if (!v) {
        set_err(c, "out of memory");
        return NULL;
    }
    memset(v, 0, sizeof *v);
    v->type = type;
    return v;
}

/* Ready for a new item? Not after an error, not after the root, not inside an indefinite string
 * (whose only allowed items are chunks of its own type and the break). */
static bool ready(cbor_ctx_t *c) {
    if (c->err) return false;
    if (c->done) {
        set_err(c, "trailing bytes after the document");
        return false;
    }
    if (c->depth > 0) {
        frame_kind_t k = c->frames[c->depth - 1].kind;
        if (k == FR_TEXT_CHUNKS || k == FR_BYTE_CHUNKS) {
            set_err(c, "invalid chunk in indefinite-length string");
            return false;
        }
    }
    return true;
}

static bool push_scratch(cbor_ctx_t *c, sl_val_t *v) {
    if (c->scratch_len == c->scratch_cap) {
        size_t cap = c->scratch_cap ? c->scratch_cap * 2 : 64;
        sl_val_t **n = realloc(c->scratch, cap * sizeof *n);
        if (!n) {
            set_err(c, "out of memory");
            return false;
        }
        c->scratch = n;
        c->scratch_cap = cap;
    }
    c->scratch[c->scratch_len++] = v;
    return true;
}

/* Applies tag `tag` to its content. Tag 1 (epoch time) with a number becomes a timestamp: an
 * integer counts milliseconds (what AWS SDKs send), a float below 1e11 seconds, else
 * milliseconds; in Smithy RPC v2 CBOR (tag1_seconds) any number counts seconds. Other tags, and
 * tag 1 on anything else, leave the content unchanged. */
static sl_val_t *apply_tag(cbor_ctx_t *c, uint64_t tag, sl_val_t *v) {
    if (tag != 1 || v->type != SL_VAL_NUMBER) return v;
    double d = v->u.num.d;
    int64_t ms;
    if (c->tag1_seconds) {
        if (!isfinite(d) || d >= 9.2e15 || d <= -9.2e15) {
            set_err(c, "timestamp out of range");
            return NULL;
        }
        ms = v->u.num.is_integer ? v->u.num.i * 1000 : llround(d * 1000.0);
    } else if (v->u.num.is_integer) {
        if (d >= 9223372036854775808.0 || d < -9223372036854775808.0) {
            set_err(c, "timestamp out of range");
            return NULL;
        }
        ms = v->u.num.i;
    } else {
        if (!isfinite(d)) {
            set_err(c, "timestamp is not a finite number");
            return NULL;
        }
        double m = fabs(d) < 1e11 ? d * 1000.0 : d;
        if (m >= 9.2e18 || m <= -9.2e18) {
            set_err(c, "timestamp out of range");
            return NULL;
        }
        ms = llround(m);
    }
    v->type = SL_VAL_TIMESTAMP;
    v->u.ts_ms = ms;
    return v;
}

static void close_container(cbor_ctx_t *c, frame_t *f) {
    size_t n = c->scratch_len - f->base;
    sl_val_t *node = f->node;
    if (f->kind == FR_ARRAY) {
        node->u.arr.count = n;
        if (n) {
            node->u.arr.items = sl_arena_alloc(c->arena, n * sizeof(sl_val_t *));
            if (!node->u.arr.items) {
                set_err(c, "out of memory");
                return;
            }
            memcpy(node->u.arr.items, c->scratch + f->base, n * sizeof(sl_val_t *));
        }
    } else {
        size_t pairs = n / 2;
        node->u.map.count = pairs;
        if (pairs) {
            node->u.map.items = sl_arena_alloc(c->arena, pairs * sizeof(sl_kv_t));
            if (!node->u.map.items) {
                set_err(c, "out of memory");
                return;
            }
            for (size_t i = 0; i < pairs; i++) {
                const sl_val_t *k = c->scratch[f->base + 2 * i];
                node->u.map.items[i] =
                    (sl_kv_t){k->u.str.ptr, k->u.str.len, c->scratch[f->base + 2 * i + 1]};
            }
        }
    }
    c->scratch_len = f->base;
}

/* Hands a finished value to the innermost open frame, closing every frame it completes. */
static void emit(cbor_ctx_t *c, sl_val_t *v) {
    while (v && !c->err) {
        if (c->depth == 0) {
            c->root = v;
            c->done = true;
            return;
        }
        frame_t *f = &c->frames[c->depth - 1];
        switch (f->kind) {
        case FR_TAG:
            c->depth--;
            v = apply_tag(c, f->tag, v);
            continue;
        case FR_ARRAY:
            if (!push_scratch(c, v)) return;
            if (f->indefinite || --f->remaining > 0) return;
            break;
        case FR_MAP: {
            bool is_key = (c->scratch_len - f->base) % 2 == 0;
            if (is_key && v->type != SL_VAL_STRING) {
                set_err(c, "map key is not a text string");
                return;
            }
            if (!push_scratch(c, v)) return;
            if (is_key || f->indefinite || --f->remaining > 0) return;
            break;
        }
        default:
            set_err(c, "invalid chunk in indefinite-length string");
            return;
        }
        close_container(c, f);
        v = f->node;
        c->depth--;
    }
}

static frame_t *push_frame(cbor_ctx_t *c, frame_kind_t kind) {
    if (c->depth >= SL_WIRE_DEPTH_MAX) {
        set_err(c, "nesting too deep");
        return NULL;
    }
    frame_t *f = &c->frames[c->depth++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->base = c->scratch_len;
    return f;
}

static void start_container(cbor_ctx_t *c, bool is_map, bool indefinite, uint64_t size) {
    if (!ready(c)) return;
    sl_val_t *node = new_val(c, is_map ? SL_VAL_MAP : SL_VAL_ARRAY);
    if (!node) return;
    /* Even an empty container counts towards the nesting bound. */
    frame_t *f = push_frame(c, is_map ? FR_MAP : FR_ARRAY);
    if (!f) return;
    f->node = node;
    f->indefinite = indefinite;
    f->remaining = size;
    if (!indefinite && size == 0) {
        c->depth--;
        emit(c, node);
    }
}

static void emit_number(cbor_ctx_t *c, bool negative, uint64_t n) {
    if (!ready(c)) return;
    sl_val_t *v = new_val(c, SL_VAL_NUMBER);
    if (!v) return;
    v->u.num.is_integer = true;
    if (!negative) {
        v->u.num.d = (double)n;
        v->u.num.i = n > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)n;
    } else {
        /* The value is -1 - n. */
        v->u.num.d = -1.0 - (double)n;
        v->u.num.i = n > (uint64_t)INT64_MAX ? INT64_MIN : -1 - (int64_t)n;
    }
    emit(c, v);
}

static void emit_float(cbor_ctx_t *c, double d) {
    if (!ready(c)) return;
    sl_val_t *v = new_val(c, SL_VAL_NUMBER);
    if (!v) return;
    v->u.num.d = d;
    if (d != d)
        v->u.num.i = 0;
    else if (d >= 9223372036854775808.0)
        v->u.num.i = INT64_MAX;
    else if (d <= -9223372036854775808.0)
        v->u.num.i = INT64_MIN;
    else
        v->u.num.i = (int64_t)d;
    emit(c, v);
}

static void emit_string(cbor_ctx_t *c, sl_val_type_t type, const uint8_t *data, size_t len) {
    if (type == SL_VAL_STRING && !sl_utf8_valid(data, len)) {
        set_err(c, "invalid UTF-8 in text string");
        return;
    }
    sl_val_t *v = new_val(c, type);
    if (!v) return;
    char *s = sl_arena_strndup(c->arena, (const char *)data, len);
    if (!s) {
        set_err(c, "out of memory");
        return;
    }
    v->u.str.ptr = s;
    v->u.str.len = len;
    emit(c, v);
}

/* A definite string: a chunk of the open indefinite string of the same type, or a value. */
static void on_string(cbor_ctx_t *c, sl_val_type_t type, const uint8_t *data, size_t len) {
    if (c->err) return;
    if (c->depth > 0) {
        frame_kind_t k = c->frames[c->depth - 1].kind;
        if (k == FR_TEXT_CHUNKS || k == FR_BYTE_CHUNKS) {
            if ((k == FR_TEXT_CHUNKS) != (type == SL_VAL_STRING)) {
                set_err(c, "invalid chunk in indefinite-length string");
                return;
            }
            sl_buf_append(&c->chunks, data, len);
            if (sl_buf_failed(&c->chunks)) set_err(c, "out of memory");
            return;
        }
    }
    if (!ready(c)) return;
    emit_string(c, type, data, len);
}

static void start_chunks(cbor_ctx_t *c, frame_kind_t kind) {
    if (!ready(c)) return;
    if (!push_frame(c, kind)) return;
    sl_buf_reset(&c->chunks);
}

/* ---- libcbor callbacks ---- */

static void cb_uint8(void *ctx, uint8_t v) {
    emit_number(ctx, false, v);
}
static void cb_uint16(void *ctx, uint16_t v) {
    emit_number(ctx, false, v);
}
static void cb_uint32(void *ctx, uint32_t v) {
    emit_number(ctx, false, v);
}
static void cb_uint64(void *ctx, uint64_t v) {
    emit_number(ctx, false, v);
}
static void cb_negint8(void *ctx, uint8_t v) {
    emit_number(ctx, true, v);
}
static void cb_negint16(void *ctx, uint16_t v) {
    emit_number(ctx, true, v);
}
static void cb_negint32(void *ctx, uint32_t v) {
    emit_number(ctx, true, v);
}
static void cb_negint64(void *ctx, uint64_t v) {
    emit_number(ctx, true, v);
}

static void cb_bytes(void *ctx, cbor_data data, size_t len) {
    on_string(ctx, SL_VAL_BYTES, data, len);
}
static void cb_text(void *ctx, cbor_data data, size_t len) {
    on_string(ctx, SL_VAL_STRING, data, len);
}
static void cb_bytes_start(void *ctx) {
    start_chunks(ctx, FR_BYTE_CHUNKS);
}
static void cb_text_start(void *ctx) {
    start_chunks(ctx, FR_TEXT_CHUNKS);
}

static void cb_array_start(void *ctx, size_t n) {
    start_container(ctx, false, false, n);
}
static void cb_indef_array_start(void *ctx) {
    start_container(ctx, false, true, 0);
}
static void cb_map_start(void *ctx, size_t n) {
    start_container(ctx, true, false, n);
}
static void cb_indef_map_start(void *ctx) {
    start_container(ctx, true, true, 0);
}

static void cb_tag(void *ctx, uint64_t tag) {
    cbor_ctx_t *c = ctx;
    if (!ready(c)) return;
    frame_t *f = push_frame(c, FR_TAG);
    if (f) f->tag = tag;
}

static void cb_float(void *ctx, float v) {
    emit_float(ctx, v);
}
static void cb_double(void *ctx, double v) {
    emit_float(ctx, v);
}

static void cb_null(void *ctx) {
    cbor_ctx_t *c = ctx;
    if (!ready(c)) return;
    emit(c, new_val(c, SL_VAL_NULL));
}

static void cb_bool(void *ctx, bool b) {
    cbor_ctx_t *c = ctx;
    if (!ready(c)) return;
    sl_val_t *v = new_val(c, SL_VAL_BOOL);
    if (!v) return;
    v->u.b = b;
    emit(c, v);
}

static void cb_break(void *ctx) {
    cbor_ctx_t *c = ctx;
    if (c->err) return;
    if (c->done || c->depth == 0) {
        set_err(c, "unexpected break");
        return;
    }
    frame_t *f = &c->frames[c->depth - 1];
    if (f->kind == FR_TEXT_CHUNKS || f->kind == FR_BYTE_CHUNKS) {
        sl_val_type_t type = f->kind == FR_TEXT_CHUNKS ? SL_VAL_STRING : SL_VAL_BYTES;
        c->depth--;
        emit_string(c, type, (const uint8_t *)(c->chunks.data ? c->chunks.data : ""),
                    c->chunks.len);
        return;
    }
    if ((f->kind != FR_ARRAY && f->kind != FR_MAP) || !f->indefinite) {
        set_err(c, "unexpected break");
        return;
    }
    if (f->kind == FR_MAP && (c->scratch_len - f->base) % 2 != 0) {
        set_err(c, "map key without a value");
        return;
    }
    close_container(c, f);
    if (c->err) return;
    c->depth--;
    emit(c, f->node);
}

static const struct cbor_callbacks callbacks = {
    .uint8 = cb_uint8,
    .uint16 = cb_uint16,
    .uint32 = cb_uint32,
    .uint64 = cb_uint64,
    .negint8 = cb_negint8,
    .negint16 = cb_negint16,
    .negint32 = cb_negint32,
    .negint64 = cb_negint64,
    .byte_string_start = cb_bytes_start,
    .byte_string = cb_bytes,
    .string = cb_text,
    .string_start = cb_text_start,
    .indef_array_start = cb_indef_array_start,
    .array_start = cb_array_start,
    .indef_map_start = cb_indef_map_start,
    .map_start = cb_map_start,
    .tag = cb_tag,
    .float2 = cb_float,
    .float4 = cb_float,
    .float8 = cb_double,
    .undefined = cb_null,
    .null = cb_null,
    .boolean = cb_bool,
    .indef_break = cb_break,
};

int sl_cbor_parse(const uint8_t *data, size_t len, sl_arena_t *arena, sl_val_t **out,
                  const char **reason) {
    return sl_cbor_parse_ex(data, len, false, arena, out, reason);
}

int sl_cbor_parse_ex(const uint8_t *data, size_t len, bool tag1_seconds, sl_arena_t *arena,
                     sl_val_t **out, const char **reason) {
    SL_ASSERT(arena && out);
    const char *dummy;
    if (!reason) reason = &dummy;
    *out = NULL;
    *reason = NULL;
    if (len == 0) {
        *reason = "empty document";
        return SL_EINVAL;
    }
    cbor_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        *reason = "out of memory";
        return SL_ENOMEM;
    }
    c->arena = arena;
    c->tag1_seconds = tag1_seconds;
    size_t pos = 0;
    while (pos < len && !c->done && !c->err) {
        struct cbor_decoder_result r = cbor_stream_decode(data + pos, len - pos, &callbacks, c);
        if (r.status == CBOR_DECODER_NEDATA) {
            set_err(c, "truncated document");
            break;
        }
        if (r.status != CBOR_DECODER_FINISHED || r.read == 0) {
            set_err(c, "malformed CBOR");
            break;
        }
        pos += r.read;
    }
    if (!c->err && !c->done) set_err(c, "truncated document");
    if (!c->err && pos != len) set_err(c, "trailing bytes after the document");
    int rc = 0;
    if (c->err) {
        *reason = c->err;
        rc = strcmp(c->err, "out of memory") == 0 ? SL_ENOMEM : SL_EINVAL;
    } else {
        *out = c->root;
    }
    /* Success consumed the whole input; a failure has a reason and no document. */
    SL_ASSERT(rc == 0 ? pos == len && !*reason : !*out && *reason);
    free(c->scratch);
    sl_buf_free(&c->chunks);
    free(c);
    return rc;
}
