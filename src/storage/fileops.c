/* The real POSIX file operations (see fileops.h). The fault-injecting table the storage tests
 * use lives in tests/support/fault_ops.c. */
#include "storage/fileops.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int posix_open(const char *path, int flags, mode_t mode) {
    return open(path, flags | O_CLOEXEC, mode);
}

const sl_file_ops_t sl_file_ops_posix = {
    .open = posix_open,
    .close = close,
    .pwrite = pwrite,
    .pread = pread,
    .fdatasync = fdatasync,
    .syncfs = syncfs,
    .fsync = fsync,
    .ftruncate = ftruncate,
    .unlink = unlink,
    .rename = rename,
    .mkdir = mkdir,
    .fstat = fstat,
    .rmdir = rmdir,
    .sync_file_range = sync_file_range,
};
