/* The generated model of Kinesis Data Analytics v2 (model.c, from tools/gen_model.py
 * kinesisanalyticsv2). Its binding is api/kinesisanalytics/v2.c, beside v1's: the two APIs share
 * one application model. */
#ifndef SL_API_KINESISANALYTICSV2_MODEL_H
#define SL_API_KINESISANALYTICSV2_MODEL_H

#include "front/model.h"

extern const sl_service_model_t sl_kinesisanalyticsv2_model;

#endif
