/* Fuzz target: the form (Query protocol) decoder. Every input is decoded or refused with a
 * reason; decoded names and values are NUL-terminated at their lengths and never longer than the
 * input; nothing is read past it. */
#include "core/arena.h"
#include "core/common.h"
#include "wire/form.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size ? size : 1);
    if (size) memcpy(s, data, size);
    sl_arena_t arena;
    sl_arena_init(&arena, 1024);
    sl_form_param_t *ps;
    size_t n;
    const char *reason;
    int rc = sl_form_parse(s, size, &arena, &ps, &n, &reason);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            if (ps[i].name_len > size || ps[i].value_len > size) abort();
            if (ps[i].name[ps[i].name_len] || ps[i].value[ps[i].value_len]) abort();
        }
        if (n && sl_form_get(ps, n, ps[0].name) == NULL) abort();
    } else if (rc != SL_EINVAL || !reason) {
        abort();
    }
    sl_arena_deinit(&arena);
    free(s);
    return 0;
}
