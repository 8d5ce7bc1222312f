/* KMS: customer master keys, aliases and envelope encryption (issue 11, docs/security.md "KMS").
 * Transport-free: the KMS binding (api/kms) decodes TrentService requests and calls these; the
 * Kinesis core calls the data-key functions for encryption at rest.
 *
 * Each account's keys and aliases live in memory and in one catalog setting of that account
 * ("kms", written before memory changes). A key's 256-bit material is stored wrapped by the
 * master key of --master-key-file (AES-256-GCM, the key id as associated data). A ciphertext
 * blob (Encrypt, GenerateDataKey) names its key, so Decrypt needs no KeyId:
 *     "SLK1" | key id (36 characters) | nonce (12) | ciphertext | tag (16)
 * with the header and the canonical encryption context as associated data.
 *
 * Errors come as AWS's type and text (sl_kms_err_t), ready for the binding to answer and for
 * Kinesis to map to its KMS* exceptions. A key scheduled for deletion is removed once its date
 * has passed (checked whenever the account is used).
 *
 * Threads: every function is safe from any thread (one mutex; KMS calls are short). */
#ifndef SL_KMS_KMS_H
#define SL_KMS_KMS_H

#include "catalog/catalog.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_KMS_KEYS_MAX 256             /* keys of one account (ours; AWS: 100,000) */
#define SL_KMS_ALIASES_MAX 256          /* aliases of one account */
#define SL_KMS_PLAINTEXT_BYTES_MAX 4096 /* Encrypt's Plaintext: AWS's bound */
#define SL_KMS_DESCRIPTION_BYTES_MAX 8193
#define SL_KMS_POLICY_BYTES_MAX 32769
#define SL_KMS_BLOB_OVERHEAD (4 + 36 + 12 + 16)
#define SL_KMS_ARN_BYTES_MAX 160
#define SL_KMS_ALIAS_BYTES_MAX 257

typedef struct sl_kms sl_kms_t;

/* An error: AWS's exception name and message (type NULL: none). */
typedef struct {
    const char *type;
    char message[384];
} sl_kms_err_t;

typedef enum { SL_KMS_ENABLED, SL_KMS_DISABLED, SL_KMS_PENDING_DELETION } sl_kms_state_t;

/* What DescribeKey tells of a key. */
typedef struct {
    char id[40];
    char arn[SL_KMS_ARN_BYTES_MAX];
    char description[SL_KMS_DESCRIPTION_BYTES_MAX];
    sl_kms_state_t state;
    bool aws_managed; /* alias/aws/kinesis's key: KeyManager AWS */
    int64_t created_ms;
    int64_t deletion_ms; /* PendingDeletion: when it goes */
} sl_kms_key_info_t;

typedef struct {
    char name[SL_KMS_ALIAS_BYTES_MAX]; /* alias/... */
    char arn[SL_KMS_ARN_BYTES_MAX + SL_KMS_ALIAS_BYTES_MAX];
    char target[40]; /* key id */
    int64_t created_ms;
} sl_kms_alias_info_t;

/* master_key: the 32 bytes of --master-key-file; region names ARNs. */
int sl_kms_create(const uint8_t master_key[32], const char *region, sl_kms_t **out);
void sl_kms_destroy(sl_kms_t *kms);
/* Loads (or starts) an account's keys from its catalog; the catalog stays the caller's and must
 * outlive the kms. Keys that do not unwrap with this master key are logged and left out. */
int sl_kms_load(sl_kms_t *kms, const char *account, sl_catalog_t *catalog);

/* A key named by id, key ARN, alias name ("alias/x") or alias ARN: its description. Resolving
 * "alias/aws/kinesis" creates that AWS-managed key on first use. */
bool sl_kms_describe(sl_kms_t *kms, const char *account, const char *key_id, int64_t now_ms,
                     sl_kms_key_info_t *out, sl_kms_err_t *err);
bool sl_kms_create_key(sl_kms_t *kms, const char *account, const char *description, int64_t now_ms,
                       sl_kms_key_info_t *out, sl_kms_err_t *err);
/* Up to cap keys (ids ascending) after the id `after` ("" = from the start). */
size_t sl_kms_list_keys(sl_kms_t *kms, const char *account, const char *after, int64_t now_ms,
                        sl_kms_key_info_t *out, size_t cap, bool *more);
bool sl_kms_set_enabled(sl_kms_t *kms, const char *account, const char *key_id, bool enabled,
                        int64_t now_ms, sl_kms_err_t *err);
bool sl_kms_schedule_deletion(sl_kms_t *kms, const char *account, const char *key_id, int days,
                              int64_t now_ms, sl_kms_key_info_t *out, sl_kms_err_t *err);
bool sl_kms_cancel_deletion(sl_kms_t *kms, const char *account, const char *key_id, int64_t now_ms,
                            sl_kms_key_info_t *out, sl_kms_err_t *err);
bool sl_kms_create_alias(sl_kms_t *kms, const char *account, const char *alias, const char *target,
                         int64_t now_ms, sl_kms_err_t *err);
bool sl_kms_delete_alias(sl_kms_t *kms, const char *account, const char *alias, int64_t now_ms,
                         sl_kms_err_t *err);
/* Aliases sorted by name after `after`, of one key (key_id non-NULL) or all. */
size_t sl_kms_list_aliases(sl_kms_t *kms, const char *account, const char *key_id,
                           const char *after, int64_t now_ms, sl_kms_alias_info_t *out, size_t cap,
                           bool *more, sl_kms_err_t *err);

/* Encrypts under an enabled key: *blob (malloc'd, len + SL_KMS_BLOB_OVERHEAD bytes) and the key's
 * ARN. context: the canonical encryption context (sl_kms_context_add) or NULL. */
bool sl_kms_encrypt(sl_kms_t *kms, const char *account, const char *key_id, const uint8_t *plain,
                    size_t len, const char *context, int64_t now_ms, uint8_t **blob,
                    size_t *blob_len, char arn_out[SL_KMS_ARN_BYTES_MAX], sl_kms_err_t *err);
/* Decrypts a blob of Encrypt or GenerateDataKey: *plain (malloc'd). key_id, when given, must be
 * the blob's key (IncorrectKeyException). */
bool sl_kms_decrypt(sl_kms_t *kms, const char *account, const uint8_t *blob, size_t blob_len,
                    const char *key_id, const char *context, int64_t now_ms, uint8_t **plain,
                    size_t *len, char arn_out[SL_KMS_ARN_BYTES_MAX], sl_kms_err_t *err);
/* A new random data key of `len` bytes: its plaintext (caller's buffer) and its blob (malloc'd). */
bool sl_kms_generate_data_key(sl_kms_t *kms, const char *account, const char *key_id, size_t len,
                              const char *context, int64_t now_ms, uint8_t *plain, uint8_t **blob,
                              size_t *blob_len, char arn_out[SL_KMS_ARN_BYTES_MAX],
                              sl_kms_err_t *err);
/* For the Kinesis core: unwraps a data key blob whatever the key's state (the state is checked
 * per request with sl_kms_usable), so that records stay readable once a key is enabled again. */
bool sl_kms_unwrap_data_key(sl_kms_t *kms, const char *account, const uint8_t *blob,
                            size_t blob_len, const char *context, uint8_t *plain, size_t len);
/* Is the key (ARN) usable now? false with NotFoundException, DisabledException or
 * KMSInvalidStateException in err. */
bool sl_kms_usable(sl_kms_t *kms, const char *account, const char *key_arn, int64_t now_ms,
                   sl_kms_err_t *err);

/* Appends one encryption-context pair to a canonical context (pairs sorted by key, each
 * "key\x1fvalue\x1e"); returns false when it does not fit in cap. */
bool sl_kms_context_add(char *ctx, size_t cap, const char *key, const char *value);

#endif
