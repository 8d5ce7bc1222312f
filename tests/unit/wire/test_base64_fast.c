/* The table-driven and AVX2 base64 encoders against a plain one-character-at-a-time reference, for
 * every length from 0 to 3000 bytes (all tail cases and every position of the 24-byte SIMD steps),
 * with random and all-ones/all-zeros data; the decoder inverting each; and an invalid character at
 * every position reported exactly, whichever path (table, AVX2, AVX-512 VBMI) decoded the rest;
 * decoding in place and its undoing. */
#include "test.h"
#include "wire/base64.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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
            for (size_t k = 0; k < n; k++)
                in[k] = fill == 0 ? (unsigned char)rand() : fill == 1 ? 0xff : 0;
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

    /* An invalid character anywhere (inside or outside the vectorised blocks) is reported as
     * itself, whatever path decoded the rest. */
    int wrong_errors = 0;
    const char bad_chars[] = "!-_ \n=.";
    for (size_t n = 30; n <= 400; n += 7) {
        unsigned char *in = malloc(n);
        for (size_t k = 0; k < n; k++)
            in[k] = (unsigned char)rand();
        size_t len = sl_base64_encoded_len(n);
        char *text = malloc(len + 1);
        uint8_t *back = malloc(n + 8);
        for (size_t pos = 0; pos + 4 < len; pos += 5) {
            sl_base64_encode(in, n, text);
            char c = bad_chars[pos % (sizeof bad_chars - 1)];
            text[pos] = c;
            size_t out_len = 0;
            char got = 0;
            sl_b64_status_t st = sl_base64_decode(text, len, back, &out_len, &got);
            if (st != SL_B64_BAD_CHAR || got != c) wrong_errors++;
        }
        free(in);
        free(text);
        free(back);
    }
    CHECK_EQ_INT(wrong_errors, 0);

    /* Every byte value at many positions of a 64-character text: accepted exactly when it is in
     * the alphabet, as the table-driven path decides. */
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int class_errors = 0;
    for (int pos = 0; pos < 60; pos++) {
        for (int c = 0; c < 256; c++) {
            char text[64];
            for (int k = 0; k < 64; k++)
                text[k] = alpha[(k * 7) % 64];
            text[pos] = (char)c;
            uint8_t back[64];
            size_t out_len = 0;
            char got = 0;
            bool valid = c != 0 && strchr(alpha, c) != NULL;
            sl_b64_status_t st = sl_base64_decode(text, 64, back, &out_len, &got);
            if (valid != (st == SL_B64_OK) || (valid && out_len != 48)) class_errors++;
        }
    }
    CHECK_EQ_INT(class_errors, 0);

    /* The same over 200 characters (the 64-character AVX-512 blocks, the 32-character AVX2 ones
     * and the scalar tail), and no decoder writes past the decoded bytes: the buffer has exactly
     * the room a caller sizes for, then guard bytes. */
    int wide_errors = 0, overruns = 0;
    for (int pos = 0; pos < 196; pos += 3) {
        for (int c = 0; c < 256; c++) {
            char text[200];
            for (int k = 0; k < 200; k++)
                text[k] = alpha[(k * 11 + pos) % 64];
            text[pos] = (char)c;
            uint8_t back[150 + 16];
            memset(back, 0xA5, sizeof back);
            size_t out_len = 0;
            char got = 0;
            bool valid = c != 0 && strchr(alpha, c) != NULL;
            sl_b64_status_t st = sl_base64_decode(text, 200, back, &out_len, &got);
            if (valid != (st == SL_B64_OK) || (valid && out_len != 150) ||
                /* a lone non-ASCII byte changes the length in characters, checked first */
                (!valid && c < 0x80 && c != '=' && (st != SL_B64_BAD_CHAR || got != (char)c)))
                wide_errors++;
            for (size_t k = 150; k < sizeof back; k++)
                if (back[k] != 0xA5) overruns++;
        }
    }
    CHECK_EQ_INT(wide_errors, 0);
    CHECK_EQ_INT(overruns, 0);

    /* In place (the JSON fast path's blobs): every length decodes over its own text to the same
     * bytes, nothing past the text changes, and re-encoding gives the text back; a text the
     * decoder refuses (a bad character anywhere, in a vectorised block or the tail, or a bad last
     * quad) is left exactly as it was. */
    int inplace_errors = 0, restore_errors = 0;
    for (size_t n = 0; n <= 700; n++) {
        unsigned char *in = malloc(n + 1);
        for (size_t k = 0; k < n; k++)
            in[k] = (unsigned char)rand();
        size_t len = sl_base64_encoded_len(n);
        char *text = malloc(len + 8), *orig = malloc(len + 8);
        sl_base64_encode(in, n, text);
        memcpy(text + len, "\"guard!", 8);
        memcpy(orig, text, len + 8);
        size_t out_len = 0;
        if (!sl_base64_decode_inplace(text, len, &out_len) || out_len != n ||
            memcmp(text, in, n) != 0 || memcmp(text + len, "\"guard!", 8) != 0)
            inplace_errors++;
        sl_base64_reencode_inplace(text, n);
        if (memcmp(text, orig, len + 8) != 0) inplace_errors++;
        for (size_t pos = 0; len && pos < len; pos += 1 + pos / 16) {
            for (int v = 0; v < 3; v++) {
                memcpy(text, orig, len + 8);
                /* an outside character; '=' inside; the unused low bits of the last character */
                text[pos] = v == 0 ? '!' : v == 1 ? '=' : text[pos];
                if (v == 2 && pos == len - 1 && text[pos] == '=') text[pos - 1] ^= 1;
                if (v == 2 && pos == len - 1 && text[pos] != '=') continue;
                char *want = malloc(len + 8);
                memcpy(want, text, len + 8);
                uint8_t *back = malloc(len + 8);
                size_t ol = 0;
                bool ok = sl_base64_decode(text, len, back, &ol, NULL) == SL_B64_OK;
                bool ip = sl_base64_decode_inplace(text, len, &out_len);
                if (ok != ip) restore_errors++;
                if (!ip && memcmp(text, want, len + 8) != 0) restore_errors++;
                if (ip && (out_len != ol || memcmp(text, back, ol) != 0)) restore_errors++;
                free(want);
                free(back);
            }
        }
        free(in);
        free(text);
        free(orig);
    }
    CHECK_EQ_INT(inplace_errors, 0);
    CHECK_EQ_INT(restore_errors, 0);
    TEST_MAIN_END();
}
