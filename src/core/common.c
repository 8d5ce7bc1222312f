/* Error strings and the assertion handler. */
#include "core/common.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sl_strerror(int code) {
    switch (code) {
    case SL_OK:
        return "ok";
    case SL_ENOMEM:
        return "out of memory";
    case SL_EINVAL:
        return "invalid argument";
    case SL_EIO:
        return "I/O error";
    case SL_ENOSPC:
        return "no space left on device";
    case SL_ENOTFOUND:
        return "not found";
    case SL_EEXIST:
        return "already exists";
    case SL_ECORRUPT:
        return "corrupt data";
    case SL_ELIMIT:
        return "limit reached";
    case SL_EAGAIN:
        return "try again";
    case SL_ECLOSED:
        return "closed";
    case SL_ERANGE:
        return "out of range";
    case SL_EROFS:
        return "read-only file system";
    case SL_ETIMEDOUT:
        return "timed out";
    case SL_EINJECTED:
        return "injected fault";
    default:
        return "unknown error";
    }
}

_Noreturn void sl_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "sluice: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    abort();
}

bool sl_str_eq(sl_str_t a, const char *cstr) {
    size_t n = strlen(cstr);
    return a.len == n && memcmp(a.ptr, cstr, n) == 0;
}
