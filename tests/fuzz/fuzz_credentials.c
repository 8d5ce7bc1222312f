/* Fuzz target: the credentials-file parser (iam/credentials.c). Every input either parses into
 * principals that each have a key id, a secret and a 12-digit account, with distinct key ids, or
 * is refused with a reason; nothing is read past the input. */
#include "core/common.h"
#include "iam/credentials.h"

#include <stdlib.h>
#include <string.h>

#define CAP 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size ? size : 1);
    if (size) memcpy(text, data, size);
    sl_iam_principal_t *ps = calloc(CAP, sizeof *ps);
    size_t n = 0;
    const char *reason = NULL;
    int line = 0;
    int rc = sl_iam_creds_parse(text, size, "000000000000", ps, CAP, &n, &reason, &line);
    if (rc == 0) {
        if (reason || n > CAP) abort();
        for (size_t i = 0; i < n; i++) {
            if (!ps[i].access_key_id[0] || !ps[i].secret[0] || strlen(ps[i].account_id) != 12)
                abort();
            for (size_t j = i + 1; j < n; j++)
                if (strcmp(ps[i].access_key_id, ps[j].access_key_id) == 0) abort();
        }
    } else if (rc != SL_EINVAL || !reason || line < 0) {
        abort();
    }
    free(ps);
    free(text);
    return 0;
}
