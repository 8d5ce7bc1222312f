/* Server-side encryption of a delivery stream's buffer (docs/firehose.md "Encryption"): while
 * encryption is ENABLED, PutRecord(Batch) seals every record with AES-256-GCM (kms/seal.h, the
 * format of the Kinesis core's encryption at rest) under the stream's current data key before it
 * is appended to the buffer log, and the delivery thread opens records as it reads them, so the
 * data directory never holds a buffered record in the clear. A data key is made per key the
 * stream is ever encrypted under:
 *   - CUSTOMER_MANAGED_CMK: by the account's KMS (GenerateDataKey under the CMK, encryption
 *     context aws:firehose:arn = the stream's ARN); a disabled, pending-deletion or missing CMK
 *     makes puts fail with InvalidKMSResourceException, as on AWS;
 *   - AWS_OWNED_CMK: a random key sealed under the service key (derived from the master key; an
 *     AWS-owned key is not one of the account's KMS keys).
 * The wrapped keys are kept in the stream's row of firehose.db and unwrapped when it opens; every
 * generation stays, so records sealed before a stop, a restart or a change of key stay readable.
 * A record without the sealed form (put while encryption was off) is delivered as stored. */
#include "firehose/internal.h"

#include "core/common.h"
#include "core/log.h"
#include "kms/kms.h"
#include "kms/seal.h"
#include "wire/base64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOB_BYTES_MAX 512

/* InvalidKMSResourceException with KMS's own words, as AWS answers when KMS refuses. */
static bool fail_kms(sl_fherr_t *err, const sl_kms_err_t *e) {
    return fh_fail(err, SL_FHERR_KMS, "%s",
                   e->type ? e->message : "The KMS key of this delivery stream is not usable.");
}

static void context_of(const fh_stream_t *s, char *ctx, size_t cap) {
    ctx[0] = 0;
    sl_kms_context_add(ctx, cap, "aws:firehose:arn", s->arn);
}

/* Unwraps one data key blob into dk->key (dk->usable). */
static void unwrap(sl_firehose_t *fh, const fh_stream_t *s, fh_datakey_t *dk, const uint8_t *blob,
                   size_t len) {
    dk->usable = false;
    if (strcmp(dk->key_type, "AWS_OWNED_CMK") == 0) {
        uint8_t copy[BLOB_BYTES_MAX];
        sl_kms_sealer_t *opener = NULL;
        size_t n = 0;
        if (fh->cfg.owned_key && len <= sizeof copy &&
            sl_kms_sealer_create(fh->cfg.owned_key, false, &opener) == 0) {
            memcpy(copy, blob, len);
            dk->usable = sl_kms_open(opener, copy, len, &n) && n == sizeof dk->key;
            if (dk->usable) memcpy(dk->key, copy, sizeof dk->key);
            memset(copy, 0, sizeof copy);
        }
        sl_kms_sealer_destroy(opener);
    } else if (fh->cfg.kms) {
        char ctx[700];
        context_of(s, ctx, sizeof ctx);
        dk->usable = sl_kms_unwrap_data_key(fh->cfg.kms, fh->account, blob, len, ctx, dk->key,
                                            sizeof dk->key);
    }
}

int fh_keys_load(sl_firehose_t *fh, fh_stream_t *s, const sl_val_t *m) {
    const sl_val_t *list = sl_val_get(m, "DataKeys");
    if (!list || list->type != SL_VAL_ARRAY || list->u.arr.count == 0) return 0;
    if (list->u.arr.count > FH_DATA_KEYS_MAX) return SL_ECORRUPT;
    s->dks = calloc(FH_DATA_KEYS_MAX, sizeof *s->dks);
    if (!s->dks) return SL_ENOMEM;
    for (size_t i = 0; i < list->u.arr.count; i++) {
        const sl_val_t *e = list->u.arr.items[i];
        fh_datakey_t *dk = &s->dks[i];
        size_t len = 0;
        const char *type = sl_val_get_str(e, "Type", &len);
        snprintf(dk->key_type, sizeof dk->key_type, "%.*s", type ? (int)len : 0, type ? type : "");
        const char *arn = sl_val_get_str(e, "ARN", &len);
        snprintf(dk->key_arn, sizeof dk->key_arn, "%.*s", arn ? (int)len : 0, arn ? arn : "");
        const char *b64 = sl_val_get_str(e, "Blob", &len);
        uint8_t blob[BLOB_BYTES_MAX];
        size_t blob_len = 0;
        if (!b64 || len / 4 * 3 > sizeof blob || !(dk->blob = strndup(b64, len)) ||
            sl_base64_decode(b64, len, blob, &blob_len, NULL) != SL_B64_OK)
            return SL_ECORRUPT;
        unwrap(fh, s, dk, blob, blob_len);
        if (!dk->usable)
            SL_WARN("firehose: delivery stream %s: data key %zu (%s %s) cannot be unwrapped: its "
                    "buffered records cannot be delivered",
                    s->name, i + 1, dk->key_type, dk->key_arn);
    }
    int64_t current = 0;
    sl_val_get_int(m, "DataKeyCurrent", &current);
    if (current < 0 || (size_t)current > list->u.arr.count) return SL_ECORRUPT;
    s->dk_count = (uint16_t)list->u.arr.count;
    s->dk_current = (uint16_t)current;
    return 0;
}

void fh_keys_doc(sl_arena_t *a, sl_val_t *m, const fh_stream_t *s) {
    if (!s->dk_count) return;
    sl_val_t *list = sl_arena_calloc(a, 1, sizeof *list);
    sl_val_t **items = sl_arena_calloc(a, s->dk_count, sizeof *items);
    if (!list || !items) return;
    list->type = SL_VAL_ARRAY;
    list->u.arr.items = items;
    list->u.arr.count = s->dk_count;
    for (size_t i = 0; i < s->dk_count; i++) {
        items[i] = fh_val_map(a);
        fh_val_set(a, items[i], "Type", fh_val_str(a, s->dks[i].key_type));
        fh_val_set(a, items[i], "ARN", fh_val_str(a, s->dks[i].key_arn));
        fh_val_set(a, items[i], "Blob", fh_val_str(a, s->dks[i].blob ? s->dks[i].blob : ""));
    }
    fh_val_set(a, m, "DataKeys", list);
    fh_val_set(a, m, "DataKeyCurrent", fh_val_int(a, s->dk_current));
}

void fh_keys_free(fh_stream_t *s) {
    for (size_t i = 0; s->dks && i < FH_DATA_KEYS_MAX; i++) {
        free(s->dks[i].blob);
        memset(s->dks[i].key, 0, sizeof s->dks[i].key);
    }
    free(s->dks);
    s->dks = NULL;
    s->dk_count = s->dk_current = 0;
}

/* Is the CMK of dk usable now (AWS_OWNED_CMK always is)? */
static bool cmk_usable(sl_firehose_t *fh, const fh_datakey_t *dk, int64_t now_ms, sl_fherr_t *err) {
    if (strcmp(dk->key_type, "AWS_OWNED_CMK") == 0) return true;
    sl_kms_err_t e = {0};
    if (fh->cfg.kms && dk->usable &&
        sl_kms_usable(fh->cfg.kms, fh->account, dk->key_arn, now_ms, &e))
        return true;
    return fail_kms(err, &e);
}

bool fh_keys_start(sl_firehose_t *fh, fh_stream_t *s, const char *key_type, const char *key_arn,
                   int64_t now_ms, sl_fherr_t *err) {
    const char *arn = key_arn ? key_arn : "";
    sl_kms_key_info_t *info = NULL;
    char resolved[SL_KMS_ARN_BYTES_MAX] = "";
    if (strcmp(key_type, "CUSTOMER_MANAGED_CMK") == 0) {
        sl_kms_err_t e = {0};
        info = malloc(sizeof *info);
        if (!info) return fh_fail(err, SL_FHERR_INTERNAL, "out of memory");
        bool ok = fh->cfg.kms && sl_kms_describe(fh->cfg.kms, fh->account, arn, now_ms, info, &e) &&
                  sl_kms_usable(fh->cfg.kms, fh->account, info->arn, now_ms, &e);
        if (ok) snprintf(resolved, sizeof resolved, "%s", info->arn);
        free(info);
        if (!ok) return fail_kms(err, &e);
        arn = resolved;
    }
    for (size_t i = 0; i < s->dk_count; i++) {
        if (strcmp(s->dks[i].key_type, key_type) == 0 && strcmp(s->dks[i].key_arn, arn) == 0 &&
            s->dks[i].usable) {
            s->dk_current = (uint16_t)(i + 1);
            return true;
        }
    }
    if (s->dk_count >= FH_DATA_KEYS_MAX)
        return fh_fail(err, SL_FHERR_LIMIT,
                       "Delivery stream %s was encrypted under more than %d different keys.",
                       s->name, FH_DATA_KEYS_MAX);
    if (!s->dks && !(s->dks = calloc(FH_DATA_KEYS_MAX, sizeof *s->dks)))
        return fh_fail(err, SL_FHERR_INTERNAL, "out of memory");
    fh_datakey_t dk = {0};
    snprintf(dk.key_type, sizeof dk.key_type, "%s", key_type);
    snprintf(dk.key_arn, sizeof dk.key_arn, "%s", arn);
    uint8_t *blob = NULL, sealed[sizeof dk.key + SL_KMS_SEAL_OVERHEAD];
    size_t blob_len = 0;
    if (strcmp(key_type, "AWS_OWNED_CMK") == 0) {
        sl_kms_sealer_t *sealer = NULL;
        bool ok = fh->cfg.owned_key && sl_kms_random(dk.key, sizeof dk.key) &&
                  sl_kms_sealer_create(fh->cfg.owned_key, true, &sealer) == 0 &&
                  sl_kms_seal(sealer, 0, dk.key, sizeof dk.key, sealed);
        sl_kms_sealer_destroy(sealer);
        if (!ok) return fh_fail(err, SL_FHERR_INTERNAL, "cannot make a data key");
        blob = sealed;
        blob_len = sizeof sealed;
    } else {
        char ctx[700], out_arn[SL_KMS_ARN_BYTES_MAX];
        context_of(s, ctx, sizeof ctx);
        sl_kms_err_t e = {0};
        if (!sl_kms_generate_data_key(fh->cfg.kms, fh->account, arn, sizeof dk.key, ctx, now_ms,
                                      dk.key, &blob, &blob_len, out_arn, &e))
            return fail_kms(err, &e);
    }
    dk.blob = malloc(sl_base64_encoded_len(blob_len) + 1);
    if (dk.blob) {
        sl_base64_encode(blob, blob_len, dk.blob);
        dk.blob[sl_base64_encoded_len(blob_len)] = 0;
    }
    if (blob != sealed) free(blob);
    if (!dk.blob) {
        memset(&dk, 0, sizeof dk);
        return fh_fail(err, SL_FHERR_INTERNAL, "out of memory");
    }
    dk.usable = true;
    s->dks[s->dk_count] = dk;
    memset(&dk, 0, sizeof dk);
    /* the delivery thread reads dks[0..dk_count) without the lock: publish the key first */
    __atomic_store_n(&s->dk_count, (uint16_t)(s->dk_count + 1), __ATOMIC_RELEASE);
    s->dk_current = s->dk_count;
    SL_INFO("firehose: delivery stream %s: new data key %u (%s %s)", s->name, (unsigned)s->dk_count,
            key_type, arn[0] ? arn : "-");
    return true;
}

bool fh_keys_current(sl_firehose_t *fh, const fh_stream_t *s, int64_t now_ms,
                     uint8_t key[SL_KMS_SEAL_KEY_BYTES], uint16_t *generation, sl_fherr_t *err) {
    *generation = 0;
    if (!s->dk_current) return true;
    const fh_datakey_t *dk = &s->dks[s->dk_current - 1];
    if (!cmk_usable(fh, dk, now_ms, err)) return false;
    memcpy(key, dk->key, SL_KMS_SEAL_KEY_BYTES);
    *generation = s->dk_current;
    return true;
}

int fh_keys_seal(const uint8_t key[SL_KMS_SEAL_KEY_BYTES], uint16_t generation,
                 sl_record_t *records, size_t n, uint8_t **storage) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += records[i].data_len + SL_KMS_SEAL_OVERHEAD;
    uint8_t *out = malloc(total ? total : 1);
    sl_kms_sealer_t *sealer = NULL;
    int rc = out ? sl_kms_sealer_create(key, true, &sealer) : SL_ENOMEM;
    *storage = out;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!sl_kms_seal(sealer, generation, records[i].data, records[i].data_len, out)) {
            rc = SL_EIO;
            break;
        }
        records[i].data = out;
        records[i].data_len += SL_KMS_SEAL_OVERHEAD;
        out += records[i].data_len;
    }
    sl_kms_sealer_destroy(sealer);
    return rc;
}

int fh_keys_open(const fh_stream_t *s, sl_read_result_t *res) {
    uint16_t count = __atomic_load_n(&s->dk_count, __ATOMIC_ACQUIRE);
    if (!count) return 0;
    sl_kms_sealer_t *openers[FH_DATA_KEYS_MAX] = {0};
    int rc = 0;
    for (size_t i = 0; i < res->count; i++) {
        sl_record_t *r = &res->records[i];
        uint16_t gen = 0;
        if (!sl_kms_sealed(r->data, r->data_len, &gen) || gen == 0 || gen > count) continue;
        const fh_datakey_t *dk = &s->dks[gen - 1];
        if (!dk->usable) {
            rc = SL_EIO; /* its key cannot be unwrapped: the record cannot be delivered */
            break;
        }
        if (!openers[gen - 1] && sl_kms_sealer_create(dk->key, false, &openers[gen - 1]) != 0) {
            rc = SL_ENOMEM;
            break;
        }
        size_t plain = 0;
        /* a read result is the reader's own memory; a record that does not authenticate (a
         * plaintext record that starts like a sealed one) stays as stored */
        if (sl_kms_open(openers[gen - 1], (uint8_t *)r->data, r->data_len, &plain))
            r->data_len = plain;
    }
    for (size_t i = 0; i < FH_DATA_KEYS_MAX; i++)
        sl_kms_sealer_destroy(openers[i]);
    return rc;
}
