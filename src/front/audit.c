/* The audit log (--audit-log FILE, docs/security.md "Audit log"): one JSON line per request that
 * reached a service, with CloudTrail's field names. The record is attached to the request when it
 * is routed to a service (sl_front_audit_begin), filled as the front learns the operation, the
 * principal and the validated input (sl_front_audit_note) and the error it answers
 * (sl_front_audit_error), and written when the answer is sent (sl_front_audit_emit, from
 * respond.c) to the line log's writer thread: no network thread touches the file.
 *
 * Never logged: secrets, session tokens, record data, item contents, KMS plaintexts. The request
 * parameters are the input's top-level strings, numbers, booleans and timestamps only (no blob,
 * list, map or structure), without the members that carry data or bearer tokens. */
#include "front/internal.h"

#include "core/linelog.h"
#include "core/time.h"
#include "wire/enc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

struct sl_front_audit {
    sl_linelog_t *log;
    const char *region; /* the front's */
    const sl_front_service_t *svc;
    const sl_op_t *op;
    const sl_front_principal_t *principal;
    const sl_val_t *in;
    const char *access_key_id;
    const char *request_id;
    const char *error_type;
    const char *error_message;
    int64_t time_ms;
    bool emitted;
};

/* Members that may carry data, secrets or bearer tokens: never logged. */
static bool secret_member(const char *key, size_t len) {
    static const char *const names[] = {"PartitionKey", "ExplicitHashKey",  "ShardIterator",
                                        "SessionToken", "SecretAccessKey",  "Password",
                                        "Plaintext",    "CiphertextBlob",   "Data",
                                        "NextToken",    "ContinuationToken"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && memcmp(names[i], key, len) == 0) return true;
    return false;
}

void sl_front_audit_begin(const sl_front_t *front, sl_http_req_t *req, const char *request_id,
                          const sl_front_service_t *svc) {
    if (!front->audit) return;
    sl_front_audit_t *a = sl_arena_calloc(req->arena, 1, sizeof *a);
    if (!a) return;
    a->log = front->audit;
    a->region = front->region;
    a->svc = svc;
    a->request_id = sl_arena_strndup(req->arena, request_id, strlen(request_id));
    a->time_ms = sl_time_now_ms();
    req->user = a;
}

void sl_front_audit_note(sl_http_req_t *req, const sl_op_t *op,
                         const sl_front_principal_t *principal, const char *access_key_id,
                         const sl_val_t *in) {
    sl_front_audit_t *a = req->user;
    if (!a) return;
    if (op) a->op = op;
    if (principal) a->principal = principal;
    if (access_key_id) a->access_key_id = access_key_id;
    if (in) a->in = in;
}

void sl_front_audit_error(sl_http_req_t *req, const char *type, const char *message) {
    sl_front_audit_t *a = req->user;
    if (!a || a->emitted) return;
    a->error_type = type ? sl_arena_strndup(req->arena, type, strlen(type)) : "InternalFailure";
    a->error_message = message ? sl_arena_strndup(req->arena, message, strlen(message)) : NULL;
}

static void iso_time(int64_t ms, char out[32]) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void params(sl_enc_t *e, const sl_val_t *in) {
    sl_enc_key(e, "requestParameters");
    if (!in || in->type != SL_VAL_MAP) {
        sl_enc_null(e);
        return;
    }
    sl_enc_map_begin(e);
    for (size_t i = 0; i < in->u.map.count; i++) {
        const sl_kv_t *kv = &in->u.map.items[i];
        const sl_val_t *v = kv->val;
        if (!v || secret_member(kv->key, kv->key_len)) continue;
        /* CloudTrail's parameter names start lower-case */
        char name[128];
        size_t n = kv->key_len < sizeof name - 1 ? kv->key_len : sizeof name - 1;
        memcpy(name, kv->key, n);
        name[n] = '\0';
        if (name[0] >= 'A' && name[0] <= 'Z') name[0] = (char)(name[0] - 'A' + 'a');
        switch (v->type) {
        case SL_VAL_STRING:
            sl_enc_kv_str(e, name, v->u.str.ptr, v->u.str.len);
            break;
        case SL_VAL_NUMBER:
            sl_enc_key(e, name);
            if (v->u.num.is_integer)
                sl_enc_int(e, v->u.num.i);
            else
                sl_enc_double(e, v->u.num.d);
            break;
        case SL_VAL_BOOL:
            sl_enc_kv_bool(e, name, v->u.b);
            break;
        case SL_VAL_TIMESTAMP:
            sl_enc_key(e, name);
            sl_enc_timestamp_ms(e, v->u.ts_ms);
            break;
        default:
            break;
        }
    }
    sl_enc_map_end(e);
}

void sl_front_audit_emit(sl_http_req_t *req, int status) {
    sl_front_audit_t *a = req->user;
    if (!a || a->emitted) return;
    a->emitted = true;
    if (status >= 400 && !a->error_type) a->error_type = status >= 500 ? "InternalFailure" : "";
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    char when[32], source[96];
    iso_time(a->time_ms, when);
    const char *signing = a->svc->signing_name ? a->svc->signing_name : a->svc->name;
    snprintf(source, sizeof source, "%s.amazonaws.com", signing);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "eventVersion", "1.08");
    sl_enc_key(&e, "userIdentity");
    sl_enc_map_begin(&e);
    const sl_front_principal_t *p = a->principal;
    if (p) {
        sl_enc_kv_cstr(&e, "type", p->role ? "AssumedRole" : "IAMUser");
        sl_enc_kv_cstr(&e, "arn", p->arn);
        sl_enc_kv_cstr(&e, "accountId", p->account_id);
        if (!p->role) sl_enc_kv_cstr(&e, "userName", p->user_name);
    } else {
        /* open mode: the account the access key names */
        sl_enc_kv_cstr(&e, "type", "Root");
        const char *k = a->access_key_id;
        if (k && strlen(k) == 12 && strspn(k, "0123456789") == 12)
            sl_enc_kv_cstr(&e, "accountId", k);
    }
    if (a->access_key_id) sl_enc_kv_cstr(&e, "accessKeyId", a->access_key_id);
    sl_enc_map_end(&e);
    sl_enc_kv_cstr(&e, "eventTime", when);
    sl_enc_kv_cstr(&e, "eventSource", source);
    sl_enc_kv_cstr(&e, "eventName", a->op ? a->op->name : "");
    sl_enc_kv_cstr(&e, "awsRegion", a->region);
    sl_enc_kv_cstr(&e, "sourceIPAddress", req->peer_ip ? req->peer_ip : "");
    const sl_http_header_t *ua = sl_http_req_header(req, "user-agent");
    if (ua) sl_enc_kv_str(&e, "userAgent", ua->value, ua->value_len);
    params(&e, a->in);
    sl_enc_key(&e, "responseElements");
    sl_enc_null(&e);
    if (a->error_type) {
        sl_enc_kv_cstr(&e, "errorCode", a->error_type);
        if (a->error_message) sl_enc_kv_cstr(&e, "errorMessage", a->error_message);
    }
    sl_enc_kv_cstr(&e, "requestID", a->request_id);
    sl_enc_kv_cstr(&e, "eventType", "AwsApiCall");
    if (p) sl_enc_kv_cstr(&e, "recipientAccountId", p->account_id);
    sl_enc_map_end(&e);
    if (!sl_buf_failed(&b)) sl_linelog_write(a->log, (const char *)b.data, b.len);
    sl_buf_free(&b);
}
