/* IAM roles (docs/security.md, "STS: AssumeRole"): roles of every account, each with its trust
 * policy (AssumeRolePolicyDocument: who may assume it) and inline role policies (what a session
 * of the role may do). Kept in memory and in each account's catalog (setting "iam_roles", the
 * account's whole table, written before memory changes: roles change rarely).
 *
 * Threads: every function is safe from any thread (one mutex). */
#ifndef SL_IAM_ROLES_H
#define SL_IAM_ROLES_H

#include "catalog/catalog.h"
#include "core/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_IAM_ROLES_MAX 256          /* roles of one account (ours; AWS: 1000 by default) */
#define SL_IAM_ROLE_POLICIES_MAX 16   /* inline policies of one role (ours) */
#define SL_IAM_POLICY_BYTES_MAX 10240 /* a role's trust or inline policy document (AWS: 10,240) */

typedef struct sl_iam_roles sl_iam_roles_t;

typedef struct {
    char name[SL_AUTH_NAME_BYTES_MAX];
    char role_id[24]; /* AROA + 17 characters */
    int64_t created_ms;
    int32_t max_session_s;
    char trust[SL_IAM_POLICY_BYTES_MAX + 1]; /* the trust policy document */
} sl_iam_role_t;

int sl_iam_roles_create(sl_iam_roles_t **out);
void sl_iam_roles_destroy(sl_iam_roles_t *r);
/* Loads an account's roles from its catalog (which must outlive r). */
int sl_iam_roles_load(sl_iam_roles_t *r, const char *account, sl_catalog_t *catalog);
/* Forgets a loaded account (its opening failed afterwards; its catalog is about to close). */
void sl_iam_roles_unload(sl_iam_roles_t *r, const char *account);

/* Errors: SL_EEXIST (exists; delete: the role still has policies), SL_ENOTFOUND, SL_ELIMIT, or
 * a catalog error. */
int sl_iam_role_create(sl_iam_roles_t *r, const char *account, const char *name, const char *trust,
                       int32_t max_session_s, int64_t now_ms, sl_iam_role_t *out);
int sl_iam_role_get(sl_iam_roles_t *r, const char *account, const char *name, sl_iam_role_t *out);
/* Up to cap role names after `after`, sorted; *more when there are others. */
size_t sl_iam_role_list(sl_iam_roles_t *r, const char *account, const char *after,
                        sl_iam_role_t *out, size_t cap, bool *more);
int sl_iam_role_delete(sl_iam_roles_t *r, const char *account, const char *name);
int sl_iam_role_policy_put(sl_iam_roles_t *r, const char *account, const char *role,
                           const char *policy_name, const char *document);
/* The document (malloc'd; the caller frees it). */
int sl_iam_role_policy_get(sl_iam_roles_t *r, const char *account, const char *role,
                           const char *policy_name, char **document);
int sl_iam_role_policy_list(sl_iam_roles_t *r, const char *account, const char *role,
                            char (*names)[SL_AUTH_NAME_BYTES_MAX], size_t cap, size_t *count);
int sl_iam_role_policy_delete(sl_iam_roles_t *r, const char *account, const char *role,
                              const char *policy_name);

#endif
