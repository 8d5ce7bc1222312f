/* Form decoding (see form.h). Two passes: count the pieces to size the array, then decode each
 * name and value into the arena. */
#include "wire/form.h"

#include "core/common.h"
#include "core/limits.h"

#include <string.h>

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) into the arena: '+' is a space, %XX a byte. */
static int decode(sl_arena_t *arena, const char *s, size_t n, const char **out, size_t *out_len,
                  const char **reason) {
    char *d = sl_arena_alloc(arena, n + 1);
    if (!d) return SL_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            d[o++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
                *reason = "a %-escape is not followed by two hexadecimal digits";
                return SL_EINVAL;
            }
            d[o++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
            i += 2;
        } else {
            d[o++] = s[i];
        }
    }
    d[o] = 0;
    *out = d;
    *out_len = o;
    return 0;
}

int sl_form_parse(const char *data, size_t len, sl_arena_t *arena, sl_form_param_t **params,
                  size_t *count, const char **reason) {
    *params = NULL;
    *count = 0;
    *reason = NULL;
    size_t pieces = 1;
    for (size_t i = 0; i < len; i++)
        pieces += data[i] == '&';
    if (pieces > SL_FORM_PARAMS_MAX) pieces = SL_FORM_PARAMS_MAX + 1;
    sl_form_param_t *ps = sl_arena_alloc(arena, pieces * sizeof *ps);
    if (!ps) return SL_ENOMEM;
    size_t n = 0;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *piece = p;
        while (p < end && *p != '&')
            p++;
        const char *piece_end = p;
        if (p < end) p++;
        if (piece == piece_end) continue;
        if (n >= SL_FORM_PARAMS_MAX) {
            *reason = "too many parameters";
            return SL_EINVAL;
        }
        const char *eq = memchr(piece, '=', (size_t)(piece_end - piece));
        const char *name_end = eq ? eq : piece_end;
        sl_form_param_t *f = &ps[n];
        int rc = decode(arena, piece, (size_t)(name_end - piece), &f->name, &f->name_len, reason);
        if (rc == 0)
            rc = eq ? decode(arena, eq + 1, (size_t)(piece_end - eq - 1), &f->value, &f->value_len,
                             reason)
                    : decode(arena, "", 0, &f->value, &f->value_len, reason);
        if (rc) return rc;
        n++;
    }
    *params = ps;
    *count = n;
    return 0;
}

const char *sl_form_get(const sl_form_param_t *params, size_t count, const char *name) {
    size_t len = strlen(name);
    for (size_t i = 0; i < count; i++)
        if (params[i].name_len == len && memcmp(params[i].name, name, len) == 0)
            return params[i].value;
    return NULL;
}
