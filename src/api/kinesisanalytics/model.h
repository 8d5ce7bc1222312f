/* The generated model of Kinesis Data Analytics (model.c, from tools/gen_model.py
 * kinesisanalytics). */
#ifndef SL_API_KINESISANALYTICS_MODEL_H
#define SL_API_KINESISANALYTICS_MODEL_H

#include "front/model.h"

extern const sl_service_model_t sl_kinesisanalytics_model;

#endif
