/* Fault injection for the storage tests: a file operations table (storage/fileops.h) to pass as
 * sl_storage_config_t.file_ops. */
#ifndef SL_TESTS_SUPPORT_FAULT_OPS_H
#define SL_TESTS_SUPPORT_FAULT_OPS_H

#include "storage/fileops.h"

#include <stdbool.h>

/* sl_file_ops_fault forwards to the POSIX calls until armed. Armed with a kind and N, the Nth
 * pwrite from then on (1 = the next one) misbehaves:
 *   ENOSPC / EIO: it and every later pwrite fail with that errno while `sticky`, else only it;
 *   SHORT: it writes half of its bytes and returns that count (later writes succeed);
 *   CRASH: it writes a prefix of its bytes, then the "process dies": every later mutating call
 *          (pwrite, fdatasync, fsync, ftruncate, unlink, rename, mkdir, open with O_CREAT) fails
 *          with EIO. With `lose_unsynced`, each write not covered by a later fdatasync/fsync/
 *          syncfs of its file (one that started after it) is also damaged on disk from a random
 *          point to its end (zero-filled, overwritten with garbage, or cut off when it ends the
 *          file; chosen by the seed), as after a power loss; synced data is never damaged, even
 *          where it follows an unsynced write in the file (a ring like the commit journal).
 * Also: SYNC_EIO makes the Nth fdatasync/fsync fail with EIO (sticky as above).
 * The state is process-global (the table has no context pointer); arm/disarm from one thread. */
typedef enum {
    SL_FAULT_NONE = 0,
    SL_FAULT_ENOSPC,
    SL_FAULT_EIO,
    SL_FAULT_SHORT,
    SL_FAULT_CRASH,
    SL_FAULT_SYNC_EIO,
} sl_fault_kind_t;

extern const sl_file_ops_t sl_file_ops_fault;
void sl_fault_arm(sl_fault_kind_t kind, long nth, bool sticky, bool lose_unsynced, unsigned seed);
/* Clears the armed fault and the crashed state (files stay as they are). */
void sl_fault_disarm(void);
/* A gate for the next pwrite: it waits (before writing) until sl_fault_gate_open. gate_wait waits
 * (at most timeout_ms) until a pwrite is held there; false if none came. */
void sl_fault_gate_next_write(void);
bool sl_fault_gate_wait(int timeout_ms);
void sl_fault_gate_open(void);
/* The next fdatasync/fsync (of any file) is held until `writes` more pwrite calls have completed
 * than had when this was called (at most 2 s), then fails with EIO when `fail`, else syncs.
 * released_by_write: whether the last held sync was let go by those writes rather than by the
 * time limit. */
void sl_fault_hold_next_sync(bool fail, long writes);
bool sl_fault_hold_released_by_write(void);
/* pwrite calls seen since the last arm/disarm, and whether the simulated crash happened. */
long sl_fault_writes(void);
bool sl_fault_crashed(void);

#endif
