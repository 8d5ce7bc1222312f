/* IANA time zones for an S3 destination's CustomTimeZone (docs/firehose.md, "Object keys"): the
 * prefix's timestamps and the object name's time are evaluated in that zone, as AWS does. A zone
 * is read from the system's time zone database (TZif files, RFC 8536, under /usr/share/zoneinfo,
 * Debian's tzdata) once; the UTC offset of an instant comes from its transitions and, past the
 * last one, from the file's POSIX TZ footer rule. Parsing is pure logic on bytes; loading a zone
 * reads one file. A zone is immutable once parsed, so one may be shared between threads. */
#ifndef SL_FIREHOSE_TZ_H
#define SL_FIREHOSE_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds of what a TZif file may hold (tzdata's largest zone has under 300 transitions). */
#define SL_FH_TZ_TRANSITIONS_MAX 4096
#define SL_FH_TZ_TYPES_MAX 256
#define SL_FH_TZ_FILE_BYTES_MAX (256 * 1024)

/* A POSIX TZ rule (the TZif footer): standard offset, and when dst, the daylight offset and the
 * two changes of a year. Offsets are seconds east of UTC. */
typedef struct {
    int32_t std_off, dst_off;
    bool dst;
    /* A change: kind 'J' (Jn, 1..365, no Feb 29), 'D' (n, 0..365) or 'M' (Mm.w.d); time of day
     * in seconds (local time, may be negative or past 24 h). */
    struct {
        char kind;
        int month, week, day;
        int32_t time_s;
    } start, end;
} sl_fh_tz_rule_t;

typedef struct {
    size_t count;                     /* transitions */
    int64_t *times;                   /* malloc'd, ascending, seconds since the epoch */
    uint8_t *types;                   /* malloc'd, the type index of each transition */
    int32_t offs[SL_FH_TZ_TYPES_MAX]; /* UTC offset of each type */
    size_t type_count;
    bool has_rule; /* a footer rule applies after the last transition */
    sl_fh_tz_rule_t rule;
} sl_fh_tz_t;

/* Parses a TZif file (versions 1 to 4). Returns 0, or SL_EINVAL with *reason a static text; on
 * failure nothing is left to free. */
int sl_fh_tz_parse(const uint8_t *data, size_t len, sl_fh_tz_t *out, const char **reason);

/* Parses a POSIX TZ string ("EST5EDT,M3.2.0,M11.1.0"). Returns true when valid. */
bool sl_fh_tz_rule_parse(const char *text, size_t len, sl_fh_tz_rule_t *out);

/* Is name the shape of an IANA zone name ("Asia/Tokyo", "UTC", "America/Argentina/Salta"):
 * letters, digits, '_', '-', '+' and '/' between non-empty parts, never "." or ".." parts. */
bool sl_fh_tz_name_ok(const char *name);

/* Loads the zone `name` from dir (NULL = /usr/share/zoneinfo). Returns 0, SL_ENOTFOUND for a
 * name that is not a zone, or another SL_E* code. */
int sl_fh_tz_load(const char *dir, const char *name, sl_fh_tz_t *out);

void sl_fh_tz_free(sl_fh_tz_t *tz);

/* The zone's UTC offset in seconds (east positive) at the instant t (seconds since the epoch). */
int32_t sl_fh_tz_offset(const sl_fh_tz_t *tz, int64_t t);

#endif
