/* GET /metrics: the registry (core/metrics.h) in Prometheus's text format, on the main port and
 * optionally on --metrics-port. */
#include "server/observe.h"

#include "core/buf.h"
#include "core/common.h"
#include "core/log.h"
#include "core/metrics.h"

#include <stdlib.h>
#include <string.h>

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static void metrics_route(sl_front_call_t *call) {
    sl_buf_t b = SL_BUF_INIT;
    if (sl_metrics_prometheus(&b) != 0) {
        sl_buf_free(&b);
        static const char oom[] = "out of memory\n";
        sl_front_respond(call, 500, "text/plain", oom, sizeof oom - 1);
        return;
    }
    sl_front_respond(call, 200, PROM_CONTENT_TYPE, b.data, b.len);
    sl_buf_free(&b);
}

static void ready_route(sl_front_call_t *call) {
    const volatile bool *ready = call->route_ctx;
    static const char yes[] = "{\"status\":\"ready\"}", no[] = "{\"status\":\"not ready\"}";
    if (__atomic_load_n(ready, __ATOMIC_ACQUIRE))
        sl_front_respond(call, 200, "application/json", yes, sizeof yes - 1);
    else
        sl_front_respond(call, 503, "application/json", no, sizeof no - 1);
}

int sl_observe_register(sl_front_t *front, const volatile bool *ready) {
    sl_metrics_process_declare();
    int rc = sl_front_add_route(front, "GET", "/metrics", false, metrics_route, NULL);
    if (rc == 0) rc = sl_front_add_route(front, "GET", "/ready", false, ready_route, (void *)ready);
    return rc;
}

/* The --metrics-port listener's handler: /metrics, else 404. */
static void metrics_port_handle(void *ctx, sl_http_req_t *req) {
    (void)ctx;
    size_t plen = strcspn(req->path, "?");
    sl_http_header_t ct = {"content-type", 12, PROM_CONTENT_TYPE, strlen(PROM_CONTENT_TYPE)};
    if (strcmp(req->method, "GET") != 0 || plen != 8 || memcmp(req->path, "/metrics", 8) != 0) {
        static const char nf[] = "not found\n";
        char *body = malloc(sizeof nf - 1);
        if (body) memcpy(body, nf, sizeof nf - 1);
        sl_http_respond(req, 404, NULL, 0, body, body ? sizeof nf - 1 : 0);
        return;
    }
    sl_buf_t b = SL_BUF_INIT;
    if (sl_metrics_prometheus(&b) != 0) {
        sl_buf_free(&b);
        sl_http_respond(req, 500, NULL, 0, NULL, 0);
        return;
    }
    size_t len = 0;
    char *body = sl_buf_detach(&b, &len);
    sl_http_respond(req, 200, &ct, 1, body, len);
}

int sl_observe_start_port(const char *bind_address, int port, sl_http_server_t **out) {
    sl_http_server_config_t hcfg = {
        .bind_address = bind_address,
        .port = port,
        .threads = 1,
        .body_max_bytes = 1024 * 1024,
        .handler = metrics_port_handle,
    };
    int rc = sl_http_server_start(&hcfg, out);
    if (rc)
        SL_ERROR("cannot listen for metrics on %s:%d: %s", bind_address, port, sl_strerror(rc));
    else
        SL_INFO("metrics on %s:%d/metrics", bind_address, sl_http_server_port(*out));
    return rc;
}
