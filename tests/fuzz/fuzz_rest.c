/* Fuzz target: REST-JSON request decoding (src/front/rest.c). Input layout: the request target,
 * a header value (sent as x-ids, x-ratio, if-modified-since and x-meta-k) and the body, separated
 * by NULs. Operation lookup and decoding must not crash; a decoded document is a map that the
 * validator accepts or rejects with an AWS error type, and a failure always names its type. */
#include "core/arena.h"
#include "front/rest.h"
#include "front/validate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const sl_shape_t s_string = {.name = "String", .type = SL_SHAPE_STRING};
static const sl_shape_t s_int = {.name = "Integer", .type = SL_SHAPE_INTEGER};
static const sl_shape_t s_bool = {.name = "Boolean", .type = SL_SHAPE_BOOLEAN};
static const sl_shape_t s_double = {.name = "Double", .type = SL_SHAPE_DOUBLE};
static const sl_shape_t s_ts = {.name = "Timestamp", .type = SL_SHAPE_TIMESTAMP};
static const sl_shape_t s_blob = {.name = "Blob", .type = SL_SHAPE_BLOB};
static const sl_shape_t s_list = {.name = "List", .type = SL_SHAPE_LIST, .member = &s_string};
static const sl_shape_t s_ilist = {.name = "IntList", .type = SL_SHAPE_LIST, .member = &s_int};
static const sl_shape_t s_map = {
    .name = "Map", .type = SL_SHAPE_MAP, .key = &s_string, .value = &s_string};
static const sl_shape_t s_lmap = {
    .name = "ListMap", .type = SL_SHAPE_MAP, .key = &s_string, .value = &s_list};

static const sl_member_t get_members[] = {
    {"Name", &s_string, true, SL_LOC_URI, "Name"},
    {"Key", &s_string, true, SL_LOC_URI, "Key"},
    {"Tags", &s_list, false, SL_LOC_QUERY, "tag"},
    {"Since", &s_ts, false, SL_LOC_QUERY, "since"},
    {"Deep", &s_bool, false, SL_LOC_QUERY, "deep"},
    {"Limit", &s_int, false, SL_LOC_QUERY, "limit"},
    {"Ratio", &s_double, false, SL_LOC_HEADER, "X-Ratio"},
    {"Ids", &s_ilist, false, SL_LOC_HEADER, "X-Ids"},
    {"Modified", &s_ts, false, SL_LOC_HEADER, "If-Modified-Since"},
    {"Meta", &s_map, false, SL_LOC_HEADERS, "X-Meta-"},
    {"Rest", &s_lmap, false, SL_LOC_QUERY, "Rest"},
    {"Description", &s_string, false, SL_LOC_BODY, NULL},
};
static const sl_shape_t get_in = {.name = "GetItemRequest",
                                  .type = SL_SHAPE_STRUCTURE,
                                  .members = get_members,
                                  .member_count = 12};
static const sl_member_t invoke_members[] = {
    {"FunctionName", &s_string, true, SL_LOC_URI, "FunctionName"},
    {"Payload", &s_blob, false, SL_LOC_BODY, NULL},
};
static const sl_shape_t invoke_in = {.name = "InvocationRequest",
                                     .type = SL_SHAPE_STRUCTURE,
                                     .members = invoke_members,
                                     .member_count = 2,
                                     .payload = "Payload"};
static const sl_op_t ops[] = {
    {"GetItem", &get_in, NULL, "POST", "/things/{Name}/items/{Key+}", 0},
    {"Invoke", &invoke_in, NULL, "POST", "/f/{FunctionName}/invocations?x-id=Invoke", 0},
};
static const sl_service_model_t model = {.service = "fuzz", .ops = ops, .op_count = 2};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = calloc(1, size + 4);
    if (!s) return 0;
    memcpy(s, data, size);
    const char *parts[3];
    const char *p = s, *end = s + size;
    for (int i = 0; i < 3; i++) {
        parts[i] = p;
        if (p <= end) p += strlen(p) + 1;
        if (p > end + 1) p = end + 1;
    }
    size_t vlen = strlen(parts[1]);
    sl_http_header_t h[] = {{"x-ids", 5, parts[1], vlen},
                            {"x-ratio", 7, parts[1], vlen},
                            {"if-modified-since", 17, parts[1], vlen},
                            {"x-meta-k", 8, parts[1], vlen}};
    size_t body_len = strlen(parts[2]);
    char *body = malloc(body_len + 1);
    if (!body) {
        free(s);
        return 0;
    }
    memcpy(body, parts[2], body_len + 1);
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_http_req_t req = {.method = "POST",
                         .path = parts[0],
                         .headers = h,
                         .header_count = 4,
                         .body = (const uint8_t *)body,
                         .body_len = body_len,
                         .arena = &arena};
    const sl_op_t *op = sl_front_rest_find_op(&model, "POST", parts[0]);
    if (op) {
        sl_val_t *doc = NULL;
        sl_front_error_t err = {0};
        if (sl_front_rest_decode(op, &req, &arena, &doc, &err) == 0) {
            if (!doc || doc->type != SL_VAL_MAP) abort();
            err = (sl_front_error_t){0};
            if (sl_front_validate(op, doc, SL_FMT_JSON, &arena, &err) != 0 && !err.type) abort();
        } else if (!err.type) {
            abort();
        }
    }
    sl_arena_deinit(&arena);
    free(body);
    free(s);
    return 0;
}
