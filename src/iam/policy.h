/* IAM policy documents: parsing and evaluation (no HTTP; the front's authorization step will ask
 * through a hook). The subset: Version; Statement (one object or a list) with Effect Allow|Deny,
 * Action or NotAction and Resource or NotResource (a string or a list; `*` and `?` wildcards,
 * actions compared without regard to case), Sid, and Condition with the operators IpAddress /
 * NotIpAddress on aws:SourceIp (IPv4 CIDR), Bool on aws:SecureTransport, and StringEquals /
 * StringNotEquals / StringLike / StringNotLike on sts:ExternalId (roles' trust policies: a
 * positive operator on a key the request lacks does not match, a negated one does, as on AWS).
 * Evaluation follows
 * AWS's rule: an explicit Deny in any policy wins, else an Allow in any policy allows, else the
 * request is denied (implicitly).
 *
 * A parsed policy lives in the arena it was parsed into. */
#ifndef SL_IAM_POLICY_H
#define SL_IAM_POLICY_H

#include "core/arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_iam_policy sl_iam_policy_t;

/* What a request asks: the action ("kinesis:PutRecord"), the resource ARN, and the condition
 * keys' values. */
typedef struct {
    const char *action;
    const char *resource;
    const char *source_ip; /* dotted IPv4, or NULL */
    bool secure_transport;
    /* who asks (resource policies' Principal): the principal's ARN and its 12-digit account */
    const char *principal_arn;
    const char *principal_account;
    /* or a service principal ("lambda.amazonaws.com": a function's execution role), matched by
     * {"Service": ...} and "*" only */
    const char *principal_service;
    const char *external_id; /* AssumeRole's ExternalId (sts:ExternalId), or NULL */
} sl_iam_request_t;

typedef enum {
    SL_IAM_IMPLICIT_DENY = 0, /* no statement applies */
    SL_IAM_ALLOW,
    SL_IAM_EXPLICIT_DENY,
} sl_iam_decision_t;

/* Parses a policy document (text[0..len), not modified). Returns 0 and *out, or SL_EINVAL with
 * a static *reason (AWS answers MalformedPolicyDocument), or SL_ENOMEM. */
int sl_iam_policy_parse(const char *text, size_t len, sl_arena_t *arena, sl_iam_policy_t **out,
                        const char **reason);
/* A resource-based policy (a stream's or consumer's PutResourcePolicy): every statement also
 * names its Principal: "*" or {"AWS": one or a list of an account id, an account's root ARN
 * "arn:aws:iam::<account>:root" (any principal of that account), a user's ARN, or "*"} and / or
 * {"Service": one or a list of service principals ("lambda.amazonaws.com")}; a
 * statement applies only to the principals it names. A statement without Resource (a role's
 * trust policy) applies to the resource the policy belongs to. */
int sl_iam_resource_policy_parse(const char *text, size_t len, sl_arena_t *arena,
                                 sl_iam_policy_t **out, const char **reason);

/* The decision of one policy for a request. */
sl_iam_decision_t sl_iam_policy_decide(const sl_iam_policy_t *policy, const sl_iam_request_t *req);

/* The decision of several policies together (explicit deny wins, then allow). */
sl_iam_decision_t sl_iam_policies_decide(const sl_iam_policy_t *const *policies, size_t count,
                                         const sl_iam_request_t *req);

/* `*` / `?` glob match of text against pattern; case-insensitive when fold. */
bool sl_iam_glob(const char *pattern, const char *text, bool fold);

#endif
