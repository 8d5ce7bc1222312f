/* The generated model of AWS KMS (model.c, from tools/gen_model.py kms). */
#ifndef SL_API_KMS_MODEL_H
#define SL_API_KMS_MODEL_H

#include "front/model.h"

extern const sl_service_model_t sl_kms_model;

#endif
