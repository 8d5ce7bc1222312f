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

/* Fills *svc with the STS descriptor (no account hook: the composition root sets it). */
void sl_sts_describe(sl_front_service_t *svc, sl_sts_issue_fn issue, void *issue_ctx);

#endif
