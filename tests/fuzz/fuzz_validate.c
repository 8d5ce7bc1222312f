/* Fuzz target: request decoding plus model validation, the path every API body takes after the
 * HTTP layer (src/front/front.c steps 7 and 10). The first input byte picks the operation of
 * sl_kinesis_model (low 7 bits, modulo the operation count) and the codec (high bit set = CBOR,
 * clear = JSON); the rest is the body. Whatever the body, parsing and validation must not crash,
 * and a rejected request must carry an AWS error type from the set the front can send with a
 * well-formed message: ValidationException texts start with "1 validation error detected: " or
 * "<N> validation errors detected: " with 2 <= N <= 10. An accepted request, coerced in place, must
 * be accepted again (handlers rely on the coerced forms). For JSON, the fast path
 * (sl_front_json_fast) runs first on a copy: when it accepts, the general path must accept too and
 * leave the same tree; when it declines, the copy must be unchanged. */
#include "api/kinesis/model.h"
#include "front/validate.h"
#include "core/arena.h"
#include "wire/cbor.h"
#include "wire/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Aborts unless `msg` is a well-formed ValidationException message. */
static void check_validation_message(const char *msg) {
    if (!msg) abort();
    if (strncmp(msg, "1 validation error detected: ", 29) == 0) return;
    char *end = NULL;
    long n = strtol(msg, &end, 10);
    if (end == msg || n < 2 || n > 10) abort();
    if (strncmp(end, " validation errors detected: ", 29) != 0) abort();
    /* The number must be written plainly (no sign, no leading zero). */
    if (msg[0] < '1' || msg[0] > '9') abort();
}

/* Aborts unless a and b are the same tree (fast: from sl_front_json_fast, which builds only
 * strings, blobs, lists and maps), with the same NUL after every string and key. */
static void check_same(const sl_val_t *a, const sl_val_t *b) {
    if (!a || !b || a->type != b->type) abort();
    switch (a->type) {
    case SL_VAL_STRING:
    case SL_VAL_BYTES:
        if (a->u.str.len != b->u.str.len || memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) ||
            a->u.str.ptr[a->u.str.len] || b->u.str.ptr[b->u.str.len])
            abort();
        return;
    case SL_VAL_ARRAY:
        if (a->u.arr.count != b->u.arr.count) abort();
        for (size_t i = 0; i < a->u.arr.count; i++)
            check_same(a->u.arr.items[i], b->u.arr.items[i]);
        return;
    case SL_VAL_MAP:
        if (a->u.map.count != b->u.map.count) abort();
        for (size_t i = 0; i < a->u.map.count; i++) {
            const sl_kv_t *x = &a->u.map.items[i], *y = &b->u.map.items[i];
            if (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) ||
                x->key[x->key_len] || y->key[y->key_len])
                abort();
            check_same(x->val, y->val);
        }
        return;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const sl_op_t *op = &sl_kinesis_model.ops[(data[0] & 0x7f) % sl_kinesis_model.op_count];
    sl_fmt_t fmt = (data[0] & 0x80) ? SL_FMT_CBOR : SL_FMT_JSON;
    size_t len = size - 1;
    /* The JSON parser writes into its input and needs a NUL after it, as the net layer provides. */
    char *body = malloc(len + 1);
    if (!body) return 0;
    memcpy(body, data + 1, len);
    body[len] = '\0';

    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_val_t *doc = NULL, *fast = NULL;
    const char *reason = NULL;
    char *copy = NULL;
    if (fmt == SL_FMT_JSON) {
        copy = malloc(len + 1);
        if (!copy) abort();
        memcpy(copy, body, len + 1);
        if (!sl_front_json_fast(op, copy, len, &arena, &fast) && memcmp(copy, body, len + 1))
            abort();
    }
    int prc = fmt == SL_FMT_CBOR ? sl_cbor_parse((const uint8_t *)body, len, &arena, &doc, &reason)
                                 : sl_json_parse(body, len, &arena, &doc, &reason);
    if (prc != 0) {
        if (!reason || fast) abort();
        goto done;
    }
    /* The front only validates map documents; validate must still cope with any tree. */
    sl_front_error_t err = {0};
    if (sl_front_validate(op, doc, fmt, &arena, &err) != 0) {
        if (!err.type || fast) abort();
        if (strcmp(err.type, "ValidationException") == 0) {
            check_validation_message(err.message);
        } else if (strcmp(err.type, "SerializationException") != 0 &&
                   strcmp(err.type, "InternalFailure") != 0) {
            abort();
        }
    } else {
        /* A non-map document is never a valid request. */
        if (doc && doc->type != SL_VAL_MAP && doc->type != SL_VAL_NULL) abort();
        /* Coercion is idempotent: the coerced tree (what handlers see) validates again. */
        sl_front_error_t again = {0};
        if (sl_front_validate(op, doc, fmt, &arena, &again) != 0) abort();
        if (fast) check_same(fast, doc);
    }
done:
    sl_arena_deinit(&arena);
    free(copy);
    free(body);
    return 0;
}
