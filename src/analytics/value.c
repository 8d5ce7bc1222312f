/* Values of the SQL engine: rows, comparison and hashing, CAST and assignment, text formatting
 * (Java's spelling of numbers, the dialect's of times) and the calendar arithmetic behind FLOOR,
 * STEP and the SimpleDateFormat patterns of CHAR_TO_TIMESTAMP and TIMESTAMP_TO_CHAR. */
#include "analytics/internal.h"

#include "core/common.h"
#include "core/limits.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_string_kind(int k) {
    return k == SL_SQL_CHAR || k == SL_SQL_VARCHAR || k == SL_SQL_BINARY || k == SL_SQL_VARBINARY;
}

/* Bytes a value needs behind the row: its text, or a ROW's fields and their text. */
static size_t extra_bytes(const sl_sql_value_t *v) {
    if (v->null) return 0;
    if (is_string_kind(v->kind)) return v->u.s.len;
    if (v->kind != SL_SQL_ROW) return 0;
    size_t n = v->u.row.n * sizeof(sl_sql_value_t);
    for (uint32_t i = 0; i < v->u.row.n; i++)
        if (v->u.row.v[i].kind != SL_SQL_ROW) n += extra_bytes(&v->u.row.v[i]);
    return n;
}

/* Copies what `v` points to into `*p` and re-points `v` there (one level of ROW). */
static void copy_extra(sl_sql_value_t *v, char **p) {
    if (v->null) return;
    if (is_string_kind(v->kind)) {
        if (v->u.s.len) memcpy(*p, v->u.s.ptr, v->u.s.len);
        v->u.s.ptr = *p;
        *p += v->u.s.len;
    } else if (v->kind == SL_SQL_ROW) {
        sl_sql_value_t *fields = (sl_sql_value_t *)*p;
        *p += v->u.row.n * sizeof *fields;
        for (uint32_t i = 0; i < v->u.row.n; i++) {
            fields[i] = v->u.row.v[i];
            if (fields[i].kind == SL_SQL_ROW) { /* nested rows are not produced */
                fields[i].null = true;
                continue;
            }
            copy_extra(&fields[i], p);
        }
        v->u.row.v = fields;
    }
}

size_t an_row_bytes(const sl_sql_value_t *values, size_t n) {
    size_t bytes = sizeof(an_row_t) + n * sizeof(sl_sql_value_t) + n * 8;
    for (size_t i = 0; i < n; i++)
        bytes += extra_bytes(&values[i]);
    return bytes;
}

an_row_t *an_row_copy(int64_t rowtime, const sl_sql_value_t *values, size_t n) {
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += extra_bytes(&values[i]);
    /* values are 8-byte aligned; ROW fields copied behind them must be too */
    an_row_t *r = malloc(sizeof *r + n * sizeof r->v[0] + bytes + n * 8);
    if (!r) return NULL;
    r->rowtime = rowtime;
    r->n = (uint32_t)n;
    char *p = (char *)&r->v[n];
    for (size_t i = 0; i < n; i++) {
        r->v[i] = values[i];
        if (values[i].kind == SL_SQL_ROW) p = (char *)(((uintptr_t)p + 7) & ~(uintptr_t)7);
        copy_extra(&r->v[i], &p);
    }
    return r;
}

/* --- comparison and hashing ---------------------------------------------------------------- */

static bool is_exact(int k) {
    return k >= SL_SQL_TINYINT && k <= SL_SQL_BIGINT;
}
static bool is_num(int k) {
    return k >= SL_SQL_TINYINT && k <= SL_SQL_DOUBLE;
}

static double as_double(const sl_sql_value_t *v) {
    return is_exact(v->kind) ? (double)v->u.i : v->u.d;
}

/* CHAR comparison ignores trailing spaces (PAD SPACE); VARCHAR compares bytes. */
static int compare_text(const sl_sql_value_t *a, const sl_sql_value_t *b) {
    size_t la = a->u.s.len, lb = b->u.s.len;
    if (a->kind == SL_SQL_CHAR || b->kind == SL_SQL_CHAR) {
        while (la > 0 && a->u.s.ptr[la - 1] == ' ')
            la--;
        while (lb > 0 && b->u.s.ptr[lb - 1] == ' ')
            lb--;
    }
    size_t m = SL_MIN(la, lb);
    int c = m ? memcmp(a->u.s.ptr, b->u.s.ptr, m) : 0;
    if (c) return c < 0 ? -1 : 1;
    return la < lb ? -1 : la > lb ? 1 : 0;
}

int an_compare(const sl_sql_value_t *a, const sl_sql_value_t *b) {
    if (is_num(a->kind) && is_num(b->kind)) {
        if (is_exact(a->kind) && is_exact(b->kind))
            return a->u.i < b->u.i ? -1 : a->u.i > b->u.i ? 1 : 0;
        double x = as_double(a), y = as_double(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (is_string_kind(a->kind) && is_string_kind(b->kind)) return compare_text(a, b);
    if (a->kind == SL_SQL_BOOLEAN) return (int)a->u.b - (int)b->u.b;
    return a->u.i < b->u.i ? -1 : a->u.i > b->u.i ? 1 : 0;
}

int an_compare_nulls_first(const sl_sql_value_t *a, const sl_sql_value_t *b) {
    if (a->null || b->null) return (int)b->null - (int)a->null;
    return an_compare(a, b);
}

uint64_t an_hash(const sl_sql_value_t *v, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p;
        size_t len;
        uint64_t x;
        double d;
        if (v[i].null) {
            x = 0x9e3779b97f4a7c15ull;
            p = (const unsigned char *)&x;
            len = sizeof x;
        } else if (is_string_kind(v[i].kind)) {
            p = (const unsigned char *)v[i].u.s.ptr;
            len = v[i].u.s.len;
            if (v[i].kind == SL_SQL_CHAR)
                while (len > 0 && p[len - 1] == ' ')
                    len--;
        } else if (v[i].kind == SL_SQL_DECIMAL || v[i].kind == SL_SQL_REAL ||
                   v[i].kind == SL_SQL_DOUBLE) {
            d = v[i].u.d == 0 ? 0 : v[i].u.d; /* -0 == 0 */
            p = (const unsigned char *)&d;
            len = sizeof d;
        } else if (v[i].kind == SL_SQL_BOOLEAN) {
            x = v[i].u.b;
            p = (const unsigned char *)&x;
            len = sizeof x;
        } else {
            x = (uint64_t)v[i].u.i;
            p = (const unsigned char *)&x;
            len = sizeof x;
        }
        for (size_t k = 0; k < len; k++)
            h = (h ^ p[k]) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    return h;
}

bool an_equal_keys(const sl_sql_value_t *a, const sl_sql_value_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (a[i].null != b[i].null) return false;
        if (!a[i].null && an_compare(&a[i], &b[i]) != 0) return false;
    }
    return true;
}

/* --- calendar ------------------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
int64_t an_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void an_civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
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

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

int64_t an_floor_time(int64_t ms, int unit) {
    int64_t days = floor_div(ms, 86400000);
    int64_t y;
    int m, d;
    switch (unit) {
    case SL_SQL_UNIT_YEAR:
        an_civil_from_days(days, &y, &m, &d);
        return an_days_from_civil(y, 1, 1) * 86400000;
    case SL_SQL_UNIT_MONTH:
        an_civil_from_days(days, &y, &m, &d);
        return an_days_from_civil(y, m, 1) * 86400000;
    case SL_SQL_UNIT_DAY:
        return days * 86400000;
    case SL_SQL_UNIT_HOUR:
        return floor_div(ms, 3600000) * 3600000;
    case SL_SQL_UNIT_MINUTE:
        return floor_div(ms, 60000) * 60000;
    case SL_SQL_UNIT_SECOND:
        return floor_div(ms, 1000) * 1000;
    default:
        return ms;
    }
}

int64_t an_add_months(int64_t ms, int64_t months) {
    int64_t days = floor_div(ms, 86400000), rest = ms - days * 86400000;
    int64_t y;
    int m, d;
    an_civil_from_days(days, &y, &m, &d);
    int64_t total = y * 12 + (m - 1) + months;
    int64_t ny = floor_div(total, 12);
    int nm = (int)(total - ny * 12) + 1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int maxd = mdays[nm - 1] + (nm == 2 && ((ny % 4 == 0 && ny % 100 != 0) || ny % 400 == 0));
    if (d > maxd) d = maxd;
    return an_days_from_civil(ny, nm, d) * 86400000 + rest;
}

static int days_in_month(int64_t y, int m) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

static bool digits(const char *s, size_t len, size_t *i, int n, int64_t *out) {
    int64_t x = 0;
    int k = 0;
    while (*i < len && k < n && isdigit((unsigned char)s[*i])) {
        x = x * 10 + (s[(*i)++] - '0');
        k++;
    }
    *out = x;
    return k > 0;
}

bool an_parse_time(const char *s, size_t len, int kind, int64_t *out) {
    size_t i = 0;
    while (i < len && s[i] == ' ')
        i++;
    while (len > i && s[len - 1] == ' ')
        len--;
    int64_t y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, ms = 0;
    if (kind != SL_SQL_TIME) {
        bool neg = false;
        if (i < len && s[i] == '-') {
            neg = true;
            i++;
        }
        if (!digits(s, len, &i, 9, &y) || i >= len || s[i++] != '-') return false;
        if (neg) y = -y;
        if (!digits(s, len, &i, 2, &mo) || i >= len || s[i++] != '-') return false;
        if (!digits(s, len, &i, 2, &d)) return false;
        if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (int)mo)) return false;
        if (kind == SL_SQL_DATE) {
            if (i != len) return false;
            *out = an_days_from_civil(y, (int)mo, (int)d) * 86400000;
            return true;
        }
        if (i == len) { /* a date alone is midnight */
            *out = an_days_from_civil(y, (int)mo, (int)d) * 86400000;
            return true;
        }
        if (s[i] != ' ' && s[i] != 'T') return false;
        i++;
    }
    if (!digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':') return false;
    if (!digits(s, len, &i, 2, &mi)) return false;
    if (i < len && s[i] == ':') {
        i++;
        if (!digits(s, len, &i, 2, &sec)) return false;
        if (i < len && s[i] == '.') {
            i++;
            int64_t scale = 100;
            size_t start = i;
            while (i < len && isdigit((unsigned char)s[i])) {
                ms += (s[i] - '0') * scale; /* digits past milliseconds are truncated */
                scale /= 10;
                i++;
            }
            if (i == start) return false;
        }
    }
    if (i < len && s[i] == 'Z' && kind == SL_SQL_TIMESTAMP) i++;
    if (i != len || h > 23 || mi > 59 || sec > 59) return false;
    int64_t t = ((h * 60 + mi) * 60 + sec) * 1000 + ms;
    *out = kind == SL_SQL_TIME ? t : an_days_from_civil(y, (int)mo, (int)d) * 86400000 + t;
    return true;
}

size_t an_format_time(int64_t ms, int kind, char *buf, size_t cap) {
    int64_t days = floor_div(ms, 86400000), t = ms - days * 86400000;
    int64_t y;
    int m, d;
    an_civil_from_days(days, &y, &m, &d);
    int n;
    int hh = (int)(t / 3600000), mi = (int)(t / 60000 % 60), ss = (int)(t / 1000 % 60),
        fr = (int)(t % 1000);
    if (kind == SL_SQL_DATE)
        n = snprintf(buf, cap, "%04lld-%02d-%02d", (long long)y, m, d);
    else if (kind == SL_SQL_TIME)
        n = snprintf(buf, cap, "%02d:%02d:%02d", hh, mi, ss);
    else
        n = snprintf(buf, cap, "%04lld-%02d-%02d %02d:%02d:%02d.%03d", (long long)y, m, d, hh, mi,
                     ss, fr);
    if (n < 0) return 0;
    return (size_t)n < cap ? (size_t)n : cap ? cap - 1 : 0;
}

/* --- SimpleDateFormat ---------------------------------------------------------------------- */

static const char *const MONTHS[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};
static const char *const WEEKDAYS[] = {"Thursday", "Friday",  "Saturday", "Sunday",
                                       "Monday",   "Tuesday", "Wednesday"};

typedef struct {
    char *buf;
    size_t cap, n;
} out_t;

static void put(out_t *o, const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (o->n + 1 < o->cap) o->buf[o->n] = s[i];
        o->n++;
    }
}

static void put_num(out_t *o, int64_t x, int width) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%0*lld", width, (long long)x);
    put(o, tmp, (size_t)n);
}

size_t an_date_format(const char *pat, size_t patlen, int64_t ms, char *buf, size_t cap) {
    int64_t days = floor_div(ms, 86400000), t = ms - days * 86400000;
    int64_t y;
    int m, d;
    an_civil_from_days(days, &y, &m, &d);
    int hh = (int)(t / 3600000), mi = (int)(t / 60000 % 60), ss = (int)(t / 1000 % 60),
        fr = (int)(t % 1000);
    out_t o = {buf, cap, 0};
    for (size_t i = 0; i < patlen;) {
        char c = pat[i];
        if (c == '\'') {
            size_t j = i + 1;
            if (j < patlen && pat[j] == '\'') {
                put(&o, "'", 1);
                i += 2;
                continue;
            }
            while (j < patlen && pat[j] != '\'')
                j++;
            put(&o, pat + i + 1, j - i - 1);
            i = j + 1;
            continue;
        }
        if (!isalpha((unsigned char)c)) {
            put(&o, &c, 1);
            i++;
            continue;
        }
        size_t run = 1;
        while (i + run < patlen && pat[i + run] == c)
            run++;
        i += run;
        int w = (int)run;
        switch (c) {
        case 'y':
            if (run == 2)
                put_num(&o, ((y % 100) + 100) % 100, 2);
            else
                put_num(&o, y, w);
            break;
        case 'M':
            if (run >= 4)
                put(&o, MONTHS[m - 1], strlen(MONTHS[m - 1]));
            else if (run == 3)
                put(&o, MONTHS[m - 1], 3);
            else
                put_num(&o, m, w);
            break;
        case 'd':
            put_num(&o, d, w);
            break;
        case 'H':
            put_num(&o, hh, w);
            break;
        case 'k':
            put_num(&o, hh == 0 ? 24 : hh, w);
            break;
        case 'h':
            put_num(&o, hh % 12 == 0 ? 12 : hh % 12, w);
            break;
        case 'K':
            put_num(&o, hh % 12, w);
            break;
        case 'm':
            put_num(&o, mi, w);
            break;
        case 's':
            put_num(&o, ss, w);
            break;
        case 'S':
            put_num(&o, fr, w < 3 ? 3 : w);
            break;
        case 'a':
            put(&o, hh < 12 ? "AM" : "PM", 2);
            break;
        case 'E': {
            const char *wd = WEEKDAYS[((days % 7) + 7) % 7];
            put(&o, wd, run >= 4 ? strlen(wd) : 3);
            break;
        }
        case 'D':
            put_num(&o, days - an_days_from_civil(y, 1, 1) + 1, w);
            break;
        case 'z':
            put(&o, "UTC", 3);
            break;
        case 'Z':
            put(&o, "+0000", 5);
            break;
        case 'X':
            put(&o, "Z", 1);
            break;
        case 'G':
            put(&o, y > 0 ? "AD" : "BC", 2);
            break;
        default:
            return 0;
        }
    }
    if (cap) buf[o.n < cap ? o.n : cap - 1] = 0;
    return o.n < cap ? o.n : cap ? cap - 1 : 0;
}

static bool match_name(const char *s, size_t len, size_t *i, const char *const *names, int count,
                       bool abbrev, int *out) {
    for (int k = 0; k < count; k++) {
        size_t l = abbrev ? 3 : strlen(names[k]);
        if (*i + l <= len && strncasecmp(s + *i, names[k], l) == 0) {
            /* prefer the full name when it is there */
            size_t full = strlen(names[k]);
            if (*i + full <= len && strncasecmp(s + *i, names[k], full) == 0) l = full;
            *i += l;
            *out = k;
            return true;
        }
    }
    return false;
}

bool an_date_parse(const char *pat, size_t patlen, const char *s, size_t len, int64_t *out) {
    int64_t y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, ms = 0, tz_min = 0;
    bool pm = false, have_ampm = false, h12 = false;
    size_t i = 0;
    for (size_t p = 0; p < patlen;) {
        char c = pat[p];
        if (c == '\'') {
            size_t j = p + 1;
            if (j < patlen && pat[j] == '\'') {
                if (i >= len || s[i] != '\'') return false;
                i++;
                p += 2;
                continue;
            }
            while (j < patlen && pat[j] != '\'')
                j++;
            size_t l = j - p - 1;
            if (i + l > len || memcmp(s + i, pat + p + 1, l) != 0) return false;
            i += l;
            p = j + 1;
            continue;
        }
        if (!isalpha((unsigned char)c)) {
            if (i >= len || s[i] != c) return false;
            i++;
            p++;
            continue;
        }
        size_t run = 1;
        while (p + run < patlen && pat[p + run] == c)
            run++;
        p += run;
        /* a numeric field followed directly by another letter takes exactly `run` digits */
        bool adjacent = p < patlen && isalpha((unsigned char)pat[p]);
        int maxd = adjacent ? (int)run : 18;
        int64_t v = 0;
        int k;
        switch (c) {
        case 'y':
            if (!digits(s, len, &i, maxd, &y)) return false;
            if (run == 2 && y < 100) y += y < 80 ? 2000 : 1900;
            break;
        case 'M':
            if (run >= 3) {
                if (!match_name(s, len, &i, MONTHS, 12, run == 3, &k)) return false;
                mo = k + 1;
            } else if (!digits(s, len, &i, maxd, &mo)) {
                return false;
            }
            break;
        case 'd':
            if (!digits(s, len, &i, maxd, &d)) return false;
            break;
        case 'H':
        case 'k':
            if (!digits(s, len, &i, maxd, &h)) return false;
            if (c == 'k' && h == 24) h = 0;
            break;
        case 'h':
        case 'K':
            if (!digits(s, len, &i, maxd, &h)) return false;
            h12 = true;
            break;
        case 'm':
            if (!digits(s, len, &i, maxd, &mi)) return false;
            break;
        case 's':
            if (!digits(s, len, &i, maxd, &sec)) return false;
            break;
        case 'S': { /* SimpleDateFormat reads S as a count of milliseconds */
            size_t start = i;
            if (!digits(s, len, &i, maxd, &v)) return false;
            (void)start;
            ms = v;
            break;
        }
        case 'a':
            if (i + 2 > len) return false;
            if (strncasecmp(s + i, "AM", 2) == 0)
                pm = false;
            else if (strncasecmp(s + i, "PM", 2) == 0)
                pm = true;
            else
                return false;
            have_ampm = true;
            i += 2;
            break;
        case 'E':
            if (!match_name(s, len, &i, WEEKDAYS, 7, run < 4, &k)) return false;
            break;
        case 'z':
        case 'Z':
        case 'X':
            if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
                i++;
            } else if (i + 3 <= len && strncmp(s + i, "UTC", 3) == 0) {
                i += 3;
            } else if (i + 3 <= len && strncmp(s + i, "GMT", 3) == 0) {
                i += 3;
            } else if (i < len && (s[i] == '+' || s[i] == '-')) {
                bool neg = s[i++] == '-';
                int64_t hh = 0, mm = 0;
                if (!digits(s, len, &i, 2, &hh)) return false;
                if (i < len && s[i] == ':') i++;
                digits(s, len, &i, 2, &mm);
                tz_min = (neg ? -1 : 1) * (hh * 60 + mm);
            } else {
                return false;
            }
            break;
        default:
            return false;
        }
    }
    if (i != len) return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60) return false;
    if (h12 && have_ampm) {
        if (h == 12) h = 0;
        if (pm) h += 12;
    } else if (have_ampm && pm && h < 12) {
        h += 12;
    }
    *out = an_days_from_civil(y, (int)mo, (int)d) * 86400000 +
           ((h * 60 + mi - tz_min) * 60 + sec) * 1000 + ms;
    return true;
}

/* --- formatting ---------------------------------------------------------------------------- */

/* Java's Double.toString: the shortest digits that read back, "68.0", "1.0E10", "1.0E-4". */
static size_t format_double(double d, bool single, char *buf, size_t cap) {
    if (isnan(d)) return (size_t)snprintf(buf, cap, "NaN");
    if (isinf(d)) return (size_t)snprintf(buf, cap, d < 0 ? "-Infinity" : "Infinity");
    if (d == 0) return (size_t)snprintf(buf, cap, signbit(d) ? "-0.0" : "0.0");
    char digs[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(digs, sizeof digs, "%.*e", prec - 1, d);
        if (single ? (float)strtod(digs, NULL) == (float)d : strtod(digs, NULL) == d) break;
    }
    /* digs = [-]D.DDDe[+-]XX */
    char *e = strchr(digs, 'e');
    int exp10 = (int)strtol(e + 1, NULL, 10);
    *e = 0;
    char mant[40];
    size_t nm = 0;
    bool neg = digs[0] == '-';
    for (const char *q = digs + neg; *q; q++)
        if (*q != '.') mant[nm++] = *q;
    while (nm > 1 && mant[nm - 1] == '0')
        nm--;
    mant[nm] = 0;
    char out[64];
    size_t k = 0;
    if (neg) out[k++] = '-';
    double ad = fabs(d);
    if (ad >= 1e-3 && ad < 1e7) {
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++)
                out[k++] = (size_t)i < nm ? mant[i] : '0';
            out[k++] = '.';
            if ((size_t)exp10 + 1 < nm)
                for (size_t i = (size_t)exp10 + 1; i < nm; i++)
                    out[k++] = mant[i];
            else
                out[k++] = '0';
        } else {
            out[k++] = '0';
            out[k++] = '.';
            for (int i = 0; i < -exp10 - 1; i++)
                out[k++] = '0';
            for (size_t i = 0; i < nm; i++)
                out[k++] = mant[i];
        }
        out[k] = 0;
    } else {
        out[k++] = mant[0];
        out[k++] = '.';
        if (nm > 1)
            for (size_t i = 1; i < nm; i++)
                out[k++] = mant[i];
        else
            out[k++] = '0';
        k += (size_t)snprintf(out + k, sizeof out - k, "E%d", exp10);
    }
    int n = snprintf(buf, cap, "%s", out);
    return n < 0 ? 0 : (size_t)n;
}

size_t sl_an_value_format(const sl_sql_value_t *v, int scale, char *buf, size_t cap) {
    if (cap == 0) return 0;
    int n = 0;
    if (v->null) {
        n = snprintf(buf, cap, "NULL");
    } else {
        switch (v->kind) {
        case SL_SQL_BOOLEAN:
            n = snprintf(buf, cap, v->u.b ? "TRUE" : "FALSE");
            break;
        case SL_SQL_TINYINT:
        case SL_SQL_SMALLINT:
        case SL_SQL_INTEGER:
        case SL_SQL_BIGINT:
            n = snprintf(buf, cap, "%lld", (long long)v->u.i);
            break;
        case SL_SQL_DECIMAL:
            if (scale > 0)
                n = snprintf(buf, cap, "%.*f", scale, v->u.d);
            else if (v->u.d == floor(v->u.d) && fabs(v->u.d) < 1e18)
                n = snprintf(buf, cap, "%.0f", v->u.d);
            else
                n = (int)format_double(v->u.d, false, buf, cap);
            break;
        case SL_SQL_REAL:
            n = (int)format_double(v->u.d, true, buf, cap);
            break;
        case SL_SQL_DOUBLE:
            n = (int)format_double(v->u.d, false, buf, cap);
            break;
        case SL_SQL_CHAR:
        case SL_SQL_VARCHAR:
            n = snprintf(buf, cap, "%.*s", (int)v->u.s.len, v->u.s.ptr);
            if ((size_t)n != v->u.s.len) n = (int)v->u.s.len; /* embedded NUL: length says */
            break;
        case SL_SQL_BINARY:
        case SL_SQL_VARBINARY: {
            size_t k = 0;
            for (uint32_t i = 0; i < v->u.s.len && k + 3 <= cap; i++)
                k += (size_t)snprintf(buf + k, cap - k, "%02X", (unsigned char)v->u.s.ptr[i]);
            n = (int)(v->u.s.len * 2);
            break;
        }
        case SL_SQL_DATE:
        case SL_SQL_TIME:
        case SL_SQL_TIMESTAMP:
            n = (int)an_format_time(v->u.i, v->kind, buf, cap);
            break;
        case SL_SQL_INTERVAL_DT: {
            int64_t x = v->u.i < 0 ? -v->u.i : v->u.i;
            n = snprintf(buf, cap, "%c%lld %02lld:%02lld:%02lld.%03lld", v->u.i < 0 ? '-' : '+',
                         (long long)(x / 86400000), (long long)(x / 3600000 % 24),
                         (long long)(x / 60000 % 60), (long long)(x / 1000 % 60),
                         (long long)(x % 1000));
            break;
        }
        case SL_SQL_INTERVAL_YM: {
            int64_t x = v->u.i < 0 ? -v->u.i : v->u.i;
            n = snprintf(buf, cap, "%c%lld-%02lld", v->u.i < 0 ? '-' : '+', (long long)(x / 12),
                         (long long)(x % 12));
            break;
        }
        case SL_SQL_ROW: {
            size_t k = 0;
            if (k + 1 < cap) buf[k++] = '(';
            for (uint32_t i = 0; i < v->u.row.n && k + 1 < cap; i++) {
                if (i && k + 2 < cap) {
                    buf[k++] = ',';
                    buf[k++] = ' ';
                }
                k += sl_an_value_format(&v->u.row.v[i], 0, buf + k, cap - k);
            }
            if (k + 1 < cap) buf[k++] = ')';
            buf[k] = 0;
            n = (int)k;
            break;
        }
        default:
            n = snprintf(buf, cap, "?");
            break;
        }
    }
    if (n < 0) n = 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* --- CAST ---------------------------------------------------------------------------------- */

static int fail(an_ctx_t *ctx, const char *fmt, const char *a, size_t alen, const char *b) {
    snprintf(ctx->error_buf, sizeof ctx->error_buf, fmt, (int)SL_MIN(alen, 100u), a, b);
    ctx->error = ctx->error_buf;
    return -1;
}

static bool int_fits(int kind, int64_t x) {
    switch (kind) {
    case SL_SQL_TINYINT:
        return x >= -128 && x <= 127;
    case SL_SQL_SMALLINT:
        return x >= -32768 && x <= 32767;
    case SL_SQL_INTEGER:
        return x >= INT32_MIN && x <= INT32_MAX;
    default:
        return true;
    }
}

/* Counts UTF-8 code points, and finds the byte offset of code point `n` (clipped to the end). */
static size_t utf8_offset(const char *s, size_t len, size_t n) {
    size_t i = 0;
    while (i < len && n > 0) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        n--;
    }
    return i;
}

static int store_text(an_ctx_t *ctx, const char *s, size_t len, const sl_sql_type_t *to,
                      sl_sql_value_t *out) {
    bool text = to->kind == SL_SQL_CHAR || to->kind == SL_SQL_VARCHAR;
    size_t max = to->len > 0 ? (size_t)to->len : SL_ANALYTICS_STRING_MAX_BYTES;
    if (text)
        len = utf8_offset(s, len, max); /* silently truncated, as AWS does for VARCHAR */
    else if (len > max)
        len = max;
    size_t padded = len;
    if (to->kind == SL_SQL_CHAR || to->kind == SL_SQL_BINARY) {
        size_t chars = 0;
        for (size_t i = 0; i < len; i++)
            if (to->kind == SL_SQL_BINARY || ((unsigned char)s[i] & 0xC0) != 0x80) chars++;
        if (chars < max) padded = len + (max - chars);
    }
    char *p = sl_arena_alloc(ctx->arena, padded + 1);
    if (!p) return fail(ctx, "%.*s%s", "out of memory", 13, "");
    if (len) memcpy(p, s, len);
    memset(p + len, to->kind == SL_SQL_BINARY ? 0 : ' ', padded - len);
    out->kind = to->kind;
    out->null = false;
    out->u.s.ptr = p;
    out->u.s.len = (uint32_t)padded;
    return 0;
}

int an_cast(an_ctx_t *ctx, const sl_sql_value_t *in, const sl_sql_type_t *to, sl_sql_value_t *out) {
    memset(out, 0, sizeof *out);
    out->kind = to->kind;
    if (in->null) {
        out->null = true;
        return 0;
    }
    const char *tname = sl_sql_kind_name(to->kind);
    int from = in->kind;
    char tmp[128];
    switch (to->kind) {
    case SL_SQL_BOOLEAN:
        if (from == SL_SQL_BOOLEAN) {
            out->u.b = in->u.b;
            return 0;
        }
        if (from == SL_SQL_CHAR || from == SL_SQL_VARCHAR) {
            const char *s = in->u.s.ptr;
            size_t l = in->u.s.len;
            while (l && s[l - 1] == ' ')
                l--;
            while (l && *s == ' ') {
                s++;
                l--;
            }
            if (l == 4 && strncasecmp(s, "TRUE", 4) == 0) {
                out->u.b = true;
                return 0;
            }
            if (l == 5 && strncasecmp(s, "FALSE", 5) == 0) {
                out->u.b = false;
                return 0;
            }
            if (l == 7 && strncasecmp(s, "UNKNOWN", 7) == 0) {
                out->null = true;
                return 0;
            }
            return fail(ctx, "Cannot convert '%.*s' to %s", in->u.s.ptr, in->u.s.len, tname);
        }
        if (is_num(from)) {
            out->u.b = as_double(in) != 0;
            return 0;
        }
        break;
    case SL_SQL_TINYINT:
    case SL_SQL_SMALLINT:
    case SL_SQL_INTEGER:
    case SL_SQL_BIGINT: {
        int64_t x;
        if (is_exact(from)) {
            x = in->u.i;
        } else if (from == SL_SQL_DECIMAL || from == SL_SQL_REAL || from == SL_SQL_DOUBLE) {
            double d = trunc(in->u.d);
            if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) goto out_of_range;
            x = (int64_t)d;
        } else if (from == SL_SQL_CHAR || from == SL_SQL_VARCHAR) {
            size_t l = SL_MIN(in->u.s.len, sizeof tmp - 1);
            memcpy(tmp, in->u.s.ptr, l);
            tmp[l] = 0;
            char *end;
            errno = 0;
            long long v = strtoll(tmp, &end, 10);
            while (*end == ' ')
                end++;
            if (errno || *end || end == tmp) {
                /* "12.0" style text converts through a number */
                double d = strtod(tmp, &end);
                while (*end == ' ')
                    end++;
                if (*end || end == tmp || d != trunc(d) || !(fabs(d) < 9.2e18))
                    return fail(ctx, "Cannot convert '%.*s' to %s", in->u.s.ptr, in->u.s.len,
                                tname);
                v = (long long)d;
            }
            x = v;
        } else if (from == SL_SQL_BOOLEAN) {
            x = in->u.b;
        } else {
            break;
        }
        if (!int_fits(to->kind, x)) goto out_of_range;
        out->u.i = x;
        return 0;
    }
    case SL_SQL_DECIMAL:
    case SL_SQL_REAL:
    case SL_SQL_DOUBLE: {
        double d;
        if (is_num(from)) {
            d = as_double(in);
        } else if (from == SL_SQL_CHAR || from == SL_SQL_VARCHAR) {
            size_t l = SL_MIN(in->u.s.len, sizeof tmp - 1);
            memcpy(tmp, in->u.s.ptr, l);
            tmp[l] = 0;
            char *end;
            d = strtod(tmp, &end);
            while (*end == ' ')
                end++;
            if (*end || end == tmp)
                return fail(ctx, "Cannot convert '%.*s' to %s", in->u.s.ptr, in->u.s.len, tname);
        } else if (from == SL_SQL_BOOLEAN) {
            d = in->u.b;
        } else {
            break;
        }
        if (to->kind == SL_SQL_REAL) d = (float)d;
        if (to->kind == SL_SQL_DECIMAL) {
            double f = pow(10, to->scale);
            d = round(d * f) / f;
            if (to->len > 0 && fabs(d) >= pow(10, to->len - to->scale)) goto out_of_range;
        }
        out->u.d = d;
        return 0;
    }
    case SL_SQL_CHAR:
    case SL_SQL_VARCHAR: {
        if (from == SL_SQL_CHAR || from == SL_SQL_VARCHAR)
            return store_text(ctx, in->u.s.ptr, in->u.s.len, to, out);
        size_t n = sl_an_value_format(in, 0, tmp, sizeof tmp);
        if (from == SL_SQL_BOOLEAN)
            n = (size_t)snprintf(tmp, sizeof tmp, in->u.b ? "TRUE" : "FALSE");
        return store_text(ctx, tmp, n, to, out);
    }
    case SL_SQL_BINARY:
    case SL_SQL_VARBINARY:
        if (from == SL_SQL_BINARY || from == SL_SQL_VARBINARY)
            return store_text(ctx, in->u.s.ptr, in->u.s.len, to, out);
        break;
    case SL_SQL_DATE:
    case SL_SQL_TIME:
    case SL_SQL_TIMESTAMP: {
        int64_t t;
        if (from == SL_SQL_CHAR || from == SL_SQL_VARCHAR) {
            if (!an_parse_time(in->u.s.ptr, in->u.s.len, to->kind, &t))
                return fail(ctx, "Cannot convert '%.*s' to %s", in->u.s.ptr, in->u.s.len, tname);
        } else if (from == SL_SQL_TIMESTAMP || from == SL_SQL_DATE) {
            t = in->u.i;
        } else if (from == SL_SQL_TIME && to->kind == SL_SQL_TIME) {
            t = in->u.i;
        } else {
            break;
        }
        if (to->kind == SL_SQL_DATE) t = an_floor_time(t, SL_SQL_UNIT_DAY);
        if (to->kind == SL_SQL_TIME) t -= an_floor_time(t, SL_SQL_UNIT_DAY);
        out->u.i = t;
        return 0;
    }
    case SL_SQL_INTERVAL_DT:
    case SL_SQL_INTERVAL_YM:
        if (from == to->kind) {
            out->u.i = in->u.i;
            return 0;
        }
        break;
    default:
        break;
    }
    {
        const char *fname = sl_sql_kind_name(from);
        return fail(ctx, "Cannot convert %.*s to %s", fname, strlen(fname), tname);
    }
out_of_range:;
    size_t n = sl_an_value_format(in, 0, tmp, sizeof tmp);
    return fail(ctx, "Value '%.*s' is out of range for %s", tmp, n, tname);
}
