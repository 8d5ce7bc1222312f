/* The fault-injection admin API (see faults.h): the routes decode the request, edit a copy of the
 * rules through the composition root's change function and answer with the rules that result. */
#include "server/faults.h"

#include "core/buf.h"
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAULTS_PATH "/admin/faults"

typedef struct {
    sl_fault_admin_change_fn change;
    void *ctx;
    uint32_t next_id; /* (under the change function's lock) */
} admin_t;

static admin_t g_admin = {.next_id = 1}; /* one server per process: the routes' context */

void sl_fault_admin_number(sl_kfaults_t *rules, size_t from) {
    for (size_t i = from; i < rules->count; i++)
        rules->rules[i].id = g_admin.next_id++;
}

static void respond_message(sl_front_call_t *call, int status, const char *message) {
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_printf(&b, "{\"message\":\"%s\"}", message); /* static texts without quotes */
    sl_front_respond(call, status, "application/json", b.data, b.len);
    sl_buf_free(&b);
}

static void respond_rules(sl_front_call_t *call, const sl_kfaults_t *rules) {
    static const char *const ops[] = {"", "write", "read", "any"};
    static const char *const errors[] = {"none", "throughput", "internal"};
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_str(&b, "{\"Rules\":[");
    for (size_t i = 0; i < rules->count; i++) {
        const sl_kfault_rule_t *r = &rules->rules[i];
        char spec[256];
        sl_kfault_rule_format(r, spec, sizeof spec);
        /* stream globs are [A-Za-z0-9_.*-]: nothing to escape */
        sl_buf_printf(&b,
                      "%s{\"Id\":%u,\"Stream\":\"%s\",\"Op\":\"%s\",\"Error\":\"%s\","
                      "\"LatencyMs\":%lld,\"Rate\":%.9g,\"Rule\":\"%s\"}",
                      i ? "," : "", r->id, r->stream, ops[r->ops & 3], errors[r->error],
                      (long long)r->latency_ms, r->rate, spec);
    }
    sl_buf_append_str(&b, "]}");
    if (sl_buf_failed(&b))
        respond_message(call, 500, "out of memory");
    else
        sl_front_respond(call, 200, "application/json", b.data, b.len);
    sl_buf_free(&b);
}

/* ---- edits (run under the change function's lock) ---- */

typedef struct {
    const char *text; /* POST: the specification */
    size_t len;
    uint32_t id; /* DELETE one */
    const char *reason;
    sl_kfaults_t result; /* the rules after the edit (also when it changed nothing) */
} edit_t;

static int edit_list(sl_kfaults_t *rules, void *arg) {
    edit_t *e = arg;
    e->result = *rules;
    return SL_ENOTFOUND; /* nothing to apply */
}

static int edit_add(sl_kfaults_t *rules, void *arg) {
    edit_t *e = arg;
    sl_kfaults_t *added = malloc(sizeof *added);
    if (!added) return SL_ENOMEM;
    int rc = sl_kfaults_parse(e->text, e->len, added, &e->reason);
    if (rc == 0 && added->count == 0) {
        e->reason = "the body holds no fault rule (the --fault syntax: "
                    "stream=NAME,op=write,error=throughput,rate=0.1)";
        rc = SL_EINVAL;
    }
    if (rc == 0 && rules->count + added->count > SL_KINESIS_FAULT_RULES_MAX) {
        e->reason = "too many fault rules (at most 16)";
        rc = SL_ELIMIT;
    }
    if (rc == 0) {
        size_t from = rules->count;
        for (size_t i = 0; i < added->count; i++)
            rules->rules[rules->count++] = added->rules[i];
        sl_fault_admin_number(rules, from);
        e->result = *rules;
    }
    free(added);
    return rc;
}

static int edit_remove(sl_kfaults_t *rules, void *arg) {
    edit_t *e = arg;
    size_t j = 0;
    for (size_t i = 0; i < rules->count; i++)
        if (rules->rules[i].id != e->id) rules->rules[j++] = rules->rules[i];
    if (j == rules->count) {
        e->result = *rules;
        return SL_ENOTFOUND;
    }
    rules->count = j;
    e->result = *rules;
    return 0;
}

static int edit_clear(sl_kfaults_t *rules, void *arg) {
    edit_t *e = arg;
    rules->count = 0;
    e->result = *rules;
    return 0;
}

/* ---- routes ---- */

static edit_t *new_edit(sl_front_call_t *call) {
    edit_t *e = sl_arena_calloc(call->arena, 1, sizeof *e);
    if (!e) respond_message(call, 500, "out of memory");
    return e;
}

static void list_route(sl_front_call_t *call) {
    edit_t *e = new_edit(call);
    if (!e) return;
    g_admin.change(g_admin.ctx, edit_list, e);
    respond_rules(call, &e->result);
}

static void add_route(sl_front_call_t *call) {
    edit_t *e = new_edit(call);
    if (!e) return;
    e->text = (const char *)call->req->body;
    e->len = call->req->body_len;
    int rc = g_admin.change(g_admin.ctx, edit_add, e);
    if (rc == SL_ENOMEM)
        respond_message(call, 500, "out of memory");
    else if (rc)
        respond_message(call, 400, e->reason ? e->reason : "malformed fault rule");
    else
        respond_rules(call, &e->result);
}

static void delete_route(sl_front_call_t *call) {
    edit_t *e = new_edit(call);
    if (!e) return;
    const char *path = call->req->path;
    size_t plen = strcspn(path, "?");
    if (plen == strlen(FAULTS_PATH)) {
        g_admin.change(g_admin.ctx, edit_clear, e);
        respond_rules(call, &e->result);
        return;
    }
    /* /admin/faults/<id> */
    const char *p = path + strlen(FAULTS_PATH) + 1;
    size_t n = plen - strlen(FAULTS_PATH) - 1;
    uint64_t id = 0;
    bool ok = n > 0 && n <= 9;
    for (size_t i = 0; ok && i < n; i++) {
        ok = p[i] >= '0' && p[i] <= '9';
        id = id * 10 + (uint64_t)(p[i] - '0');
    }
    if (!ok || path[strlen(FAULTS_PATH)] != '/') {
        respond_message(call, 404, "no such fault rule");
        return;
    }
    e->id = (uint32_t)id;
    if (g_admin.change(g_admin.ctx, edit_remove, e) != 0) {
        respond_message(call, 404, "no such fault rule");
        return;
    }
    respond_rules(call, &e->result);
}

int sl_fault_admin_register(sl_front_t *front, sl_fault_admin_change_fn change, void *ctx) {
    g_admin.change = change;
    g_admin.ctx = ctx;
    int rc = sl_front_add_admin_route(front, "GET", FAULTS_PATH, false, list_route, NULL);
    if (rc == 0) rc = sl_front_add_admin_route(front, "POST", FAULTS_PATH, false, add_route, NULL);
    if (rc == 0)
        rc = sl_front_add_admin_route(front, "DELETE", FAULTS_PATH, true, delete_route, NULL);
    return rc;
}
