/* The decoded request document: one tree for both JSON and CBOR bodies, allocated in the request's
 * arena. Strings point into the request body where no unescaping was needed (zero copy).
 * The API layer validates and coerces the tree against the service model (src/front/validate.h):
 * after validation, blobs are SL_VAL_BYTES and timestamps SL_VAL_TIMESTAMP whatever the codec. */
#ifndef SL_WIRE_VALUE_H
#define SL_WIRE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { SL_FMT_JSON = 0, SL_FMT_CBOR = 1 } sl_fmt_t;

typedef enum {
    SL_VAL_NULL = 0,
    SL_VAL_BOOL,
    SL_VAL_NUMBER, /* JSON number, CBOR int or float */
    SL_VAL_STRING, /* UTF-8 text */
    SL_VAL_BYTES,  /* CBOR byte string; decoded blob after validation */
    SL_VAL_ARRAY,
    SL_VAL_MAP,
    SL_VAL_TIMESTAMP, /* CBOR tag 1 (ms); any timestamp after validation */
} sl_val_type_t;

typedef struct sl_val sl_val_t;

typedef struct {
    const char *key; /* UTF-8, not NUL-terminated */
    size_t key_len;
    sl_val_t *val;
} sl_kv_t;

struct sl_val {
    sl_val_type_t type;
    union {
        bool b;
        struct {
            double d;         /* value as double */
            int64_t i;        /* value truncated toward zero, saturated to int64 range */
            bool is_integer;  /* written without fraction/exponent (JSON) or CBOR int */
            const char *text; /* JSON: the literal as written (not NUL-terminated); CBOR: NULL */
            size_t text_len;
        } num;
        struct {
            const char *ptr; /* NUL-terminated (arena copy or in-body with a NUL after it) */
            size_t len;
        } str; /* SL_VAL_STRING and SL_VAL_BYTES */
        struct {
            sl_val_t **items;
            size_t count;
        } arr;
        struct {
            sl_kv_t *items; /* in document order; duplicate keys: the last one wins on lookup */
            size_t count;
        } map;
        int64_t ts_ms; /* SL_VAL_TIMESTAMP: ms since the epoch */
    } u;
};

/* Member of a map by key (last occurrence), or NULL when absent or when `map` is not a map.
 * A member whose value is null counts as absent (AWS treats null as not set). */
sl_val_t *sl_val_get(const sl_val_t *map, const char *key);
/* Convenience accessors that return defaults when the member is absent or of another type. */
const char *sl_val_get_str(const sl_val_t *map, const char *key, size_t *len_out);
bool sl_val_get_int(const sl_val_t *map, const char *key, int64_t *out);
bool sl_val_get_bool(const sl_val_t *map, const char *key, bool *out);

#endif
