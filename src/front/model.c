/* Lookups in a generated service model table (see model.h). */
#include "front/model.h"

#include <string.h>

const sl_op_t *sl_model_find_op(const sl_service_model_t *model, const char *name,
                                size_t name_len) {
    for (size_t i = 0; i < model->op_count; i++) {
        const sl_op_t *op = &model->ops[i];
        /* the first byte filters out almost every other operation before strlen */
        if (name_len && op->name[0] == name[0] && strlen(op->name) == name_len &&
            memcmp(op->name, name, name_len) == 0)
            return op;
    }
    return NULL;
}

const sl_model_error_t *sl_model_find_error(const sl_service_model_t *model, const char *name) {
    for (size_t i = 0; i < model->error_count; i++)
        if (strcmp(model->errors[i].name, name) == 0) return &model->errors[i];
    return NULL;
}
