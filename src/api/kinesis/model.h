/* The generated model of Kinesis Data Streams (model.c, from tools/gen_model.py kinesis). */
#ifndef SL_API_KINESIS_MODEL_H
#define SL_API_KINESIS_MODEL_H

#include "front/model.h"

extern const sl_service_model_t sl_kinesis_model;

#endif
