/* KMS keys, aliases and envelope encryption (kms.h). Each account's state is a small table in
 * memory, written whole to the account's catalog (setting "kms") before a change is kept: keys
 * and aliases change rarely and there are at most a few hundred of each. */
#include "kms/kms.h"

#include "core/bin.h"
#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_LEN 36
#define NONCE 12
#define TAG 16
#define MATERIAL 32
#define BLOB_MAGIC "SLK1"
#define STATE_VERSION 1
#define DAY_MS (24 * 3600 * INT64_C(1000))

typedef struct {
    char id[ID_LEN + 1];
    char *description; /* malloc'd */
    sl_kms_state_t state;
    bool aws_managed;
    int64_t created_ms, deletion_ms;
    uint8_t material[MATERIAL];
} kms_key_t;

typedef struct {
    char name[SL_KMS_ALIAS_BYTES_MAX];
    char target[ID_LEN + 1];
    int64_t created_ms;
} alias_t;

typedef struct {
    char id[16];
    sl_catalog_t *catalog; /* not owned */
    kms_key_t *keys;       /* sorted by id */
    size_t key_count;
    alias_t *aliases; /* sorted by name */
    size_t alias_count;
} account_t;

struct sl_kms {
    pthread_mutex_t mu;
    uint8_t master[32];
    char region[32];
    account_t **accounts; /* owned */
    size_t account_count;
};

static bool fail(sl_kms_err_t *err, const char *type, const char *fmt, ...) {
    if (!err) return false;
    err->type = type;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}

/* ---- wrapping (AES-256-GCM) ---- */

/* out gets nonce | ciphertext | tag. */
static bool seal(const uint8_t key[32], const uint8_t *aad, size_t aad_len, const uint8_t *in,
                 size_t n, uint8_t *out) {
    int len;
    if (RAND_bytes(out, NONCE) != 1) return false;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    bool ok = x != NULL;
    ok = ok && EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, out) == 1;
    ok = ok && (aad_len == 0 || EVP_EncryptUpdate(x, NULL, &len, aad, (int)aad_len) == 1);
    ok = ok && (n == 0 || EVP_EncryptUpdate(x, out + NONCE, &len, in, (int)n) == 1);
    ok = ok && EVP_EncryptFinal_ex(x, out + NONCE + n, &len) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, TAG, out + NONCE + n) == 1;
    EVP_CIPHER_CTX_free(x);
    return ok;
}

/* in: nonce | ciphertext | tag (n + NONCE + TAG bytes); out gets n bytes. */
static bool open_sealed(const uint8_t key[32], const uint8_t *aad, size_t aad_len,
                        const uint8_t *in, size_t n, uint8_t *out) {
    int len;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    bool ok = x != NULL;
    ok = ok && EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, in) == 1;
    ok = ok && (aad_len == 0 || EVP_DecryptUpdate(x, NULL, &len, aad, (int)aad_len) == 1);
    ok = ok && (n == 0 || EVP_DecryptUpdate(x, out, &len, in + NONCE, (int)n) == 1);
    ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, TAG, (void *)(in + NONCE + n)) == 1;
    ok = ok && EVP_DecryptFinal_ex(x, out + n, &len) == 1;
    EVP_CIPHER_CTX_free(x);
    return ok;
}

/* ---- persistence: the account's state as one catalog setting ---- */

static int save(sl_kms_t *kms, const account_t *a) {
    sl_buf_t o = SL_BUF_INIT;
    sl_bin_put_u32(&o, STATE_VERSION);
    sl_bin_put_u32(&o, (uint32_t)a->key_count);
    for (size_t i = 0; i < a->key_count; i++) {
        const kms_key_t *k = &a->keys[i];
        uint8_t wrapped[NONCE + MATERIAL + TAG];
        if (!seal(kms->master, (const uint8_t *)k->id, ID_LEN, k->material, MATERIAL, wrapped))
            o.failed = true;
        sl_bin_put_str(&o, k->id);
        sl_bin_put_str(&o, k->description);
        sl_bin_put_u32(&o, (uint32_t)k->state | (k->aws_managed ? 0x100u : 0));
        sl_bin_put_u64(&o, (uint64_t)k->created_ms);
        sl_bin_put_u64(&o, (uint64_t)k->deletion_ms);
        sl_buf_append(&o, wrapped, sizeof wrapped);
    }
    sl_bin_put_u32(&o, (uint32_t)a->alias_count);
    for (size_t i = 0; i < a->alias_count; i++) {
        sl_bin_put_str(&o, a->aliases[i].name);
        sl_bin_put_str(&o, a->aliases[i].target);
        sl_bin_put_u64(&o, (uint64_t)a->aliases[i].created_ms);
    }
    int rc =
        sl_buf_failed(&o) ? SL_ENOMEM : sl_catalog_setting_put(a->catalog, "kms", o.data, o.len);
    if (o.data) memset(o.data, 0, o.len); /* wrapped key material */
    sl_buf_free(&o);
    if (rc) SL_ERROR("kms: cannot save the keys of account %s: %s", a->id, sl_strerror(rc));
    return rc;
}

static void key_free(kms_key_t *k) {
    free(k->description);
    memset(k, 0, sizeof *k);
}

static void account_free(account_t *a) {
    for (size_t i = 0; i < a->key_count; i++)
        key_free(&a->keys[i]);
    free(a->keys);
    free(a->aliases);
    free(a);
}

static account_t *account_new(const char *id, sl_catalog_t *catalog) {
    account_t *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    snprintf(a->id, sizeof a->id, "%s", id);
    a->catalog = catalog;
    a->keys = calloc(SL_KMS_KEYS_MAX, sizeof *a->keys);
    a->aliases = calloc(SL_KMS_ALIASES_MAX, sizeof *a->aliases);
    if (!a->keys || !a->aliases) {
        account_free(a);
        return NULL;
    }
    return a;
}

static int parse_state(sl_kms_t *kms, account_t *a, const uint8_t *buf, size_t len) {
    sl_bin_in_t in = sl_bin_in(buf, len);
    if (sl_bin_get_u32(&in) != STATE_VERSION) return SL_ECORRUPT;
    uint32_t nkeys = sl_bin_get_u32(&in);
    if (nkeys > SL_KMS_KEYS_MAX) return SL_ECORRUPT;
    for (uint32_t i = 0; i < nkeys && !in.bad; i++) {
        kms_key_t *k = &a->keys[a->key_count];
        char *desc = malloc(SL_KMS_DESCRIPTION_BYTES_MAX);
        if (!desc) return SL_ENOMEM;
        sl_bin_get_str_into(&in, k->id, sizeof k->id);
        sl_bin_get_str_into(&in, desc, SL_KMS_DESCRIPTION_BYTES_MAX);
        uint32_t st = sl_bin_get_u32(&in);
        k->state = (sl_kms_state_t)(st & 0xff);
        k->aws_managed = (st & 0x100u) != 0;
        k->created_ms = (int64_t)sl_bin_get_u64(&in);
        k->deletion_ms = (int64_t)sl_bin_get_u64(&in);
        const uint8_t *w = sl_bin_get(&in, NONCE + MATERIAL + TAG);
        k->description = desc;
        if (in.bad || k->state > SL_KMS_PENDING_DELETION || strlen(k->id) != ID_LEN) {
            key_free(k);
            return SL_ECORRUPT;
        }
        if (!open_sealed(kms->master, (const uint8_t *)k->id, ID_LEN, w, MATERIAL, k->material)) {
            SL_ERROR("kms: key %s of account %s does not unwrap with this master key "
                     "(--master-key-file): the key is not usable",
                     k->id, a->id);
            key_free(k);
            continue;
        }
        a->key_count++;
    }
    uint32_t naliases = sl_bin_get_u32(&in);
    if (naliases > SL_KMS_ALIASES_MAX) return SL_ECORRUPT;
    for (uint32_t i = 0; i < naliases && !in.bad; i++) {
        alias_t *al = &a->aliases[a->alias_count];
        sl_bin_get_str_into(&in, al->name, sizeof al->name);
        sl_bin_get_str_into(&in, al->target, sizeof al->target);
        al->created_ms = (int64_t)sl_bin_get_u64(&in);
        if (!in.bad) a->alias_count++;
    }
    return in.bad ? SL_ECORRUPT : 0;
}

/* ---- the store ---- */

int sl_kms_create(const uint8_t master_key[32], const char *region, sl_kms_t **out) {
    sl_kms_t *kms = calloc(1, sizeof *kms);
    if (!kms) return SL_ENOMEM;
    kms->accounts = calloc(SL_SERVER_ACCOUNTS_MAX, sizeof *kms->accounts);
    if (!kms->accounts) {
        free(kms);
        return SL_ENOMEM;
    }
    pthread_mutex_init(&kms->mu, NULL);
    memcpy(kms->master, master_key, 32);
    snprintf(kms->region, sizeof kms->region, "%s", region);
    *out = kms;
    return 0;
}

void sl_kms_destroy(sl_kms_t *kms) {
    if (!kms) return;
    for (size_t i = 0; i < kms->account_count; i++)
        account_free(kms->accounts[i]);
    free(kms->accounts);
    pthread_mutex_destroy(&kms->mu);
    memset(kms->master, 0, sizeof kms->master);
    free(kms);
}

int sl_kms_load(sl_kms_t *kms, const char *account, sl_catalog_t *catalog) {
    pthread_mutex_lock(&kms->mu);
    int rc = 0;
    if (kms->account_count >= SL_SERVER_ACCOUNTS_MAX) rc = SL_ELIMIT;
    account_t *a = rc ? NULL : account_new(account, catalog);
    if (!rc && !a) rc = SL_ENOMEM;
    size_t len = 0;
    uint8_t *buf = NULL;
    if (rc == 0) {
        int g = sl_catalog_setting_get(catalog, "kms", NULL, 0, &len);
        if (g == SL_ELIMIT) {
            buf = malloc(len);
            g = buf ? sl_catalog_setting_get(catalog, "kms", buf, len, &len) : SL_ENOMEM;
            if (g == 0) g = parse_state(kms, a, buf, len);
            if (g == SL_ECORRUPT)
                SL_ERROR("kms: the keys of account %s in its catalog are damaged", account);
            rc = g;
        } else if (g != SL_ENOTFOUND && g != 0) {
            rc = g;
        }
    }
    if (buf) {
        memset(buf, 0, len);
        free(buf);
    }
    if (rc == 0)
        kms->accounts[kms->account_count++] = a;
    else if (a)
        account_free(a);
    pthread_mutex_unlock(&kms->mu);
    return rc;
}

static account_t *account_of(sl_kms_t *kms, const char *id) {
    for (size_t i = 0; i < kms->account_count; i++)
        if (strcmp(kms->accounts[i]->id, id) == 0) return kms->accounts[i];
    return NULL;
}

static void key_arn(const sl_kms_t *kms, const account_t *a, const char *id, char *out) {
    snprintf(out, SL_KMS_ARN_BYTES_MAX, "arn:aws:kms:%s:%s:key/%s", kms->region, a->id, id);
}

static void alias_remove_at(account_t *a, size_t i) {
    memmove(&a->aliases[i], &a->aliases[i + 1], (a->alias_count - i - 1) * sizeof *a->aliases);
    a->alias_count--;
}

/* Removes keys whose deletion date passed, and their aliases (caller holds mu). */
static void expire(sl_kms_t *kms, account_t *a, int64_t now_ms) {
    bool changed = false;
    for (size_t i = 0; i < a->key_count;) {
        kms_key_t *k = &a->keys[i];
        if (k->state != SL_KMS_PENDING_DELETION || k->deletion_ms > now_ms) {
            i++;
            continue;
        }
        SL_INFO("kms: key %s of account %s deleted (its waiting period ended)", k->id, a->id);
        for (size_t j = 0; j < a->alias_count;)
            if (strcmp(a->aliases[j].target, k->id) == 0)
                alias_remove_at(a, j);
            else
                j++;
        key_free(k);
        memmove(k, k + 1, (a->key_count - i - 1) * sizeof *k);
        a->key_count--;
        changed = true;
    }
    if (changed) save(kms, a);
}

static account_t *enter(sl_kms_t *kms, const char *account, int64_t now_ms, sl_kms_err_t *err) {
    pthread_mutex_lock(&kms->mu);
    account_t *a = account_of(kms, account);
    if (!a) {
        fail(err, "KMSInternalException", "The account %s is not open.", account);
        pthread_mutex_unlock(&kms->mu);
        return NULL;
    }
    expire(kms, a, now_ms);
    return a;
}

static void leave(sl_kms_t *kms) {
    pthread_mutex_unlock(&kms->mu);
}

static kms_key_t *key_by_id(account_t *a, const char *id) {
    for (size_t i = 0; i < a->key_count; i++)
        if (strcmp(a->keys[i].id, id) == 0) return &a->keys[i];
    return NULL;
}

static alias_t *alias_by_name(account_t *a, const char *name) {
    for (size_t i = 0; i < a->alias_count; i++)
        if (strcmp(a->aliases[i].name, name) == 0) return &a->aliases[i];
    return NULL;
}

static bool is_uuid(const char *s) {
    if (strlen(s) != ID_LEN) return false;
    for (int i = 0; i < ID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i])) return false;
    }
    return true;
}

static void new_uuid(char out[ID_LEN + 1]) {
    uint8_t b[16];
    RAND_bytes(b, sizeof b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

static kms_key_t *key_add(account_t *a, const char *description, bool aws_managed, int64_t now_ms,
                          sl_kms_err_t *err) {
    if (a->key_count >= SL_KMS_KEYS_MAX) {
        fail(err, "LimitExceededException",
             "Cannot create more than %d keys in account %s (Sluice's bound).", SL_KMS_KEYS_MAX,
             a->id);
        return NULL;
    }
    kms_key_t k = {0};
    k.description = strdup(description ? description : "");
    if (!k.description || RAND_bytes(k.material, MATERIAL) != 1) {
        free(k.description);
        fail(err, "KMSInternalException", "Cannot create a key.");
        return NULL;
    }
    new_uuid(k.id);
    k.state = SL_KMS_ENABLED;
    k.aws_managed = aws_managed;
    k.created_ms = now_ms;
    size_t at = 0;
    while (at < a->key_count && strcmp(a->keys[at].id, k.id) < 0)
        at++;
    memmove(&a->keys[at + 1], &a->keys[at], (a->key_count - at) * sizeof k);
    a->keys[at] = k;
    a->key_count++;
    return &a->keys[at];
}

static void key_remove(account_t *a, kms_key_t *k) {
    size_t i = (size_t)(k - a->keys);
    key_free(k);
    memmove(k, k + 1, (a->key_count - i - 1) * sizeof *k);
    a->key_count--;
}

static bool alias_add(account_t *a, const char *name, const char *target, int64_t now_ms) {
    if (a->alias_count >= SL_KMS_ALIASES_MAX) return false;
    size_t at = 0;
    while (at < a->alias_count && strcmp(a->aliases[at].name, name) < 0)
        at++;
    memmove(&a->aliases[at + 1], &a->aliases[at], (a->alias_count - at) * sizeof *a->aliases);
    alias_t *al = &a->aliases[at];
    memset(al, 0, sizeof *al);
    snprintf(al->name, sizeof al->name, "%s", name);
    snprintf(al->target, sizeof al->target, "%s", target);
    al->created_ms = now_ms;
    a->alias_count++;
    return true;
}

#define KINESIS_ALIAS "alias/aws/kinesis"

/* The key a KeyId names: a key id, a key ARN, an alias name or an alias ARN (of this account and
 * region). Creates alias/aws/kinesis's key on first use. */
static kms_key_t *resolve(sl_kms_t *kms, account_t *a, const char *spec, int64_t now_ms,
                          sl_kms_err_t *err) {
    char prefix[96];
    int pn = snprintf(prefix, sizeof prefix, "arn:aws:kms:%s:%s:", kms->region, a->id);
    const char *rest = spec;
    bool arn = strncmp(spec, "arn:", 4) == 0;
    if (arn) {
        if (strncmp(spec, prefix, (size_t)pn) != 0) {
            fail(err, "NotFoundException", "Invalid arn %s", spec);
            return NULL;
        }
        rest = spec + pn;
        if (strncmp(rest, "key/", 4) == 0) rest += 4;
    }
    if (strncmp(rest, "alias/", 6) == 0) {
        alias_t *al = alias_by_name(a, rest);
        if (!al && strcmp(rest, KINESIS_ALIAS) == 0) {
            kms_key_t *k = key_add(a,
                                   "Default key that protects my Kinesis data when no other key is "
                                   "defined",
                                   true, now_ms, err);
            if (!k) return NULL;
            char id[ID_LEN + 1];
            memcpy(id, k->id, sizeof id);
            if (!alias_add(a, KINESIS_ALIAS, id, now_ms) || save(kms, a) != 0) {
                al = alias_by_name(a, KINESIS_ALIAS);
                if (al) alias_remove_at(a, (size_t)(al - a->aliases));
                key_remove(a, key_by_id(a, id));
                fail(err, "KMSInternalException", "Cannot create the key of %s.", KINESIS_ALIAS);
                return NULL;
            }
            SL_INFO("kms: created the AWS-managed key %s (%s) of account %s", id, KINESIS_ALIAS,
                    a->id);
            al = alias_by_name(a, KINESIS_ALIAS);
        }
        if (!al) {
            fail(err, "NotFoundException", "Alias %s%s is not found.", prefix, rest);
            return NULL;
        }
        return key_by_id(a, al->target);
    }
    if (!is_uuid(rest)) {
        fail(err, "NotFoundException", "Invalid keyId '%s'", spec);
        return NULL;
    }
    kms_key_t *k = key_by_id(a, rest);
    if (!k) fail(err, "NotFoundException", "Key '%skey/%s' does not exist", prefix, rest);
    return k;
}

/* The key must be Enabled for cryptographic use. */
static bool usable(sl_kms_t *kms, account_t *a, const kms_key_t *k, sl_kms_err_t *err) {
    char arn[SL_KMS_ARN_BYTES_MAX];
    key_arn(kms, a, k->id, arn);
    if (k->state == SL_KMS_DISABLED) return fail(err, "DisabledException", "%s is disabled.", arn);
    if (k->state == SL_KMS_PENDING_DELETION)
        return fail(err, "KMSInvalidStateException", "%s is pending deletion.", arn);
    return true;
}

static void info_of(sl_kms_t *kms, account_t *a, const kms_key_t *k, sl_kms_key_info_t *out) {
    memset(out, 0, sizeof *out);
    memcpy(out->id, k->id, sizeof k->id);
    key_arn(kms, a, k->id, out->arn);
    snprintf(out->description, sizeof out->description, "%s", k->description);
    out->state = k->state;
    out->aws_managed = k->aws_managed;
    out->created_ms = k->created_ms;
    out->deletion_ms = k->deletion_ms;
}

bool sl_kms_describe(sl_kms_t *kms, const char *account, const char *key_id, int64_t now_ms,
                     sl_kms_key_info_t *out, sl_kms_err_t *err) {
    account_t *a = enter(kms, account, now_ms, err);
    if (!a) return false;
    kms_key_t *k = resolve(kms, a, key_id, now_ms, err);
    if (k) info_of(kms, a, k, out);
    leave(kms);
    return k != NULL;
}

bool sl_kms_create_key(sl_kms_t *kms, const char *account, const char *description, int64_t now_ms,
                       sl_kms_key_info_t *out, sl_kms_err_t *err) {
    account_t *a = enter(kms, account, now_ms, err);
    if (!a) return false;
    kms_key_t *k = key_add(a, description, false, now_ms, err);
    bool ok = k != NULL;
    if (ok) {
        info_of(kms, a, k, out);
        if (save(kms, a) != 0) {
            key_remove(a, k);
            ok = fail(err, "KMSInternalException", "Cannot store the key.");
        }
    }
    leave(kms);
    return ok;
}

size_t sl_kms_list_keys(sl_kms_t *kms, const char *account, const char *after, int64_t now_ms,
                        sl_kms_key_info_t *out, size_t cap, bool *more) {
    *more = false;
    account_t *a = enter(kms, account, now_ms, NULL);
    if (!a) return 0;
    size_t n = 0;
    for (size_t i = 0; i < a->key_count; i++) {
        if (after && after[0] && strcmp(a->keys[i].id, after) <= 0) continue;
        if (n == cap) {
            *more = true;
            break;
        }
        info_of(kms, a, &a->keys[i], &out[n++]);
    }
    leave(kms);
    return n;
}

/* Changes a key's state and deletion date, written to the catalog first. */
static bool change(sl_kms_t *kms, account_t *a, kms_key_t *k, sl_kms_state_t state,
                   int64_t deletion_ms, sl_kms_err_t *err) {
    sl_kms_state_t old = k->state;
    int64_t old_deletion = k->deletion_ms;
    k->state = state;
    k->deletion_ms = deletion_ms;
    if (save(kms, a) == 0) return true;
    k->state = old;
    k->deletion_ms = old_deletion;
    return fail(err, "KMSInternalException", "Cannot store the key.");
}

bool sl_kms_set_enabled(sl_kms_t *kms, const char *account, const char *key_id, bool enabled,
                        int64_t now_ms, sl_kms_err_t *err) {
    account_t *a = enter(kms, account, now_ms, err);
    if (!a) return false;
    kms_key_t *k = resolve(kms, a, key_id, now_ms, err);
    bool ok = k != NULL;
    if (ok && k->state == SL_KMS_PENDING_DELETION) {
        char arn[SL_KMS_ARN_BYTES_MAX];
        key_arn(kms, a, k->id, arn);
        ok = fail(err, "KMSInvalidStateException", "%s is pending deletion.", arn);
    } else if (ok && k->aws_managed) {
        ok =
            fail(err, "NotAuthorizedException", "You cannot enable or disable an AWS managed key.");
    }
    if (ok) ok = change(kms, a, k, enabled ? SL_KMS_ENABLED : SL_KMS_DISABLED, 0, err);
    leave(kms);
    return ok;
}

bool sl_kms_schedule_deletion(sl_kms_t *kms, const char *account, const char *key_id, int days,
                              int64_t now_ms, sl_kms_key_info_t *out, sl_kms_err_t *err) {
    account_t *a = enter(kms, account, now_ms, err);
    if (!a) return false;
    kms_key_t *k = resolve(kms, a, key_id, now_ms, err);
    bool ok = k != NULL;
    char arn[SL_KMS_ARN_BYTES_MAX] = "";
    if (ok) key_arn(kms, a, k->id, arn);
    if (ok && (days < 7 || days > 30))
        ok = fail(err, "ValidationException",
                  "PendingWindowInDays value must be between 7 and 30 days.");
    else if (ok && k->aws_managed)
        ok = fail(err, "NotAuthorizedException", "You cannot delete an AWS managed key.");
    else if (ok && k->state == SL_KMS_PENDING_DELETION)
        ok = fail(err, "KMSInvalidStateException", "%s is pending deletion.", arn);
    if (ok) ok = change(kms, a, k, SL_KMS_PENDING_DELETION, now_ms + days * DAY_MS, err);
    if (ok) info_of(kms, a, k, out);
    leave(kms);
    return ok;
}

bool sl_kms_cancel_deletion(sl_kms_t *kms, const char *account, const char *key_id, int64_t now_ms,
                            sl_kms_key_info_t *out, sl_kms_err_t *err) {
    account_t *a = enter(kms, account, now_ms, err);
    if (!a) return false;
    kms_key_t *k = resolve(kms, a, key_id, now_ms, err);
    bool ok = k != NULL;
    if (ok && k->state != SL_KMS_PENDING_DELETION) {
        char arn[SL_KMS_ARN_BYTES_MAX];
        key_arn(kms, a, k->id, arn);
        ok = fail(err, "KMSInvalidStateException", "%s is not pending deletion.", arn);
    }
    /* AWS leaves a key whose deletion was cancelled Disabled */
    if (ok) ok = change(kms, a, k, SL_KMS_DISABLED, 0, err);
    if (ok) info_of(kms, a, k, out);
    leave(kms);
    return ok;
}

static bool alias_name_ok(sl_kms_t *kms, account_t *a, const char *alias, sl_kms_err_t *err) {
    (void)kms;
    (void)a;
    if (strncmp(alias, "alias/", 6) != 0 || !alias[6])
        return fail(err, "ValidationException",
                    "Alias must start with the prefix \"alias/\". Please see "
                    "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
    for (const char *p = alias + 6; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-", *p))
            return fail(err, "ValidationException",
                        "1 validation error detected: Value '%s' at 'aliasName' failed to satisfy "
                        "constraint: Member must satisfy regular expression pattern: "
                        "^[a-zA-Z0-9:/_-]+$",
                        alias);
    return true;
}

bool sl_kms_create_alias(sl_kms_t *kms, const char *account, const char *alias, const char *target,
                         int64_t now_ms, sl_kms_err_t *err) {
    account_t *a = enter(kms, account, now_ms, err);
    if (!a) return false;
    bool ok = alias_name_ok(kms, a, alias, err);
    if (ok && strncmp(alias, "alias/aws/", 10) == 0)
        ok = fail(err, "NotAuthorizedException",
                  "Alias names that begin with alias/aws/ are "
                  "reserved for AWS managed keys.");
    if (ok && alias_by_name(a, alias))
        ok = fail(err, "AlreadyExistsException",
                  "An alias with the name arn:aws:kms:%s:%s:%s already exists", kms->region, a->id,
                  alias);
    kms_key_t *k = NULL;
    if (ok && strncmp(target, "alias/", 6) == 0)
        ok = fail(err, "ValidationException", "Aliases must refer to keys. Not aliases");
    if (ok) k = resolve(kms, a, target, now_ms, err);
    if (ok && !k) ok = false;
    if (ok && k->aws_managed)
        ok = fail(err, "NotAuthorizedException",
                  "You cannot create an alias for an AWS managed key.");
    if (ok && k->state == SL_KMS_PENDING_DELETION) {
        char arn[SL_KMS_ARN_BYTES_MAX];
        key_arn(kms, a, k->id, arn);
        ok = fail(err, "KMSInvalidStateException", "%s is pending deletion.", arn);
    }
    if (ok && !alias_add(a, alias, k->id, now_ms))
        ok = fail(err, "LimitExceededException",
                  "Cannot create more than %d aliases in account %s (Sluice's bound).",
                  SL_KMS_ALIASES_MAX, a->id);
    if (ok && save(kms, a) != 0) {
        alias_remove_at(a, (size_t)(alias_by_name(a, alias) - a->aliases));
        ok = fail(err, "KMSInternalException", "Cannot store the alias.");
    }
    leave(kms);
    return ok;
}

bool sl_kms_delete_alias(sl_kms_t *kms, const char *account, const char *alias, int64_t now_ms,
                         sl_kms_err_t *err) {
    account_t *a = enter(kms, account, now_ms, err);
    if (!a) return false;
    bool ok = alias_name_ok(kms, a, alias, err);
    alias_t *al = ok ? alias_by_name(a, alias) : NULL;
    if (ok && strncmp(alias, "alias/aws/", 10) == 0)
        ok = fail(err, "NotAuthorizedException", "You cannot delete an AWS managed alias.");
    else if (ok && !al)
        ok = fail(err, "NotFoundException", "Alias arn:aws:kms:%s:%s:%s is not found.", kms->region,
                  a->id, alias);
    if (ok) {
        alias_t saved = *al;
        size_t at = (size_t)(al - a->aliases);
        alias_remove_at(a, at);
        if (save(kms, a) != 0) {
            alias_add(a, saved.name, saved.target, saved.created_ms);
            ok = fail(err, "KMSInternalException", "Cannot store the change.");
        }
    }
    leave(kms);
    return ok;
}

size_t sl_kms_list_aliases(sl_kms_t *kms, const char *account, const char *key_id,
                           const char *after, int64_t now_ms, sl_kms_alias_info_t *out, size_t cap,
                           bool *more, sl_kms_err_t *err) {
    *more = false;
    account_t *a = enter(kms, account, now_ms, err);
    if (!a) return 0;
    kms_key_t *k = NULL;
    if (key_id) {
        k = resolve(kms, a, key_id, now_ms, err);
        if (!k) {
            leave(kms);
            return 0;
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < a->alias_count; i++) {
        const alias_t *al = &a->aliases[i];
        if (k && strcmp(al->target, k->id) != 0) continue;
        if (after && after[0] && strcmp(al->name, after) <= 0) continue;
        if (n == cap) {
            *more = true;
            break;
        }
        memset(&out[n], 0, sizeof out[n]);
        memcpy(out[n].name, al->name, sizeof al->name);
        memcpy(out[n].target, al->target, sizeof al->target);
        snprintf(out[n].arn, sizeof out[n].arn, "arn:aws:kms:%s:%s:%s", kms->region, a->id,
                 al->name);
        out[n].created_ms = al->created_ms;
        n++;
    }
    leave(kms);
    return n;
}

/* ---- cryptographic operations ---- */

/* The associated data of a blob: its header (magic and key id) then the context. */
static uint8_t *blob_aad(const uint8_t *header, const char *context, size_t *len) {
    size_t cl = context ? strlen(context) : 0;
    uint8_t *aad = malloc(4 + ID_LEN + cl);
    if (!aad) return NULL;
    memcpy(aad, header, 4 + ID_LEN);
    if (cl) memcpy(aad + 4 + ID_LEN, context, cl);
    *len = 4 + ID_LEN + cl;
    return aad;
}

static bool blob_seal(const kms_key_t *k, const uint8_t *plain, size_t len, const char *context,
                      uint8_t **blob, size_t *blob_len, sl_kms_err_t *err) {
    uint8_t *b = malloc(len + SL_KMS_BLOB_OVERHEAD);
    size_t alen = 0;
    uint8_t *aad = NULL;
    bool ok = b != NULL;
    if (ok) {
        memcpy(b, BLOB_MAGIC, 4);
        memcpy(b + 4, k->id, ID_LEN);
        aad = blob_aad(b, context, &alen);
        ok = aad && seal(k->material, aad, alen, plain, len, b + 4 + ID_LEN);
    }
    free(aad);
    if (!ok) {
        free(b);
        return fail(err, "KMSInternalException", "Cannot encrypt.");
    }
    *blob = b;
    *blob_len = len + SL_KMS_BLOB_OVERHEAD;
    return true;
}

/* The key a blob names (caller holds mu), or NULL: InvalidCiphertextException. */
static kms_key_t *blob_key(account_t *a, const uint8_t *blob, size_t blob_len, sl_kms_err_t *err) {
    char id[ID_LEN + 1];
    if (blob_len < SL_KMS_BLOB_OVERHEAD || memcmp(blob, BLOB_MAGIC, 4) != 0) {
        fail(err, "InvalidCiphertextException", "");
        return NULL;
    }
    memcpy(id, blob + 4, ID_LEN);
    id[ID_LEN] = '\0';
    kms_key_t *k = key_by_id(a, id);
    if (!k) fail(err, "InvalidCiphertextException", "");
    return k;
}

static bool blob_open(const kms_key_t *k, const uint8_t *blob, size_t blob_len, const char *context,
                      uint8_t *plain) {
    size_t alen = 0;
    uint8_t *aad = blob_aad(blob, context, &alen);
    bool ok = aad && open_sealed(k->material, aad, alen, blob + 4 + ID_LEN,
                                 blob_len - SL_KMS_BLOB_OVERHEAD, plain);
    free(aad);
    return ok;
}

bool sl_kms_encrypt(sl_kms_t *kms, const char *account, const char *key_id, const uint8_t *plain,
                    size_t len, const char *context, int64_t now_ms, uint8_t **blob,
                    size_t *blob_len, char arn_out[SL_KMS_ARN_BYTES_MAX], sl_kms_err_t *err) {
    account_t *a = enter(kms, account, now_ms, err);
    if (!a) return false;
    kms_key_t *k = resolve(kms, a, key_id, now_ms, err);
    bool ok = k && usable(kms, a, k, err) && blob_seal(k, plain, len, context, blob, blob_len, err);
    if (ok) key_arn(kms, a, k->id, arn_out);
    leave(kms);
    return ok;
}

bool sl_kms_decrypt(sl_kms_t *kms, const char *account, const uint8_t *blob, size_t blob_len,
                    const char *key_id, const char *context, int64_t now_ms, uint8_t **plain,
                    size_t *len, char arn_out[SL_KMS_ARN_BYTES_MAX], sl_kms_err_t *err) {
    account_t *a = enter(kms, account, now_ms, err);
    if (!a) return false;
    kms_key_t *k = blob_key(a, blob, blob_len, err);
    bool ok = k != NULL;
    if (ok && key_id) {
        kms_key_t *want = resolve(kms, a, key_id, now_ms, err);
        if (!want)
            ok = false;
        else if (want != k)
            ok = fail(err, "IncorrectKeyException",
                      "The key ID in the request does not identify a CMK that can perform this "
                      "operation.");
    }
    ok = ok && usable(kms, a, k, err);
    uint8_t *p = NULL;
    if (ok) {
        size_t n = blob_len - SL_KMS_BLOB_OVERHEAD;
        p = malloc(n ? n : 1);
        if (!p)
            ok = fail(err, "KMSInternalException", "Out of memory.");
        else if (!blob_open(k, blob, blob_len, context, p))
            ok = fail(err, "InvalidCiphertextException", "");
        if (ok) {
            *plain = p;
            *len = n;
            key_arn(kms, a, k->id, arn_out);
        } else {
            free(p);
        }
    }
    leave(kms);
    return ok;
}

bool sl_kms_generate_data_key(sl_kms_t *kms, const char *account, const char *key_id, size_t len,
                              const char *context, int64_t now_ms, uint8_t *plain, uint8_t **blob,
                              size_t *blob_len, char arn_out[SL_KMS_ARN_BYTES_MAX],
                              sl_kms_err_t *err) {
    account_t *a = enter(kms, account, now_ms, err);
    if (!a) return false;
    kms_key_t *k = resolve(kms, a, key_id, now_ms, err);
    bool ok = k && usable(kms, a, k, err);
    if (ok && RAND_bytes(plain, (int)len) != 1)
        ok = fail(err, "KMSInternalException", "Cannot generate a data key.");
    ok = ok && blob_seal(k, plain, len, context, blob, blob_len, err);
    if (ok) key_arn(kms, a, k->id, arn_out);
    leave(kms);
    return ok;
}

bool sl_kms_unwrap_data_key(sl_kms_t *kms, const char *account, const uint8_t *blob,
                            size_t blob_len, const char *context, uint8_t *plain, size_t len) {
    pthread_mutex_lock(&kms->mu);
    account_t *a = account_of(kms, account);
    kms_key_t *k = a ? blob_key(a, blob, blob_len, NULL) : NULL;
    bool ok =
        k && blob_len == len + SL_KMS_BLOB_OVERHEAD && blob_open(k, blob, blob_len, context, plain);
    pthread_mutex_unlock(&kms->mu);
    return ok;
}

bool sl_kms_usable(sl_kms_t *kms, const char *account, const char *key_arn_text, int64_t now_ms,
                   sl_kms_err_t *err) {
    account_t *a = enter(kms, account, now_ms, err);
    if (!a) return false;
    kms_key_t *k = resolve(kms, a, key_arn_text, now_ms, err);
    bool ok = k && usable(kms, a, k, err);
    leave(kms);
    return ok;
}

bool sl_kms_context_add(char *ctx, size_t cap, const char *key, const char *value) {
    size_t cur = strlen(ctx), kl = strlen(key), vl = strlen(value);
    if (cur + kl + vl + 3 > cap) return false;
    /* find the sorted place: pairs are "key\x1fvalue\x1e" */
    size_t at = 0;
    while (at < cur) {
        const char *sep = memchr(ctx + at, '\x1f', cur - at);
        const char *end = memchr(ctx + at, '\x1e', cur - at);
        if (!sep || !end) break;
        size_t len = (size_t)(sep - (ctx + at));
        int c = strncmp(ctx + at, key, len < kl ? len : kl);
        if (c > 0 || (c == 0 && len > kl)) break;
        at = (size_t)(end - ctx) + 1;
    }
    memmove(ctx + at + kl + vl + 2, ctx + at, cur - at + 1);
    memcpy(ctx + at, key, kl);
    ctx[at + kl] = '\x1f';
    memcpy(ctx + at + kl + 1, value, vl);
    ctx[at + kl + 1 + vl] = '\x1e';
    return true;
}
