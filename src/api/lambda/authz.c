/* The action and resource of a Lambda request, for authorization (authz.h). */
#include "api/lambda/authz.h"

#include <string.h>

const char *sl_lapi_resource(const sl_op_t *op, const sl_val_t *in, void *account,
                             const char *region, const char *account_id, sl_arena_t *arena) {
    (void)op;
    (void)account;
    size_t len = 0;
    const char *fn = sl_val_get_str(in, "FunctionName", &len);
    const char *uuid = sl_val_get_str(in, "UUID", NULL);
    if (fn && strncmp(fn, "arn:", 4) == 0) return sl_arena_strndup(arena, fn, len);
    if (fn) {
        /* "<account>:function:<name>" (a partial ARN) or a name */
        const char *p = strstr(fn, ":function:");
        if (p) fn = p + 10;
        size_t n = strcspn(fn, ":");
        return sl_arena_sprintf(arena, "arn:aws:lambda:%s:%s:function:%.*s", region, account_id,
                                (int)n, fn);
    }
    if (uuid)
        return sl_arena_sprintf(arena, "arn:aws:lambda:%s:%s:event-source-mapping:%s", region,
                                account_id, uuid);
    return sl_arena_sprintf(arena, "arn:aws:lambda:%s:%s:*", region, account_id);
}

const char *sl_lapi_action(const sl_op_t *op) {
    return strcmp(op->name, "Invoke") == 0 ? "InvokeFunction" : NULL;
}
