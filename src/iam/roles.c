/* IAM roles (roles.h). Each account's roles are one catalog setting: u32 version, u32 count, then
 * per role (sorted by name): name, role id, i64 created, i32 max session, trust document, u32
 * policy count and per policy its name and document (strings: u32 length, bytes). */
#include "iam/roles.h"

#include "core/bin.h"
#include "core/common.h"
#include "core/log.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION 1

typedef struct {
    char *name, *doc;
} policy_t;

typedef struct {
    char name[SL_AUTH_NAME_BYTES_MAX];
    char role_id[24];
    int64_t created_ms;
    int32_t max_session_s;
    char *trust;
    policy_t policies[SL_IAM_ROLE_POLICIES_MAX];
    size_t policy_count;
} role_t;

typedef struct {
    char id[16];
    sl_catalog_t *catalog;
    role_t *roles; /* SL_IAM_ROLES_MAX slots, sorted by name */
    size_t count;
} account_t;

struct sl_iam_roles {
    pthread_mutex_t mu;
    account_t **accounts;
    size_t account_count;
};

static void role_free(role_t *r) {
    free(r->trust);
    for (size_t i = 0; i < r->policy_count; i++) {
        free(r->policies[i].name);
        free(r->policies[i].doc);
    }
    memset(r, 0, sizeof *r);
}

int sl_iam_roles_create(sl_iam_roles_t **out) {
    sl_iam_roles_t *r = calloc(1, sizeof *r);
    if (!r) return SL_ENOMEM;
    r->accounts = calloc(SL_SERVER_ACCOUNTS_MAX, sizeof *r->accounts);
    if (!r->accounts) {
        free(r);
        return SL_ENOMEM;
    }
    pthread_mutex_init(&r->mu, NULL);
    *out = r;
    return 0;
}

static void account_free(account_t *a) {
    for (size_t j = 0; j < a->count; j++)
        role_free(&a->roles[j]);
    free(a->roles);
    free(a);
}

void sl_iam_roles_destroy(sl_iam_roles_t *r) {
    if (!r) return;
    for (size_t i = 0; i < r->account_count; i++)
        account_free(r->accounts[i]);
    free(r->accounts);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void sl_iam_roles_unload(sl_iam_roles_t *r, const char *account) {
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->account_count; i++) {
        if (strcmp(r->accounts[i]->id, account) != 0) continue;
        account_free(r->accounts[i]);
        memmove(r->accounts + i, r->accounts + i + 1,
                (r->account_count - i - 1) * sizeof *r->accounts);
        r->account_count--;
        break;
    }
    pthread_mutex_unlock(&r->mu);
}

/* ---- the stored form ---- */

static int save(account_t *a) {
    sl_buf_t o = SL_BUF_INIT;
    sl_bin_put_u32(&o, VERSION);
    sl_bin_put_u32(&o, (uint32_t)a->count);
    for (size_t i = 0; i < a->count; i++) {
        const role_t *r = &a->roles[i];
        sl_bin_put_str(&o, r->name);
        sl_bin_put_str(&o, r->role_id);
        sl_bin_put_u64(&o, (uint64_t)r->created_ms);
        sl_bin_put_u32(&o, (uint32_t)r->max_session_s);
        sl_bin_put_str(&o, r->trust);
        sl_bin_put_u32(&o, (uint32_t)r->policy_count);
        for (size_t j = 0; j < r->policy_count; j++) {
            sl_bin_put_str(&o, r->policies[j].name);
            sl_bin_put_str(&o, r->policies[j].doc);
        }
    }
    int rc = sl_buf_failed(&o) ? SL_ENOMEM
                               : sl_catalog_setting_put(a->catalog, "iam_roles", o.data, o.len);
    sl_buf_free(&o);
    if (rc) SL_ERROR("iam: cannot save the roles of account %s: %s", a->id, sl_strerror(rc));
    return rc;
}

static int parse(account_t *a, const uint8_t *buf, size_t len) {
    sl_bin_in_t in = sl_bin_in(buf, len);
    if (sl_bin_get_u32(&in) != VERSION) return SL_ECORRUPT;
    uint64_t n = sl_bin_get_u32(&in);
    if (n > SL_IAM_ROLES_MAX) return SL_ECORRUPT;
    for (uint64_t i = 0; i < n && !in.bad; i++) {
        role_t *r = &a->roles[a->count];
        memset(r, 0, sizeof *r);
        bool ok = sl_bin_get_str_into(&in, r->name, sizeof r->name) &&
                  sl_bin_get_str_into(&in, r->role_id, sizeof r->role_id);
        r->created_ms = (int64_t)sl_bin_get_u64(&in);
        r->max_session_s = (int32_t)sl_bin_get_u32(&in);
        r->trust = ok ? sl_bin_get_str_dup(&in, SL_IAM_POLICY_BYTES_MAX) : NULL;
        uint64_t np = sl_bin_get_u32(&in);
        if (!ok || !r->trust || np > SL_IAM_ROLE_POLICIES_MAX) in.bad = true;
        for (uint64_t j = 0; j < np && !in.bad; j++) {
            r->policies[j].name = sl_bin_get_str_dup(&in, SL_AUTH_NAME_BYTES_MAX - 1);
            r->policies[j].doc = sl_bin_get_str_dup(&in, SL_IAM_POLICY_BYTES_MAX);
            r->policy_count = j + 1;
        }
        a->count++;
    }
    return in.bad ? SL_ECORRUPT : 0;
}

int sl_iam_roles_load(sl_iam_roles_t *r, const char *account, sl_catalog_t *catalog) {
    account_t *a = calloc(1, sizeof *a);
    if (a) a->roles = calloc(SL_IAM_ROLES_MAX, sizeof *a->roles);
    if (!a || !a->roles) {
        if (a) free(a);
        return SL_ENOMEM;
    }
    snprintf(a->id, sizeof a->id, "%s", account);
    a->catalog = catalog;
    size_t len = 0;
    int rc = sl_catalog_setting_get(catalog, "iam_roles", NULL, 0, &len);
    if (rc == SL_ELIMIT) {
        uint8_t *buf = malloc(len);
        rc = buf ? sl_catalog_setting_get(catalog, "iam_roles", buf, len, &len) : SL_ENOMEM;
        if (rc == 0) rc = parse(a, buf, len);
        if (rc == SL_ECORRUPT)
            SL_ERROR("iam: the roles of account %s in its catalog are damaged", account);
        free(buf);
    } else if (rc == SL_ENOTFOUND) {
        rc = 0;
    }
    pthread_mutex_lock(&r->mu);
    if (rc == 0 && r->account_count >= SL_SERVER_ACCOUNTS_MAX) rc = SL_ELIMIT;
    if (rc == 0) r->accounts[r->account_count++] = a;
    pthread_mutex_unlock(&r->mu);
    if (rc) account_free(a);
    return rc;
}

/* ---- lookups (caller holds mu) ---- */

static account_t *account_of(sl_iam_roles_t *r, const char *id) {
    for (size_t i = 0; i < r->account_count; i++)
        if (strcmp(r->accounts[i]->id, id) == 0) return r->accounts[i];
    return NULL;
}

static role_t *role_of(account_t *a, const char *name) {
    for (size_t i = 0; a && i < a->count; i++)
        if (strcmp(a->roles[i].name, name) == 0) return &a->roles[i];
    return NULL;
}

static void info_of(const role_t *r, sl_iam_role_t *out) {
    memcpy(out->name, r->name, sizeof out->name);
    memcpy(out->role_id, r->role_id, sizeof out->role_id);
    out->created_ms = r->created_ms;
    out->max_session_s = r->max_session_s;
    snprintf(out->trust, sizeof out->trust, "%s", r->trust);
}

/* ---- operations ---- */

int sl_iam_role_create(sl_iam_roles_t *r, const char *account, const char *name, const char *trust,
                       int32_t max_session_s, int64_t now_ms, sl_iam_role_t *out) {
    pthread_mutex_lock(&r->mu);
    account_t *a = account_of(r, account);
    int rc = !a ? SL_ENOTFOUND : role_of(a, name) ? SL_EEXIST : 0;
    if (rc == 0 && a->count >= SL_IAM_ROLES_MAX) rc = SL_ELIMIT;
    if (rc == 0 && strlen(trust) > SL_IAM_POLICY_BYTES_MAX) rc = SL_ELIMIT;
    role_t nr = {0};
    if (rc == 0) {
        static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        uint8_t b[17];
        snprintf(nr.name, sizeof nr.name, "%s", name);
        memcpy(nr.role_id, "AROA", 4);
        if (RAND_bytes(b, sizeof b) != 1) rc = SL_EIO;
        for (int i = 0; i < 17; i++)
            nr.role_id[4 + i] = chars[b[i] % 32];
        nr.created_ms = now_ms;
        nr.max_session_s = max_session_s;
        nr.trust = strdup(trust);
        if (!nr.trust) rc = SL_ENOMEM;
    }
    if (rc == 0) {
        size_t at = 0;
        while (at < a->count && strcmp(a->roles[at].name, name) < 0)
            at++;
        memmove(&a->roles[at + 1], &a->roles[at], (a->count - at) * sizeof nr);
        a->roles[at] = nr;
        a->count++;
        rc = save(a);
        if (rc) {
            role_free(&a->roles[at]);
            memmove(&a->roles[at], &a->roles[at + 1], (a->count - at - 1) * sizeof nr);
            a->count--;
        } else {
            info_of(&a->roles[at], out);
        }
    } else {
        free(nr.trust);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int sl_iam_role_get(sl_iam_roles_t *r, const char *account, const char *name, sl_iam_role_t *out) {
    pthread_mutex_lock(&r->mu);
    role_t *role = role_of(account_of(r, account), name);
    if (role) info_of(role, out);
    pthread_mutex_unlock(&r->mu);
    return role ? 0 : SL_ENOTFOUND;
}

size_t sl_iam_role_list(sl_iam_roles_t *r, const char *account, const char *after,
                        sl_iam_role_t *out, size_t cap, bool *more) {
    *more = false;
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    account_t *a = account_of(r, account);
    for (size_t i = 0; a && i < a->count; i++) {
        if (after && after[0] && strcmp(a->roles[i].name, after) <= 0) continue;
        if (n == cap) {
            *more = true;
            break;
        }
        info_of(&a->roles[i], &out[n++]);
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

int sl_iam_role_delete(sl_iam_roles_t *r, const char *account, const char *name) {
    pthread_mutex_lock(&r->mu);
    account_t *a = account_of(r, account);
    role_t *role = role_of(a, name);
    int rc = !role ? SL_ENOTFOUND : role->policy_count ? SL_EEXIST : 0;
    if (rc == 0) {
        size_t at = (size_t)(role - a->roles);
        role_t saved = *role;
        memmove(role, role + 1, (a->count - at - 1) * sizeof *role);
        a->count--;
        rc = save(a);
        if (rc) {
            memmove(&a->roles[at + 1], &a->roles[at], (a->count - at) * sizeof saved);
            a->roles[at] = saved;
            a->count++;
        } else {
            role_free(&saved);
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int sl_iam_role_policy_put(sl_iam_roles_t *r, const char *account, const char *role_name,
                           const char *policy_name, const char *document) {
    pthread_mutex_lock(&r->mu);
    role_t *role = role_of(account_of(r, account), role_name);
    int rc = role ? 0 : SL_ENOTFOUND;
    if (rc == 0 && strlen(document) > SL_IAM_POLICY_BYTES_MAX) rc = SL_ELIMIT;
    size_t i = 0;
    while (rc == 0 && i < role->policy_count && strcmp(role->policies[i].name, policy_name) != 0)
        i++;
    char *doc = rc == 0 ? strdup(document) : NULL;
    if (rc == 0 && !doc) rc = SL_ENOMEM;
    if (rc == 0 && i == role->policy_count) {
        if (i >= SL_IAM_ROLE_POLICIES_MAX) {
            rc = SL_ELIMIT;
        } else {
            role->policies[i].name = strdup(policy_name);
            role->policies[i].doc = NULL;
            if (!role->policies[i].name) rc = SL_ENOMEM;
            if (rc == 0) role->policy_count++;
        }
    }
    if (rc == 0) {
        char *old = role->policies[i].doc;
        role->policies[i].doc = doc;
        doc = NULL;
        rc = save(account_of(r, account));
        if (rc == 0) {
            free(old);
        } else if (old) {
            free(role->policies[i].doc);
            role->policies[i].doc = old;
        } else {
            free(role->policies[i].doc);
            free(role->policies[i].name);
            role->policy_count--;
        }
    }
    free(doc);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int sl_iam_role_policy_get(sl_iam_roles_t *r, const char *account, const char *role_name,
                           const char *policy_name, char **document) {
    *document = NULL;
    pthread_mutex_lock(&r->mu);
    role_t *role = role_of(account_of(r, account), role_name);
    int rc = SL_ENOTFOUND;
    for (size_t i = 0; role && i < role->policy_count; i++)
        if (strcmp(role->policies[i].name, policy_name) == 0) {
            *document = strdup(role->policies[i].doc);
            rc = *document ? 0 : SL_ENOMEM;
        }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int sl_iam_role_policy_list(sl_iam_roles_t *r, const char *account, const char *role_name,
                            char (*names)[SL_AUTH_NAME_BYTES_MAX], size_t cap, size_t *count) {
    *count = 0;
    pthread_mutex_lock(&r->mu);
    role_t *role = role_of(account_of(r, account), role_name);
    for (size_t i = 0; role && i < role->policy_count && *count < cap; i++)
        snprintf(names[(*count)++], SL_AUTH_NAME_BYTES_MAX, "%s", role->policies[i].name);
    pthread_mutex_unlock(&r->mu);
    return role ? 0 : SL_ENOTFOUND;
}

int sl_iam_role_policy_delete(sl_iam_roles_t *r, const char *account, const char *role_name,
                              const char *policy_name) {
    pthread_mutex_lock(&r->mu);
    account_t *a = account_of(r, account);
    role_t *role = role_of(a, role_name);
    int rc = SL_ENOTFOUND;
    for (size_t i = 0; role && i < role->policy_count; i++) {
        if (strcmp(role->policies[i].name, policy_name) != 0) continue;
        policy_t saved = role->policies[i];
        memmove(&role->policies[i], &role->policies[i + 1],
                (role->policy_count - i - 1) * sizeof saved);
        role->policy_count--;
        rc = save(a);
        if (rc) {
            memmove(&role->policies[i + 1], &role->policies[i],
                    (role->policy_count - i) * sizeof saved);
            role->policies[i] = saved;
            role->policy_count++;
        } else {
            free(saved.name);
            free(saved.doc);
        }
        break;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}
