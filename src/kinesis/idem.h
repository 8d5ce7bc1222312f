/* Idempotent puts (a Sluice extension; docs/compatibility.md): the result of each PutRecord(s)
 * that carried an idempotency key, remembered per (stream, key) for
 * SL_KINESIS_IDEMPOTENCY_WINDOW_MS so that a put retried after a timeout or a dropped connection
 * gets the original shards and sequence numbers instead of appending again. A retry that arrives
 * while the first is still being appended waits for it.
 * Durability: each record appended under a key carries a tag in its stored attributes, after the
 * explicit hash key and a NUL: "sluice-idem:<key>\n<index>/<count>". When the engine opens, the
 * records of the last window are read back and the table rebuilt from the tags (engine.c), so a
 * retry after a crash still gets the first answer; a record of a put that the crash cut before it
 * was written is reported failed (InternalFailure), which a producer retries under a new key.
 * Private to kinesis/ (put.c, engine.c); its mutex is taken inside the engine lock, never the
 * other way. */
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

/* The attributes to store for record `index` of op (the owner): its explicit hash key, a NUL and
 * the tag, allocated in op->arena. Returns false when the arena is exhausted. */
bool sl_kidem_tag(const sl_kput_t *op, size_t index, const char **attributes, size_t *len);

/* The tag of a stored record's attributes: true and its parts when there is one. */
bool sl_kidem_parse_tag(const char *attributes, size_t len, const char **key, size_t *key_len,
                        size_t *index, size_t *count);

/* Rebuilding (engine open, one thread): record `index` of `count` of the put with `key` on
 * `stream` is stored in `shard` at seq, arrived at arrival_ms. */
void sl_kidem_restore(sl_kidem_t *t, const char *stream, bool encrypted, const char *key,
                      size_t key_len, size_t index, size_t count, const char *shard_id,
                      int64_t shard_created_ms, uint32_t shard_index, uint64_t seq,
                      int64_t arrival_ms);
/* Ends the rebuild: puts with records missing report them failed. Returns the keys restored. */
size_t sl_kidem_restore_end(sl_kidem_t *t);

#endif
