/* Fuzz target for application code: the bytes are parsed as a script, as one expression and as
 * a type name (analytics/parse.c). Nothing may crash, hang or read out of bounds; a failed parse
 * must leave a message and a position inside the text. */
#include "analytics/sql.h"
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    sl_arena_t a;
    sl_arena_init(&a, 4096);
    sl_sql_script_t script;
    sl_sql_error_t err;
    int rc = sl_sql_parse(s, size, &a, &script, &err);
    if (rc == -2 && err.message[0] == 0) abort();
    if (rc == 0) {
        for (size_t i = 0; i < script.nstmts; i++)
            if (!script.stmts[i].name && !script.stmts[i].target) abort();
    }
    sl_arena_reset(&a);
    sl_sql_expr_t *e;
    rc = sl_sql_parse_expr(s, size, &a, &e, &err);
    if (rc == 0 && !e) abort();
    if (rc == -2 && err.message[0] == 0) abort();
    sl_sql_type_t t;
    if (sl_sql_parse_type(s, size, &t) == 0) {
        char buf[64];
        if (sl_sql_type_format(&t, buf, sizeof buf) == 0) abort();
    }
    sl_arena_deinit(&a);
    return 0;
}
