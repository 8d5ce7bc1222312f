/* AWS event-stream framing (application/vnd.amazon.eventstream), spec §5.3: prelude with total and
 * headers length and CRC32 (zlib), typed headers, payload, message CRC. Only string headers (type
 * 7) are produced; the decoder understands every header type (for tests and fuzzing). */
#ifndef SL_WIRE_EVENTSTREAM_H
#define SL_WIRE_EVENTSTREAM_H

#include "core/arena.h"
#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;
    const char *value; /* string headers only in the encoder */
} sl_es_header_t;

/* Appends one message to out. Returns 0 or SL_EINVAL (empty name, name > 255 bytes, value > 65535,
 * sizes beyond SL_EVENTSTREAM_* limits) / SL_ENOMEM. */
int sl_es_encode(sl_buf_t *out, const sl_es_header_t *headers, size_t header_count,
                 const void *payload, size_t payload_len);

typedef struct {
    char *name;
    uint8_t type; /* 0..9 */
    char *str;    /* types 6, 7 (bytes/string), NUL-terminated copy */
    size_t str_len;
    int64_t num;      /* types 2..5, 8; bool for 0/1 */
    uint8_t uuid[16]; /* type 9 */
} sl_es_decoded_header_t;

typedef struct {
    sl_es_decoded_header_t *headers;
    size_t header_count;
    const uint8_t *payload;
    size_t payload_len;
    size_t total_len; /* bytes consumed */
} sl_es_message_t;

/* Decodes one message from the front of data. Returns 0, SL_EAGAIN when more bytes are needed, or
 * SL_EINVAL with *reason (bad CRC, bad lengths, unknown header type, duplicate header). */
int sl_es_decode(const uint8_t *data, size_t len, sl_arena_t *arena, sl_es_message_t *msg,
                 const char **reason);

#endif
