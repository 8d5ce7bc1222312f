/* The STS binding (Query protocol, signing name "sts"): GetCallerIdentity, which SDKs and the
 * CLI call to check credentials (`aws sts get-caller-identity`), and GetSessionToken, which
 * issues temporary credentials (iam/session.h). The caller is the verified principal (--auth
 * sigv4) or, in open mode, the root of the account its access key names. The descriptor's
 * account hook must leave the caller's 12-digit account id (a string that lives as long as the
 * request) in call->account. Other STS operations are routed and validated, and answer
 * InternalFailure ("not supported"). */
#ifndef SL_API_STS_BINDING_H
#define SL_API_STS_BINDING_H

#include "front/front.h"
#include "iam/session.h"

/* Issues temporary credentials for the caller (NULL in open mode) of `account`, valid until
 * expiration_s; 0 or a negative SL_E*. */
typedef int (*sl_sts_issue_fn)(void *ctx, const sl_front_principal_t *caller, const char *account,
                               int64_t expiration_s, sl_iam_session_creds_t *out);

/* AssumeRole: what the binding asks and what it answers. */
typedef struct {
    const sl_front_principal_t *caller; /* NULL in open mode */
    const char *account;                /* the caller's */
    const char *role_arn;
    const char *session_name;
    const char *policy;      /* the inline session policy, or NULL */
    const char *external_id; /* ExternalId (sts:ExternalId in the trust policy), or NULL */
    bool policy_arns;        /* PolicyArns were given (managed session policies: refused) */
    int64_t duration_s;
    int64_t now_s;
    /* out */
    sl_iam_session_creds_t creds;
    int64_t expiration_s;
    char assumed_role_id[SL_AUTH_NAME_BYTES_MAX + 32];
    char assumed_role_arn[SL_AUTH_ARN_BYTES_MAX];
    const char *error_type; /* set when refused (AccessDenied, ValidationError, ...) */
    char error_message[SL_AUTH_ARN_BYTES_MAX + 256];
} sl_sts_assume_t;

typedef struct {
    sl_sts_issue_fn issue;
    /* AssumeRole: 0 with op's out filled, or 0 with op->error_type set (refused), or SL_E*. */
    int (*assume)(void *ctx, sl_sts_assume_t *op);
    void *ctx;
} sl_sts_hooks_t;

/* Fills *svc with the STS descriptor (no account hook: the composition root sets it); the hooks
 * are copied. */
void sl_sts_describe(sl_front_service_t *svc, const sl_sts_hooks_t *hooks);

#endif
