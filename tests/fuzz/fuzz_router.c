/* Fuzz target: the front's router on request bytes. Input layout: the Authorization value, the
 * query string, the path and the X-Amz-Target value, separated by NULs (missing parts are empty;
 * a flags byte first: bit 0 = no Authorization header, bit 1 = no query). The credential scope
 * parser must give a name inside its input or none, and every lookup must give a registered
 * destination or NULL. */
#include "front/router.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int kinesis, iam, health, console;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t flags = data[0];
    char *s = calloc(1, size + 4);
    if (!s) return 0;
    memcpy(s, data + 1, size - 1);
    const char *end = s + size - 1;
    const char *parts[4];
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        parts[i] = p;
        if (p <= end) p += strlen(p) + 1;
        if (p > end + 1) p = end + 1;
    }
    static sl_router_t r;
    if (!r.target_count) {
        sl_router_add_target(&r, "Kinesis_20131202", &kinesis);
        sl_router_add_signing_name(&r, "kinesis", &kinesis);
        sl_router_add_signing_name(&r, "iam", &iam);
        sl_router_add_path(&r, "GET", "/health", false, &health);
        sl_router_add_path(&r, "GET", "/console/", true, &console);
    }
    const char *name = NULL;
    size_t len = 0;
    const char *authz = (flags & 1) ? NULL : parts[0], *query = (flags & 2) ? NULL : parts[1];
    if (sl_router_scope_service(authz, query, &name, &len)) {
        bool in_authz = authz && name >= authz && name + len <= authz + strlen(authz);
        bool in_query = query && name >= query && name + len <= query + strlen(query);
        if (len == 0 || (!in_authz && !in_query)) abort();
        void *d = sl_router_by_signing_name(&r, name, len);
        if (d && d != &kinesis && d != &iam) abort();
    }
    void *d = sl_router_by_path(&r, "GET", parts[2]);
    if (d && d != &health && d != &console) abort();
    d = sl_router_by_target(&r, parts[3]);
    if (d && d != &kinesis) abort();
    free(s);
    return 0;
}
