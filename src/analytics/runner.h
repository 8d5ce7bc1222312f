/* The runner of a RUNNING application (runner.c): one thread that follows the input stream
 * (kinesis/follow.h), maps its records into the in-application source streams, advances the
 * engine with the wall clock (processing time), and puts the rows of each output's in-application
 * stream into the output's Sluice stream. Its shard positions are the application's
 * LAST_STOPPED_POINT, kept in <analytics.db path>.<application>.pos. */
#ifndef SL_ANALYTICS_RUNNER_H
#define SL_ANALYTICS_RUNNER_H

#include "analytics/apps.h"
#include "analytics/engine.h"

typedef struct sl_an_runner sl_an_runner_t;

/* Declares the application's input streams and its reference table in eng (the table's rows read
 * from `objstore`; NULL: an empty table, to check code) and loads its code. */
bool sl_an_runner_prepare(sl_an_engine_t *eng, const sl_an_app_t *a, sl_objstore_t *objstore,
                          sl_an_err_t *err);

/* Starts a runner on a copy of app (with cfg's Kinesis core and the store's path in pos_base).
 * resume: carry on from the saved positions (a restart of the server, an update of the running
 * application); else the input's starting position decides, and NOW and TRIM_HORIZON forget the
 * positions of an earlier run. */
int sl_an_runner_start(const sl_an_apps_config_t *cfg, const char *pos_base, const sl_an_app_t *app,
                       bool resume, sl_an_runner_t **out);
/* Stops the thread (its last rows are put and its positions saved) and frees. NULL: no-op. */
void sl_an_runner_stop(sl_an_runner_t *r);

/* The name under which an application holds its delivery stream input's unread records across
 * restarts (sl_firehose_reader_commit): released when the application stops or is deleted. */
void sl_an_fh_holder(const char *app_name, char *out, size_t cap);
/* A move of the virtual clock (clock.c): the runner's thread reads what its input holds at its
 * old time, moves to now_ms and delivers its output rows; returns when it did (or ended). */
void sl_an_runner_sync(sl_an_runner_t *r, int64_t now_ms);

/* For discover.c: the account's Kinesis core, delivery streams and object store, and the count
 * of discoveries
 * running (sl_an_apps_quiesce waits for it to fall to 0). */
sl_kinesis_t *sl_an_apps_kinesis(sl_an_apps_t *apps);
sl_objstore_t *sl_an_apps_objstore(sl_an_apps_t *apps);
struct sl_firehose *sl_an_apps_firehose(sl_an_apps_t *apps);
void sl_an_apps_discovering(sl_an_apps_t *apps, int delta);

#endif
