/* Tests of REST-JSON request decoding (src/front/rest.c) over a small hand-written model shaped
 * like Lambda's: URI templates (labels, greedy labels, template queries), operation lookup by
 * method and specificity, and input documents assembled from labels, query string, headers and
 * body, each converted to its member's type. */
#include "core/arena.h"
#include "front/rest.h"
#include "front/validate.h"
#include "wire/awserror.h"

#include "test.h"

#include <stdlib.h>

static const sl_shape_t s_string = {.name = "String", .type = SL_SHAPE_STRING};
static const sl_shape_t s_int = {.name = "Integer", .type = SL_SHAPE_INTEGER};
static const sl_shape_t s_bool = {.name = "Boolean", .type = SL_SHAPE_BOOLEAN};
static const sl_shape_t s_double = {.name = "Double", .type = SL_SHAPE_DOUBLE};
static const sl_shape_t s_ts = {.name = "Timestamp", .type = SL_SHAPE_TIMESTAMP};
static const sl_shape_t s_blob = {.name = "Blob", .type = SL_SHAPE_BLOB};
static const sl_shape_t s_list = {.name = "List", .type = SL_SHAPE_LIST, .member = &s_string};
static const sl_shape_t s_map = {
    .name = "Map", .type = SL_SHAPE_MAP, .key = &s_string, .value = &s_string};

static const sl_member_t invoke_members[] = {
    {"FunctionName", &s_string, true, SL_LOC_URI, "FunctionName"},
    {"InvocationType", &s_string, false, SL_LOC_HEADER, "X-Amz-Invocation-Type"},
    {"Qualifier", &s_string, false, SL_LOC_QUERY, "Qualifier"},
    {"Payload", &s_blob, false, SL_LOC_BODY, NULL},
};
static const sl_shape_t invoke_in = {.name = "InvocationRequest",
                                     .type = SL_SHAPE_STRUCTURE,
                                     .members = invoke_members,
                                     .member_count = 4,
                                     .payload = "Payload"};

static const sl_member_t get_members[] = {
    {"Name", &s_string, true, SL_LOC_URI, "Name"},
    {"Key", &s_string, true, SL_LOC_URI, "Key"},
    {"Tags", &s_list, false, SL_LOC_QUERY, "tag"},
    {"Since", &s_ts, false, SL_LOC_QUERY, "since"},
    {"Deep", &s_bool, false, SL_LOC_QUERY, "deep"},
    {"Limit", &s_int, false, SL_LOC_QUERY, "limit"},
    {"Ratio", &s_double, false, SL_LOC_HEADER, "X-Ratio"},
    {"Ids", &s_list, false, SL_LOC_HEADER, "X-Ids"},
    {"Modified", &s_ts, false, SL_LOC_HEADER, "If-Modified-Since"},
    {"Meta", &s_map, false, SL_LOC_HEADERS, "X-Meta-"},
    {"Rest", &s_map, false, SL_LOC_QUERY, "Rest"},
};
static const sl_shape_t get_in = {.name = "GetItemRequest",
                                  .type = SL_SHAPE_STRUCTURE,
                                  .members = get_members,
                                  .member_count = 11};

static const sl_member_t put_members[] = {
    {"Name", &s_string, true, SL_LOC_URI, "Name"},
    {"Description", &s_string, false, SL_LOC_BODY, NULL},
};
static const sl_shape_t put_in = {.name = "PutThingRequest",
                                  .type = SL_SHAPE_STRUCTURE,
                                  .members = put_members,
                                  .member_count = 2};

static const sl_op_t ops[] = {
    {"GetItem", &get_in, NULL, "GET", "/things/{Name}/items/{Key+}", 0},
    {"GetThing", &put_in, NULL, "GET", "/things/{Name}", 0},
    {"Invoke", &invoke_in, NULL, "POST", "/2015-03-31/functions/{FunctionName}/invocations", 0},
    {"ListVersions", &put_in, NULL, "GET", "/things/{Name}?versions", 0},
    {"PutThing", &put_in, NULL, "PUT", "/things/{Name}", 0},
};
static const sl_service_model_t model = {
    .service = "things", .protocol = "rest-json", .ops = ops, .op_count = 5};

static sl_arena_t arena;

static void test_uri_match(void) {
    CHECK(sl_front_uri_match("/things/{Name}", "/things/a"));
    CHECK(sl_front_uri_match("/things/{Name}", "/things/a?x=1"));
    CHECK(!sl_front_uri_match("/things/{Name}", "/things/"));    /* labels are never empty */
    CHECK(!sl_front_uri_match("/things/{Name}", "/things/a/b")); /* one segment */
    CHECK(!sl_front_uri_match("/things/{Name}", "/thing/a"));
    CHECK(!sl_front_uri_match("/things/{Name}", "/things"));
    /* a template ending in a literal: with or without one trailing slash (model versions differ) */
    CHECK(sl_front_uri_match("/2015-03-31/functions", "/2015-03-31/functions/"));
    CHECK(sl_front_uri_match("/2015-03-31/functions/", "/2015-03-31/functions"));
    CHECK(sl_front_uri_match("/2015-03-31/functions/", "/2015-03-31/functions/?Marker=a"));
    CHECK(!sl_front_uri_match("/2015-03-31/functions", "/2015-03-31/functions//"));
    CHECK(!sl_front_uri_match("/things/{Name}", "/things/a/")); /* a label ends it: exact */
    CHECK(sl_front_uri_match("/things/{Name}/items/{Key+}", "/things/a/items/b/c/d"));
    CHECK(!sl_front_uri_match("/things/{Name}/items/{Key+}", "/things/a/items/"));
    CHECK(sl_front_uri_match("/f/{Key+}/versions", "/f/a/b/versions"));
    CHECK(!sl_front_uri_match("/f/{Key+}/versions", "/f/versions"));
    CHECK(sl_front_uri_match("/things/{Name}?versions", "/things/a?versions"));
    CHECK(sl_front_uri_match("/things/{Name}?versions", "/things/a?x=1&versions="));
    CHECK(!sl_front_uri_match("/things/{Name}?versions", "/things/a?versionsx"));
    CHECK(!sl_front_uri_match("/things/{Name}?versions", "/things/a"));
    CHECK(sl_front_uri_match("/o/{K}?x-id=GetObject", "/o/k?x-id=GetObject"));
    CHECK(!sl_front_uri_match("/o/{K}?x-id=GetObject", "/o/k?x-id=PutObject"));
    /* x-id may be left out (S3 clients whose models predate it). */
    CHECK(sl_front_uri_match("/o/{K}?x-id=GetObject", "/o/k"));
    CHECK(sl_front_uri_match("/o/{K}?x-id=GetObject", "/o/k?versionId=3"));
    CHECK(!sl_front_uri_match("/things/{Name", "/things/a")); /* broken template */
    CHECK(!sl_front_uri_match("/things/{}", "/things/a"));
}

static void test_find_op(void) {
    const sl_op_t *op = sl_front_rest_find_op(&model, "GET", "/things/a/items/b/c");
    CHECK(op && strcmp(op->name, "GetItem") == 0);
    op = sl_front_rest_find_op(&model, "GET", "/things/a");
    CHECK(op && strcmp(op->name, "GetThing") == 0);
    op = sl_front_rest_find_op(&model, "GET", "/things/a?versions");
    CHECK(op && strcmp(op->name, "ListVersions") == 0); /* the template query is more specific */
    op = sl_front_rest_find_op(&model, "PUT", "/things/a");
    CHECK(op && strcmp(op->name, "PutThing") == 0);
    CHECK(sl_front_rest_find_op(&model, "DELETE", "/things/a") == NULL);
    CHECK(sl_front_rest_find_op(&model, "GET", "/nothing") == NULL);
    CHECK(sl_front_rest_find_op(&model, "POST", "/2015-03-31/functions/f") == NULL);
}

/* Decodes a request for op; the body is copied into a writable, NUL-terminated buffer. */
static int decode(const char *opname, const char *method, const char *path,
                  sl_http_header_t *headers, size_t header_count, const char *body, sl_val_t **doc,
                  sl_front_error_t *err) {
    const sl_op_t *op = NULL;
    for (size_t i = 0; i < model.op_count; i++)
        if (strcmp(ops[i].name, opname) == 0) op = &ops[i];
    size_t len = body ? strlen(body) : 0;
    char *copy = sl_arena_alloc(&arena, len + 1);
    memcpy(copy, body ? body : "", len + 1);
    sl_http_req_t req = {.method = method,
                         .path = path,
                         .headers = headers,
                         .header_count = header_count,
                         .body = (const uint8_t *)copy,
                         .body_len = len,
                         .arena = &arena};
    *err = (sl_front_error_t){0};
    return sl_front_rest_decode(op, &req, &arena, doc, err);
}

#define HDR(n, v)                                                                                  \
    { n, sizeof n - 1, v, sizeof v - 1 }

static void test_decode_invoke(void) {
    sl_http_header_t h[] = {HDR("x-amz-invocation-type", "Event"), HDR("content-type", "x")};
    sl_val_t *doc;
    sl_front_error_t err;
    CHECK_EQ_INT(decode("Invoke", "POST",
                        "/2015-03-31/functions/my%20fn%2Fx/invocations?Qualifier=v%241", h, 2,
                        "raw \"bytes\"", &doc, &err),
                 0);
    CHECK_EQ_STR(sl_val_get_str(doc, "FunctionName", NULL), "my fn/x");
    CHECK_EQ_STR(sl_val_get_str(doc, "Qualifier", NULL), "v$1");
    CHECK_EQ_STR(sl_val_get_str(doc, "InvocationType", NULL), "Event");
    sl_val_t *p = sl_val_get(doc, "Payload");
    CHECK(p && p->type == SL_VAL_BYTES && p->u.str.len == 11 &&
          memcmp(p->u.str.ptr, "raw \"bytes\"", 11) == 0);
    /* no body, no header, no query: only the label */
    CHECK_EQ_INT(
        decode("Invoke", "POST", "/2015-03-31/functions/f/invocations", NULL, 0, NULL, &doc, &err),
        0);
    CHECK_EQ_INT(doc->u.map.count, 1);
    CHECK(sl_val_get(doc, "Payload") == NULL && sl_val_get(doc, "Qualifier") == NULL);
}

static void test_decode_types(void) {
    sl_http_header_t h[] = {HDR("x-ratio", "0.25"), HDR("x-ids", "a, b,c"),
                            HDR("if-modified-since", "Sun, 06 Dec 2026 08:00:00 GMT"),
                            HDR("x-meta-color", "red"), HDR("x-meta-size", "L")};
    sl_val_t *doc;
    sl_front_error_t err;
    CHECK_EQ_INT(decode("GetItem", "GET",
                        "/things/n1/items/a/b%2Bc?tag=x&tag=y%20z&since=2026-12-06T08:00:00.5Z"
                        "&deep=true&limit=25&other=1&more=two",
                        h, 5, NULL, &doc, &err),
                 0);
    /* the assembled document is what the model validator takes, as for AWS JSON */
    sl_front_error_t verr = {0};
    CHECK_EQ_INT(sl_front_validate(&ops[0], doc, SL_FMT_JSON, &arena, &verr), 0);
    CHECK_EQ_STR(sl_val_get_str(doc, "Name", NULL), "n1");
    CHECK_EQ_STR(sl_val_get_str(doc, "Key", NULL), "a/b+c");
    sl_val_t *tags = sl_val_get(doc, "Tags");
    CHECK(tags && tags->type == SL_VAL_ARRAY && tags->u.arr.count == 2);
    if (tags && tags->u.arr.count == 2) CHECK_EQ_STR(tags->u.arr.items[1]->u.str.ptr, "y z");
    sl_val_t *since = sl_val_get(doc, "Since");
    CHECK(since && since->type == SL_VAL_TIMESTAMP && since->u.ts_ms == 1796544000500LL);
    sl_val_t *mod = sl_val_get(doc, "Modified");
    CHECK(mod && mod->type == SL_VAL_TIMESTAMP && mod->u.ts_ms == 1796544000000LL);
    bool deep = false;
    CHECK(sl_val_get_bool(doc, "Deep", &deep) && deep);
    int64_t limit = 0;
    CHECK(sl_val_get_int(doc, "Limit", &limit) && limit == 25);
    sl_val_t *ratio = sl_val_get(doc, "Ratio");
    CHECK(ratio && ratio->type == SL_VAL_NUMBER && ratio->u.num.d == 0.25 &&
          !ratio->u.num.is_integer);
    sl_val_t *ids = sl_val_get(doc, "Ids");
    CHECK(ids && ids->type == SL_VAL_ARRAY && ids->u.arr.count == 3);
    if (ids && ids->u.arr.count == 3) CHECK_EQ_STR(ids->u.arr.items[1]->u.str.ptr, "b");
    sl_val_t *meta = sl_val_get(doc, "Meta");
    CHECK(meta && meta->type == SL_VAL_MAP && meta->u.map.count == 2);
    CHECK_EQ_STR(sl_val_get_str(meta, "color", NULL), "red");
    /* the query map takes every parameter no other member binds */
    sl_val_t *rest = sl_val_get(doc, "Rest");
    CHECK(rest && rest->type == SL_VAL_MAP && rest->u.map.count == 2);
    CHECK_EQ_STR(sl_val_get_str(rest, "more", NULL), "two");
    CHECK(sl_val_get(rest, "tag") == NULL);
    /* epoch seconds are a timestamp too */
    CHECK_EQ_INT(
        decode("GetItem", "GET", "/things/n/items/k?since=1796544000", NULL, 0, NULL, &doc, &err),
        0);
    since = sl_val_get(doc, "Since");
    CHECK(since && since->type == SL_VAL_TIMESTAMP && since->u.ts_ms == 1796544000000LL);
}

static void test_decode_body_and_errors(void) {
    sl_val_t *doc;
    sl_front_error_t err;
    /* body members and labels in one document; a label wins over a body member of its name */
    CHECK_EQ_INT(decode("PutThing", "PUT", "/things/real", NULL, 0,
                        "{\"Description\":\"d\",\"Name\":\"fake\"}", &doc, &err),
                 0);
    CHECK_EQ_STR(sl_val_get_str(doc, "Description", NULL), "d");
    CHECK_EQ_STR(sl_val_get_str(doc, "Name", NULL), "real");
    /* a body that is not a JSON object: SerializationException without a message, as AWS JSON */
    CHECK_EQ_INT(decode("PutThing", "PUT", "/things/a", NULL, 0, "[1]", &doc, &err), -1);
    CHECK_EQ_STR(err.type, SL_AWS_SERIALIZATION);
    CHECK(err.message == NULL);
    CHECK_EQ_INT(decode("PutThing", "PUT", "/things/a", NULL, 0, "{", &doc, &err), -1);
    /* text that is not of the member's type */
    const char *bad[] = {"/things/a/items/k?deep=yes", "/things/a/items/k?limit=12x",
                         "/things/a/items/k?limit=", "/things/a/items/k?since=yesterday",
                         "/things/a/items/k?limit=99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(decode("GetItem", "GET", bad[i], NULL, 0, NULL, &doc, &err), -1);
        CHECK_EQ_STR(err.type, SL_AWS_SERIALIZATION);
        CHECK(err.message != NULL);
    }
    sl_http_header_t h[] = {HDR("x-ratio", "fast")};
    CHECK_EQ_INT(decode("GetItem", "GET", "/things/a/items/k", h, 1, NULL, &doc, &err), -1);
    CHECK_EQ_STR(err.message, "The value of Ratio is not a number: 'fast'.");
    /* a target that does not match the operation */
    CHECK_EQ_INT(decode("PutThing", "PUT", "/other/a", NULL, 0, NULL, &doc, &err), -1);
    CHECK_EQ_STR(err.type, SL_AWS_SERIALIZATION);
}

int main(void) {
    sl_arena_init(&arena, 64 * 1024);
    test_uri_match();
    test_find_op();
    test_decode_invoke();
    test_decode_types();
    test_decode_body_and_errors();
    sl_arena_deinit(&arena);
    TEST_MAIN_END();
}
