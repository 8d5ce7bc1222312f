/* Shared by the DynamoDB handlers (convert.c, tables.c, items.c). */
#ifndef SL_API_DYNAMODB_INTERNAL_H
#define SL_API_DYNAMODB_INTERNAL_H

#include "api/dynamodb/binding.h"
#include "core/common.h"
#include "wire/awserror.h"

#include <string.h>

static inline sl_ddb_t *sl_dapi_engine(sl_front_call_t *call) {
    return call->account;
}

/* Answers the core's error. */
void sl_dapi_fail(sl_front_call_t *call, const sl_ddb_err_t *err);
/* ValidationException with a formatted message. */
#define SL_DAPI_INVALID(call, ...) sl_front_fail((call), SL_AWS_VALIDATION, __VA_ARGS__)

/* The request's TableName, checked as DynamoDB does (length 3 to 255, [a-zA-Z0-9_.-]+), or NULL
 * after answering the error. */
const char *sl_dapi_table(sl_front_call_t *call);
/* JSON AttributeValue -> typed value (0, or -1 after answering the error). */
int sl_dapi_value(sl_front_call_t *call, const sl_val_t *in, sl_ddb_val_t *out);
/* A map of AttributeValues (Item, Key) -> item; NULL input -> empty item. */
int sl_dapi_item(sl_front_call_t *call, const sl_val_t *in, sl_ddb_item_t *out);
void sl_dapi_encode_value(sl_enc_t *e, const sl_ddb_val_t *v);
void sl_dapi_encode_item(sl_enc_t *e, const sl_ddb_item_t *item);

/* The expressions of one request: placeholders, and the unused-placeholder checks. */
typedef struct {
    sl_ddb_expr_ctx_t ctx;
    bool any_expression;
} sl_dapi_exprs_t;
/* Reads ExpressionAttributeNames/-Values of `in` (the request, or one table's part of a batch).
 * 0 or -1 (answered). */
int sl_dapi_exprs_init(sl_front_call_t *call, const sl_val_t *in, sl_dapi_exprs_t *x);
/* After every expression is parsed: refuses unused placeholders. */
int sl_dapi_exprs_finish(sl_front_call_t *call, sl_dapi_exprs_t *x);
/* Parses the condition in member `name` (NULL when absent); *out NULL when absent. */
int sl_dapi_condition(sl_front_call_t *call, sl_dapi_exprs_t *x, const char *name,
                      sl_ddb_expr_t **out);
int sl_dapi_projection(sl_front_call_t *call, sl_dapi_exprs_t *x, const sl_val_t *in,
                       sl_ddb_projection_t **out);
/* Legacy conditions: Expected (with ConditionalOperator), KeyConditions, QueryFilter/ScanFilter.
 * expected: the Expected form (Value/Exists) is allowed. */
int sl_dapi_legacy_conditions(sl_front_call_t *call, const sl_val_t *map, bool expected,
                              sl_ddb_expr_t **out);
/* Refuses expression and non-expression parameters together. */
int sl_dapi_no_mix(sl_front_call_t *call, const char *const *legacy, size_t nl,
                   const char *const *modern, size_t nm);

void sl_dapi_create_table(sl_front_call_t *call);
void sl_dapi_describe_table(sl_front_call_t *call);
void sl_dapi_delete_table(sl_front_call_t *call);
void sl_dapi_list_tables(sl_front_call_t *call);
void sl_dapi_update_table(sl_front_call_t *call);
void sl_dapi_tag_resource(sl_front_call_t *call);
void sl_dapi_untag_resource(sl_front_call_t *call);
void sl_dapi_list_tags(sl_front_call_t *call);
void sl_dapi_describe_ttl(sl_front_call_t *call);
void sl_dapi_get_item(sl_front_call_t *call);
void sl_dapi_put_item(sl_front_call_t *call);
void sl_dapi_update_item(sl_front_call_t *call);
void sl_dapi_delete_item(sl_front_call_t *call);
void sl_dapi_query(sl_front_call_t *call);
void sl_dapi_scan(sl_front_call_t *call);
void sl_dapi_batch_get(sl_front_call_t *call);
void sl_dapi_batch_write(sl_front_call_t *call);

#endif
