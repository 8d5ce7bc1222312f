/* Idempotent puts (a Sluice extension; docs/compatibility.md): the result of each PutRecord(s)
 * that carried an idempotency key, remembered per (stream, key) for
 * SL_KINESIS_IDEMPOTENCY_WINDOW_MS so that a put retried after a timeout or a dropped connection
 * gets the original shards and sequence numbers instead of appending again. A retry that arrives
 * while the first is still being appended waits for it. The table is in memory: it does not survive
 * a restart of the server. Private to kinesis/ (put.c); its mutex is taken inside the engine lock,
 * never the other way. */
#ifndef SL_KINESIS_IDEM_H
#define SL_KINESIS_IDEM_H

#include "kinesis/kinesis.h"

typedef struct sl_kidem sl_kidem_t;

int sl_kidem_create(sl_kidem_t **out);
void sl_kidem_destroy(sl_kidem_t *t);

typedef enum {
    SL_KIDEM_NEW,      /* op now owns the key: it goes ahead, and sl_kidem_finish runs at its end */
    SL_KIDEM_REPLAYED, /* op holds the remembered result (or op->err): complete it now */
    SL_KIDEM_WAITING,  /* op waits for the key's owner; its cb runs when that one finishes */
} sl_kidem_status_t;

/* Looks op's key up for stream `stream`. */
sl_kidem_status_t sl_kidem_begin(sl_kidem_t *t, const char *stream, sl_kput_t *op);

/* The owner op finished (its result is final): remembers it (a call-level error is forgotten, so
 * that a retry runs again), and completes the waiters with copies of it. */
void sl_kidem_finish(sl_kidem_t *t, sl_kput_t *op);

#endif
