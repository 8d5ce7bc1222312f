/* The IAM binding (see binding.h): decode the Query members, call the store, answer in IAM's XML
 * with AWS's error codes and texts (NoSuchEntity 404, EntityAlreadyExists 409, DeleteConflict
 * 409, LimitExceeded 409, MalformedPolicyDocument 400). */
#include "api/iam/binding.h"

#include "api/iam/model.h"
#include "core/common.h"
#include "iam/policy.h"
#include "wire/awserror.h"
#include "wire/json.h"
#include "wire/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static sl_iam_store_t *store_of(sl_front_call_t *call) {
    return ((sl_iamapi_t *)call->binding)->store;
}

static sl_iam_roles_t *roles_of(sl_front_call_t *call) {
    return ((sl_iamapi_t *)call->binding)->roles;
}

static const sl_iam_account_t *account_of(sl_front_call_t *call) {
    return call->account;
}

static const char *member(sl_front_call_t *call, const char *name) {
    return sl_val_get_str(call->in, name, NULL);
}

static void iso_time(int64_t ms, char out[32]) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The user a call is about: UserName, or the caller's own (the principal's user name). */
static const char *target_user(sl_front_call_t *call) {
    const char *u = member(call, "UserName");
    if (u) return u;
    return call->principal ? call->principal->user_name : NULL;
}

/* Answers a store error with IAM's code and text. */
static void fail_store(sl_front_call_t *call, int rc, const char *what, const char *name) {
    switch (rc) {
    case SL_ENOTFOUND:
        sl_front_fail(call, "NoSuchEntity", "The %s with name %s cannot be found.", what, name);
        return;
    case SL_EEXIST:
        if (strcmp(call->op->name, "DeleteUser") == 0)
            sl_front_fail(call, "DeleteConflict",
                          "Cannot delete entity, must delete access keys and policies first.");
        else
            sl_front_fail(call, "EntityAlreadyExists", "User with name %s already exists.", name);
        return;
    case SL_ELIMIT:
        sl_front_fail(call, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2");
        return;
    default:
        sl_front_fail_internal(call, rc);
    }
}

static void write_user(sl_front_call_t *call, sl_xml_writer_t *w, const sl_iam_user_t *u) {
    char date[32];
    iso_time(u->created_ms, date);
    sl_xml_element(w, "Path", "/");
    sl_xml_element(w, "UserName", u->name);
    sl_xml_element(w, "UserId", u->user_id);
    sl_xml_element_fmt(w, "Arn", "arn:aws:iam::%s:user/%s", account_of(call)->id, u->name);
    sl_xml_element(w, "CreateDate", date);
}

/* ---- users ---- */

static void op_create_user(sl_front_call_t *call) {
    const char *name = member(call, "UserName");
    sl_iam_user_t u;
    int rc = sl_iam_user_create(store_of(call), account_of(call), name, call->now_ms, &u);
    if (rc) {
        fail_store(call, rc, "user", name);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_open(&w, "User", NULL);
    write_user(call, &w, &u);
    sl_front_query_end(call, &w);
}

static void op_get_user(sl_front_call_t *call) {
    const char *name = target_user(call);
    sl_iam_user_t u;
    int rc = name ? sl_iam_user_get(store_of(call), account_of(call), name, &u) : SL_ENOTFOUND;
    if (rc == SL_ENOTFOUND && name && call->principal && !member(call, "UserName")) {
        /* the caller is a principal of the credentials file: not an IAM user of the store */
        memset(&u, 0, sizeof u);
        snprintf(u.name, sizeof u.name, "%s", name);
        snprintf(u.user_id, sizeof u.user_id, "%s", "AIDACREDENTIALSFILE0");
        u.created_ms = 0;
        rc = 0;
    }
    if (rc) {
        fail_store(call, rc, "user", name ? name : "(none)");
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_open(&w, "User", NULL);
    write_user(call, &w, &u);
    sl_front_query_end(call, &w);
}

static void op_list_users(sl_front_call_t *call) {
    int64_t max = 100;
    sl_val_get_int(call->in, "MaxItems", &max);
    const char *marker = member(call, "Marker");
    sl_iam_user_t *users = sl_arena_alloc(call->arena, (size_t)max * sizeof *users);
    if (!users) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    bool more;
    size_t n = sl_iam_user_list(store_of(call), account_of(call), marker ? marker : "", users,
                                (size_t)max, &more);
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_element(&w, "IsTruncated", more ? "true" : "false");
    sl_xml_open(&w, "Users", NULL);
    for (size_t i = 0; i < n; i++) {
        sl_xml_open(&w, "member", NULL);
        write_user(call, &w, &users[i]);
        sl_xml_close(&w);
    }
    sl_xml_close(&w);
    if (more && n) sl_xml_element(&w, "Marker", users[n - 1].name);
    sl_front_query_end(call, &w);
}

static void op_delete_user(sl_front_call_t *call) {
    const char *name = member(call, "UserName");
    int rc = sl_iam_user_delete(store_of(call), account_of(call), name);
    if (rc) {
        fail_store(call, rc, "user", name);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, false);
    sl_front_query_end(call, &w);
}

/* ---- access keys ---- */

static void op_create_access_key(sl_front_call_t *call) {
    const char *user = target_user(call);
    sl_iam_key_t k;
    int rc = user ? sl_iam_key_create(store_of(call), account_of(call), user, call->now_ms, &k)
                  : SL_ENOTFOUND;
    if (rc) {
        fail_store(call, rc, "user", user ? user : "(none)");
        return;
    }
    char date[32];
    iso_time(k.created_ms, date);
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_open(&w, "AccessKey", NULL);
    sl_xml_element(&w, "UserName", k.user_name);
    sl_xml_element(&w, "AccessKeyId", k.access_key_id);
    sl_xml_element(&w, "Status", "Active");
    sl_xml_element(&w, "SecretAccessKey", k.secret);
    sl_xml_element(&w, "CreateDate", date);
    memset(&k, 0, sizeof k);
    sl_front_query_end(call, &w);
}

static void op_list_access_keys(sl_front_call_t *call) {
    const char *user = target_user(call);
    sl_iam_key_t keys[2];
    size_t n = 0;
    int rc =
        user ? sl_iam_key_list(store_of(call), account_of(call), user, keys, &n) : SL_ENOTFOUND;
    if (rc) {
        fail_store(call, rc, "user", user ? user : "(none)");
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_element(&w, "UserName", user);
    sl_xml_open(&w, "AccessKeyMetadata", NULL);
    for (size_t i = 0; i < n; i++) {
        char date[32];
        iso_time(keys[i].created_ms, date);
        sl_xml_open(&w, "member", NULL);
        sl_xml_element(&w, "UserName", keys[i].user_name);
        sl_xml_element(&w, "AccessKeyId", keys[i].access_key_id);
        sl_xml_element(&w, "Status", keys[i].active ? "Active" : "Inactive");
        sl_xml_element(&w, "CreateDate", date);
        sl_xml_close(&w);
    }
    sl_xml_close(&w);
    sl_xml_element(&w, "IsTruncated", "false");
    sl_front_query_end(call, &w);
}

static void fail_key(sl_front_call_t *call, int rc, const char *akid) {
    if (rc == SL_ENOTFOUND)
        sl_front_fail(call, "NoSuchEntity", "The Access Key with id %s cannot be found.", akid);
    else
        sl_front_fail_internal(call, rc);
}

static void op_update_access_key(sl_front_call_t *call) {
    const char *user = target_user(call), *akid = member(call, "AccessKeyId");
    const char *status = member(call, "Status");
    int rc = user ? sl_iam_key_update(store_of(call), account_of(call), user, akid,
                                      strcmp(status, "Active") == 0)
                  : SL_ENOTFOUND;
    if (rc) {
        fail_key(call, rc, akid);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, false);
    sl_front_query_end(call, &w);
}

static void op_delete_access_key(sl_front_call_t *call) {
    const char *user = target_user(call), *akid = member(call, "AccessKeyId");
    int rc = user ? sl_iam_key_delete(store_of(call), account_of(call), user, akid) : SL_ENOTFOUND;
    if (rc) {
        fail_key(call, rc, akid);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, false);
    sl_front_query_end(call, &w);
}

/* ---- inline user policies ---- */

/* Appends s percent-encoded as IAM returns policy documents (RFC 3986 unreserved kept). */
static void url_encode(sl_buf_t *b, const char *s) {
    static const char hx[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            sl_buf_append_byte(b, c);
        } else {
            char e[3] = {'%', hx[c >> 4], hx[c & 15]};
            sl_buf_append(b, e, 3);
        }
    }
}

/* A policy document must be a JSON object (else AWS's MalformedPolicyDocument "Syntax errors in
 * policy."). An identity policy (evaluate) must also be one this server can evaluate whole
 * (iam/policy.h): one using a condition key or element it does not know is refused with the
 * reason, because storing it would leave its statements unenforced, a Deny among them. A trust
 * policy is only checked for JSON: one that does not parse allows nobody (a role trusting a
 * service principal, as roles made for AWS services do, is kept and never assumed). */
static bool document_ok(sl_front_call_t *call, const char *doc, bool evaluate) {
    size_t len = strlen(doc);
    char *copy = sl_arena_strndup(call->arena, doc, len); /* the parser decodes in place */
    sl_val_t *v = NULL;
    const char *reason = NULL;
    if (!copy || sl_json_parse(copy, len, call->arena, &v, &reason) != 0 || !v ||
        v->type != SL_VAL_MAP) {
        sl_front_fail(call, "MalformedPolicyDocument", "Syntax errors in policy.");
        return false;
    }
    if (!evaluate) return true;
    sl_iam_policy_t *p = NULL;
    int rc = sl_iam_policy_parse(doc, len, call->arena, &p, &reason);
    if (rc == 0) return true;
    if (rc == SL_ENOMEM)
        sl_front_fail_internal(call, rc);
    else
        sl_front_fail(call, "MalformedPolicyDocument", "%s",
                      reason ? reason : "Syntax errors in policy.");
    return false;
}

static void op_put_user_policy(sl_front_call_t *call) {
    const char *user = member(call, "UserName"), *name = member(call, "PolicyName");
    const char *doc = member(call, "PolicyDocument");
    if (!document_ok(call, doc, true)) return;
    int rc = sl_iam_policy_put(store_of(call), account_of(call), user, name, doc);
    if (rc) {
        fail_store(call, rc, "user", user);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, false);
    sl_front_query_end(call, &w);
}

/* The answer of GetUserPolicy / GetRolePolicy: the owner, the policy's name and its document
 * URL-encoded, as IAM returns it; frees doc. */
static void answer_policy(sl_front_call_t *call, const char *owner_member, const char *owner,
                          const char *name, char *doc) {
    sl_buf_t enc = SL_BUF_INIT;
    url_encode(&enc, doc);
    free(doc);
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_element(&w, owner_member, owner);
    sl_xml_element(&w, "PolicyName", name);
    sl_xml_element_len(&w, "PolicyDocument", enc.data ? enc.data : "", enc.len);
    sl_buf_free(&enc);
    sl_front_query_end(call, &w);
}

static void op_get_user_policy(sl_front_call_t *call) {
    const char *user = member(call, "UserName"), *name = member(call, "PolicyName");
    char *doc = NULL;
    int rc = sl_iam_policy_get(store_of(call), account_of(call), user, name, &doc);
    if (rc == SL_ENOTFOUND) {
        sl_iam_user_t u;
        if (sl_iam_user_get(store_of(call), account_of(call), user, &u) != 0)
            fail_store(call, rc, "user", user);
        else
            sl_front_fail(call, "NoSuchEntity", "The user policy with name %s cannot be found.",
                          name);
        return;
    }
    if (rc) {
        sl_front_fail_internal(call, rc);
        return;
    }
    answer_policy(call, "UserName", user, name, doc);
}

static void op_list_user_policies(sl_front_call_t *call) {
    const char *user = member(call, "UserName");
    char(*names)[SL_AUTH_NAME_BYTES_MAX] = sl_arena_alloc(call->arena, 1000 * sizeof *names);
    size_t n = 0;
    int rc = names ? sl_iam_policy_list(store_of(call), account_of(call), user, names, 1000, &n)
                   : SL_ENOMEM;
    if (rc) {
        fail_store(call, rc, "user", user);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_open(&w, "PolicyNames", NULL);
    for (size_t i = 0; i < n; i++)
        sl_xml_element(&w, "member", names[i]);
    sl_xml_close(&w);
    sl_xml_element(&w, "IsTruncated", "false");
    sl_front_query_end(call, &w);
}

static void op_delete_user_policy(sl_front_call_t *call) {
    const char *user = member(call, "UserName"), *name = member(call, "PolicyName");
    int rc = sl_iam_policy_delete(store_of(call), account_of(call), user, name);
    if (rc == SL_ENOTFOUND) {
        sl_iam_user_t u;
        if (sl_iam_user_get(store_of(call), account_of(call), user, &u) != 0)
            fail_store(call, rc, "user", user);
        else
            sl_front_fail(call, "NoSuchEntity", "The user policy with name %s cannot be found.",
                          name);
        return;
    }
    if (rc) {
        sl_front_fail_internal(call, rc);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, false);
    sl_front_query_end(call, &w);
}

/* ---- roles ---- */

static void fail_role(sl_front_call_t *call, int rc, const char *name) {
    switch (rc) {
    case SL_ENOTFOUND:
        sl_front_fail(call, "NoSuchEntity", "The role with name %s cannot be found.", name);
        return;
    case SL_EEXIST:
        if (strcmp(call->op->name, "DeleteRole") == 0)
            sl_front_fail(call, "DeleteConflict",
                          "Cannot delete entity, must delete policies first.");
        else
            sl_front_fail(call, "EntityAlreadyExists", "Role with name %s already exists.", name);
        return;
    case SL_ELIMIT:
        sl_front_fail(call, "LimitExceeded", "Cannot exceed quota for RolesPerAccount: %d",
                      SL_IAM_ROLES_MAX);
        return;
    default:
        sl_front_fail_internal(call, rc);
    }
}

static void write_role(sl_front_call_t *call, sl_xml_writer_t *w, const sl_iam_role_t *r) {
    char date[32];
    iso_time(r->created_ms, date);
    sl_buf_t enc = SL_BUF_INIT;
    url_encode(&enc, r->trust);
    sl_xml_element(w, "Path", "/");
    sl_xml_element(w, "RoleName", r->name);
    sl_xml_element(w, "RoleId", r->role_id);
    sl_xml_element_fmt(w, "Arn", "arn:aws:iam::%s:role/%s", account_of(call)->id, r->name);
    sl_xml_element(w, "CreateDate", date);
    sl_xml_element_len(w, "AssumeRolePolicyDocument", enc.data ? enc.data : "", enc.len);
    sl_xml_element_fmt(w, "MaxSessionDuration", "%d", (int)r->max_session_s);
    sl_buf_free(&enc);
}

static void op_create_role(sl_front_call_t *call) {
    const char *name = member(call, "RoleName"), *trust = member(call, "AssumeRolePolicyDocument");
    int64_t max = 3600;
    sl_val_get_int(call->in, "MaxSessionDuration", &max);
    if (!document_ok(call, trust, false)) return;
    sl_iam_role_t *r = malloc(sizeof *r);
    int rc = r ? sl_iam_role_create(roles_of(call), account_of(call)->id, name, trust, (int32_t)max,
                                    call->now_ms, r)
               : SL_ENOMEM;
    if (rc == 0) {
        sl_xml_writer_t w;
        sl_front_query_begin(call, &w, true);
        sl_xml_open(&w, "Role", NULL);
        write_role(call, &w, r);
        sl_xml_close(&w);
        sl_front_query_end(call, &w);
    } else {
        fail_role(call, rc, name);
    }
    free(r);
}

static void op_get_role(sl_front_call_t *call) {
    const char *name = member(call, "RoleName");
    sl_iam_role_t *r = malloc(sizeof *r);
    int rc = r ? sl_iam_role_get(roles_of(call), account_of(call)->id, name, r) : SL_ENOMEM;
    if (rc == 0) {
        sl_xml_writer_t w;
        sl_front_query_begin(call, &w, true);
        sl_xml_open(&w, "Role", NULL);
        write_role(call, &w, r);
        sl_xml_close(&w);
        sl_front_query_end(call, &w);
    } else {
        fail_role(call, rc, name);
    }
    free(r);
}

static void op_list_roles(sl_front_call_t *call) {
    int64_t max = 100;
    sl_val_get_int(call->in, "MaxItems", &max);
    sl_iam_role_t *roles = malloc((size_t)max * sizeof *roles);
    if (!roles) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    bool more;
    const char *marker = member(call, "Marker");
    size_t n = sl_iam_role_list(roles_of(call), account_of(call)->id, marker ? marker : "", roles,
                                (size_t)max, &more);
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_element(&w, "IsTruncated", more ? "true" : "false");
    sl_xml_open(&w, "Roles", NULL);
    for (size_t i = 0; i < n; i++) {
        sl_xml_open(&w, "member", NULL);
        write_role(call, &w, &roles[i]);
        sl_xml_close(&w);
    }
    sl_xml_close(&w);
    if (more && n) sl_xml_element(&w, "Marker", roles[n - 1].name);
    free(roles);
    sl_front_query_end(call, &w);
}

static void op_delete_role(sl_front_call_t *call) {
    const char *name = member(call, "RoleName");
    int rc = sl_iam_role_delete(roles_of(call), account_of(call)->id, name);
    if (rc) {
        fail_role(call, rc, name);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, false);
    sl_front_query_end(call, &w);
}

static void op_put_role_policy(sl_front_call_t *call) {
    const char *role = member(call, "RoleName"), *name = member(call, "PolicyName");
    const char *doc = member(call, "PolicyDocument");
    if (!document_ok(call, doc, true)) return;
    int rc = sl_iam_role_policy_put(roles_of(call), account_of(call)->id, role, name, doc);
    if (rc) {
        fail_role(call, rc, role);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, false);
    sl_front_query_end(call, &w);
}

static void op_get_role_policy(sl_front_call_t *call) {
    const char *role = member(call, "RoleName"), *name = member(call, "PolicyName");
    char *doc = NULL;
    int rc = sl_iam_role_policy_get(roles_of(call), account_of(call)->id, role, name, &doc);
    if (rc == SL_ENOTFOUND) {
        sl_iam_role_t *r = malloc(sizeof *r);
        if (r && sl_iam_role_get(roles_of(call), account_of(call)->id, role, r) == 0)
            sl_front_fail(call, "NoSuchEntity", "The role policy with name %s cannot be found.",
                          name);
        else
            fail_role(call, rc, role);
        free(r);
        return;
    }
    if (rc) {
        sl_front_fail_internal(call, rc);
        return;
    }
    answer_policy(call, "RoleName", role, name, doc);
}

static void op_list_role_policies(sl_front_call_t *call) {
    const char *role = member(call, "RoleName");
    char(*names)[SL_AUTH_NAME_BYTES_MAX] =
        sl_arena_alloc(call->arena, SL_IAM_ROLE_POLICIES_MAX * sizeof *names);
    size_t n = 0;
    int rc = names ? sl_iam_role_policy_list(roles_of(call), account_of(call)->id, role, names,
                                             SL_IAM_ROLE_POLICIES_MAX, &n)
                   : SL_ENOMEM;
    if (rc) {
        fail_role(call, rc, role);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_open(&w, "PolicyNames", NULL);
    for (size_t i = 0; i < n; i++)
        sl_xml_element(&w, "member", names[i]);
    sl_xml_close(&w);
    sl_xml_element(&w, "IsTruncated", "false");
    sl_front_query_end(call, &w);
}

static void op_delete_role_policy(sl_front_call_t *call) {
    const char *role = member(call, "RoleName"), *name = member(call, "PolicyName");
    int rc = sl_iam_role_policy_delete(roles_of(call), account_of(call)->id, role, name);
    if (rc == SL_ENOTFOUND) {
        sl_front_fail(call, "NoSuchEntity", "The role policy with name %s cannot be found.", name);
        return;
    }
    if (rc) {
        sl_front_fail_internal(call, rc);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, false);
    sl_front_query_end(call, &w);
}

static void op_unsupported(sl_front_call_t *call) {
    sl_front_fail(call, SL_AWS_INTERNAL_FAILURE, "%s is not supported by this server.",
                  call->op->name);
}

static const struct {
    const char *name;
    sl_front_op_fn fn;
} ops[] = {
    {"CreateAccessKey", op_create_access_key},
    {"CreateUser", op_create_user},
    {"DeleteAccessKey", op_delete_access_key},
    {"DeleteUser", op_delete_user},
    {"DeleteUserPolicy", op_delete_user_policy},
    {"GetUser", op_get_user},
    {"GetUserPolicy", op_get_user_policy},
    {"ListAccessKeys", op_list_access_keys},
    {"ListUserPolicies", op_list_user_policies},
    {"ListUsers", op_list_users},
    {"PutUserPolicy", op_put_user_policy},
    {"UpdateAccessKey", op_update_access_key},
    {"CreateRole", op_create_role},
    {"GetRole", op_get_role},
    {"ListRoles", op_list_roles},
    {"DeleteRole", op_delete_role},
    {"PutRolePolicy", op_put_role_policy},
    {"GetRolePolicy", op_get_role_policy},
    {"ListRolePolicies", op_list_role_policies},
    {"DeleteRolePolicy", op_delete_role_policy},
};

static sl_front_op_fn handler(const char *op_name) {
    for (size_t i = 0; i < SL_ARRAY_LEN(ops); i++)
        if (strcmp(ops[i].name, op_name) == 0) return ops[i].fn;
    return op_unsupported;
}

/* The resource an IAM operation acts on, for authorization (docs/security.md): the user it names
 * (arn:aws:iam::<account>:user/<UserName>), else the account's `*`. A non-admin principal may call
 * IAM only as far as its policies allow `iam:<Operation>`, as on AWS: without this an IAM user
 * could grant itself any permission. */
static const char *iam_resource(const sl_op_t *op, const sl_val_t *in, void *account,
                                const char *region, const char *account_id, sl_arena_t *arena) {
    (void)op;
    (void)account;
    (void)region;
    size_t len = 0;
    const char *user = sl_val_get_str(in, "UserName", &len);
    const char *role = sl_val_get_str(in, "RoleName", &len);
    if (role)
        return sl_arena_sprintf(arena, "arn:aws:iam::%s:role/%.*s", account_id, (int)len, role);
    user = sl_val_get_str(in, "UserName", &len);
    if (user)
        return sl_arena_sprintf(arena, "arn:aws:iam::%s:user/%.*s", account_id, (int)len, user);
    return sl_arena_sprintf(arena, "arn:aws:iam::%s:*", account_id);
}

void sl_iamapi_describe(sl_iamapi_t *api, sl_front_service_t *svc) {
    *svc = (sl_front_service_t){
        .name = "iam",
        .protocol = SL_FRONT_PROTO_QUERY,
        .model = &sl_iam_model,
        .handler = handler,
        .signing_name = sl_iam_model.signing_name,
        .signing_region = "us-east-1",
        .xml_namespace = "https://iam.amazonaws.com/doc/2010-05-08/",
        .binding = api,
        .resource = iam_resource,
        .action_prefix = "iam",
    };
}
