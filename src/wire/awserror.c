/* AWS errors (see awserror.h): the error table, internal-failure messages and error bodies written
 * through the response encoder, so JSON escaping and CBOR framing are the same as in every other
 * response. */
#include "wire/awserror.h"

#include "core/common.h"
#include "wire/enc.h"

#include <string.h>

#define SL_AWS_ERROR_DEFINE(id, type, status) const char id[] = type;
SL_AWS_ERROR_TABLE(SL_AWS_ERROR_DEFINE)
#undef SL_AWS_ERROR_DEFINE

static const struct {
    const char *type;
    int status;
} error_table[] = {
#define SL_AWS_ERROR_ROW(id, type, status) {id, status},
    SL_AWS_ERROR_TABLE(SL_AWS_ERROR_ROW)
#undef SL_AWS_ERROR_ROW
};

int sl_aws_error_status(const char *type) {
    if (!type) return 400;
    for (size_t i = 0; i < SL_ARRAY_LEN(error_table); i++)
        if (error_table[i].type == type) return error_table[i].status;
    for (size_t i = 0; i < SL_ARRAY_LEN(error_table); i++)
        if (strcmp(error_table[i].type, type) == 0) return error_table[i].status;
    return 400;
}

const char *sl_aws_failure_message(int code) {
    switch (code) {
    case SL_ENOSPC:
        return "Internal service failure: the server's disk is full; writes are refused until "
               "space is freed.";
    case SL_EROFS:
        return "Internal service failure: the server's data directory is on a read-only file "
               "system; writes are refused.";
    case SL_EIO:
        return "Internal service failure: an I/O error in the server's storage.";
    case SL_ECORRUPT:
        return "Internal service failure: damaged data in the server's storage.";
    case SL_ENOMEM:
        return "Internal service failure: the server is out of memory.";
    default:
        return "Internal service failure.";
    }
}

void sl_aws_error_body(sl_buf_t *out, sl_fmt_t fmt, const char *type, const char *message,
                       bool capital_message_key) {
    sl_enc_t e;
    sl_enc_init(&e, out, fmt);
    sl_enc_map_begin(&e);
    if (type) sl_enc_kv_cstr(&e, "__type", type);
    if (message) sl_enc_kv_cstr(&e, capital_message_key ? "Message" : "message", message);
    sl_enc_map_end(&e);
}
