/* Minimal unit-test support: CHECK macros that report file:line and keep going, and a summary that
 * makes the test binary exit non-zero when any check failed. */
#ifndef SL_TEST_H
#define SL_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int sl_test_failures;
static int sl_test_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        sl_test_checks++;                                                                          \
        if (!(cond)) {                                                                             \
            sl_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long _a = (long long)(a), _b = (long long)(b);                                        \
        sl_test_checks++;                                                                          \
        if (_a != _b) {                                                                            \
            sl_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b,  \
                    _a, _b);                                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *_a = (a), *_b = (b);                                                           \
        sl_test_checks++;                                                                          \
        if (!_a || !_b || strcmp(_a, _b) != 0) {                                                   \
            sl_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: %s == %s failed:\n  got:      %s\n  expected: %s\n", __FILE__, \
                    __LINE__, #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");                     \
        }                                                                                          \
    } while (0)

#define TEST_MAIN_END()                                                                            \
    do {                                                                                           \
        fprintf(stderr, "%d checks, %d failures\n", sl_test_checks, sl_test_failures);             \
        return sl_test_failures ? 1 : 0;                                                           \
    } while (0)

#endif
