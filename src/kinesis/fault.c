/* Fault injection (fault.h): the specification's parser and the draws the data plane makes
 * (put.c, read.c) against the engine's rules. */
#include "kinesis/fault.h"

#include "core/common.h"
#include "kinesis/engine.h"
#include "kinesis/open.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* [*p, end) trimmed of surrounding white space. */
static void trim(const char **p, const char **end) {
    while (*p < *end && is_space(**p))
        (*p)++;
    while (*end > *p && is_space((*end)[-1]))
        (*end)--;
}

static bool eq(const char *p, size_t n, const char *word) {
    return strlen(word) == n && memcmp(p, word, n) == 0;
}

/* A decimal fraction 0..1 ("0.25", "1", ".5"), without strtod (locale-free, bounded). */
static bool parse_rate(const char *p, size_t n, double *out) {
    double v = 0, scale = 1;
    bool dot = false, digits = false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.' && !dot) {
            dot = true;
        } else if (p[i] >= '0' && p[i] <= '9') {
            digits = true;
            if (dot) {
                scale /= 10;
                v += (p[i] - '0') * scale;
            } else {
                v = v * 10 + (p[i] - '0');
                if (v > 1) return false;
            }
        } else {
            return false;
        }
    }
    if (!digits || v > 1) return false;
    *out = v;
    return true;
}

static bool parse_ms(const char *p, size_t n, int64_t *out) {
    int64_t v = 0;
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        v = v * 10 + (p[i] - '0');
        if (v > SL_KINESIS_FAULT_LATENCY_MS_MAX) return false;
    }
    *out = v;
    return true;
}

static bool stream_glob_ok(const char *p, size_t n) {
    if (n == 0 || n > 128) return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-' || c == '*';
        if (!ok) return false;
    }
    return true;
}

/* One rule: `key=value` pairs separated by ','. */
static int parse_rule(const char *p, const char *end, sl_kfault_rule_t *r, const char **reason) {
    *r = (sl_kfault_rule_t){.stream = "*", .ops = SL_KFAULT_WRITE | SL_KFAULT_READ, .rate = 1};
    bool has_error = false, has_latency = false;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma ? comma : end;
        const char *eqs = memchr(p, '=', (size_t)(item_end - p));
        if (!eqs) {
            *reason = "each fault setting must be key=value";
            return SL_EINVAL;
        }
        const char *k = p, *kend = eqs, *v = eqs + 1, *vend = item_end;
        trim(&k, &kend);
        trim(&v, &vend);
        size_t kn = (size_t)(kend - k), vn = (size_t)(vend - v);
        if (eq(k, kn, "stream")) {
            if (!stream_glob_ok(v, vn)) {
                *reason = "stream must be a stream name (1-128 of [a-zA-Z0-9_.-], '*' any run)";
                return SL_EINVAL;
            }
            memcpy(r->stream, v, vn);
            r->stream[vn] = 0;
        } else if (eq(k, kn, "op")) {
            if (eq(v, vn, "write"))
                r->ops = SL_KFAULT_WRITE;
            else if (eq(v, vn, "read"))
                r->ops = SL_KFAULT_READ;
            else if (eq(v, vn, "any"))
                r->ops = SL_KFAULT_WRITE | SL_KFAULT_READ;
            else {
                *reason = "op must be write, read or any";
                return SL_EINVAL;
            }
        } else if (eq(k, kn, "error")) {
            if (eq(v, vn, "throughput"))
                r->error = SL_KFAULT_ERROR_THROUGHPUT;
            else if (eq(v, vn, "internal"))
                r->error = SL_KFAULT_ERROR_INTERNAL;
            else {
                *reason = "error must be throughput or internal";
                return SL_EINVAL;
            }
            has_error = true;
        } else if (eq(k, kn, "latency_ms")) {
            if (!parse_ms(v, vn, &r->latency_ms)) {
                *reason = "latency_ms must be an integer from 0 to 60000";
                return SL_EINVAL;
            }
            has_latency = true;
        } else if (eq(k, kn, "rate")) {
            if (!parse_rate(v, vn, &r->rate)) {
                *reason = "rate must be a decimal fraction from 0 to 1";
                return SL_EINVAL;
            }
        } else {
            *reason = "unknown fault setting (stream, op, error, latency_ms, rate)";
            return SL_EINVAL;
        }
        p = comma ? comma + 1 : end;
    }
    if (!has_error && !has_latency) {
        *reason = "a fault rule needs error=... or latency_ms=...";
        return SL_EINVAL;
    }
    r->threshold = (uint64_t)(r->rate * 4294967296.0);
    return 0;
}

int sl_kfaults_parse(const char *text, size_t len, sl_kfaults_t *out, const char **reason) {
    out->count = 0;
    *reason = NULL;
    if (len > SL_KINESIS_FAULT_SPEC_BYTES_MAX) {
        *reason = "the fault specification is too long";
        return SL_EINVAL;
    }
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *rule_end = semi ? semi : end;
        const char *a = p, *b = rule_end;
        trim(&a, &b);
        if (a < b) {
            if (out->count == SL_KINESIS_FAULT_RULES_MAX) {
                *reason = "too many fault rules (at most 16)";
                return SL_EINVAL;
            }
            int rc = parse_rule(a, b, &out->rules[out->count], reason);
            if (rc) return rc;
            out->count++;
        }
        p = semi ? semi + 1 : end;
    }
    return 0;
}

size_t sl_kfault_rule_format(const sl_kfault_rule_t *r, char *out, size_t cap) {
    static const char *const ops[] = {"", "write", "read", "any"};
    static const char *const errors[] = {"", "throughput", "internal"};
    size_t n = 0;
    if (cap) out[0] = 0;
    int w = snprintf(out, cap, "stream=%s,op=%s", r->stream, ops[r->ops & 3]);
    if (w > 0) n += (size_t)w;
    if (r->error && n < cap) {
        w = snprintf(out + n, cap - n, ",error=%s", errors[r->error]);
        if (w > 0) n += (size_t)w;
    }
    if (r->latency_ms && n < cap) {
        w = snprintf(out + n, cap - n, ",latency_ms=%lld", (long long)r->latency_ms);
        if (w > 0) n += (size_t)w;
    }
    if (n < cap) {
        w = snprintf(out + n, cap - n, ",rate=%.9f", r->rate);
        if (w > 0) n += (size_t)w;
    }
    return n < cap ? n : (cap ? cap - 1 : 0);
}

size_t sl_kfaults_format(const sl_kfaults_t *f, char *out, size_t cap) {
    size_t n = 0;
    if (cap) out[0] = 0;
    for (size_t i = 0; i < f->count && n + 1 < cap; i++) {
        if (i) out[n++] = ';';
        n += sl_kfault_rule_format(&f->rules[i], out + n, cap - n);
    }
    if (n < cap) out[n] = 0;
    return n < cap ? n : (cap ? cap - 1 : 0);
}

bool sl_kfault_glob(const char *glob, const char *name, size_t name_len) {
    /* the classic backtracking match of one '*' at a time: linear enough for 128-byte names */
    const char *g = glob, *star = NULL;
    size_t i = 0, mark = 0;
    while (i < name_len) {
        if (*g == '*') {
            star = g++;
            mark = i;
        } else if (*g && *g == name[i]) {
            g++;
            i++;
        } else if (star) {
            g = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (*g == '*')
        g++;
    return *g == 0;
}

uint32_t sl_kfault_draw(uint64_t *counter) {
    uint64_t z = __atomic_add_fetch(counter, UINT64_C(0x9E3779B97F4A7C15), __ATOMIC_RELAXED);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* ---- the engine's rules (engine.h) ---- */

void sl_kinesis_faults_set(sl_kinesis_t *k, const sl_kfaults_t *f) {
    sl_kinesis_wrlock(k);
    k->faults = *f;
    sl_kinesis_unlock(k);
}

size_t sl_kfaults_select(sl_kinesis_t *k, const sl_kstream_t *s, unsigned op,
                         const sl_kfault_rule_t **out) {
    size_t n = 0;
    for (size_t i = 0; i < k->faults.count; i++) {
        const sl_kfault_rule_t *r = &k->faults.rules[i];
        if ((r->ops & op) && sl_kfault_glob(r->stream, s->name, strlen(s->name))) out[n++] = r;
    }
    return n;
}

static bool hit(sl_kinesis_t *k, const sl_kfault_rule_t *r) {
    return r->threshold && (uint64_t)sl_kfault_draw(&k->fault_draws) < r->threshold;
}

sl_kfault_error_t sl_kfaults_error(sl_kinesis_t *k, const sl_kfault_rule_t *const *rules,
                                   size_t n) {
    for (size_t i = 0; i < n; i++)
        if (rules[i]->error && hit(k, rules[i])) return rules[i]->error;
    return SL_KFAULT_ERROR_NONE;
}

int64_t sl_kfaults_latency(sl_kinesis_t *k, const sl_kfault_rule_t *const *rules, size_t n) {
    int64_t ms = 0;
    for (size_t i = 0; i < n; i++)
        if (rules[i]->latency_ms && hit(k, rules[i])) ms += rules[i]->latency_ms;
    return ms < SL_KINESIS_FAULT_LATENCY_MS_MAX ? ms : SL_KINESIS_FAULT_LATENCY_MS_MAX;
}
