/* `sluice check` and `sluice repair` (see check.h; docs/operations.md explains the output).
 *
 * check reads, never writes: the catalog is verified through a read-only connection and compared
 * through a private copy (so an old schema is not migrated); segments, indexes and the journal are
 * verified by storage/verify.c. repair first copies every damaged file to
 * <data_dir>/damaged/<time>/ (it never deletes data), replaces a damaged catalog by its backup
 * (catalog.db.bak, kept by the server) or, without one, by a new catalog, adds the streams and
 * shards whose logs the catalog lacks (names from the storage keys "<stream id>-<stream name>",
 * hash ranges unknown: see add_missing), raises the sequence reservations above the logs' tips,
 * then opens the storage engine, whose recovery replays the journal, cuts torn tails and rebuilds
 * untrusted indexes. It ends with a second check. */
#include "server/check.h"

#include "catalog/catalog.h"
#include "core/common.h"
#include "core/log.h"
#include "core/time.h"
#include "kinesis/open.h"
#include "kinesis/names.h"
#include "server/config.h"
#include "storage/backend.h"
#include "storage/verify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_HASH_KEY "340282366920938463463374607431768211455"

typedef struct {
    int acct; /* index in check_t.accounts */
    int64_t stream_id;
    int32_t index;
    int64_t seq_reserved, seq_written;
    bool seen; /* a log on disk was matched to it */
} cat_shard_t;

typedef struct {
    int acct; /* index in check_t.accounts */
    int64_t id;
    char name[129];
    char key[220];       /* storage key "[<account>.]<id>-<name>" */
    sl_cat_stream_t row; /* the whole row; its strings are owned copies (stream_row_free) */
} cat_stream_t;

/* A damaged file found by a check, to be copied aside by repair. */
typedef struct {
    char rel[700]; /* streams/<stream key>/<shard key>/<file> */
} damaged_t;

/* An account: the default one (its catalog in the data directory, storage keys without a prefix)
 * or one under accounts/<12 digits>/ (storage keys prefixed "<account>."), see compose.c. */
typedef struct {
    char id[16];     /* "" for the default account */
    char prefix[20]; /* "" or "<id>." */
    char rel[64];    /* its catalog's path relative to the data directory */
    bool catalog_ok; /* its catalog exists and verifies */
    bool has_dir;    /* accounts/<id>/ exists (always for the default account) */
    bool loaded;     /* its streams and shards are in check_t (from it or its backup) */
} account_t;

#define CHECK_ACCOUNTS_MAX 1025

typedef struct {
    const char *data_dir;
    bool quiet;  /* the second check of repair prints only its summary */
    bool in_use; /* a catalog is locked by a running server: nothing is checked or repaired */
    account_t accounts[CHECK_ACCOUNTS_MAX];
    int naccounts;
    int cur_acct; /* the account whose catalog is being loaded */
    int problems;
    cat_stream_t *streams;
    size_t nstreams;
    cat_shard_t *shards;
    size_t nshards;
    /* disk logs */
    char (*logs)[2][201];
    size_t nlogs;
    /* what the current finding belongs to */
    const char *cur_stream, *cur_shard;
    damaged_t *damaged;
    size_t ndamaged;
} check_t;

static void out(check_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(check_t *c, const char *fmt, ...) {
    if (c->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static void problem(check_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(check_t *c, const char *fmt, ...) {
    c->problems++;
    if (c->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    printf("PROBLEM ");
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static void remember_damaged(check_t *c, const char *file) {
    damaged_t *n = realloc(c->damaged, (c->ndamaged + 1) * sizeof *n);
    if (!n) return;
    c->damaged = n;
    snprintf(n[c->ndamaged].rel, sizeof n[c->ndamaged].rel, "streams/%s/%s/%s", c->cur_stream,
             c->cur_shard, file);
    c->ndamaged++;
}

static void on_say(void *arg, bool is_problem, const char *file, const char *msg) {
    check_t *c = arg;
    const char *st = c->cur_stream ? c->cur_stream : "", *sh = c->cur_shard ? c->cur_shard : "";
    if (is_problem) {
        problem(c, "log %s/%s%s%s: %s", st, sh, file ? " " : "", file ? file : "", msg);
        if (file && c->cur_stream) remember_damaged(c, file);
    } else {
        out(c, "  log %s/%s%s%s: %s", st, sh, file ? " " : "", file ? file : "", msg);
    }
}

static void on_list(void *arg, const char *stream_key, const char *shard_key) {
    check_t *c = arg;
    void *n = realloc(c->logs, (c->nlogs + 1) * sizeof *c->logs);
    if (!n) return;
    c->logs = n;
    snprintf(c->logs[c->nlogs][0], sizeof c->logs[0][0], "%s", stream_key);
    snprintf(c->logs[c->nlogs][1], sizeof c->logs[0][1], "%s", shard_key);
    c->nlogs++;
}

static const char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

static void stream_row_free(sl_cat_stream_t *r) {
    const char *v[] = {r->account,
                       r->region,
                       r->name,
                       r->arn,
                       r->status,
                       r->mode,
                       r->encryption_type,
                       r->key_id,
                       r->shard_level_metrics};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        free((void *)v[i]);
}

static void on_stream(void *arg, const sl_cat_stream_t *s) {
    check_t *c = arg;
    cat_stream_t *n = realloc(c->streams, (c->nstreams + 1) * sizeof *n);
    if (!n) return;
    c->streams = n;
    cat_stream_t *t = &n[c->nstreams++];
    t->row = *s;
    t->row.account = dup_or_null(s->account);
    t->row.region = dup_or_null(s->region);
    t->row.name = dup_or_null(s->name);
    t->row.arn = dup_or_null(s->arn);
    t->row.status = dup_or_null(s->status);
    t->row.mode = dup_or_null(s->mode);
    t->row.encryption_type = dup_or_null(s->encryption_type);
    t->row.key_id = dup_or_null(s->key_id);
    t->row.shard_level_metrics = dup_or_null(s->shard_level_metrics);
    t->id = s->id;
    t->acct = c->cur_acct;
    snprintf(t->name, sizeof t->name, "%s", s->name);
    snprintf(t->key, sizeof t->key, "%s%lld-%s", c->accounts[c->cur_acct].prefix, (long long)s->id,
             s->name);
}

static void on_shard(void *arg, const sl_cat_shard_t *s) {
    check_t *c = arg;
    cat_shard_t *n = realloc(c->shards, (c->nshards + 1) * sizeof *n);
    if (!n) return;
    c->shards = n;
    n[c->nshards++] = (cat_shard_t){.acct = c->cur_acct,
                                    .stream_id = s->stream_id,
                                    .index = s->shard_index,
                                    .seq_reserved = s->seq_reserved,
                                    .seq_written = s->seq_written};
}

static void catalog_forget(check_t *c) {
    for (size_t i = 0; i < c->nstreams; i++)
        stream_row_free(&c->streams[i].row);
    free(c->streams);
    free(c->shards);
    c->streams = NULL;
    c->shards = NULL;
    c->nstreams = c->nshards = 0;
}

/* Loads streams and shards from a private copy of the catalog file at path. */
static int load_copy(check_t *c, const char *path) {
    char tmpl[] = "/tmp/sluice-check-XXXXXX";
    if (!mkdtemp(tmpl)) return SL_EIO;
    char copy[600];
    snprintf(copy, sizeof copy, "%s/catalog.db", tmpl);
    int rc = sl_catalog_sqlite_copy(path, copy);
    sl_catalog_t *cat = NULL;
    if (rc == 0) rc = sl_catalog_open_sqlite(copy, &cat);
    if (rc == 0) {
        sl_catalog_visitor_t v = {.stream = on_stream, .shard = on_shard};
        rc = sl_catalog_load(cat, &v, c);
        sl_catalog_close(cat);
    }
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s%s", copy, sfx[i]);
        unlink(p);
    }
    rmdir(tmpl);
    return rc;
}

/* Verifies one catalog file and says what it found; true when it is usable. */
static bool verify_catalog(check_t *c, const char *path, const char *what, bool is_problem) {
    sl_catalog_verify_t v;
    int rc = sl_catalog_sqlite_verify(path, &v);
    if (rc == SL_ENOTFOUND) return false;
    bool ok = rc == 0 && v.opened && v.integrity_ok && v.schema_ok;
    if (rc == 0 && v.locked) {
        /* The server holds its databases in exclusive locking mode while it runs. */
        c->in_use = true;
        printf("%s %s is in use by a running server: stop it before `sluice check` or `sluice "
               "repair`\n",
               what, path);
        return false;
    }
    if (ok) {
        out(c, "%s %s: schema version %d%s, integrity ok", what, path, v.schema_version,
            v.schema_version < sl_catalog_sqlite_schema_version() ? " (the next start migrates it)"
                                                                  : "");
    } else if (is_problem) {
        problem(c,
                "%s %s is damaged: %s; the server cannot start on it (`sluice repair` replaces it)",
                what, path, v.detail[0] ? v.detail : sl_strerror(rc));
    } else {
        out(c, "%s %s is not usable: %s", what, path, v.detail[0] ? v.detail : sl_strerror(rc));
    }
    return ok;
}

static cat_stream_t *stream_by_key(check_t *c, const char *key) {
    for (size_t i = 0; i < c->nstreams; i++)
        if (strcmp(c->streams[i].key, key) == 0) return &c->streams[i];
    return NULL;
}

static cat_shard_t *shard_of(check_t *c, const cat_stream_t *st, const char *shard_key) {
    uint32_t index;
    if (sl_shardid_parse(shard_key, strlen(shard_key), &index) != 0) return NULL;
    char norm[24];
    sl_shardid_format(index, norm);
    if (strcmp(norm, shard_key) != 0) return NULL;
    for (size_t i = 0; i < c->nshards; i++)
        if (c->shards[i].acct == st->acct && c->shards[i].stream_id == st->id &&
            c->shards[i].index == (int32_t)index)
            return &c->shards[i];
    return NULL;
}

/* The account a storage key belongs to ("<12 digits>." prefixes another account's keys), adding
 * it to c->accounts when it is not there yet; -1 when there is no room. */
static int account_of_key(check_t *c, const char *key) {
    char id[16] = "";
    if (strlen(key) > 13 && key[12] == '.' && strspn(key, "0123456789") == 12) memcpy(id, key, 12);
    for (int i = 0; i < c->naccounts; i++)
        if (strcmp(c->accounts[i].id, id) == 0) return i;
    if (c->naccounts == CHECK_ACCOUNTS_MAX) return -1;
    account_t *a = &c->accounts[c->naccounts];
    memset(a, 0, sizeof *a);
    snprintf(a->id, sizeof a->id, "%s", id);
    snprintf(a->prefix, sizeof a->prefix, "%s.", id);
    snprintf(a->rel, sizeof a->rel, "accounts/%s/catalog.db", id);
    return c->naccounts++;
}

/* The default account, then every accounts/<12 digits>/ directory, then accounts only logs name. */
static void find_accounts(check_t *c) {
    c->naccounts = 1;
    memset(&c->accounts[0], 0, sizeof c->accounts[0]);
    snprintf(c->accounts[0].rel, sizeof c->accounts[0].rel, "catalog.db");
    c->accounts[0].has_dir = true;
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/accounts", c->data_dir);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strlen(e->d_name) != 12 || strspn(e->d_name, "0123456789") != 12) continue;
        char key[sizeof e->d_name + 3];
        snprintf(key, sizeof key, "%s.x", e->d_name);
        int i = account_of_key(c, key);
        if (i >= 0) c->accounts[i].has_dir = true;
    }
    if (d) closedir(d);
    for (size_t i = 0; i < c->nlogs; i++)
        (void)account_of_key(c, c->logs[i][0]);
}

static size_t account_logs(check_t *c, int acct) {
    size_t n = 0;
    for (size_t i = 0; i < c->nlogs; i++)
        n += account_of_key(c, c->logs[i][0]) == acct;
    return n;
}

/* One pass over the data directory: catalogs, journal, every log. */
static void run_check(check_t *c) {
    out(c, "sluice check: data directory %s", c->data_dir);
    struct stat st;
    if (stat(c->data_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        problem(c, "%s is not a directory", c->data_dir);
        return;
    }
    sl_storage_check_list(c->data_dir, on_list, on_say, c);
    find_accounts(c);
    for (int a = 0; a < c->naccounts; a++) {
        account_t *acc = &c->accounts[a];
        char path[1300], bak[1310];
        snprintf(path, sizeof path, "%s/%s", c->data_dir, acc->rel);
        snprintf(bak, sizeof bak, "%s.bak", path);
        const char *what = a == 0 ? "catalog" : "account catalog";
        bool exists = stat(path, &st) == 0;
        acc->catalog_ok = exists && verify_catalog(c, path, what, true);
        if (c->in_use) return;
        size_t nlogs = account_logs(c, a);
        if (!exists) {
            if (nlogs)
                problem(c, "%s %s is missing but %zu shard log(s) of its streams are on disk", what,
                        path, nlogs);
            else
                out(c, "%s %s: none yet (a new data directory)", what, path);
        }
        bool bak_ok = stat(bak, &st) == 0 && verify_catalog(c, bak, "catalog backup", false);
        if (!bak_ok && stat(bak, &st) != 0 && exists) out(c, "catalog backup %s: none", bak);
        size_t before = c->nstreams, shards_before = c->nshards;
        c->cur_acct = a;
        int rc = -1;
        if (acc->catalog_ok) {
            rc = load_copy(c, path);
            if (rc != 0) problem(c, "%s %s cannot be read", what, path);
        } else if (bak_ok) {
            out(c, "comparing the logs with the catalog backup instead");
            rc = load_copy(c, bak);
        } else if (!exists && nlogs == 0) {
            rc = 0; /* nothing to compare */
        }
        acc->loaded = rc == 0;
        if (rc == 0 && (exists || bak_ok))
            out(c, "%s: %zu stream(s), %zu shard(s)", what, c->nstreams - before,
                c->nshards - shards_before);
    }

    sl_storage_journal_check_t j;
    c->cur_stream = c->cur_shard = NULL;
    if (sl_storage_check_journal(c->data_dir, on_say, c, &j) != 0)
        problem(c, "journal cannot be read");
    else if (!j.exists)
        out(c, "journal: none");
    else if (j.header_ok)
        out(c,
            "journal: checkpoint at %" PRIu64 "; %" PRIu64 " entr%s (%" PRIu64
            " records) to replay at the next start",
            j.checkpoint_lsn, j.entries, j.entries == 1 ? "y" : "ies", j.frames);

    size_t records = 0;
    for (size_t i = 0; i < c->nlogs; i++) {
        c->cur_stream = c->logs[i][0];
        c->cur_shard = c->logs[i][1];
        sl_storage_log_check_t lc;
        if (sl_storage_check_log(c->data_dir, c->cur_stream, c->cur_shard, on_say, c, &lc) != 0) {
            problem(c, "log %s/%s cannot be read", c->cur_stream, c->cur_shard);
            continue;
        }
        records += lc.records;
        int acct = account_of_key(c, c->cur_stream);
        /* keys starting with '_' are other services' logs (Firehose's buffers): checked, but
         * no catalog row names them */
        bool loaded = c->cur_stream[0] != '_' && acct >= 0 && c->accounts[acct].loaded;
        cat_stream_t *s = loaded ? stream_by_key(c, c->cur_stream) : NULL;
        cat_shard_t *sh = s ? shard_of(c, s, c->cur_shard) : NULL;
        if (sh) sh->seen = true;
        out(c,
            "log %s/%s: %" PRIu64 " record(s) in %" PRIu64 " segment(s), seq %" PRIu64 "..%" PRIu64,
            c->cur_stream, c->cur_shard, lc.records, lc.segments, lc.first_seq, lc.next_seq - 1);
        if (loaded && !sh)
            problem(
                c,
                "log %s/%s has no shard in the catalog: it is not served (`sluice repair` adds it)",
                c->cur_stream, c->cur_shard);
        else if (sh && (uint64_t)sh->seq_written > lc.next_seq)
            problem(c,
                    "log %s/%s: the catalog records writes up to seq %" PRId64
                    " but the log ends at seq %" PRIu64 ": records with seq %" PRIu64 "..%" PRId64
                    " are lost",
                    c->cur_stream, c->cur_shard, sh->seq_written - 1, lc.next_seq - 1, lc.next_seq,
                    sh->seq_written - 1);
    }
    c->cur_stream = c->cur_shard = NULL;
    for (size_t i = 0; i < c->nshards; i++) {
        cat_shard_t *sh = &c->shards[i];
        if (sh->seen || sh->seq_written <= 1) continue;
        const char *name = "?";
        for (size_t k = 0; k < c->nstreams; k++)
            if (c->streams[k].acct == sh->acct && c->streams[k].id == sh->stream_id)
                name = c->streams[k].name;
        char id[24];
        sl_shardid_format((uint32_t)sh->index, id);
        problem(c,
                "stream %s%s shard %s: the catalog records writes up to seq %" PRId64
                " but its log directory is missing: records with seq 1..%" PRId64
                " are lost (nothing can rebuild them)",
                c->accounts[sh->acct].prefix, name, id, sh->seq_written - 1, sh->seq_written - 1);
    }
    out(c, "%zu log(s), %zu record(s)", c->nlogs, records);
}

static void check_free(check_t *c) {
    catalog_forget(c);
    free(c->logs);
    free(c->damaged);
    c->logs = NULL;
    c->damaged = NULL;
    c->nlogs = c->ndamaged = 0;
    c->problems = 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* repair */

static int mkdirs(const char *path) {
    char p[1400];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0700) != 0 && errno != EEXIST) return SL_EIO;
        *s = '/';
    }
    return mkdir(p, 0700) != 0 && errno != EEXIST ? SL_EIO : 0;
}

/* Copies src to dst (made durable); 0, or SL_ENOTFOUND when src does not exist. */
static int copy_file(const char *src, const char *dst) {
    int in = open(src, O_RDONLY);
    if (in < 0) return errno == ENOENT ? SL_ENOTFOUND : SL_EIO;
    int o = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = o < 0 ? SL_EIO : 0;
    char buf[65536];
    while (rc == 0) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n < 0) rc = SL_EIO;
            break;
        }
        for (ssize_t w = 0; w < n && rc == 0;) {
            ssize_t k = write(o, buf + w, (size_t)(n - w));
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0)
                rc = SL_EIO;
            else
                w += k;
        }
    }
    if (rc == 0 && fsync(o) != 0) rc = SL_EIO;
    if (o >= 0) close(o);
    close(in);
    return rc;
}

/* Copies <data_dir>/<rel> into the aside directory under the same relative path. */
static int set_aside(const char *data_dir, const char *aside, const char *rel, bool move) {
    char src[1400], dst[1400], dir[1400];
    snprintf(src, sizeof src, "%s/%s", data_dir, rel);
    snprintf(dst, sizeof dst, "%s/%s", aside, rel);
    snprintf(dir, sizeof dir, "%s", dst);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    if (mkdirs(dir) != 0) return SL_EIO;
    if (move && rename(src, dst) == 0) return 0;
    int rc = copy_file(src, dst);
    if (rc == 0 && move) rc = unlink(src) == 0 ? 0 : SL_EIO;
    return rc;
}

static void say_nothing(void *arg, bool is_problem, const char *file, const char *msg) {
    (void)arg;
    (void)is_problem;
    (void)file;
    (void)msg;
}

/* Adds a stream (and shards) for logs the catalog lacks. Names come from the storage keys; the
 * shards' hash ranges are not stored in the logs, so each recovered shard is added CLOSED with the
 * whole key range (its records stay readable, nothing is routed to it) and the stream gets one new
 * open shard over the whole range that takes new writes. Retention covers the oldest record so
 * nothing is trimmed at the next start. Shard creation times are not known either: the recovered
 * records' SequenceNumbers change in their creation-time field (order and counters are kept). */
static int add_missing(check_t *c, int acct, sl_catalog_t *cat, const sl_config_t *cfg,
                       int64_t now) {
    int rc = 0;
    const account_t *acc = &c->accounts[acct];
    const char *account_id = acc->id[0] ? acc->id : cfg->account_id;
    size_t plen = strlen(acc->prefix);
    c->cur_acct = acct;
    for (size_t i = 0; i < c->nlogs && rc == 0; i++) {
        const char *key = c->logs[i][0];
        if (key[0] == '_' || account_of_key(c, key) != acct || stream_by_key(c, key)) continue;
        const char *bare = key + plen;
        char *dash = strchr(bare, '-');
        char *end = NULL;
        long long id = strtoll(bare, &end, 10);
        if (!dash || end != dash || id <= 0 || !dash[1]) {
            problem(
                c, "log directory streams/%s is not named <stream id>-<stream name>; left as it is",
                key);
            continue;
        }
        const char *name = dash + 1;
        /* Every log of this stream, for its shards and its oldest record. */
        int64_t oldest = now;
        uint32_t max_index = 0;
        bool any = false;
        for (size_t j = 0; j < c->nlogs; j++) {
            if (strcmp(c->logs[j][0], key) != 0) continue;
            uint32_t ix;
            if (sl_shardid_parse(c->logs[j][1], strlen(c->logs[j][1]), &ix) != 0) continue;
            if (!any || ix > max_index) max_index = ix;
            any = true;
            sl_storage_log_check_t lc;
            if (sl_storage_check_log(c->data_dir, key, c->logs[j][1], say_nothing, c, &lc) == 0 &&
                lc.records && lc.first_arrival_ms < oldest)
                oldest = lc.first_arrival_ms;
        }
        if (!any) continue;
        int64_t hours = (now - oldest) / 3600000 + 25;
        if (hours < 24) hours = 24;
        if (hours > 8760) hours = 8760;
        char arn[512];
        sl_arn_stream(arn, sizeof arn, cfg->region, account_id, name);
        sl_cat_stream_t s = {.id = id,
                             .account = account_id,
                             .region = cfg->region,
                             .name = name,
                             .arn = arn,
                             .status = "ACTIVE",
                             .mode = "PROVISIONED",
                             .created_ms = oldest - 2000,
                             .status_until_ms = 0,
                             .retention_hours = (int32_t)hours,
                             .max_record_size_kib = 1024,
                             .encryption_type = "NONE",
                             .shard_level_metrics = "",
                             .warm_throughput_mibps = -1,
                             .next_shard_index = (int32_t)max_index + 2};
        rc = sl_catalog_stream_insert(cat, &s);
        if (rc) {
            problem(c, "cannot add stream %s (id %lld) to the catalog: %s", name, id,
                    sl_strerror(rc));
            rc = 0;
            continue;
        }
        on_stream(c, &s);
        sl_cat_shard_t open_shard = {.stream_id = id,
                                     .shard_index = (int32_t)max_index + 1,
                                     .starting_hash_key = "0",
                                     .ending_hash_key = MAX_HASH_KEY,
                                     .created_ms = now,
                                     .seq_reserved = 1 + (int64_t)SL_KINESIS_SEQ_BLOCK,
                                     .seq_written = 1};
        rc = sl_catalog_shard_put(cat, &open_shard);
        if (rc == 0) on_shard(c, &open_shard);
        printf("repair: added stream %s (from streams/%s) with a new open shard %u; its recovered "
               "shards are closed, "
               "retention %lld hours\n",
               name, key, max_index + 1, (long long)hours);
    }
    /* Shards whose logs the catalog lacks (of restored or recovered streams). */
    for (size_t i = 0; i < c->nlogs && rc == 0; i++) {
        cat_stream_t *s = stream_by_key(c, c->logs[i][0]);
        if (s && s->acct != acct) continue;
        uint32_t ix;
        if (!s || shard_of(c, s, c->logs[i][1]) ||
            sl_shardid_parse(c->logs[i][1], strlen(c->logs[i][1]), &ix) != 0)
            continue;
        sl_storage_log_check_t lc;
        c->cur_stream = c->logs[i][0];
        c->cur_shard = c->logs[i][1];
        if (sl_storage_check_log(c->data_dir, c->cur_stream, c->cur_shard, say_nothing, c, &lc) !=
            0)
            continue;
        sl_cat_shard_t row = {.stream_id = s->id,
                              .shard_index = (int32_t)ix,
                              .starting_hash_key = "0",
                              .ending_hash_key = MAX_HASH_KEY,
                              .created_ms = lc.records ? lc.first_arrival_ms - 2000 : now,
                              .closed_ms = now,
                              .seq_reserved = (int64_t)(lc.next_seq + SL_KINESIS_SEQ_BLOCK),
                              .seq_written = (int64_t)lc.next_seq};
        rc = sl_catalog_shard_put(cat, &row);
        if (rc == 0 && s->row.next_shard_index <= (int32_t)ix) {
            /* Later resharding must not reuse this shard's index. */
            s->row.next_shard_index = (int32_t)ix + 1;
            rc = sl_catalog_stream_update(cat, &s->row);
        }
        if (rc == 0) {
            on_shard(c, &row);
            printf("repair: added shard %s of stream %s (closed, %" PRIu64 " records)\n",
                   c->logs[i][1], s->name, lc.records);
        }
    }
    c->cur_stream = c->cur_shard = NULL;
    return rc;
}

/* Brings each shard's bounds in line with its log: after a catalog came from a backup or was
 * rebuilt, its reservations may be older than what was handed out since, so each is raised a
 * block above its log's tip (the next start skips ahead); a loss the catalog still records
 * (seq_written above the tip) is acknowledged, so that it is reported no more. */
static int settle_reservations(check_t *c, int acct, sl_catalog_t *cat, bool rebuilt) {
    int rc = 0;
    for (size_t i = 0; i < c->nshards && rc == 0; i++) {
        cat_shard_t *sh = &c->shards[i];
        if (sh->acct != acct) continue;
        cat_stream_t *s = NULL;
        for (size_t k = 0; k < c->nstreams; k++)
            if (c->streams[k].acct == acct && c->streams[k].id == sh->stream_id) s = &c->streams[k];
        if (!s) continue;
        char id[24];
        sl_shardid_format((uint32_t)sh->index, id);
        sl_storage_log_check_t lc;
        if (sl_storage_check_log(c->data_dir, s->key, id, say_nothing, c, &lc) != 0) continue;
        int64_t tip = (int64_t)lc.next_seq, reserved = sh->seq_reserved, written = sh->seq_written;
        if (rebuilt && reserved < tip + (int64_t)SL_KINESIS_SEQ_BLOCK)
            reserved = tip + (int64_t)SL_KINESIS_SEQ_BLOCK;
        if (written > tip) {
            if (reserved < written) reserved = written;
            printf("repair: stream %s shard %s: records with seq %lld..%lld are lost; acknowledged "
                   "(new records "
                   "continue above seq %lld)\n",
                   s->name, id, (long long)tip, (long long)written - 1, (long long)reserved - 1);
            written = tip;
        }
        if (reserved == sh->seq_reserved && written == sh->seq_written) continue;
        rc = sl_catalog_shard_seq_set(cat, sh->stream_id, sh->index, reserved, written);
    }
    return rc;
}

static void recover_log(void *arg, const char *stream_key, const char *shard_key) {
    sl_storage_t *st = arg;
    sl_shard_log_t *log = NULL;
    if (sl_storage_shard_open(st, stream_key, shard_key, NULL, &log) == 0)
        sl_storage_shard_close(log);
}

/* Drops the streams and shards of one account from c (its catalog is being replaced). */
static void account_forget(check_t *c, int acct) {
    size_t n = 0;
    for (size_t i = 0; i < c->nstreams; i++) {
        if (c->streams[i].acct == acct)
            stream_row_free(&c->streams[i].row);
        else
            c->streams[n++] = c->streams[i];
    }
    c->nstreams = n;
    n = 0;
    for (size_t i = 0; i < c->nshards; i++)
        if (c->shards[i].acct != acct) c->shards[n++] = c->shards[i];
    c->nshards = n;
    c->accounts[acct].loaded = false;
}

static int repair_catalog(check_t *c, int acct, const sl_config_t *cfg, const char *aside,
                          int64_t now) {
    account_t *acc = &c->accounts[acct];
    char path[1300], bak[1310];
    snprintf(path, sizeof path, "%s/%s", c->data_dir, acc->rel);
    snprintf(bak, sizeof bak, "%s.bak", path);
    struct stat st;
    bool rebuilt = false;
    int rc = 0;
    if (!acc->catalog_ok && (stat(path, &st) == 0 || account_logs(c, acct))) {
        const char *sfx[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            char rel[100], p[1400];
            snprintf(rel, sizeof rel, "%s%s", acc->rel, sfx[i]);
            snprintf(p, sizeof p, "%s/%s", c->data_dir, rel);
            if (stat(p, &st) != 0) continue;
            if ((rc = set_aside(c->data_dir, aside, rel, true))) {
                printf("repair: cannot move %s aside: %s\n", p, sl_strerror(rc));
                return rc;
            }
            printf("repair: moved %s to %s/\n", rel, aside);
        }
        account_forget(c, acct);
        if (acct > 0) {
            char dir[1300];
            snprintf(dir, sizeof dir, "%s/accounts/%s", c->data_dir, acc->id);
            if (mkdirs(dir) != 0) return SL_EIO;
        }
        sl_catalog_verify_t v;
        c->cur_acct = acct;
        if (sl_catalog_sqlite_verify(bak, &v) == 0 && v.opened && v.integrity_ok && v.schema_ok &&
            copy_file(bak, path) == 0) {
            printf("repair: restored %s from its backup %s\n", acc->rel, bak);
            acc->loaded = load_copy(c, path) == 0;
            if (!acc->loaded) account_forget(c, acct);
        } else {
            printf("repair: no usable backup of %s: rebuilding it from the logs alone\n", acc->rel);
        }
        rebuilt = true;
    } else if (!acc->catalog_ok) {
        return 0; /* no catalog and no logs: nothing to do */
    }
    sl_catalog_t *cat = NULL;
    rc = sl_catalog_open_sqlite(path, &cat);
    if (rc) {
        printf("repair: cannot open the catalog %s: %s\n", path, sl_strerror(rc));
        return rc;
    }
    if (!acc->loaded) {
        account_forget(c, acct);
        c->cur_acct = acct;
        sl_catalog_visitor_t v = {.stream = on_stream, .shard = on_shard};
        rc = sl_catalog_load(cat, &v, c);
        acc->loaded = rc == 0;
    }
    if (rc == 0) rc = add_missing(c, acct, cat, cfg, now);
    if (rc == 0) rc = settle_reservations(c, acct, cat, rebuilt);
    sl_catalog_close(cat);
    if (rc) printf("repair: updating the catalog %s failed: %s\n", path, sl_strerror(rc));
    return rc;
}

static int repair(check_t *c, const sl_config_t *cfg) {
    int64_t now = sl_time_now_ms();
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char aside[1300], stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(aside, sizeof aside, "%s/damaged/%s", c->data_dir, stamp);
    int rc = 0;

    /* 1. Damaged segments and indexes: copies aside (recovery may cut or rewrite the originals). */
    for (size_t i = 0; i < c->ndamaged; i++) {
        char rel[720];
        snprintf(rel, sizeof rel, "%s", c->damaged[i].rel);
        size_t n = strlen(rel);
        if (n < 4) continue;
        const char *exts[] = {"log", "idx"};
        for (int e = 0; e < 2; e++) {
            memcpy(rel + n - 3, exts[e], 3);
            int r = set_aside(c->data_dir, aside, rel, false);
            if (r == 0)
                printf("repair: copied %s to %s/\n", rel, aside);
            else if (r != SL_ENOTFOUND) {
                printf("repair: cannot copy %s aside: %s; stopping before anything changes\n", rel,
                       sl_strerror(r));
                return r;
            }
        }
    }

    /* 2. Each account's catalog: replaced when damaged (moved aside, never deleted), then completed
     * with the logs it lacks. */
    for (int a = 0; a < c->naccounts && rc == 0; a++)
        rc = repair_catalog(c, a, cfg, aside, now);
    if (rc) return rc;

    /* 3. The engine's own recovery: journal replay, torn tails cut, untrusted indexes rebuilt. */
    sl_storage_config_t scfg = {.data_dir = c->data_dir, .durability = SL_DURABILITY_SYNC};
    sl_storage_t *stg = NULL;
    rc = sl_storage_open_file(&scfg, &stg);
    if (rc) {
        printf("repair: cannot open the logs: %s\n", sl_strerror(rc));
        return rc;
    }
    sl_storage_check_list(c->data_dir, recover_log, say_nothing, stg);
    sl_storage_close(stg);
    printf("repair: recovered every log (journal replayed, torn tails cut, indexes rebuilt)\n");
    return 0;
}

int sl_check_main(int argc, char **argv, bool do_repair) {
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("Usage: sluice %s [--data-dir DIR] [serve options]\n\n%s\n",
                   do_repair ? "repair" : "check",
                   do_repair ? "Rebuilds what can be rebuilt from the segments on disk: copies "
                               "damaged files to\n"
                               "DIR/damaged/<time>/, replaces a damaged catalog by its backup (or "
                               "rebuilds it from\n"
                               "the logs), adds logs the catalog lacks, recovers every log. Run it "
                               "with the server\n"
                               "stopped. Exit status 0 when the directory is clean afterwards."
                             : "Reports the state of a data directory without changing it: the "
                               "catalog, its backup,\n"
                               "the commit journal, every segment and index, and the catalog "
                               "against the logs.\n"
                               "Exit status 0 when clean, 1 when problems were found.");
            return 0;
        }
    }
    sl_config_t cfg;
    if (sl_config_load(&cfg, argc, argv, stderr) != 0) return 2;
    sl_log_set_level(SL_LOG_WARN);
    check_t c = {.data_dir = cfg.data_dir};
    run_check(&c);
    if (c.in_use) {
        printf("summary: the data directory is in use; nothing was %s\n",
               do_repair ? "checked or repaired" : "checked");
        check_free(&c);
        fflush(stdout);
        return 2;
    }
    if (!do_repair) {
        if (c.problems)
            printf("summary: %d problem(s); `sluice repair` rebuilds what can be rebuilt\n",
                   c.problems);
        else
            printf("summary: clean\n");
        int status = c.problems ? 1 : 0;
        check_free(&c);
        fflush(stdout);
        return status;
    }
    if (c.problems == 0) {
        printf("summary: clean; nothing to repair\n");
        check_free(&c);
        return 0;
    }
    int rc = repair(&c, &cfg);
    check_free(&c);
    c = (check_t){.data_dir = cfg.data_dir, .quiet = false};
    printf("--- after repair ---\n");
    run_check(&c);
    int status = rc || c.problems ? 1 : 0;
    if (c.problems)
        printf("summary: %d problem(s) remain after repair\n", c.problems);
    else
        printf("summary: repaired; the data directory is clean\n");
    check_free(&c);
    fflush(stdout);
    return status;
}
