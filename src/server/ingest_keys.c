/* The ingest front's key table (see ingest_keys.h). Lines: `key stream-pattern records-per-second`
 * separated by blanks; `#` starts a comment; the pattern is a shell glob (fnmatch: `*`, `?`,
 * `[...]`); a rate of 0 means no limit. The bucket of each key holds at most one second of its
 * rate; a reload keeps the buckets of keys that remain. */
#include "server/ingest_keys.h"

#include "core/common.h"
#include "core/log.h"
#include "core/time.h"

#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char *key;
    char *pattern;
    double rate; /* records/s, 0 = unlimited */
    double tokens;
    int64_t refill_ms;
} ikey_t;

/* Owned by the composition root; every field under mu. */
struct sl_ingest_keys {
    pthread_mutex_t mu;
    char *path;
    ikey_t *keys;
    size_t count;
    struct timespec mtime;
    int64_t checked_ms;
};

static void free_keys(ikey_t *keys, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(keys[i].key);
        free(keys[i].pattern);
    }
    free(keys);
}

/* Reads the file into a new table. */
static int load(const char *path, ikey_t **out, size_t *count, struct timespec *mtime) {
    FILE *f = fopen(path, "r");
    if (!f) {
        SL_ERROR("cannot read ingest keys %s: %s", path, strerror(errno));
        return SL_EIO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0) *mtime = st.st_mtim;
    ikey_t *keys = NULL;
    size_t n = 0, cap = 0;
    char line[1024];
    int rc = 0, lineno = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *save = NULL;
        char *k = strtok_r(line, " \t\r\n", &save);
        if (!k) continue;
        char *pat = strtok_r(NULL, " \t\r\n", &save);
        char *rate = strtok_r(NULL, " \t\r\n", &save);
        char *extra = strtok_r(NULL, " \t\r\n", &save);
        char *end = NULL;
        double r = rate ? strtod(rate, &end) : -1;
        if (!pat || !rate || extra || *end || r < 0) {
            SL_ERROR("%s:%d: expected `key stream-pattern records-per-second`", path, lineno);
            rc = SL_EINVAL;
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            ikey_t *grown = realloc(keys, cap * sizeof *grown);
            if (!grown) {
                rc = SL_ENOMEM;
                break;
            }
            keys = grown;
        }
        keys[n] = (ikey_t){.key = strdup(k),
                           .pattern = strdup(pat),
                           .rate = r,
                           .tokens = r,
                           .refill_ms = sl_time_mono_ms()};
        n++;
        if (!keys[n - 1].key || !keys[n - 1].pattern) rc = SL_ENOMEM;
    }
    fclose(f);
    if (rc != 0) {
        free_keys(keys, n);
        return rc;
    }
    *out = keys;
    *count = n;
    return 0;
}

int sl_ingest_keys_open(const char *path, sl_ingest_keys_t **out) {
    sl_ingest_keys_t *t = calloc(1, sizeof *t);
    if (!t) return SL_ENOMEM;
    t->path = strdup(path);
    int rc = t->path ? load(path, &t->keys, &t->count, &t->mtime) : SL_ENOMEM;
    if (rc != 0) {
        free(t->path);
        free(t);
        return rc;
    }
    pthread_mutex_init(&t->mu, NULL);
    t->checked_ms = sl_time_mono_ms();
    SL_INFO("ingest front on: %zu API key(s) from %s", t->count, path);
    *out = t;
    return 0;
}

void sl_ingest_keys_close(sl_ingest_keys_t *t) {
    if (!t) return;
    free_keys(t->keys, t->count);
    free(t->path);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* Reloads when the file's mtime changed (under mu). */
static void maybe_reload(sl_ingest_keys_t *t, int64_t now) {
    if (now - t->checked_ms < 1000) return;
    t->checked_ms = now;
    struct stat st;
    if (stat(t->path, &st) != 0 ||
        (st.st_mtim.tv_sec == t->mtime.tv_sec && st.st_mtim.tv_nsec == t->mtime.tv_nsec))
        return;
    ikey_t *keys;
    size_t n;
    struct timespec mtime = st.st_mtim;
    if (load(t->path, &keys, &n, &mtime) != 0) {
        t->mtime = st.st_mtim; /* logged once; the previous keys stay */
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < t->count; j++)
            if (!strcmp(keys[i].key, t->keys[j].key)) {
                keys[i].tokens =
                    t->keys[j].tokens < keys[i].rate ? t->keys[j].tokens : keys[i].rate;
                keys[i].refill_ms = t->keys[j].refill_ms;
            }
    free_keys(t->keys, t->count);
    t->keys = keys;
    t->count = n;
    t->mtime = mtime;
    SL_INFO("ingest keys reloaded: %zu API key(s) from %s", n, t->path);
}

int sl_ingest_keys_check(void *ctx, const char *api_key, const char *stream, size_t records) {
    sl_ingest_keys_t *t = ctx;
    if (!api_key) return SL_ENOTFOUND;
    int64_t now = sl_time_mono_ms();
    pthread_mutex_lock(&t->mu);
    maybe_reload(t, now);
    int rc = SL_ENOTFOUND;
    for (size_t i = 0; i < t->count; i++) {
        ikey_t *k = &t->keys[i];
        if (strcmp(k->key, api_key) != 0) continue;
        if (fnmatch(k->pattern, stream, 0) != 0) break;
        rc = 0;
        if (k->rate > 0) {
            k->tokens += (double)(now - k->refill_ms) * k->rate / 1000.0;
            if (k->tokens > k->rate) k->tokens = k->rate;
            k->refill_ms = now;
            if (k->tokens < (double)records)
                rc = SL_EAGAIN;
            else
                k->tokens -= (double)records;
        }
        break;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}
