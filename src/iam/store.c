/* The IAM store (see store.h): arrays in memory under one mutex, the catalog written first. */
#include "iam/store.h"

#include "core/common.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WRAP_NONCE 12
#define WRAP_TAG 16

typedef struct {
    char account[16];
    sl_iam_user_t user;
} user_t;

typedef struct {
    char account[16];
    sl_iam_key_t key; /* key.secret: the clear secret, for the signature check */
} access_key_t;

typedef struct {
    char account[16];
    char user[SL_AUTH_NAME_BYTES_MAX];
    char name[SL_AUTH_NAME_BYTES_MAX];
    char *document; /* owned */
} policy_t;

struct sl_iam_store {
    uint8_t master[32];
    pthread_mutex_t mu;
    user_t *users;
    size_t user_count, user_cap;
    access_key_t *keys;
    size_t key_count, key_cap;
    policy_t *policies;
    size_t policy_count, policy_cap;
};

/* ---- wrapping ---- */

/* nonce | ciphertext | tag, with the key id as associated data. */
static int wrap(const uint8_t master[32], const char *akid, const char *secret, uint8_t *out,
                size_t *out_len) {
    size_t n = strlen(secret);
    uint8_t *nonce = out, *ct = out + WRAP_NONCE;
    if (RAND_bytes(nonce, WRAP_NONCE) != 1) return SL_EIO;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int len = 0, ok = x != NULL;
    ok = ok && EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, master, nonce) == 1;
    ok = ok && EVP_EncryptUpdate(x, NULL, &len, (const uint8_t *)akid, (int)strlen(akid)) == 1;
    ok = ok && EVP_EncryptUpdate(x, ct, &len, (const uint8_t *)secret, (int)n) == 1;
    ok = ok && EVP_EncryptFinal_ex(x, ct + len, &len) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, WRAP_TAG, ct + n) == 1;
    EVP_CIPHER_CTX_free(x);
    *out_len = WRAP_NONCE + n + WRAP_TAG;
    return ok ? 0 : SL_EIO;
}

static int unwrap(const uint8_t master[32], const char *akid, const uint8_t *in, size_t in_len,
                  char *secret, size_t cap) {
    if (in_len < WRAP_NONCE + WRAP_TAG + 1 || in_len - WRAP_NONCE - WRAP_TAG >= cap)
        return SL_ECORRUPT;
    size_t n = in_len - WRAP_NONCE - WRAP_TAG;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int len = 0, ok = x != NULL;
    ok = ok && EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, master, in) == 1;
    ok = ok && EVP_DecryptUpdate(x, NULL, &len, (const uint8_t *)akid, (int)strlen(akid)) == 1;
    ok = ok && EVP_DecryptUpdate(x, (uint8_t *)secret, &len, in + WRAP_NONCE, (int)n) == 1;
    ok = ok &&
         EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, WRAP_TAG, (void *)(in + WRAP_NONCE + n)) == 1;
    ok = ok && EVP_DecryptFinal_ex(x, (uint8_t *)secret + len, &len) == 1;
    EVP_CIPHER_CTX_free(x);
    secret[ok ? n : 0] = 0;
    return ok ? 0 : SL_ECORRUPT;
}

/* ---- random ids (AWS's shapes) ---- */

static int random_text(char *out, size_t n, const char *alphabet) {
    uint8_t r[64];
    size_t a = strlen(alphabet);
    if (n > sizeof r || RAND_bytes(r, (int)n) != 1) return SL_EIO;
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[r[i] % a];
    out[n] = 0;
    return 0;
}

static const char base32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* ---- arrays ---- */

static int grow(void **items, size_t *cap, size_t count, size_t size) {
    if (count < *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, ncap * size);
    if (!p) return SL_ENOMEM;
    *items = p;
    *cap = ncap;
    return 0;
}

static user_t *find_user(sl_iam_store_t *s, const char *account, const char *name) {
    for (size_t i = 0; i < s->user_count; i++)
        if (strcmp(s->users[i].account, account) == 0 && strcmp(s->users[i].user.name, name) == 0)
            return &s->users[i];
    return NULL;
}

static access_key_t *find_key(sl_iam_store_t *s, const char *akid) {
    for (size_t i = 0; i < s->key_count; i++)
        if (strcmp(s->keys[i].key.access_key_id, akid) == 0) return &s->keys[i];
    return NULL;
}

static policy_t *find_policy(sl_iam_store_t *s, const char *account, const char *user,
                             const char *name) {
    for (size_t i = 0; i < s->policy_count; i++) {
        policy_t *p = &s->policies[i];
        if (strcmp(p->account, account) == 0 && strcmp(p->user, user) == 0 &&
            strcmp(p->name, name) == 0)
            return p;
    }
    return NULL;
}

static bool fits(const char *s, size_t cap) {
    return s && strlen(s) < cap;
}

/* ---- lifecycle and loading ---- */

int sl_iam_store_create(const uint8_t master_key[32], sl_iam_store_t **out) {
    sl_iam_store_t *s = calloc(1, sizeof *s);
    if (!s) return SL_ENOMEM;
    memcpy(s->master, master_key, 32);
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

void sl_iam_store_destroy(sl_iam_store_t *s) {
    if (!s) return;
    for (size_t i = 0; i < s->policy_count; i++)
        free(s->policies[i].document);
    if (s->keys) memset(s->keys, 0, s->key_cap * sizeof *s->keys);
    free(s->users);
    free(s->keys);
    free(s->policies);
    memset(s->master, 0, sizeof s->master);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

typedef struct {
    sl_iam_store_t *s;
    const char *account;
    int rc;
} load_ctx_t;

static void load_user(void *arg, const sl_cat_iam_user_t *u) {
    load_ctx_t *l = arg;
    sl_iam_store_t *s = l->s;
    if (l->rc || !fits(u->name, SL_AUTH_NAME_BYTES_MAX) || !fits(u->user_id, 32)) return;
    l->rc = grow((void **)&s->users, &s->user_cap, s->user_count, sizeof *s->users);
    if (l->rc) return;
    user_t *e = &s->users[s->user_count++];
    memset(e, 0, sizeof *e);
    snprintf(e->account, sizeof e->account, "%s", l->account);
    snprintf(e->user.name, sizeof e->user.name, "%s", u->name);
    snprintf(e->user.user_id, sizeof e->user.user_id, "%s", u->user_id);
    e->user.created_ms = u->created_ms;
}

static void load_key(void *arg, const sl_cat_iam_key_t *k) {
    load_ctx_t *l = arg;
    sl_iam_store_t *s = l->s;
    if (l->rc || !fits(k->access_key_id, SL_AUTH_ACCESS_KEY_BYTES_MAX) ||
        !fits(k->user_name, SL_AUTH_NAME_BYTES_MAX))
        return;
    l->rc = grow((void **)&s->keys, &s->key_cap, s->key_count, sizeof *s->keys);
    if (l->rc) return;
    access_key_t *e = &s->keys[s->key_count];
    memset(e, 0, sizeof *e);
    if (unwrap(s->master, k->access_key_id, k->secret_wrapped, k->secret_wrapped_len, e->key.secret,
               sizeof e->key.secret) != 0) {
        SL_ERROR("iam: access key %s of account %s does not unwrap with this master key "
                 "(--master-key-file): the key is not usable",
                 k->access_key_id, l->account);
        return;
    }
    snprintf(e->account, sizeof e->account, "%s", l->account);
    snprintf(e->key.access_key_id, sizeof e->key.access_key_id, "%s", k->access_key_id);
    snprintf(e->key.user_name, sizeof e->key.user_name, "%s", k->user_name);
    e->key.active = strcmp(k->status, "Active") == 0;
    e->key.created_ms = k->created_ms;
    s->key_count++;
}

static void load_policy(void *arg, const sl_cat_iam_policy_t *p) {
    load_ctx_t *l = arg;
    sl_iam_store_t *s = l->s;
    if (l->rc || !fits(p->user_name, SL_AUTH_NAME_BYTES_MAX) ||
        !fits(p->policy_name, SL_AUTH_NAME_BYTES_MAX))
        return;
    l->rc = grow((void **)&s->policies, &s->policy_cap, s->policy_count, sizeof *s->policies);
    if (l->rc) return;
    policy_t *e = &s->policies[s->policy_count];
    memset(e, 0, sizeof *e);
    e->document = strdup(p->document);
    if (!e->document) {
        l->rc = SL_ENOMEM;
        return;
    }
    snprintf(e->account, sizeof e->account, "%s", l->account);
    snprintf(e->user, sizeof e->user, "%s", p->user_name);
    snprintf(e->name, sizeof e->name, "%s", p->policy_name);
    s->policy_count++;
}

int sl_iam_store_load(sl_iam_store_t *s, const sl_iam_account_t *acct) {
    load_ctx_t l = {s, acct->id, 0};
    sl_catalog_visitor_t v = {
        .iam_user = load_user, .iam_key = load_key, .iam_policy = load_policy};
    pthread_mutex_lock(&s->mu);
    int rc = sl_catalog_load(acct->catalog, &v, &l);
    pthread_mutex_unlock(&s->mu);
    return rc ? rc : l.rc;
}

void sl_iam_store_unload(sl_iam_store_t *s, const char *account) {
    pthread_mutex_lock(&s->mu);
    size_t n = 0;
    for (size_t i = 0; i < s->user_count; i++)
        if (strcmp(s->users[i].account, account) != 0) s->users[n++] = s->users[i];
    s->user_count = n;
    n = 0;
    for (size_t i = 0; i < s->key_count; i++)
        if (strcmp(s->keys[i].account, account) != 0) s->keys[n++] = s->keys[i];
    s->key_count = n;
    n = 0;
    for (size_t i = 0; i < s->policy_count; i++) {
        if (strcmp(s->policies[i].account, account) != 0)
            s->policies[n++] = s->policies[i];
        else
            free(s->policies[i].document);
    }
    s->policy_count = n;
    pthread_mutex_unlock(&s->mu);
}

int sl_iam_store_lookup(sl_iam_store_t *s, const char *akid, sl_iam_principal_t *out) {
    int rc = SL_ENOTFOUND;
    pthread_mutex_lock(&s->mu);
    access_key_t *k = find_key(s, akid);
    if (k && k->key.active) {
        memset(out, 0, sizeof *out);
        snprintf(out->access_key_id, sizeof out->access_key_id, "%s", k->key.access_key_id);
        memcpy(out->secret, k->key.secret, sizeof out->secret);
        snprintf(out->account_id, sizeof out->account_id, "%s", k->account);
        snprintf(out->user_name, sizeof out->user_name, "%s", k->key.user_name);
        rc = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- users ---- */

int sl_iam_user_create(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *name,
                       int64_t now_ms, sl_iam_user_t *out) {
    const char *account = acct->id;
    if (!fits(name, SL_AUTH_NAME_BYTES_MAX)) return SL_EINVAL;
    pthread_mutex_lock(&s->mu);
    int rc = find_user(s, account, name) ? SL_EEXIST : 0;
    sl_iam_user_t u = {.created_ms = now_ms};
    snprintf(u.name, sizeof u.name, "%s", name);
    memcpy(u.user_id, "AIDA", 4);
    if (rc == 0) rc = random_text(u.user_id + 4, 17, base32);
    if (rc == 0) rc = grow((void **)&s->users, &s->user_cap, s->user_count, sizeof *s->users);
    if (rc == 0) {
        sl_cat_iam_user_t row = {u.name, u.user_id, now_ms};
        rc = sl_catalog_iam_user_put(acct->catalog, &row);
    }
    if (rc == 0) {
        user_t *e = &s->users[s->user_count++];
        memset(e, 0, sizeof *e);
        snprintf(e->account, sizeof e->account, "%s", account);
        e->user = u;
        *out = u;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int sl_iam_user_get(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *name,
                    sl_iam_user_t *out) {
    const char *account = acct->id;
    pthread_mutex_lock(&s->mu);
    user_t *u = find_user(s, account, name);
    if (u) *out = u->user;
    pthread_mutex_unlock(&s->mu);
    return u ? 0 : SL_ENOTFOUND;
}

size_t sl_iam_user_list(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *after,
                        sl_iam_user_t *out, size_t cap, bool *more) {
    const char *account = acct->id;
    size_t n = 0;
    *more = false;
    pthread_mutex_lock(&s->mu);
    /* Selection of the next smallest name, cap times: the store is small. */
    const char *last = after ? after : "";
    for (;;) {
        const user_t *best = NULL;
        for (size_t i = 0; i < s->user_count; i++) {
            const user_t *u = &s->users[i];
            if (strcmp(u->account, account) != 0 || strcmp(u->user.name, last) <= 0) continue;
            if (!best || strcmp(u->user.name, best->user.name) < 0) best = u;
        }
        if (!best) break;
        if (n == cap) {
            *more = true;
            break;
        }
        out[n++] = best->user;
        last = best->user.name;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

int sl_iam_user_delete(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *name) {
    const char *account = acct->id;
    pthread_mutex_lock(&s->mu);
    user_t *u = find_user(s, account, name);
    int rc = u ? 0 : SL_ENOTFOUND;
    for (size_t i = 0; rc == 0 && i < s->key_count; i++)
        if (strcmp(s->keys[i].account, account) == 0 && strcmp(s->keys[i].key.user_name, name) == 0)
            rc = SL_EEXIST;
    for (size_t i = 0; rc == 0 && i < s->policy_count; i++)
        if (strcmp(s->policies[i].account, account) == 0 && strcmp(s->policies[i].user, name) == 0)
            rc = SL_EEXIST;
    if (rc == 0) rc = sl_catalog_iam_user_delete(acct->catalog, name);
    if (rc == 0) *u = s->users[--s->user_count];
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- access keys ---- */

int sl_iam_key_create(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                      int64_t now_ms, sl_iam_key_t *out) {
    const char *account = acct->id;
    static const char secret_chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    pthread_mutex_lock(&s->mu);
    int rc = find_user(s, account, user) ? 0 : SL_ENOTFOUND;
    size_t have = 0;
    for (size_t i = 0; rc == 0 && i < s->key_count; i++)
        have +=
            strcmp(s->keys[i].account, account) == 0 && strcmp(s->keys[i].key.user_name, user) == 0;
    if (rc == 0 && have >= 2) rc = SL_ELIMIT;
    sl_iam_key_t k = {.active = true, .created_ms = now_ms};
    snprintf(k.user_name, sizeof k.user_name, "%s", user);
    memcpy(k.access_key_id, "AKIA", 4);
    if (rc == 0) rc = random_text(k.access_key_id + 4, 16, base32);
    if (rc == 0) rc = random_text(k.secret, 40, secret_chars);
    uint8_t wrapped[WRAP_NONCE + SL_AUTH_SECRET_BYTES_MAX + WRAP_TAG];
    size_t wlen = 0;
    if (rc == 0) rc = wrap(s->master, k.access_key_id, k.secret, wrapped, &wlen);
    if (rc == 0) rc = grow((void **)&s->keys, &s->key_cap, s->key_count, sizeof *s->keys);
    if (rc == 0) {
        sl_cat_iam_key_t row = {k.access_key_id, user, "Active", wrapped, wlen, now_ms};
        rc = sl_catalog_iam_key_put(acct->catalog, &row);
    }
    if (rc == 0) {
        access_key_t *e = &s->keys[s->key_count++];
        memset(e, 0, sizeof *e);
        snprintf(e->account, sizeof e->account, "%s", account);
        e->key = k;
        *out = k;
    }
    memset(&k, 0, sizeof k);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int sl_iam_key_list(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                    sl_iam_key_t out[2], size_t *count) {
    const char *account = acct->id;
    *count = 0;
    pthread_mutex_lock(&s->mu);
    int rc = find_user(s, account, user) ? 0 : SL_ENOTFOUND;
    for (size_t i = 0; rc == 0 && i < s->key_count && *count < 2; i++)
        if (strcmp(s->keys[i].account, account) == 0 &&
            strcmp(s->keys[i].key.user_name, user) == 0) {
            out[*count] = s->keys[i].key;
            memset(out[*count].secret, 0, sizeof out[*count].secret);
            (*count)++;
        }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* The key `akid` of user in account, or NULL (s->mu held). */
static access_key_t *user_key(sl_iam_store_t *s, const char *account, const char *user,
                              const char *akid) {
    access_key_t *k = find_key(s, akid);
    return k && strcmp(k->account, account) == 0 && strcmp(k->key.user_name, user) == 0 ? k : NULL;
}

int sl_iam_key_update(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                      const char *akid, bool active) {
    const char *account = acct->id;
    pthread_mutex_lock(&s->mu);
    access_key_t *k = user_key(s, account, user, akid);
    int rc = k ? 0 : SL_ENOTFOUND;
    uint8_t wrapped[WRAP_NONCE + SL_AUTH_SECRET_BYTES_MAX + WRAP_TAG];
    size_t wlen = 0;
    if (rc == 0) rc = wrap(s->master, akid, k->key.secret, wrapped, &wlen);
    if (rc == 0) {
        /* the upsert keeps the stored secret; only the status changes */
        sl_cat_iam_key_t row = {akid,    user, active ? "Active" : "Inactive",
                                wrapped, wlen, k->key.created_ms};
        rc = sl_catalog_iam_key_put(acct->catalog, &row);
    }
    if (rc == 0) k->key.active = active;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int sl_iam_key_delete(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                      const char *akid) {
    const char *account = acct->id;
    pthread_mutex_lock(&s->mu);
    access_key_t *k = user_key(s, account, user, akid);
    int rc = k ? sl_catalog_iam_key_delete(acct->catalog, akid) : SL_ENOTFOUND;
    if (rc == 0) {
        *k = s->keys[--s->key_count];
        memset(&s->keys[s->key_count], 0, sizeof *s->keys);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- inline user policies ---- */

int sl_iam_policy_put(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                      const char *name, const char *document) {
    const char *account = acct->id;
    if (!fits(name, SL_AUTH_NAME_BYTES_MAX)) return SL_EINVAL;
    pthread_mutex_lock(&s->mu);
    int rc = find_user(s, account, user) ? 0 : SL_ENOTFOUND;
    char *doc = rc == 0 ? strdup(document) : NULL;
    if (rc == 0 && !doc) rc = SL_ENOMEM;
    policy_t *p = rc == 0 ? find_policy(s, account, user, name) : NULL;
    if (rc == 0 && !p)
        rc = grow((void **)&s->policies, &s->policy_cap, s->policy_count, sizeof *s->policies);
    if (rc == 0) {
        sl_cat_iam_policy_t row = {user, name, document};
        rc = sl_catalog_iam_policy_put(acct->catalog, &row);
    }
    if (rc == 0) {
        if (!p) {
            p = &s->policies[s->policy_count++];
            memset(p, 0, sizeof *p);
            snprintf(p->account, sizeof p->account, "%s", account);
            snprintf(p->user, sizeof p->user, "%s", user);
            snprintf(p->name, sizeof p->name, "%s", name);
        }
        free(p->document);
        p->document = doc;
        doc = NULL;
    }
    free(doc);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int sl_iam_policy_get(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                      const char *name, char **document) {
    const char *account = acct->id;
    pthread_mutex_lock(&s->mu);
    int rc = find_user(s, account, user) ? 0 : SL_ENOTFOUND;
    policy_t *p = rc == 0 ? find_policy(s, account, user, name) : NULL;
    if (rc == 0 && !p) rc = SL_ENOTFOUND;
    if (rc == 0) {
        *document = strdup(p->document);
        if (!*document) rc = SL_ENOMEM;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int sl_iam_policy_list(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                       char (*out)[SL_AUTH_NAME_BYTES_MAX], size_t cap, size_t *count) {
    const char *account = acct->id;
    *count = 0;
    pthread_mutex_lock(&s->mu);
    int rc = find_user(s, account, user) ? 0 : SL_ENOTFOUND;
    const char *last = "";
    while (rc == 0 && *count < cap) {
        const policy_t *best = NULL;
        for (size_t i = 0; i < s->policy_count; i++) {
            const policy_t *p = &s->policies[i];
            if (strcmp(p->account, account) != 0 || strcmp(p->user, user) != 0 ||
                strcmp(p->name, last) <= 0)
                continue;
            if (!best || strcmp(p->name, best->name) < 0) best = p;
        }
        if (!best) break;
        snprintf(out[*count], SL_AUTH_NAME_BYTES_MAX, "%s", best->name);
        last = out[(*count)++];
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int sl_iam_policy_delete(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                         const char *name) {
    const char *account = acct->id;
    pthread_mutex_lock(&s->mu);
    int rc = find_user(s, account, user) ? 0 : SL_ENOTFOUND;
    policy_t *p = rc == 0 ? find_policy(s, account, user, name) : NULL;
    if (rc == 0 && !p) rc = SL_ENOTFOUND;
    if (rc == 0) rc = sl_catalog_iam_policy_delete(acct->catalog, user, name);
    if (rc == 0) {
        free(p->document);
        *p = s->policies[--s->policy_count];
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- the master key ---- */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int sl_iam_master_key_load(const char *path, uint8_t key_out[32]) {
    char text[80];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        uint8_t k[32];
        if (RAND_bytes(k, sizeof k) != 1) return SL_EIO;
        for (int i = 0; i < 32; i++)
            snprintf(text + 2 * i, 3, "%02x", k[i]);
        text[64] = '\n';
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        bool ok = fd >= 0 && write(fd, text, 65) == 65 && fsync(fd) == 0;
        if (fd >= 0) close(fd);
        if (!ok) {
            SL_ERROR("cannot create the master key file %s: %s", path, strerror(errno));
            memset(k, 0, sizeof k);
            return SL_EIO;
        }
        SL_INFO("created the master key file %s (mode 0600): keep it, and a copy of it outside "
                "the data directory; without it IAM secrets cannot be read",
                path);
        memcpy(key_out, k, 32);
        memset(k, 0, sizeof k);
        memset(text, 0, sizeof text);
        return 0;
    }
    if (fd < 0) {
        SL_ERROR("cannot read the master key file %s: %s", path, strerror(errno));
        return SL_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 077))
        SL_WARN("the master key file %s is readable by others (mode %o): chmod 600 it", path,
                (unsigned)(st.st_mode & 0777));
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    int rc = 0;
    if (n < 64) rc = SL_EINVAL;
    for (int i = 0; rc == 0 && i < 32; i++) {
        int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
        if (hi < 0 || lo < 0) rc = SL_EINVAL;
        key_out[i] = (uint8_t)(hi << 4 | lo);
    }
    if (rc == 0 && n > 64 && text[64] != '\n') rc = SL_EINVAL;
    if (rc) SL_ERROR("the master key file %s does not hold 64 hexadecimal digits", path);
    memset(text, 0, sizeof text);
    return rc;
}
