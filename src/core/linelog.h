/* A line log: text lines appended to a file by a writer thread of its own, so that the threads
 * that produce them (network threads: the audit log of docs/security.md) never touch a file.
 * Lines wait in a queue bounded by SL_LINELOG_QUEUE_BYTES_MAX; beyond it lines are dropped and
 * counted (logged once a second at most), never blocking the producer. The file is opened for
 * appending (created 0600); the writer writes every batch with one write() and fdatasync()s at
 * most once a second and at close. */
#ifndef SL_CORE_LINELOG_H
#define SL_CORE_LINELOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct sl_linelog sl_linelog_t;

/* Opens (creates) `path` for appending and starts the writer. 0, SL_EIO (logged) or SL_ENOMEM. */
int sl_linelog_open(const char *path, sl_linelog_t **out);
/* Writes what is queued, syncs, stops the writer and closes the file. NULL is allowed. */
void sl_linelog_close(sl_linelog_t *log);
/* Queues one line (copied; a newline is added). Safe from any thread. */
void sl_linelog_write(sl_linelog_t *log, const char *line, size_t len);
/* Lines dropped because the queue was full, since open. */
uint64_t sl_linelog_dropped(sl_linelog_t *log);

#endif
