/* The STS binding (Query protocol, signing name "sts"): GetCallerIdentity, which SDKs and the
 * CLI call to check credentials (`aws sts get-caller-identity`). The caller is the verified
 * principal (--auth sigv4) or, in open mode, the root of the account its access key names. The
 * descriptor's account hook must leave the caller's 12-digit account id (a string that lives as
 * long as the request) in call->account. Other STS operations are routed and validated, and
 * answer InternalFailure ("not supported"). */
#ifndef SL_API_STS_BINDING_H
#define SL_API_STS_BINDING_H

#include "front/front.h"

/* Fills *svc with the STS descriptor (no account hook: the composition root sets it). */
void sl_sts_describe(sl_front_service_t *svc);

#endif
