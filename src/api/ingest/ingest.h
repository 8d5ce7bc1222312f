/* The HTTP ingest front (docs/ingest.md): what users otherwise build with API Gateway in front of
 * Kinesis, for devices and webhooks that can only POST. Plain routes of the front:
 *   POST /ingest/{stream}        the body is one record
 *   POST /ingest/{stream}/batch  newline-delimited records (at most 500, like PutRecords)
 * authenticated with an API key in `x-api-key`; answered with the shard and sequence number(s) as
 * JSON. The key check and the per-key rate limit are the composition root's (a hook), so this
 * binding holds no file and no lock: it decodes, calls the Kinesis core, encodes. */
#ifndef SL_API_INGEST_H
#define SL_API_INGEST_H

#include "front/front.h"
#include "kinesis/kinesis.h"

#include <stddef.h>

/* The key check: api_key is the x-api-key header (NULL when absent). Returns 0 (allowed),
 * SL_ENOTFOUND (no such key, or the key may not write this stream: 403) or SL_EAGAIN (the key's
 * records/s limit is used up: 429). Called on network threads. */
typedef int (*sl_ingest_auth_fn)(void *ctx, const char *api_key, const char *stream,
                                 size_t records);

typedef struct sl_ingest sl_ingest_t;

/* Creates the binding for engine k (the default account's). Returns 0 or SL_ENOMEM. */
int sl_ingest_create(sl_kinesis_t *k, sl_ingest_auth_fn auth, void *auth_ctx, sl_ingest_t **out);
void sl_ingest_destroy(sl_ingest_t *in);
/* Registers POST /ingest/ (a prefix route) on the front. Same errors as sl_front_add_route. */
int sl_ingest_register(sl_ingest_t *in, sl_front_t *front);
/* Without --ingest-keys the ingest front does not exist: POST /ingest/... is answered 404
 * (NotFoundException, "Not Found") instead of the Kinesis endpoint's answer to an unknown path. */
int sl_ingest_register_absent(sl_front_t *front);

#endif
