/* Fuzz target: Firehose's prefix expressions (firehose/prefix.h). Any text is accepted or refused
 * with a reason; an accepted Prefix / ErrorOutputPrefix pair always evaluates (or reports a result
 * over 512 characters), NUL-terminated, with no read or write out of bounds. The input is split
 * at its first newline into the two prefixes. */
#include "firehose/prefix.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *nl = strchr(text, '\n');
    const char *error_prefix = NULL;
    if (nl) {
        *nl = 0;
        error_prefix = nl + 1;
    }
    (void)sl_fh_datetime_check(text, strlen(text));
    if (sl_fh_prefix_check(text, error_prefix) == NULL) {
        char out[SL_FH_PREFIX_EVAL_MAX + 1];
        for (int i = 0; i < 2; i++) {
            int rc = sl_fh_object_prefix(text, error_prefix, i ? "processing-failed" : NULL,
                                         1700000000123LL, 7, out, sizeof out);
            if (rc == 0 && strlen(out) > SL_FH_PREFIX_EVAL_MAX) abort();
        }
    }
    if (sl_fh_datetime_check(text, strlen(text)) == NULL) {
        char out[64];
        size_t pos = 0;
        if (sl_fh_datetime_format(text, strlen(text), -62135596800000LL, out, sizeof out, &pos) &&
            strlen(out) != pos)
            abort();
    }
    free(text);
    return 0;
}
