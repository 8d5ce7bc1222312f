/* Prometheus text exposition reader (prom.h): one pass over the lines, no allocation. Used by
 * `sluice top` on a server's GET /metrics; fuzzed by tests/fuzz/fuzz_prom.c. */
#include "cli/prom.h"

#include <stdlib.h>
#include <string.h>

/* The longest value text read ("-1.2345678901234567e+308" and the like). */
#define VALUE_TEXT_MAX 64

static bool label_find(const char *labels, size_t len, const char *key, char *out, size_t cap) {
    size_t klen = strlen(key);
    for (size_t i = 0; i < len;) {
        size_t name_start = i;
        while (i < len && labels[i] != '=')
            i++;
        size_t name_len = i - name_start;
        if (i + 1 >= len || labels[i + 1] != '"') return false;
        i += 2;
        size_t o = 0;
        while (i < len && labels[i] != '"') {
            char ch = labels[i++];
            if (ch == '\\' && i < len) {
                ch = labels[i++];
                if (ch == 'n') ch = '\n';
            }
            if (o + 1 < cap) out[o++] = ch;
        }
        out[o] = 0;
        i++; /* the closing quote */
        if (name_len == klen && memcmp(labels + name_start, key, klen) == 0) return true;
        while (i < len && (labels[i] == ',' || labels[i] == ' '))
            i++;
    }
    return false;
}

bool sl_prom_label(const char *labels, size_t len, const char *key, char *out, size_t cap) {
    if (label_find(labels, len, key, out, cap)) return true;
    out[0] = 0;
    return false;
}

/* The sample value at [p, eol): a number after optional blanks, then nothing or a timestamp. */
static bool value_of(const char *p, const char *eol, double *out) {
    while (p < eol && (*p == ' ' || *p == '\t'))
        p++;
    size_t n = 0;
    char text[VALUE_TEXT_MAX + 1];
    while (p + n < eol && p[n] != ' ' && p[n] != '\t' && n < VALUE_TEXT_MAX) {
        text[n] = p[n];
        n++;
    }
    if (n == 0 || n == VALUE_TEXT_MAX) return false;
    text[n] = 0;
    char *end;
    double v = strtod(text, &end);
    if (*end || v != v || v > 1e300 || v < -1e300) return false; /* junk, NaN, +-Inf */
    *out = v;
    return true;
}

void sl_prom_parse(const char *text, size_t len, sl_prom_sample_fn fn, void *ctx) {
    const char *end = text + len;
    for (const char *line = text; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) eol = end;
        const char *p = line;
        line = eol + 1;
        if (p == eol || *p == '#') continue;
        const char *name_end = p;
        while (name_end < eol && *name_end != '{' && *name_end != ' ')
            name_end++;
        sl_prom_sample_t s = {.name = p, .name_len = (size_t)(name_end - p), .labels = ""};
        const char *value = name_end;
        if (name_end < eol && *name_end == '{') {
            const char *labels = name_end + 1, *close = labels;
            for (bool quoted = false; close < eol && (quoted || *close != '}'); close++) {
                if (*close == '\\' && quoted && close + 1 < eol)
                    close++;
                else if (*close == '"')
                    quoted = !quoted;
            }
            if (close >= eol) continue;
            s.labels = labels;
            s.labels_len = (size_t)(close - labels);
            value = close + 1;
        }
        if (s.name_len == 0 || !value_of(value, eol, &s.value)) continue;
        fn(&s, ctx);
    }
}
