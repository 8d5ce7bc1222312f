/* The STS binding (see binding.h). */
#include "api/sts/binding.h"

#include "api/sts/model.h"
#include "wire/awserror.h"
#include "wire/sigv4.h"
#include "wire/xml.h"

#include <stdio.h>
#include <string.h>

/* An IAM user's unique id as AWS shapes them ("AIDA" + 17 characters), derived from its ARN so
 * that it is stable across restarts. */
static void user_id_of(const char *arn, char out[22]) {
    char hex[65];
    sl_sigv4_sha256_hex(arn, strlen(arn), hex);
    memcpy(out, "AIDA", 4);
    for (int i = 0; i < 17; i++)
        out[4 + i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
    out[21] = 0;
}

static void op_get_caller_identity(sl_front_call_t *call) {
    const char *account = call->account;
    char arn[SL_AUTH_ARN_BYTES_MAX + 32], user_id[22];
    if (call->principal) {
        snprintf(arn, sizeof arn, "%s", call->principal->arn);
        user_id_of(arn, user_id);
    } else { /* open mode: the account's root */
        snprintf(arn, sizeof arn, "arn:aws:iam::%s:root", account);
        snprintf(user_id, sizeof user_id, "%s", account);
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_element(&w, "Arn", arn);
    sl_xml_element(&w, "UserId", user_id);
    sl_xml_element(&w, "Account", account);
    sl_front_query_end(call, &w);
}

static void op_unsupported(sl_front_call_t *call) {
    sl_front_fail(call, SL_AWS_INTERNAL_FAILURE, "%s is not supported by this server.",
                  call->op->name);
}

static sl_front_op_fn handler(const char *op_name) {
    if (strcmp(op_name, "GetCallerIdentity") == 0) return op_get_caller_identity;
    return op_unsupported;
}

void sl_sts_describe(sl_front_service_t *svc) {
    *svc = (sl_front_service_t){
        .name = "sts",
        .protocol = SL_FRONT_PROTO_QUERY,
        .model = &sl_sts_model,
        .handler = handler,
        .signing_name = sl_sts_model.signing_name,
        .xml_namespace = "https://sts.amazonaws.com/doc/2011-06-15/",
    };
}
