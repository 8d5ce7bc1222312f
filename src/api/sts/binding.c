/* The STS binding (see binding.h). */
#include "api/sts/binding.h"

#include "api/sts/model.h"
#include "core/common.h"
#include "wire/awserror.h"
#include "wire/sigv4.h"
#include "wire/xml.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

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

static sl_sts_hooks_t g_hooks;

static void iso_time(int64_t s, char out[32]) {
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* GetSessionToken: DurationSeconds 900..129600 (default 43200, 12 hours); not with temporary
 * credentials, as on AWS. */
static void op_get_session_token(sl_front_call_t *call) {
    int64_t duration = 43200;
    sl_val_get_int(call->in, "DurationSeconds", &duration);
    if (duration < 900 || duration > 129600) {
        sl_front_fail(call, SL_AWS_VALIDATION,
                      "1 validation error detected: Value '%lld' at 'durationSeconds' failed to "
                      "satisfy constraint: Member must have value %s",
                      (long long)duration,
                      duration < 900 ? "greater than or equal to 900"
                                     : "less than or equal to 129600");
        return;
    }
    if (call->principal && call->principal->temporary) {
        sl_front_fail(call, SL_AWS_ACCESS_DENIED,
                      "Cannot call GetSessionToken with session credentials");
        return;
    }
    sl_sts_hooks_t *is = call->binding;
    sl_iam_session_creds_t *c = sl_arena_alloc(call->arena, sizeof *c);
    int64_t expiration = call->now_ms / 1000 + duration;
    int rc = c ? is->issue(is->ctx, call->principal, call->account, expiration, c) : SL_ENOMEM;
    if (rc) {
        sl_front_fail_internal(call, rc);
        return;
    }
    char date[32];
    iso_time(expiration, date);
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_open(&w, "Credentials", NULL);
    sl_xml_element(&w, "AccessKeyId", c->access_key_id);
    sl_xml_element(&w, "SecretAccessKey", c->secret);
    sl_xml_element(&w, "SessionToken", c->session_token);
    sl_xml_element(&w, "Expiration", date);
    sl_xml_close(&w);
    memset(c, 0, sizeof *c); /* before the answer goes: it frees the arena */
    sl_front_query_end(call, &w);
}

/* AssumeRole: DurationSeconds 900.. the role's MaxSessionDuration (default 3600; the model's
 * bounds, 900..43200, are the front's validation), an inline session Policy and an ExternalId
 * (the composition root's hook decides). */
static void op_assume_role(sl_front_call_t *call) {
    sl_sts_hooks_t *is = call->binding;
    sl_sts_assume_t *op = sl_arena_calloc(call->arena, 1, sizeof *op);
    if (!op) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    op->duration_s = 3600;
    sl_val_get_int(call->in, "DurationSeconds", &op->duration_s);
    op->caller = call->principal;
    op->account = call->account;
    op->role_arn = sl_val_get_str(call->in, "RoleArn", NULL);
    op->session_name = sl_val_get_str(call->in, "RoleSessionName", NULL);
    op->policy = sl_val_get_str(call->in, "Policy", NULL);
    op->external_id = sl_val_get_str(call->in, "ExternalId", NULL);
    op->policy_arns = sl_val_get(call->in, "PolicyArns") != NULL;
    op->now_s = call->now_ms / 1000;
    int rc = is->assume(is->ctx, op);
    if (rc) {
        sl_front_fail_internal(call, rc);
        return;
    }
    if (op->error_type) {
        sl_front_fail(call, op->error_type, "%s", op->error_message);
        return;
    }
    char date[32];
    iso_time(op->expiration_s, date);
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_open(&w, "Credentials", NULL);
    sl_xml_element(&w, "AccessKeyId", op->creds.access_key_id);
    sl_xml_element(&w, "SecretAccessKey", op->creds.secret);
    sl_xml_element(&w, "SessionToken", op->creds.session_token);
    sl_xml_element(&w, "Expiration", date);
    sl_xml_close(&w);
    sl_xml_open(&w, "AssumedRoleUser", NULL);
    sl_xml_element(&w, "AssumedRoleId", op->assumed_role_id);
    sl_xml_element(&w, "Arn", op->assumed_role_arn);
    sl_xml_close(&w);
    memset(&op->creds, 0, sizeof op->creds); /* before the answer goes: it frees the arena */
    sl_front_query_end(call, &w);
}

static void op_unsupported(sl_front_call_t *call) {
    sl_front_fail(call, SL_AWS_INTERNAL_FAILURE, "%s is not supported by this server.",
                  call->op->name);
}

static sl_front_op_fn handler(const char *op_name) {
    if (strcmp(op_name, "GetCallerIdentity") == 0) return op_get_caller_identity;
    if (strcmp(op_name, "GetSessionToken") == 0) return op_get_session_token;
    if (strcmp(op_name, "AssumeRole") == 0) return op_assume_role;
    return op_unsupported;
}

void sl_sts_describe(sl_front_service_t *svc, const sl_sts_hooks_t *hooks) {
    g_hooks = *hooks;
    *svc = (sl_front_service_t){
        .binding = &g_hooks,
        .name = "sts",
        .protocol = SL_FRONT_PROTO_QUERY,
        .model = &sl_sts_model,
        .handler = handler,
        .signing_name = sl_sts_model.signing_name,
        .xml_namespace = "https://sts.amazonaws.com/doc/2011-06-15/",
    };
}
