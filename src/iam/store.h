/* The IAM store: users, access keys and inline user policies of every account, kept in each
 * account's catalog (tables iam_users, iam_access_keys, iam_user_policies) and in memory for the
 * principal lookup of every request. A change writes the catalog first and changes memory only
 * when that write succeeded. Access-key secrets are stored wrapped (AES-256-GCM under the master
 * key of --master-key-file, the key id as associated data) and are never logged; the clear
 * secret leaves the store only twice: in CreateAccessKey's answer and to the signature check.
 *
 * Threads: every function is safe from any thread (one mutex; catalog writes happen under it,
 * as IAM changes are rare). */
#ifndef SL_IAM_STORE_H
#define SL_IAM_STORE_H

#include "catalog/catalog.h"
#include "iam/credentials.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_iam_store sl_iam_store_t;

/* An account as the store sees it: its id and its catalog (owned by the composition root). */
typedef struct {
    char id[16];
    sl_catalog_t *catalog;
} sl_iam_account_t;

typedef struct {
    char name[SL_AUTH_NAME_BYTES_MAX];
    char user_id[32];
    int64_t created_ms;
} sl_iam_user_t;

typedef struct {
    char access_key_id[SL_AUTH_ACCESS_KEY_BYTES_MAX];
    char user_name[SL_AUTH_NAME_BYTES_MAX];
    char secret[SL_AUTH_SECRET_BYTES_MAX]; /* filled by create only */
    bool active;
    int64_t created_ms;
} sl_iam_key_t;

/* master_key: the 32 bytes that wrap secrets (sl_iam_master_key_load). */
int sl_iam_store_create(const uint8_t master_key[32], sl_iam_store_t **out);
void sl_iam_store_destroy(sl_iam_store_t *store);
/* Loads an account's rows from its catalog (at start, before serving). A secret that does not
 * unwrap (another master key) is logged and its key left out. */
int sl_iam_store_load(sl_iam_store_t *store, const sl_iam_account_t *acct);
/* Forgets the account's rows in memory (not in its catalog): an account whose opening failed after
 * they were loaded. */
void sl_iam_store_unload(sl_iam_store_t *store, const char *account);

/* The principal of an active access key (admin false; the user's ARN path is "/"). Returns 0 or
 * SL_ENOTFOUND (unknown or inactive). */
int sl_iam_store_lookup(sl_iam_store_t *store, const char *access_key_id, sl_iam_principal_t *out);

/* The operations. Errors: SL_EEXIST (exists; DeleteUser: the user still has keys or policies),
 * SL_ENOTFOUND (no such user, key or policy), SL_ELIMIT (a user has 2 keys: AWS's quota), or a
 * catalog error. */
int sl_iam_user_create(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *name,
                       int64_t now_ms, sl_iam_user_t *out);
int sl_iam_user_get(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *name,
                    sl_iam_user_t *out);
/* Up to cap users of the account sorted by name, from the first name after `after` ("" = from
 * the start); *more when there are others. Returns the count. */
size_t sl_iam_user_list(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *after,
                        sl_iam_user_t *out, size_t cap, bool *more);
int sl_iam_user_delete(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *name);
int sl_iam_key_create(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                      int64_t now_ms, sl_iam_key_t *out);
/* The user's keys (at most 2), oldest first. SL_ENOTFOUND without the user. */
int sl_iam_key_list(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                    sl_iam_key_t out[2], size_t *count);
int sl_iam_key_update(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                      const char *access_key_id, bool active);
int sl_iam_key_delete(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                      const char *access_key_id);
int sl_iam_policy_put(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                      const char *policy_name, const char *document);
/* The document (malloc'd, the caller frees it). */
int sl_iam_policy_get(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                      const char *policy_name, char **document);
/* Policy names of the user, sorted, up to cap (names copied into out[i], SL_AUTH_NAME_BYTES_MAX
 * each). SL_ENOTFOUND without the user. */
int sl_iam_policy_list(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                       char (*out)[SL_AUTH_NAME_BYTES_MAX], size_t cap, size_t *count);
int sl_iam_policy_delete(sl_iam_store_t *s, const sl_iam_account_t *acct, const char *user,
                         const char *policy_name);

/* The master key file: reads 32 bytes (64 hex digits) from `path`, or creates the file with a
 * new random key (mode 0600, O_EXCL) when it does not exist. Returns 0, SL_EINVAL (not a key:
 * logged) or SL_EIO. */
int sl_iam_master_key_load(const char *path, uint8_t key_out[32]);

#endif
