/* Fuzz target: a line of the --s3-external-buckets file (firehose/external.c). Any line is an
 * entry, a blank or comment line, or refused; an entry's strings are NUL-terminated within their
 * arrays, its origin starts with its scheme and ends with its authority. */
#include "firehose/internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 2048) return 0;
    char *line = malloc(size + 1);
    if (!line) return 0;
    memcpy(line, data, size);
    line[size] = 0;
    fh_external_t e;
    int r = fh_external_parse_line(line, &e);
    if (r == 1) {
        if (strnlen(e.bucket, sizeof e.bucket) == sizeof e.bucket ||
            strnlen(e.origin, sizeof e.origin) == sizeof e.origin || !e.authority[0])
            abort();
        size_t ol = strlen(e.origin), al = strlen(e.authority);
        if (ol < al || strcmp(e.origin + ol - al, e.authority) != 0) abort();
        if (strncmp(e.origin, "http://", 7) != 0 && strncmp(e.origin, "https://", 8) != 0) abort();
    } else if (r != 0 && r != -1) {
        abort();
    }
    free(line);
    return 0;
}
