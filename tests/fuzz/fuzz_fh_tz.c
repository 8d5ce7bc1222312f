/* Fuzz target: TZif files and POSIX TZ rules (firehose/tz.h), the time zones of CustomTimeZone.
 * Any bytes parse or are refused with a reason; a parsed zone answers an offset within a day of
 * UTC for any instant, with no read out of bounds. */
#include "firehose/tz.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int64_t instants[] = {INT64_MIN / 4, -2000000000, 0,
                                       1700000000,    4117996800,  INT64_MAX / 4};
    sl_fh_tz_t tz;
    const char *reason = NULL;
    if (sl_fh_tz_parse(data, size, &tz, &reason) == 0) {
        for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
            int32_t off = sl_fh_tz_offset(&tz, instants[i]);
            if (off <= -26 * 3600 || off >= 27 * 3600) abort();
        }
        sl_fh_tz_free(&tz);
    } else if (!reason) {
        abort();
    }
    sl_fh_tz_rule_t rule;
    if (sl_fh_tz_rule_parse((const char *)data, size, &rule)) {
        sl_fh_tz_t r = {.has_rule = true, .rule = rule};
        for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
            int32_t off = sl_fh_tz_offset(&r, instants[i]);
            if (off <= -26 * 3600 || off >= 27 * 3600) abort();
        }
    }
    return 0;
}
