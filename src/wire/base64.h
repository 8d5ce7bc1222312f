/* Base64 (standard alphabet, padded) for JSON blobs. The decoder reports the exact AWS
 * SerializationException reasons (tests/conformance/test_errors.py holds them), checked in
 * kinesalite's order: length (a multiple of 4) first, then the first character outside the
 * alphabet or a '=' followed by something other than '=' (so whitespace and newlines are invalid
 * characters, as in AWS), then the padding and the unused low bits of the last character (at most
 * two '=' and those bits zero, i.e. the text must be exactly what an encoder would produce).
 * The empty string decodes to 0 bytes. */
#ifndef SL_WIRE_BASE64_H
#define SL_WIRE_BASE64_H

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

size_t sl_base64_encoded_len(size_t n);
/* Writes sl_base64_encoded_len(n) bytes to out (no NUL). */
void sl_base64_encode(const void *data, size_t n, char *out);

typedef enum {
    SL_B64_OK = 0,
    SL_B64_BAD_LENGTH, /* "Base64 encoded length is expected a multiple of 4 bytes but found: <n>"
                        */
    SL_B64_BAD_CHAR,   /* "Invalid Base64 character: '<c>'" (bad_char set) */
    SL_B64_BAD_LAST,   /* "Invalid last non-pad Base64 character dectected" */
} sl_b64_status_t;

/* Decodes into out (capacity >= n/4*3). Returns the status; *out_len the decoded length;
 * *bad_char the offending character for SL_B64_BAD_CHAR. */
sl_b64_status_t sl_base64_decode(const char *in, size_t n, uint8_t *out, size_t *out_len,
                                 char *bad_char);

/* Decodes the text s[0..n) over itself: true with the bytes at s[0..*out_len) when
 * sl_base64_decode would answer SL_B64_OK; false otherwise, with s[0..n) as it was. */
bool sl_base64_decode_inplace(char *s, size_t n, size_t *out_len);
/* The text of the len bytes at s written over them (sl_base64_encoded_len(len) characters, which
 * the buffer must hold): what sl_base64_decode_inplace decoded there, as it was. */
void sl_base64_reencode_inplace(char *s, size_t len);

/* Appends AWS's reason text for a failed decode of in[0..n) with status st (the part after
 * "'<value>' can not be converted to a Blob: "), e.g. "Invalid Base64 character: '<c>'".
 * Lengths are counted in UTF-16 code units, as AWS (Java) and kinesalite (JavaScript) do, and a
 * non-ASCII offending character is printed whole (UTF-8). Appends nothing for SL_B64_OK. */
void sl_base64_reason(sl_buf_t *out, sl_b64_status_t st, const char *in, size_t n);

#endif
