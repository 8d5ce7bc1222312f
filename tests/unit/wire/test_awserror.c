/* Unit tests of AWS error bodies: compact JSON with and without message, the capitalised
 * "Message" key, escaping of messages, and the CBOR form decoded back by our CBOR decoder. */
#include "test.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "wire/awserror.h"
#include "wire/cbor.h"

#include <string.h>

static const char *json(sl_buf_t *b, const char *type, const char *msg, bool capital) {
    sl_buf_reset(b);
    sl_aws_error_body(b, SL_FMT_JSON, type, msg, capital);
    sl_buf_append_byte(b, 0);
    return b->data;
}

int main(void) {
    sl_buf_t b = SL_BUF_INIT;
    CHECK_EQ_STR(json(&b, "ResourceNotFoundException",
                      "Stream s under account 000000000000 not found.", false),
                 "{\"__type\":\"ResourceNotFoundException\",\"message\":\"Stream s under account "
                 "000000000000 not found.\"}");
    CHECK_EQ_STR(json(&b, "SerializationException", NULL, false),
                 "{\"__type\":\"SerializationException\"}");
    CHECK_EQ_STR(json(&b, "SerializationException", "Expected list or null", true),
                 "{\"__type\":\"SerializationException\",\"Message\":\"Expected list or null\"}");
    CHECK_EQ_STR(
        json(&b, "ValidationException", "Value 'a\"b' at 'x'\n", false),
        "{\"__type\":\"ValidationException\",\"message\":\"Value 'a\\\"b' at 'x'\\u000a\"}");

    sl_arena_t arena;
    sl_arena_init(&arena, 1024);
    sl_buf_reset(&b);
    sl_aws_error_body(&b, SL_FMT_CBOR, "UnknownOperationException", "nope", false);
    sl_val_t *v = NULL;
    CHECK_EQ_INT(sl_cbor_parse((const uint8_t *)b.data, b.len, &arena, &v, NULL), 0);
    CHECK(v && v->type == SL_VAL_MAP && v->u.map.count == 2);
    CHECK_EQ_STR(sl_val_get_str(v, "__type", NULL), "UnknownOperationException");
    CHECK_EQ_STR(sl_val_get_str(v, "message", NULL), "nope");
    /* Indefinite-length map, as every CBOR response. */
    CHECK((uint8_t)b.data[0] == 0xbf && (uint8_t)b.data[b.len - 1] == 0xff);
    sl_buf_reset(&b);
    sl_aws_error_body(&b, SL_FMT_CBOR, "SerializationException", NULL, true);
    CHECK_EQ_INT(sl_cbor_parse((const uint8_t *)b.data, b.len, &arena, &v, NULL), 0);
    CHECK(v && v->u.map.count == 1);
    /* No __type: the client reports the HTTP status as the code (AWS's 413). */
    CHECK_EQ_STR(json(&b, NULL, "too large", false), "{\"message\":\"too large\"}");

    /* The table: one spelling per type, its status, lookup by address and by text. */
    CHECK_EQ_STR(SL_AWS_INTERNAL_FAILURE, "InternalFailure");
    CHECK_EQ_INT(sl_aws_error_status(SL_AWS_INTERNAL_FAILURE), 500);
    CHECK_EQ_INT(sl_aws_error_status(SL_AWS_INTERNAL_FAILURE_EVENT), 500);
    CHECK_EQ_INT(sl_aws_error_status("InternalFailure"), 500);
    CHECK_EQ_INT(sl_aws_error_status(SL_AWS_RESOURCE_NOT_FOUND), 400);
    CHECK_EQ_INT(sl_aws_error_status("ValidationException"), 400);
    CHECK_EQ_INT(sl_aws_error_status("SomethingElse"), 400);
    /* Internal failures name their cause. */
    CHECK_EQ_STR(sl_aws_failure_message(SL_EINVAL), "Internal service failure.");
    CHECK(strstr(sl_aws_failure_message(SL_ENOSPC), "disk is full") != NULL);
    CHECK(strstr(sl_aws_failure_message(SL_EIO), "I/O error") != NULL);
    sl_arena_deinit(&arena);
    sl_buf_free(&b);
    TEST_MAIN_END();
}
