/* The IAM binding (Query protocol, signing name "iam", a global service signed for us-east-1):
 * the users, access keys and inline user policies subset (docs/security.md, "IAM"): CreateUser,
 * GetUser, ListUsers, DeleteUser, CreateAccessKey, ListAccessKeys, UpdateAccessKey,
 * DeleteAccessKey, PutUserPolicy, GetUserPolicy, ListUserPolicies, DeleteUserPolicy, over the
 * store of iam/store.h. The descriptor's account hook must leave the sl_iam_account_t of the
 * caller's account in call->account. Other IAM operations answer InternalFailure. */
#ifndef SL_API_IAM_BINDING_H
#define SL_API_IAM_BINDING_H

#include "front/front.h"
#include "iam/roles.h"
#include "iam/store.h"

/* What the binding serves (owned by the composition root): users, keys and user policies, and
 * roles (CreateRole, GetRole, ListRoles, DeleteRole, PutRolePolicy, GetRolePolicy,
 * ListRolePolicies, DeleteRolePolicy) for STS's AssumeRole. */
typedef struct {
    sl_iam_store_t *store;
    sl_iam_roles_t *roles;
} sl_iamapi_t;

/* Fills *svc with the IAM descriptor over `api` (no account hook: the composition root sets
 * it). */
void sl_iamapi_describe(sl_iamapi_t *api, sl_front_service_t *svc);

#endif
