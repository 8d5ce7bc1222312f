/* Fuzz target: the SigV4 format checks. Input layout: flags byte (bit 0: date header present,
 * bit 1: no Authorization header, bit 2: no query), then the Authorization value and the query
 * string separated by a NUL. Every result must be a success with all parts set, or an error with
 * a known exception type and a message. */
#include "core/arena.h"
#include "core/common.h"
#include "wire/sigv4.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t flags = data[0];
    char *s = malloc(size + 1);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    s[size] = '\0';
    char *authz = s, *query = s + strlen(s) + 1;
    if (query > s + size - 1) query = s + size - 1;
    sl_arena_t arena;
    sl_arena_init(&arena, 1024);
    sl_sigv4_auth_t a;
    const char *type = NULL, *msg = NULL;
    int rc = sl_sigv4_check((flags & 2) ? NULL : authz, (flags & 4) ? NULL : query, flags & 1,
                            &arena, &a, &type, &msg);
    if (rc == 0) {
        if (type || msg || !a.access_key_id || !a.date || !a.region || !a.service ||
            !a.signed_headers || !a.signature)
            abort();
    } else {
        if (rc != SL_EINVAL || !type || !msg) abort();
        if (strcmp(type, "InvalidSignatureException") != 0 &&
            strcmp(type, "MissingAuthenticationTokenException") != 0 &&
            strcmp(type, "IncompleteSignatureException") != 0)
            abort();
    }
    sl_arena_deinit(&arena);
    free(s);
    return 0;
}
