/* The virtual clock's route (docs/analytics.md "Virtual clock"): GET /admin/analytics/clock
 * answers the clock's time, POST with {"now_ms": N} moves it (analytics/clock.h) and answers once
 * every running application read its input at the old time and delivered the rows of the windows
 * the move closed. Not an AWS operation: a plain route of the front, for tests. */
#include "api/kinesisanalytics/binding.h"

#include "analytics/clock.h"
#include "core/common.h"
#include "core/buf.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    int64_t now_ms;
    int status;
} move_t;

static void answer_error(sl_front_call_t *call, int status, const char *type, const char *msg) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "__type", type);
    sl_enc_kv_cstr(&e, "message", msg);
    sl_enc_map_end(&e);
    sl_front_respond(call, status, "application/json", b.data, b.len);
    sl_buf_free(&b);
}

static void answer_time(sl_front_call_t *call, sl_an_clock_t *clock) {
    char body[128];
    int n = snprintf(body, sizeof body, "{\"virtual\":%s,\"now_ms\":%" PRId64 "}",
                     sl_an_clock_is_virtual(clock) ? "true" : "false", sl_an_clock_now(clock));
    sl_front_respond(call, 200, "application/json", body, (size_t)n);
}

static void moved(sl_front_call_t *call) {
    move_t *m = call->state;
    if (m->status == SL_EINVAL)
        answer_error(call, 400, "InvalidArgumentException",
                     "The clock cannot go back: now_ms is before its time");
    else if (m->status == SL_ENOTFOUND)
        answer_error(call, 400, "UnsupportedOperationException",
                     "The analytics clock is the wall clock (--analytics-clock virtual moves it)");
    else if (m->status != 0)
        answer_error(call, 500, "InternalFailure", sl_strerror(m->status));
    else
        answer_time(call, call->route_ctx);
}

static void move_done(void *ctx, int status) {
    sl_front_call_t *call = ctx;
    ((move_t *)call->state)->status = status;
    sl_front_post(call, moved); /* from the move's thread to the request's loop */
}

static void clock_route(sl_front_call_t *call) {
    sl_an_clock_t *clock = call->route_ctx;
    if (strcmp(call->req->method, "GET") == 0) {
        answer_time(call, clock);
        return;
    }
    size_t len = call->req->body_len;
    char *text = sl_arena_alloc(call->arena, len + 1);
    sl_val_t *in = NULL;
    const char *reason = "out of memory";
    int64_t now_ms = 0;
    if (text) {
        memcpy(text, call->req->body, len);
        text[len] = '\0';
    }
    if (!text || sl_json_parse(text, len, call->arena, &in, &reason) != 0 ||
        in->type != SL_VAL_MAP || !sl_val_get_int(in, "now_ms", &now_ms) || now_ms < 0) {
        answer_error(call, 400, "InvalidArgumentException",
                     "The body must be a JSON object {\"now_ms\": <ms since the epoch>}");
        return;
    }
    move_t *m = sl_arena_calloc(call->arena, 1, sizeof *m);
    if (!m) {
        answer_error(call, 500, "InternalFailure", "out of memory");
        return;
    }
    m->now_ms = now_ms;
    call->state = m;
    if (!sl_an_clock_is_virtual(clock)) {
        m->status = SL_ENOTFOUND;
        moved(call);
        return;
    }
    int rc = sl_an_clock_set_async(clock, now_ms, move_done, call);
    if (rc != 0) answer_error(call, 500, "InternalFailure", sl_strerror(rc));
}

int sl_kdaapi_register_clock(sl_front_t *front, sl_an_clock_t *clock) {
    int rc =
        sl_front_add_admin_route(front, "GET", "/admin/analytics/clock", false, clock_route, clock);
    if (rc == 0)
        rc = sl_front_add_admin_route(front, "POST", "/admin/analytics/clock", false, clock_route,
                                      clock);
    return rc;
}
