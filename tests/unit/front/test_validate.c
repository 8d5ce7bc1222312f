/* Tests of the generated Kinesis model table and the model-driven validator (src/front/validate.c).
 * Requests are real JSON and CBOR bodies parsed by the wire codecs; expected texts are AWS's
 * answers as recorded by kinesalite's tests (mhart/kinesalite test/<op>.js) where such a record
 * exists, adapted to the newest model where AWS has changed (e.g. StreamName is optional since
 * StreamARN exists, so "{}" no longer yields a streamName error for PutRecord). */
#include "api/kinesis/model.h"
#include "front/validate.h"
#include "core/arena.h"
#include "wire/awserror.h"
#include "wire/cbor.h"
#include "wire/json.h"

#include "test.h"

#include <regex.h>
#include <stdlib.h>

static sl_arena_t arena;

static const sl_op_t *op(const char *name) {
    const sl_op_t *o = sl_model_find_op(&sl_kinesis_model, name, strlen(name));
    if (!o) fprintf(stderr, "operation %s not in the model\n", name);
    return o;
}

/* Parses `json` (copied: the parser writes into its buffer) and validates it for `opname`.
 * Returns the validator's result; *err and *doc are filled. */
static int run_json_doc(const char *opname, const char *json, sl_front_error_t *err,
                        sl_val_t **doc) {
    char *buf = sl_arena_strndup(&arena, json, strlen(json));
    const char *reason = NULL;
    *doc = NULL;
    if (sl_json_parse(buf, strlen(json), &arena, doc, &reason) != 0) {
        fprintf(stderr, "JSON parse failed (%s): %.200s\n", reason ? reason : "?", json);
        err->type = "parse-error";
        err->message = NULL;
        return -99;
    }
    return sl_front_validate(op(opname), *doc, SL_FMT_JSON, &arena, err);
}

static int run_json(const char *opname, const char *json, sl_front_error_t *err) {
    sl_val_t *doc;
    return run_json_doc(opname, json, err, &doc);
}

#define EXPECT_OK(opname, json)                                                                    \
    do {                                                                                           \
        sl_front_error_t e_ = {0};                                                                 \
        int rc_ = run_json(opname, json, &e_);                                                     \
        CHECK_EQ_INT(rc_, 0);                                                                      \
        if (rc_) fprintf(stderr, "  unexpected %s: %s\n", e_.type, e_.message ? e_.message : "");  \
    } while (0)

#define EXPECT_ERR(opname, json, etype, emsg)                                                      \
    do {                                                                                           \
        sl_front_error_t e_ = {0};                                                                 \
        int rc_ = run_json(opname, json, &e_);                                                     \
        CHECK_EQ_INT(rc_, -1);                                                                     \
        CHECK_EQ_STR(e_.type, etype);                                                              \
        CHECK_EQ_STR(e_.message, emsg);                                                            \
    } while (0)

#define EXPECT_SER(opname, json, emsg) EXPECT_ERR(opname, json, "SerializationException", emsg)
#define EXPECT_VAL(opname, json, emsg) EXPECT_ERR(opname, json, "ValidationException", emsg)

static char *repeat(const char *s, int n) {
    size_t l = strlen(s);
    char *out = sl_arena_alloc(&arena, l * (size_t)n + 1);
    for (int i = 0; i < n; i++)
        memcpy(out + l * (size_t)i, s, l);
    out[l * (size_t)n] = 0;
    return out;
}

/* Replaces every "@<8 hex digits>" by "@2" (kinesalite's placeholder for Java identity hashes),
 * after checking the digits are there. */
static char *normalize_hashes(const char *msg) {
    size_t n = strlen(msg);
    char *out = sl_arena_alloc(&arena, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        out[o++] = msg[i];
        if (msg[i] == '@') {
            size_t k = 0;
            while (k < 8 && i + 1 + k < n && strchr("0123456789abcdef", msg[i + 1 + k]))
                k++;
            CHECK_EQ_INT(k, 8);
            out[o++] = '2';
            i += k;
        }
    }
    out[o] = 0;
    return out;
}

/* ---- the generated table ----------------------------------------------------------------------
 */

static void compile_all_patterns(const sl_shape_t *s, int depth, int *compiled) {
    if (!s || depth > 16) return;
    if (s->pattern) {
        CHECK(s->pattern_ere != NULL);
        regex_t re;
        int rc = regcomp(&re, s->pattern_ere, REG_EXTENDED | REG_NOSUB);
        CHECK_EQ_INT(rc, 0);
        if (rc == 0) {
            regfree(&re);
            (*compiled)++;
        }
    }
    if (s->enum_count) CHECK(s->enum_text != NULL);
    if (s->type == SL_SHAPE_STRUCTURE) {
        CHECK(s->member_count == 0 || s->check_order != NULL);
        CHECK(s->java_class != NULL);
        /* check_order is a permutation of the members. */
        unsigned seen[256] = {0};
        for (size_t i = 0; i < s->member_count; i++) {
            CHECK(s->check_order[i] < s->member_count);
            seen[s->check_order[i]]++;
        }
        for (size_t i = 0; i < s->member_count; i++)
            CHECK_EQ_INT(seen[i], 1);
        for (size_t i = 0; i < s->member_count; i++)
            compile_all_patterns(s->members[i].shape, depth + 1, compiled);
    }
    if (s->type == SL_SHAPE_LIST) compile_all_patterns(s->member, depth + 1, compiled);
    if (s->type == SL_SHAPE_MAP) {
        compile_all_patterns(s->key, depth + 1, compiled);
        compile_all_patterns(s->value, depth + 1, compiled);
    }
}

/* The generated metadata and error table: every model error's status is the one the front's error
 * table (wire/awserror.h) answers with, so a generated table can replace the hand-kept one. */
static void test_model_metadata_and_errors(void) {
    CHECK_EQ_STR(sl_kinesis_model.service, "kinesis");
    CHECK_EQ_STR(sl_kinesis_model.signing_name, "kinesis");
    CHECK_EQ_STR(sl_kinesis_model.protocol, "json");
    CHECK_EQ_STR(sl_kinesis_model.json_version, "1.1");
    CHECK(sl_kinesis_model.error_count >= 16);
    for (size_t i = 0; i < sl_kinesis_model.error_count; i++) {
        const sl_model_error_t *e = &sl_kinesis_model.errors[i];
        CHECK_EQ_INT(sl_aws_error_status(e->name), e->status);
        if (i) CHECK(strcmp(sl_kinesis_model.errors[i - 1].name, e->name) < 0);
    }
    const sl_model_error_t *e = sl_model_find_error(&sl_kinesis_model, "ResourceNotFoundException");
    CHECK(e && e->status == 400);
    e = sl_model_find_error(&sl_kinesis_model, "InternalFailureException");
    CHECK(e && e->status == 500);
    CHECK(sl_model_find_error(&sl_kinesis_model, "InternalFailure") == NULL);
}

static void test_model_table(void) {
    CHECK_EQ_INT(sl_kinesis_model.op_count, 39);
    CHECK_EQ_STR(sl_kinesis_model.target_prefix, "Kinesis_20131202");
    const sl_op_t *pr = op("PutRecords");
    CHECK(pr && pr->input && pr->output);
    CHECK(sl_model_find_op(&sl_kinesis_model, "PutRecord", 9) != NULL);
    CHECK(sl_model_find_op(&sl_kinesis_model, "putRecords", 10) == NULL);
    CHECK(sl_model_find_op(&sl_kinesis_model, "Nope", 4) == NULL);
    CHECK(op("UpdateStreamWarmThroughput") && op("DescribeAccountSettings") && op("TagResource"));
    CHECK(op("CreateStream")->output == NULL);
    /* PutRecords.Records: list 1..500 of PutRecordsRequestEntry, Data required, blob <= 10 MiB. */
    const sl_shape_t *in = pr->input;
    CHECK_EQ_STR(in->members[0].name, "Records");
    CHECK(in->members[0].required);
    const sl_shape_t *records = in->members[0].shape;
    CHECK_EQ_INT(records->type, SL_SHAPE_LIST);
    CHECK(records->has_min && records->min == 1 && records->has_max && records->max == 500);
    CHECK_EQ_STR(records->member->name, "PutRecordsRequestEntry");
    CHECK_EQ_STR(records->member->members[0].name, "Data"); /* model order */
    CHECK_EQ_INT(records->member->members[0].shape->type, SL_SHAPE_BLOB);
    CHECK_EQ_INT(records->member->members[0].shape->max, 10485760);
    CHECK_EQ_INT(records->member->check_order[0], 2); /* AWS validates PartitionKey first */
    const sl_shape_t *gsi = op("GetShardIterator")->input;
    CHECK_EQ_STR(gsi->members[2].shape->enum_values[0], "AT_SEQUENCE_NUMBER");
    CHECK_EQ_INT(gsi->members[2].shape->enum_count, 5);
    CHECK(op("SubscribeToShard")->output->members[0].shape->eventstream);
    int compiled = 0;
    for (size_t i = 0; i < sl_kinesis_model.op_count; i++) {
        compile_all_patterns(sl_kinesis_model.ops[i].input, 0, &compiled);
        compile_all_patterns(sl_kinesis_model.ops[i].output, 0, &compiled);
    }
    CHECK(compiled > 50);
}

/* ---- SerializationException ---------------------------------------------------------------------
 */

static void test_types_string(void) {
    /* kinesalite helpers.assertType 'String' */
    EXPECT_SER("CreateStream", "{\"StreamName\":true}",
               "class java.lang.Boolean can not be converted to an String");
    EXPECT_SER("CreateStream", "{\"StreamName\":23}",
               "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted "
               "to an String");
    EXPECT_SER("CreateStream", "{\"StreamName\":-2147483648}",
               "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted "
               "to an String");
    EXPECT_SER("CreateStream", "{\"StreamName\":34.56}",
               "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted "
               "to an String");
    EXPECT_SER("CreateStream", "{\"StreamName\":[]}", "Start of list found where not expected");
    EXPECT_SER("CreateStream", "{\"StreamName\":{}}",
               "Start of structure or map found where not expected.");
    /* Nested: Records.0.PartitionKey, Tags.a */
    EXPECT_SER("PutRecords", "{\"Records\":[{\"PartitionKey\":true}]}",
               "class java.lang.Boolean can not be converted to an String");
    EXPECT_SER("AddTagsToStream", "{\"Tags\":{\"a\":23}}",
               "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted "
               "to an String");
}

static void test_types_integer(void) {
    EXPECT_SER("CreateStream", "{\"ShardCount\":\"23\"}",
               "class java.lang.String can not be converted to an Integer");
    EXPECT_SER("CreateStream", "{\"ShardCount\":true}",
               "class java.lang.Boolean can not be converted to an Integer");
    EXPECT_SER("CreateStream", "{\"ShardCount\":[]}", "Start of list found where not expected");
    EXPECT_SER("CreateStream", "{\"ShardCount\":{}}",
               "Start of structure or map found where not expected.");
    EXPECT_SER("ListShards", "{\"MaxResults\":\"23\"}",
               "class java.lang.String can not be converted to an Integer");

    /* Fractions truncate, values beyond the int range clamp (then range validation applies). */
    sl_front_error_t e = {0};
    sl_val_t *doc;
    CHECK_EQ_INT(
        run_json_doc("CreateStream", "{\"StreamName\":\"a\",\"ShardCount\":1.9}", &e, &doc), 0);
    CHECK_EQ_INT(sl_val_get(doc, "ShardCount")->u.num.i, 1);
    CHECK_EQ_INT(run_json_doc("CreateStream", "{\"StreamName\":\"a\",\"ShardCount\":100000000000}",
                              &e, &doc),
                 0);
    CHECK_EQ_INT(sl_val_get(doc, "ShardCount")->u.num.i, 2147483647);
    EXPECT_VAL(
        "CreateStream", "{\"StreamName\":\"a\",\"ShardCount\":0.5}",
        "1 validation error detected: Value '0' at 'shardCount' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1");
    EXPECT_VAL("ListShards", "{\"StreamName\":\"a\",\"MaxResults\":1e12}",
               "1 validation error detected: Value '2147483647' at 'maxResults' failed to satisfy "
               "constraint: "
               "Member must have value less than or equal to 10000");
    EXPECT_VAL("ListShards", "{\"StreamName\":\"a\",\"MaxResults\":-5000000000}",
               "1 validation error detected: Value '-2147483648' at 'maxResults' failed to satisfy "
               "constraint: "
               "Member must have value greater than or equal to 1");
}

static void test_types_boolean(void) {
    EXPECT_SER("DeleteStream", "{\"EnforceConsumerDeletion\":\"23\"}",
               "'23' can not be converted to an Boolean");
    EXPECT_SER("DeleteStream", "{\"EnforceConsumerDeletion\":\"hello\"}",
               "'HELLO' can not be converted to an Boolean");
    EXPECT_SER("DeleteStream", "{\"EnforceConsumerDeletion\":23}",
               "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted "
               "to an Boolean");
    EXPECT_SER("DeleteStream", "{\"EnforceConsumerDeletion\":[]}",
               "Start of list found where not expected");
    EXPECT_SER("DeleteStream", "{\"EnforceConsumerDeletion\":{}}",
               "Start of structure or map found where not expected.");
    sl_front_error_t e = {0};
    sl_val_t *doc;
    CHECK_EQ_INT(run_json_doc("DeleteStream",
                              "{\"StreamName\":\"a\",\"EnforceConsumerDeletion\":\"TRUE\"}", &e,
                              &doc),
                 0);
    bool b = false;
    CHECK(sl_val_get_bool(doc, "EnforceConsumerDeletion", &b) && b);
}

static void test_types_blob(void) {
    EXPECT_SER("PutRecord", "{\"Data\":true}",
               "class java.lang.Boolean can not be converted to a Blob");
    EXPECT_SER("PutRecord", "{\"Data\":23}",
               "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted "
               "to a Blob");
    EXPECT_SER("PutRecord", "{\"Data\":34.56}",
               "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted "
               "to a Blob");
    EXPECT_SER("PutRecord", "{\"Data\":[]}", "Start of list found where not expected");
    EXPECT_SER("PutRecord", "{\"Data\":{}}", "Start of structure or map found where not expected.");
    EXPECT_SER("PutRecord", "{\"Data\":\"23456\"}",
               "'23456' can not be converted to a Blob: Base64 encoded length is expected a "
               "multiple of 4 bytes but found: 5");
    EXPECT_SER("PutRecord", "{\"Data\":\"=+/=\"}",
               "'=+/=' can not be converted to a Blob: Invalid Base64 character: '='");
    EXPECT_SER(
        "PutRecord", "{\"Data\":\"+/+=\"}",
        "'+/+=' can not be converted to a Blob: Invalid last non-pad Base64 character dectected");
    /* In a list of structures. */
    EXPECT_SER("PutRecords",
               "{\"Records\":[{\"PartitionKey\":\"a\",\"Data\":\"YQ==\"},{\"Data\":\"YQ=\"}]}",
               "'YQ=' can not be converted to a Blob: Base64 encoded length is expected a multiple "
               "of 4 bytes but found: 3");
    /* Valid base64 is decoded in place. */
    sl_front_error_t e = {0};
    sl_val_t *doc;
    CHECK_EQ_INT(run_json_doc("PutRecord",
                              "{\"StreamName\":\"s\",\"PartitionKey\":\"k\",\"Data\":\"aGVsbG8=\"}",
                              &e, &doc),
                 0);
    sl_val_t *data = sl_val_get(doc, "Data");
    CHECK(data && data->type == SL_VAL_BYTES && data->u.str.len == 5 &&
          memcmp(data->u.str.ptr, "hello", 5) == 0);
}

static void test_types_timestamp(void) {
    EXPECT_SER("GetShardIterator", "{\"Timestamp\":\"2020-01-01T00:00:00Z\"}",
               "class java.lang.String can not be converted to milliseconds since epoch");
    EXPECT_SER("GetShardIterator", "{\"Timestamp\":true}",
               "class java.lang.Boolean can not be converted to milliseconds since epoch");
    EXPECT_SER("ListShards", "{\"StreamCreationTimestamp\":[]}",
               "Start of list found where not expected");
    EXPECT_SER("ListShards", "{\"ShardFilter\":{\"Type\":\"AT_TIMESTAMP\",\"Timestamp\":{}}}",
               "Start of structure or map found where not expected.");
    sl_front_error_t e = {0};
    sl_val_t *doc;
    CHECK_EQ_INT(run_json_doc("GetShardIterator",
                              "{\"StreamName\":\"s\",\"ShardId\":\"shardId-0\","
                              "\"ShardIteratorType\":\"AT_TIMESTAMP\","
                              "\"Timestamp\":1716000000.123}",
                              &e, &doc),
                 0);
    sl_val_t *ts = sl_val_get(doc, "Timestamp");
    CHECK(ts && ts->type == SL_VAL_TIMESTAMP);
    if (ts) CHECK_EQ_INT(ts->u.ts_ms, 1716000000123LL);
    CHECK_EQ_INT(run_json_doc("ListShards",
                              "{\"StreamName\":\"s\",\"StreamCreationTimestamp\":1704164645}", &e,
                              &doc),
                 0);
    ts = sl_val_get(doc, "StreamCreationTimestamp");
    CHECK(ts && ts->type == SL_VAL_TIMESTAMP && ts->u.ts_ms == 1704164645000LL);
}

static void test_types_containers(void) {
    /* List (Records), Structure (Records.0), Map (Tags), Structure (StreamModeDetails). */
    EXPECT_SER("PutRecords", "{\"Records\":\"23\"}", "Expected list or null");
    EXPECT_SER("PutRecords", "{\"Records\":true}", "Expected list or null");
    EXPECT_SER("PutRecords", "{\"Records\":34.56}", "Expected list or null");
    EXPECT_SER("PutRecords", "{\"Records\":{}}",
               "Start of structure or map found where not expected.");
    EXPECT_SER("PutRecords", "{\"Records\":[\"23\"]}", "Expected null");
    EXPECT_SER("PutRecords", "{\"Records\":[2147483648]}", "Expected null");
    EXPECT_SER("PutRecords", "{\"Records\":[[]]}", "Start of list found where not expected");
    EXPECT_SER("AddTagsToStream", "{\"Tags\":\"23\"}", "Expected map or null");
    EXPECT_SER("AddTagsToStream", "{\"Tags\":23}", "Expected map or null");
    EXPECT_SER("AddTagsToStream", "{\"Tags\":[]}", "Start of list found where not expected");
    EXPECT_SER("CreateStream", "{\"StreamModeDetails\":true}", "Expected null");
    EXPECT_SER("CreateStream", "{\"StreamModeDetails\":[]}",
               "Start of list found where not expected");
    EXPECT_SER("RemoveTagsFromStream", "{\"TagKeys\":[\"a\",1]}",
               "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted "
               "to an String");
    /* The first bad value in document order is the one reported. */
    EXPECT_SER("PutRecord", "{\"PartitionKey\":1,\"Data\":true}",
               "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted "
               "to an String");
    EXPECT_SER("PutRecord", "{\"Data\":true,\"PartitionKey\":1}",
               "class java.lang.Boolean can not be converted to a Blob");
    /* Type errors win over constraint errors; unknown members and nulls are ignored. */
    EXPECT_SER("PutRecord", "{\"StreamName\":\"\",\"Data\":1}",
               "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted "
               "to a Blob");
    EXPECT_OK("PutRecord", "{\"Unknown\":{\"x\":[1,2]},\"PartitionKey\":\"a\",\"Data\":\"\","
                           "\"ExplicitHashKey\":null}");
    /* A body that is not an object: SerializationException without a message. */
    sl_front_error_t e = {0};
    CHECK_EQ_INT(run_json("ListStreams", "[]", &e), -1);
    CHECK_EQ_STR(e.type, "SerializationException");
    CHECK(e.message == NULL);
    /* No body at all is an empty document. */
    CHECK_EQ_INT(sl_front_validate(op("ListStreams"), NULL, SL_FMT_JSON, &arena, &e), 0);
    CHECK_EQ_INT(sl_front_validate(op("GetRecords"), NULL, SL_FMT_JSON, &arena, &e), -1);
    CHECK_EQ_STR(
        e.message,
        "1 validation error detected: Value null at 'shardIterator' failed to satisfy constraint: "
        "Member must not be null");
}

/* ---- ValidationException -----------------------------------------------------------------------
 */

static void test_create_stream(void) {
    /* Newest model: ShardCount optional (ON_DEMAND), so only streamName is required. */
    EXPECT_VAL(
        "CreateStream", "{}",
        "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: "
        "Member must not be null");
    EXPECT_VAL(
        "CreateStream", "{\"StreamName\":null,\"ShardCount\":null}",
        "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: "
        "Member must not be null");
    /* kinesalite test/createStream.js "empty StreamName": exact text and order. */
    EXPECT_VAL("CreateStream", "{\"StreamName\":\"\",\"ShardCount\":0}",
               "3 validation errors detected: "
               "Value '0' at 'shardCount' failed to satisfy constraint: Member must have value "
               "greater than or equal to 1; "
               "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular "
               "expression pattern: [a-zA-Z0-9_.-]+; "
               "Value '' at 'streamName' failed to satisfy constraint: Member must have length "
               "greater than or equal to 1");
    char *name = repeat("a", 129);
    char json[512], want[512];
    snprintf(json, sizeof json, "{\"StreamName\":\"%s\",\"ShardCount\":100000000000}", name);
    snprintf(
        want, sizeof want,
        "1 validation error detected: Value '%s' at 'streamName' failed to satisfy constraint: "
        "Member must have length less than or equal to 128",
        name);
    EXPECT_VAL("CreateStream", json, want);
    EXPECT_VAL("CreateStream",
               "{\"StreamName\":\"a b\",\"MaxRecordSizeInKiB\":100,\"StreamModeDetails\":{}}",
               "3 validation errors detected: "
               "Value 'a b' at 'streamName' failed to satisfy constraint: Member must satisfy "
               "regular expression pattern: [a-zA-Z0-9_.-]+; "
               "Value null at 'streamModeDetails.streamMode' failed to satisfy constraint: Member "
               "must not be null; "
               "Value '100' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have "
               "value greater than or equal to 1024");
    EXPECT_VAL("CreateStream",
               "{\"StreamName\":\"a\",\"StreamModeDetails\":{\"StreamMode\":\"FAST\"}}",
               "1 validation error detected: Value 'FAST' at 'streamModeDetails.streamMode' failed "
               "to satisfy constraint: "
               "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]");
    EXPECT_OK("CreateStream", "{\"StreamName\":\"my_stream-1.x\",\"ShardCount\":2,"
                              "\"StreamModeDetails\":{\"StreamMode\":\"PROVISIONED\"}}");
}

static void test_put_record(void) {
    EXPECT_VAL(
        "PutRecord", "{}",
        "2 validation errors detected: "
        "Value null at 'partitionKey' failed to satisfy constraint: Member must not be null; "
        "Value null at 'data' failed to satisfy constraint: Member must not be null");
    /* kinesalite test/putRecord.js "empty StreamName" (5 errors, AWS's order). */
    EXPECT_VAL("PutRecord",
               "{\"StreamName\":\"\",\"PartitionKey\":\"\",\"Data\":\"\",\"ExplicitHashKey\":\"\","
               "\"SequenceNumberForOrdering\":\"\"}",
               "5 validation errors detected: "
               "Value '' at 'sequenceNumberForOrdering' failed to satisfy constraint: Member must "
               "satisfy regular expression pattern: 0|([1-9]\\d{0,128}); "
               "Value '' at 'partitionKey' failed to satisfy constraint: Member must have length "
               "greater than or equal to 1; "
               "Value '' at 'explicitHashKey' failed to satisfy constraint: Member must satisfy "
               "regular expression pattern: 0|([1-9]\\d{0,38}); "
               "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular "
               "expression pattern: [a-zA-Z0-9_.-]+; "
               "Value '' at 'streamName' failed to satisfy constraint: Member must have length "
               "greater than or equal to 1");
    /* kinesalite "long StreamName", with the current 10 MiB Data limit. */
    size_t data_len = 10485761, b64_len = (data_len + 2) / 3 * 4;
    char *name = repeat("a", 129), *pk = repeat("a", 257);
    char *json = malloc(b64_len + 1024);
    int off = snprintf(
        json, 1024,
        "{\"StreamName\":\"%s\",\"PartitionKey\":\"%s\",\"ExplicitHashKey\":\"\",\"Data\":\"", name,
        pk);
    memset(json + off, 'A', b64_len); /* all-'A' base64 decodes to zero bytes */
    /* 10485761 = 3*3495253 + 2: the last quad is "AAA=". */
    memcpy(json + (size_t)off + b64_len - 2, "A=", 2);
    strcpy(json + (size_t)off + b64_len, "\"}");
    char want[2048];
    snprintf(want, sizeof want,
             "4 validation errors detected: "
             "Value '%s' at 'partitionKey' failed to satisfy constraint: Member must have length "
             "less than or equal to 256; "
             "Value '' at 'explicitHashKey' failed to satisfy constraint: Member must satisfy "
             "regular expression pattern: 0|([1-9]\\d{0,38}); "
             "Value 'java.nio.HeapByteBuffer[pos=0 lim=10485761 cap=10485761]' at 'data' failed to "
             "satisfy constraint: "
             "Member must have length less than or equal to 10485760; "
             "Value '%s' at 'streamName' failed to satisfy constraint: Member must have length "
             "less than or equal to 128",
             pk, name);
    EXPECT_VAL("PutRecord", json, want);
    free(json);
    EXPECT_OK("PutRecord", "{\"StreamName\":\"s\",\"PartitionKey\":\"k\",\"Data\":\"\","
                           "\"ExplicitHashKey\":\"340282366920938463463374607431768211455\","
                           "\"SequenceNumberForOrdering\":"
                           "\"49592592288669974188510550010873737925033238827737546754\"}");
    EXPECT_VAL("PutRecord", "{\"PartitionKey\":\"k\",\"Data\":\"\",\"ExplicitHashKey\":\"01\"}",
               "1 validation error detected: Value '01' at 'explicitHashKey' failed to satisfy "
               "constraint: "
               "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})");
}

static void test_partition_key_length_is_utf16(void) {
    /* 256 two-byte characters (512 bytes) are 256 UTF-16 units: valid. */
    char json[4096];
    snprintf(json, sizeof json, "{\"PartitionKey\":\"%s\",\"Data\":\"\"}", repeat("\xc3\xa9", 256));
    EXPECT_OK("PutRecord", json);
    /* 129 emoji (4 bytes each) are 258 UTF-16 units: too long, though only 129 characters. */
    char *emoji = repeat("\xf0\x9f\x98\x80", 129);
    snprintf(json, sizeof json, "{\"PartitionKey\":\"%s\",\"Data\":\"\"}", emoji);
    char want[4096];
    snprintf(
        want, sizeof want,
        "1 validation error detected: Value '%s' at 'partitionKey' failed to satisfy constraint: "
        "Member must have length less than or equal to 256",
        emoji);
    EXPECT_VAL("PutRecord", json, want);
}

static void test_put_records(void) {
    EXPECT_VAL("PutRecords", "{}",
               "1 validation error detected: Value null at 'records' failed to satisfy constraint: "
               "Member must not be null");
    EXPECT_VAL("PutRecords", "{\"StreamName\":\"\",\"Records\":[]}",
               "3 validation errors detected: "
               "Value '[]' at 'records' failed to satisfy constraint: Member must have length "
               "greater than or equal to 1; "
               "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular "
               "expression pattern: [a-zA-Z0-9_.-]+; "
               "Value '' at 'streamName' failed to satisfy constraint: Member must have length "
               "greater than or equal to 1");
    /* kinesalite test/putRecords.js "empty PartitionKey": nested paths. */
    EXPECT_VAL("PutRecords",
               "{\"StreamName\":\"\",\"Records\":[{\"PartitionKey\":\"\",\"Data\":\"\","
               "\"ExplicitHashKey\":\"\"}]}",
               "4 validation errors detected: "
               "Value '' at 'records.1.member.partitionKey' failed to satisfy constraint: Member "
               "must have length greater than or equal to 1; "
               "Value '' at 'records.1.member.explicitHashKey' failed to satisfy constraint: "
               "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38}); "
               "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular "
               "expression pattern: [a-zA-Z0-9_.-]+; "
               "Value '' at 'streamName' failed to satisfy constraint: Member must have length "
               "greater than or equal to 1");
    EXPECT_VAL("PutRecords",
               "{\"Records\":[{\"PartitionKey\":\"a\",\"Data\":\"\"},{\"Data\":\"\"},{"
               "\"PartitionKey\":\"b\"}]}",
               "2 validation errors detected: "
               "Value null at 'records.2.member.partitionKey' failed to satisfy constraint: Member "
               "must not be null; "
               "Value null at 'records.3.member.data' failed to satisfy constraint: Member must "
               "not be null");

    /* kinesalite "too many records": 501 entries, at most 10 errors listed, in AWS's order. */
    size_t cap = 501 * 40 + 100;
    char *json = malloc(cap);
    size_t o = (size_t)snprintf(json, cap, "{\"StreamName\":\"\",\"Records\":[");
    for (int i = 0; i < 501; i++)
        o += (size_t)snprintf(json + o, cap - o, "%s{\"PartitionKey\":\"\",\"Data\":\"\"}",
                              i ? "," : "");
    snprintf(json + o, cap - o, "]}");
    sl_front_error_t e = {0};
    CHECK_EQ_INT(run_json("PutRecords", json, &e), -1);
    free(json);
    CHECK_EQ_STR(e.type, "ValidationException");
    size_t wcap = 501 * 64 + 4096;
    char *want = malloc(wcap);
    o = (size_t)snprintf(want, wcap, "10 validation errors detected: Value '[");
    for (int i = 0; i < 501; i++)
        o += (size_t)snprintf(want + o, wcap - o,
                              "%scom.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@2",
                              i ? ", " : "");
    o += (size_t)snprintf(want + o, wcap - o,
                          "]' at 'records' failed to satisfy constraint: Member must have length "
                          "less than or equal to 500");
    for (int i = 1; i <= 9; i++)
        o += (size_t)snprintf(
            want + o, wcap - o,
            "; Value '' at 'records.%d.member.partitionKey' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1",
            i);
    if (e.message) CHECK_EQ_STR(normalize_hashes(e.message), want);
    free(want);
}

static void test_truncated_to_ten(void) {
    /* 12 failing records: exactly 10 listed, counted as 10. */
    char json[2048];
    size_t o = (size_t)snprintf(json, sizeof json, "{\"Records\":[");
    for (int i = 0; i < 12; i++)
        o += (size_t)snprintf(json + o, sizeof json - o, "%s{\"PartitionKey\":\"\",\"Data\":\"\"}",
                              i ? "," : "");
    snprintf(json + o, sizeof json - o, "]}");
    sl_front_error_t e = {0};
    CHECK_EQ_INT(run_json("PutRecords", json, &e), -1);
    CHECK(e.message && strncmp(e.message, "10 validation errors detected: ", 31) == 0);
    int n = 0;
    for (const char *p = e.message; p && (p = strstr(p, "Value ")); p++)
        n++;
    CHECK_EQ_INT(n, 10);
    CHECK(e.message && strstr(e.message, "records.10.member.partitionKey") != NULL);
    CHECK(e.message && strstr(e.message, "records.11.member") == NULL);
}

static void test_get_shard_iterator(void) {
    EXPECT_VAL("GetShardIterator",
               "{\"StreamName\":\"a\",\"ShardId\":\"shardId-0\",\"ShardIteratorType\":\"NOPE\"}",
               "1 validation error detected: Value 'NOPE' at 'shardIteratorType' failed to satisfy "
               "constraint: "
               "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, "
               "AT_SEQUENCE_NUMBER, TRIM_HORIZON]");
    EXPECT_VAL(
        "GetShardIterator", "{}",
        "2 validation errors detected: "
        "Value null at 'shardId' failed to satisfy constraint: Member must not be null; "
        "Value null at 'shardIteratorType' failed to satisfy constraint: Member must not be null");
    EXPECT_VAL("GetShardIterator",
               "{\"StreamName\":\"\",\"ShardIteratorType\":\"\",\"ShardId\":\"\","
               "\"StartingSequenceNumber\":\"\"}",
               "6 validation errors detected: "
               "Value '' at 'shardId' failed to satisfy constraint: Member must satisfy regular "
               "expression pattern: [a-zA-Z0-9_.-]+; "
               "Value '' at 'shardId' failed to satisfy constraint: Member must have length "
               "greater than or equal to 1; "
               "Value '' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy "
               "enum value set: "
               "[AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]; "
               "Value '' at 'startingSequenceNumber' failed to satisfy constraint: Member must "
               "satisfy regular expression pattern: 0|([1-9]\\d{0,128}); "
               "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular "
               "expression pattern: [a-zA-Z0-9_.-]+; "
               "Value '' at 'streamName' failed to satisfy constraint: Member must have length "
               "greater than or equal to 1");
    EXPECT_OK("GetShardIterator", "{\"StreamName\":\"a\",\"ShardId\":\"shardId-000000000000\","
                                  "\"ShardIteratorType\":\"TRIM_HORIZON\"}");
}

static void test_tags(void) {
    EXPECT_VAL("AddTagsToStream", "{}",
               "1 validation error detected: Value null at 'tags' failed to satisfy constraint: "
               "Member must not be null");
    EXPECT_VAL("AddTagsToStream", "{\"StreamName\":\"\",\"Tags\":{}}",
               "3 validation errors detected: "
               "Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater "
               "than or equal to 1; "
               "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular "
               "expression pattern: [a-zA-Z0-9_.-]+; "
               "Value '' at 'streamName' failed to satisfy constraint: Member must have length "
               "greater than or equal to 1");
    char *key = repeat("a", 129), *val = repeat("a", 257);
    char json[2048], want[2048];
    snprintf(json, sizeof json,
             "{\"StreamName\":\"s\",\"Tags\":{\"a\":\"1\",\"b\":\"2\",\"%s\":\"3\"}}", key);
    snprintf(
        want, sizeof want,
        "1 validation error detected: Value '{a=1, b=2, %s=3}' at 'tags' failed to satisfy "
        "constraint: "
        "Map keys must satisfy constraint: [Member must have length less than or equal to 128, "
        "Member must have length greater than or equal to 1]",
        key);
    EXPECT_VAL("AddTagsToStream", json, want);
    snprintf(json, sizeof json,
             "{\"StreamName\":\"s\",\"Tags\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"%s\"}}", val);
    snprintf(
        want, sizeof want,
        "1 validation error detected: Value '{a=1, b=2, c=%s}' at 'tags' failed to satisfy "
        "constraint: "
        "Map value must satisfy constraint: [Member must have length less than or equal to 256, "
        "Member must have length greater than or equal to 0]",
        val);
    EXPECT_VAL("AddTagsToStream", json, want);
    EXPECT_VAL(
        "TagResource",
        "{\"ResourceARN\":\"arn:aws:kinesis:us-east-1:123456789012:stream/"
        "s\",\"Tags\":{\"\":\"v\"}}",
        "1 validation error detected: Value '{=v}' at 'tags' failed to satisfy constraint: "
        "Map keys must satisfy constraint: [Member must have length less than or equal to 128, "
        "Member must have length greater than or equal to 1]");
    EXPECT_VAL(
        "RemoveTagsFromStream", "{\"StreamName\":\"s\",\"TagKeys\":[\"\",\"a\"]}",
        "1 validation error detected: Value '[, a]' at 'tagKeys' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must have length less than or equal to 128, "
        "Member must have length greater than or equal to 1]");
    EXPECT_VAL("RemoveTagsFromStream", "{\"TagKeys\":[]}",
               "1 validation error detected: Value '[]' at 'tagKeys' failed to satisfy constraint: "
               "Member must have length greater than or equal to 1");
    EXPECT_OK("AddTagsToStream", "{\"StreamName\":\"s\",\"Tags\":{\"k\":\"\"}}");
}

static void test_list_shards(void) {
    /* kinesalite test/listShards.js "empty StreamName" (its expected set, in AWS's order). */
    EXPECT_VAL(
        "ListShards",
        "{\"StreamName\":\"\",\"NextToken\":\"\",\"MaxResults\":0,\"ExclusiveStartShardId\":\"\"}",
        "6 validation errors detected: "
        "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater "
        "than or equal to 1; "
        "Value '' at 'exclusiveStartShardId' failed to satisfy constraint: Member must satisfy "
        "regular expression pattern: [a-zA-Z0-9_.-]+; "
        "Value '' at 'exclusiveStartShardId' failed to satisfy constraint: Member must have length "
        "greater than or equal to 1; "
        "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: [a-zA-Z0-9_.-]+; "
        "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater "
        "than or equal to 1; "
        "Value '' at 'nextToken' failed to satisfy constraint: Member must have length greater "
        "than or equal to 1");
    char *name = repeat("a", 129);
    char json[1024], want[2048];
    snprintf(json, sizeof json,
             "{\"StreamName\":\"%s\",\"MaxResults\":100000,\"ExclusiveStartShardId\":\"%s\"}", name,
             name);
    snprintf(want, sizeof want,
             "3 validation errors detected: "
             "Value '100000' at 'maxResults' failed to satisfy constraint: Member must have value "
             "less than or equal to 10000; "
             "Value '%s' at 'exclusiveStartShardId' failed to satisfy constraint: Member must have "
             "length less than or equal to 128; "
             "Value '%s' at 'streamName' failed to satisfy constraint: Member must have length "
             "less than or equal to 128",
             name, name);
    EXPECT_VAL("ListShards", json, want);
    EXPECT_VAL(
        "ListShards", "{\"StreamName\":\"s\",\"ShardFilter\":{\"ShardId\":\"x y\"}}",
        "2 validation errors detected: "
        "Value null at 'shardFilter.type' failed to satisfy constraint: Member must not be null; "
        "Value 'x y' at 'shardFilter.shardId' failed to satisfy constraint: Member must satisfy "
        "regular expression pattern: [a-zA-Z0-9_.-]+");
    EXPECT_OK(
        "ListShards",
        "{\"StreamName\":\"s\",\"MaxResults\":1000,\"ShardFilter\":{\"Type\":\"AT_LATEST\"}}");
}

static void test_other_ops(void) {
    EXPECT_VAL("MergeShards",
               "{\"StreamName\":\"\",\"AdjacentShardToMerge\":\"\",\"ShardToMerge\":\"\"}",
               "6 validation errors detected: "
               "Value '' at 'shardToMerge' failed to satisfy constraint: Member must satisfy "
               "regular expression pattern: [a-zA-Z0-9_.-]+; "
               "Value '' at 'shardToMerge' failed to satisfy constraint: Member must have length "
               "greater than or equal to 1; "
               "Value '' at 'adjacentShardToMerge' failed to satisfy constraint: Member must "
               "satisfy regular expression pattern: [a-zA-Z0-9_.-]+; "
               "Value '' at 'adjacentShardToMerge' failed to satisfy constraint: Member must have "
               "length greater than or equal to 1; "
               "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular "
               "expression pattern: [a-zA-Z0-9_.-]+; "
               "Value '' at 'streamName' failed to satisfy constraint: Member must have length "
               "greater than or equal to 1");
    EXPECT_VAL("GetRecords", "{\"ShardIterator\":\"\",\"Limit\":0}",
               "2 validation errors detected: "
               "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater "
               "than or equal to 1; "
               "Value '' at 'shardIterator' failed to satisfy constraint: Member must have length "
               "greater than or equal to 1");
    EXPECT_VAL("ListStreams", "{\"ExclusiveStartStreamName\":\"\",\"Limit\":0}",
               "3 validation errors detected: "
               "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater "
               "than or equal to 1; "
               "Value '' at 'exclusiveStartStreamName' failed to satisfy constraint: Member must "
               "satisfy regular expression pattern: [a-zA-Z0-9_.-]+; "
               "Value '' at 'exclusiveStartStreamName' failed to satisfy constraint: Member must "
               "have length greater than or equal to 1");
    EXPECT_VAL(
        "UpdateShardCount", "{}",
        "2 validation errors detected: "
        "Value null at 'scalingType' failed to satisfy constraint: Member must not be null; "
        "Value null at 'targetShardCount' failed to satisfy constraint: Member must not be null");
    EXPECT_VAL("EnableEnhancedMonitoring",
               "{\"StreamName\":\"s\",\"ShardLevelMetrics\":[\"IncomingBytes\",\"Bogus\"]}",
               "1 validation error detected: Value '[IncomingBytes, Bogus]' at 'shardLevelMetrics' "
               "failed to satisfy constraint: "
               "Member must satisfy constraint: [Member must satisfy enum value set: "
               "[IncomingBytes, IncomingRecords, "
               "OutgoingBytes, OutgoingRecords, WriteProvisionedThroughputExceeded, "
               "ReadProvisionedThroughputExceeded, "
               "IteratorAgeMilliseconds, ALL]]");
    EXPECT_VAL("SubscribeToShard",
               "{\"ConsumerARN\":\"arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/"
               "c:1700000000\","
               "\"ShardId\":\"shardId-000000000000\",\"StartingPosition\":{\"Type\":\"X\","
               "\"SequenceNumber\":\"a\"}}",
               "2 validation errors detected: "
               "Value 'X' at 'startingPosition.type' failed to satisfy constraint: Member must "
               "satisfy enum value set: "
               "[AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]; "
               "Value 'a' at 'startingPosition.sequenceNumber' failed to satisfy constraint: "
               "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})");
    EXPECT_VAL("UpdateAccountSettings", "{\"MinimumThroughputBillingCommitment\":{}}",
               "1 validation error detected: Value null at "
               "'minimumThroughputBillingCommitment.status' failed to satisfy constraint: "
               "Member must not be null");
}

static void test_patterns(void) {
    EXPECT_OK("DescribeStreamSummary",
              "{\"StreamARN\":\"arn:aws:kinesis:us-east-1:123456789012:stream/my-stream\"}");
    EXPECT_OK("DescribeStreamSummary",
              "{\"StreamARN\":\"arn:aws-cn:kinesis:cn-north-1:123456789012:stream/"
              "s\",\"StreamId\":\"abcdefghij0123456789-abc\"}");
    EXPECT_VAL("DescribeStreamSummary",
               "{\"StreamARN\":\"arn:aws:kinesis:us-east-1:12345678901:stream/s\"}",
               "1 validation error detected: Value "
               "'arn:aws:kinesis:us-east-1:12345678901:stream/s' at 'streamARN' "
               "failed to satisfy constraint: Member must satisfy regular expression pattern: "
               "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+");
    /* \S+ rejects whitespace; Java's '.' does not match a newline. */
    EXPECT_VAL("DescribeStreamSummary",
               "{\"StreamARN\":\"arn:aws:kinesis:us-east-1:123456789012:stream/a b\"}",
               "1 validation error detected: Value "
               "'arn:aws:kinesis:us-east-1:123456789012:stream/a b' at 'streamARN' "
               "failed to satisfy constraint: Member must satisfy regular expression pattern: "
               "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+");
    sl_front_error_t e = {0};
    CHECK_EQ_INT(run_json("DescribeStreamSummary",
                          "{\"StreamARN\":\"arn:aws:kinesis:us-east\\n-1:123456789012:stream/s\"}",
                          &e),
                 -1);
    /* A NUL inside a string is not ignored by matching. */
    CHECK_EQ_INT(run_json("DescribeStreamSummary", "{\"StreamName\":\"abc\\u0000def\"}", &e), -1);
    CHECK(e.message && strstr(e.message, "regular expression pattern: [a-zA-Z0-9_.-]+") != NULL);
    EXPECT_OK("DescribeStreamConsumer", "{\"ConsumerARN\":\"arn:aws:kinesis:us-east-1:123456789012:"
                                        "stream/s/consumer/c-1:1700000000\"}");
    EXPECT_VAL("DescribeStreamConsumer",
               "{\"ConsumerARN\":\"arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c\"}",
               "1 validation error detected: Value "
               "'arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c' at 'consumerARN' "
               "failed to satisfy constraint: Member must satisfy regular expression pattern: "
               "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/"
               "[a-zA-Z0-9_.-]+:[0-9]+");
    EXPECT_OK("GetResourcePolicy",
              "{\"ResourceARN\":\"arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1\"}");
}

/* StreamName's pattern is matched with a byte table, not regexec (validate.c, class_compile):
 * every ASCII byte, a non-ASCII character and the empty name are judged as regexec judges them. */
static void test_pattern_byte_class(void) {
    regex_t re;
    CHECK_EQ_INT(regcomp(&re, "^([a-zA-Z0-9_.-]+)$", REG_EXTENDED | REG_NOSUB), 0);
    for (int c = 1; c < 128; c++) {
        char name[4] = {'a', (char)c, 'b', 0};
        bool want = regexec(&re, name, 0, NULL, 0) == 0;
        char json[64];
        snprintf(json, sizeof json, "{\"StreamName\":\"a\\u%04xb\"}", c);
        sl_front_error_t e = {0};
        int rc = run_json("DescribeStreamSummary", json, &e);
        CHECK_EQ_INT(rc, want ? 0 : -1);
        if (!want)
            CHECK(e.message && strstr(e.message, "regular expression pattern: [a-zA-Z0-9_.-]+"));
    }
    regfree(&re);
    sl_front_error_t e = {0};
    CHECK_EQ_INT(run_json("DescribeStreamSummary", "{\"StreamName\":\"caf\u00e9\"}", &e), -1);
    CHECK(e.message && strstr(e.message, "regular expression pattern: [a-zA-Z0-9_.-]+"));
    EXPECT_VAL("DescribeStreamSummary", "{\"StreamName\":\"\"}",
               "2 validation errors detected: Value '' at 'streamName' failed to satisfy "
               "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; "
               "Value '' at 'streamName' failed to satisfy constraint: Member must have length "
               "greater than or equal to 1");
    EXPECT_OK("DescribeStreamSummary", "{\"StreamName\":\"A-z_0.9-\"}");
}

/* ---- CBOR ---------------------------------------------------------------------------------------
 */

static int run_cbor_doc(const char *opname, const uint8_t *data, size_t len, sl_front_error_t *err,
                        sl_val_t **doc) {
    const char *reason = NULL;
    *doc = NULL;
    if (sl_cbor_parse(data, len, &arena, doc, &reason) != 0) {
        fprintf(stderr, "CBOR parse failed: %s\n", reason ? reason : "?");
        err->type = "parse-error";
        return -99;
    }
    return sl_front_validate(op(opname), *doc, SL_FMT_CBOR, &arena, err);
}

static void test_cbor(void) {
    sl_front_error_t e = {0};
    sl_val_t *doc;
    /* Java SDK style: indefinite map, Data as a byte string. */
    static const uint8_t put[] = {0xbf, 0x6a, 'S',  't', 'r',  'e',  'a',  'm',  'N', 'a',
                                  'm',  'e',  0x61, 's', 0x6c, 'P',  'a',  'r',  't', 'i',
                                  't',  'i',  'o',  'n', 'K',  'e',  'y',  0x61, 'k', 0x64,
                                  'D',  'a',  't',  'a', 0x42, 0x01, 0x02, 0xff};
    CHECK_EQ_INT(run_cbor_doc("PutRecord", put, sizeof put, &e, &doc), 0);
    sl_val_t *data = sl_val_get(doc, "Data");
    CHECK(data && data->type == SL_VAL_BYTES && data->u.str.len == 2);
    /* A text string where a blob is expected is read as base64, like JSON. */
    static const uint8_t put_text[] = {0xa2, 0x6c, 'P', 'a',  'r', 't',  'i', 't',  'i',
                                       'o',  'n',  'K', 'e',  'y', 0x61, 'k', 0x64, 'D',
                                       'a',  't',  'a', 0x63, 'a', 'b',  'c'};
    CHECK_EQ_INT(run_cbor_doc("PutRecord", put_text, sizeof put_text, &e, &doc), -1);
    CHECK_EQ_STR(e.message, "'abc' can not be converted to a Blob: Base64 encoded length is "
                            "expected a multiple of 4 bytes but found: 3");
    /* Byte strings elsewhere are type errors. */
    static const uint8_t bytes_name[] = {0xa1, 0x6a, 'S', 't', 'r', 'e',  'a',
                                         'm',  'N',  'a', 'm', 'e', 0x41, 'x'};
    CHECK_EQ_INT(run_cbor_doc("CreateStream", bytes_name, sizeof bytes_name, &e, &doc), -1);
    CHECK_EQ_STR(e.type, "SerializationException");
    CHECK_EQ_STR(e.message, "class [B can not be converted to an String");
    /* Timestamps: tag 1 + integer milliseconds, and a bare integer (milliseconds too). */
    static const uint8_t ts_tag[] = {
        0xa4, 0x6a, 'S', 't', 'r', 'e',  'a',  'm',  'N',  'a',  'm',  'e',  0x61, 's',  0x67,
        'S',  'h',  'a', 'r', 'd', 'I',  'd',  0x61, '0',  0x71, 'S',  'h',  'a',  'r',  'd',
        'I',  't',  'e', 'r', 'a', 't',  'o',  'r',  'T',  'y',  'p',  'e',  0x6c, 'A',  'T',
        '_',  'T',  'I', 'M', 'E', 'S',  'T',  'A',  'M',  'P',  0x69, 'T',  'i',  'm',  'e',
        's',  't',  'a', 'm', 'p', 0xc1, 0x1b, 0x00, 0x00, 0x01, 0xa0, 0x13, 0xac, 0xcc, 0x38};
    CHECK_EQ_INT(run_cbor_doc("GetShardIterator", ts_tag, sizeof ts_tag, &e, &doc), 0);
    sl_val_t *ts = sl_val_get(doc, "Timestamp");
    CHECK(ts && ts->type == SL_VAL_TIMESTAMP && ts->u.ts_ms == 1787036486712LL);
    uint8_t ts_int[sizeof ts_tag - 1];
    memcpy(ts_int, ts_tag, sizeof ts_tag - 10);
    memcpy(ts_int + sizeof ts_tag - 10, ts_tag + sizeof ts_tag - 9, 9); /* drop the 0xc1 tag */
    CHECK_EQ_INT(run_cbor_doc("GetShardIterator", ts_int, sizeof ts_int, &e, &doc), 0);
    ts = sl_val_get(doc, "Timestamp");
    CHECK(ts && ts->type == SL_VAL_TIMESTAMP && ts->u.ts_ms == 1787036486712LL);
    /* Constraint errors come out the same as with JSON. */
    static const uint8_t empty_pk[] = {0xa2, 0x6c, 'P', 'a',  'r',  't', 'i', 't', 'i', 'o', 'n',
                                       'K',  'e',  'y', 0x60, 0x64, 'D', 'a', 't', 'a', 0x40};
    CHECK_EQ_INT(run_cbor_doc("PutRecord", empty_pk, sizeof empty_pk, &e, &doc), -1);
    CHECK_EQ_STR(
        e.message,
        "1 validation error detected: Value '' at 'partitionKey' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1");
    static const uint8_t big_blob_hdr[] = {0xa2, 0x6c, 'P', 'a',  'r',  't',  'i',  't',  'i',
                                           'o',  'n',  'K', 'e',  'y',  0x61, 'k',  0x64, 'D',
                                           'a',  't',  'a', 0x5a, 0x00, 0xa0, 0x00, 0x01};
    size_t blob = 10485761;
    uint8_t *big = calloc(1, sizeof big_blob_hdr + blob);
    memcpy(big, big_blob_hdr, sizeof big_blob_hdr);
    CHECK_EQ_INT(run_cbor_doc("PutRecord", big, sizeof big_blob_hdr + blob, &e, &doc), -1);
    free(big);
    CHECK_EQ_STR(e.message, "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 "
                            "lim=10485761 cap=10485761]' "
                            "at 'data' failed to satisfy constraint: Member must have length less "
                            "than or equal to 10485760");
}

int main(void) {
    sl_arena_init(&arena, 64 * 1024);
    test_model_table();
    test_model_metadata_and_errors();
    test_types_string();
    test_types_integer();
    test_types_boolean();
    test_types_blob();
    test_types_timestamp();
    test_types_containers();
    test_create_stream();
    test_put_record();
    test_partition_key_length_is_utf16();
    test_put_records();
    test_truncated_to_ten();
    test_get_shard_iterator();
    test_tags();
    test_list_shards();
    test_other_ops();
    test_patterns();
    test_pattern_byte_class();
    test_cbor();
    sl_arena_deinit(&arena);
    TEST_MAIN_END();
}
