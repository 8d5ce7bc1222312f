/* Line-buffered logging to stderr. Each line is formatted into a local buffer and written with one
 * write() so that lines from different threads never interleave. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sl_log_level_t g_level = SL_LOG_INFO;
static volatile sl_log_format_t g_format = SL_LOG_FORMAT_TEXT;
static _Thread_local const char *t_request_id;

void sl_log_set_level(sl_log_level_t level) {
    g_level = level;
}
sl_log_level_t sl_log_get_level(void) {
    return g_level;
}
void sl_log_set_format(sl_log_format_t format) {
    g_format = format;
}
void sl_log_set_request_id(const char *request_id) {
    t_request_id = request_id;
}

/* Appends `text` quoted for JSON (json) or logfmt (both escape '"' and '\\' and control bytes). */
static size_t quoted(char *out, size_t cap, size_t n, const char *text, size_t len) {
    static const char hex[] = "0123456789abcdef";
    if (n < cap) out[n++] = '"';
    for (size_t i = 0; i < len && n + 7 < cap; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else if (c < 0x20) {
            memcpy(out + n, "\\u00", 4);
            out[n + 4] = hex[c >> 4];
            out[n + 5] = hex[c & 15];
            n += 6;
        } else {
            out[n++] = (char)c;
        }
    }
    if (n < cap) out[n++] = '"';
    return n;
}

void sl_log(sl_log_level_t level, const char *fmt, ...) {
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    static const char *lower[] = {"debug", "info", "warn", "error"};
    if (level < g_level) return;
    char msg[2048], line[4600];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t mlen = m < 0 ? 0 : (size_t)m >= sizeof msg ? sizeof msg - 1 : (size_t)m;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    const char *rid = t_request_id;
    size_t cap = sizeof line - 2, n;
    switch (g_format) {
    case SL_LOG_FORMAT_JSON:
        n = (size_t)snprintf(line, cap, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", when,
                             lower[level]);
        n = quoted(line, cap, n, msg, mlen);
        if (rid && n < cap) n += (size_t)snprintf(line + n, cap - n, ",\"request_id\":\"%s\"", rid);
        if (n < cap) line[n++] = '}';
        break;
    case SL_LOG_FORMAT_LOGFMT:
        n = (size_t)snprintf(line, cap, "time=%s level=%s msg=", when, lower[level]);
        n = quoted(line, cap, n, msg, mlen);
        if (rid && n < cap) n += (size_t)snprintf(line + n, cap - n, " request_id=%s", rid);
        break;
    default:
        n = (size_t)snprintf(line, cap, "%s %-5s %.*s", when, names[level], (int)mlen, msg);
        if (rid && n < cap) n += (size_t)snprintf(line + n, cap - n, " request_id=%s", rid);
        break;
    }
    if (n > cap) n = cap;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
