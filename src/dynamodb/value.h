/* DynamoDB attribute values, typed and transport-free (docs/dynamodb.md, "Data types"): S, N, B,
 * SS, NS, BS, BOOL, NULL, M, L. A value tree lives in an arena (the request's); the core never
 * sees JSON. Numbers are held as their canonical text (number.h) so that equal numbers are equal
 * bytes; binaries as raw bytes.
 *
 * Items are stored as one compact binary encoding per item (sl_ddb_item_encode): a type byte and
 * varint lengths, recursively. The store keeps these blobs opaque. */
#ifndef SL_DYNAMODB_VALUE_H
#define SL_DYNAMODB_VALUE_H

#include "core/arena.h"
#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SL_DDB_S = 1,
    SL_DDB_N,
    SL_DDB_B,
    SL_DDB_SS,
    SL_DDB_NS,
    SL_DDB_BS,
    SL_DDB_BOOL,
    SL_DDB_NULL,
    SL_DDB_M,
    SL_DDB_L,
} sl_ddb_type_t;

typedef struct sl_ddb_val sl_ddb_val_t;
typedef struct sl_ddb_attr sl_ddb_attr_t;

struct sl_ddb_val {
    sl_ddb_type_t type;
    union {
        struct {
            const char *ptr; /* S: UTF-8; N: canonical text; B: bytes */
            size_t len;
        } str;
        bool b;
        struct {
            sl_ddb_val_t *items; /* SS/NS/BS: S/N/B values, no duplicates; L: any */
            size_t count;
        } list;
        struct {
            sl_ddb_attr_t *items; /* M: distinct names */
            size_t count;
        } map;
    } u;
};

struct sl_ddb_attr {
    const char *name;
    size_t name_len;
    sl_ddb_val_t val;
};

/* An item: a map of attributes. */
typedef struct {
    sl_ddb_attr_t *attrs;
    size_t count;
} sl_ddb_item_t;

/* DynamoDB's type names: "S", "N", ... */
const char *sl_ddb_type_name(sl_ddb_type_t type);
/* The type of a name (len bytes), or 0. */
sl_ddb_type_t sl_ddb_type_of(const char *name, size_t len);
bool sl_ddb_is_set(sl_ddb_type_t type);

/* The attribute `name` of an item or map, or NULL. */
sl_ddb_val_t *sl_ddb_item_get(const sl_ddb_item_t *item, const char *name, size_t len);
/* Deep equality (sets compare as sets, numbers by value). */
bool sl_ddb_val_equal(const sl_ddb_val_t *a, const sl_ddb_val_t *b);
/* Order of two scalars of the same type (S and B bytewise, N numerically). */
int sl_ddb_val_cmp(const sl_ddb_val_t *a, const sl_ddb_val_t *b);
/* DynamoDB's item size rules (names + values; numbers by their digits). */
size_t sl_ddb_val_size(const sl_ddb_val_t *v);
size_t sl_ddb_item_size(const sl_ddb_item_t *item);

/* Nesting depth: 1 for an item of scalars, one more for each level of M or L. */
size_t sl_ddb_item_depth(const sl_ddb_item_t *item);

/* Deep copy into an arena; returns 0 or SL_ENOMEM. */
int sl_ddb_val_copy(sl_arena_t *arena, const sl_ddb_val_t *src, sl_ddb_val_t *dst);
int sl_ddb_item_copy(sl_arena_t *arena, const sl_ddb_item_t *src, sl_ddb_item_t *dst);

/* The binary encoding: appended to out (failure sticky in out). */
void sl_ddb_val_encode(sl_buf_t *out, const sl_ddb_val_t *v);
void sl_ddb_item_encode(sl_buf_t *out, const sl_ddb_item_t *item);
/* Decodes data (len bytes) into the arena: 0, SL_ECORRUPT for bad bytes, SL_ENOMEM. */
int sl_ddb_item_decode(const void *data, size_t len, sl_arena_t *arena, sl_ddb_item_t *out);
int sl_ddb_val_decode(const void *data, size_t len, sl_arena_t *arena, sl_ddb_val_t *out);

#endif
