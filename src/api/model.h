/* Service model tables: operations, their input/output shapes and constraints, generated from the
 * AWS service model (botocore's service-2.json) by tools/gen_model.py into *_model.c. Regenerating
 * must change nothing (checked in CI). Hand-written overlays for what the model lacks are small and
 * named in the generator. */
#ifndef SL_API_MODEL_H
#define SL_API_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SL_SHAPE_STRING,
    SL_SHAPE_INTEGER,
    SL_SHAPE_LONG,
    SL_SHAPE_BOOLEAN,
    SL_SHAPE_BLOB,
    SL_SHAPE_TIMESTAMP,
    SL_SHAPE_LIST,
    SL_SHAPE_MAP,
    SL_SHAPE_STRUCTURE,
} sl_shape_type_t;

typedef struct sl_shape sl_shape_t;

typedef struct {
    const char *name;        /* wire name, e.g. "StreamName" */
    const sl_shape_t *shape;
    bool required;
} sl_member_t;

struct sl_shape {
    const char *name;        /* model shape name, e.g. "StreamName" */
    sl_shape_type_t type;
    bool has_min, has_max;
    int64_t min, max;        /* length for strings/blobs/lists/maps, value for numbers */
    const char *pattern;     /* model regex (Java syntax) or NULL */
    const char *const *enum_values;
    size_t enum_count;
    const sl_member_t *members; /* structure */
    size_t member_count;
    const sl_shape_t *member;   /* list element */
    const sl_shape_t *key;      /* map key */
    const sl_shape_t *value;    /* map value */
    /* Added for validation (see tools/gen_model.py): */
    const char *pattern_ere;    /* `pattern` translated to an anchored POSIX ERE, or NULL */
    const char *enum_text;      /* "[A, B, ...]" in the order AWS prints the set, or NULL */
    const uint8_t *check_order; /* structure: member indexes in AWS's validation order */
    const char *java_class;     /* structure: AWS's Java class, printed in list values */
    bool eventstream;           /* structure is an event stream union (SubscribeToShard) */
};

typedef struct {
    const char *name;           /* "PutRecords" */
    const sl_shape_t *input;    /* NULL when the operation takes no input */
    const sl_shape_t *output;
} sl_op_t;

typedef struct {
    const char *target_prefix;  /* "Kinesis_20131202" */
    const sl_op_t *ops;
    size_t op_count;
} sl_service_model_t;

extern const sl_service_model_t sl_kinesis_model;

const sl_op_t *sl_model_find_op(const sl_service_model_t *model, const char *name, size_t name_len);

#endif
