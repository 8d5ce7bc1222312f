/* The Firehose binding (AWS JSON 1.1, target prefix Firehose_20150804, signing name "firehose"):
 * the 12 operations over the Firehose core (firehose/firehose.h). The descriptor's account hook
 * must leave the account's sl_firehose_t in call->account. Handlers decode, call the core and
 * encode; PutRecord(Batch) answer once the records are durable (on the request's loop). */
#ifndef SL_API_FIREHOSE_BINDING_H
#define SL_API_FIREHOSE_BINDING_H

#include "firehose/firehose.h"
#include "front/front.h"

/* Fills *svc with the Firehose descriptor (no account hook: the composition root sets it). */
void sl_fhapi_describe(sl_front_service_t *svc);

#endif
