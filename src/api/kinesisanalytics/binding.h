/* The Kinesis Data Analytics binding (docs/analytics.md): the generated model (model.c) and the
 * handlers of KinesisAnalytics_20150814, which decode the validated input into the typed
 * requests of the applications core (analytics/apps.h) and encode its answers. The composition
 * root registers the descriptor with an account hook whose answer is the account's sl_an_apps_t. */
#ifndef SL_API_KINESISANALYTICS_BINDING_H
#define SL_API_KINESISANALYTICS_BINDING_H

#include "analytics/apps.h"
#include "front/front.h"

/* Fills *svc with the descriptor (AWS JSON 1.1, target prefix KinesisAnalytics_20150814, signing
 * name kinesisanalytics). The caller adds the account hook. */
void sl_kdaapi_describe(sl_front_service_t *svc);
sl_front_op_fn sl_kdaapi_handler(const char *op_name);

/* The v2 API (KinesisAnalytics_20180523, v2.c) for SQL-1_0 applications, on the same applications:
 * an application made with one API is seen and changed with the other, as on AWS. Routed by its
 * target prefix (both sign as kinesisanalytics). */
void sl_kdaapi_describe_v2(sl_front_service_t *svc);
sl_front_op_fn sl_kdaapi_handler_v2(const char *op_name);

/* The virtual clock's route, GET and POST /admin/analytics/clock (clock.c): the clock's time,
 * and moving it ({"now_ms": N}) for tests run with --analytics-clock virtual. */
struct sl_an_clock;
int sl_kdaapi_register_clock(sl_front_t *front, struct sl_an_clock *clock);

#endif
