/* `sluice top`: a terminal view of an endpoint's streams and shards with their live rates and
 * consumer lag, refreshed every --interval, for people who live in a terminal (docs/cli.md). The
 * streams and shards come from the Kinesis API (ListStreams, DescribeStreamSummary, ListShards
 * through libsluice); the rates from the server's Prometheus endpoint, GET /metrics: the counters
 * of CloudWatch's IncomingBytes, IncomingRecords, GetRecords.Bytes and GetRecords.Records (per
 * stream, and per shard when enhanced monitoring exports them), turned into rates between two
 * refreshes, and GetRecords.IteratorAgeMilliseconds as the lag. On a terminal it draws full
 * screens with ANSI escapes (the alternate screen, no curses) and quits on q; otherwise (or with
 * --iterations) it prints one frame per refresh, for scripts. */
#include "cli/top.h"

#include "cli/prom.h"

#include "client/sluice.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/limits.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_SERVICE = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

#define DEFAULT_ENDPOINT "http://127.0.0.1:4567"
#define HASH_KEYS 3.402823669209385e38 /* 2^128: the hash-key space */

/* The counters of one stream or shard, read from /metrics. */
typedef struct {
    double in_bytes, in_records, out_bytes, out_records, throttled;
    double age_sum, age_count; /* iterator age as a histogram (ms) */
    double age_ms;             /* iterator age as a gauge (ms), when exported so */
    bool has_age_gauge;
} counters_t;

/* One series of /metrics: a stream (shard "") or a shard of it, of an account ("" when the
 * server does not label accounts). */
typedef struct {
    char account[SL_TOP_ACCOUNT_BYTES];
    char stream[SL_TOP_NAME_BYTES];
    char shard[SL_TOP_NAME_BYTES];
    counters_t c;
} series_t;

typedef struct {
    series_t *items;
    size_t count;
    double at_s; /* when it was read (monotonic seconds) */
    bool available;
} sample_t;

typedef struct {
    char id[SL_TOP_NAME_BYTES];
    char parents[2 * SL_TOP_NAME_BYTES + 4];
    bool open;
    double start, end; /* hash-key range as fractions of the space */
} shard_t;

typedef struct {
    char name[SL_TOP_NAME_BYTES];
    char account[SL_TOP_ACCOUNT_BYTES]; /* from the stream's ARN: its series' account_id */
    char status[24];
    bool on_demand, encrypted;
    int64_t retention_h, open_shards, consumers;
    shard_t *shards;
    size_t shard_count;
} stream_t;

typedef struct {
    const char *endpoint_url, *region, *profile, *stream;
    double interval_s;
    long iterations;
    bool help;
} opts_t;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static double positive(double v) {
    return v > 0 ? v : 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- /metrics ---- */

static bool ends_with(const char *s, size_t len, const char *suffix) {
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* The counter a sample feeds, by the CloudWatch metric its Prometheus name carries; NULL for
 * every other family. Histograms count through their _sum; _count and _bucket lines are skipped
 * (except the iterator age's count, which gives its mean). */
static double *slot_of(counters_t *c, const char *name, size_t len, double *scale) {
    *scale = 1;
    bool sum = false, count = false;
    if (ends_with(name, len, "_bucket")) return NULL;
    if (ends_with(name, len, "_total")) {
        len -= 6;
    } else if (ends_with(name, len, "_sum")) {
        len -= 4;
        sum = true;
    } else if (ends_with(name, len, "_count")) {
        len -= 6;
        count = true;
    }
    if (memmem(name, len, "iterator_age", 12)) {
        if (ends_with(name, len, "_seconds")) *scale = 1000;
        if (count) return &c->age_count;
        if (sum) return &c->age_sum;
        c->has_age_gauge = true;
        return &c->age_ms;
    }
    if (count) return NULL;
    if (ends_with(name, len, "incoming_bytes")) return &c->in_bytes;
    if (ends_with(name, len, "incoming_records")) return &c->in_records;
    if (ends_with(name, len, "get_records_bytes") || ends_with(name, len, "outgoing_bytes"))
        return &c->out_bytes;
    if (ends_with(name, len, "get_records_records") || ends_with(name, len, "outgoing_records"))
        return &c->out_records;
    if (ends_with(name, len, "provisioned_throughput_exceeded")) return &c->throttled;
    return NULL;
}

static series_t *series_find(sample_t *s, const char *account, const char *stream,
                             const char *shard, bool add) {
    for (size_t i = 0; i < s->count; i++)
        if (!strcmp(s->items[i].stream, stream) && !strcmp(s->items[i].shard, shard) &&
            !strcmp(s->items[i].account, account))
            return &s->items[i];
    if (!add || s->count >= SL_TOP_SERIES_MAX) return NULL;
    if (s->count % 64 == 0) {
        series_t *grown = realloc(s->items, (s->count + 64) * sizeof *grown);
        if (!grown) return NULL;
        s->items = grown;
    }
    series_t *x = &s->items[s->count++];
    memset(x, 0, sizeof *x);
    snprintf(x->account, sizeof x->account, "%s", account);
    snprintf(x->stream, sizeof x->stream, "%s", stream);
    snprintf(x->shard, sizeof x->shard, "%s", shard);
    return x;
}

/* Adds one sample of /metrics to s when it is a Kinesis counter of a stream (or of a shard). */
static void metrics_sample(const sl_prom_sample_t *m, void *ctx) {
    sample_t *s = ctx;
    counters_t probe = {0};
    double scale;
    if (!slot_of(&probe, m->name, m->name_len, &scale)) return;
    char stream[SL_TOP_NAME_BYTES], shard[SL_TOP_NAME_BYTES], account[SL_TOP_ACCOUNT_BYTES];
    if (!sl_prom_label(m->labels, m->labels_len, "stream_name", stream, sizeof stream) &&
        !sl_prom_label(m->labels, m->labels_len, "stream", stream, sizeof stream))
        return;
    if (!sl_prom_label(m->labels, m->labels_len, "shard_id", shard, sizeof shard))
        sl_prom_label(m->labels, m->labels_len, "shard", shard, sizeof shard);
    sl_prom_label(m->labels, m->labels_len, "account_id", account, sizeof account);
    series_t *x = series_find(s, account, stream, shard, true);
    if (!x) return;
    double *slot = slot_of(&x->c, m->name, m->name_len, &scale);
    if (slot == &x->c.age_ms)
        *slot = m->value * scale; /* a gauge: the latest value */
    else
        *slot += m->value * scale;
}

static void sample_fetch(sl_client_t *c, sample_t *s) {
    s->count = 0;
    s->at_s = now_s();
    sl_client_result_t r;
    s->available = sl_client_get_sync(c, "/metrics", &r) == 0;
    if (s->available) sl_prom_parse(r.body, r.body_len, metrics_sample, s);
    sl_client_result_free(&r);
}

/* ---- the Kinesis side ---- */

static int call(sl_client_t *c, const char *op, sl_buf_t *body, sl_arena_t *arena, sl_val_t **v,
                char *error, size_t error_cap) {
    sl_client_result_t r;
    int rc = sl_client_call_sync(c, op, (const char *)body->data, body->len, &r);
    *v = NULL;
    if (rc != 0) {
        snprintf(error, error_cap, "%s: %s", r.error_code ? r.error_code : "Error",
                 r.error_message ? r.error_message : sl_client_strerror(rc));
        sl_client_result_free(&r);
        return rc == SLUICE_EIO || rc == SLUICE_ECLOSED ? EXIT_UNREACHABLE : EXIT_SERVICE;
    }
    char *copy = sl_arena_strndup(arena, r.body, r.body_len);
    const char *reason;
    if (copy && r.body_len) sl_json_parse(copy, r.body_len, arena, v, &reason);
    sl_client_result_free(&r);
    return EXIT_OK;
}

static void json_begin(sl_buf_t *b, sl_enc_t *e) {
    sl_buf_reset(b);
    sl_enc_init(e, b, SL_FMT_JSON);
    sl_enc_map_begin(e);
}

static void streams_free(stream_t *streams, size_t count) {
    for (size_t i = 0; i < count; i++)
        free(streams[i].shards);
    free(streams);
}

static int shards_fetch(sl_client_t *c, stream_t *st, sl_buf_t *b, char *error, size_t cap) {
    char *next = NULL;
    int rc = EXIT_OK;
    do {
        sl_arena_t arena;
        sl_arena_init(&arena, 16384);
        sl_enc_t e;
        json_begin(b, &e);
        if (next)
            sl_enc_kv_cstr(&e, "NextToken", next);
        else
            sl_enc_kv_cstr(&e, "StreamName", st->name);
        sl_enc_map_end(&e);
        free(next);
        next = NULL;
        sl_val_t *v;
        rc = call(c, "ListShards", b, &arena, &v, error, cap);
        sl_val_t *shards = rc == 0 ? sl_val_get(v, "Shards") : NULL;
        for (size_t i = 0; shards && shards->type == SL_VAL_ARRAY && i < shards->u.arr.count &&
                           st->shard_count < SL_TOP_SHARDS_MAX;
             i++) {
            sl_val_t *x = shards->u.arr.items[i];
            if (st->shard_count % 64 == 0) {
                shard_t *grown = realloc(st->shards, (st->shard_count + 64) * sizeof *grown);
                if (!grown) break;
                st->shards = grown;
            }
            shard_t *sh = &st->shards[st->shard_count++];
            memset(sh, 0, sizeof *sh);
            const char *id = sl_val_get_str(x, "ShardId", NULL);
            const char *parent = sl_val_get_str(x, "ParentShardId", NULL);
            const char *adjacent = sl_val_get_str(x, "AdjacentParentShardId", NULL);
            snprintf(sh->id, sizeof sh->id, "%s", id ? id : "?");
            snprintf(sh->parents, sizeof sh->parents, "%s%s%s", parent ? parent : "",
                     adjacent ? " + " : "", adjacent ? adjacent : "");
            sl_val_t *range = sl_val_get(x, "HashKeyRange");
            const char *lo = sl_val_get_str(range, "StartingHashKey", NULL);
            const char *hi = sl_val_get_str(range, "EndingHashKey", NULL);
            sh->start = lo ? strtod(lo, NULL) / HASH_KEYS : 0;
            sh->end = hi ? (strtod(hi, NULL) + 1) / HASH_KEYS : 0;
            sh->open =
                !sl_val_get_str(sl_val_get(x, "SequenceNumberRange"), "EndingSequenceNumber", NULL);
        }
        const char *token = rc == 0 ? sl_val_get_str(v, "NextToken", NULL) : NULL;
        if (token) next = strdup(token);
        sl_arena_deinit(&arena);
    } while (rc == 0 && next);
    free(next);
    return rc;
}

/* Every stream (or only o->stream) with its summary and shards. */
static int streams_fetch(sl_client_t *c, const opts_t *o, stream_t **out, size_t *count,
                         char *error, size_t cap) {
    stream_t *streams = NULL;
    size_t n = 0;
    sl_buf_t b = SL_BUF_INIT;
    char *next = NULL;
    int rc = EXIT_OK;
    do {
        sl_arena_t arena;
        sl_arena_init(&arena, 16384);
        sl_enc_t e;
        json_begin(&b, &e);
        if (next) sl_enc_kv_cstr(&e, "ExclusiveStartStreamName", next);
        sl_enc_map_end(&e);
        free(next);
        next = NULL;
        sl_val_t *v;
        rc = call(c, "ListStreams", &b, &arena, &v, error, cap);
        sl_val_t *names = rc == 0 ? sl_val_get(v, "StreamNames") : NULL;
        for (size_t i = 0; names && names->type == SL_VAL_ARRAY && i < names->u.arr.count; i++) {
            sl_val_t *name = names->u.arr.items[i];
            if (name->type != SL_VAL_STRING) continue;
            bool more = false;
            if (i + 1 == names->u.arr.count && sl_val_get_bool(v, "HasMoreStreams", &more) && more)
                next = strdup(name->u.str.ptr);
            if ((o->stream && strcmp(o->stream, name->u.str.ptr)) || n >= SL_TOP_STREAMS_MAX)
                continue;
            if (n % 16 == 0) {
                stream_t *grown = realloc(streams, (n + 16) * sizeof *grown);
                if (!grown) break;
                streams = grown;
            }
            stream_t *st = &streams[n++];
            memset(st, 0, sizeof *st);
            snprintf(st->name, sizeof st->name, "%s", name->u.str.ptr);
        }
        sl_arena_deinit(&arena);
    } while (rc == 0 && next);
    free(next);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        stream_t *st = &streams[i];
        sl_arena_t arena;
        sl_arena_init(&arena, 8192);
        sl_enc_t e;
        json_begin(&b, &e);
        sl_enc_kv_cstr(&e, "StreamName", st->name);
        sl_enc_map_end(&e);
        sl_val_t *v;
        /* A stream deleted between the list and now is shown as such, not as an error. */
        if (call(c, "DescribeStreamSummary", &b, &arena, &v, error, cap) == 0) {
            sl_val_t *d = sl_val_get(v, "StreamDescriptionSummary");
            const char *status = sl_val_get_str(d, "StreamStatus", NULL);
            const char *mode =
                sl_val_get_str(sl_val_get(d, "StreamModeDetails"), "StreamMode", NULL);
            const char *enc = sl_val_get_str(d, "EncryptionType", NULL);
            const char *arn = sl_val_get_str(d, "StreamARN", NULL);
            /* arn:aws:kinesis:<region>:<account>:stream/<name> */
            for (int colons = 0; arn && *arn && colons < 4; arn++)
                colons += *arn == ':';
            if (arn) {
                size_t len = strcspn(arn, ":");
                if (len >= sizeof st->account) len = sizeof st->account - 1;
                memcpy(st->account, arn, len);
                st->account[len] = 0;
            }
            snprintf(st->status, sizeof st->status, "%s", status ? status : "?");
            st->on_demand = mode && !strcmp(mode, "ON_DEMAND");
            st->encrypted = enc && !strcmp(enc, "KMS");
            sl_val_get_int(d, "RetentionPeriodHours", &st->retention_h);
            sl_val_get_int(d, "OpenShardCount", &st->open_shards);
            sl_val_get_int(d, "ConsumerCount", &st->consumers);
            shards_fetch(c, st, &b, error, cap);
        } else {
            snprintf(st->status, sizeof st->status, "GONE");
        }
        error[0] = 0;
        sl_arena_deinit(&arena);
    }
    sl_buf_free(&b);
    if (rc != 0) {
        streams_free(streams, n);
        return rc;
    }
    *out = streams;
    *count = n;
    return EXIT_OK;
}

/* ---- drawing ---- */

static void human(char *out, size_t cap, double v, const char *unit) {
    static const char *const prefixes[] = {"", "Ki", "Mi", "Gi", "Ti"};
    size_t i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(out, cap, "%.0f %s", v, unit);
    else
        snprintf(out, cap, "%.1f %s%s", v, prefixes[i], unit);
}

static void count_text(char *out, size_t cap, double v) {
    if (v < 10 && v > 0)
        snprintf(out, cap, "%.1f", v);
    else if (v < 100000)
        snprintf(out, cap, "%.0f", v);
    else
        snprintf(out, cap, "%.1fk", v / 1000);
}

/* The rates of one series between two samples, as text columns (dashes when unknown). */
static void rates_text(const sample_t *prev, const sample_t *cur, const stream_t *st,
                       const char *shard, char cols[5][24]) {
    for (int i = 0; i < 5; i++)
        snprintf(cols[i], 24, "-");
    if (!prev || !cur->available || !prev->available) return;
    /* The stream's account's series, or the unlabelled one of a server that has no accounts. */
    const char *account =
        series_find((sample_t *)cur, st->account, st->name, shard, false) ? st->account : "";
    series_t *a = series_find((sample_t *)prev, account, st->name, shard, false);
    series_t *b = series_find((sample_t *)cur, account, st->name, shard, false);
    if (!b) {
        if (shard[0]) return; /* no shard-level series: enhanced monitoring is off */
        for (int i = 0; i < 4; i++)
            snprintf(cols[i], 24, "0");
        return;
    }
    counters_t zero = {0};
    const counters_t *x = a ? &a->c : &zero, *y = &b->c;
    double dt = cur->at_s - prev->at_s;
    if (dt <= 0) dt = 1e-3;
    human(cols[0], 24, positive(y->in_bytes - x->in_bytes) / dt, "B/s");
    count_text(cols[1], 24, positive(y->in_records - x->in_records) / dt);
    human(cols[2], 24, positive(y->out_bytes - x->out_bytes) / dt, "B/s");
    count_text(cols[3], 24, positive(y->out_records - x->out_records) / dt);
    double lag = -1;
    if (y->has_age_gauge)
        lag = y->age_ms;
    else if (y->age_count > x->age_count)
        lag = (y->age_sum - x->age_sum) / (y->age_count - x->age_count);
    if (lag >= 0) {
        if (lag < 1000)
            snprintf(cols[4], 24, "%.0f ms", lag);
        else
            snprintf(cols[4], 24, "%.1f s", lag / 1000);
    }
}

/* Appends one line, cut to the terminal's width, ending with clear-to-end-of-line. */
static void put_line(sl_buf_t *out, int width, bool tty, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put_line(sl_buf_t *out, int width, bool tty, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    if (width > 0 && n > (size_t)width) n = (size_t)width;
    sl_buf_append(out, line, n);
    sl_buf_append_str(out, tty ? "\x1b[K\n" : "\n");
}

static void draw(sl_buf_t *out, const opts_t *o, sl_client_t *c, const stream_t *streams, size_t n,
                 const sample_t *prev, const sample_t *cur, const char *error, bool tty, int width,
                 int height) {
    sl_buf_reset(out);
    if (tty) sl_buf_append_str(out, "\x1b[H");
    char clock[16];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    int lines = 0;
    put_line(out, width, tty, "%ssluice top%s  %s  %s  %s  every %.1f s%s", tty ? "\x1b[1m" : "",
             tty ? "\x1b[0m" : "", sl_client_endpoint(c), sl_client_region(c), clock, o->interval_s,
             tty ? "  (q: quit)" : "");
    lines++;
    if (error && error[0]) {
        put_line(out, width, tty, "%serror: %s%s", tty ? "\x1b[31m" : "", error,
                 tty ? "\x1b[0m" : "");
        lines++;
    } else if (!cur->available) {
        put_line(out, width, tty, "rates: the server does not serve /metrics");
        lines++;
    }
    put_line(out, width, tty, "%s", "");
    put_line(out, width, tty, "%s%-32s %-9s %-5s %6s %12s %9s %12s %9s %9s%s", tty ? "\x1b[7m" : "",
             "STREAM / SHARD", "STATUS", "MODE", "SHARDS", "IN", "REC/S", "OUT", "REC/S", "LAG",
             tty ? "\x1b[0m" : "");
    lines += 2;
    if (n == 0) {
        put_line(out, width, tty, "(no streams)");
        lines++;
    }
    for (size_t i = 0; i < n && (!tty || lines < height - 1); i++) {
        const stream_t *st = &streams[i];
        char r[5][24];
        rates_text(prev, cur, st, "", r);
        put_line(out, width, tty, "%s%-32s%s %-9s %-5s %6" PRId64 " %12s %9s %12s %9s %9s",
                 tty ? "\x1b[1m" : "", st->name, tty ? "\x1b[0m" : "", st->status,
                 st->on_demand ? "OD" : "PROV", st->open_shards, r[0], r[1], r[2], r[3], r[4]);
        lines++;
        for (size_t j = 0; j < st->shard_count && (!tty || lines < height - 1); j++) {
            const shard_t *sh = &st->shards[j];
            rates_text(prev, cur, st, sh->id, r);
            char range[32];
            snprintf(range, sizeof range, "%3.0f-%3.0f%%", sh->start * 100, sh->end * 100);
            put_line(out, width, tty, "  %-30s %-9s %-12s %12s %9s %12s %9s %9s", sh->id,
                     sh->open ? "open" : "closed", range, r[0], r[1], r[2], r[3], r[4]);
            lines++;
        }
    }
    if (tty) sl_buf_append_str(out, "\x1b[J");
}

/* ---- the loop ---- */

static void usage(FILE *f) {
    fprintf(f, "usage: sluice top [--endpoint-url URL] [--region R] [--profile P] [--stream NAME]\n"
               "                  [--interval SECONDS] [--iterations N]\n"
               "A live view of the streams, their shards, rates (from GET /metrics) and lag.\n"
               "On a terminal it redraws the screen every --interval (default 1 s); q quits.\n"
               "--iterations N: print N frames and exit (the default when stdout is not a "
               "terminal: 2).\n");
}

static int parse(int argc, char **argv, opts_t *o) {
    *o = (opts_t){.interval_s = 1.0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            o->help = true;
            continue;
        }
        const char **slot = !strcmp(a, "--endpoint-url") ? &o->endpoint_url
                            : !strcmp(a, "--region")     ? &o->region
                            : !strcmp(a, "--profile")    ? &o->profile
                            : !strcmp(a, "--stream")     ? &o->stream
                                                         : NULL;
        bool number = !strcmp(a, "--interval") || !strcmp(a, "--iterations");
        if ((!slot && !number) || i + 1 >= argc) {
            fprintf(stderr, "sluice top: %s '%s'\n",
                    slot || number ? "missing value for" : "unknown option", a);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (slot) {
            *slot = v;
            continue;
        }
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        bool bad = errno || *end || end == v;
        if (!strcmp(a, "--interval")) {
            if (bad || d < SL_TOP_INTERVAL_MIN_S || d > SL_TOP_INTERVAL_MAX_S) {
                fprintf(stderr, "sluice top: --interval must be between %g and %g seconds\n",
                        SL_TOP_INTERVAL_MIN_S, SL_TOP_INTERVAL_MAX_S);
                return EXIT_USAGE;
            }
            o->interval_s = d;
        } else {
            if (bad || d < 1 || d > 1e9 || d != (double)(long)d) {
                fprintf(stderr, "sluice top: --iterations must be a positive integer\n");
                return EXIT_USAGE;
            }
            o->iterations = (long)d;
        }
    }
    return EXIT_OK;
}

/* Waits up to ms for a key on an interactive terminal; true when it was q (or Ctrl-C). */
static bool wait_key(bool interactive, int ms) {
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
    int rc = poll(interactive ? &p : NULL, interactive ? 1 : 0, ms);
    if (rc > 0 && (p.revents & POLLIN)) {
        char ch;
        if (read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q' || ch == 3)) return true;
    }
    return false;
}

int sl_cli_top_main(int argc, char **argv) {
    opts_t o;
    int rc = parse(argc, argv, &o);
    if (rc != EXIT_OK) {
        usage(stderr);
        return rc;
    }
    if (o.help) {
        usage(stdout);
        return EXIT_OK;
    }
    sl_client_config_t cc = {.endpoint_url = o.endpoint_url,
                             .default_endpoint_url = DEFAULT_ENDPOINT,
                             .region = o.region,
                             .profile = o.profile,
                             .timeout_ms = 10000,
                             .connections = 2};
    sl_client_t *c;
    rc = sl_client_create(&cc, &c);
    if (rc != 0) {
        fprintf(stderr, "sluice top: %s\n", sl_client_strerror(rc));
        return EXIT_USAGE;
    }
    bool tty = isatty(STDOUT_FILENO) && !o.iterations;
    bool interactive = tty && isatty(STDIN_FILENO);
    long iterations = o.iterations ? o.iterations : tty ? 0 : 2;
    struct termios saved;
    if (interactive && tcgetattr(STDIN_FILENO, &saved) == 0) {
        struct termios raw = saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    } else {
        interactive = false;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (tty) fputs("\x1b[?1049h\x1b[?25l\x1b[2J", stdout);
    fflush(stdout);
    sample_t samples[2] = {{0}};
    sample_t *prev = NULL, *cur = &samples[0];
    sl_buf_t frame = SL_BUF_INIT;
    int status = EXIT_OK;
    for (long i = 0; !stop_requested && (!iterations || i < iterations); i++) {
        double started = now_s();
        char error[512] = "";
        stream_t *streams = NULL;
        size_t n = 0;
        int frc = streams_fetch(c, &o, &streams, &n, error, sizeof error);
        sample_fetch(c, cur);
        int width = 0, height = 0;
        struct winsize ws;
        if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
            width = ws.ws_col;
            height = ws.ws_row;
        }
        draw(&frame, &o, c, streams, n, prev, cur, error, tty, width, height ? height : 10000);
        streams_free(streams, n);
        if (fwrite(frame.data, 1, frame.len, stdout) != frame.len || fflush(stdout) != 0) break;
        if (!tty && frc != EXIT_OK) {
            status = frc;
            break;
        }
        prev = cur;
        cur = cur == &samples[0] ? &samples[1] : &samples[0];
        if (iterations && i + 1 >= iterations) break;
        int wait_ms = (int)((o.interval_s - (now_s() - started)) * 1000);
        if (wait_key(interactive, wait_ms > 0 ? wait_ms : 0)) break;
    }
    if (tty) fputs("\x1b[?25h\x1b[?1049l", stdout);
    fflush(stdout);
    if (interactive) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    sl_buf_free(&frame);
    free(samples[0].items);
    free(samples[1].items);
    sl_client_destroy(c);
    return status;
}
