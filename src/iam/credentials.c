/* The credentials file (see credentials.h): an INI parser and a table re-read on change. */
#include "iam/credentials.h"

#include "core/common.h"
#include "core/log.h"
#include "core/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct sl_iam_creds {
    char *path;                     /* owned */
    char *default_account;          /* owned */
    pthread_rwlock_t lock;          /* guards principals and count */
    sl_iam_principal_t *principals; /* owned; count entries */
    size_t count;
    /* what the file looked like when last read (guarded by lock for writes) */
    struct timespec mtime;
    off_t size;
    ino_t ino;
    int64_t checked_ms; /* atomic: last time a lookup compared the file */
};

/* ---- parsing ---- */

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

/* Trims [*s, *e) of spaces. */
static void trim(const char **s, const char **e) {
    while (*s < *e && is_space(**s))
        (*s)++;
    while (*e > *s && is_space((*e)[-1]))
        (*e)--;
}

static bool eq(const char *s, size_t n, const char *lit) {
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static bool set_str(char *dst, size_t cap, const char *s, size_t n) {
    if (n >= cap) return false;
    memcpy(dst, s, n);
    dst[n] = 0;
    return true;
}

static bool is_account(const char *s) {
    return strlen(s) == 12 && strspn(s, "0123456789") == 12;
}

/* "2026-12-31T00:00:00Z" (the form the AWS tools write); fractions and offsets are refused. */
static bool parse_iso(const char *s, size_t n, int64_t *out) {
    char buf[32];
    if (n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    struct tm tm = {0};
    const char *end = strptime(buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end) return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

/* Checks the section just finished (p) and fills its defaults. */
static const char *finish(sl_iam_principal_t *p, const char *default_account) {
    if (!p->access_key_id[0]) return "a section has no aws_access_key_id";
    if (!p->secret[0]) return "a section has no aws_secret_access_key";
    if (!p->account_id[0]) snprintf(p->account_id, sizeof p->account_id, "%s", default_account);
    return NULL;
}

int sl_iam_creds_parse(const char *text, size_t len, const char *default_account,
                       sl_iam_principal_t *out, size_t cap, size_t *count, const char **reason,
                       int *err_line) {
    *count = 0;
    *reason = NULL;
    *err_line = 0;
    sl_iam_principal_t *cur = NULL;
    const char *p = text, *end = text + len;
    int line = 0, section_line = 0;
    while (p < end) {
        line++;
        const char *ls = p;
        while (p < end && *p != '\n')
            p++;
        const char *le = p;
        if (p < end) p++;
        trim(&ls, &le);
        if (ls == le || *ls == '#' || *ls == ';') continue;
        if (memchr(ls, 0, (size_t)(le - ls))) {
            *reason = "the line holds a NUL byte";
            goto fail;
        }
        if (*ls == '[') {
            if (le[-1] != ']') {
                *reason = "a section header does not end with ']'";
                goto fail;
            }
            if (cur && (*reason = finish(cur, default_account)) != NULL) {
                line = section_line;
                goto fail;
            }
            if (*count >= cap) {
                *reason = "too many principals (SL_AUTH_FILE_PRINCIPALS_MAX)";
                goto fail;
            }
            cur = &out[(*count)++];
            memset(cur, 0, sizeof *cur);
            const char *ns = ls + 1, *ne = le - 1;
            trim(&ns, &ne);
            if (ns == ne ||
                !set_str(cur->user_name, sizeof cur->user_name, ns, (size_t)(ne - ns))) {
                *reason = "a section name is empty or too long";
                goto fail;
            }
            section_line = line;
            continue;
        }
        const char *eqs = memchr(ls, '=', (size_t)(le - ls));
        if (!eqs) {
            *reason = "a line is neither a [section] nor key = value";
            goto fail;
        }
        if (!cur) {
            *reason = "a key = value line comes before the first [section]";
            goto fail;
        }
        const char *ks = ls, *ke = eqs, *vs = eqs + 1, *ve = le;
        trim(&ks, &ke);
        trim(&vs, &ve);
        size_t kn = (size_t)(ke - ks), vn = (size_t)(ve - vs);
        bool ok = true;
        if (eq(ks, kn, "aws_access_key_id")) {
            ok = vn > 0 && set_str(cur->access_key_id, sizeof cur->access_key_id, vs, vn);
            if (!ok) *reason = "aws_access_key_id is empty or longer than 128 characters";
        } else if (eq(ks, kn, "aws_secret_access_key")) {
            ok = vn > 0 && set_str(cur->secret, sizeof cur->secret, vs, vn);
            if (!ok) *reason = "aws_secret_access_key is empty or longer than 128 characters";
        } else if (eq(ks, kn, "aws_session_token")) {
            ok = set_str(cur->session_token, sizeof cur->session_token, vs, vn);
            if (!ok) *reason = "aws_session_token is too long";
        } else if (eq(ks, kn, "account_id")) {
            ok = set_str(cur->account_id, sizeof cur->account_id, vs, vn) &&
                 is_account(cur->account_id);
            if (!ok) *reason = "account_id must be 12 digits";
        } else if (eq(ks, kn, "admin")) {
            if (eq(vs, vn, "true"))
                cur->admin = true;
            else if (eq(vs, vn, "false"))
                cur->admin = false;
            else
                ok = false, *reason = "admin must be true or false";
        } else if (eq(ks, kn, "expiration")) {
            ok = parse_iso(vs, vn, &cur->expiration_s);
            if (!ok) *reason = "expiration must be a time like 2026-12-31T00:00:00Z";
        }
        if (!ok) goto fail;
    }
    if (cur && (*reason = finish(cur, default_account)) != NULL) {
        line = section_line;
        goto fail;
    }
    for (size_t i = 0; i < *count; i++)
        for (size_t j = i + 1; j < *count; j++)
            if (strcmp(out[i].access_key_id, out[j].access_key_id) == 0) {
                *reason = "two sections have the same aws_access_key_id";
                line = 0;
                goto fail;
            }
    return 0;
fail:
    *err_line = line;
    return SL_EINVAL;
}

/* ---- the table ---- */

/* Reads and parses the file into a new table; 0, SL_EIO or SL_EINVAL (logged). */
static int load(const char *path, const char *default_account, sl_iam_principal_t **out,
                size_t *count, struct stat *st) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        SL_ERROR("credentials file %s: %s", path, strerror(errno));
        return SL_EIO;
    }
    int rc = 0;
    char *text = NULL;
    sl_iam_principal_t *ps = NULL;
    size_t cap = 0;
    if (fstat(fileno(f), st) != 0 || st->st_size > (off_t)SL_AUTH_FILE_BYTES_MAX) {
        SL_ERROR("credentials file %s: cannot be read or is larger than %u bytes", path,
                 SL_AUTH_FILE_BYTES_MAX);
        rc = SL_EIO;
        goto out;
    }
    text = malloc((size_t)st->st_size + 1);
    if (!text) {
        rc = SL_ENOMEM;
        goto out;
    }
    size_t n = fread(text, 1, (size_t)st->st_size, f);
    /* Every section starts with '[': their count bounds the table. */
    cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += text[i] == '[';
    if (cap > SL_AUTH_FILE_PRINCIPALS_MAX) cap = SL_AUTH_FILE_PRINCIPALS_MAX;
    ps = calloc(cap, sizeof *ps);
    if (!ps) {
        rc = SL_ENOMEM;
        goto out;
    }
    const char *reason;
    int line;
    rc = sl_iam_creds_parse(text, n, default_account, ps, cap, count, &reason, &line);
    if (rc) {
        if (line)
            SL_ERROR("credentials file %s, line %d: %s", path, line, reason);
        else
            SL_ERROR("credentials file %s: %s", path, reason);
        goto out;
    }
    *out = ps;
    ps = NULL;
out:
    if (ps) {
        memset(ps, 0, cap * sizeof *ps);
        free(ps);
    }
    if (text) memset(text, 0, (size_t)st->st_size);
    free(text);
    fclose(f);
    return rc;
}

static void wipe_free(sl_iam_principal_t *ps, size_t n) {
    if (!ps) return;
    memset(ps, 0, n * sizeof *ps);
    free(ps);
}

int sl_iam_creds_open(const char *path, const char *default_account, sl_iam_creds_t **out) {
    sl_iam_creds_t *c = calloc(1, sizeof *c);
    if (!c) return SL_ENOMEM;
    c->path = strdup(path);
    c->default_account = strdup(default_account);
    if (!c->path || !c->default_account) {
        free(c->path);
        free(c->default_account);
        free(c);
        return SL_ENOMEM;
    }
    pthread_rwlock_init(&c->lock, NULL);
    struct stat st;
    int rc = load(path, default_account, &c->principals, &c->count, &st);
    if (rc) {
        sl_iam_creds_close(c);
        return rc;
    }
    c->mtime = st.st_mtim;
    c->size = st.st_size;
    c->ino = st.st_ino;
    c->checked_ms = sl_time_now_ms();
    SL_INFO("credentials file %s: %zu principal(s)", path, c->count);
    *out = c;
    return 0;
}

void sl_iam_creds_close(sl_iam_creds_t *c) {
    if (!c) return;
    wipe_free(c->principals, c->count);
    pthread_rwlock_destroy(&c->lock);
    free(c->path);
    free(c->default_account);
    free(c);
}

/* Re-reads the file when it changed since it was last read (at most every
 * SL_AUTH_FILE_CHECK_MS). */
static void maybe_reload(sl_iam_creds_t *c) {
    int64_t now = sl_time_now_ms();
    int64_t last = __atomic_load_n(&c->checked_ms, __ATOMIC_RELAXED);
    if (now - last < SL_AUTH_FILE_CHECK_MS) return;
    if (!__atomic_compare_exchange_n(&c->checked_ms, &last, now, false, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED))
        return; /* another thread checks */
    struct stat st;
    if (stat(c->path, &st) != 0) return; /* keep the last good table; a rename may be under way */
    pthread_rwlock_rdlock(&c->lock);
    bool same = st.st_mtim.tv_sec == c->mtime.tv_sec && st.st_mtim.tv_nsec == c->mtime.tv_nsec &&
                st.st_size == c->size && st.st_ino == c->ino;
    pthread_rwlock_unlock(&c->lock);
    if (same) return;
    sl_iam_principal_t *ps = NULL;
    size_t count = 0;
    struct stat lst;
    int rc = load(c->path, c->default_account, &ps, &count, &lst);
    pthread_rwlock_wrlock(&c->lock);
    /* Remember the file even when it does not parse, so the error is logged once per change. */
    c->mtime = rc == 0 ? lst.st_mtim : st.st_mtim;
    c->size = rc == 0 ? lst.st_size : st.st_size;
    c->ino = rc == 0 ? lst.st_ino : st.st_ino;
    sl_iam_principal_t *old = NULL;
    size_t old_count = 0;
    if (rc == 0) {
        old = c->principals;
        old_count = c->count;
        c->principals = ps;
        c->count = count;
    }
    pthread_rwlock_unlock(&c->lock);
    wipe_free(old, old_count);
    if (rc == 0)
        SL_INFO("credentials file %s re-read: %zu principal(s)", c->path, count);
    else
        SL_WARN("credentials file %s changed but is kept as it was (see the error above)", c->path);
}

bool sl_iam_creds_names_account(sl_iam_creds_t *c, const char *account_id) {
    maybe_reload(c);
    bool found = false;
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < c->count && !found; i++)
        found = strcmp(c->principals[i].account_id, account_id) == 0;
    pthread_rwlock_unlock(&c->lock);
    return found;
}

int sl_iam_creds_lookup(sl_iam_creds_t *c, const char *access_key_id, sl_iam_principal_t *out) {
    maybe_reload(c);
    int rc = SL_ENOTFOUND;
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < c->count; i++)
        if (strcmp(c->principals[i].access_key_id, access_key_id) == 0) {
            *out = c->principals[i];
            rc = 0;
            break;
        }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}
