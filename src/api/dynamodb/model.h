/* The generated model of DynamoDB (model.c, from tools/gen_model.py dynamodb). */
#ifndef SL_API_DYNAMODB_MODEL_H
#define SL_API_DYNAMODB_MODEL_H

#include "front/model.h"

extern const sl_service_model_t sl_dynamodb_model;

#endif
