/* File I/O operations table: every file call of the storage engine goes through it so that tests
 * can inject short writes, ENOSPC, EIO and crashes at any write (STYLE.md, storage; the injecting
 * table is tests/support/fault_ops.h). A table may leave members NULL: the engine uses the real
 * POSIX call for those. Included only by the file engine (through storage/internal.h) and tests:
 * backend.h names the table's type without it. */
#ifndef SL_STORAGE_FILEOPS_H
#define SL_STORAGE_FILEOPS_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef struct sl_file_ops {
    int (*open)(const char *path, int flags, mode_t mode);
    int (*close)(int fd);
    ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t off);
    ssize_t (*pread)(int fd, void *buf, size_t len, off_t off);
    int (*fdatasync)(int fd);
    /* Flushes the whole file system holding fd (syncfs(2)); the fault-injection table counts it
     * as a sync of every tracked file. */
    int (*syncfs)(int fd);
    int (*fsync)(int fd);
    int (*ftruncate)(int fd, off_t len);
    int (*unlink)(const char *path);
    int (*rename)(const char *from, const char *to);
    int (*mkdir)(const char *path, mode_t mode);
    /* Added by the storage engine: file sizes at recovery, and stream deletion. */
    int (*fstat)(int fd, struct stat *st);
    int (*rmdir)(const char *path);
    /* Starts or waits for write-back (sync_file_range(2)); never a durability step. */
    int (*sync_file_range)(int fd, off_t off, off_t len, unsigned int flags);
} sl_file_ops_t;

/* The real POSIX calls. */
extern const sl_file_ops_t sl_file_ops_posix;

#endif
