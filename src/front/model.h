/* Service model tables: operations, their input/output shapes and constraints, error shapes,
 * generated from the AWS service model (botocore's service-2.json) by tools/gen_model.py into
 * src/api/<service>/model.c. Regenerating must change nothing (checked in CI). Hand-written
 * overlays for what the model lacks are small and named in the generator. The front walks these
 * tables (routing, validation); it knows no service by name. */
#ifndef SL_FRONT_MODEL_H
#define SL_FRONT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SL_SHAPE_STRING,
    SL_SHAPE_INTEGER,
    SL_SHAPE_LONG,
    SL_SHAPE_DOUBLE, /* double and float (no model constraints are carried for them) */
    SL_SHAPE_BOOLEAN,
    SL_SHAPE_BLOB,
    SL_SHAPE_TIMESTAMP,
    SL_SHAPE_LIST,
    SL_SHAPE_MAP,
    SL_SHAPE_STRUCTURE,
} sl_shape_type_t;

typedef struct sl_shape sl_shape_t;

/* Where a member travels in a REST protocol (the model's `location`); AWS JSON members are all
 * in the body. */
typedef enum {
    SL_LOC_BODY = 0,
    SL_LOC_URI,         /* a {label} of the operation's request URI */
    SL_LOC_QUERY,       /* a query string parameter (a map: every parameter not bound otherwise) */
    SL_LOC_HEADER,      /* a header (a list: comma-separated values) */
    SL_LOC_HEADERS,     /* a map of every header whose name starts with location_name */
    SL_LOC_STATUS_CODE, /* output only: the HTTP status */
} sl_member_location_t;

typedef struct {
    const char *name; /* wire name, e.g. "StreamName" */
    const sl_shape_t *shape;
    bool required;
    sl_member_location_t location;
    /* label, parameter or header name; SL_LOC_BODY: NULL, except the Query protocol's parameter
     * name when the model renames the member (SQS: Attributes travel as Attribute.N) */
    const char *location_name;
} sl_member_t;

struct sl_shape {
    const char *name; /* model shape name, e.g. "StreamName" */
    sl_shape_type_t type;
    bool has_min, has_max;
    int64_t min, max;    /* length for strings/blobs/lists/maps, value for numbers */
    const char *pattern; /* model regex (Java syntax) or NULL */
    const char *const *enum_values;
    size_t enum_count;
    const sl_member_t *members; /* structure */
    size_t member_count;
    const sl_shape_t *member; /* list element */
    const sl_shape_t *key;    /* map key */
    const sl_shape_t *value;  /* map value */
    /* Added for validation (see tools/gen_model.py): */
    const char *pattern_ere;    /* `pattern` translated to an anchored POSIX ERE, or NULL */
    const char *enum_text;      /* "[A, B, ...]" in the order AWS prints the set, or NULL */
    const uint8_t *check_order; /* structure: member indexes in AWS's validation order */
    const char *java_class;     /* structure: AWS's Java class, printed in list values */
    bool eventstream;           /* structure is an event stream union (SubscribeToShard) */
    const char *payload;        /* REST structure: the member that is the whole body, or NULL */
    /* Query protocol lists and maps: `flattened` drops the .member / .entry step; the element,
     * key and value names when the model renames them (NULL: member, key, value). */
    bool flattened;
    const char *member_name, *key_name, *value_name;
};

typedef struct {
    const char *name;        /* "PutRecords" */
    const sl_shape_t *input; /* NULL when the operation takes no input */
    const sl_shape_t *output;
    const char *http_method; /* the model's http trait: "POST" */
    const char *request_uri; /* "/" (AWS JSON); REST: "/2015-03-31/functions/{FunctionName}" */
    int response_code;       /* REST: the http trait's responseCode; 0 = 200 */
} sl_op_t;

/* An error shape of the model (a structure with the `exception` trait). */
typedef struct {
    const char *name; /* "ResourceNotFoundException" */
    int status;       /* the model's httpStatusCode; 400, or 500 for a `fault` */
} sl_model_error_t;

typedef struct {
    const char *service;       /* botocore's service name: "kinesis" */
    const char *target_prefix; /* "Kinesis_20131202"; NULL for protocols without targets */
    const char *signing_name;  /* SigV4 credential scope service: "kinesis" */
    const char *protocol;      /* the model's protocol: "json", "rest-json", "query", ... */
    const char *json_version;  /* "1.1" (AWS JSON protocols), else NULL */
    const sl_op_t *ops;
    size_t op_count;
    const sl_model_error_t *errors; /* sorted by name */
    size_t error_count;
} sl_service_model_t;

/* The operation `name` (name_len bytes) of a model, or NULL. */
const sl_op_t *sl_model_find_op(const sl_service_model_t *model, const char *name, size_t name_len);
/* The error shape `name` of a model, or NULL. */
const sl_model_error_t *sl_model_find_error(const sl_service_model_t *model, const char *name);

#endif
