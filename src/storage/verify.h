/* Read-only verification of the segment-file engine's files (docs/storage-format.md), for
 * `sluice check` and `sluice repair`: it lists the shard logs under a data directory, checks every
 * segment (header, every frame's length, checksum, seq and arrival order), every index (header,
 * entries pointing at the frames they name, the seal of a sealed segment) and the commit journal
 * (header, checkpoint, the entries a start would replay), and reports what it finds. It changes
 * nothing on disk and needs no running engine; recovery itself stays in file.c. */
#ifndef SL_STORAGE_VERIFY_H
#define SL_STORAGE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What verifying one shard log found. */
typedef struct {
    bool exists; /* the log's directory exists */
    uint64_t segments;
    uint64_t records;         /* valid records found */
    uint64_t first_seq;       /* seq of the oldest valid record (== next_seq when none) */
    uint64_t next_seq;        /* seq after the newest valid record: what recovery will find */
    int64_t first_arrival_ms; /* 0 when no record */
    int64_t last_arrival_ms;
    uint64_t damaged;     /* segments with bytes that recovery would cut or readers skip */
    uint64_t bad_indexes; /* index files that recovery or readers would rebuild */
    uint64_t gaps;        /* seq ranges missing between segments */
    uint64_t leftovers;   /* *.tmp files and indexes without a segment */
} sl_storage_log_check_t;

/* Called once per finding: `problem` tells a defect from information; `file` is the file's path
 * relative to the log directory (NULL for the log as a whole); msg is one line without newline. */
typedef void (*sl_storage_check_say)(void *arg, bool problem, const char *file, const char *msg);

/* Verifies <data_dir>/streams/<stream_key>/<shard_key>/. Returns 0 and fills *out (a missing
 * directory is out->exists == false, not an error), or a negative code when the files cannot be
 * read at all (SL_EIO, SL_ENOMEM). */
int sl_storage_check_log(const char *data_dir, const char *stream_key, const char *shard_key,
                         sl_storage_check_say say, void *arg, sl_storage_log_check_t *out);

/* Calls fn for every shard log directory under <data_dir>/streams (stream key, shard key), in name
 * order, without opening an engine; entries whose names are not valid keys are reported through
 * `say` as problems and skipped. */
int sl_storage_check_list(const char *data_dir,
                          void (*fn)(void *arg, const char *stream_key, const char *shard_key),
                          sl_storage_check_say say, void *arg);

/* What verifying the commit journal found. */
typedef struct {
    bool exists;
    bool header_ok;
    uint64_t capacity;
    uint64_t checkpoint_lsn;
    uint64_t entries; /* valid entries after the checkpoint: a start replays them */
    uint64_t frames;
} sl_storage_journal_check_t;

/* Verifies <data_dir>/journal/journal.jnl. 0 and *out, or a negative code. */
int sl_storage_check_journal(const char *data_dir, sl_storage_check_say say, void *arg,
                             sl_storage_journal_check_t *out);

#endif
