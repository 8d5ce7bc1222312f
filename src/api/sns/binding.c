/* The SNS binding (see binding.h): decode the validated input, call the SNS core, answer in XML. */
#include "api/sns/binding.h"

#include "api/sns/model.h"
#include "core/common.h"
#include "wire/form.h"
#include "wire/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNS_XMLNS "http://sns.amazonaws.com/doc/2010-03-31/"
#define LIST_PAGE 100 /* SNS: ListTopics and ListSubscriptions answer 100 per page */

static void fail_err(sl_front_call_t *call, const sl_sns_err_t *err) {
    const char *code = sl_sns_err_code(err->type);
    sl_front_fail_compat(call, sl_sns_err_status(err->type), code, code, err->message);
}

static void fail_msg(sl_front_call_t *call, sl_sns_err_type_t type, const char *message) {
    sl_sns_err_t err = {.type = type};
    snprintf(err.message, sizeof err.message, "%s", message);
    fail_err(call, &err);
}

static const char *in_str(sl_front_call_t *call, const char *name) {
    return sl_val_get_str(call->in, name, NULL);
}

/* This server's URL as the client reached it. */
static const char *base_url(sl_front_call_t *call) {
    const sl_http_header_t *h = sl_http_req_header(call->req, "host");
    char url[300];
    snprintf(url, sizeof url, "%s://%s", call->req->tls ? "https" : "http",
             h ? h->value : "localhost");
    const char *u = sl_arena_strndup(call->arena, url, strlen(url));
    return u ? u : "";
}

/* A string map member ({"k":"v"}) as pairs in the arena (NULL on no memory, count 0 = none). */
static sl_sns_kv_t *in_kvs(sl_front_call_t *call, const char *name, size_t *count) {
    *count = 0;
    const sl_val_t *m = sl_val_get(call->in, name);
    if (!m || m->type != SL_VAL_MAP || m->u.map.count == 0) return NULL;
    sl_sns_kv_t *kvs = sl_arena_calloc(call->arena, m->u.map.count, sizeof *kvs);
    for (size_t i = 0; kvs && i < m->u.map.count; i++) {
        const sl_kv_t *kv = &m->u.map.items[i];
        const char *k = sl_arena_strndup(call->arena, kv->key, kv->key_len);
        const char *v = kv->val && kv->val->type == SL_VAL_STRING ? kv->val->u.str.ptr : "";
        if (k) kvs[(*count)++] = (sl_sns_kv_t){k, v};
    }
    return kvs;
}

/* ---- completions ---- */

typedef struct {
    int status;
    char arn[400];
    void (*finish)(sl_front_call_t *call);
} state_t;

static void durable_done(void *ctx, int status) {
    sl_front_call_t *call = ctx;
    state_t *st = call->state;
    st->status = status;
    sl_front_post(call, st->finish);
}

static state_t *new_state(sl_front_call_t *call, void (*finish)(sl_front_call_t *)) {
    state_t *st = sl_arena_calloc(call->arena, 1, sizeof *st);
    if (!st) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return NULL;
    }
    st->finish = finish;
    call->state = st;
    return st;
}

static void empty_finish(sl_front_call_t *call) {
    state_t *st = call->state;
    if (st->status) {
        sl_front_fail_internal(call, st->status);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, false);
    sl_front_query_end(call, &w);
}

/* Answers <OpResult><elem>arn</elem></OpResult>. */
static void arn_answer(sl_front_call_t *call, const char *elem) {
    state_t *st = call->state;
    if (st->status) {
        sl_front_fail_internal(call, st->status);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_element(&w, elem, st->arn);
    sl_front_query_end(call, &w);
}

static void topic_arn_finish(sl_front_call_t *call) {
    arn_answer(call, "TopicArn");
}

static void sub_arn_finish(sl_front_call_t *call) {
    arn_answer(call, "SubscriptionArn");
}

/* ---- topics ---- */

static void op_create_topic(sl_front_call_t *call) {
    size_t n;
    sl_sns_kv_t *attrs = in_kvs(call, "Attributes", &n);
    state_t *st = new_state(call, topic_arn_finish);
    if (!st) return;
    char arn[320];
    sl_sns_err_t err;
    if (sl_sns_create_topic(call->account, in_str(call, "Name"), attrs, n, arn, &err, durable_done,
                            call) != 0) {
        fail_err(call, &err);
        return;
    }
    snprintf(st->arn, sizeof st->arn, "%s", arn);
}

static void op_delete_topic(sl_front_call_t *call) {
    if (!new_state(call, empty_finish)) return;
    sl_sns_err_t err;
    if (sl_sns_delete_topic(call->account, in_str(call, "TopicArn"), &err, durable_done, call) != 0)
        fail_err(call, &err);
}

static void op_list_topics(sl_front_call_t *call) {
    const char *token = in_str(call, "NextToken");
    char **arns;
    size_t count;
    bool more;
    int rc = sl_sns_list_topics(call->account, token && *token ? token : NULL, LIST_PAGE, &arns,
                                &count, &more);
    if (rc) {
        sl_front_fail_internal(call, rc);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_open(&w, "Topics", NULL);
    for (size_t i = 0; i < count; i++) {
        sl_xml_open(&w, "member", NULL);
        sl_xml_element(&w, "TopicArn", arns[i]);
        sl_xml_close(&w);
    }
    sl_xml_close(&w);
    if (more) sl_xml_element(&w, "NextToken", arns[count - 1]);
    sl_sns_strs_free(arns, count);
    sl_front_query_end(call, &w);
}

static void kvs_answer(sl_front_call_t *call, sl_sns_kv_t *kvs, size_t count) {
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_open(&w, "Attributes", NULL);
    for (size_t i = 0; i < count; i++) {
        sl_xml_open(&w, "entry", NULL);
        sl_xml_element(&w, "key", kvs[i].name);
        sl_xml_element(&w, "value", kvs[i].value);
        sl_xml_close(&w);
    }
    sl_xml_close(&w);
    sl_sns_kvs_free(kvs, count);
    sl_front_query_end(call, &w);
}

static void op_get_topic_attributes(sl_front_call_t *call) {
    sl_sns_kv_t *kvs;
    size_t count;
    sl_sns_err_t err;
    if (sl_sns_get_topic_attributes(call->account, in_str(call, "TopicArn"), &kvs, &count, &err) !=
        0) {
        fail_err(call, &err);
        return;
    }
    kvs_answer(call, kvs, count);
}

static void op_set_topic_attributes(sl_front_call_t *call) {
    if (!new_state(call, empty_finish)) return;
    const char *value = in_str(call, "AttributeValue");
    sl_sns_err_t err;
    if (sl_sns_set_topic_attribute(call->account, in_str(call, "TopicArn"),
                                   in_str(call, "AttributeName"), value ? value : "", &err,
                                   durable_done, call) != 0)
        fail_err(call, &err);
}

/* ---- subscriptions ---- */

static void op_subscribe(sl_front_call_t *call) {
    size_t n;
    sl_sns_kv_t *attrs = in_kvs(call, "Attributes", &n);
    bool return_arn = false;
    sl_val_get_bool(call->in, "ReturnSubscriptionArn", &return_arn);
    state_t *st = new_state(call, sub_arn_finish);
    if (!st) return;
    char arn[400];
    const char *endpoint = in_str(call, "Endpoint");
    sl_sns_err_t err;
    if (sl_sns_subscribe(call->account, in_str(call, "TopicArn"), in_str(call, "Protocol"),
                         endpoint ? endpoint : "", attrs, n, return_arn, base_url(call), arn, &err,
                         durable_done, call) != 0) {
        fail_err(call, &err);
        return;
    }
    snprintf(st->arn, sizeof st->arn, "%s", arn);
}

static void op_confirm_subscription(sl_front_call_t *call) {
    state_t *st = new_state(call, sub_arn_finish);
    if (!st) return;
    char arn[400];
    sl_sns_err_t err;
    if (sl_sns_confirm(call->account, in_str(call, "TopicArn"), in_str(call, "Token"), arn, &err,
                       durable_done, call) != 0) {
        fail_err(call, &err);
        return;
    }
    snprintf(st->arn, sizeof st->arn, "%s", arn);
}

static void op_unsubscribe(sl_front_call_t *call) {
    if (!new_state(call, empty_finish)) return;
    sl_sns_err_t err;
    if (sl_sns_unsubscribe(call->account, in_str(call, "SubscriptionArn"), &err, durable_done,
                           call) != 0)
        fail_err(call, &err);
}

static void list_subscriptions(sl_front_call_t *call, const char *topic_arn) {
    const char *token = in_str(call, "NextToken");
    size_t start = 0;
    if (token && *token) {
        char *end;
        unsigned long long v = strtoull(token, &end, 10);
        if (*end || v > SL_SNS_SUBSCRIPTIONS_MAX) {
            fail_msg(call, SL_SNS_INVALID_PARAMETER, "Invalid parameter: NextToken");
            return;
        }
        start = (size_t)v;
    }
    sl_sns_sub_info_t *subs;
    size_t count;
    bool more;
    sl_sns_err_t err;
    if (sl_sns_list_subscriptions(call->account, topic_arn, start, LIST_PAGE, &subs, &count, &more,
                                  &err) != 0) {
        fail_err(call, &err);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_open(&w, "Subscriptions", NULL);
    for (size_t i = 0; i < count; i++) {
        sl_xml_open(&w, "member", NULL);
        sl_xml_element(&w, "TopicArn", subs[i].topic_arn);
        sl_xml_element(&w, "Protocol", subs[i].protocol);
        sl_xml_element(&w, "SubscriptionArn", subs[i].arn);
        sl_xml_element(&w, "Owner", subs[i].owner);
        sl_xml_element(&w, "Endpoint", subs[i].endpoint);
        sl_xml_close(&w);
    }
    sl_xml_close(&w);
    if (more) sl_xml_element_fmt(&w, "NextToken", "%zu", start + count);
    free(subs);
    sl_front_query_end(call, &w);
}

static void op_list_subscriptions(sl_front_call_t *call) {
    list_subscriptions(call, NULL);
}

static void op_list_subscriptions_by_topic(sl_front_call_t *call) {
    list_subscriptions(call, in_str(call, "TopicArn"));
}

static void op_get_subscription_attributes(sl_front_call_t *call) {
    sl_sns_kv_t *kvs;
    size_t count;
    sl_sns_err_t err;
    if (sl_sns_get_subscription_attributes(call->account, in_str(call, "SubscriptionArn"), &kvs,
                                           &count, &err) != 0) {
        fail_err(call, &err);
        return;
    }
    kvs_answer(call, kvs, count);
}

static void op_set_subscription_attributes(sl_front_call_t *call) {
    if (!new_state(call, empty_finish)) return;
    const char *value = in_str(call, "AttributeValue");
    sl_sns_err_t err;
    if (sl_sns_set_subscription_attribute(call->account, in_str(call, "SubscriptionArn"),
                                          in_str(call, "AttributeName"), value ? value : "", &err,
                                          durable_done, call) != 0)
        fail_err(call, &err);
}

/* ---- publish ---- */

static void op_publish(sl_front_call_t *call) {
    const char *topic = in_str(call, "TopicArn");
    if (!topic) topic = in_str(call, "TargetArn");
    if (!topic) {
        fail_msg(call, SL_SNS_INVALID_PARAMETER,
                 in_str(call, "PhoneNumber")
                     ? "Invalid parameter: PhoneNumber Reason: SMS is not supported by this server"
                     : "Invalid parameter: TopicArn or TargetArn Reason: no value for required "
                       "parameter");
        return;
    }
    size_t len = 0;
    const char *message = sl_val_get_str(call->in, "Message", &len);
    const sl_val_t *m = sl_val_get(call->in, "MessageAttributes");
    size_t n = m && m->type == SL_VAL_MAP ? m->u.map.count : 0;
    sl_sns_attr_t *attrs = n ? sl_arena_calloc(call->arena, n, sizeof *attrs) : NULL;
    if (n && !attrs) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const sl_kv_t *kv = &m->u.map.items[i];
        sl_sns_attr_t *a = &attrs[i];
        a->name = sl_arena_strndup(call->arena, kv->key, kv->key_len);
        a->data_type = sl_val_get_str(kv->val, "DataType", NULL);
        if (!a->name || !a->data_type) {
            fail_msg(call, SL_SNS_INVALID_PARAMETER,
                     "Invalid parameter: MessageAttributes Reason: no data type");
            return;
        }
        bool binary = strcmp(a->data_type, "Binary") == 0;
        const sl_val_t *v = sl_val_get(kv->val, binary ? "BinaryValue" : "StringValue");
        if (!v || (v->type != SL_VAL_STRING && v->type != SL_VAL_BYTES) || v->u.str.len == 0) {
            char msg[320];
            snprintf(msg, sizeof msg,
                     "Invalid parameter: The message attribute '%.64s' must contain non-empty "
                     "message attribute value for message attribute type '%.32s'.",
                     a->name, a->data_type);
            fail_msg(call, SL_SNS_INVALID_PARAMETER_VALUE, msg);
            return;
        }
        a->value = (const uint8_t *)v->u.str.ptr;
        a->value_len = v->u.str.len;
    }
    sl_sns_publish_t req = {.topic_arn = topic,
                            .message = message,
                            .message_len = message ? len : 0,
                            .subject = in_str(call, "Subject"),
                            .attrs = attrs,
                            .attr_count = n,
                            .group_id = in_str(call, "MessageGroupId"),
                            .dedup_id = in_str(call, "MessageDeduplicationId")};
    char id[40];
    sl_sns_err_t err;
    if (sl_sns_publish(call->account, &req, id, &err) != 0) {
        fail_err(call, &err);
        return;
    }
    sl_xml_writer_t w;
    sl_front_query_begin(call, &w, true);
    sl_xml_element(&w, "MessageId", id);
    sl_front_query_end(call, &w);
}

static void op_unsupported(sl_front_call_t *call) {
    char msg[200];
    snprintf(msg, sizeof msg, "%s is not supported by this server.", call->op->name);
    fail_msg(call, SL_SNS_INVALID_PARAMETER, msg);
}

static sl_front_op_fn handler(const char *op_name) {
    static const struct {
        const char *name;
        sl_front_op_fn fn;
    } table[] = {
        {"CreateTopic", op_create_topic},
        {"DeleteTopic", op_delete_topic},
        {"ListTopics", op_list_topics},
        {"GetTopicAttributes", op_get_topic_attributes},
        {"SetTopicAttributes", op_set_topic_attributes},
        {"Subscribe", op_subscribe},
        {"ConfirmSubscription", op_confirm_subscription},
        {"Unsubscribe", op_unsubscribe},
        {"ListSubscriptions", op_list_subscriptions},
        {"ListSubscriptionsByTopic", op_list_subscriptions_by_topic},
        {"GetSubscriptionAttributes", op_get_subscription_attributes},
        {"SetSubscriptionAttributes", op_set_subscription_attributes},
        {"Publish", op_publish},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(table); i++)
        if (strcmp(table[i].name, op_name) == 0) return table[i].fn;
    return op_unsupported;
}

void sl_snsapi_describe(sl_front_service_t *svc) {
    *svc = (sl_front_service_t){
        .name = "sns",
        .protocol = SL_FRONT_PROTO_QUERY,
        .model = &sl_sns_model,
        .handler = handler,
        .signing_name = sl_sns_model.signing_name,
        .xml_namespace = SNS_XMLNS,
    };
}

/* ---- the plain routes of HTTP subscribers ---- */

static struct {
    int (*sns_of_account)(void *ctx, const char *account, sl_sns_t **out);
    void *ctx;
} routes;

/* The SNS of the account an ARN names (arn:aws:sns:<region>:<account>:...), or NULL. */
static sl_sns_t *sns_of_arn(const char *arn) {
    if (!arn || strncmp(arn, "arn:aws:sns:", 12) != 0) return NULL;
    const char *acct = strchr(arn + 12, ':');
    if (!acct || strlen(acct + 1) < 13 || acct[13] != ':') return NULL;
    char id[16];
    memcpy(id, acct + 1, 12);
    id[12] = 0;
    sl_sns_t *sns = NULL;
    return routes.sns_of_account(routes.ctx, id, &sns) == 0 ? sns : NULL;
}

static const char *query_param(sl_front_call_t *call, const char *name) {
    const char *q = strchr(call->req->path, '?');
    sl_form_param_t *ps;
    size_t n;
    const char *reason;
    if (!q || sl_form_parse(q + 1, strlen(q + 1), call->arena, &ps, &n, &reason) != 0) return NULL;
    return sl_form_get(ps, n, name);
}

static void route_answer(sl_front_call_t *call, int status, const char *action, const char *elem,
                         const char *value) {
    sl_buf_t b = SL_BUF_INIT;
    sl_xml_writer_t w;
    sl_xml_writer_init(&w, &b);
    char name[64];
    snprintf(name, sizeof name, "%sResponse", action);
    sl_xml_open(&w, name, SNS_XMLNS);
    if (elem) {
        snprintf(name, sizeof name, "%sResult", action);
        sl_xml_open(&w, name, NULL);
        sl_xml_element(&w, elem, value);
        sl_xml_close(&w);
    }
    sl_xml_open(&w, "ResponseMetadata", NULL);
    sl_xml_element(&w, "RequestId", call->request_id);
    sl_xml_finish(&w);
    sl_buf_append_byte(&b, 0);
    sl_front_respond(call, status, "text/xml", sl_buf_failed(&b) ? "" : b.data,
                     sl_buf_failed(&b) ? 0 : b.len - 1);
    sl_buf_free(&b);
}

static void route_error(sl_front_call_t *call, const sl_sns_err_t *err) {
    sl_buf_t b = SL_BUF_INIT;
    sl_xml_writer_t w;
    sl_xml_writer_init(&w, &b);
    sl_xml_open(&w, "ErrorResponse", SNS_XMLNS);
    sl_xml_open(&w, "Error", NULL);
    sl_xml_element(&w, "Type", "Sender");
    sl_xml_element(&w, "Code", sl_sns_err_code(err->type));
    sl_xml_element(&w, "Message", err->message);
    sl_xml_close(&w);
    sl_xml_element(&w, "RequestId", call->request_id);
    sl_xml_finish(&w);
    sl_buf_append_byte(&b, 0);
    sl_front_respond(call, sl_sns_err_status(err->type), "text/xml",
                     sl_buf_failed(&b) ? "" : b.data, sl_buf_failed(&b) ? 0 : b.len - 1);
    sl_buf_free(&b);
}

static void confirm_route_finish(sl_front_call_t *call) {
    state_t *st = call->state;
    if (st->status) {
        sl_sns_err_t err = {.type = SL_SNS_INTERNAL_ERROR};
        snprintf(err.message, sizeof err.message, "%s", sl_strerror(st->status));
        route_error(call, &err);
        return;
    }
    route_answer(call, 200, "ConfirmSubscription", "SubscriptionArn", st->arn);
}

static void confirm_route(sl_front_call_t *call) {
    const char *topic = query_param(call, "TopicArn");
    const char *token = query_param(call, "Token");
    sl_sns_t *sns = sns_of_arn(topic);
    sl_sns_err_t err = {.type = SL_SNS_NOT_FOUND};
    snprintf(err.message, sizeof err.message, "Topic does not exist");
    state_t *st = sl_arena_calloc(call->arena, 1, sizeof *st);
    if (!st) {
        sl_front_respond(call, 500, "text/plain", "", 0);
        return;
    }
    st->finish = confirm_route_finish;
    call->state = st;
    char arn[400];
    if (!sns ||
        sl_sns_confirm(sns, topic, token ? token : "", arn, &err, durable_done, call) != 0) {
        route_error(call, &err);
        return;
    }
    snprintf(st->arn, sizeof st->arn, "%s", arn);
}

static void unsubscribe_route_finish(sl_front_call_t *call) {
    route_answer(call, 200, "Unsubscribe", NULL, NULL);
}

static void unsubscribe_route(sl_front_call_t *call) {
    const char *arn = query_param(call, "SubscriptionArn");
    sl_sns_t *sns = sns_of_arn(arn);
    sl_sns_err_t err = {.type = SL_SNS_NOT_FOUND};
    snprintf(err.message, sizeof err.message, "Subscription does not exist");
    state_t *st = sl_arena_calloc(call->arena, 1, sizeof *st);
    if (!st) {
        sl_front_respond(call, 500, "text/plain", "", 0);
        return;
    }
    st->finish = unsubscribe_route_finish;
    call->state = st;
    if (!sns || sl_sns_unsubscribe(sns, arn, &err, durable_done, call) != 0)
        route_error(call, &err);
}

int sl_snsapi_register_routes(sl_front_t *front,
                              int (*sns_of_account)(void *ctx, const char *account, sl_sns_t **out),
                              void *ctx) {
    routes.sns_of_account = sns_of_account;
    routes.ctx = ctx;
    int rc =
        sl_front_add_route(front, "GET", "/sns/confirm-subscription", false, confirm_route, NULL);
    if (rc == 0)
        rc = sl_front_add_route(front, "GET", "/sns/unsubscribe", false, unsubscribe_route, NULL);
    return rc;
}
