/* The generated model of AWS STS (model.c, from tools/gen_model.py sts). */
#ifndef SL_API_STS_MODEL_H
#define SL_API_STS_MODEL_H

#include "front/model.h"

extern const sl_service_model_t sl_sts_model;

#endif
