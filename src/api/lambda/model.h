/* The generated model of AWS Lambda (model.c, from tools/gen_model.py lambda). */
#ifndef SL_API_LAMBDA_MODEL_H
#define SL_API_LAMBDA_MODEL_H

#include "front/model.h"

extern const sl_service_model_t sl_lambda_model;

#endif
