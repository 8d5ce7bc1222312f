/* What a mapping sends and receives (see esm.h): the Kinesis event of a batch exactly as AWS
 * builds it, the function's response (partial batch responses, tumbling-window state), the
 * OnFailure invocation record and its delivery, tumbling windows and per-mapping metrics. */
#ifndef SL_ESM_EVENT_H
#define SL_ESM_EVENT_H

#include "esm/internal.h"

/* Writes the event of the first records of b's queue (at most n, cut short so the payload stays
 * within 6 MB, and within one tumbling window) into out (reset first); returns how many records
 * it holds (0 only for a window's final invocation). */
size_t sl_esm_event_build(batcher_t *b, size_t n, sl_buf_t *out);

enum { SL_ESM_RESPONSE_OK, SL_ESM_RESPONSE_PARTIAL, SL_ESM_RESPONSE_INVALID };
/* The verdict on a successful invocation's response for the batch in flight (b->batch records):
 * OK, PARTIAL with *failed_at the index in the batch of the lowest failed record, or INVALID (the
 * whole batch failed: a malformed batchItemFailures, or a window response without state). */
int sl_esm_response_parse(batcher_t *b, const uint8_t *res, size_t len, size_t *failed_at);

/* Sends the OnFailure invocation record of the first n records of b's queue to the mapping's
 * destination (none: nothing), condition RetryAttemptsExhausted or RecordAgeExceeded; op is the
 * last invocation (NULL when there was none). Failures to deliver are logged. */
void sl_esm_on_failure(batcher_t *b, size_t n, const char *condition, const sl_fn_op_t *op);

/* Tumbling windows: opens b's window at its first record's arrival (aligned on the window size)
 * and says whether its final invocation is due (a record of a later window is next, the window's
 * end passed with no record left, or its state outgrew SL_ESM_WINDOW_STATE_BYTES_MAX); when not,
 * and no record waits, *wake_wall_ms is when to look again (0 = no window open). */
bool sl_esm_window_due(batcher_t *b, int64_t *wake_wall_ms);
/* A batch of the window succeeded: its response's state becomes the window's. */
void sl_esm_window_processed(batcher_t *b);
/* The window ended (its final invocation succeeded or was given up): state dropped. */
void sl_esm_window_reset(batcher_t *b);

/* An invocation of the mapping completed after `ms` (metrics). */
void sl_esm_metrics_invoked(mapping_t *m, batcher_t *b, const sl_fn_op_t *op, int64_t ms);

/* ISO-8601 UTC with milliseconds: 2019-11-14T00:38:04.835Z */
void sl_esm_iso_time(int64_t ms, char out[48]);

#endif
