/* Unit tests for the Query protocol's input decoding (front/query.c): nested structures,
 * `.member.N` lists, `.entry.N` maps with default and renamed key/value names, flattened lists and
 * maps, renamed members, empty lists, typed scalars, unknown parameters, the slot budget. */
#include "core/common.h"
#include "front/query.h"
#include "test.h"

#include <stdlib.h>

#include "query_shapes.h"

static sl_val_t *decode(sl_arena_t *a, const char *form, int *rc_out) {
    sl_form_param_t *ps;
    size_t n;
    const char *reason = NULL;
    int rc = sl_form_parse(form, strlen(form), a, &ps, &n, &reason);
    CHECK_EQ_INT(rc, 0);
    sl_val_t *doc = NULL;
    rc = sl_front_query_decode(&q_in, ps, n, a, &doc, &reason);
    if (rc_out) *rc_out = rc;
    return doc;
}

static const char *str_at(const sl_val_t *map, const char *key) {
    const sl_val_t *v = sl_val_get(map, key);
    return v && v->type == SL_VAL_STRING ? v->u.str.ptr : NULL;
}

int main(void) {
    sl_arena_t a;
    sl_arena_init(&a, 0);

    /* CloudWatch PutMetricData: nested lists of structures, in any parameter order */
    sl_val_t *d =
        decode(&a,
               "Action=PutMetricData&Version=2010-08-01&Namespace=App"
               "&MetricData.member.2.MetricName=B&MetricData.member.2.Value=2.5"
               "&MetricData.member.1.MetricName=A"
               "&MetricData.member.1.Dimensions.member.1.Name=StreamName"
               "&MetricData.member.1.Dimensions.member.1.Value=s1"
               "&MetricData.member.1.Dimensions.member.2.Name=ShardId"
               "&MetricData.member.1.Dimensions.member.2.Value=shardId-0"
               "&MetricData.member.1.Timestamp=2026-12-06T08%3A00%3A00.250Z"
               "&MetricData.member.1.Values.member.1=1&MetricData.member.1.Values.member.2=3"
               "&MetricData.member.1.StorageResolution=60&Strict=true&Limit=7&Unknown=x",
               NULL);
    CHECK(d && d->type == SL_VAL_MAP);
    CHECK_EQ_STR(str_at(d, "Namespace"), "App");
    CHECK(sl_val_get(d, "Action") == NULL);
    sl_val_t *data = sl_val_get(d, "MetricData");
    CHECK(data && data->type == SL_VAL_ARRAY && data->u.arr.count == 2);
    if (data && data->u.arr.count == 2) {
        sl_val_t *m1 = data->u.arr.items[0], *m2 = data->u.arr.items[1];
        CHECK_EQ_STR(str_at(m1, "MetricName"), "A");
        CHECK_EQ_STR(str_at(m2, "MetricName"), "B");
        sl_val_t *v2 = sl_val_get(m2, "Value");
        CHECK(v2 && v2->type == SL_VAL_NUMBER && v2->u.num.d == 2.5);
        sl_val_t *dims = sl_val_get(m1, "Dimensions");
        CHECK(dims && dims->type == SL_VAL_ARRAY && dims->u.arr.count == 2);
        if (dims && dims->u.arr.count == 2) {
            CHECK_EQ_STR(str_at(dims->u.arr.items[1], "Name"), "ShardId");
            CHECK_EQ_STR(str_at(dims->u.arr.items[1], "Value"), "shardId-0");
        }
        sl_val_t *ts = sl_val_get(m1, "Timestamp");
        CHECK(ts && ts->type == SL_VAL_TIMESTAMP && ts->u.ts_ms == 1796544000250LL);
        sl_val_t *vals = sl_val_get(m1, "Values");
        CHECK(vals && vals->u.arr.count == 2 && vals->u.arr.items[1]->u.num.d == 3);
        sl_val_t *res = sl_val_get(m1, "StorageResolution");
        CHECK(res && res->type == SL_VAL_NUMBER && res->u.num.i == 60);
    }
    sl_val_t *b = sl_val_get(d, "Strict");
    CHECK(b && b->type == SL_VAL_BOOL && b->u.b);

    /* SNS maps: entry.N.key/value, and renamed Name/Value with structure values */
    d = decode(&a,
               "Attributes.entry.1.key=Policy&Attributes.entry.1.value=p"
               "&Attributes.entry.2.key=DisplayName&Attributes.entry.2.value=d"
               "&MessageAttributes.entry.1.Name=color"
               "&MessageAttributes.entry.1.Value.DataType=String"
               "&MessageAttributes.entry.1.Value.StringValue=red",
               NULL);
    sl_val_t *attrs = sl_val_get(d, "Attributes");
    CHECK(attrs && attrs->type == SL_VAL_MAP && attrs->u.map.count == 2);
    CHECK_EQ_STR(str_at(attrs, "DisplayName"), "d");
    sl_val_t *color = sl_val_get(sl_val_get(d, "MessageAttributes"), "color");
    CHECK_EQ_STR(str_at(color, "DataType"), "String");
    CHECK_EQ_STR(str_at(color, "StringValue"), "red");

    /* SQS-style flattened list and map, the member renamed */
    d = decode(&a,
               "AttributeName.1=All&AttributeName.2=Policy"
               "&Attribute.1.Name=DelaySeconds&Attribute.1.Value=5",
               NULL);
    sl_val_t *names = sl_val_get(d, "AttributeNames");
    CHECK(names && names->type == SL_VAL_ARRAY && names->u.arr.count == 2);
    CHECK_EQ_STR(str_at(sl_val_get(d, "QueueAttributes"), "DelaySeconds"), "5");

    /* an empty list; a malformed number stays a string (the validator names the type); bad
     * indexes and unknown steps are ignored */
    d = decode(&a,
               "MetricData=&Limit=x7&Attributes.entry.0.key=a&Attributes.entry.01.key=b"
               "&Attributes.item.1.key=c&Strict=TRUE",
               NULL);
    data = sl_val_get(d, "MetricData");
    CHECK(data && data->type == SL_VAL_ARRAY && data->u.arr.count == 0);
    CHECK(sl_val_get(d, "Limit")->type == SL_VAL_STRING);
    CHECK(sl_val_get(d, "Strict")->type == SL_VAL_STRING);
    attrs = sl_val_get(d, "Attributes");
    CHECK(attrs && attrs->u.map.count == 0);

    /* the slot budget: a huge index with few parameters is refused, not allocated */
    int rc = 0;
    decode(&a, "MetricData.member.100000000.MetricName=x", &rc);
    CHECK_EQ_INT(rc, SL_EINVAL);
    decode(&a, "MetricData.member.1000000000.MetricName=x", &rc); /* not an index: ignored */
    CHECK_EQ_INT(rc, 0);

    sl_arena_deinit(&a);
    TEST_MAIN_END();
}
