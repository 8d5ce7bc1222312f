/* The resources of a DynamoDB request, for authorization (authz.h). */
#include "api/dynamodb/authz.h"

#include "core/buf.h"

#include <string.h>

/* Appends the table's ARN (one line). */
static void add_table(sl_buf_t *b, const char *table, size_t len, const char *region,
                      const char *account_id) {
    if (b->len) sl_buf_append_byte(b, '\n');
    if (len > 4 && memcmp(table, "arn:", 4) == 0)
        sl_buf_printf(b, "%.*s", (int)len, table);
    else
        sl_buf_printf(b, "arn:aws:dynamodb:%s:%s:table/%.*s", region, account_id, (int)len, table);
}

/* TransactItems / TransactGetItems: [{"Put": {"TableName": ...}}, ...] */
static void add_transact(sl_buf_t *b, const sl_val_t *items, const char *region,
                         const char *account_id) {
    if (!items || items->type != SL_VAL_ARRAY) return;
    for (size_t i = 0; i < items->u.arr.count; i++) {
        const sl_val_t *item = items->u.arr.items[i];
        if (!item || item->type != SL_VAL_MAP) continue;
        for (size_t j = 0; j < item->u.map.count; j++) {
            size_t len = 0;
            const char *t = sl_val_get_str(item->u.map.items[j].val, "TableName", &len);
            if (t) add_table(b, t, len, region, account_id);
        }
    }
}

const char *sl_dapi_resource(const sl_op_t *op, const sl_val_t *in, void *account,
                             const char *region, const char *account_id, sl_arena_t *arena) {
    (void)op;
    (void)account;
    sl_buf_t b = SL_BUF_INIT;
    size_t len = 0;
    const char *table = sl_val_get_str(in, "TableName", &len);
    const char *arn = sl_val_get_str(in, "ResourceArn", NULL);
    const sl_val_t *req = sl_val_get(in, "RequestItems");
    if (table) {
        add_table(&b, table, len, region, account_id);
    } else if (arn) {
        sl_buf_printf(&b, "%s", arn);
    } else if (req && req->type == SL_VAL_MAP) {
        for (size_t i = 0; i < req->u.map.count; i++)
            add_table(&b, req->u.map.items[i].key, req->u.map.items[i].key_len, region, account_id);
    } else {
        add_transact(&b, sl_val_get(in, "TransactItems"), region, account_id);
    }
    if (b.len == 0) sl_buf_printf(&b, "arn:aws:dynamodb:%s:%s:*", region, account_id);
    const char *out = sl_buf_failed(&b) ? NULL : sl_arena_strndup(arena, b.data, b.len);
    sl_buf_free(&b);
    return out;
}
