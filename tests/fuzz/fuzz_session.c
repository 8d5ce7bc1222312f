/* Fuzz target: STS session tokens (iam/session.c), which arrive in X-Amz-Security-Token. A token
 * this server did not seal never opens; a token it sealed opens to the same session. */
#include "core/common.h"
#include "iam/session.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t key[32] = {1};
    char *token = malloc(size + 1);
    if (!token) return 0;
    memcpy(token, data, size);
    token[size] = '\0';
    sl_iam_session_t s;
    char secret[48];
    if (sl_iam_session_open(key, "ASIAAAAAAAAAAAAAAAAA", token, &s, secret) == 0) abort();
    free(token);
    /* the input as the names of a session: sealed, then opened again */
    sl_iam_session_t in = {.expiration_s = (int64_t)size, .admin = size & 1};
    size_t n = size < sizeof in.user_name - 1 ? size : sizeof in.user_name - 1;
    memcpy(in.user_name, data, n);
    in.user_name[strnlen(in.user_name, n)] = '\0';
    memcpy(in.account_id, "111122223333", 13);
    /* and as its session policy (AssumeRole's Policy travels in the token) */
    size_t pn = size < sizeof in.policy - 1 ? size : sizeof in.policy - 1;
    memcpy(in.policy, data, pn);
    in.policy[strnlen(in.policy, pn)] = '\0';
    sl_iam_session_creds_t c;
    if (sl_iam_session_issue(key, &in, &c) != 0) abort();
    if (sl_iam_session_open(key, c.access_key_id, c.session_token, &s, secret) != 0) abort();
    if (strcmp(s.user_name, in.user_name) != 0 || s.expiration_s != in.expiration_s ||
        s.admin != in.admin || strcmp(secret, c.secret) != 0 || strcmp(s.policy, in.policy) != 0)
        abort();
    return 0;
}
