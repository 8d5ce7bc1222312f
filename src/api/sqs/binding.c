/* The SQS binding (see binding.h): decode the validated input, call the SQS core, encode the
 * answer in the call's protocol (JSON, or the Query protocol's XML with its flattened lists). */
#include "api/sqs/binding.h"

#include "api/sqs/model.h"
#include "core/common.h"
#include "wire/awserror.h"
#include "wire/base64.h"
#include "wire/enc.h"
#include "wire/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQS_XMLNS "http://queue.amazonaws.com/doc/2012-11-05/"

/* ---- errors ---- */

static void fail_err(sl_front_call_t *call, const sl_sqs_err_t *err) {
    char type[96];
    snprintf(type, sizeof type, "com.amazonaws.sqs#%s", sl_sqs_err_name(err->type));
    const char *t = sl_arena_strndup(call->arena, type, strlen(type));
    sl_front_fail_compat(call, sl_sqs_err_status(err->type), t ? t : "InternalError",
                         sl_sqs_err_code(err->type), err->message);
}

static void fail_type(sl_front_call_t *call, sl_sqs_err_type_t type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_type(sl_front_call_t *call, sl_sqs_err_type_t type, const char *fmt, ...) {
    sl_sqs_err_t err = {.type = type};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof err.message, fmt, ap);
    va_end(ap);
    fail_err(call, &err);
}

/* ---- the answer, in JSON or Query XML ---- */

typedef struct {
    sl_front_call_t *call;
    sl_xml_writer_t w;
} out_t;

static void o_begin(out_t *o, sl_front_call_t *call, bool result) {
    o->call = call;
    if (call->query) {
        sl_front_query_begin(call, &o->w, result);
    } else {
        sl_enc_init(&call->enc, &call->out, call->fmt);
        sl_enc_map_begin(&call->enc);
    }
}

static void o_end(out_t *o) {
    if (o->call->query) {
        sl_front_query_end(o->call, &o->w);
    } else {
        sl_enc_map_end(&o->call->enc);
        sl_front_reply(o->call);
    }
}

static void o_str_n(out_t *o, const char *k, const char *v, size_t len) {
    if (o->call->query)
        sl_xml_element_len(&o->w, k, v, len);
    else
        sl_enc_kv_str(&o->call->enc, k, v, len);
}

static void o_str(out_t *o, const char *k, const char *v) {
    o_str_n(o, k, v, strlen(v));
}

/* A structure member `k` (JSON) that is an element `xml` (Query; a flattened list's item). */
static void o_obj_begin(out_t *o, const char *k, const char *xml) {
    if (o->call->query) {
        sl_xml_open(&o->w, xml, NULL);
    } else {
        if (k) sl_enc_key(&o->call->enc, k);
        sl_enc_map_begin(&o->call->enc);
    }
}

static void o_obj_end(out_t *o) {
    if (o->call->query)
        sl_xml_close(&o->w);
    else
        sl_enc_map_end(&o->call->enc);
}

/* A list member: JSON array; Query: flattened (its items are elements of the parent). */
static void o_list_begin(out_t *o, const char *k) {
    if (!o->call->query) {
        sl_enc_key(&o->call->enc, k);
        sl_enc_array_begin(&o->call->enc);
    }
}

static void o_list_end(out_t *o) {
    if (!o->call->query) sl_enc_array_end(&o->call->enc);
}

/* A string-to-string map: JSON object; Query: flattened <xml><Name/><Value/></xml> entries. */
static void o_map_begin(out_t *o, const char *k) {
    if (!o->call->query) {
        sl_enc_key(&o->call->enc, k);
        sl_enc_map_begin(&o->call->enc);
    }
}

static void o_map_entry(out_t *o, const char *xml, const char *name, const char *value) {
    if (o->call->query) {
        sl_xml_open(&o->w, xml, NULL);
        sl_xml_element(&o->w, "Name", name);
        sl_xml_element(&o->w, "Value", value);
        sl_xml_close(&o->w);
    } else {
        sl_enc_kv_cstr(&o->call->enc, name, value);
    }
}

static void o_map_end(out_t *o) {
    if (!o->call->query) sl_enc_map_end(&o->call->enc);
}

/* ---- input ---- */

static const char *in_str(sl_front_call_t *call, const char *name) {
    return sl_val_get_str(call->in, name, NULL);
}

static int in_int(sl_front_call_t *call, const char *name, int dflt) {
    int64_t v;
    if (!sl_val_get_int(call->in, name, &v)) return dflt;
    return v > 1000000000 ? 1000000000 : v < -1000000000 ? -1000000000 : (int)v;
}

/* The queue name a QueueUrl names (its last path segment; the segment before it, when it is an
 * account id, must be the caller's account), or NULL after answering QueueDoesNotExist. */
static const char *queue_of_url(sl_front_call_t *call, const char *url) {
    sl_sqs_t *sqs = call->account;
    if (!url || !*url) {
        fail_type(call, SL_SQS_MISSING_PARAMETER,
                  "The request must contain the parameter QueueUrl.");
        return NULL;
    }
    const char *path = strstr(url, "://");
    path = path ? strchr(path + 3, '/') : url;
    if (!path) path = "";
    const char *last = strrchr(path, '/');
    const char *name = last ? last + 1 : path;
    if (last && last > path) {
        const char *prev = last - 1;
        while (prev > path && *prev != '/')
            prev--;
        const char *acct = *prev == '/' ? prev + 1 : prev;
        size_t alen = (size_t)(last - acct);
        if (alen == 12 && strspn(acct, "0123456789") >= 12 &&
            strncmp(acct, sl_sqs_account(sqs), 12) != 0)
            name = "";
    }
    if (!*name) {
        fail_type(call, SL_SQS_QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
        return NULL;
    }
    return name;
}

/* The queue URL of `name` as the client reached this server. */
static const char *queue_url(sl_front_call_t *call, const char *name) {
    const sl_http_header_t *h = sl_http_req_header(call->req, "host");
    char url[512];
    snprintf(url, sizeof url, "%s://%s/%s/%s", call->req->tls ? "https" : "http",
             h ? h->value : "localhost", sl_sqs_account(call->account), name);
    const char *u = sl_arena_strndup(call->arena, url, strlen(url));
    return u ? u : "";
}

/* The string map member `name` ({"k":"v"}) as pairs in the arena; false after answering. */
static bool in_kvs(sl_front_call_t *call, const char *name, sl_sqs_kv_t **out, size_t *count) {
    *out = NULL;
    *count = 0;
    const sl_val_t *m = sl_val_get(call->in, name);
    if (!m || m->type != SL_VAL_MAP || m->u.map.count == 0) return true;
    sl_sqs_kv_t *kvs = sl_arena_calloc(call->arena, m->u.map.count, sizeof *kvs);
    if (!kvs) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return false;
    }
    for (size_t i = 0; i < m->u.map.count; i++) {
        const sl_kv_t *kv = &m->u.map.items[i];
        const char *k = sl_arena_strndup(call->arena, kv->key, kv->key_len);
        if (!k) {
            sl_front_fail_internal(call, SL_ENOMEM);
            return false;
        }
        const char *v = kv->val && kv->val->type == SL_VAL_STRING ? kv->val->u.str.ptr : "";
        kvs[(*count)++] = (sl_sqs_kv_t){k, v};
    }
    *out = kvs;
    return true;
}

/* The string list member `name` in the arena. */
static const char **in_list(sl_front_call_t *call, const char *name, size_t *count) {
    *count = 0;
    const sl_val_t *l = sl_val_get(call->in, name);
    if (!l || l->type != SL_VAL_ARRAY || l->u.arr.count == 0) return NULL;
    const char **out = sl_arena_calloc(call->arena, l->u.arr.count, sizeof *out);
    if (!out) return NULL;
    for (size_t i = 0; i < l->u.arr.count; i++)
        if (l->u.arr.items[i] && l->u.arr.items[i]->type == SL_VAL_STRING)
            out[(*count)++] = l->u.arr.items[i]->u.str.ptr;
    return out;
}

/* Message attributes of a send entry ({"name": {"DataType", "StringValue"|"BinaryValue"}}). */
static bool in_msg_attrs(sl_front_call_t *call, const sl_val_t *entry, sl_sqs_attr_t **out,
                         size_t *count) {
    *out = NULL;
    *count = 0;
    const sl_val_t *m = sl_val_get(entry, "MessageAttributes");
    if (!m || m->type != SL_VAL_MAP || m->u.map.count == 0) return true;
    sl_sqs_attr_t *attrs = sl_arena_calloc(call->arena, m->u.map.count, sizeof *attrs);
    if (!attrs) return false;
    for (size_t i = 0; i < m->u.map.count; i++) {
        const sl_kv_t *kv = &m->u.map.items[i];
        sl_sqs_attr_t *a = &attrs[(*count)++];
        a->name = sl_arena_strndup(call->arena, kv->key, kv->key_len);
        if (!a->name) return false;
        a->data_type = sl_val_get_str(kv->val, "DataType", NULL);
        if (!a->data_type) a->data_type = "";
        size_t len = 0;
        const char *v = strncmp(a->data_type, "Binary", 6) == 0
                            ? sl_val_get_str(kv->val, "BinaryValue", &len)
                            : sl_val_get_str(kv->val, "StringValue", &len);
        if (!v) { /* BinaryValue arrives as bytes */
            const sl_val_t *b = sl_val_get(
                kv->val, strncmp(a->data_type, "Binary", 6) == 0 ? "BinaryValue" : "StringValue");
            if (b && (b->type == SL_VAL_BYTES || b->type == SL_VAL_STRING)) {
                v = b->u.str.ptr;
                len = b->u.str.len;
            }
        }
        a->value = (const uint8_t *)v;
        a->value_len = v ? len : 0;
    }
    *out = attrs;
    return true;
}

/* ---- completions ---- */

typedef struct {
    int status;
    sl_sqs_sent_t sent;
    sl_sqs_received_t *received;
    const char *url;
    /* batches */
    int pending; /* completions still to come (+1 for the issuing thread) */
    size_t count;
    const char **ids;
    int *statuses;
    sl_sqs_sent_t *sents;
    sl_sqs_err_t *errs; /* type SL_SQS_OK: accepted */
    void (*finish)(sl_front_call_t *call);
} state_t;

static void empty_finish(sl_front_call_t *call) {
    state_t *st = call->state;
    if (st->status) {
        sl_front_fail_internal(call, st->status);
        return;
    }
    out_t o;
    o_begin(&o, call, false);
    o_end(&o);
}

static void durable_done(void *ctx, int status) {
    sl_front_call_t *call = ctx;
    state_t *st = call->state;
    st->status = status;
    sl_front_post(call, st->finish);
}

static state_t *new_state(sl_front_call_t *call, void (*finish)(sl_front_call_t *call)) {
    state_t *st = sl_arena_calloc(call->arena, 1, sizeof *st);
    if (!st) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return NULL;
    }
    st->finish = finish;
    call->state = st;
    return st;
}

/* ---- queues ---- */

static void create_finish(sl_front_call_t *call) {
    state_t *st = call->state;
    if (st->status) {
        sl_front_fail_internal(call, st->status);
        return;
    }
    out_t o;
    o_begin(&o, call, true);
    o_str(&o, "QueueUrl", st->url);
    o_end(&o);
}

static void op_create_queue(sl_front_call_t *call) {
    const char *name = in_str(call, "QueueName");
    sl_sqs_kv_t *attrs, *tags;
    size_t attr_count, tag_count;
    if (!in_kvs(call, "Attributes", &attrs, &attr_count)) return;
    if (!in_kvs(call, "tags", &tags, &tag_count)) return;
    state_t *st = new_state(call, create_finish);
    if (!st) return;
    st->url = queue_url(call, name);
    sl_sqs_err_t err;
    if (sl_sqs_create_queue(call->account, name, attrs, attr_count, tags, tag_count, call->now_ms,
                            &err, durable_done, call) != 0)
        fail_err(call, &err);
}

static void op_get_queue_url(sl_front_call_t *call) {
    const char *name = in_str(call, "QueueName");
    const char *owner = in_str(call, "QueueOwnerAWSAccountId");
    sl_sqs_err_t err;
    if (owner && strcmp(owner, sl_sqs_account(call->account)) != 0) {
        fail_type(call, SL_SQS_QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
        return;
    }
    if (sl_sqs_queue_exists(call->account, name, &err) != 0) {
        fail_err(call, &err);
        return;
    }
    out_t o;
    o_begin(&o, call, true);
    o_str(&o, "QueueUrl", queue_url(call, name));
    o_end(&o);
}

static void op_list_queues(sl_front_call_t *call) {
    const char *prefix = in_str(call, "QueueNamePrefix");
    const char *token = in_str(call, "NextToken");
    int max = in_int(call, "MaxResults", 0);
    if (sl_val_get(call->in, "MaxResults") && (max < 1 || max > 1000)) {
        fail_type(call, SL_SQS_INVALID_PARAMETER_VALUE,
                  "Value %d for parameter MaxResults is invalid. Reason: MaxResults must be an "
                  "integer between 1 and 1000.",
                  max);
        return;
    }
    char **names;
    size_t count;
    bool more;
    int rc = sl_sqs_list_queues(call->account, prefix && *prefix ? prefix : NULL,
                                token && *token ? token : NULL, max ? (size_t)max : 1000, &names,
                                &count, &more);
    if (rc) {
        sl_front_fail_internal(call, rc);
        return;
    }
    out_t o;
    o_begin(&o, call, true);
    if (count) {
        o_list_begin(&o, "QueueUrls");
        for (size_t i = 0; i < count; i++) {
            if (call->query)
                sl_xml_element(&o.w, "QueueUrl", queue_url(call, names[i]));
            else
                sl_enc_cstr(&call->enc, queue_url(call, names[i]));
        }
        o_list_end(&o);
    }
    /* the token is the last name listed (only with MaxResults, as on SQS) */
    if (more && max) o_str(&o, "NextToken", names[count - 1]);
    sl_sqs_names_free(names, count);
    o_end(&o);
}

static void op_delete_queue(sl_front_call_t *call) {
    const char *name = queue_of_url(call, in_str(call, "QueueUrl"));
    if (!name || !new_state(call, empty_finish)) return;
    sl_sqs_err_t err;
    if (sl_sqs_delete_queue(call->account, name, &err, durable_done, call) != 0)
        fail_err(call, &err);
}

static void op_purge_queue(sl_front_call_t *call) {
    const char *name = queue_of_url(call, in_str(call, "QueueUrl"));
    if (!name || !new_state(call, empty_finish)) return;
    sl_sqs_err_t err;
    if (sl_sqs_purge(call->account, name, call->now_ms, &err, durable_done, call) != 0)
        fail_err(call, &err);
}

static void op_get_queue_attributes(sl_front_call_t *call) {
    const char *name = queue_of_url(call, in_str(call, "QueueUrl"));
    if (!name) return;
    size_t n;
    const char **names = in_list(call, "AttributeNames", &n);
    sl_sqs_kv_t *kvs;
    size_t count;
    sl_sqs_err_t err;
    if (sl_sqs_get_attributes(call->account, name, names, n, call->now_ms, &kvs, &count, &err) !=
        0) {
        fail_err(call, &err);
        return;
    }
    out_t o;
    o_begin(&o, call, true);
    if (count) {
        o_map_begin(&o, "Attributes");
        for (size_t i = 0; i < count; i++)
            o_map_entry(&o, "Attribute", kvs[i].name, kvs[i].value);
        o_map_end(&o);
    }
    sl_sqs_kvs_free(kvs, count);
    o_end(&o);
}

static void op_set_queue_attributes(sl_front_call_t *call) {
    const char *name = queue_of_url(call, in_str(call, "QueueUrl"));
    sl_sqs_kv_t *attrs;
    size_t count;
    if (!name || !in_kvs(call, "Attributes", &attrs, &count)) return;
    if (!new_state(call, empty_finish)) return;
    sl_sqs_err_t err;
    if (sl_sqs_set_attributes(call->account, name, attrs, count, call->now_ms, &err, durable_done,
                              call) != 0)
        fail_err(call, &err);
}

/* ---- messages ---- */

/* The send request of an entry (SendMessage's input or a batch entry); false after failing. */
static bool send_req(sl_front_call_t *call, const char *queue, const sl_val_t *entry,
                     sl_sqs_send_t *req) {
    size_t len = 0;
    const char *body = sl_val_get_str(entry, "MessageBody", &len);
    int64_t delay = -1;
    if (!sl_val_get_int(entry, "DelaySeconds", &delay)) delay = -1;
    if (delay < -1 || delay > 1000000) delay = 1000000;
    *req = (sl_sqs_send_t){.queue = queue,
                           .body = (const uint8_t *)body,
                           .body_len = body ? len : 0,
                           .delay_seconds = (int)delay,
                           .group_id = sl_val_get_str(entry, "MessageGroupId", NULL),
                           .dedup_id = sl_val_get_str(entry, "MessageDeduplicationId", NULL)};
    if (delay < 0 && sl_val_get(entry, "DelaySeconds")) req->delay_seconds = 1000000;
    return in_msg_attrs(call, entry, (sl_sqs_attr_t **)&req->attrs, &req->attr_count);
}

static void send_finish(sl_front_call_t *call) {
    state_t *st = call->state;
    if (st->status) {
        sl_front_fail_internal(call, st->status);
        return;
    }
    out_t o;
    o_begin(&o, call, true);
    o_str(&o, "MD5OfMessageBody", st->sent.md5_body);
    if (st->sent.md5_attrs[0]) o_str(&o, "MD5OfMessageAttributes", st->sent.md5_attrs);
    o_str(&o, "MessageId", st->sent.message_id);
    if (st->sent.sequence_number[0]) o_str(&o, "SequenceNumber", st->sent.sequence_number);
    o_end(&o);
}

static void op_send_message(sl_front_call_t *call) {
    const char *name = queue_of_url(call, in_str(call, "QueueUrl"));
    if (!name) return;
    sl_sqs_send_t req;
    if (!send_req(call, name, call->in, &req)) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    state_t *st = new_state(call, send_finish);
    if (!st) return;
    sl_sqs_err_t err;
    if (sl_sqs_send(call->account, &req, call->now_ms, &st->sent, &err, durable_done, call) != 0)
        fail_err(call, &err);
}

/* Batch entries: their ids checked as SQS checks them; false after failing. */
static const sl_val_t *batch_entries(sl_front_call_t *call, const char *what, size_t *count) {
    const sl_val_t *l = sl_val_get(call->in, "Entries");
    *count = l && l->type == SL_VAL_ARRAY ? l->u.arr.count : 0;
    if (*count == 0) {
        fail_type(call, SL_SQS_EMPTY_BATCH,
                  "There should be at least one %sBatchRequestEntry in the request.", what);
        return NULL;
    }
    if (*count > SL_SQS_BATCH_MAX) {
        fail_type(call, SL_SQS_TOO_MANY_ENTRIES,
                  "Maximum number of entries per request are %d. You have sent %zu.",
                  SL_SQS_BATCH_MAX, *count);
        return NULL;
    }
    for (size_t i = 0; i < *count; i++) {
        const char *id = sl_val_get_str(l->u.arr.items[i], "Id", NULL);
        size_t n = id ? strlen(id) : 0;
        bool ok = n > 0 && n <= 80;
        for (size_t k = 0; ok && k < n; k++) {
            char c = id[k];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_';
        }
        if (!ok) {
            fail_type(call, SL_SQS_INVALID_BATCH_ENTRY_ID,
                      "A batch entry id can only contain alphanumeric characters, hyphens and "
                      "underscores. It can be at most 80 letters long.");
            return NULL;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(sl_val_get_str(l->u.arr.items[k], "Id", NULL), id) == 0) {
                fail_type(call, SL_SQS_BATCH_IDS_NOT_DISTINCT, "Id %s repeated.", id);
                return NULL;
            }
    }
    return l;
}

static bool batch_state(sl_front_call_t *call, size_t count, void (*finish)(sl_front_call_t *)) {
    state_t *st = new_state(call, finish);
    if (!st) return false;
    st->count = count;
    st->ids = sl_arena_calloc(call->arena, count, sizeof *st->ids);
    st->statuses = sl_arena_calloc(call->arena, count, sizeof *st->statuses);
    st->sents = sl_arena_calloc(call->arena, count, sizeof *st->sents);
    st->errs = sl_arena_calloc(call->arena, count, sizeof *st->errs);
    if (!st->ids || !st->statuses || !st->sents || !st->errs) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return false;
    }
    st->pending = 1;
    return true;
}

typedef struct {
    sl_front_call_t *call;
    size_t index;
} entry_ctx_t;

static void batch_one_done(void *ctx, int status) {
    entry_ctx_t *e = ctx;
    state_t *st = e->call->state;
    st->statuses[e->index] = status;
    if (__atomic_sub_fetch(&st->pending, 1, __ATOMIC_ACQ_REL) == 0)
        sl_front_post(e->call, st->finish);
}

/* The issuing thread's share of the pending count: the last one out posts the answer. */
static void batch_issued(sl_front_call_t *call) {
    state_t *st = call->state;
    if (__atomic_sub_fetch(&st->pending, 1, __ATOMIC_ACQ_REL) == 0) sl_front_post(call, st->finish);
}

static void batch_failed_entry(out_t *o, const char *id, const sl_sqs_err_t *err, int status) {
    o_obj_begin(o, NULL, "BatchResultErrorEntry");
    o_str(o, "Id", id);
    bool internal = status != 0 || err->type == SL_SQS_INTERNAL_ERROR;
    if (o->call->query) {
        sl_xml_element(&o->w, "SenderFault", internal ? "false" : "true");
    } else {
        sl_enc_kv_bool(&o->call->enc, "SenderFault", !internal);
    }
    o_str(o, "Code", internal ? "InternalError" : sl_sqs_err_code(err->type));
    o_str(o, "Message", internal && status ? sl_strerror(status) : err->message);
    o_obj_end(o);
}

/* Writes the failed entries (the Failed list) of a batch answer. */
static void batch_failures(out_t *o, const state_t *st) {
    size_t failed = 0;
    for (size_t i = 0; i < st->count; i++)
        failed += st->errs[i].type != SL_SQS_OK || st->statuses[i] != 0;
    if (!failed && o->call->query) return;
    o_list_begin(o, "Failed");
    for (size_t i = 0; i < st->count; i++)
        if (st->errs[i].type != SL_SQS_OK || st->statuses[i] != 0)
            batch_failed_entry(o, st->ids[i], &st->errs[i], st->statuses[i]);
    o_list_end(o);
}

static void send_batch_finish(sl_front_call_t *call) {
    state_t *st = call->state;
    out_t o;
    o_begin(&o, call, true);
    o_list_begin(&o, "Successful");
    for (size_t i = 0; i < st->count; i++) {
        if (st->errs[i].type != SL_SQS_OK || st->statuses[i] != 0) continue;
        const sl_sqs_sent_t *s = &st->sents[i];
        o_obj_begin(&o, NULL, "SendMessageBatchResultEntry");
        o_str(&o, "Id", st->ids[i]);
        o_str(&o, "MessageId", s->message_id);
        o_str(&o, "MD5OfMessageBody", s->md5_body);
        if (s->md5_attrs[0]) o_str(&o, "MD5OfMessageAttributes", s->md5_attrs);
        if (s->sequence_number[0]) o_str(&o, "SequenceNumber", s->sequence_number);
        o_obj_end(&o);
    }
    o_list_end(&o);
    batch_failures(&o, st);
    o_end(&o);
}

static void op_send_message_batch(sl_front_call_t *call) {
    const char *name = queue_of_url(call, in_str(call, "QueueUrl"));
    size_t count;
    const sl_val_t *l = name ? batch_entries(call, "SendMessage", &count) : NULL;
    if (!l) return;
    sl_sqs_err_t err;
    if (sl_sqs_queue_exists(call->account, name, &err) != 0) {
        fail_err(call, &err);
        return;
    }
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        size_t len = 0;
        sl_val_get_str(l->u.arr.items[i], "MessageBody", &len);
        total += len;
    }
    if (total > SL_SQS_MESSAGE_BYTES_MAX) {
        fail_type(call, SL_SQS_BATCH_REQUEST_TOO_LONG,
                  "Batch requests cannot be longer than %d bytes. You have sent %zu bytes.",
                  SL_SQS_MESSAGE_BYTES_MAX, total);
        return;
    }
    if (!batch_state(call, count, send_batch_finish)) return;
    state_t *st = call->state;
    entry_ctx_t *ctxs = sl_arena_calloc(call->arena, count, sizeof *ctxs);
    for (size_t i = 0; i < count; i++) {
        const sl_val_t *entry = l->u.arr.items[i];
        st->ids[i] = sl_val_get_str(entry, "Id", NULL);
        sl_sqs_send_t req;
        if (!ctxs || !send_req(call, name, entry, &req)) {
            st->errs[i].type = SL_SQS_INTERNAL_ERROR;
            snprintf(st->errs[i].message, sizeof st->errs[i].message, "out of memory");
            continue;
        }
        ctxs[i] = (entry_ctx_t){call, i};
        __atomic_add_fetch(&st->pending, 1, __ATOMIC_ACQ_REL);
        if (sl_sqs_send(call->account, &req, call->now_ms, &st->sents[i], &st->errs[i],
                        batch_one_done, &ctxs[i]) != 0) {
            __atomic_sub_fetch(&st->pending, 1, __ATOMIC_ACQ_REL);
            if (st->errs[i].type == SL_SQS_OK) st->errs[i].type = SL_SQS_INTERNAL_ERROR;
        }
    }
    batch_issued(call);
}

/* The system attributes of a received message that the request asked for. */
static bool want_attr(const char **names, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], "All") == 0 || strcmp(names[i], name) == 0) return true;
    return false;
}

static bool want_msg_attr(const char **names, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (strcmp(names[i], "All") == 0 || strcmp(names[i], ".*") == 0 ||
            strcmp(names[i], name) == 0 ||
            (len > 2 && strcmp(names[i] + len - 2, ".*") == 0 &&
             strncmp(names[i], name, len - 1) == 0))
            return true;
    }
    return false;
}

typedef struct {
    const char *name;
    const char *value;
} sys_attr_t;

static void receive_finish(sl_front_call_t *call) {
    state_t *st = call->state;
    sl_sqs_received_t *r = st->received;
    st->received = NULL;
    size_t na, ns, nm;
    const char **an = in_list(call, "AttributeNames", &na);
    const char **sn = in_list(call, "MessageSystemAttributeNames", &ns);
    const char **mn = in_list(call, "MessageAttributeNames", &nm);
    out_t o;
    o_begin(&o, call, true);
    if (r && r->count) {
        o_list_begin(&o, "Messages");
        for (size_t i = 0; i < r->count; i++) {
            const sl_sqs_message_t *m = &r->messages[i];
            o_obj_begin(&o, NULL, "Message");
            o_str(&o, "MessageId", m->message_id);
            o_str(&o, "ReceiptHandle", m->receipt_handle);
            o_str(&o, "MD5OfBody", m->md5_body);
            o_str_n(&o, "Body", (const char *)m->body, m->body_len);
            /* system attributes */
            sys_attr_t sys[8];
            size_t k = 0;
#define SYS(nm, val)                                                                               \
    if (want_attr(an, na, nm) || want_attr(sn, ns, nm)) sys[k++] = (sys_attr_t) {                  \
            nm, val                                                                                \
        }
            char sent[24], first[24], count[16];
            snprintf(sent, sizeof sent, "%lld", (long long)m->sent_ms);
            snprintf(first, sizeof first, "%lld", (long long)m->first_receive_ms);
            snprintf(count, sizeof count, "%d", m->receive_count);
            SYS("SenderId", m->sender_id);
            SYS("SentTimestamp", sent);
            SYS("ApproximateReceiveCount", count);
            SYS("ApproximateFirstReceiveTimestamp", first);
            if (m->group_id) SYS("MessageGroupId", m->group_id);
            if (m->dedup_id) SYS("MessageDeduplicationId", m->dedup_id);
            if (m->sequence_number[0]) SYS("SequenceNumber", m->sequence_number);
#undef SYS
            if (k) {
                o_map_begin(&o, "Attributes");
                for (size_t j = 0; j < k; j++)
                    o_map_entry(&o, "Attribute", sys[j].name, sys[j].value);
                o_map_end(&o);
            }
            size_t chosen = 0;
            for (size_t j = 0; j < m->attr_count; j++)
                chosen += want_msg_attr(mn, nm, m->attrs[j].name);
            if (chosen) {
                /* MD5OfMessageAttributes covers the attributes returned */
                sl_sqs_attr_t *sel = sl_arena_calloc(call->arena, chosen, sizeof *sel);
                size_t s = 0;
                for (size_t j = 0; sel && j < m->attr_count; j++)
                    if (want_msg_attr(mn, nm, m->attrs[j].name)) sel[s++] = m->attrs[j];
                char md5[33];
                sl_sqs_md5_attrs(sel, s, md5);
                o_str(&o, "MD5OfMessageAttributes", md5);
                o_map_begin(&o, "MessageAttributes");
                for (size_t j = 0; j < s; j++) {
                    const sl_sqs_attr_t *a = &sel[j];
                    bool binary = strncmp(a->data_type, "Binary", 6) == 0;
                    if (call->query) {
                        sl_xml_open(&o.w, "MessageAttribute", NULL);
                        sl_xml_element(&o.w, "Name", a->name);
                        sl_xml_open(&o.w, "Value", NULL);
                    } else {
                        sl_enc_key(&call->enc, a->name);
                        sl_enc_map_begin(&call->enc);
                    }
                    if (binary) {
                        if (call->query) {
                            size_t bl = sl_base64_encoded_len(a->value_len);
                            char *b64 = sl_arena_alloc(call->arena, bl + 1);
                            if (b64) sl_base64_encode(a->value, a->value_len, b64);
                            sl_xml_element_len(&o.w, "BinaryValue", b64 ? b64 : "", b64 ? bl : 0);
                        } else {
                            sl_enc_key(&call->enc, "BinaryValue");
                            sl_enc_bytes(&call->enc, a->value, a->value_len);
                        }
                    } else {
                        o_str_n(&o, "StringValue", (const char *)a->value, a->value_len);
                    }
                    o_str(&o, "DataType", a->data_type);
                    if (call->query) {
                        sl_xml_close(&o.w);
                        sl_xml_close(&o.w);
                    } else {
                        sl_enc_map_end(&call->enc);
                    }
                }
                o_map_end(&o);
            }
            o_obj_end(&o);
        }
        o_list_end(&o);
    }
    sl_sqs_received_free(r);
    o_end(&o);
}

static void received(void *ctx, sl_sqs_received_t *r) {
    sl_front_call_t *call = ctx;
    state_t *st = call->state;
    st->received = r;
    sl_front_post(call, receive_finish);
}

static void op_receive_message(sl_front_call_t *call) {
    const char *name = queue_of_url(call, in_str(call, "QueueUrl"));
    if (!name) return;
    state_t *st = new_state(call, receive_finish);
    if (!st) return;
    sl_sqs_receive_t req = {
        .queue = name,
        .max_messages = in_int(call, "MaxNumberOfMessages", 1),
        .visibility_timeout = in_int(call, "VisibilityTimeout", -1),
        .wait_seconds = in_int(call, "WaitTimeSeconds", -1),
    };
    if (sl_val_get(call->in, "VisibilityTimeout") && req.visibility_timeout < 0)
        req.visibility_timeout = -2;
    if (sl_val_get(call->in, "WaitTimeSeconds") && req.wait_seconds < 0) req.wait_seconds = -2;
    sl_sqs_err_t err;
    if (sl_sqs_receive(call->account, &req, call->now_ms, &err, received, call) != 0)
        fail_err(call, &err);
}

static void op_delete_message(sl_front_call_t *call) {
    const char *name = queue_of_url(call, in_str(call, "QueueUrl"));
    if (!name || !new_state(call, empty_finish)) return;
    sl_sqs_err_t err;
    if (sl_sqs_delete_message(call->account, name, in_str(call, "ReceiptHandle"), &err,
                              durable_done, call) != 0)
        fail_err(call, &err);
}

static void delete_batch_finish(sl_front_call_t *call) {
    state_t *st = call->state;
    out_t o;
    o_begin(&o, call, true);
    o_list_begin(&o, "Successful");
    for (size_t i = 0; i < st->count; i++) {
        if (st->errs[i].type != SL_SQS_OK || st->statuses[i] != 0) continue;
        o_obj_begin(&o, NULL, "DeleteMessageBatchResultEntry");
        o_str(&o, "Id", st->ids[i]);
        o_obj_end(&o);
    }
    o_list_end(&o);
    batch_failures(&o, st);
    o_end(&o);
}

static void op_delete_message_batch(sl_front_call_t *call) {
    const char *name = queue_of_url(call, in_str(call, "QueueUrl"));
    size_t count;
    const sl_val_t *l = name ? batch_entries(call, "DeleteMessage", &count) : NULL;
    if (!l) return;
    sl_sqs_err_t err;
    if (sl_sqs_queue_exists(call->account, name, &err) != 0) {
        fail_err(call, &err);
        return;
    }
    if (!batch_state(call, count, delete_batch_finish)) return;
    state_t *st = call->state;
    entry_ctx_t *ctxs = sl_arena_calloc(call->arena, count, sizeof *ctxs);
    for (size_t i = 0; i < count; i++) {
        const sl_val_t *entry = l->u.arr.items[i];
        st->ids[i] = sl_val_get_str(entry, "Id", NULL);
        const char *handle = sl_val_get_str(entry, "ReceiptHandle", NULL);
        if (!ctxs) {
            st->errs[i].type = SL_SQS_INTERNAL_ERROR;
            continue;
        }
        ctxs[i] = (entry_ctx_t){call, i};
        __atomic_add_fetch(&st->pending, 1, __ATOMIC_ACQ_REL);
        if (sl_sqs_delete_message(call->account, name, handle ? handle : "", &st->errs[i],
                                  batch_one_done, &ctxs[i]) != 0)
            __atomic_sub_fetch(&st->pending, 1, __ATOMIC_ACQ_REL);
    }
    batch_issued(call);
}

static void op_change_message_visibility(sl_front_call_t *call) {
    const char *name = queue_of_url(call, in_str(call, "QueueUrl"));
    if (!name) return;
    sl_sqs_err_t err;
    if (sl_sqs_change_visibility(call->account, name, in_str(call, "ReceiptHandle"),
                                 in_int(call, "VisibilityTimeout", 0), call->now_ms, &err) != 0) {
        fail_err(call, &err);
        return;
    }
    out_t o;
    o_begin(&o, call, false);
    o_end(&o);
}

static void op_change_message_visibility_batch(sl_front_call_t *call) {
    const char *name = queue_of_url(call, in_str(call, "QueueUrl"));
    size_t count;
    const sl_val_t *l = name ? batch_entries(call, "ChangeMessageVisibility", &count) : NULL;
    if (!l) return;
    sl_sqs_err_t err;
    if (sl_sqs_queue_exists(call->account, name, &err) != 0) {
        fail_err(call, &err);
        return;
    }
    if (!batch_state(call, count, NULL)) return;
    state_t *st = call->state;
    for (size_t i = 0; i < count; i++) {
        const sl_val_t *entry = l->u.arr.items[i];
        st->ids[i] = sl_val_get_str(entry, "Id", NULL);
        const char *handle = sl_val_get_str(entry, "ReceiptHandle", NULL);
        int64_t t = 0;
        sl_val_get_int(entry, "VisibilityTimeout", &t);
        sl_sqs_change_visibility(call->account, name, handle ? handle : "",
                                 t < 0 || t > 100000 ? 100000 : (int)t, call->now_ms, &st->errs[i]);
    }
    out_t o;
    o_begin(&o, call, true);
    o_list_begin(&o, "Successful");
    for (size_t i = 0; i < count; i++) {
        if (st->errs[i].type != SL_SQS_OK) continue;
        o_obj_begin(&o, NULL, "ChangeMessageVisibilityBatchResultEntry");
        o_str(&o, "Id", st->ids[i]);
        o_obj_end(&o);
    }
    o_list_end(&o);
    batch_failures(&o, st);
    o_end(&o);
}

static void op_unsupported(sl_front_call_t *call) {
    fail_type(call, SL_SQS_UNSUPPORTED_OPERATION, "%s is not supported by this server.",
              call->op->name);
}

static sl_front_op_fn handler(const char *op_name) {
    static const struct {
        const char *name;
        sl_front_op_fn fn;
    } table[] = {
        {"CreateQueue", op_create_queue},
        {"GetQueueUrl", op_get_queue_url},
        {"ListQueues", op_list_queues},
        {"DeleteQueue", op_delete_queue},
        {"PurgeQueue", op_purge_queue},
        {"GetQueueAttributes", op_get_queue_attributes},
        {"SetQueueAttributes", op_set_queue_attributes},
        {"SendMessage", op_send_message},
        {"SendMessageBatch", op_send_message_batch},
        {"ReceiveMessage", op_receive_message},
        {"DeleteMessage", op_delete_message},
        {"DeleteMessageBatch", op_delete_message_batch},
        {"ChangeMessageVisibility", op_change_message_visibility},
        {"ChangeMessageVisibilityBatch", op_change_message_visibility_batch},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(table); i++)
        if (strcmp(table[i].name, op_name) == 0) return table[i].fn;
    return op_unsupported;
}

void sl_sqsapi_describe(sl_front_service_t *json, sl_front_service_t *query) {
    *json = (sl_front_service_t){
        .name = "sqs",
        .protocol = SL_FRONT_PROTO_JSON,
        .model = &sl_sqs_model,
        .handler = handler,
        .json_content_type = "application/x-amz-json-1.0",
    };
    *query = (sl_front_service_t){
        .name = "sqs-query",
        .protocol = SL_FRONT_PROTO_QUERY,
        .model = &sl_sqs_model,
        .handler = handler,
        .signing_name = sl_sqs_model.signing_name,
        .xml_namespace = SQS_XMLNS,
    };
}
