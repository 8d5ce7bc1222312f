/* The generated model of Amazon Data Firehose (model.c, from tools/gen_model.py firehose). */
#ifndef SL_API_FIREHOSE_MODEL_H
#define SL_API_FIREHOSE_MODEL_H

#include "front/model.h"

extern const sl_service_model_t sl_firehose_model;

#endif
