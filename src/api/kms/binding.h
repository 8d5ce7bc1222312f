/* The KMS binding (AWS JSON 1.1, target prefix TrentService, signing name "kms"): CreateKey,
 * DescribeKey, ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion,
 * CreateAlias, ListAliases, DeleteAlias, Encrypt, Decrypt, GenerateDataKey and
 * GenerateDataKeyWithoutPlaintext over kms/kms.h (docs/security.md, "KMS"); the other operations
 * answer UnsupportedOperationException. The descriptor's account hook must leave the caller's
 * sl_kmsapi_account_t in call->account. */
#ifndef SL_API_KMS_BINDING_H
#define SL_API_KMS_BINDING_H

#include "front/front.h"
#include "kms/kms.h"

/* An account as the binding sees it (owned by the composition root). */
typedef struct {
    sl_kms_t *kms;
    char id[16];
} sl_kmsapi_account_t;

/* Fills *svc with the KMS descriptor (the composition root sets the account hook). */
void sl_kmsapi_describe(sl_front_service_t *svc);

#endif
