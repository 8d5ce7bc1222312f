/* Model-driven request validation (see validate.h): one pass of type checks that also coerces the
 * tree (SerializationException), then one pass of constraint checks over the generated shape
 * table (ValidationException), both with AWS's exact texts.
 *
 * Where the texts and the order come from (facts recorded against real AWS by kinesalite's tests,
 * mhart/kinesalite test/<op>.js and validations/index.js; no code carried over):
 * - Type errors are reported for the first offending value in document order, as AWS's streaming
 *   deserializer does. Texts per target type are in check_type().
 * - Constraint errors: members of a structure are visited in the order AWS validates them
 *   (shape->check_order, generated from the OVERLAYS of tools/gen_model.py: AWS uses a hash map
 *   order, e.g. PutRecord validates sequenceNumberForOrdering, partitionKey, explicitHashKey,
 *   data, streamName). Within one member the rules come in this order: not null; value >= min;
 *   value <= max; pattern; length >= min; length <= max; enum; then for lists the element rules
 *   (structures element by element, depth first; scalar elements as one composite rule) and for
 *   maps the key rule then the value rule. At most 10 errors are collected and the count in the
 *   prefix is the number listed ("10 validation errors detected: " for 502 failures).
 * - Paths: member names with a lower-cased first letter joined by '.', list elements as
 *   "<list>.<1-based index>.member" (AWS: "records.1.member.partitionKey").
 * String lengths count UTF-16 code units, as Java's String.length() does (a character outside the
 * Basic Multilingual Plane counts 2). */
#include "front/validate.h"

#include "core/common.h"
#include "core/limits.h"
#include "wire/awserror.h"
#include "wire/base64.h"
#include "wire/json.h"

#include <inttypes.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* ---- compiled patterns ------------------------------------------------------------------------
 */

/* Patterns are compiled once and shared by all threads. Slots are published by incrementing
 * `regex_count` after the slot is filled, so readers scan without the lock. The generated model
 * strings are static, so their addresses identify them. glibc's regexec is thread-safe. */
typedef struct {
    const char *ere;
    regex_t re;
    /* A pattern that is one bracket expression repeated, "^([...]+)$" of plain bytes and
     * ranges (StreamName's "[a-zA-Z0-9_.-]+", on every data-plane request), is matched with
     * this byte table instead of regexec. */
    bool is_class;
    uint8_t class_bits[32];
} regex_slot_t;

static regex_slot_t regex_slots[SL_API_PATTERNS_MAX];
static atomic_size_t regex_count;
static pthread_mutex_t regex_lock = PTHREAD_MUTEX_INITIALIZER;

/* Fills slot->class_bits when ere is "^([<class>]+)$" with a class of ASCII letters, digits and
 * '_' '.' '-' ' ' ':' '/' '@' '=' '+' ',', alone or in ranges between two letters or two digits
 * (the same bytes regexec matches in any locale); otherwise leaves it false. */
static void class_compile(regex_slot_t *slot, const char *ere) {
    size_t n = strlen(ere);
    if (n < 8 || memcmp(ere, "^([", 3) != 0 || memcmp(ere + n - 4, "]+)$", 4) != 0) return;
    const char *p = ere + 3, *end = ere + n - 4;
    uint8_t bits[32] = {0};
    if (p == end || *p == '^' || *p == ']') return;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !strchr("_.- :/@=+,", c)) return;
        unsigned char last = c;
        if (alnum && p + 2 < end && p[1] == '-') {
            last = (unsigned char)p[2];
            bool same = (c >= 'a' && c <= 'z' && last >= c && last <= 'z') ||
                        (c >= 'A' && c <= 'Z' && last >= c && last <= 'Z') ||
                        (c >= '0' && c <= '9' && last >= c && last <= '9');
            if (!same) return;
            p += 2;
        } else if (c == '-' && p != ere + 3 && p + 1 != end) {
            return; /* a '-' counts as itself only first or last in the class */
        }
        for (unsigned x = c; x <= last; x++)
            bits[x >> 3] |= (uint8_t)(1u << (x & 7));
        p++;
    }
    memcpy(slot->class_bits, bits, sizeof bits);
    slot->is_class = true;
}

static const regex_slot_t *regex_get(const char *ere) {
    size_t n = atomic_load_explicit(&regex_count, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (regex_slots[i].ere == ere) return &regex_slots[i];
    pthread_mutex_lock(&regex_lock);
    n = atomic_load_explicit(&regex_count, memory_order_relaxed);
    const regex_slot_t *found = NULL;
    for (size_t i = 0; i < n && !found; i++)
        if (regex_slots[i].ere == ere) found = &regex_slots[i];
    if (!found) {
        /* A model with more distinct patterns than slots is a programmer error (raise the bound).
         */
        SL_ASSERT(n < SL_API_PATTERNS_MAX);
        /* The generator produced and the unit tests compile every pattern: failure is a bug. */
        SL_ASSERT(regcomp(&regex_slots[n].re, ere, REG_EXTENDED | REG_NOSUB) == 0);
        class_compile(&regex_slots[n], ere);
        regex_slots[n].ere = ere;
        found = &regex_slots[n];
        atomic_store_explicit(&regex_count, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&regex_lock);
    return found;
}

/* Whole-string match of s (len bytes, may contain NULs) against the shape's pattern. */
static bool pattern_matches(const sl_shape_t *shape, const char *s, size_t len) {
    const regex_slot_t *slot = regex_get(shape->pattern_ere);
    if (slot->is_class) {
        if (len == 0) return false;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)s[i];
            if (!(slot->class_bits[c >> 3] & (1u << (c & 7)))) return false;
        }
        return true;
    }
    regmatch_t m[1];
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)len;
    return regexec(&slot->re, s, 1, m, REG_STARTEND) == 0;
}

/* ---- context ----------------------------------------------------------------------------------
 */

typedef struct {
    sl_arena_t *arena;
    sl_fmt_t fmt;
    sl_front_error_t *err;
    sl_buf_t msg; /* constraint errors joined with "; " */
    int count;    /* constraint errors collected (<= SL_API_VALIDATION_ERRORS_MAX) */
    bool oom;
} vctx_t;

/* A path is a chain of segments on the stack, rendered only when an error is reported. */
typedef enum { SEG_MEMBER, SEG_INDEX, SEG_KEY } seg_kind_t;
typedef struct seg {
    const struct seg *up;
    seg_kind_t kind;
    const char *s; /* SEG_MEMBER: member name; SEG_KEY: map key */
    size_t n;      /* SEG_KEY: key length */
    size_t index;  /* SEG_INDEX: 0-based */
} seg_t;

/* Text from the request; messages are C strings, so a NUL byte is shown as "\u0000". */
static void append_text(sl_buf_t *b, const char *s, size_t n) {
    const char *nul;
    while (n && (nul = memchr(s, 0, n)) != NULL) {
        sl_buf_append(b, s, (size_t)(nul - s));
        sl_buf_append_str(b, "\\u0000");
        n -= (size_t)(nul - s) + 1;
        s = nul + 1;
    }
    sl_buf_append(b, s, n);
}

static void render_path(sl_buf_t *b, const seg_t *seg) {
    if (!seg) return;
    if (seg->up) {
        render_path(b, seg->up);
        sl_buf_append_byte(b, '.');
    }
    switch (seg->kind) {
    case SEG_MEMBER:
        if (seg->s[0]) {
            char c = seg->s[0];
            if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
            sl_buf_append_byte(b, (uint8_t)c);
            sl_buf_append_str(b, seg->s + 1);
        }
        break;
    case SEG_INDEX:
        sl_buf_printf(b, "%zu.member", seg->index + 1);
        break;
    case SEG_KEY:
        append_text(b, seg->s, seg->n);
        sl_buf_append_str(b, ".member");
        break;
    }
}

/* AWS prints structures inside lists as Java's default toString: class@identity-hash. Any 8 hex
 * digits will do; derive them from the node's address. */
static uint32_t identity_hash(const void *p) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

static void render_value(sl_buf_t *b, const sl_shape_t *shape, const sl_val_t *v);

static void render_item(sl_buf_t *b, const sl_shape_t *shape, const sl_val_t *v) {
    if (v && v->type != SL_VAL_NULL && shape && shape->type == SL_SHAPE_STRUCTURE) {
        sl_buf_printf(b, "%s@%08" PRIx32, shape->java_class ? shape->java_class : shape->name,
                      identity_hash(v));
        return;
    }
    render_value(b, shape, v);
}

/* The value as AWS prints it inside "Value '<v>' at ...". */
static void render_value(sl_buf_t *b, const sl_shape_t *shape, const sl_val_t *v) {
    if (!v || v->type == SL_VAL_NULL) {
        sl_buf_append_str(b, "null");
        return;
    }
    switch (v->type) {
    case SL_VAL_NULL:
        break;
    case SL_VAL_BOOL:
        sl_buf_append_str(b, v->u.b ? "true" : "false");
        break;
    case SL_VAL_NUMBER:
        sl_buf_printf(b, "%" PRId64, v->u.num.i);
        break;
    case SL_VAL_STRING:
        append_text(b, v->u.str.ptr, v->u.str.len);
        break;
    case SL_VAL_BYTES:
        sl_buf_printf(b, "java.nio.HeapByteBuffer[pos=0 lim=%zu cap=%zu]", v->u.str.len,
                      v->u.str.len);
        break;
    case SL_VAL_TIMESTAMP:
        sl_buf_printf(b, "%" PRId64, v->u.ts_ms);
        break;
    case SL_VAL_ARRAY:
        sl_buf_append_byte(b, '[');
        for (size_t i = 0; i < v->u.arr.count; i++) {
            if (i) sl_buf_append_str(b, ", ");
            render_item(b, shape ? shape->member : NULL, v->u.arr.items[i]);
        }
        sl_buf_append_byte(b, ']');
        break;
    case SL_VAL_MAP:
        if (shape && shape->type == SL_SHAPE_STRUCTURE) {
            render_item(b, shape, v);
            break;
        }
        sl_buf_append_byte(b, '{');
        for (size_t i = 0; i < v->u.map.count; i++) {
            if (i) sl_buf_append_str(b, ", ");
            append_text(b, v->u.map.items[i].key, v->u.map.items[i].key_len);
            sl_buf_append_byte(b, '=');
            render_item(b, shape ? shape->value : NULL, v->u.map.items[i].val);
        }
        sl_buf_append_byte(b, '}');
        break;
    }
}

/* Appends one "Value ... failed to satisfy constraint: <rule>" entry. */
static void add_error(vctx_t *c, const sl_shape_t *shape, const sl_val_t *v, const seg_t *path,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void add_error(vctx_t *c, const sl_shape_t *shape, const sl_val_t *v, const seg_t *path,
                      const char *fmt, ...) {
    if (c->count >= SL_API_VALIDATION_ERRORS_MAX) return;
    if (c->count) sl_buf_append_str(&c->msg, "; ");
    sl_buf_append_str(&c->msg, "Value ");
    bool quoted = v && v->type != SL_VAL_NULL;
    if (quoted) sl_buf_append_byte(&c->msg, '\'');
    render_value(&c->msg, shape, v);
    if (quoted) sl_buf_append_byte(&c->msg, '\'');
    sl_buf_append_str(&c->msg, " at '");
    render_path(&c->msg, path);
    sl_buf_append_str(&c->msg, "' failed to satisfy constraint: ");
    va_list ap;
    va_start(ap, fmt);
    sl_buf_vprintf(&c->msg, fmt, ap);
    va_end(ap);
    c->count++;
}

/* The length rule of a string (UTF-16 units), blob (bytes), list or map (entries). */
static void check_length(vctx_t *c, const sl_shape_t *s, const sl_val_t *v, const seg_t *path,
                         int64_t len) {
    if (s->has_min && len < s->min)
        add_error(c, s, v, path, "Member must have length greater than or equal to %" PRId64,
                  s->min);
    if (s->has_max && len > s->max)
        add_error(c, s, v, path, "Member must have length less than or equal to %" PRId64, s->max);
}

/* ---- type pass (SerializationException) --------------------------------------------------------
 */

static int type_error(vctx_t *c, const char *message) {
    c->err->type = SL_AWS_SERIALIZATION;
    c->err->message = message;
    return -1;
}

static int type_errorf(vctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int type_errorf(vctx_t *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[1];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
    va_end(ap2);
    char *s = n >= 0 ? sl_arena_alloc(c->arena, (size_t)n + 1) : NULL;
    if (s) vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (!s) {
        c->oom = true;
        return -1;
    }
    return type_error(c, s);
}

/* Article + name of the Java target type in AWS's "can not be converted to ..." texts. */
static const char *target_name(const sl_shape_t *shape) {
    switch (shape->type) {
    case SL_SHAPE_STRING:
        return "an String";
    case SL_SHAPE_INTEGER:
        return "an Integer";
    case SL_SHAPE_LONG:
        return "an Long";
    case SL_SHAPE_DOUBLE:
        return "an Double";
    case SL_SHAPE_BOOLEAN:
        return "an Boolean";
    case SL_SHAPE_BLOB:
        return "a Blob";
    case SL_SHAPE_TIMESTAMP:
        return "milliseconds since epoch";
    default:
        return "an Object";
    }
}

/* Java class AWS names for a scalar source value. CBOR byte strings and tags have no observed
 * AWS text; they are named like Java's byte[] ("[B") and numbers respectively [unverified]. */
static const char *source_class(const sl_val_t *v) {
    switch (v->type) {
    case SL_VAL_BOOL:
        return "java.lang.Boolean";
    case SL_VAL_STRING:
        return "java.lang.String";
    case SL_VAL_BYTES:
        return "[B";
    default:
        return "com.amazon.coral.value.json.numbers.TruncatingBigNumber";
    }
}

/* The generic texts for containers met where a scalar or another container was expected. */
static int container_mismatch(vctx_t *c, const sl_val_t *v) {
    if (v->type == SL_VAL_ARRAY) return type_error(c, "Start of list found where not expected");
    return type_error(c, "Start of structure or map found where not expected.");
}

static int64_t clamp_i64(int64_t x, int64_t lo, int64_t hi) {
    return x < lo ? lo : x > hi ? hi : x;
}

/* Rounded to the nearest millisecond, saturated (no libm needed). */
static int64_t double_to_ms(double ms) {
    if (ms != ms) return 0; /* NaN */
    if (ms >= 9.2e18) return INT64_MAX;
    if (ms <= -9.2e18) return INT64_MIN;
    return (int64_t)(ms + (ms >= 0 ? 0.5 : -0.5));
}

static int check_blob_text(vctx_t *c, sl_val_t *v) {
    size_t n = v->u.str.len;
    uint8_t *out = sl_arena_alloc(c->arena, n / 4 * 3 + 1);
    if (!out) {
        c->oom = true;
        return -1;
    }
    size_t out_len = 0;
    char bad = 0;
    sl_b64_status_t st = sl_base64_decode(v->u.str.ptr, n, out, &out_len, &bad);
    if (st != SL_B64_OK) {
        /* "'<v>' can not be converted to a Blob: <reason>" (reason texts from wire/base64). */
        sl_buf_t b = SL_BUF_INIT;
        sl_buf_append_byte(&b, '\'');
        append_text(&b, v->u.str.ptr, n);
        sl_buf_append_str(&b, "' can not be converted to a Blob: ");
        sl_base64_reason(&b, st, v->u.str.ptr, n);
        char *msg = sl_buf_failed(&b) ? NULL : sl_arena_strndup(c->arena, b.data, b.len);
        sl_buf_free(&b);
        if (!msg) {
            c->oom = true;
            return -1;
        }
        return type_error(c, msg);
    }
    out[out_len] = 0;
    v->type = SL_VAL_BYTES;
    v->u.str.ptr = (const char *)out;
    v->u.str.len = out_len;
    return 0;
}

/* Accepted spellings of a boolean given as a string (kinesalite notes that AWS converts these);
 * returns false when s is none of them. */
static bool parse_bool_text(const char *s, size_t n, bool *out) {
    static const struct {
        const char *text;
        bool value;
    } words[] = {
        {"true", true}, {"false", false}, {"1", true}, {"0", false}, {"yes", true}, {"no", false},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(words); i++) {
        if (strlen(words[i].text) != n) continue;
        bool eq = true;
        for (size_t k = 0; k < n && eq; k++) {
            char ch = s[k];
            if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
            eq = ch == words[i].text[k];
        }
        if (eq) {
            *out = words[i].value;
            return true;
        }
    }
    return false;
}

/* Lengths of a structure's member names, measured once per list of such structures (PutRecords'
 * 500 entries) instead of once per member per entry. Structures with more members than
 * SL_API_MEMBER_NAMES_CACHED_MAX (none in the Kinesis model) are measured per call. */
typedef struct {
    size_t len[SL_API_MEMBER_NAMES_CACHED_MAX];
} name_lens_t;

/* Fills *nl for shape and returns it, or NULL when the shape has too many members. */
static const name_lens_t *name_lens_init(name_lens_t *nl, const sl_shape_t *shape) {
    if (shape->member_count > SL_API_MEMBER_NAMES_CACHED_MAX) return NULL;
    for (size_t m = 0; m < shape->member_count; m++)
        nl->len[m] = strlen(shape->members[m].name);
    return nl;
}

/* Is member m of shape (name length from nl, or measured) the key of key_len bytes? */
static inline bool member_is(const sl_shape_t *shape, const name_lens_t *nl, size_t m,
                             const char *key, size_t key_len) {
    const char *name = shape->members[m].name;
    size_t len = nl ? nl->len[m] : strlen(name);
    return len == key_len && memcmp(name, key, len) == 0;
}

/* The value of member m of map v as sl_val_get returns it: the last occurrence wins and a null
 * value counts as absent. */
static const sl_val_t *member_value(const sl_val_t *v, const sl_shape_t *shape,
                                    const name_lens_t *nl, size_t m) {
    if (!v || v->type != SL_VAL_MAP) return NULL;
    for (size_t i = v->u.map.count; i-- > 0;) {
        const sl_kv_t *kv = &v->u.map.items[i];
        if (member_is(shape, nl, m, kv->key, kv->key_len))
            return kv->val && kv->val->type != SL_VAL_NULL ? kv->val : NULL;
    }
    return NULL;
}

static int check_type(vctx_t *c, const sl_shape_t *shape, sl_val_t *v);

static int check_struct_type(vctx_t *c, const sl_shape_t *shape, sl_val_t *v,
                             const name_lens_t *nl) {
    /* Document order: the first bad value in the body is the one reported. */
    for (size_t i = 0; i < v->u.map.count; i++) {
        sl_kv_t *kv = &v->u.map.items[i];
        if (!kv->val || kv->val->type == SL_VAL_NULL) continue;
        for (size_t m = 0; m < shape->member_count; m++) {
            const sl_member_t *mem = &shape->members[m];
            if (member_is(shape, nl, m, kv->key, kv->key_len)) {
                if (check_type(c, mem->shape, kv->val) < 0) return -1;
                break;
            }
        }
    }
    return 0;
}

static int check_type(vctx_t *c, const sl_shape_t *shape, sl_val_t *v) {
    if (!v || v->type == SL_VAL_NULL) return 0;
    bool container = v->type == SL_VAL_ARRAY || v->type == SL_VAL_MAP;
    switch (shape->type) {
    case SL_SHAPE_STRING:
        if (v->type == SL_VAL_STRING) return 0;
        if (container) return container_mismatch(c, v);
        return type_errorf(c, "class %s can not be converted to %s", source_class(v),
                           target_name(shape));

    case SL_SHAPE_INTEGER:
    case SL_SHAPE_LONG:
        if (v->type == SL_VAL_TIMESTAMP) {
            int64_t ms = v->u.ts_ms;
            v->type = SL_VAL_NUMBER;
            v->u.num.i = ms;
            v->u.num.d = (double)ms;
            v->u.num.is_integer = true;
            v->u.num.text = NULL;
            v->u.num.text_len = 0;
        }
        if (v->type == SL_VAL_NUMBER) {
            /* Fractions are truncated (num.i already is); an Integer beyond the int range is
             * clamped as AWS does before range validation; a Long keeps its int64 value. */
            if (shape->type == SL_SHAPE_INTEGER)
                v->u.num.i = clamp_i64(v->u.num.i, INT32_MIN, INT32_MAX);
            v->u.num.d = (double)v->u.num.i;
            return 0;
        }
        if (container) return container_mismatch(c, v);
        return type_errorf(c, "class %s can not be converted to %s", source_class(v),
                           target_name(shape));

    case SL_SHAPE_DOUBLE:
        if (v->type == SL_VAL_NUMBER) return 0;
        if (container) return container_mismatch(c, v);
        return type_errorf(c, "class %s can not be converted to %s", source_class(v),
                           target_name(shape));

    case SL_SHAPE_BOOLEAN:
        if (v->type == SL_VAL_BOOL) return 0;
        if (container) return container_mismatch(c, v);
        if (v->type == SL_VAL_STRING) {
            bool b;
            if (parse_bool_text(v->u.str.ptr, v->u.str.len, &b)) {
                v->type = SL_VAL_BOOL;
                v->u.b = b;
                return 0;
            }
            char *up = sl_arena_strndup(c->arena, v->u.str.ptr, v->u.str.len);
            if (!up) {
                c->oom = true;
                return -1;
            }
            for (size_t i = 0; i < v->u.str.len; i++)
                if (up[i] >= 'a' && up[i] <= 'z') up[i] = (char)(up[i] - 'a' + 'A');
            return type_errorf(c, "'%s' can not be converted to an Boolean", up);
        }
        if (v->type == SL_VAL_NUMBER && !v->u.num.is_integer) {
            /* AWS accepts numbers with a fraction here (kinesalite: "doubles are fine"). */
            bool b = v->u.num.d != 0;
            v->type = SL_VAL_BOOL;
            v->u.b = b;
            return 0;
        }
        return type_errorf(c, "class %s can not be converted to %s", source_class(v),
                           target_name(shape));

    case SL_SHAPE_BLOB:
        if (v->type == SL_VAL_BYTES) return 0;
        /* JSON carries blobs as base64 text. A CBOR text string is read the same way (Jackson's
         * binary accessor base64-decodes text), so both codecs share the AWS messages. */
        if (v->type == SL_VAL_STRING) return check_blob_text(c, v);
        if (container) return container_mismatch(c, v);
        return type_errorf(c, "class %s can not be converted to %s", source_class(v),
                           target_name(shape));

    case SL_SHAPE_TIMESTAMP:
        if (v->type == SL_VAL_TIMESTAMP) return 0;
        if (v->type == SL_VAL_NUMBER) {
            int64_t ms;
            if (c->fmt == SL_FMT_JSON) {
                /* JSON: epoch seconds, fraction = milliseconds. */
                if (v->u.num.is_integer && v->u.num.i > -9223372036854775LL &&
                    v->u.num.i < 9223372036854775LL)
                    ms = v->u.num.i * 1000;
                else
                    ms = double_to_ms(v->u.num.d * 1000.0);
            } else if (v->u.num.is_integer) {
                ms = v->u.num.i; /* CBOR: integer milliseconds (Java SDKs) */
            } else {
                /* CBOR float: seconds when small enough to be seconds, else milliseconds. */
                double d = v->u.num.d;
                ms = (d < 1e11 && d > -1e11) ? double_to_ms(d * 1000.0) : double_to_ms(d);
            }
            v->type = SL_VAL_TIMESTAMP;
            v->u.ts_ms = ms;
            return 0;
        }
        if (container) return container_mismatch(c, v);
        return type_errorf(c, "class %s can not be converted to %s", source_class(v),
                           target_name(shape));

    case SL_SHAPE_LIST:
        if (v->type == SL_VAL_MAP)
            return type_error(c, "Start of structure or map found where not expected.");
        if (v->type != SL_VAL_ARRAY) return type_error(c, "Expected list or null");
        if (shape->member->type == SL_SHAPE_STRUCTURE) {
            /* Structure elements: what check_type does for each, with the names measured once. */
            name_lens_t lens;
            const name_lens_t *nl = name_lens_init(&lens, shape->member);
            for (size_t i = 0; i < v->u.arr.count; i++) {
                sl_val_t *item = v->u.arr.items[i];
                int rc = item && item->type == SL_VAL_MAP
                             ? check_struct_type(c, shape->member, item, nl)
                             : check_type(c, shape->member, item);
                if (rc < 0) return -1;
            }
            return 0;
        }
        for (size_t i = 0; i < v->u.arr.count; i++)
            if (check_type(c, shape->member, v->u.arr.items[i]) < 0) return -1;
        return 0;

    case SL_SHAPE_MAP:
        if (v->type == SL_VAL_ARRAY) return type_error(c, "Start of list found where not expected");
        if (v->type != SL_VAL_MAP) return type_error(c, "Expected map or null");
        for (size_t i = 0; i < v->u.map.count; i++)
            if (check_type(c, shape->value, v->u.map.items[i].val) < 0) return -1;
        return 0;

    case SL_SHAPE_STRUCTURE:
        if (v->type == SL_VAL_ARRAY) return type_error(c, "Start of list found where not expected");
        if (v->type != SL_VAL_MAP) return type_error(c, "Expected null");
        return check_struct_type(c, shape, v, NULL);
    }
    return 0;
}

/* ---- constraint pass (ValidationException) ----------------------------------------------------
 */

/* Java String.length(): UTF-16 code units of UTF-8 text. Eight ASCII bytes at a time (each is one
 * unit); any other byte goes through the per-byte rule, so invalid UTF-8 counts as before. */
static size_t utf16_length(const char *s, size_t n) {
    size_t units = 0, i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if ((x & UINT64_C(0x8080808080808080)) != 0) break;
        units += 8;
    }
    for (; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if ((b & 0xC0) != 0x80) units += b >= 0xF0 ? 2 : 1;
    }
    return units;
}

static bool shape_has_rules(const sl_shape_t *s) {
    return s->has_min || s->has_max || s->pattern || s->enum_count;
}

static bool enum_contains(const sl_shape_t *s, const char *str, size_t n) {
    for (size_t i = 0; i < s->enum_count; i++)
        if (strlen(s->enum_values[i]) == n && memcmp(s->enum_values[i], str, n) == 0) return true;
    return false;
}

/* Does a scalar satisfy every rule of its shape? (for the composite list/map rules) */
static bool scalar_ok(const sl_shape_t *s, const sl_val_t *v) {
    if (!v || v->type == SL_VAL_NULL) return false;
    switch (s->type) {
    case SL_SHAPE_STRING: {
        if (v->type != SL_VAL_STRING) return true;
        if (s->pattern_ere && !pattern_matches(s, v->u.str.ptr, v->u.str.len)) return false;
        size_t len = utf16_length(v->u.str.ptr, v->u.str.len);
        if (s->has_min && (int64_t)len < s->min) return false;
        if (s->has_max && (int64_t)len > s->max) return false;
        return !s->enum_count || enum_contains(s, v->u.str.ptr, v->u.str.len);
    }
    case SL_SHAPE_INTEGER:
    case SL_SHAPE_LONG:
        if (v->type != SL_VAL_NUMBER) return true;
        if (s->has_min && v->u.num.i < s->min) return false;
        if (s->has_max && v->u.num.i > s->max) return false;
        return true;
    case SL_SHAPE_BLOB:
        if (v->type != SL_VAL_BYTES) return true;
        if (s->has_min && (int64_t)v->u.str.len < s->min) return false;
        if (s->has_max && (int64_t)v->u.str.len > s->max) return false;
        return true;
    default:
        return true;
    }
}

/* "[Member must have length less than or equal to 128, Member must have length greater than or
 * equal to 1]": every rule of the element shape, maximum before minimum as AWS prints them. */
static void render_rules(sl_buf_t *b, const sl_shape_t *s) {
    const char *what = s->type == SL_SHAPE_INTEGER || s->type == SL_SHAPE_LONG ? "value" : "length";
    bool first = true;
    sl_buf_append_byte(b, '[');
#define SEP() (first ? (void)(first = false) : sl_buf_append_str(b, ", "))
    if (s->has_max) {
        SEP();
        sl_buf_printf(b, "Member must have %s less than or equal to %" PRId64, what, s->max);
    }
    if (s->has_min) {
        SEP();
        sl_buf_printf(b, "Member must have %s greater than or equal to %" PRId64, what, s->min);
    }
    if (s->pattern) {
        SEP();
        sl_buf_printf(b, "Member must satisfy regular expression pattern: %s", s->pattern);
    }
    if (s->enum_text) {
        SEP();
        sl_buf_printf(b, "Member must satisfy enum value set: %s", s->enum_text);
    }
#undef SEP
    sl_buf_append_byte(b, ']');
}

static void add_composite_error(vctx_t *c, const sl_shape_t *shape, const sl_val_t *v,
                                const seg_t *path, const char *lead, const sl_shape_t *elem) {
    sl_buf_t rules = SL_BUF_INIT;
    render_rules(&rules, elem);
    if (sl_buf_failed(&rules)) c->oom = true;
    add_error(c, shape, v, path, "%s: %.*s", lead, (int)rules.len, rules.data ? rules.data : "");
    sl_buf_free(&rules);
}

static void check_struct(vctx_t *c, const sl_shape_t *shape, const sl_val_t *v, const seg_t *path,
                         const name_lens_t *nl);

/* True when check_struct would report nothing for v, a map of a structure shape whose members are
 * all scalars: every required member present and every present member passing scalar_ok, which
 * applies exactly check_value's scalar rules. False (then check_struct runs and reports) for any
 * violation or for a member of structure, list or map shape. The common, valid PutRecords entry
 * thus skips the per-member error bookkeeping. */
static bool struct_quick_ok(const sl_shape_t *shape, const sl_val_t *v, const name_lens_t *nl) {
    for (size_t m = 0; m < shape->member_count; m++) {
        const sl_member_t *mem = &shape->members[m];
        sl_shape_type_t t = mem->shape->type;
        if (t == SL_SHAPE_STRUCTURE || t == SL_SHAPE_LIST || t == SL_SHAPE_MAP) return false;
        const sl_val_t *mv = member_value(v, shape, nl, m);
        if (!mv) {
            if (mem->required) return false;
            continue;
        }
        if (!scalar_ok(mem->shape, mv)) return false;
    }
    return true;
}

static void check_value(vctx_t *c, const sl_shape_t *s, const sl_val_t *v, const seg_t *path) {
    if (c->count >= SL_API_VALIDATION_ERRORS_MAX) return;
    switch (s->type) {
    case SL_SHAPE_INTEGER:
    case SL_SHAPE_LONG:
        if (v->type != SL_VAL_NUMBER) return;
        if (s->has_min && v->u.num.i < s->min)
            add_error(c, s, v, path, "Member must have value greater than or equal to %" PRId64,
                      s->min);
        if (s->has_max && v->u.num.i > s->max)
            add_error(c, s, v, path, "Member must have value less than or equal to %" PRId64,
                      s->max);
        return;

    case SL_SHAPE_STRING: {
        if (v->type != SL_VAL_STRING) return;
        if (s->pattern_ere && !pattern_matches(s, v->u.str.ptr, v->u.str.len))
            add_error(c, s, v, path, "Member must satisfy regular expression pattern: %s",
                      s->pattern);
        if (s->has_min || s->has_max) {
            int64_t len = (int64_t)utf16_length(v->u.str.ptr, v->u.str.len);
            check_length(c, s, v, path, len);
        }
        if (s->enum_count && !enum_contains(s, v->u.str.ptr, v->u.str.len))
            add_error(c, s, v, path, "Member must satisfy enum value set: %s", s->enum_text);
        return;
    }

    case SL_SHAPE_BLOB: {
        if (v->type != SL_VAL_BYTES) return;
        int64_t len = (int64_t)v->u.str.len;
        check_length(c, s, v, path, len);
        return;
    }

    case SL_SHAPE_LIST: {
        if (v->type != SL_VAL_ARRAY) return;
        int64_t n = (int64_t)v->u.arr.count;
        check_length(c, s, v, path, n);
        const sl_shape_t *elem = s->member;
        if (elem->type == SL_SHAPE_STRUCTURE || elem->type == SL_SHAPE_LIST ||
            elem->type == SL_SHAPE_MAP) {
            name_lens_t lens;
            const name_lens_t *nl =
                elem->type == SL_SHAPE_STRUCTURE ? name_lens_init(&lens, elem) : NULL;
            for (size_t i = 0; i < v->u.arr.count && c->count < SL_API_VALIDATION_ERRORS_MAX; i++) {
                const sl_val_t *item = v->u.arr.items[i];
                seg_t seg = {.up = path, .kind = SEG_INDEX, .index = i};
                /* A null element has no AWS text on record; it is reported as a null member so
                 * handlers never see one [unverified]. */
                if (!item || item->type == SL_VAL_NULL)
                    add_error(c, elem, NULL, &seg, "Member must not be null");
                else if (nl && item->type == SL_VAL_MAP) {
                    /* What check_value does, with the names measured once. */
                    if (!struct_quick_ok(elem, item, nl)) check_struct(c, elem, item, &seg, nl);
                } else
                    check_value(c, elem, item, &seg);
            }
        } else if (shape_has_rules(elem)) {
            /* Scalar elements: one composite rule for the whole list (a null element fails it). */
            bool ok = true;
            for (size_t i = 0; i < v->u.arr.count && ok; i++)
                ok = scalar_ok(elem, v->u.arr.items[i]);
            if (!ok) add_composite_error(c, s, v, path, "Member must satisfy constraint", elem);
        } else {
            for (size_t i = 0; i < v->u.arr.count && c->count < SL_API_VALIDATION_ERRORS_MAX; i++) {
                const sl_val_t *item = v->u.arr.items[i];
                seg_t seg = {.up = path, .kind = SEG_INDEX, .index = i};
                if (!item || item->type == SL_VAL_NULL)
                    add_error(c, elem, NULL, &seg, "Member must not be null");
            }
        }
        return;
    }

    case SL_SHAPE_MAP: {
        if (v->type != SL_VAL_MAP) return;
        int64_t n = (int64_t)v->u.map.count;
        check_length(c, s, v, path, n);
        if (shape_has_rules(s->key)) {
            bool ok = true;
            for (size_t i = 0; i < v->u.map.count && ok; i++) {
                const sl_kv_t *kv = &v->u.map.items[i];
                sl_val_t key = {.type = SL_VAL_STRING, .u.str = {kv->key, kv->key_len}};
                ok = scalar_ok(s->key, &key);
            }
            if (!ok) add_composite_error(c, s, v, path, "Map keys must satisfy constraint", s->key);
        }
        const sl_shape_t *val = s->value;
        if (val->type == SL_SHAPE_STRUCTURE || val->type == SL_SHAPE_LIST ||
            val->type == SL_SHAPE_MAP) {
            for (size_t i = 0; i < v->u.map.count && c->count < SL_API_VALIDATION_ERRORS_MAX; i++) {
                const sl_kv_t *kv = &v->u.map.items[i];
                seg_t seg = {.up = path, .kind = SEG_KEY, .s = kv->key, .n = kv->key_len};
                if (!kv->val || kv->val->type == SL_VAL_NULL)
                    add_error(c, val, NULL, &seg, "Member must not be null");
                else
                    check_value(c, val, kv->val, &seg);
            }
        } else {
            /* A null value fails the value rule (no AWS text on record for it) [unverified]. */
            bool ok = true;
            for (size_t i = 0; i < v->u.map.count && ok; i++) {
                const sl_val_t *item = v->u.map.items[i].val;
                ok =
                    shape_has_rules(val) ? scalar_ok(val, item) : item && item->type != SL_VAL_NULL;
            }
            if (!ok) add_composite_error(c, s, v, path, "Map value must satisfy constraint", val);
        }
        return;
    }

    case SL_SHAPE_STRUCTURE:
        if (v->type == SL_VAL_MAP) check_struct(c, s, v, path, NULL);
        return;

    case SL_SHAPE_DOUBLE: /* no constraints carried (model.h) */
    case SL_SHAPE_BOOLEAN:
    case SL_SHAPE_TIMESTAMP:
        return;
    }
}

static void check_struct(vctx_t *c, const sl_shape_t *shape, const sl_val_t *v, const seg_t *path,
                         const name_lens_t *nl) {
    for (size_t k = 0; k < shape->member_count && c->count < SL_API_VALIDATION_ERRORS_MAX; k++) {
        const sl_member_t *m = &shape->members[shape->check_order ? shape->check_order[k] : k];
        seg_t seg = {.up = path, .kind = SEG_MEMBER, .s = m->name};
        const sl_val_t *mv = member_value(v, shape, nl, (size_t)(m - shape->members));
        if (!mv) {
            if (m->required) add_error(c, m->shape, NULL, &seg, "Member must not be null");
            continue;
        }
        check_value(c, m->shape, mv, &seg);
    }
}

/* ---- entry point --------------------------------------------------------------------------------
 */

int sl_front_validate(const sl_op_t *op, sl_val_t *input, sl_fmt_t fmt, sl_arena_t *arena,
                      sl_front_error_t *err) {
    SL_ASSERT(op && arena && err);
    err->type = NULL;
    err->message = NULL;
    const sl_shape_t *shape = op->input;
    if (input && input->type == SL_VAL_NULL) input = NULL;
    if (input && input->type != SL_VAL_MAP) {
        err->type = SL_AWS_SERIALIZATION;
        return -1;
    }
    if (!shape) return 0; /* no input shape: every member is unknown and ignored */

    vctx_t c = {.arena = arena, .fmt = fmt, .err = err, .msg = SL_BUF_INIT};
    int rc = 0;
    if (input && check_type(&c, shape, input) < 0) {
        rc = -1;
        goto done;
    }
    check_struct(&c, shape, input, NULL, NULL);
    if (c.count) {
        rc = -1;
        if (sl_buf_failed(&c.msg)) {
            c.oom = true;
            goto done;
        }
        err->type = SL_AWS_VALIDATION;
        err->message = sl_arena_sprintf(arena, "%d validation error%s detected: %.*s", c.count,
                                        c.count == 1 ? "" : "s", (int)c.msg.len, c.msg.data);
        if (!err->message) c.oom = true;
    }
done:
    if (c.oom) {
        err->type = SL_AWS_INTERNAL_FAILURE;
        err->message = NULL;
        rc = -1;
    }
    sl_buf_free(&c.msg);
    return rc;
}

/* ---- fast path: decoding and validating in one pass --------------------------------------------
 */

/* The subset sl_front_json_fast decodes: structures (the document, nested ones, list elements)
 * whose members it knows, with no member twice; strings and blobs as JSON strings of plain ASCII
 * (no escape, no control character); lists of structures. What it builds is what sl_json_parse and
 * sl_front_validate build for such a body (strings pointing into the body, a NUL over the closing
 * quote of every key and string; blobs decoded, here in place rather than into the arena), and it
 * accepts only bodies that both accept; anything else, valid or not, is left to them, so every
 * error keeps its one source. A function that gives up puts back the text it overwrote (quotes,
 * blobs' base64), so the body is as it came. */
typedef struct {
    char *p;
    const char *end; /* *end is NUL */
    sl_arena_t *arena;
    size_t values; /* bounded by SL_WIRE_VALUES_MAX, as in sl_json_parse */
    int depth;     /* containers open; a shape that contains itself ends here */
} fast_t;

/* Deeper documents go the general way (sl_json_parse bounds them by SL_WIRE_DEPTH_MAX). */
#define FAST_DEPTH_MAX 8

static inline void fast_ws(fast_t *f) {
    while (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t')
        f->p++;
}

/* The text a decoded value's strings, blobs and keys had, back in place. */
static void fast_unterminate(const sl_val_t *v) {
    if (v->type == SL_VAL_STRING) {
        ((char *)v->u.str.ptr)[v->u.str.len] = '"';
    } else if (v->type == SL_VAL_BYTES) {
        /* decoded over its text (fast_value): the text again, and the quote after it */
        char *text = (char *)v->u.str.ptr;
        sl_base64_reencode_inplace(text, v->u.str.len);
        text[sl_base64_encoded_len(v->u.str.len)] = '"';
    } else if (v->type == SL_VAL_ARRAY) {
        for (size_t i = 0; i < v->u.arr.count; i++)
            fast_unterminate(v->u.arr.items[i]);
    } else if (v->type == SL_VAL_MAP) {
        for (size_t i = 0; i < v->u.map.count; i++) {
            ((char *)v->u.map.items[i].key)[v->u.map.items[i].key_len] = '"';
            fast_unterminate(v->u.map.items[i].val);
        }
    }
}

/* A plain string whose opening quote is at f->p (see above): its text and length. */
static inline bool fast_string(fast_t *f, const char **s, size_t *n) {
    if (*f->p != '"') return false;
    char *start = f->p + 1;
    char *r = sl_json_skip_plain(start, f->end);
    if (*r != '"') return false; /* the NUL at end stops the scan too */
    *s = start;
    *n = (size_t)(r - start);
    f->p = r + 1;
    return true;
}

/* a[0..n) == b[0..n) for short n, without a call */
static inline bool short_eq(const char *a, const char *b, size_t n) {
    if (n >= 8) {
        uint64_t x, y;
        for (size_t i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y) return false;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/* The member whose name is the key at f->p ("<name>" exactly: a member name is plain ASCII, so
 * the key is plain too and equal to it), or mc when none is. */
static inline size_t fast_key(fast_t *f, const sl_shape_t *shape, const name_lens_t *nl,
                              size_t mc) {
    if (*f->p != '"') return mc;
    const char *k = f->p + 1;
    size_t avail = (size_t)(f->end - k);
    for (size_t m = 0; m < mc; m++) {
        size_t len = nl->len[m];
        if (len < avail && k[len] == '"' && short_eq(k, shape->members[m].name, len)) return m;
    }
    return mc;
}

static sl_val_t *fast_struct(fast_t *f, const sl_shape_t *shape, const name_lens_t *nl);

/* A list of structures at f->p into out, with the list's length rule. */
static bool fast_list(fast_t *f, const sl_shape_t *shape, sl_val_t *out) {
    const sl_shape_t *elem = shape->member;
    name_lens_t lens;
    const name_lens_t *nl = name_lens_init(&lens, elem);
    if (!nl || *f->p != '[' || ++f->depth > FAST_DEPTH_MAX) return false;
    f->p++;
    sl_val_t **items = NULL;
    size_t count = 0, cap = 0;
    fast_ws(f);
    if (*f->p == ']') {
        f->p++;
    } else {
        for (;;) {
            if (count == cap) {
                /* grows in the arena: at most as much again is left behind */
                size_t ncap = cap ? cap * 2 : 64;
                sl_val_t **n = sl_arena_alloc(f->arena, ncap * sizeof *n);
                if (!n) goto fail;
                if (count) memcpy(n, items, count * sizeof *n);
                items = n;
                cap = ncap;
            }
            sl_val_t *item = fast_struct(f, elem, nl);
            if (!item) goto fail;
            items[count++] = item;
            fast_ws(f);
            if (*f->p == ',') {
                f->p++;
                fast_ws(f);
                continue;
            }
            if (*f->p != ']') goto fail;
            f->p++;
            break;
        }
    }
    if (shape->has_min && (int64_t)count < shape->min) goto fail;
    if (shape->has_max && (int64_t)count > shape->max) goto fail;
    f->depth--;
    out->type = SL_VAL_ARRAY;
    out->u.arr.items = items;
    out->u.arr.count = count;
    return true;
fail:
    for (size_t i = 0; i < count; i++)
        fast_unterminate(items[i]);
    return false;
}

/* The value of a member of shape s at f->p into v, with s's rules (check_value's). */
static bool fast_value(fast_t *f, const sl_shape_t *s, sl_val_t *v) {
    if (++f->values > SL_WIRE_VALUES_MAX) return false;
    const char *text;
    size_t n;
    switch (s->type) {
    case SL_SHAPE_STRING:
        if (!fast_string(f, &text, &n)) return false;
        /* plain ASCII: the length in UTF-16 units is n */
        if (s->has_min && (int64_t)n < s->min) return false;
        if (s->has_max && (int64_t)n > s->max) return false;
        if (s->pattern_ere && !pattern_matches(s, text, n)) return false;
        if (s->enum_count && !enum_contains(s, text, n)) return false;
        ((char *)text)[n] = '\0';
        v->type = SL_VAL_STRING;
        v->u.str.ptr = text;
        v->u.str.len = n;
        return true;
    case SL_SHAPE_BLOB: {
        /* Decoded over its own text, not into the arena: the bytes stay in the cache lines just
         * read (a 10 KiB record's text is 13,656 of them) and the body lives as long as the
         * arena. The NUL after the bytes lands inside the text, or on the quote of an empty one. */
        size_t out_len = 0;
        if (!fast_string(f, &text, &n)) return false;
        if (!sl_base64_decode_inplace((char *)text, n, &out_len)) return false;
        if ((s->has_min && (int64_t)out_len < s->min) ||
            (s->has_max && (int64_t)out_len > s->max)) {
            sl_base64_reencode_inplace((char *)text, out_len);
            return false;
        }
        ((char *)text)[out_len] = 0;
        v->type = SL_VAL_BYTES;
        v->u.str.ptr = text;
        v->u.str.len = out_len;
        return true;
    }
    case SL_SHAPE_LIST:
        return s->member->type == SL_SHAPE_STRUCTURE && fast_list(f, s, v);
    case SL_SHAPE_STRUCTURE: {
        name_lens_t lens;
        const name_lens_t *nl = name_lens_init(&lens, s);
        sl_val_t *sv = nl ? fast_struct(f, s, nl) : NULL;
        if (sv) *v = *sv;
        return sv != NULL;
    }
    default:
        return false;
    }
}

/* A structure at f->p: one arena block holding its value, its members and their values. */
static sl_val_t *fast_struct(fast_t *f, const sl_shape_t *shape, const name_lens_t *nl) {
    SL_ASSERT(shape->member_count <= SL_API_MEMBER_NAMES_CACHED_MAX); /* nl exists */
    if (*f->p != '{' || ++f->values > SL_WIRE_VALUES_MAX || ++f->depth > FAST_DEPTH_MAX)
        return NULL;
    f->p++;
    size_t mc = shape->member_count, count = 0;
    sl_kv_t kvs[SL_API_MEMBER_NAMES_CACHED_MAX];
    sl_val_t vals[SL_API_MEMBER_NAMES_CACHED_MAX];
    uint64_t seen = 0;
    fast_ws(f);
    if (*f->p == '}') {
        f->p++;
    } else {
        for (;;) {
            size_t m = fast_key(f, shape, nl, mc);
            if (m == mc || (seen >> m & 1)) goto fail; /* unknown or repeated */
            seen |= UINT64_C(1) << m;
            char *key = f->p + 1;
            size_t key_len = nl->len[m];
            f->p = key + key_len + 1;
            fast_ws(f);
            if (*f->p != ':') goto fail;
            f->p++;
            fast_ws(f);
            if (!fast_value(f, shape->members[m].shape, &vals[count])) goto fail;
            key[key_len] = '\0';
            kvs[count] = (sl_kv_t){key, key_len, NULL};
            count++;
            fast_ws(f);
            if (*f->p == ',') {
                f->p++;
                fast_ws(f);
                continue;
            }
            if (*f->p != '}') goto fail;
            f->p++;
            break;
        }
    }
    for (size_t m = 0; m < mc; m++)
        if (shape->members[m].required && !(seen >> m & 1)) goto fail;
    sl_val_t *out = sl_arena_alloc(f->arena, sizeof *out + count * (sizeof *kvs + sizeof *vals));
    if (!out) goto fail;
    sl_kv_t *okv = (sl_kv_t *)(void *)(out + 1);
    sl_val_t *oval = (sl_val_t *)(void *)(okv + count);
    for (size_t i = 0; i < count; i++) {
        oval[i] = vals[i];
        okv[i] = (sl_kv_t){kvs[i].key, kvs[i].key_len, &oval[i]};
    }
    f->depth--;
    out->type = SL_VAL_MAP;
    out->u.map.items = okv;
    out->u.map.count = count;
    return out;
fail:
    for (size_t i = 0; i < count; i++) {
        ((char *)kvs[i].key)[kvs[i].key_len] = '"';
        fast_unterminate(&vals[i]);
    }
    return NULL;
}

bool sl_front_json_fast(const sl_op_t *op, char *body, size_t len, sl_arena_t *arena,
                        sl_val_t **doc) {
    SL_ASSERT(op && body && arena && doc);
    const sl_shape_t *shape = op->input;
    if (!shape || shape->type != SL_SHAPE_STRUCTURE ||
        shape->member_count > SL_API_MEMBER_NAMES_CACHED_MAX)
        return false;
    sl_json_scan_init();
    fast_t f = {.p = body, .end = body + len, .arena = arena};
    name_lens_t lens;
    const name_lens_t *nl = name_lens_init(&lens, shape);
    fast_ws(&f);
    sl_val_t *top = fast_struct(&f, shape, nl);
    if (!top) return false;
    fast_ws(&f);
    if (f.p != f.end) {
        fast_unterminate(top);
        return false;
    }
    *doc = top;
    return true;
}
