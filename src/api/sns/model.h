/* The generated model of AWS SNS (model.c, from tools/gen_model.py sns). */
#ifndef SL_API_SNS_MODEL_H
#define SL_API_SNS_MODEL_H

#include "front/model.h"

extern const sl_service_model_t sl_sns_model;

#endif
