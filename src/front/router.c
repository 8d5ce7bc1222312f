/* The front's router (see router.h). */
#include "front/router.h"

#include "core/common.h"

#include <string.h>
#include <strings.h>

static int add(sl_route_t *table, size_t *count, const sl_route_t *route) {
    for (size_t i = 0; i < *count; i++) {
        const sl_route_t *e = &table[i];
        if (strcmp(e->key, route->key) == 0 && e->prefix == route->prefix &&
            (!e->method || strcmp(e->method, route->method) == 0))
            return SL_EEXIST;
    }
    if (*count >= SL_FRONT_ROUTES_MAX) return SL_ELIMIT;
    table[*count] = *route;
    table[(*count)++].key_len = strlen(route->key);
    return 0;
}

int sl_router_add_path(sl_router_t *r, const char *method, const char *path, bool prefix,
                       void *dest) {
    if (!method || !method[0] || !path || path[0] != '/') return SL_EINVAL;
    sl_route_t route = {.key = path, .method = method, .prefix = prefix, .dest = dest};
    return add(r->paths, &r->path_count, &route);
}

int sl_router_add_target(sl_router_t *r, const char *prefix, void *dest) {
    if (!prefix || !prefix[0] || strchr(prefix, '.')) return SL_EINVAL;
    sl_route_t route = {.key = prefix, .dest = dest};
    return add(r->targets, &r->target_count, &route);
}

int sl_router_add_signing_name(sl_router_t *r, const char *name, void *dest) {
    if (!name || !name[0]) return SL_EINVAL;
    sl_route_t route = {.key = name, .dest = dest};
    return add(r->signing_names, &r->signing_name_count, &route);
}

void *sl_router_by_path(const sl_router_t *r, const char *method, const char *path) {
    size_t len = strcspn(path, "?");
    const sl_route_t *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < r->path_count; i++) {
        const sl_route_t *e = &r->paths[i];
        size_t klen = e->key_len;
        /* the path first: most requests (POST /) match no route's */
        if (e->prefix ? klen > len || (best && klen <= best_len) : klen != len) continue;
        if (memcmp(e->key, path, klen) != 0 || strcmp(e->method, method) != 0) continue;
        if (!e->prefix) return e->dest;
        best = e;
        best_len = klen;
    }
    return best ? best->dest : NULL;
}

static void *by_key(const sl_route_t *table, size_t count, const char *key, size_t len) {
    for (size_t i = 0; i < count; i++)
        if (table[i].key_len == len && memcmp(table[i].key, key, len) == 0) return table[i].dest;
    return NULL;
}

void *sl_router_by_target(const sl_router_t *r, const char *target) {
    const char *dot = strchr(target, '.');
    if (!dot) return NULL;
    return by_key(r->targets, r->target_count, target, (size_t)(dot - target));
}

void *sl_router_by_signing_name(const sl_router_t *r, const char *name, size_t len) {
    return by_key(r->signing_names, r->signing_name_count, name, len);
}

/* Length of a separator at p ('/' or, in a query, "%2F"), 0 when there is none. */
static size_t separator(const char *p, const char *end, bool encoded) {
    if (p < end && *p == '/') return 1;
    if (encoded && end - p >= 3 && p[0] == '%' && p[1] == '2' && (p[2] == 'F' || p[2] == 'f'))
        return 3;
    return 0;
}

/* The next separator in [p, end) ('/' or, in a query, "%2F"); end when there is none. */
static const char *next_separator(const char *p, const char *end, bool encoded) {
    if (!encoded) {
        const char *s = memchr(p, '/', (size_t)(end - p));
        return s ? s : end;
    }
    while (p < end && !separator(p, end, encoded))
        p++;
    return p;
}

/* The fourth field of a credential AKID/date/region/service/aws4_request in [p, end). */
static bool scope_field(const char *p, const char *end, bool encoded, const char **name,
                        size_t *len) {
    for (int field = 0; field < 3; field++) {
        p = next_separator(p, end, encoded);
        if (p >= end) return false;
        p += separator(p, end, encoded);
    }
    const char *start = p;
    p = next_separator(p, end, encoded);
    if (p == start || p >= end) return false; /* the scope goes on with its terminator */
    *name = start;
    *len = (size_t)(p - start);
    return true;
}

bool sl_router_scope_service(const char *authorization, const char *query, const char **name,
                             size_t *len) {
    if (authorization) {
        const char *c = strstr(authorization, "Credential=");
        if (c) {
            c += strlen("Credential=");
            return scope_field(c, c + strcspn(c, ", "), false, name, len);
        }
    }
    for (const char *q = query; q && *q;) {
        size_t n = strcspn(q, "&");
        const char *key = "X-Amz-Credential=";
        size_t klen = strlen(key);
        if (n > klen && strncasecmp(q, key, klen) == 0)
            return scope_field(q + klen, q + n, true, name, len);
        q += n;
        if (*q == '&') q++;
    }
    return false;
}
