/* Fuzz target: the SigV4 verifier's parsing of a received request. Input layout: a flags byte
 * (bit 0: presigned, bit 1: path encoded once), then NUL-separated fields: the request target
 * (path and query as received), the SignedHeaders list, the payload hash, and the headers as
 * "name:value" fields. The canonical request must be built without a crash, be NUL-free where the
 * input was, start with the method, and give a 64-hex-digit signature; the date parsers must
 * accept or refuse any text. */
#include "core/arena.h"
#include "core/common.h"
#include "wire/sigv4.h"

#include <stdlib.h>
#include <string.h>

#define FIELDS_MAX 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t flags = data[0];
    char *s = malloc(size + 1);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    const char *fields[FIELDS_MAX];
    size_t nf = 0;
    for (char *p = s; nf < FIELDS_MAX;) {
        fields[nf++] = p;
        p += strlen(p);
        if (p >= s + size - 1) break;
        p++;
    }
    while (nf < 3)
        fields[nf++] = "";
    sl_sigv4_req_header_t hs[FIELDS_MAX];
    size_t nh = 0;
    for (size_t i = 3; i < nf; i++) {
        const char *colon = strchr(fields[i], ':');
        if (!colon) continue;
        hs[nh++] = (sl_sigv4_req_header_t){fields[i], (size_t)(colon - fields[i]), colon + 1,
                                           strlen(colon + 1)};
    }
    sl_arena_t arena;
    sl_arena_init(&arena, 1024);
    sl_sigv4_canon_input_t in = {.method = "POST",
                                 .target = fields[0],
                                 .headers = hs,
                                 .header_count = nh,
                                 .signed_headers = fields[1],
                                 .payload_hash = fields[2],
                                 .presigned = flags & 1,
                                 .path_encoded_once = flags & 2};
    const char *creq = NULL;
    size_t len = 0;
    if (sl_sigv4_canonical_request(&in, &arena, &creq, &len) != 0) abort();
    if (strlen(creq) != len || strncmp(creq, "POST\n", 5) != 0) abort();
    uint8_t key[32] = {0};
    char hex[65];
    int rc = sl_sigv4_signature_hex(creq, len, "20150830T123600Z", "20150830", "us-east-1",
                                    "kinesis", key, hex);
    if (rc != 0 || strlen(hex) != 64) abort();
    int64_t t;
    (void)sl_sigv4_parse_amz_date(fields[1], &t);
    (void)sl_sigv4_parse_http_date(fields[2], &t);
    sl_arena_deinit(&arena);
    free(s);
    return 0;
}
