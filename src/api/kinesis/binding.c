/* The Kinesis binding's descriptor and state (see binding.h). */
#include "api/kinesis/internal.h"

#include <stdlib.h>

int sl_kapi_create(sl_kapi_t **out) {
    sl_kapi_t *api = calloc(1, sizeof *api);
    if (!api) return SL_ENOMEM;
    sl_kapi_subs_init(api);
    *out = api;
    return 0;
}

void sl_kapi_destroy(sl_kapi_t *api) {
    if (!api) return;
    sl_kapi_subs_deinit(api);
    free(api);
}

void sl_kapi_attach_kinesis(sl_kapi_t *api, sl_kinesis_t *k) {
    sl_kapi_subs_attach(api, k);
}

void sl_kapi_describe(sl_kapi_t *api, sl_front_service_t *svc) {
    *svc = (sl_front_service_t){
        .name = "kinesis",
        .protocol = SL_FRONT_PROTO_JSON,
        .model = &sl_kinesis_model,
        .handler = sl_kapi_handler,
        .signing_name = sl_kinesis_model.signing_name,
        .json_content_type = "application/x-amz-json-1.1",
        .cbor_content_type = "application/x-amz-cbor-1.1",
        .legacy_json = true,
        .default_route = true,
        .binding = api,
    };
}
