/* CORS (--cors-origins, docs/security.md): which web pages may call the server from a browser. */
#include "front/internal.h"

#include "core/common.h"
#include "core/log.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void sl_front_cors_free(sl_front_t *front) {
    for (size_t i = 0; i < front->cors_origin_count; i++)
        free(front->cors_origins[i]);
    free(front->cors_origins);
    front->cors_origins = NULL;
    front->cors_origin_count = 0;
}

/* Parses the comma-separated origin list into front (lower-cased, a trailing '/' dropped). An entry
 * must be "*" or "http(s)://host[:port]" with nothing after the authority. */
int sl_front_cors_parse(sl_front_t *front, const sl_front_config_t *cfg) {
    const char *p = cfg->cors_origins ? cfg->cors_origins : "";
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n == 0) break;
        size_t len = n;
        if (len > 1 && p[len - 1] == '/') len--;
        if (len == 1 && p[0] == '*') {
            if (!cfg->signatures_verified) {
                SL_ERROR(
                    "cors_origins: '*' (any web page) needs SigV4 signature verification, which "
                    "this server does not do yet; list the allowed origins instead");
                return SL_EINVAL;
            }
            front->cors_any = true;
        } else {
            size_t scheme = strncmp(p, "http://", 7) == 0    ? 7
                            : strncmp(p, "https://", 8) == 0 ? 8
                                                             : 0;
            if (!scheme || len <= scheme || memchr(p + scheme, '/', len - scheme) ||
                memchr(p, ' ', len)) {
                SL_ERROR("cors_origins: '%.*s' is not an origin (scheme://host[:port], e.g. "
                         "http://localhost:3000)",
                         (int)n, p);
                return SL_EINVAL;
            }
            char **grown =
                realloc(front->cors_origins, (front->cors_origin_count + 1) * sizeof *grown);
            if (!grown) return SL_ENOMEM;
            front->cors_origins = grown;
            char *o = malloc(len + 1);
            if (!o) return SL_ENOMEM;
            for (size_t i = 0; i < len; i++)
                o[i] = (char)tolower((unsigned char)p[i]);
            o[len] = 0;
            front->cors_origins[front->cors_origin_count++] = o;
        }
        p += strcspn(p, ",");
    }
    return 0;
}

static bool ieq(const char *a, size_t alen, const char *b, size_t blen) {
    if (alen != blen) return false;
    for (size_t i = 0; i < alen; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return false;
    return true;
}

/* host[:port] names this machine's loopback interface. */
static bool host_is_loopback(const char *host, size_t len) {
    size_t name = len;
    if (len && host[0] == '[') {
        const char *close = memchr(host, ']', len);
        name = close ? (size_t)(close - host) + 1 : len;
    } else {
        const char *colon = memchr(host, ':', len);
        if (colon) name = (size_t)(colon - host);
    }
    return ieq(host, name, "localhost", 9) || ieq(host, name, "[::1]", 5) ||
           (name >= 4 && strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") >= name);
}

/* May a page of `origin` call this server? Listed origins may; so may a page the server itself
 * serves on a loopback address (same origin as the Host header: a future console), but not a page
 * whose Host is some other name, which is what a DNS-rebinding page would send. */
bool sl_front_origin_allowed(const sl_front_t *front, const sl_http_req_t *req,
                             const char *origin) {
    if (front->cors_any) return true;
    size_t olen = strlen(origin);
    for (size_t i = 0; i < front->cors_origin_count; i++)
        if (ieq(origin, olen, front->cors_origins[i], strlen(front->cors_origins[i]))) return true;
    const sl_http_header_t *host = sl_http_req_header(req, "host");
    if (!host || !host_is_loopback(host->value, host->value_len)) return false;
    const char *scheme_end = strstr(origin, "://");
    if (!scheme_end) return false;
    const char *authority = scheme_end + 3;
    return ieq(authority, strlen(authority), host->value, host->value_len);
}
