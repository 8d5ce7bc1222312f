/* Function processes as another user (--functions-user, docs/functions.md "Safety"). The data
 * directory stays the server's alone (0700): what a function process needs is staged outside it,
 * under a run root made at start in /tmp (mkdtemp, 0711, owned by the server's user):
 *
 *   <run root>/runtime/                the runtime-interface clients (0755, files 0644)
 *   <run root>/<account>-<name>-<rev>/ a copy of a function's code per code revision (read-only
 *                                      for the function's user: directories 0755, files 0644 or
 *                                      0755)
 *   <run root>/<account>-<name>.tmp/   the function's TMPDIR and HOME, owned by that user (0700)
 *
 * The process switches to the user in the child, between fork and execve. Everything here runs on
 * the supervisor thread. */
#include "functions/internal.h"

#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A name or a numeric uid. */
static int resolve_user(const char *user, uid_t *uid, gid_t *gid) {
    struct passwd pw, *found = NULL;
    char buf[4096];
    char *end;
    unsigned long n = strtoul(user, &end, 10);
    if (end != user && *end == 0)
        getpwuid_r((uid_t)n, &pw, buf, sizeof buf, &found);
    else
        getpwnam_r(user, &pw, buf, sizeof buf, &found);
    if (!found) return SL_EINVAL;
    *uid = found->pw_uid;
    *gid = found->pw_gid;
    return 0;
}

int sl_fn_sandbox_init(sl_functions_t *fns, const char *user) {
    if (resolve_user(user, &fns->run_uid, &fns->run_gid) != 0) {
        SL_ERROR("functions: --functions-user %s: no such user", user);
        return SL_EINVAL;
    }
    if (geteuid() != 0) {
        SL_ERROR("functions: --functions-user needs the server to run as root (each function "
                 "process switches to that user)");
        return SL_EINVAL;
    }
    /* /tmp, not $TMPDIR: the user must be able to reach it, and a private TMPDIR (0700) of the
     * server's would not let it */
    snprintf(fns->run_root, sizeof fns->run_root, "/tmp/sluice-functions-XXXXXX");
    if (!mkdtemp(fns->run_root) || chmod(fns->run_root, 0711) != 0) {
        SL_ERROR("functions: cannot create a run directory in /tmp: %s", strerror(errno));
        fns->run_root[0] = 0;
        return SL_EIO;
    }
    fns->sandboxed = true;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path) {
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void sl_fn_sandbox_cleanup(sl_functions_t *fns) {
    if (fns->run_root[0]) remove_tree(fns->run_root);
    fns->run_root[0] = 0;
}

static int copy_file(int from_dir, int to_dir, const char *name, mode_t mode) {
    int in = openat(from_dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) return SL_EIO;
    int out = openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) {
        close(in);
        return errno == ENOSPC ? SL_ENOSPC : SL_EIO;
    }
    char buf[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) rc = SL_EIO;
        if (n <= 0) break;
        for (ssize_t off = 0; off < n && rc == 0;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0)
                rc = errno == ENOSPC ? SL_ENOSPC : SL_EIO;
            else
                off += w;
        }
        if (rc) break;
    }
    close(in);
    if (fchmod(out, mode) != 0 && rc == 0) rc = SL_EIO; /* the umask does not apply */
    close(out);
    return rc;
}

/* Copies the tree under from_dir into to_dir (both open): directories 0755, files 0755 when any
 * execute bit is set else 0644, symbolic links as links. */
static int copy_tree(int from_dir, int to_dir, int depth) {
    if (depth > 64) return SL_EINVAL;
    int scan = dup(from_dir);
    DIR *d = scan >= 0 ? fdopendir(scan) : NULL;
    if (!d) {
        if (scan >= 0) close(scan);
        return SL_EIO;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        struct stat st;
        if (fstatat(from_dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = SL_EIO;
        } else if (S_ISDIR(st.st_mode)) {
            if (mkdirat(to_dir, e->d_name, 0755) != 0 || fchmodat(to_dir, e->d_name, 0755, 0))
                rc = SL_EIO;
            int sub_from = openat(from_dir, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            int sub_to = openat(to_dir, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (rc == 0 && (sub_from < 0 || sub_to < 0)) rc = SL_EIO;
            if (rc == 0) rc = copy_tree(sub_from, sub_to, depth + 1);
            if (sub_from >= 0) close(sub_from);
            if (sub_to >= 0) close(sub_to);
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlinkat(from_dir, e->d_name, target, sizeof target - 1);
            if (n < 0) {
                rc = SL_EIO;
            } else {
                target[n] = 0;
                if (symlinkat(target, to_dir, e->d_name) != 0) rc = SL_EIO;
            }
        } else if (S_ISREG(st.st_mode)) {
            rc = copy_file(from_dir, to_dir, e->d_name, st.st_mode & 0111 ? 0755 : 0644);
        }
    }
    closedir(d);
    return rc;
}

static int stage_code(const char *code, const char *staged) {
    char tmp[SL_DATA_PATH_BYTES_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.new", staged);
    remove_tree(tmp);
    if (mkdir(tmp, 0755) != 0 || chmod(tmp, 0755) != 0) return SL_EIO;
    int from = open(code, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int to = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = from < 0 || to < 0 ? SL_EIO : copy_tree(from, to, 0);
    if (from >= 0) close(from);
    if (to >= 0) close(to);
    if (rc == 0 && rename(tmp, staged) != 0) rc = SL_EIO;
    if (rc) remove_tree(tmp);
    return rc;
}

/* Removes the staged copies of f's older code revisions. */
static void drop_old_revisions(const sl_functions_t *fns, const fn_t *f, const char *prefix) {
    DIR *d = opendir(fns->run_root);
    if (!d) return;
    size_t plen = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, plen) != 0) continue;
        char *end;
        unsigned long long rev = strtoull(e->d_name + plen, &end, 10);
        if (end == e->d_name + plen || *end || rev >= f->code_rev) continue;
        char path[SL_DATA_PATH_BYTES_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", fns->run_root, e->d_name);
        remove_tree(path);
    }
    closedir(d);
}

int sl_fn_sandbox_stage(sl_functions_t *fns, fn_t *f, const char *code, char *staged,
                        size_t staged_cap, char *tmp, size_t tmp_cap) {
    char prefix[SL_FN_NAME_BYTES_MAX + 32];
    snprintf(prefix, sizeof prefix, "%s-%s-", f->account->id, f->cfg.name);
    if ((size_t)snprintf(staged, staged_cap, "%s/%s%llu", fns->run_root, prefix,
                         (unsigned long long)f->code_rev) >= staged_cap ||
        (size_t)snprintf(tmp, tmp_cap, "%s/%s-%s.tmp", fns->run_root, f->account->id,
                         f->cfg.name) >= tmp_cap)
        return SL_EINVAL;
    struct stat st;
    if (stat(staged, &st) != 0) {
        drop_old_revisions(fns, f, prefix);
        int rc = stage_code(code, staged);
        if (rc) return rc;
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return SL_EIO;
    if (chown(tmp, fns->run_uid, fns->run_gid) != 0 || chmod(tmp, 0700) != 0) return SL_EIO;
    return 0;
}
