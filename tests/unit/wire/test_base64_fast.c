/* The table-driven and AVX2 base64 encoders against a plain one-character-at-a-time reference, for
 * every length from 0 to 3000 bytes (all tail cases and every position of the 24-byte SIMD steps),
 * with random and all-ones/all-zeros data; and the decoder inverting each. */
#include "test.h"
#include "wire/base64.h"

#include <stdlib.h>

static void reference(const unsigned char *in, size_t n, char *out) {
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
        out[o++] = a[v & 63];
    }
    if (n - i >= 1) {
        unsigned v = (unsigned)in[i] << 16 | (n - i == 2 ? (unsigned)in[i + 1] << 8 : 0);
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = n - i == 2 ? a[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
}

int main(void) {
    srand(12345);
    int mismatches = 0, roundtrip_failures = 0;
    for (int fill = 0; fill < 3; fill++) {
        for (size_t n = 0; n <= 3000; n++) {
            unsigned char *in = malloc(n + 1);
            char *want = malloc(n * 2 + 8), *got = malloc(n * 2 + 8);
            unsigned char *back = malloc(n + 8);
            for (size_t k = 0; k < n; k++) in[k] = fill == 0 ? (unsigned char)rand() : fill == 1 ? 0xff : 0;
            size_t len = sl_base64_encoded_len(n);
            reference(in, n, want);
            sl_base64_encode(in, n, got);
            if (memcmp(want, got, len) != 0) mismatches++;
            size_t out_len = 0;
            char bad = 0;
            if (sl_base64_decode(got, len, back, &out_len, &bad) != SL_B64_OK || out_len != n ||
                memcmp(back, in, n) != 0)
                roundtrip_failures++;
            free(in);
            free(want);
            free(got);
            free(back);
        }
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK_EQ_INT(roundtrip_failures, 0);
    TEST_MAIN_END();
}
