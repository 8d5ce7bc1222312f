/* Shared between the Kinesis operation handlers (*.c in this folder). */
#ifndef SL_API_KINESIS_INTERNAL_H
#define SL_API_KINESIS_INTERNAL_H

#include "api/kinesis/binding.h"
#include "api/kinesis/model.h"
#include "core/buf.h"
#include "core/common.h"
#include "wire/awserror.h"
#include "wire/enc.h"
#include "wire/value.h"

#include <pthread.h>
#include <stdarg.h>

typedef struct sl_sub sl_sub_t;

struct sl_kapi {
    /* Every engine connected (sl_kapi_attach_kinesis), for the deletion kicks of SubscribeToShard
     * (sl_kapi_subs_kick); guarded by engines_mu. The subscriptions themselves are registered in
     * each engine's fan-out registry (kinesis/listen.c). */
    pthread_mutex_t engines_mu;
    sl_kinesis_t **engines;
    size_t engine_count;
};

/* The engine of the request's account: what the composition root's account hook answered. */
static inline sl_kinesis_t *sl_kapi_engine(const sl_front_call_t *call) {
    return call->account;
}

/* The list of connected engines (subscribe.c). */
void sl_kapi_subs_init(sl_kapi_t *api);
void sl_kapi_subs_deinit(sl_kapi_t *api);
void sl_kapi_subs_attach(sl_kapi_t *api, sl_kinesis_t *k);

#endif
