/* The generated model of Amazon CloudWatch (model.c, from tools/gen_model.py cloudwatch). */
#ifndef SL_API_CLOUDWATCH_MODEL_H
#define SL_API_CLOUDWATCH_MODEL_H

#include "front/model.h"

extern const sl_service_model_t sl_cloudwatch_model;

#endif
