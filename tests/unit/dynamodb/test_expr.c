/* DynamoDB's expression language (dynamodb/expr.c): parsing with placeholders and DynamoDB's
 * messages, condition evaluation on typed items, updates on document paths, projections. */
#include "dynamodb/expr.h"
#include "test.h"

static sl_arena_t arena;
static sl_ddb_placeholder_t names[2], values[4];
static sl_ddb_val_t vnum, vstr, vlist, vset;

static sl_ddb_val_t str(const char *s) {
    return (sl_ddb_val_t){.type = SL_DDB_S, .u.str = {s, strlen(s)}};
}

static sl_ddb_val_t num(const char *s) {
    return (sl_ddb_val_t){.type = SL_DDB_N, .u.str = {s, strlen(s)}};
}

static sl_ddb_expr_ctx_t ctx(void) {
    sl_ddb_expr_ctx_t c = {.arena = &arena};
    names[0] = (sl_ddb_placeholder_t){.key = "#s", .key_len = 2, .name = "status", .name_len = 6};
    names[1] = (sl_ddb_placeholder_t){.key = "#m", .key_len = 2, .name = "m", .name_len = 1};
    values[0] = (sl_ddb_placeholder_t){.key = ":n", .key_len = 2, .value = &vnum};
    values[1] = (sl_ddb_placeholder_t){.key = ":s", .key_len = 2, .value = &vstr};
    values[2] = (sl_ddb_placeholder_t){.key = ":l", .key_len = 2, .value = &vlist};
    values[3] = (sl_ddb_placeholder_t){.key = ":set", .key_len = 4, .value = &vset};
    c.names = names;
    c.name_count = 2;
    c.values = values;
    c.value_count = 4;
    return c;
}

/* The message of a failed condition parse, or "ok". */
static const char *cond_error(const char *text) {
    static char msg[512];
    sl_ddb_expr_ctx_t c = ctx();
    sl_ddb_expr_t *e;
    if (sl_ddb_parse_condition(&c, "ConditionExpression", text, strlen(text), &e) == 0) return "ok";
    snprintf(msg, sizeof msg, "%s", c.error);
    return msg;
}

static bool test(const char *text, const sl_ddb_item_t *item) {
    sl_ddb_expr_ctx_t c = ctx();
    sl_ddb_expr_t *e;
    if (sl_ddb_parse_condition(&c, "ConditionExpression", text, strlen(text), &e) != 0) {
        fprintf(stderr, "parse failed: %s: %s\n", text, c.error);
        return false;
    }
    return sl_ddb_expr_test(e, item, &arena);
}

int main(void) {
    sl_arena_init(&arena, 4096);
    vnum = num("5");
    vstr = str("ab");
    sl_ddb_val_t elems[2] = {str("x"), str("y")};
    vlist = (sl_ddb_val_t){.type = SL_DDB_L, .u.list = {elems, 2}};
    sl_ddb_val_t set_elems[1] = {str("y")};
    vset = (sl_ddb_val_t){.type = SL_DDB_SS, .u.list = {set_elems, 1}};

    sl_ddb_attr_t inner[1] = {{"k", 1, num("1")}};
    sl_ddb_attr_t attrs[4] = {
        {"n", 1, num("5")},
        {"s", 1, str("abc")},
        {"m", 1, {.type = SL_DDB_M, .u.map = {inner, 1}}},
        {"status", 6, str("on")},
    };
    sl_ddb_item_t item = {attrs, 4};

    CHECK(test("n = :n", &item));
    CHECK(test("n <> :s", &item));
    CHECK(!test("n < :s", &item));
    CHECK(test("begins_with(s, :s) AND #m.k < :n", &item));
    CHECK(test("NOT attribute_exists(zz) AND size(s) BETWEEN :n AND :n OR n = :n", &item));
    CHECK(test("n IN (:s, :n)", &item));
    CHECK(test("#s = #s", &item));
    CHECK(!test("attribute_exists(n)", NULL));
    CHECK(test("attribute_not_exists(n)", NULL));

    CHECK_EQ_STR(cond_error("a = = b"),
                 "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"= = b\"");
    CHECK_EQ_STR(cond_error("a ="),
                 "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"=\"");
    CHECK_EQ_STR(cond_error("status = :n"), "Invalid ConditionExpression: Attribute name is a "
                                            "reserved keyword; reserved keyword: status");
    CHECK_EQ_STR(cond_error("status = = :n"),
                 "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"= = :n\"");
    CHECK_EQ_STR(cond_error("#x = :n"), "Invalid ConditionExpression: An expression attribute "
                                        "name used in the document path is not defined; "
                                        "attribute name: #x");
    CHECK_EQ_STR(cond_error("foo(a)"),
                 "Invalid ConditionExpression: Invalid function name; function: foo");
    CHECK_EQ_STR(cond_error(""), "Invalid ConditionExpression: The expression can not be empty;");
    CHECK_EQ_STR(cond_error("a[x] = :n"),
                 "Invalid ConditionExpression: Syntax error; token: \"x\", near: \"[x]\"");

    /* Updates. */
    sl_ddb_expr_ctx_t c = ctx();
    sl_ddb_update_t u;
    const char *ue = "SET n = n + :n, #m.k = :s, lst = list_append(if_not_exists(lst, :l), :l) "
                     "ADD tags :set REMOVE s";
    CHECK_EQ_INT(sl_ddb_parse_update(&c, ue, strlen(ue), &u), 0);
    sl_ddb_item_t copy;
    CHECK_EQ_INT(sl_ddb_item_copy(&arena, &item, &copy), 0);
    const char *why = NULL;
    CHECK_EQ_INT(sl_ddb_update_apply(&u, &copy, &arena, &why), 0);
    const sl_ddb_val_t *v = sl_ddb_item_get(&copy, "n", 1);
    CHECK(v && v->u.str.len == 2 && memcmp(v->u.str.ptr, "10", 2) == 0);
    CHECK(sl_ddb_item_get(&copy, "s", 1) == NULL);
    v = sl_ddb_item_get(&copy, "lst", 3);
    CHECK(v && v->type == SL_DDB_L && v->u.list.count == 4);
    v = sl_ddb_item_get(&copy, "tags", 4);
    CHECK(v && v->type == SL_DDB_SS && v->u.list.count == 1);
    c = ctx();
    ue = "SET a = :n, a = :n";
    CHECK(sl_ddb_parse_update(&c, ue, strlen(ue), &u) != 0);
    CHECK_EQ_STR(c.error, "Invalid UpdateExpression: Two document paths overlap with each other; "
                          "must remove or rewrite one of these paths; path one: [a], path two: "
                          "[a]");
    c = ctx();
    ue = "SET a = :a, SET b = :n";
    CHECK(sl_ddb_parse_update(&c, ue, strlen(ue), &u) != 0);
    CHECK_EQ_STR(c.error,
                 "Invalid UpdateExpression: Syntax error; token: \"SET\", near: \", SET b\"");

    /* Projections. */
    c = ctx();
    sl_ddb_projection_t p;
    CHECK_EQ_INT(sl_ddb_parse_projection(&c, "#m.k, n", 7, &p), 0);
    sl_ddb_item_t out;
    CHECK_EQ_INT(sl_ddb_project(&p, &item, &arena, &out), 0);
    CHECK_EQ_INT(out.count, 2);
    sl_arena_deinit(&arena);
    TEST_MAIN_END();
}
