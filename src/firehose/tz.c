/* IANA time zones from TZif files (see tz.h). */
#include "firehose/tz.h"

#include "core/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p) {
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* ---- POSIX TZ rules ---- */

typedef struct {
    const char *p, *end;
} cursor_t;

static bool at_end(const cursor_t *c) {
    return c->p >= c->end;
}

static bool digit(const cursor_t *c) {
    return !at_end(c) && *c->p >= '0' && *c->p <= '9';
}

/* A non-negative decimal of at most max_digits digits. */
static bool number(cursor_t *c, int max_digits, int *out) {
    int v = 0, n = 0;
    while (digit(c) && n < max_digits) {
        v = v * 10 + (*c->p++ - '0');
        n++;
    }
    *out = v;
    return n > 0 && !digit(c);
}

/* A zone abbreviation: three or more letters, or <...> of letters, digits, '+' and '-'. */
static bool abbreviation(cursor_t *c) {
    int n = 0;
    if (!at_end(c) && *c->p == '<') {
        c->p++;
        while (!at_end(c) && *c->p != '>') {
            char ch = *c->p++;
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '+' || ch == '-'))
                return false;
            n++;
        }
        if (at_end(c)) return false;
        c->p++;
        return n >= 3;
    }
    while (!at_end(c) && ((*c->p >= 'a' && *c->p <= 'z') || (*c->p >= 'A' && *c->p <= 'Z'))) {
        c->p++;
        n++;
    }
    return n >= 3;
}

/* [+-]hh[:mm[:ss]] with hours up to max_hours; seconds, signed as written. */
static bool clock_time(cursor_t *c, int max_hours, int32_t *out) {
    int sign = 1;
    if (!at_end(c) && (*c->p == '+' || *c->p == '-')) sign = *c->p++ == '-' ? -1 : 1;
    int h = 0, m = 0, s = 0;
    if (!number(c, 3, &h) || h > max_hours) return false;
    if (!at_end(c) && *c->p == ':') {
        c->p++;
        if (!number(c, 2, &m) || m > 59) return false;
        if (!at_end(c) && *c->p == ':') {
            c->p++;
            if (!number(c, 2, &s) || s > 59) return false;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return true;
}

/* ",date[/time]" */
static bool change(cursor_t *c, char *kind, int *month, int *week, int *day, int32_t *time_s) {
    if (at_end(c) || *c->p != ',') return false;
    c->p++;
    *month = *week = *day = 0;
    if (!at_end(c) && *c->p == 'J') {
        c->p++;
        *kind = 'J';
        if (!number(c, 3, day) || *day < 1 || *day > 365) return false;
    } else if (!at_end(c) && *c->p == 'M') {
        c->p++;
        *kind = 'M';
        if (!number(c, 2, month) || *month < 1 || *month > 12) return false;
        if (at_end(c) || *c->p++ != '.' || !number(c, 1, week) || *week < 1 || *week > 5)
            return false;
        if (at_end(c) || *c->p++ != '.' || !number(c, 1, day) || *day > 6) return false;
    } else {
        *kind = 'D';
        if (!number(c, 3, day) || *day > 365) return false;
    }
    *time_s = 7200; /* 02:00 */
    if (!at_end(c) && *c->p == '/') {
        c->p++;
        if (!clock_time(c, 167, time_s)) return false;
    }
    return true;
}

bool sl_fh_tz_rule_parse(const char *text, size_t len, sl_fh_tz_rule_t *out) {
    cursor_t c = {text, text + len};
    *out = (sl_fh_tz_rule_t){0};
    int32_t off;
    if (!abbreviation(&c) || !clock_time(&c, 24, &off)) return false;
    out->std_off = -off; /* POSIX offsets count west of UTC */
    if (at_end(&c)) return true;
    if (!abbreviation(&c)) return false;
    out->dst = true;
    out->dst_off = out->std_off + 3600;
    if (!at_end(&c) && *c.p != ',') {
        if (!clock_time(&c, 24, &off)) return false;
        out->dst_off = -off;
    }
    if (at_end(&c)) { /* no rule: POSIX leaves it to the implementation; US rules are usual */
        out->start.kind = out->end.kind = 'M';
        out->start.month = 3;
        out->start.week = 2;
        out->end.month = 11;
        out->end.week = 1;
        out->start.time_s = out->end.time_s = 7200;
        return true;
    }
    if (!change(&c, &out->start.kind, &out->start.month, &out->start.week, &out->start.day,
                &out->start.time_s))
        return false;
    if (!change(&c, &out->end.kind, &out->end.month, &out->end.week, &out->end.day,
                &out->end.time_s))
        return false;
    return at_end(&c);
}

/* ---- civil dates ---- */

static bool leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t year_of_days(int64_t z) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    return yoe + era * 400 + (m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Local seconds since the epoch (in the offset in force before the change) of a change in
 * year y. */
static int64_t change_local(int64_t y, char kind, int month, int week, int day, int32_t time_s) {
    int64_t days;
    if (kind == 'J') {
        days = days_from_civil(y, 1, 1) + day - 1 + (leap(y) && day >= 60);
    } else if (kind == 'D') {
        days = days_from_civil(y, 1, 1) + day;
    } else {
        static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int64_t first = days_from_civil(y, month, 1);
        int wday = (int)(((first % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday (4) */
        int dom = 1 + (day - wday + 7) % 7 + (week - 1) * 7;
        int len = mdays[month - 1] + (month == 2 && leap(y));
        while (dom > len)
            dom -= 7;
        days = first + dom - 1;
    }
    return days * 86400 + time_s;
}

static int32_t rule_offset(const sl_fh_tz_rule_t *r, int64_t t) {
    if (!r->dst) return r->std_off;
    int64_t y = year_of_days(floor_div(t + r->std_off, 86400));
    int64_t start = change_local(y, r->start.kind, r->start.month, r->start.week, r->start.day,
                                 r->start.time_s) -
                    r->std_off;
    int64_t end =
        change_local(y, r->end.kind, r->end.month, r->end.week, r->end.day, r->end.time_s) -
        r->dst_off;
    bool in_dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return in_dst ? r->dst_off : r->std_off;
}

/* ---- TZif ---- */

#define HEADER_BYTES 44

typedef struct {
    uint32_t isut, isstd, leap, time, type, chars;
} counts_t;

static bool header(const uint8_t *p, size_t len, char *version, counts_t *c) {
    if (len < HEADER_BYTES || memcmp(p, "TZif", 4) != 0) return false;
    *version = (char)p[4];
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chars = be32(p + 40);
    return true;
}

/* Bytes of a data block with `time_bytes`-byte times, or 0 when the counts are out of bounds. */
static size_t block_bytes(const counts_t *c, size_t time_bytes) {
    if (c->time > SL_FH_TZ_TRANSITIONS_MAX || c->type == 0 || c->type > SL_FH_TZ_TYPES_MAX ||
        c->chars > 65536 || c->leap > 65536 || (c->isut && c->isut != c->type) ||
        (c->isstd && c->isstd != c->type))
        return 0;
    return (size_t)c->time * (time_bytes + 1) + (size_t)c->type * 6 + c->chars +
           (size_t)c->leap * (time_bytes + 4) + c->isstd + c->isut;
}

int sl_fh_tz_parse(const uint8_t *data, size_t len, sl_fh_tz_t *out, const char **reason) {
    *out = (sl_fh_tz_t){0};
    char version;
    counts_t c;
    if (!header(data, len, &version, &c)) {
        *reason = "not a TZif file";
        return SL_EINVAL;
    }
    size_t time_bytes = 4, pos = HEADER_BYTES;
    size_t n = block_bytes(&c, 4);
    if (n == 0 || n > len - pos) {
        *reason = "the version 1 block is malformed or truncated";
        return SL_EINVAL;
    }
    if (version != 0) { /* version 2+: skip the 32-bit block; the 64-bit one follows */
        pos += n;
        if (!header(data + pos, len - pos, &version, &c)) {
            *reason = "the version 2 header is missing";
            return SL_EINVAL;
        }
        pos += HEADER_BYTES;
        time_bytes = 8;
        n = block_bytes(&c, 8);
        if (n == 0 || n > len - pos) {
            *reason = "the version 2 block is malformed or truncated";
            return SL_EINVAL;
        }
    }
    const uint8_t *times = data + pos;
    const uint8_t *idx = times + (size_t)c.time * time_bytes;
    const uint8_t *types = idx + c.time;
    out->type_count = c.type;
    for (size_t i = 0; i < c.type; i++) {
        int64_t off = (int32_t)be32(types + i * 6);
        if (off <= -25 * 3600 || off >= 26 * 3600) {
            *reason = "a UTC offset is out of range";
            return SL_EINVAL;
        }
        out->offs[i] = (int32_t)off;
    }
    out->count = c.time;
    if (c.time) {
        out->times = malloc(c.time * sizeof *out->times);
        out->types = malloc(c.time);
        if (!out->times || !out->types) {
            sl_fh_tz_free(out);
            *reason = "out of memory";
            return SL_ENOMEM;
        }
    }
    for (size_t i = 0; i < c.time; i++) {
        out->times[i] = time_bytes == 8 ? be64(times + i * 8) : (int32_t)be32(times + i * 4);
        out->types[i] = idx[i];
        if (idx[i] >= c.type || (i && out->times[i] <= out->times[i - 1])) {
            sl_fh_tz_free(out);
            *reason = i && idx[i] < c.type ? "the transitions are not ascending"
                                           : "a transition names an unknown type";
            return SL_EINVAL;
        }
    }
    pos += n;
    if (time_bytes == 8 && pos < len) { /* the footer: "\n<POSIX TZ>\n" */
        const uint8_t *nl = len - pos > 1 ? memchr(data + pos + 1, '\n', len - pos - 1) : NULL;
        if (data[pos] != '\n' || !nl) {
            sl_fh_tz_free(out);
            *reason = "the footer is malformed";
            return SL_EINVAL;
        }
        size_t rule_len = (size_t)(nl - (data + pos + 1));
        if (rule_len) {
            if (!sl_fh_tz_rule_parse((const char *)data + pos + 1, rule_len, &out->rule)) {
                sl_fh_tz_free(out);
                *reason = "the footer's TZ rule is malformed";
                return SL_EINVAL;
            }
            out->has_rule = true;
        }
    }
    return 0;
}

void sl_fh_tz_free(sl_fh_tz_t *tz) {
    free(tz->times);
    free(tz->types);
    tz->times = NULL;
    tz->types = NULL;
    tz->count = 0;
}

int32_t sl_fh_tz_offset(const sl_fh_tz_t *tz, int64_t t) {
    if (tz->count == 0 || t < tz->times[0]) {
        if (tz->count == 0 && tz->has_rule) return rule_offset(&tz->rule, t);
        return tz->type_count ? tz->offs[0] : 0;
    }
    if (t >= tz->times[tz->count - 1] && tz->has_rule) return rule_offset(&tz->rule, t);
    size_t lo = 0, hi = tz->count; /* the last transition at or before t */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (tz->times[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->offs[tz->types[lo]];
}

bool sl_fh_tz_name_ok(const char *name) {
    size_t part = 0;
    if (!name || !name[0] || strlen(name) > 50) return false;
    for (const char *p = name;; p++) {
        if (*p == '/' || *p == 0) {
            if (part == 0) return false;
            if ((part == 1 && p[-1] == '.') || (part == 2 && p[-1] == '.' && p[-2] == '.'))
                return false;
            if (*p == 0) return true;
            part = 0;
            continue;
        }
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '+' || c == '.'))
            return false;
        part++;
    }
}

int sl_fh_tz_load(const char *dir, const char *name, sl_fh_tz_t *out) {
    *out = (sl_fh_tz_t){0};
    if (!sl_fh_tz_name_ok(name)) return SL_ENOTFOUND;
    char path[512];
    int n = snprintf(path, sizeof path, "%s/%s", dir ? dir : "/usr/share/zoneinfo", name);
    if (n < 0 || (size_t)n >= sizeof path) return SL_ENOTFOUND;
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT || errno == ENOTDIR || errno == EISDIR ? SL_ENOTFOUND : SL_EIO;
    uint8_t *buf = malloc(SL_FH_TZ_FILE_BYTES_MAX);
    size_t len = buf ? fread(buf, 1, SL_FH_TZ_FILE_BYTES_MAX, f) : 0;
    bool failed = ferror(f) != 0; /* e.g. a directory ("Asia") reads as EISDIR */
    fclose(f);
    if (!buf) return SL_ENOMEM;
    const char *reason;
    int rc = failed ? SL_ENOTFOUND : sl_fh_tz_parse(buf, len, out, &reason);
    free(buf);
    if (rc == SL_EINVAL) rc = SL_ENOTFOUND; /* not a zone file (e.g. zone1970.tab) */
    return rc;
}
