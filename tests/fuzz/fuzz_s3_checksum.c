/* Fuzz target: the x-amz-checksum-* names and values S3 requests carry (objstore/objstore.h), as
 * the S3 binding reads them from headers and aws-chunked trailers. Any name maps to one algorithm
 * or none, the same whatever its case; a value accepted as valid is the canonical base64 of exactly
 * the algorithm's digest length. */
#include "objstore/objstore.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const size_t digest_bytes[] = {0, 4, 4, 8, 20, 32};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1), *upper = malloc(size + 1);
    if (!text || !upper) abort();
    memcpy(text, data, size);
    text[size] = 0;
    for (size_t i = 0; i <= size; i++)
        upper[i] = (char)toupper((unsigned char)text[i]);
    sl_objstore_checksum_t a = sl_objstore_checksum_of_header(text, size);
    if (a != sl_objstore_checksum_of_header(upper, size)) abort();
    if (a != SL_OBJSTORE_CHECKSUM_NONE && strncmp(upper, "X-AMZ-CHECKSUM-", 15) != 0) abort();
    sl_objstore_checksum_t b = sl_objstore_checksum_of_name(text);
    if (b != sl_objstore_checksum_of_name(upper)) abort();
    for (int alg = SL_OBJSTORE_CHECKSUM_NONE; alg <= SL_OBJSTORE_CHECKSUM_SHA256; alg++) {
        if (!sl_objstore_checksum_valid((sl_objstore_checksum_t)alg, text)) continue;
        size_t want = (digest_bytes[alg] + 2) / 3 * 4;
        if (alg == SL_OBJSTORE_CHECKSUM_NONE || strlen(text) != want) abort();
    }
    free(text);
    free(upper);
    return 0;
}
