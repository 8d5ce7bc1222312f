/* File I/O operations table: every file call of the storage engine goes through it so that tests
 * can inject short writes, ENOSPC, EIO and crashes at any write (STYLE.md, storage). */
#ifndef SL_STORAGE_FILEOPS_H
#define SL_STORAGE_FILEOPS_H

#include <sys/types.h>

typedef struct sl_file_ops {
    int (*open)(const char *path, int flags, mode_t mode);
    int (*close)(int fd);
    ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t off);
    ssize_t (*pread)(int fd, void *buf, size_t len, off_t off);
    int (*fdatasync)(int fd);
    int (*fsync)(int fd);
    int (*ftruncate)(int fd, off_t len);
    int (*unlink)(const char *path);
    int (*rename)(const char *from, const char *to);
    int (*mkdir)(const char *path, mode_t mode);
} sl_file_ops_t;

/* The real POSIX calls. */
extern const sl_file_ops_t sl_file_ops_posix;

#endif
