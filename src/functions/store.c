/* Durable state of the functions core: each function's directory under <account>/functions/<name>/
 * holds config.json (written atomically: temporary file, fsync, rename, fsync of the directory),
 * code/ (the unzipped deployment package, replaced whole on UpdateFunctionCode), queue/ (one file
 * per queued Event invocation) and logs/ (function.log, rotated once to function.log.1). Runs on
 * the supervisor thread (or at account open, before the account serves). */
#include "functions/internal.h"

#include "core/log.h"
#include "core/time.h"
#include "wire/base64.h"
#include "wire/enc.h"
#include "wire/json.h"
#include "wire/sigv4.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

static int make_dir(const char *path) {
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        SL_ERROR("functions: cannot create %s: %s", path, strerror(errno));
        return errno == ENOSPC ? SL_ENOSPC : SL_EIO;
    }
    return 0;
}

static void sync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static void parent_of(const char *path, char *out, size_t cap) {
    snprintf(out, cap, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash && slash != out) *slash = 0;
}

int sl_fn_write_file(const char *path, const void *data, size_t len) {
    char tmp[SL_DATA_PATH_BYTES_MAX + 8], dir[SL_DATA_PATH_BYTES_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return errno == ENOSPC ? SL_ENOSPC : SL_EIO;
    const uint8_t *p = data;
    size_t left = len;
    int rc = 0;
    while (left && rc == 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            rc = errno == ENOSPC ? SL_ENOSPC : SL_EIO;
        else {
            p += n;
            left -= (size_t)n;
        }
    }
    if (rc == 0 && fsync(fd) != 0) rc = SL_EIO;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0) rc = SL_EIO;
    if (rc) {
        unlink(tmp);
        return rc;
    }
    parent_of(path, dir, sizeof dir);
    sync_dir(dir);
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_tree(const char *path) {
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- configuration ---- */

void sl_fn_config_copy(sl_fn_config_t *dst, const sl_fn_config_t *src) {
    *dst = *src;
    dst->env = NULL;
    if (src->env_len && (dst->env = malloc(src->env_len))) memcpy(dst->env, src->env, src->env_len);
    if (!dst->env) dst->env_len = 0;
}

void sl_fn_config_deinit(sl_fn_config_t *cfg) {
    free(cfg->env);
    cfg->env = NULL;
    cfg->env_len = 0;
}

int sl_fn_store_save(fn_t *f) {
    const sl_fn_config_t *c = &f->cfg;
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "FunctionName", c->name);
    sl_enc_kv_cstr(&e, "Runtime", c->runtime);
    sl_enc_kv_cstr(&e, "Handler", c->handler);
    sl_enc_kv_cstr(&e, "Role", c->role);
    sl_enc_kv_cstr(&e, "Description", c->description);
    sl_enc_kv_int(&e, "Timeout", c->timeout_s);
    sl_enc_kv_int(&e, "MemorySize", c->memory_mb);
    sl_enc_kv_int(&e, "ReservedConcurrency", c->reserved_concurrency);
    sl_enc_kv_cstr(&e, "CodeSha256", c->code_sha256);
    sl_enc_kv_int(&e, "CodeSize", c->code_size);
    sl_enc_kv_cstr(&e, "CodePath", c->code_path);
    sl_enc_kv_int(&e, "LastModified", c->last_modified_ms);
    sl_enc_kv_cstr(&e, "RevisionId", c->revision_id);
    sl_enc_key(&e, "Environment");
    sl_enc_map_begin(&e);
    for (size_t i = 0; i < c->env_len;) {
        const char *k = c->env + i, *v = k + strlen(k) + 1;
        sl_enc_kv_cstr(&e, k, v);
        i = (size_t)(v + strlen(v) + 1 - c->env);
    }
    sl_enc_map_end(&e);
    sl_enc_map_end(&e);
    if (sl_buf_failed(&b)) {
        sl_buf_free(&b);
        return SL_ENOMEM;
    }
    char path[SL_DATA_PATH_BYTES_MAX + 16];
    snprintf(path, sizeof path, "%s/config.json", f->dir);
    int rc = sl_fn_write_file(path, b.data, b.len);
    sl_buf_free(&b);
    if (rc) SL_ERROR("functions: cannot write %s: %s", path, sl_strerror(rc));
    return rc;
}

static void copy_str(char *dst, size_t cap, const sl_val_t *map, const char *key) {
    size_t len = 0;
    const char *s = sl_val_get_str(map, key, &len);
    snprintf(dst, cap, "%.*s", s ? (int)len : 0, s ? s : "");
}

/* Reads <dir>/config.json into f->cfg. */
static int load_config(fn_t *f, const sl_fn_account_t *a) {
    char path[SL_DATA_PATH_BYTES_MAX + 16];
    snprintf(path, sizeof path, "%s/config.json", f->dir);
    FILE *fp = fopen(path, "rb");
    if (!fp) return SL_ENOTFOUND;
    sl_buf_t b = SL_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        sl_buf_append(&b, chunk, n);
    fclose(fp);
    sl_buf_append_byte(&b, 0);
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_val_t *doc = NULL;
    const char *reason = NULL;
    int rc = sl_buf_failed(&b) ? SL_ENOMEM : 0;
    if (rc == 0 && (sl_json_parse(b.data, b.len - 1, &arena, &doc, &reason) != 0 || !doc ||
                    doc->type != SL_VAL_MAP))
        rc = SL_ECORRUPT;
    if (rc == 0) {
        sl_fn_config_t *c = &f->cfg;
        int64_t v;
        copy_str(c->name, sizeof c->name, doc, "FunctionName");
        copy_str(c->runtime, sizeof c->runtime, doc, "Runtime");
        copy_str(c->handler, sizeof c->handler, doc, "Handler");
        copy_str(c->role, sizeof c->role, doc, "Role");
        copy_str(c->description, sizeof c->description, doc, "Description");
        copy_str(c->code_sha256, sizeof c->code_sha256, doc, "CodeSha256");
        copy_str(c->code_path, sizeof c->code_path, doc, "CodePath");
        copy_str(c->revision_id, sizeof c->revision_id, doc, "RevisionId");
        c->timeout_s = sl_val_get_int(doc, "Timeout", &v) ? (int)v : 3;
        c->memory_mb = sl_val_get_int(doc, "MemorySize", &v) ? (int)v : 128;
        c->reserved_concurrency = sl_val_get_int(doc, "ReservedConcurrency", &v) ? (int)v : -1;
        c->code_size = sl_val_get_int(doc, "CodeSize", &v) ? v : 0;
        c->last_modified_ms = sl_val_get_int(doc, "LastModified", &v) ? v : 0;
        snprintf(c->arn, sizeof c->arn, "arn:aws:lambda:%s:%s:function:%s", a->fns->region, a->id,
                 c->name);
        c->state = "Active";
        c->last_update = "Successful";
        const sl_val_t *env = sl_val_get(doc, "Environment");
        sl_buf_t eb = SL_BUF_INIT;
        for (size_t i = 0; env && env->type == SL_VAL_MAP && i < env->u.map.count; i++) {
            const sl_kv_t *kv = &env->u.map.items[i];
            if (kv->val->type != SL_VAL_STRING) continue;
            sl_buf_append(&eb, kv->key, kv->key_len);
            sl_buf_append_byte(&eb, 0);
            sl_buf_append(&eb, kv->val->u.str.ptr, kv->val->u.str.len);
            sl_buf_append_byte(&eb, 0);
        }
        if (sl_buf_failed(&eb)) rc = SL_ENOMEM;
        c->env = eb.len ? sl_buf_detach(&eb, &c->env_len) : NULL;
        sl_buf_free(&eb);
        if (!c->name[0]) rc = SL_ECORRUPT;
    }
    sl_arena_deinit(&arena);
    sl_buf_free(&b);
    return rc;
}

/* Reads queue/<seq>.evt and queue/<seq>-<attempts>.evt files back: failed attempts count on, the
 * next one after the retry delay from now (when the last one failed is not kept). */
static void load_queue(fn_t *f) {
    char qdir[SL_DATA_PATH_BYTES_MAX + 8];
    snprintf(qdir, sizeof qdir, "%s/queue", f->dir);
    DIR *d = opendir(qdir);
    if (!d) return;
    struct dirent *e;
    queued_t **tail = &f->queue;
    while ((e = readdir(d)) != NULL) {
        char *end;
        unsigned long long seq = strtoull(e->d_name, &end, 10);
        long attempts = 0;
        if (end != e->d_name && *end == '-') {
            char *num = end + 1;
            attempts = strtol(num, &end, 10);
            if (end == num || attempts < 0 || attempts > 1000) continue;
        }
        if (end == e->d_name || strcmp(end, ".evt") != 0) continue;
        char path[SL_DATA_PATH_BYTES_MAX + 40];
        if (snprintf(path, sizeof path, "%s/%s", qdir, e->d_name) >= (int)sizeof path) continue;
        FILE *fp = fopen(path, "rb");
        if (!fp) continue;
        sl_buf_t b = SL_BUF_INIT;
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
            sl_buf_append(&b, chunk, n);
        fclose(fp);
        queued_t *q = calloc(1, sizeof *q);
        if (!q || sl_buf_failed(&b)) {
            free(q);
            sl_buf_free(&b);
            continue;
        }
        q->seq = seq;
        q->attempts = (int)attempts;
        if (attempts)
            q->due_ms = sl_time_mono_ms() + f->account->fns->cfg.retry_delay_ms * attempts;
        q->payload = (uint8_t *)sl_buf_detach(&b, &q->payload_len);
        *tail = q;
        tail = &q->next;
        f->queue_count++;
        if (seq >= f->queue_seq) f->queue_seq = seq + 1;
    }
    closedir(d);
    /* FIFO by sequence: a simple insertion sort (queues are short after a restart) */
    queued_t *sorted = NULL;
    for (queued_t *q = f->queue, *next; q; q = next) {
        next = q->next;
        queued_t **pp = &sorted;
        while (*pp && (*pp)->seq < q->seq)
            pp = &(*pp)->next;
        q->next = *pp;
        *pp = q;
    }
    f->queue = sorted;
}

int sl_fn_store_load(sl_fn_account_t *a) {
    DIR *d = opendir(a->dir);
    if (!d) return errno == ENOENT ? 0 : SL_EIO;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        fn_t *f = calloc(1, sizeof *f);
        if (!f) {
            rc = SL_ENOMEM;
            break;
        }
        f->account = a;
        f->log_fd = -1;
        int lrc = snprintf(f->dir, sizeof f->dir, "%s/%s", a->dir, e->d_name) >= (int)sizeof f->dir
                      ? SL_EINVAL
                      : load_config(f, a);
        if (lrc) {
            if (lrc != SL_ENOTFOUND)
                SL_WARN("functions: %s/config.json is unreadable (%s); the function is not served",
                        f->dir, sl_strerror(lrc));
            sl_fn_config_deinit(&f->cfg);
            free(f);
            continue;
        }
        load_queue(f);
        f->next = a->functions;
        a->functions = f;
        a->function_count++;
    }
    closedir(d);
    return rc;
}

void sl_fn_store_code_dir(const fn_t *f, char *out, size_t cap) {
    if (f->cfg.code_path[0])
        snprintf(out, cap, "%s", f->cfg.code_path);
    else
        snprintf(out, cap, "%s/code", f->dir);
}

/* ---- deployment packages ---- */

/* A zip entry name that stays inside the code directory. */
static bool safe_name(const char *name) {
    if (!name[0] || name[0] == '/') return false;
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/");
        if ((n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.')) return false;
        p += n;
        if (*p == '/') p++;
    }
    return true;
}

static int mkdirs(const char *root, const char *rel, bool last_too) {
    char path[SL_DATA_PATH_BYTES_MAX * 2];
    int n = snprintf(path, sizeof path, "%s/%s", root, rel);
    if (n < 0 || (size_t)n >= sizeof path) return SL_EINVAL;
    size_t start = strlen(root) + 1;
    for (size_t i = start; path[i]; i++) {
        if (path[i] != '/') continue;
        path[i] = 0;
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return SL_EIO;
        path[i] = '/';
    }
    if (last_too && mkdir(path, 0755) != 0 && errno != EEXIST) return SL_EIO;
    return 0;
}

static int unzip_into(const uint8_t *zipdata, size_t len, const char *dir, char *err,
                      size_t err_cap) {
    static const char bad[] =
        "Could not unzip uploaded file. Please check your file, then try to upload again.";
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(zipdata, len, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
    zip_error_fini(&ze);
    if (!za) {
        if (src) zip_source_free(src);
        snprintf(err, err_cap, "%s", bad);
        return SL_EINVAL;
    }
    int rc = 0;
    zip_int64_t count = zip_get_num_entries(za, 0);
    uint64_t total = 0;
    if (count < 0 || count > SL_FN_ZIP_ENTRIES_MAX) {
        snprintf(err, err_cap, "%s", bad);
        rc = SL_EINVAL;
    }
    for (zip_int64_t i = 0; rc == 0 && i < count; i++) {
        zip_stat_t st;
        if (zip_stat_index(za, (zip_uint64_t)i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) ||
            !safe_name(st.name)) {
            snprintf(err, err_cap, "%s", bad);
            rc = SL_EINVAL;
            break;
        }
        size_t nlen = strlen(st.name);
        if (st.name[nlen - 1] == '/') {
            rc = mkdirs(dir, st.name, true);
            continue;
        }
        zip_uint8_t opsys;
        zip_uint32_t attr;
        mode_t mode = 0755;
        if (zip_file_get_external_attributes(za, (zip_uint64_t)i, 0, &opsys, &attr) == 0 &&
            opsys == ZIP_OPSYS_UNIX && (attr >> 16) != 0) {
            mode_t m = (mode_t)(attr >> 16);
            if (S_ISLNK(m)) continue; /* links could point outside: not unpacked */
            mode = (m & 0755) | 0400;
        }
        if ((rc = mkdirs(dir, st.name, false)) != 0) break;
        char path[SL_DATA_PATH_BYTES_MAX * 2];
        snprintf(path, sizeof path, "%s/%s", dir, st.name);
        zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)i, 0);
        int fd = zf ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) : -1;
        if (!zf || fd < 0) {
            if (zf) zip_fclose(zf);
            snprintf(err, err_cap, "%s", bad);
            rc = zf ? SL_EIO : SL_EINVAL;
            break;
        }
        char buf[65536];
        zip_int64_t got;
        while (rc == 0 && (got = zip_fread(zf, buf, sizeof buf)) > 0) {
            total += (uint64_t)got;
            if (total > SL_FN_UNZIPPED_BYTES_MAX) {
                snprintf(err, err_cap, "Unzipped size must be smaller than %u bytes",
                         (unsigned)SL_FN_UNZIPPED_BYTES_MAX);
                rc = SL_EINVAL;
                break;
            }
            if (write(fd, buf, (size_t)got) != got) rc = SL_EIO;
        }
        if (rc == 0 && got < 0) {
            snprintf(err, err_cap, "%s", bad);
            rc = SL_EINVAL;
        }
        close(fd);
        zip_fclose(zf);
        chmod(path, mode); /* the mode given at creation, whatever the umask */
    }
    zip_close(za);
    return rc;
}

static int read_whole(const char *path, sl_buf_t *b) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return SL_ENOTFOUND;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        sl_buf_append(b, chunk, n);
    fclose(fp);
    return sl_buf_failed(b) ? SL_ENOMEM : 0;
}

static void sha256_b64(const void *data, size_t len, char out[48]) {
    char hex[65];
    uint8_t raw[32];
    sl_sigv4_sha256_hex(data, len, hex);
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        raw[i] = (uint8_t)v;
    }
    sl_base64_encode(raw, 32, out);
    out[sl_base64_encoded_len(32)] = 0;
}

int sl_fn_store_unpack(fn_t *f, const uint8_t *zipdata, size_t len, const char *local_path,
                       char *err, size_t err_cap) {
    int rc = make_dir(f->dir);
    if (rc) return rc;
    char parent[SL_DATA_PATH_BYTES_MAX], grandparent[SL_DATA_PATH_BYTES_MAX];
    parent_of(f->dir, parent, sizeof parent); /* <account>/functions: a new entry in it */
    parent_of(parent, grandparent, sizeof grandparent);
    sync_dir(parent);
    sync_dir(grandparent);
    sl_buf_t local = SL_BUF_INIT;
    if (local_path) {
        struct stat st;
        if (stat(local_path, &st) != 0 || local_path[0] != '/') {
            snprintf(err, err_cap, "The local code path %s does not exist on the server.",
                     local_path);
            return SL_EINVAL;
        }
        if (S_ISDIR(st.st_mode)) {
            /* a directory is used in place (docs/functions.md, "Local code") */
            snprintf(f->cfg.code_path, sizeof f->cfg.code_path, "%s", local_path);
            sha256_b64(local_path, strlen(local_path), f->cfg.code_sha256);
            f->cfg.code_size = 0;
            char code[SL_DATA_PATH_BYTES_MAX + 8];
            snprintf(code, sizeof code, "%s/code", f->dir);
            rm_tree(code);
            return 0;
        }
        if ((rc = read_whole(local_path, &local)) != 0) {
            sl_buf_free(&local);
            snprintf(err, err_cap, "The local code path %s cannot be read.", local_path);
            return SL_EINVAL;
        }
        zipdata = (const uint8_t *)local.data;
        len = local.len;
    }
    char fresh[SL_DATA_PATH_BYTES_MAX + 16], code[SL_DATA_PATH_BYTES_MAX + 8],
        old[SL_DATA_PATH_BYTES_MAX + 16];
    snprintf(fresh, sizeof fresh, "%s/code.new", f->dir);
    snprintf(code, sizeof code, "%s/code", f->dir);
    snprintf(old, sizeof old, "%s/code.old", f->dir);
    rm_tree(fresh);
    rc = make_dir(fresh);
    if (rc == 0) rc = unzip_into(zipdata, len, fresh, err, err_cap);
    if (rc == 0) {
        rm_tree(old);
        if (rename(code, old) != 0 && errno != ENOENT) rc = SL_EIO;
        if (rc == 0 && rename(fresh, code) != 0) rc = SL_EIO;
        rm_tree(old);
        sync_dir(f->dir);
    }
    if (rc) {
        rm_tree(fresh);
    } else {
        f->cfg.code_path[0] = 0;
        sha256_b64(zipdata, len, f->cfg.code_sha256);
        f->cfg.code_size = (int64_t)len;
    }
    sl_buf_free(&local);
    return rc;
}

int sl_fn_store_remove(fn_t *f) {
    rm_tree(f->dir);
    char parent[SL_DATA_PATH_BYTES_MAX];
    parent_of(f->dir, parent, sizeof parent);
    sync_dir(parent);
    return 0;
}

/* ---- the Event queue ---- */

int sl_fn_queue_save(fn_t *f, queued_t *q) {
    char qdir[SL_DATA_PATH_BYTES_MAX + 8], path[SL_DATA_PATH_BYTES_MAX + 40];
    snprintf(qdir, sizeof qdir, "%s/queue", f->dir);
    int rc = make_dir(qdir);
    if (rc) return rc;
    snprintf(path, sizeof path, "%s/%020llu.evt", qdir, (unsigned long long)q->seq);
    return sl_fn_write_file(path, q->payload, q->payload_len);
}

#define QUEUE_PATH_BYTES (SL_DATA_PATH_BYTES_MAX + 48)

static void queue_path(const fn_t *f, uint64_t seq, int attempts, char path[QUEUE_PATH_BYTES]) {
    char tail[40];
    if (attempts)
        snprintf(tail, sizeof tail, "%020llu-%d.evt", (unsigned long long)seq, attempts);
    else
        snprintf(tail, sizeof tail, "%020llu.evt", (unsigned long long)seq);
    snprintf(path, QUEUE_PATH_BYTES, "%s/queue/%s", f->dir, tail);
}

void sl_fn_queue_remove(fn_t *f, const queued_t *q) {
    char path[QUEUE_PATH_BYTES];
    queue_path(f, q->seq, q->attempts, path);
    if (unlink(path) != 0 && q->attempts) {
        /* the attempt that just ended was not recorded in the name */
        queue_path(f, q->seq, q->attempts - 1, path);
        unlink(path);
    }
}

void sl_fn_queue_mark(fn_t *f, const queued_t *q, int before) {
    char from[QUEUE_PATH_BYTES], to[QUEUE_PATH_BYTES];
    queue_path(f, q->seq, before, from);
    queue_path(f, q->seq, q->attempts, to);
    rename(from, to);
}

/* ---- logs ---- */

void sl_fn_log_write(fn_t *f, const char *text, size_t len) {
    char dir[SL_DATA_PATH_BYTES_MAX + 8], path[SL_DATA_PATH_BYTES_MAX + 24],
        old[SL_DATA_PATH_BYTES_MAX + 24];
    snprintf(dir, sizeof dir, "%s/logs", f->dir);
    snprintf(path, sizeof path, "%s/function.log", dir);
    if (f->log_fd >= 0 && f->log_bytes + (int64_t)len > SL_FN_LOG_FILE_BYTES_MAX) {
        close(f->log_fd);
        f->log_fd = -1;
        snprintf(old, sizeof old, "%s/function.log.1", dir);
        rename(path, old);
    }
    if (f->log_fd < 0) {
        if (make_dir(dir) != 0) return;
        f->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (f->log_fd < 0) return;
        struct stat st;
        f->log_bytes = fstat(f->log_fd, &st) == 0 ? st.st_size : 0;
    }
    ssize_t n = write(f->log_fd, text, len);
    if (n > 0) f->log_bytes += n;
}
