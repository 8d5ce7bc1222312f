/* JSON decoder (RFC 8259) into the sl_val_t tree. Hand-written for the hot path: PutRecords and
 * GetRecords bodies are parsed zero-copy into the request arena (issue: generic JSON DOM building
 * must not dominate). Strict: rejects trailing garbage, invalid UTF-8 escapes, depth >
 * SL_WIRE_DEPTH_MAX. The buffer must be followed by one readable NUL byte (the net layer guarantees
 * it), because strings without escapes point into it and must be NUL-terminated — the parser writes
 * NULs over closing quotes, so `data` is modified (escaped strings are decoded in place too: hash
 * the body for SigV4 before parsing). Decisions: invalid UTF-8 and unpaired surrogate escapes are
 * rejected;
 * "\u0000" is accepted (the string then holds a NUL; use its length); map keys are NUL-terminated
 * as well; numbers keep their literal text, is_integer means no fraction and no exponent, i is the
 * value truncated toward zero and saturated to int64 (1e3 -> 1000, -2.7 -> -2, 1e30 -> INT64_MAX).
 * Any JSON value is accepted at the top level (the caller checks for an object). */
#ifndef SL_WIRE_JSON_H
#define SL_WIRE_JSON_H

#include "core/arena.h"
#include "wire/value.h"

/* Returns 0 and *out, or SL_EINVAL with *reason a static description (SL_ENOMEM, reason
 * "out of memory", when the arena or the scratch stack cannot grow). At most SL_WIRE_VALUES_MAX
 * values per document ("too many values"). */
int sl_json_parse(char *data, size_t len, sl_arena_t *arena, sl_val_t **out, const char **reason);

/* The first byte at or after p that a JSON string cannot hold plainly: a quote, a backslash, a
 * control character or a non-ASCII byte (the NUL at *end, which must be readable, stops the scan);
 * the string scan of sl_json_parse, for decoders of their own (front/validate.h's fast path).
 * Call sl_json_scan_init once before the first scan (it picks the CPU's widest scan). */
void sl_json_scan_init(void);
char *sl_json_skip_plain(char *p, const char *end);

#endif
