/* The KMS binding (see binding.h): decode the JSON members, call kms/kms.h, encode KMS's answers
 * (KeyMetadata, Keys, Aliases, blobs in base64) or its error with AWS's type and text. */
#include "api/kms/binding.h"

#include "api/kms/model.h"
#include "core/common.h"
#include "wire/awserror.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTEXT_BYTES_MAX 8192 /* a canonical encryption context */
#define LIST_MAX 1000          /* ListKeys/ListAliases Limit: AWS's bound */

static sl_kmsapi_account_t *acct(sl_front_call_t *call) {
    return call->account;
}

static const char *member(sl_front_call_t *call, const char *name) {
    return sl_val_get_str(call->in, name, NULL);
}

static void fail_kms(sl_front_call_t *call, const sl_kms_err_t *err) {
    if (strcmp(err->type, "KMSInternalException") == 0)
        sl_front_fail_status(call, 500, err->type, err->message, NULL, NULL);
    else
        sl_front_fail(call, err->type, "%s", err->message);
}

static const char *state_name(sl_kms_state_t s) {
    switch (s) {
    case SL_KMS_ENABLED:
        return "Enabled";
    case SL_KMS_DISABLED:
        return "Disabled";
    default:
        return "PendingDeletion";
    }
}

static void encode_metadata(sl_enc_t *e, const char *account, const sl_kms_key_info_t *k) {
    sl_enc_key(e, "KeyMetadata");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "AWSAccountId", account);
    sl_enc_kv_cstr(e, "KeyId", k->id);
    sl_enc_kv_cstr(e, "Arn", k->arn);
    sl_enc_key(e, "CreationDate");
    sl_enc_timestamp_ms(e, k->created_ms);
    sl_enc_kv_bool(e, "Enabled", k->state == SL_KMS_ENABLED);
    sl_enc_kv_cstr(e, "Description", k->description);
    sl_enc_kv_cstr(e, "KeyUsage", "ENCRYPT_DECRYPT");
    sl_enc_kv_cstr(e, "KeyState", state_name(k->state));
    if (k->state == SL_KMS_PENDING_DELETION) {
        sl_enc_key(e, "DeletionDate");
        sl_enc_timestamp_ms(e, k->deletion_ms);
    }
    sl_enc_kv_cstr(e, "Origin", "AWS_KMS");
    sl_enc_kv_cstr(e, "KeyManager", k->aws_managed ? "AWS" : "CUSTOMER");
    sl_enc_kv_cstr(e, "CustomerMasterKeySpec", "SYMMETRIC_DEFAULT");
    sl_enc_kv_cstr(e, "KeySpec", "SYMMETRIC_DEFAULT");
    sl_enc_key(e, "EncryptionAlgorithms");
    sl_enc_array_begin(e);
    sl_enc_cstr(e, "SYMMETRIC_DEFAULT");
    sl_enc_array_end(e);
    sl_enc_kv_bool(e, "MultiRegion", false);
    sl_enc_map_end(e);
}

/* The canonical encryption context of the request (kms.h), or NULL when it has none; false
 * (answered) when it is too large. */
static bool context_of(sl_front_call_t *call, char **out) {
    *out = NULL;
    const sl_val_t *m = sl_val_get(call->in, "EncryptionContext");
    if (!m || m->type != SL_VAL_MAP || m->u.map.count == 0) return true;
    char *ctx = sl_arena_alloc(call->arena, CONTEXT_BYTES_MAX);
    if (!ctx) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return false;
    }
    ctx[0] = '\0';
    for (size_t i = 0; i < m->u.map.count; i++) {
        const sl_kv_t *kv = &m->u.map.items[i];
        char *k = sl_arena_strndup(call->arena, kv->key, kv->key_len);
        const char *v = kv->val && kv->val->type == SL_VAL_STRING ? kv->val->u.str.ptr : "";
        if (!k || !sl_kms_context_add(ctx, CONTEXT_BYTES_MAX, k, v)) {
            sl_front_fail(call, SL_AWS_VALIDATION, "The encryption context is too large.");
            return false;
        }
    }
    *out = ctx;
    return true;
}

/* A blob member (validated: SL_VAL_BYTES). */
static const uint8_t *blob(sl_front_call_t *call, const char *name, size_t *len) {
    const sl_val_t *v = sl_val_get(call->in, name);
    if (!v || v->type != SL_VAL_BYTES) {
        *len = 0;
        return NULL;
    }
    *len = v->u.str.len;
    return (const uint8_t *)v->u.str.ptr;
}

static void begin(sl_front_call_t *call) {
    sl_enc_map_begin(&call->enc);
}

static void finish(sl_front_call_t *call) {
    sl_enc_map_end(&call->enc);
    sl_front_reply(call);
}

/* ---- keys ---- */

static void op_create_key(sl_front_call_t *call) {
    const char *spec = member(call, "KeySpec");
    if (!spec) spec = member(call, "CustomerMasterKeySpec");
    const char *usage = member(call, "KeyUsage");
    const char *origin = member(call, "Origin");
    if ((spec && strcmp(spec, "SYMMETRIC_DEFAULT") != 0) ||
        (origin && strcmp(origin, "AWS_KMS") != 0) || member(call, "CustomKeyStoreId")) {
        sl_front_fail(call, "UnsupportedOperationException",
                      "This server supports only SYMMETRIC_DEFAULT keys of origin AWS_KMS.");
        return;
    }
    if (usage && strcmp(usage, "ENCRYPT_DECRYPT") != 0) {
        sl_front_fail(call, SL_AWS_VALIDATION,
                      "KeyUsage %s is not compatible with KeySpec SYMMETRIC_DEFAULT", usage);
        return;
    }
    sl_kms_key_info_t *k = sl_arena_alloc(call->arena, sizeof *k);
    sl_kms_err_t err;
    if (!k) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    if (!sl_kms_create_key(acct(call)->kms, acct(call)->id, member(call, "Description"),
                           call->now_ms, k, &err)) {
        fail_kms(call, &err);
        return;
    }
    begin(call);
    encode_metadata(&call->enc, acct(call)->id, k);
    finish(call);
}

static void op_describe_key(sl_front_call_t *call) {
    sl_kms_key_info_t *k = sl_arena_alloc(call->arena, sizeof *k);
    sl_kms_err_t err;
    if (!k) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    if (!sl_kms_describe(acct(call)->kms, acct(call)->id, member(call, "KeyId"), call->now_ms, k,
                         &err)) {
        fail_kms(call, &err);
        return;
    }
    begin(call);
    encode_metadata(&call->enc, acct(call)->id, k);
    finish(call);
}

static size_t limit_of(sl_front_call_t *call) {
    int64_t limit = 100;
    sl_val_get_int(call->in, "Limit", &limit);
    return limit < 1 ? 1 : limit > LIST_MAX ? LIST_MAX : (size_t)limit;
}

static void op_list_keys(sl_front_call_t *call) {
    size_t cap = limit_of(call);
    sl_kms_key_info_t *keys = malloc(cap * sizeof *keys);
    if (!keys) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    bool more;
    size_t n = sl_kms_list_keys(acct(call)->kms, acct(call)->id, member(call, "Marker"),
                                call->now_ms, keys, cap, &more);
    sl_enc_t *e = &call->enc;
    begin(call);
    sl_enc_key(e, "Keys");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < n; i++) {
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "KeyId", keys[i].id);
        sl_enc_kv_cstr(e, "KeyArn", keys[i].arn);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    if (more && n) sl_enc_kv_cstr(e, "NextMarker", keys[n - 1].id);
    sl_enc_kv_bool(e, "Truncated", more);
    free(keys);
    finish(call);
}

static void op_enable_disable(sl_front_call_t *call) {
    bool enable = strcmp(call->op->name, "EnableKey") == 0;
    sl_kms_err_t err;
    if (!sl_kms_set_enabled(acct(call)->kms, acct(call)->id, member(call, "KeyId"), enable,
                            call->now_ms, &err)) {
        fail_kms(call, &err);
        return;
    }
    begin(call);
    finish(call);
}

static void op_schedule_deletion(sl_front_call_t *call) {
    int64_t days = 30;
    sl_val_get_int(call->in, "PendingWindowInDays", &days);
    sl_kms_key_info_t *k = sl_arena_alloc(call->arena, sizeof *k);
    sl_kms_err_t err;
    if (!k) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    if (!sl_kms_schedule_deletion(acct(call)->kms, acct(call)->id, member(call, "KeyId"), (int)days,
                                  call->now_ms, k, &err)) {
        fail_kms(call, &err);
        return;
    }
    begin(call);
    sl_enc_kv_cstr(&call->enc, "KeyId", k->arn);
    sl_enc_key(&call->enc, "DeletionDate");
    sl_enc_timestamp_ms(&call->enc, k->deletion_ms);
    sl_enc_kv_cstr(&call->enc, "KeyState", "PendingDeletion");
    sl_enc_kv_int(&call->enc, "PendingWindowInDays", days);
    finish(call);
}

static void op_cancel_deletion(sl_front_call_t *call) {
    sl_kms_key_info_t *k = sl_arena_alloc(call->arena, sizeof *k);
    sl_kms_err_t err;
    if (!k) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    if (!sl_kms_cancel_deletion(acct(call)->kms, acct(call)->id, member(call, "KeyId"),
                                call->now_ms, k, &err)) {
        fail_kms(call, &err);
        return;
    }
    begin(call);
    sl_enc_kv_cstr(&call->enc, "KeyId", k->arn);
    finish(call);
}

/* ---- aliases ---- */

static void op_create_alias(sl_front_call_t *call) {
    sl_kms_err_t err;
    if (!sl_kms_create_alias(acct(call)->kms, acct(call)->id, member(call, "AliasName"),
                             member(call, "TargetKeyId"), call->now_ms, &err)) {
        fail_kms(call, &err);
        return;
    }
    begin(call);
    finish(call);
}

static void op_delete_alias(sl_front_call_t *call) {
    sl_kms_err_t err;
    if (!sl_kms_delete_alias(acct(call)->kms, acct(call)->id, member(call, "AliasName"),
                             call->now_ms, &err)) {
        fail_kms(call, &err);
        return;
    }
    begin(call);
    finish(call);
}

static void op_list_aliases(sl_front_call_t *call) {
    size_t cap = limit_of(call);
    sl_kms_alias_info_t *aliases = malloc(cap * sizeof *aliases);
    if (!aliases) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    bool more;
    sl_kms_err_t err = {0};
    size_t n = sl_kms_list_aliases(acct(call)->kms, acct(call)->id, member(call, "KeyId"),
                                   member(call, "Marker"), call->now_ms, aliases, cap, &more, &err);
    if (err.type) {
        free(aliases);
        fail_kms(call, &err);
        return;
    }
    sl_enc_t *e = &call->enc;
    begin(call);
    sl_enc_key(e, "Aliases");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < n; i++) {
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "AliasName", aliases[i].name);
        sl_enc_kv_cstr(e, "AliasArn", aliases[i].arn);
        sl_enc_kv_cstr(e, "TargetKeyId", aliases[i].target);
        sl_enc_key(e, "CreationDate");
        sl_enc_timestamp_ms(e, aliases[i].created_ms);
        sl_enc_key(e, "LastUpdatedDate");
        sl_enc_timestamp_ms(e, aliases[i].created_ms);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    if (more && n) sl_enc_kv_cstr(e, "NextMarker", aliases[n - 1].name);
    sl_enc_kv_bool(e, "Truncated", more);
    free(aliases);
    finish(call);
}

/* ---- cryptography ---- */

static bool algorithm_ok(sl_front_call_t *call) {
    const char *alg = member(call, "EncryptionAlgorithm");
    if (!alg || strcmp(alg, "SYMMETRIC_DEFAULT") == 0) return true;
    sl_front_fail(call, "InvalidKeyUsageException",
                  "The encryption algorithm %s is not supported by this key.", alg);
    return false;
}

static void op_encrypt(sl_front_call_t *call) {
    char *ctx;
    if (!algorithm_ok(call) || !context_of(call, &ctx)) return;
    size_t len;
    const uint8_t *plain = blob(call, "Plaintext", &len);
    uint8_t *out = NULL;
    size_t out_len = 0;
    char arn[SL_KMS_ARN_BYTES_MAX];
    sl_kms_err_t err;
    if (!sl_kms_encrypt(acct(call)->kms, acct(call)->id, member(call, "KeyId"), plain, len, ctx,
                        call->now_ms, &out, &out_len, arn, &err)) {
        fail_kms(call, &err);
        return;
    }
    begin(call);
    sl_enc_key(&call->enc, "CiphertextBlob");
    sl_enc_bytes(&call->enc, out, out_len);
    sl_enc_kv_cstr(&call->enc, "KeyId", arn);
    sl_enc_kv_cstr(&call->enc, "EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
    free(out);
    finish(call);
}

static void op_decrypt(sl_front_call_t *call) {
    char *ctx;
    if (!algorithm_ok(call) || !context_of(call, &ctx)) return;
    size_t len;
    const uint8_t *in = blob(call, "CiphertextBlob", &len);
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    char arn[SL_KMS_ARN_BYTES_MAX];
    sl_kms_err_t err;
    if (!sl_kms_decrypt(acct(call)->kms, acct(call)->id, in, len, member(call, "KeyId"), ctx,
                        call->now_ms, &plain, &plain_len, arn, &err)) {
        fail_kms(call, &err);
        return;
    }
    begin(call);
    sl_enc_kv_cstr(&call->enc, "KeyId", arn);
    sl_enc_key(&call->enc, "Plaintext");
    sl_enc_bytes(&call->enc, plain, plain_len);
    sl_enc_kv_cstr(&call->enc, "EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
    memset(plain, 0, plain_len);
    free(plain);
    finish(call);
}

static void op_generate_data_key(sl_front_call_t *call) {
    bool with_plaintext = strcmp(call->op->name, "GenerateDataKey") == 0;
    const char *spec = member(call, "KeySpec");
    int64_t nbytes = 0;
    bool has_n = sl_val_get_int(call->in, "NumberOfBytes", &nbytes);
    if (spec && has_n) {
        sl_front_fail(call, SL_AWS_VALIDATION,
                      "Please specify either number of bytes or key spec.");
        return;
    }
    if (!spec && !has_n) {
        sl_front_fail(call, SL_AWS_VALIDATION,
                      "Please specify either number of bytes or key spec.");
        return;
    }
    if (spec) nbytes = strcmp(spec, "AES_128") == 0 ? 16 : 32;
    char *ctx;
    if (!context_of(call, &ctx)) return;
    uint8_t plain[1024];
    uint8_t *out = NULL;
    size_t out_len = 0;
    char arn[SL_KMS_ARN_BYTES_MAX];
    sl_kms_err_t err;
    if (!sl_kms_generate_data_key(acct(call)->kms, acct(call)->id, member(call, "KeyId"),
                                  (size_t)nbytes, ctx, call->now_ms, plain, &out, &out_len, arn,
                                  &err)) {
        fail_kms(call, &err);
        return;
    }
    begin(call);
    sl_enc_key(&call->enc, "CiphertextBlob");
    sl_enc_bytes(&call->enc, out, out_len);
    if (with_plaintext) {
        sl_enc_key(&call->enc, "Plaintext");
        sl_enc_bytes(&call->enc, plain, (size_t)nbytes);
    }
    sl_enc_kv_cstr(&call->enc, "KeyId", arn);
    memset(plain, 0, sizeof plain);
    free(out);
    finish(call);
}

static void op_unsupported(sl_front_call_t *call) {
    sl_front_fail(call, "UnsupportedOperationException", "%s is not supported by this server.",
                  call->op->name);
}

static sl_front_op_fn handler(const char *op) {
    static const struct {
        const char *name;
        sl_front_op_fn fn;
    } table[] = {
        {"CreateKey", op_create_key},
        {"DescribeKey", op_describe_key},
        {"ListKeys", op_list_keys},
        {"EnableKey", op_enable_disable},
        {"DisableKey", op_enable_disable},
        {"ScheduleKeyDeletion", op_schedule_deletion},
        {"CancelKeyDeletion", op_cancel_deletion},
        {"CreateAlias", op_create_alias},
        {"DeleteAlias", op_delete_alias},
        {"ListAliases", op_list_aliases},
        {"Encrypt", op_encrypt},
        {"Decrypt", op_decrypt},
        {"GenerateDataKey", op_generate_data_key},
        {"GenerateDataKeyWithoutPlaintext", op_generate_data_key},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(table); i++)
        if (strcmp(table[i].name, op) == 0) return table[i].fn;
    return op_unsupported;
}

/* The resource a KMS operation acts on, for authorization (docs/security.md): the key its KeyId
 * (or TargetKeyId) names, as a key ARN (an alias is resolved to its key, as AWS authorizes on
 * the key), the key of a ciphertext for Decrypt, else the account's `*`. */
static const char *kms_resource(const sl_op_t *op, const sl_val_t *in, void *account,
                                const char *region, const char *account_id, sl_arena_t *arena) {
    (void)op;
    (void)region;
    sl_kmsapi_account_t *a = account;
    const char *key = sl_val_get_str(in, "KeyId", NULL);
    if (!key) key = sl_val_get_str(in, "TargetKeyId", NULL);
    char id[40] = "";
    const sl_val_t *b = sl_val_get(in, "CiphertextBlob");
    if (!key && b && b->type == SL_VAL_BYTES && b->u.str.len >= SL_KMS_BLOB_OVERHEAD) {
        memcpy(id, b->u.str.ptr + 4, 36);
        id[36] = '\0';
        key = id;
    }
    sl_kms_key_info_t *k = key ? sl_arena_alloc(arena, sizeof *k) : NULL;
    if (k && a && sl_kms_describe(a->kms, a->id, key, 0, k, NULL))
        return sl_arena_strndup(arena, k->arn, strlen(k->arn));
    return sl_arena_sprintf(arena, "arn:aws:kms:%s:%s:*", region, account_id);
}

void sl_kmsapi_describe(sl_front_service_t *svc) {
    *svc = (sl_front_service_t){
        .name = "kms",
        .protocol = SL_FRONT_PROTO_JSON,
        .model = &sl_kms_model,
        .handler = handler,
        .signing_name = sl_kms_model.signing_name,
        .json_content_type = "application/x-amz-json-1.1",
        .resource = kms_resource,
        .action_prefix = "kms",
    };
}
