/* AWS error bodies for the JSON and CBOR protocols: {"__type":"<type>","message":"<text>"}
 * (spec §1.5), compact, or the same map in CBOR. */
#ifndef SL_WIRE_AWSERROR_H
#define SL_WIRE_AWSERROR_H

#include "core/buf.h"
#include "wire/value.h"

#include <stdbool.h>

/* Appends the error body to out. message NULL omits the member (e.g. a bare
 * {"__type":"SerializationException"}); capital_message_key writes "Message" instead of
 * "message", as AWS does for SerializationException. Allocation failure is sticky in out. */
void sl_aws_error_body(sl_buf_t *out, sl_fmt_t fmt, const char *type, const char *message,
                       bool capital_message_key);

#endif
