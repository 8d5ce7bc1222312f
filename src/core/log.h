/* Logging: one line per event to stderr, with level and UTC timestamp, as text (the default),
 * JSON lines or logfmt (--log-format). Thread-safe. A network thread handling a request sets the
 * request's id (the x-amzn-RequestId its client sees), and every line it logs meanwhile carries
 * it. Lines never carry record data or secrets: callers log names, sizes and ids only. */
#ifndef SL_CORE_LOG_H
#define SL_CORE_LOG_H

typedef enum {
    SL_LOG_DEBUG = 0,
    SL_LOG_INFO = 1,
    SL_LOG_WARN = 2,
    SL_LOG_ERROR = 3
} sl_log_level_t;

typedef enum {
    SL_LOG_FORMAT_TEXT = 0, /* 2026-12-06T08:00:00.000Z INFO  message request_id=... */
    SL_LOG_FORMAT_JSON,     /* {"time":"...","level":"info","msg":"...","request_id":"..."} */
    SL_LOG_FORMAT_LOGFMT,   /* time=... level=info msg="..." request_id=... */
} sl_log_format_t;

void sl_log_set_format(sl_log_format_t format);
/* The request id the calling thread's lines carry (NULL: none); the string must outlive the
 * setting (the front sets it around each request's handling). */
void sl_log_set_request_id(const char *request_id);
void sl_log_set_level(sl_log_level_t level);
sl_log_level_t sl_log_get_level(void);
void sl_log(sl_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define SL_DEBUG(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)
#define SL_INFO(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define SL_WARN(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define SL_ERROR(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)

#endif
