/* IANA time zones from TZif files and POSIX TZ rules (firehose/tz.h). The expected offsets are
 * Python's zoneinfo's for the same instants; the zones are Debian's tzdata (scripts/setup.sh). */
#include "firehose/tz.h"
#include "core/common.h"
#include "test.h"

#include <string.h>

static int32_t offset_of(const char *zone, int64_t t) {
    sl_fh_tz_t tz;
    if (sl_fh_tz_load(NULL, zone, &tz) != 0) return 99999;
    int32_t off = sl_fh_tz_offset(&tz, t);
    sl_fh_tz_free(&tz);
    return off;
}

static int32_t rule_offset(const char *rule, int64_t t) {
    sl_fh_tz_t tz = {0};
    if (!sl_fh_tz_rule_parse(rule, strlen(rule), &tz.rule)) return 99999;
    tz.has_rule = true;
    return sl_fh_tz_offset(&tz, t);
}

int main(void) {
    /* zones of the database, before and after their last transition (2037 in tzdata's files),
     * on both hemispheres, with half and three-quarter hour offsets and negative DST (Dublin) */
    CHECK_EQ_INT(offset_of("Asia/Tokyo", 1700000000), 32400);
    CHECK_EQ_INT(offset_of("America/New_York", 1700000000), -18000);
    CHECK_EQ_INT(offset_of("America/New_York", 1690000000), -14400);
    CHECK_EQ_INT(offset_of("America/New_York", 1710053999), -18000); /* 2024-03-10 01:59:59 */
    CHECK_EQ_INT(offset_of("America/New_York", 1710054000), -14400); /* 03:00 EDT */
    CHECK_EQ_INT(offset_of("America/New_York", -2000000000), -18000);
    CHECK_EQ_INT(offset_of("America/New_York", 4117996800), -14400); /* 2100-07-01 */
    CHECK_EQ_INT(offset_of("Australia/Sydney", 1700000000), 39600);
    CHECK_EQ_INT(offset_of("Australia/Sydney", 1690000000), 36000);
    CHECK_EQ_INT(offset_of("Australia/Sydney", 4103308800), 39600); /* 2100-01-11 */
    CHECK_EQ_INT(offset_of("Europe/London", 1690000000), 3600);
    CHECK_EQ_INT(offset_of("Europe/Dublin", 1690000000), 3600);
    CHECK_EQ_INT(offset_of("Europe/Dublin", 1700000000), 0);
    CHECK_EQ_INT(offset_of("Asia/Kolkata", 1700000000), 19800);
    CHECK_EQ_INT(offset_of("Pacific/Chatham", 1700000000), 49500);
    CHECK_EQ_INT(offset_of("America/Sao_Paulo", 1700000000), -10800);
    CHECK_EQ_INT(offset_of("UTC", 1700000000), 0);

    /* names that are no zone: unknown, a directory, a table, path tricks */
    sl_fh_tz_t tz;
    CHECK_EQ_INT(sl_fh_tz_load(NULL, "Mars/Olympus_Mons", &tz), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_fh_tz_load(NULL, "Asia", &tz), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_fh_tz_load(NULL, "zone1970.tab", &tz), SL_ENOTFOUND);
    CHECK_EQ_INT(sl_fh_tz_load(NULL, "../../etc/passwd", &tz), SL_ENOTFOUND);
    CHECK(!sl_fh_tz_name_ok("/etc/passwd"));
    CHECK(!sl_fh_tz_name_ok("Asia//Tokyo"));
    CHECK(!sl_fh_tz_name_ok("Asia/.."));
    CHECK(sl_fh_tz_name_ok("America/Argentina/Buenos_Aires"));
    CHECK(sl_fh_tz_name_ok("Etc/GMT+5"));

    /* POSIX rules on their own (the footer beyond the last transition) */
    CHECK_EQ_INT(rule_offset("JST-9", 1700000000), 32400);
    CHECK_EQ_INT(rule_offset("EST5EDT,M3.2.0,M11.1.0", 1710053999), -18000);
    CHECK_EQ_INT(rule_offset("EST5EDT,M3.2.0,M11.1.0", 1710054000), -14400);
    CHECK_EQ_INT(rule_offset("EST5EDT,M3.2.0,M11.1.0", 1730613599),
                 -14400); /* 2024-11-03 01:59 EDT */
    CHECK_EQ_INT(rule_offset("EST5EDT,M3.2.0,M11.1.0", 1730613600), -18000);
    CHECK_EQ_INT(rule_offset("AEST-10AEDT,M10.1.0,M4.1.0/3", 1700000000), 39600);
    CHECK_EQ_INT(rule_offset("AEST-10AEDT,M10.1.0,M4.1.0/3", 1690000000), 36000);
    CHECK_EQ_INT(rule_offset("<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", 1700000000), 49500);
    CHECK_EQ_INT(rule_offset("IST-1GMT0,M10.5.0,M3.5.0/1", 1690000000), 3600);
    CHECK_EQ_INT(rule_offset("IST-1GMT0,M10.5.0,M3.5.0/1", 1700000000), 0);
    CHECK_EQ_INT(rule_offset("<-03>3", 1700000000), -10800);
    sl_fh_tz_rule_t r;
    CHECK(!sl_fh_tz_rule_parse("EST", 3, &r));
    CHECK(!sl_fh_tz_rule_parse("EST5EDT,M13.1.0,M11.1.0", 23, &r));
    CHECK(!sl_fh_tz_rule_parse("EST5EDT,M3.2.0", 14, &r));
    CHECK(!sl_fh_tz_rule_parse("<AB>5", 5, &r));

    /* malformed files are refused with a reason */
    const char *reason = NULL;
    CHECK_EQ_INT(sl_fh_tz_parse((const uint8_t *)"TZif2", 5, &tz, &reason), SL_EINVAL);
    CHECK(reason != NULL);
    TEST_MAIN_END();
}
