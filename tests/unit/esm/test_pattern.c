/* Unit tests of event patterns (esm/pattern.c): each operator matching and not matching, AND
 * across keys, OR across rules and $or, arrays in the event, nested objects, absent fields, and
 * the patterns the checker refuses. */
#include "core/arena.h"
#include "esm/pattern.h"
#include "test.h"
#include "wire/json.h"

#include <string.h>

static sl_arena_t g_arena;

static sl_val_t *parse(const char *text) {
    size_t len = strlen(text);
    char *copy = sl_arena_strndup(&g_arena, text, len);
    sl_val_t *v = NULL;
    const char *reason;
    if (sl_json_parse(copy, len, &g_arena, &v, &reason) != 0) return NULL;
    return v;
}

static bool match(const char *pattern, const char *event) {
    sl_val_t *p = parse(pattern);
    const char *reason;
    if (!p || !sl_pattern_check(p, &reason)) {
        fprintf(stderr, "pattern refused: %s (%s)\n", pattern, reason ? reason : "parse");
        return false;
    }
    return sl_pattern_match(p, parse(event));
}

static bool valid(const char *pattern) {
    sl_val_t *p = parse(pattern);
    const char *reason;
    return p && sl_pattern_check(p, &reason);
}

int main(void) {
    sl_arena_init(&g_arena, 4096);
    /* equals, OR within a list, AND across keys */
    CHECK(match("{\"a\":[\"x\"]}", "{\"a\":\"x\"}"));
    CHECK(!match("{\"a\":[\"x\"]}", "{\"a\":\"y\"}"));
    CHECK(match("{\"a\":[\"x\",\"y\"]}", "{\"a\":\"y\"}"));
    CHECK(!match("{\"a\":[\"x\"],\"b\":[1]}", "{\"a\":\"x\",\"b\":2}"));
    CHECK(match("{\"a\":[\"x\"],\"b\":[1]}", "{\"a\":\"x\",\"b\":1.0}"));
    CHECK(!match("{\"a\":[\"1\"]}", "{\"a\":1}")); /* a string is not a number */
    CHECK(match("{\"a\":[true]}", "{\"a\":true}"));
    CHECK(match("{\"a\":[null]}", "{\"a\":null}"));
    CHECK(!match("{\"a\":[null]}", "{}"));
    CHECK(match("{\"a\":[\"\"]}", "{\"a\":\"\"}"));
    /* arrays in the event: any element */
    CHECK(match("{\"a\":[\"x\"]}", "{\"a\":[\"w\",\"x\"]}"));
    CHECK(!match("{\"a\":[\"x\"]}", "{\"a\":[\"w\"]}"));
    /* nested */
    CHECK(match("{\"d\":{\"c\":[\"LA\"]}}", "{\"d\":{\"c\":\"LA\",\"o\":1}}"));
    CHECK(!match("{\"d\":{\"c\":[\"LA\"]}}", "{\"d\":\"LA\"}"));
    CHECK(!match("{\"d\":{\"c\":[\"LA\"]}}", "{}"));
    CHECK(match("{\"d\":{\"c\":[{\"exists\":false}]}}", "{}"));
    /* prefix, suffix, case */
    CHECK(match("{\"a\":[{\"prefix\":\"us-\"}]}", "{\"a\":\"us-east\"}"));
    CHECK(!match("{\"a\":[{\"prefix\":\"us-\"}]}", "{\"a\":\"eu-west\"}"));
    CHECK(!match("{\"a\":[{\"prefix\":\"us-\"}]}", "{\"a\":5}"));
    CHECK(match("{\"a\":[{\"prefix\":{\"equals-ignore-case\":\"US-\"}}]}", "{\"a\":\"us-x\"}"));
    CHECK(match("{\"a\":[{\"suffix\":\".png\"}]}", "{\"a\":\"x.png\"}"));
    CHECK(!match("{\"a\":[{\"suffix\":\".png\"}]}", "{\"a\":\"png\"}"));
    CHECK(match("{\"a\":[{\"equals-ignore-case\":\"AbC\"}]}", "{\"a\":\"aBc\"}"));
    CHECK(!match("{\"a\":[{\"equals-ignore-case\":\"AbC\"}]}", "{\"a\":\"aBcd\"}"));
    CHECK(match("{\"a\":[{\"wildcard\":\"img*.p*g\"}]}", "{\"a\":\"img-01.png\"}"));
    CHECK(!match("{\"a\":[{\"wildcard\":\"img*.png\"}]}", "{\"a\":\"img-01.jpg\"}"));
    /* anything-but */
    CHECK(match("{\"a\":[{\"anything-but\":[\"x\",\"y\"]}]}", "{\"a\":\"z\"}"));
    CHECK(!match("{\"a\":[{\"anything-but\":[\"x\",\"y\"]}]}", "{\"a\":\"y\"}"));
    CHECK(!match("{\"a\":[{\"anything-but\":\"x\"}]}", "{}"));
    CHECK(match("{\"a\":[{\"anything-but\":{\"prefix\":\"in\"}}]}", "{\"a\":\"out\"}"));
    CHECK(!match("{\"a\":[{\"anything-but\":{\"prefix\":\"in\"}}]}", "{\"a\":\"inner\"}"));
    CHECK(match("{\"a\":[{\"anything-but\":5}]}", "{\"a\":6}"));
    /* numeric */
    CHECK(match("{\"n\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"n\":5}"));
    CHECK(!match("{\"n\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"n\":0}"));
    CHECK(!match("{\"n\":[{\"numeric\":[\">\",0]}]}", "{\"n\":\"7\"}"));
    CHECK(match("{\"n\":[{\"numeric\":[\"=\",300]}]}", "{\"n\":300.0}"));
    CHECK(match("{\"n\":[{\"numeric\":[\">=\",1.5]}]}", "{\"n\":1.5}"));
    CHECK(!match("{\"n\":[{\"numeric\":[\"<\",-1]}]}", "{\"n\":-1}"));
    /* exists */
    CHECK(match("{\"a\":[{\"exists\":true}]}", "{\"a\":{\"b\":1}}") == false); /* objects: no */
    CHECK(match("{\"a\":[{\"exists\":true}]}", "{\"a\":1}"));
    CHECK(!match("{\"a\":[{\"exists\":true}]}", "{}"));
    CHECK(match("{\"a\":[{\"exists\":false}]}", "{}"));
    CHECK(!match("{\"a\":[{\"exists\":false}]}", "{\"a\":1}"));
    /* $or */
    CHECK(match("{\"$or\":[{\"a\":[1]},{\"b\":[2]}]}", "{\"b\":2}"));
    CHECK(!match("{\"$or\":[{\"a\":[1]},{\"b\":[2]}]}", "{\"a\":2,\"b\":1}"));
    /* an empty event */
    CHECK(sl_pattern_match(parse("{\"a\":[{\"exists\":false}]}"), NULL));
    CHECK(!sl_pattern_match(parse("{\"a\":[\"x\"]}"), NULL));
    /* refused patterns */
    CHECK(!valid("[1]"));
    CHECK(!valid("{\"a\":\"x\"}"));
    CHECK(!valid("{\"a\":[]}"));
    CHECK(!valid("{\"a\":[{\"nope\":1}]}"));
    CHECK(!valid("{\"a\":[{\"prefix\":1}]}"));
    CHECK(!valid("{\"a\":[{\"numeric\":[\"~\",1]}]}"));
    CHECK(!valid("{\"a\":[{\"numeric\":[\">\",\"1\"]}]}"));
    CHECK(!valid("{\"a\":[{\"exists\":\"yes\"}]}"));
    CHECK(!valid("{\"a\":[{\"prefix\":\"a\",\"suffix\":\"b\"}]}"));
    CHECK(!valid("{\"$or\":[{\"a\":[1]}]}"));
    CHECK(!valid("{\"a\":[[1]]}"));
    CHECK(valid("{}"));
    sl_arena_deinit(&g_arena);
    TEST_MAIN_END();
}
