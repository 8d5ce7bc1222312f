/* The generated model of AWS SQS (model.c, from tools/gen_model.py sqs). */
#ifndef SL_API_SQS_MODEL_H
#define SL_API_SQS_MODEL_H

#include "front/model.h"

extern const sl_service_model_t sl_sqs_model;

#endif
