/* Fuzz target for the SQS core's stored records (bytes read back from sqs.db are input): a
 * message value and a queue's metadata are decoded, and the same bytes parsed as a queue ARN.
 * Nothing may crash; a decoded message's attributes must lie inside its own copy. */
#include "sqs/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static sl_sqs_t sqs = {.region = "us-east-1", .account = "123456789012", .next_incarnation = 1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl_sqs_msg_t *m = sl_sqs_msg_decode("00000000-0000-4000-8000-000000000000", data, size);
    if (m) {
        const uint8_t *lo = m->blob, *hi = m->blob + m->blob_len;
        if (m->body < lo || m->body + m->body_len > hi) abort();
        for (size_t i = 0; i < m->attr_count; i++)
            if (m->attrs[i].value_len &&
                (m->attrs[i].value < lo || m->attrs[i].value + m->attrs[i].value_len > hi))
                abort();
        free(m);
    }
    sl_sqs_queue_t *q = NULL;
    if (sl_sqs_queue_decode(&sqs, "queue-1", data, size, &q) == 0) sl_sqs_queue_free(q);
    char text[256], name[81], account[16];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = 0;
    if (sl_sqs_parse_arn(text, name, account) == 0 && strlen(account) != 12) abort();
    return 0;
}
