/* Unit tests of AWS error bodies: compact JSON with and without message, the capitalised
 * "Message" key, escaping of messages, and the CBOR form decoded back by our CBOR decoder. */
#include "test.h"

#include "core/arena.h"
#include "core/buf.h"
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
    CHECK_EQ_STR(json(&b, "ResourceNotFoundException", "Stream s under account 000000000000 not found.", false),
                 "{\"__type\":\"ResourceNotFoundException\",\"message\":\"Stream s under account 000000000000 not found.\"}");
    CHECK_EQ_STR(json(&b, "SerializationException", NULL, false), "{\"__type\":\"SerializationException\"}");
    CHECK_EQ_STR(json(&b, "SerializationException", "Expected list or null", true),
                 "{\"__type\":\"SerializationException\",\"Message\":\"Expected list or null\"}");
    CHECK_EQ_STR(json(&b, "ValidationException", "Value 'a\"b' at 'x'\n", false),
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
    sl_arena_deinit(&arena);
    sl_buf_free(&b);
    TEST_MAIN_END();
}
