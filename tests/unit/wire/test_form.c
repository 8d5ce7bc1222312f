/* Unit tests of the form decoder (wire/form.c), the Query protocol's request encoding. */
#include "test.h"

#include "core/arena.h"
#include "core/common.h"
#include "core/limits.h"
#include "wire/form.h"

static sl_arena_t arena;

static void test_decode(void) {
    const char *in = "Action=PutUserPolicy&Version=2010-05-08&&UserName=a+b%2Bc&"
                     "PolicyDocument=%7B%22x%22%3A1%7D&Flag&Empty=&%41=%e2%82%ac";
    sl_form_param_t *ps;
    size_t n;
    const char *reason;
    CHECK_EQ_INT(sl_form_parse(in, strlen(in), &arena, &ps, &n, &reason), 0);
    CHECK_EQ_INT((int)n, 7);
    CHECK_EQ_STR(sl_form_get(ps, n, "Action"), "PutUserPolicy");
    CHECK_EQ_STR(sl_form_get(ps, n, "UserName"), "a b+c");
    CHECK_EQ_STR(sl_form_get(ps, n, "PolicyDocument"), "{\"x\":1}");
    CHECK_EQ_STR(sl_form_get(ps, n, "Flag"), "");
    CHECK_EQ_STR(sl_form_get(ps, n, "Empty"), "");
    CHECK_EQ_STR(sl_form_get(ps, n, "A"), "\xe2\x82\xac");
    CHECK(sl_form_get(ps, n, "Missing") == NULL);
    CHECK_EQ_INT(sl_form_parse("", 0, &arena, &ps, &n, &reason), 0);
    CHECK_EQ_INT((int)n, 0);
}

static void test_errors(void) {
    sl_form_param_t *ps;
    size_t n;
    const char *reason;
    CHECK_EQ_INT(sl_form_parse("a=%zz", 5, &arena, &ps, &n, &reason), SL_EINVAL);
    CHECK_EQ_STR(reason, "a %-escape is not followed by two hexadecimal digits");
    CHECK_EQ_INT(sl_form_parse("a=%4", 4, &arena, &ps, &n, &reason), SL_EINVAL);
    /* the input need not be NUL-terminated: "a=%41" cut after "%4" */
    CHECK_EQ_INT(sl_form_parse("a=%41", 4, &arena, &ps, &n, &reason), SL_EINVAL);
    char many[4 * (SL_FORM_PARAMS_MAX + 1) + 1];
    size_t len = 0;
    for (int i = 0; i <= SL_FORM_PARAMS_MAX; i++) {
        memcpy(many + len, "a=b&", 4);
        len += 4;
    }
    CHECK_EQ_INT(sl_form_parse(many, len, &arena, &ps, &n, &reason), SL_EINVAL);
    CHECK_EQ_STR(reason, "too many parameters");
    CHECK_EQ_INT(sl_form_parse(many, len - 4, &arena, &ps, &n, &reason), 0);
    CHECK_EQ_INT((int)n, SL_FORM_PARAMS_MAX);
}

int main(void) {
    sl_arena_init(&arena, 4096);
    test_decode();
    test_errors();
    sl_arena_deinit(&arena);
    TEST_MAIN_END();
}
