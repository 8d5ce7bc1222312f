/* Fuzz target: the aws-chunked decoder. Any input decodes or fails cleanly with a reason; decoding
 * in place gives the same bytes as decoding into another buffer; the output is never longer than
 * the input. */
#include "wire/awschunked.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size + 1), *out = malloc(size + 1);
    if (!copy || !out) abort();
    memcpy(copy, data, size);
    size_t n1 = 0, n2 = 0;
    const char *r1 = NULL, *r2 = NULL;
    int rc1 = sl_awschunked_decode(data, size, out, &n1, NULL, &r1);
    int rc2 = sl_awschunked_decode(copy, size, copy, &n2, NULL, &r2);
    if (rc1 != rc2 || (rc1 != 0 && (!r1 || !r2))) abort();
    if (rc1 == 0 && (n1 != n2 || n1 > size || memcmp(out, copy, n1) != 0)) abort();
    free(copy);
    free(out);
    return 0;
}
