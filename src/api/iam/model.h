/* The generated model of AWS IAM (model.c, from tools/gen_model.py iam). */
#ifndef SL_API_IAM_MODEL_H
#define SL_API_IAM_MODEL_H

#include "front/model.h"

extern const sl_service_model_t sl_iam_model;

#endif
