/* DynamoDB's expression language (docs/dynamodb.md, "Expressions"), typed and transport-free:
 * condition expressions (ConditionExpression, FilterExpression, KeyConditionExpression), update
 * expressions (SET, REMOVE, ADD, DELETE) and projection expressions, with document paths (a.b[2]),
 * #name and :value placeholders, the functions attribute_exists, attribute_not_exists,
 * attribute_type, begins_with, contains, size, if_not_exists and list_append, comparisons,
 * BETWEEN, IN, AND, OR, NOT and + / - in SET. The legacy parameters (Expected, AttributeUpdates,
 * KeyConditions) are turned into the same trees by the caller (sl_ddb_expr_* builders below).
 *
 * Parsing resolves placeholders against the request's ExpressionAttributeNames/-Values and marks
 * the ones used (DynamoDB refuses unused ones); a failure leaves DynamoDB's ValidationException
 * text in ctx->error. Everything is allocated in ctx->arena. */
#ifndef SL_DYNAMODB_EXPR_H
#define SL_DYNAMODB_EXPR_H

#include "dynamodb/value.h"

typedef struct {
    bool is_index;
    size_t index;
    const char *name;
    size_t name_len;
} sl_ddb_path_elem_t;

typedef struct {
    sl_ddb_path_elem_t *elems;
    size_t count;
} sl_ddb_path_t;

typedef enum {
    SL_DDB_X_PATH,
    SL_DDB_X_VALUE,
    SL_DDB_X_SIZE,
    SL_DDB_X_IF_NOT_EXISTS,
    SL_DDB_X_LIST_APPEND,
    SL_DDB_X_PLUS,
    SL_DDB_X_MINUS,
    SL_DDB_X_CMP,
    SL_DDB_X_BETWEEN,
    SL_DDB_X_IN,
    SL_DDB_X_AND,
    SL_DDB_X_OR,
    SL_DDB_X_NOT,
    SL_DDB_X_EXISTS,
    SL_DDB_X_NOT_EXISTS,
    SL_DDB_X_TYPE,
    SL_DDB_X_BEGINS_WITH,
    SL_DDB_X_CONTAINS,
} sl_ddb_expr_kind_t;

typedef enum { SL_DDB_EQ, SL_DDB_NE, SL_DDB_LT, SL_DDB_LE, SL_DDB_GT, SL_DDB_GE } sl_ddb_cmp_t;

typedef struct sl_ddb_expr sl_ddb_expr_t;
struct sl_ddb_expr {
    sl_ddb_expr_kind_t kind;
    sl_ddb_cmp_t cmp;          /* SL_DDB_X_CMP */
    sl_ddb_path_t path;        /* PATH, SIZE and the functions' first argument */
    const sl_ddb_val_t *value; /* VALUE */
    sl_ddb_expr_t **args;      /* operands / sub-conditions */
    size_t arg_count;
};

typedef enum { SL_DDB_SET, SL_DDB_REMOVE, SL_DDB_ADD, SL_DDB_DELETE } sl_ddb_action_kind_t;

typedef struct {
    sl_ddb_action_kind_t kind;
    sl_ddb_path_t path;
    sl_ddb_expr_t *value; /* SET: the value; ADD/DELETE: a VALUE; REMOVE: NULL */
    bool legacy_add_list; /* AttributeUpdates ADD: a list is appended to */
} sl_ddb_action_t;

typedef struct {
    sl_ddb_action_t *actions;
    size_t count;
} sl_ddb_update_t;

typedef struct {
    sl_ddb_path_t *paths;
    size_t count;
} sl_ddb_projection_t;

/* A placeholder of the request: "#n" -> name, or ":v" -> value. */
typedef struct {
    const char *key;
    size_t key_len;
    const char *name; /* names */
    size_t name_len;
    const sl_ddb_val_t *value; /* values */
    bool used;
} sl_ddb_placeholder_t;

typedef struct {
    sl_arena_t *arena;
    sl_ddb_placeholder_t *names;
    size_t name_count;
    sl_ddb_placeholder_t *values;
    size_t value_count;
    char error[512]; /* DynamoDB's message after a failure */
} sl_ddb_expr_ctx_t;

/* Parsers: 0, or SL_EINVAL with ctx->error set (SL_ENOMEM: "out of memory"). `what` names the
 * parameter in messages: "ConditionExpression", "FilterExpression", "KeyConditionExpression". */
int sl_ddb_parse_condition(sl_ddb_expr_ctx_t *ctx, const char *what, const char *text, size_t len,
                           sl_ddb_expr_t **out);
int sl_ddb_parse_update(sl_ddb_expr_ctx_t *ctx, const char *text, size_t len, sl_ddb_update_t *out);
int sl_ddb_parse_projection(sl_ddb_expr_ctx_t *ctx, const char *text, size_t len,
                            sl_ddb_projection_t *out);

/* Whether a name (len bytes) is one of DynamoDB's reserved words (reserved.c). */
bool sl_ddb_reserved(const char *s, size_t len);

/* Builders for the legacy parameters. */
sl_ddb_expr_t *sl_ddb_expr_new(sl_arena_t *arena, sl_ddb_expr_kind_t kind, size_t arg_count);
sl_ddb_expr_t *sl_ddb_expr_path1(sl_arena_t *arena, const char *name, size_t len);
sl_ddb_expr_t *sl_ddb_expr_value(sl_arena_t *arena, const sl_ddb_val_t *v);

/* Evaluates a condition on an item (NULL = no item). */
bool sl_ddb_expr_test(const sl_ddb_expr_t *e, const sl_ddb_item_t *item, sl_arena_t *arena);
/* The value at a path, or NULL. */
const sl_ddb_val_t *sl_ddb_path_get(const sl_ddb_item_t *item, const sl_ddb_path_t *path);

/* Applies an update to *item (an arena copy, changed in place). 0, or SL_EINVAL with DynamoDB's
 * message in *error (static). */
int sl_ddb_update_apply(const sl_ddb_update_t *u, sl_ddb_item_t *item, sl_arena_t *arena,
                        const char **error);
/* The projection of an item into *out (arena). */
int sl_ddb_project(const sl_ddb_projection_t *p, const sl_ddb_item_t *item, sl_arena_t *arena,
                   sl_ddb_item_t *out);

#endif
