/* Common definitions shared by every layer: error codes, assertions, small helpers.
 * Functions across Sluice return int: 0 on success or a negative SL_E* code. */
#ifndef SL_CORE_COMMON_H
#define SL_CORE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    SL_OK = 0,
    SL_ENOMEM = -1, /* allocation failed */
    SL_EINVAL = -2, /* invalid argument or malformed input */
    SL_EIO = -3,    /* I/O error from the OS */
    SL_ENOSPC = -4, /* disk full */
    SL_ENOTFOUND = -5,
    SL_EEXIST = -6,
    SL_ECORRUPT = -7,   /* checksum or format mismatch in stored data */
    SL_ELIMIT = -8,     /* a bound from limits.h was reached */
    SL_EAGAIN = -9,     /* try again later (backpressure) */
    SL_ECLOSED = -10,   /* object or connection already closed */
    SL_ERANGE = -11,    /* value out of range (e.g. position before trim horizon) */
    SL_EROFS = -12,     /* the file system is read-only */
    SL_ETIMEDOUT = -13, /* a deadline passed (e.g. a request body that stopped coming) */
    SL_EINJECTED = -14, /* a failure injected on purpose (fault injection, --fault) */
};

/* Static text for an SL_E* code. */
const char *sl_strerror(int code);

/* Programmer-error assertion: crashes with file:line. Never use on bytes from the network or disk.
 */
#define SL_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) sl_assert_fail(#cond, __FILE__, __LINE__);                                    \
    } while (0)
_Noreturn void sl_assert_fail(const char *expr, const char *file, int line);

#define SL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SL_MAX(a, b) ((a) > (b) ? (a) : (b))

/* A borrowed, not necessarily NUL-terminated string slice. */
typedef struct {
    const char *ptr;
    size_t len;
} sl_str_t;

#define SL_STR(lit) ((sl_str_t){(lit), sizeof(lit) - 1})
bool sl_str_eq(sl_str_t a, const char *cstr);

#endif
