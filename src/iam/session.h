/* Temporary credentials of STS (GetSessionToken, AssumeRole; docs/security.md "STS"). They are
 * stateless: the session token carries the session sealed with AES-256-GCM under a key derived
 * from the master key (the access key id as associated data), so any restart of the server still
 * verifies them until they expire, and nothing is stored:
 *     session token = "SLS2" + base64(nonce (12) | ciphertext | tag (16))
 * (tokens of earlier versions, "SLS1" + hex of a payload without a session policy, still open).
 * The payload holds AssumeRole's session policy too, so that it bounds every request the session
 * signs; at most 2,048 characters keep the token within SL_AUTH_SESSION_TOKEN_BYTES_MAX.
 * The access key id is "ASIA" + 16 characters; the secret is random, 40 characters, and only in
 * the answer and inside the token. */
#ifndef SL_IAM_SESSION_H
#define SL_IAM_SESSION_H

#include "core/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Who a session is: the caller of GetSessionToken (kind user), or a role assumed by AssumeRole
 * (kind role: its name and the session name). */
typedef struct {
    char account_id[16];
    char user_name[SL_AUTH_NAME_BYTES_MAX];    /* the user (or the role) whose policies apply */
    char role_session[SL_AUTH_NAME_BYTES_MAX]; /* AssumeRole's RoleSessionName, "" for a user */
    bool role;
    bool admin;
    int64_t expiration_s;
    char policy[SL_AUTH_SESSION_POLICY_BYTES_MAX]; /* AssumeRole's session policy, "" = none */
} sl_iam_session_t;

typedef struct {
    char access_key_id[24];
    char secret[48];
    char session_token[SL_AUTH_SESSION_TOKEN_BYTES_MAX];
} sl_iam_session_creds_t;

/* Issues credentials for a session (key: sl_iam_session_key). Returns 0 or SL_ENOMEM / SL_EIO. */
int sl_iam_session_issue(const uint8_t key[32], const sl_iam_session_t *s,
                         sl_iam_session_creds_t *out);
/* Opens a session token presented with access_key_id: 0 and *s and the secret, or SL_EINVAL (not
 * a token of this server, or not for this key). Expiry is the caller's to check. */
int sl_iam_session_open(const uint8_t key[32], const char *access_key_id, const char *token,
                        sl_iam_session_t *s, char secret[48]);
/* The session key derived from the master key (HMAC-SHA256, its own label). */
void sl_iam_session_key(const uint8_t master[32], uint8_t key[32]);

#endif
