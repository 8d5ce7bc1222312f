/* Fuzz target: event patterns (esm/pattern.c). The input is split at its first NUL into a pattern
 * and an event: the pattern is checked, and a checked pattern is matched against the event (and
 * against itself and an empty event) without a crash. */
#include "core/arena.h"
#include "esm/pattern.h"
#include "wire/json.h"

#include <stdlib.h>
#include <string.h>

static sl_val_t *parse(sl_arena_t *a, const uint8_t *data, size_t len) {
    char *copy = sl_arena_strndup(a, (const char *)data, len);
    sl_val_t *v = NULL;
    const char *reason;
    return copy && sl_json_parse(copy, len, a, &v, &reason) == 0 ? v : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t plen = nul ? (size_t)(nul - data) : size;
    sl_arena_t arena;
    sl_arena_init(&arena, 1024);
    sl_val_t *pattern = parse(&arena, data, plen);
    sl_val_t *event = nul ? parse(&arena, nul + 1, size - plen - 1) : NULL;
    const char *reason = NULL;
    if (pattern) {
        if (sl_pattern_check(pattern, &reason)) {
            (void)sl_pattern_match(pattern, event);
            (void)sl_pattern_match(pattern, pattern);
            (void)sl_pattern_match(pattern, NULL);
        } else if (!reason) {
            abort();
        }
    }
    sl_arena_deinit(&arena);
    return 0;
}
