/* Readers of the records a delivery stream receives (reader.c): what a Kinesis Data Analytics
 * application with a KinesisFirehoseInput reads. AWS's analytics application reads the records put
 * to the delivery stream (PutRecord, PutRecordBatch, or read from its Kinesis source) while the
 * delivery goes on; here a reader reads them, in order, from the delivery stream's buffer log (the
 * log the delivery cuts objects from), with a position of its own that it saves and restores as
 * text (LAST_STOPPED_POINT). While a reader is open, the delivery does not trim records it has not
 * read yet; a position its owner committed (sl_firehose_reader_commit) is held across restarts.
 *
 * Blocking: a read waits for the storage read, so it belongs on a service's own thread, never a
 * network or storage thread. One reader is used by one thread; close readers before
 * sl_firehose_close. */
#ifndef SL_FIREHOSE_READER_H
#define SL_FIREHOSE_READER_H

#include "firehose/firehose.h"

typedef struct sl_fh_reader sl_fh_reader_t;

/* A record as read: valid only during the callback. */
typedef struct {
    uint64_t seq;
    int64_t arrival_ms; /* when the delivery stream received it */
    const uint8_t *data;
    size_t len;
} sl_fh_read_record_t;

/* Opens a reader of the delivery stream `stream` (its name, or its ARN
 * arn:aws:firehose:<region>:<account>:deliverystream/<name>) of fh's account. Without a restored
 * position its first read starts at the first record received at or after start_ms. The stream
 * need not exist yet: reads answer SL_ENOTFOUND until it does. Returns 0 or SL_ENOMEM/SL_EINVAL. */
int sl_firehose_reader_open(sl_firehose_t *fh, const char *stream, int64_t start_ms,
                            sl_fh_reader_t **out);
void sl_firehose_reader_close(sl_fh_reader_t *r); /* NULL: no-op */

/* Records of one read, in order. A non-zero return is returned by the read, and the position does
 * not move past these records. */
typedef int (*sl_fh_read_fn)(void *ctx, const sl_fh_read_record_t *records, size_t n);

/* Reads the records after the position (at most records_max and about bytes_max bytes; at least
 * one when there is one) and hands them to fn. *count gets the records handed. Returns 0,
 * SL_ENOTFOUND when the delivery stream does not exist now, fn's non-zero return, or a storage
 * error. A delivery stream deleted and made again is read from its first record. */
int sl_firehose_reader_read(sl_fh_reader_t *r, size_t records_max, size_t bytes_max,
                            sl_fh_read_fn fn, void *ctx, size_t *count);

/* The position as text ("firehose <log id> <next seq>\n"; "" before the first read) and back
 * (before the first read; SL_EINVAL for text of another shape). */
int sl_firehose_reader_save(const sl_fh_reader_t *r, char *out, size_t cap);
int sl_firehose_reader_restore(sl_fh_reader_t *r, const char *text, size_t len);
/* The parser behind _restore: 0 with the log id and next seq, or SL_EINVAL. */
int sl_firehose_reader_parse(const char *text, size_t len, uint64_t *log_id, uint64_t *next_seq);

/* Durable holds. A reader's hold lives as long as the reader; after a restart (or kill -9) its
 * owner re-opens it and restores its position, but the delivery may run first. So an owner that
 * saves its position durably commits it here, right after it wrote what _save gave: from then
 * on, across restarts too, the delivery trims no record from that position on (of the log the
 * reader reads) until the holder commits a later position or releases the hold. `holder` names
 * the owner in the account (at most 159 bytes; one hold each). Returns 0, SL_EINVAL, SL_ELIMIT
 * (FH_HOLDS_MAX holders) or a firehose.db error (the hold is then unchanged). */
int sl_firehose_reader_commit(sl_fh_reader_t *r, const char *holder);
/* Drops holder's hold (none: 0). */
int sl_firehose_hold_release(sl_firehose_t *fh, const char *holder);

#endif
