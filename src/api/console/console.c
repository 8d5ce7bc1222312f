/* The web console's plain routes: the files vite built, from the table embedded at build time
 * (console.h). Answers carry a content type from the file's extension, a cache policy (hashed
 * assets forever, the page itself revalidated) and a Content-Security-Policy that lets the page
 * load and call only its own origin. */
#include "api/console/console.h"

#include "core/common.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CONSOLE_PREFIX "/console/"

static const char csp[] = "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                          "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
                          "base-uri 'none'; form-action 'self'";

static bool ends_with(const char *s, size_t len, const char *suffix) {
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static const char *content_type(const char *path, size_t len) {
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (ends_with(path, len, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}

const sl_console_asset_t *sl_console_find(const char *path, size_t len) {
    if (len == 0) {
        path = "index.html";
        len = strlen(path);
    }
    for (size_t i = 0; i < sl_console_asset_count; i++) {
        const sl_console_asset_t *a = &sl_console_assets[i];
        if (strlen(a->path) == len && memcmp(a->path, path, len) == 0) return a;
    }
    return NULL;
}

static void not_found(sl_front_call_t *call) {
    static const char body[] = "Not Found\n";
    sl_front_respond(call, 404, "text/plain; charset=utf-8", body, sizeof body - 1);
}

/* GET /console: the page's relative URLs need the trailing slash. */
static void redirect(sl_front_call_t *call) {
    const sl_http_header_t location = {.name = "Location",
                                       .name_len = 8,
                                       .value = CONSOLE_PREFIX,
                                       .value_len = sizeof CONSOLE_PREFIX - 1};
    sl_front_respond_ex(call, 301, "text/plain; charset=utf-8", &location, 1, NULL, 0);
}

static void serve(sl_front_call_t *call) {
    const char *path = call->req->path + (sizeof CONSOLE_PREFIX - 1);
    size_t len = strcspn(path, "?#");
    const sl_console_asset_t *a = sl_console_find(path, len);
    if (!a) {
        not_found(call);
        return;
    }
    void *body = a->size ? malloc(a->size) : NULL;
    if (a->size && !body) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    if (a->size) memcpy(body, a->data, a->size);
    bool hashed = strncmp(a->path, "assets/", 7) == 0;
    const char *cache = hashed ? "public, max-age=31536000, immutable" : "no-cache";
    const sl_http_header_t headers[] = {
        {.name = "Cache-Control", .name_len = 13, .value = cache, .value_len = strlen(cache)},
        {.name = "Content-Security-Policy",
         .name_len = 23,
         .value = csp,
         .value_len = sizeof csp - 1},
        {.name = "X-Content-Type-Options", .name_len = 22, .value = "nosniff", .value_len = 7},
    };
    sl_front_respond_ex(call, 200, content_type(a->path, strlen(a->path)), headers,
                        sizeof headers / sizeof headers[0], body, a->size);
}

int sl_console_register(sl_front_t *front) {
    int rc = sl_front_add_route(front, "GET", "/console", false, redirect, NULL);
    if (rc == 0) rc = sl_front_add_route(front, "GET", CONSOLE_PREFIX, true, serve, NULL);
    return rc;
}
