/* The IAM binding (Query protocol, signing name "iam", a global service signed for us-east-1):
 * the users, access keys and inline user policies subset (docs/security.md, "IAM"): CreateUser,
 * GetUser, ListUsers, DeleteUser, CreateAccessKey, ListAccessKeys, UpdateAccessKey,
 * DeleteAccessKey, PutUserPolicy, GetUserPolicy, ListUserPolicies, DeleteUserPolicy, over the
 * store of iam/store.h. The descriptor's account hook must leave the sl_iam_account_t of the
 * caller's account in call->account. Other IAM operations answer InternalFailure. */
#ifndef SL_API_IAM_BINDING_H
#define SL_API_IAM_BINDING_H

#include "front/front.h"
#include "iam/store.h"

/* Fills *svc with the IAM descriptor over `store` (no account hook: the composition root sets
 * it). */
void sl_iamapi_describe(sl_iam_store_t *store, sl_front_service_t *svc);

#endif
