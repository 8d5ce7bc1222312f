/* Prefix expressions and Java DateTimeFormatter patterns (see prefix.h). */
#include "firehose/prefix.h"

#include <stdio.h>
#include <string.h>

static const char *const MONTHS[12] = {"January",   "February", "March",    "April",
                                       "May",       "June",     "July",     "August",
                                       "September", "October",  "November", "December"};
static const char *const DAYS[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                    "Friday", "Saturday", "Sunday"};

static bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The largest count of a pattern letter, or 0 for a letter Sluice does not format. */
static int letter_max(char c) {
    switch (c) {
    case 'G':
    case 'M':
    case 'L':
    case 'E':
        return 5;
    case 'u':
    case 'y':
        return 19;
    case 'D':
        return 3;
    case 'Q':
    case 'q':
        return 4;
    case 'd':
    case 'h':
    case 'K':
    case 'k':
    case 'H':
    case 'm':
    case 's':
        return 2;
    case 'a':
        return 1;
    case 'S':
        return 9;
    case 'n':
    case 'A':
        return 19;
    default:
        return 0;
    }
}

const char *sl_fh_datetime_check(const char *p, size_t len) {
    size_t i = 0;
    if (len == 0) return "the timestamp pattern is empty";
    while (i < len) {
        char c = p[i];
        if (c == '\'') {
            size_t j = i + 1;
            for (;;) {
                if (j >= len) return "the timestamp pattern has an unterminated quote";
                if (p[j] == '\'') {
                    if (j + 1 < len && p[j + 1] == '\'') {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j++;
            }
            i = j + 1;
            continue;
        }
        if (c == '{' || c == '}' || c == '#')
            return "the timestamp pattern uses a reserved character";
        if (!is_letter(c)) {
            i++;
            continue;
        }
        size_t n = 1;
        while (i + n < len && p[i + n] == c)
            n++;
        int max = letter_max(c);
        if (max == 0) return "the timestamp pattern has an unknown pattern letter";
        if ((int)n > max) return "the timestamp pattern has too many pattern letters";
        i += n;
    }
    return NULL;
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

typedef struct {
    int64_t year;
    int month, day, hour, minute, second, milli, yday, wday; /* wday 0 = Monday */
} tm_t;

static tm_t split(int64_t ts_ms) {
    tm_t t;
    int64_t days = ts_ms >= 0 ? ts_ms / 86400000 : -((-ts_ms + 86399999) / 86400000);
    int64_t rem = ts_ms - days * 86400000;
    civil_from_days(days, &t.year, &t.month, &t.day);
    t.hour = (int)(rem / 3600000);
    t.minute = (int)(rem / 60000 % 60);
    t.second = (int)(rem / 1000 % 60);
    t.milli = (int)(rem % 1000);
    static const int cum[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    t.yday = cum[t.month - 1] + t.day + (t.month > 2 && leap(t.year));
    t.wday = (int)(((days % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday */
    return t;
}

typedef struct {
    char *out;
    size_t cap, pos;
    bool ok;
} sink_t;

static void put(sink_t *s, const char *text, size_t n) {
    if (!s->ok || s->pos + n + 1 > s->cap) {
        s->ok = false;
        return;
    }
    memcpy(s->out + s->pos, text, n);
    s->pos += n;
    s->out[s->pos] = 0;
}

static void put_num(sink_t *s, int64_t v, int width) {
    char b[32];
    int n = snprintf(b, sizeof b, "%0*lld", width, (long long)v);
    put(s, b, (size_t)n);
}

static void put_field(sink_t *s, char c, int n, const tm_t *t) {
    char b[32];
    switch (c) {
    case 'G':
        put(s, n == 4 ? "Anno Domini" : n == 5 ? "A" : "AD", n == 4 ? 11 : n == 5 ? 1 : 2);
        break;
    case 'u':
    case 'y':
        if (n == 2)
            put_num(s, ((t->year % 100) + 100) % 100, 2);
        else
            put_num(s, t->year, n);
        break;
    case 'D':
        put_num(s, t->yday, n);
        break;
    case 'M':
    case 'L':
        if (n <= 2)
            put_num(s, t->month, n);
        else if (n == 3)
            put(s, MONTHS[t->month - 1], 3);
        else if (n == 4)
            put(s, MONTHS[t->month - 1], strlen(MONTHS[t->month - 1]));
        else
            put(s, MONTHS[t->month - 1], 1);
        break;
    case 'd':
        put_num(s, t->day, n);
        break;
    case 'Q':
    case 'q': {
        int q = (t->month - 1) / 3 + 1;
        static const char *const ord[4] = {"1st", "2nd", "3rd", "4th"};
        if (n <= 2)
            put_num(s, q, n);
        else if (n == 3) {
            snprintf(b, sizeof b, "Q%d", q);
            put(s, b, 2);
        } else {
            snprintf(b, sizeof b, "%s quarter", ord[q - 1]);
            put(s, b, strlen(b));
        }
        break;
    }
    case 'E':
        if (n <= 3)
            put(s, DAYS[t->wday], 3);
        else if (n == 4)
            put(s, DAYS[t->wday], strlen(DAYS[t->wday]));
        else
            put(s, DAYS[t->wday], 1);
        break;
    case 'a':
        put(s, t->hour < 12 ? "AM" : "PM", 2);
        break;
    case 'h':
        put_num(s, t->hour % 12 == 0 ? 12 : t->hour % 12, n);
        break;
    case 'K':
        put_num(s, t->hour % 12, n);
        break;
    case 'k':
        put_num(s, t->hour == 0 ? 24 : t->hour, n);
        break;
    case 'H':
        put_num(s, t->hour, n);
        break;
    case 'm':
        put_num(s, t->minute, n);
        break;
    case 's':
        put_num(s, t->second, n);
        break;
    case 'S': { /* fraction of the second, truncated to n digits */
        snprintf(b, sizeof b, "%03d000000", t->milli);
        put(s, b, (size_t)n);
        break;
    }
    case 'n':
        put_num(s, (int64_t)t->milli * 1000000, n);
        break;
    case 'A':
        put_num(s, ((int64_t)t->hour * 3600 + t->minute * 60 + t->second) * 1000 + t->milli, n);
        break;
    default:
        s->ok = false;
    }
}

static bool format(const char *p, size_t len, int64_t ts_ms, sink_t *s) {
    tm_t t = split(ts_ms);
    size_t i = 0;
    while (i < len && s->ok) {
        char c = p[i];
        if (c == '\'') {
            size_t j = i + 1;
            if (j < len && p[j] == '\'') { /* '' is one quote */
                put(s, "'", 1);
                i = j + 1;
                continue;
            }
            while (j < len) {
                if (p[j] == '\'') {
                    if (j + 1 < len && p[j + 1] == '\'') {
                        put(s, "'", 1);
                        j += 2;
                        continue;
                    }
                    break;
                }
                put(s, p + j, 1);
                j++;
            }
            i = j + 1;
            continue;
        }
        if (c == '[' || c == ']') { /* optional sections: every field is available */
            i++;
            continue;
        }
        if (!is_letter(c)) {
            put(s, p + i, 1);
            i++;
            continue;
        }
        int n = 1;
        while (i + (size_t)n < len && p[i + (size_t)n] == c)
            n++;
        put_field(s, c, n, &t);
        i += (size_t)n;
    }
    return s->ok;
}

bool sl_fh_datetime_format(const char *pattern, size_t len, int64_t ts_ms, char *out, size_t cap,
                           size_t *pos) {
    sink_t s = {out, cap, *pos, cap > *pos};
    bool ok = format(pattern, len, ts_ms, &s);
    *pos = s.pos;
    return ok;
}

/* ---- expressions ---- */

typedef enum { EXPR_TIMESTAMP, EXPR_RANDOM, EXPR_ERROR_TYPE, EXPR_PARTITION } expr_kind_t;

/* Parses the expression starting at p[0] == '!' && p[1] == '{': its kind, its value and its end
 * (the index after '}'). Returns NULL or the reason it is malformed. */
static const char *parse_expr(const char *p, expr_kind_t *kind, const char **value,
                              size_t *value_len, size_t *end) {
    const char *close = strchr(p + 2, '}');
    if (!close) return "an expression is not closed with '}'";
    const char *body = p + 2;
    size_t body_len = (size_t)(close - body);
    const char *colon = memchr(body, ':', body_len);
    if (!colon) return "an expression has no namespace";
    size_t ns_len = (size_t)(colon - body);
    *value = colon + 1;
    *value_len = body_len - ns_len - 1;
    *end = (size_t)(close - p) + 1;
    if (ns_len == 9 && memcmp(body, "timestamp", 9) == 0) {
        *kind = EXPR_TIMESTAMP;
        return sl_fh_datetime_check(*value, *value_len);
    }
    if (ns_len == 8 && memcmp(body, "firehose", 8) == 0) {
        if (*value_len == 13 && memcmp(*value, "random-string", 13) == 0) {
            *kind = EXPR_RANDOM;
            return NULL;
        }
        if (*value_len == 17 && memcmp(*value, "error-output-type", 17) == 0) {
            *kind = EXPR_ERROR_TYPE;
            return NULL;
        }
        return "the firehose namespace only has random-string and error-output-type";
    }
    if ((ns_len == 21 && memcmp(body, "partitionKeyFromQuery", 21) == 0) ||
        (ns_len == 22 && memcmp(body, "partitionKeyFromLambda", 22) == 0)) {
        *kind = EXPR_PARTITION;
        return *value_len ? NULL : "a partition key expression names no key";
    }
    return "an expression has an unknown namespace";
}

typedef struct {
    int expressions, timestamps, error_types, partitions;
    const char *reason;
} scan_t;

static scan_t scan(const char *s) {
    scan_t r = {0};
    for (size_t i = 0; s && s[i];) {
        if (s[i] == '!' && s[i + 1] == '{') {
            expr_kind_t kind;
            const char *value;
            size_t value_len, end;
            r.reason = parse_expr(s + i, &kind, &value, &value_len, &end);
            if (r.reason) return r;
            r.expressions++;
            r.timestamps += kind == EXPR_TIMESTAMP;
            r.error_types += kind == EXPR_ERROR_TYPE;
            r.partitions += kind == EXPR_PARTITION;
            i += end;
            continue;
        }
        i++;
    }
    return r;
}

bool sl_fh_prefix_has_timestamp(const char *prefix) {
    scan_t r = scan(prefix);
    return !r.reason && r.timestamps > 0;
}

const char *sl_fh_prefix_check(const char *prefix, const char *error_prefix) {
    bool has_error_prefix = error_prefix && error_prefix[0];
    scan_t p = scan(prefix);
    if (p.reason)
        return "The Prefix is not valid: expressions are !{timestamp:<pattern>}, "
               "!{firehose:random-string}, !{partitionKeyFromQuery:<key>} and "
               "!{partitionKeyFromLambda:<key>}, and '!{' may only start one.";
    if (p.error_types)
        return "The expression !{firehose:error-output-type} is only allowed in the "
               "ErrorOutputPrefix.";
    if (p.partitions)
        return "Partition key expressions in the Prefix need dynamic partitioning, which this "
               "server does not support.";
    if (has_error_prefix) {
        scan_t e = scan(error_prefix);
        if (e.reason)
            return "The ErrorOutputPrefix is not valid: expressions are !{timestamp:<pattern>}, "
                   "!{firehose:random-string} and !{firehose:error-output-type}, and '!{' may "
                   "only start one.";
        if (e.partitions)
            return "Partition key expressions are not allowed in the ErrorOutputPrefix.";
        if (!e.error_types)
            return "The ErrorOutputPrefix must contain the expression "
                   "!{firehose:error-output-type}.";
    } else if (p.expressions) {
        return "An ErrorOutputPrefix is required when the Prefix contains expressions.";
    }
    return NULL;
}

/* Eleven characters of [0-9a-f-] from the seed and the occurrence (AWS's look: "046b6c7f-0b"). */
static void random_string(uint64_t seed, int occurrence, char out[12]) {
    uint64_t x = seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(occurrence + 1));
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 11; i++) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        out[i] = i == 8 ? '-' : hex[x & 15];
    }
    out[11] = 0;
}

int sl_fh_prefix_eval(const char *prefix, int64_t ts_ms, const char *error_type, uint64_t seed,
                      char *out, size_t cap) {
    sink_t s = {out, cap, 0, cap > 0};
    if (cap) out[0] = 0;
    int randoms = 0;
    for (size_t i = 0; prefix && prefix[i] && s.ok;) {
        if (prefix[i] == '!' && prefix[i + 1] == '{') {
            expr_kind_t kind;
            const char *value;
            size_t value_len, end;
            if (parse_expr(prefix + i, &kind, &value, &value_len, &end)) return -1;
            if (kind == EXPR_TIMESTAMP) {
                format(value, value_len, ts_ms, &s);
            } else if (kind == EXPR_RANDOM) {
                char r[12];
                random_string(seed, randoms++, r);
                put(&s, r, 11);
            } else if (kind == EXPR_ERROR_TYPE) {
                if (error_type) put(&s, error_type, strlen(error_type));
            } else {
                return -1;
            }
            i += end;
            continue;
        }
        put(&s, prefix + i, 1);
        i++;
    }
    if (!s.ok || s.pos > SL_FH_PREFIX_EVAL_MAX) return -1;
    return 0;
}

static const char DEFAULT_TIME[] = "!{timestamp:yyyy/MM/dd/HH/}";

int sl_fh_object_prefix(const char *prefix, const char *error_prefix, const char *error_type,
                        int64_t ts_ms, uint64_t seed, char *out, size_t cap) {
    char expr[2048 + sizeof DEFAULT_TIME];
    if (error_type && error_prefix && error_prefix[0])
        return sl_fh_prefix_eval(error_prefix, ts_ms, error_type, seed, out, cap);
    const char *p = prefix ? prefix : "";
    int n;
    if (error_type)
        n = snprintf(expr, sizeof expr, "%s!{firehose:error-output-type}/%s", p, DEFAULT_TIME);
    else if (sl_fh_prefix_has_timestamp(p))
        n = snprintf(expr, sizeof expr, "%s", p);
    else
        n = snprintf(expr, sizeof expr, "%s%s", p, DEFAULT_TIME);
    if (n < 0 || (size_t)n >= sizeof expr) return -1;
    return sl_fh_prefix_eval(expr, ts_ms, error_type, seed, out, cap);
}
