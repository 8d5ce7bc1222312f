/* Clocks. Wall-clock milliseconds for record arrival times and AWS timestamps; monotonic time for
 * timeouts and rate limits. */
#ifndef SL_CORE_TIME_H
#define SL_CORE_TIME_H

#include <stdint.h>

int64_t sl_time_now_ms(void);  /* CLOCK_REALTIME, ms since the epoch */
int64_t sl_time_mono_ms(void); /* CLOCK_MONOTONIC, ms */
int64_t sl_time_mono_ns(void); /* CLOCK_MONOTONIC, ns */

#endif
