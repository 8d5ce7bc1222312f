/* AWS error bodies (see awserror.h), written through the response encoder so JSON escaping and
 * CBOR framing are the same as in every other response. */
#include "wire/awserror.h"

#include "wire/enc.h"

void sl_aws_error_body(sl_buf_t *out, sl_fmt_t fmt, const char *type, const char *message,
                       bool capital_message_key) {
    sl_enc_t e;
    sl_enc_init(&e, out, fmt);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "__type", type);
    if (message) sl_enc_kv_cstr(&e, capital_message_key ? "Message" : "message", message);
    sl_enc_map_end(&e);
}
