/* JSON decoder (RFC 8259) into the sl_val_t tree. Hand-written for the hot path: PutRecords and
 * GetRecords bodies are parsed zero-copy into the request arena (issue: generic JSON DOM building
 * must not dominate). Strict: rejects trailing garbage, invalid UTF-8 escapes, depth > SL_WIRE_DEPTH_MAX.
 * The buffer must be followed by one readable NUL byte (the net layer guarantees it), because
 * strings without escapes point into it and must be NUL-terminated — the parser writes NULs over
 * closing quotes, so `data` is modified. */
#ifndef SL_WIRE_JSON_H
#define SL_WIRE_JSON_H

#include "core/arena.h"
#include "wire/value.h"

/* Returns 0 and *out, or SL_EINVAL with *reason a static description. */
int sl_json_parse(char *data, size_t len, sl_arena_t *arena, sl_val_t **out, const char **reason);

#endif
