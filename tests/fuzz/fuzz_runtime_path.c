/* Fuzz target: the Lambda Runtime API's request targets (api/lambda/runtime.c), which come from
 * function processes. Input: a flags byte (bit 0: POST, else GET), then the path. A parsed target
 * must lie inside the path: a non-empty token before "/2018-06-01/runtime/", and for response and
 * error calls a non-empty request id without '/'. */
#include "api/lambda/binding.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char *path = calloc(1, size);
    if (!path) return 0;
    memcpy(path, data + 1, size - 1);
    sl_lapi_rt_target_t t;
    if (sl_lapi_runtime_parse(data[0] & 1 ? "POST" : "GET", path, &t)) {
        size_t len = strlen(path);
        if (!t.token || t.token_len == 0 || t.token < path || t.token + t.token_len > path + len ||
            memchr(t.token, '/', t.token_len))
            abort();
        if (t.kind == SL_FN_RT_RESPONSE || t.kind == SL_FN_RT_ERROR) {
            if (!t.request_id || t.request_id_len == 0 || t.request_id < path ||
                t.request_id + t.request_id_len > path + len ||
                memchr(t.request_id, '/', t.request_id_len))
                abort();
        }
    }
    free(path);
    return 0;
}
