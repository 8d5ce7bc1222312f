/* `sluice create|delete|ls|describe|put|tail|cat|replay|consume`: the stream commands, each a thin
 * layer over libsluice (client/sluice.h): the control-plane commands send one JSON call and print
 * the answer in a readable form; put uses the producer; tail and cat use the reader (every shard,
 * across reshards, de-aggregating); replay is a reader on one stream feeding a producer on
 * another. Progress goes to stdout as a one-line bar when stdout is a terminal and carries no
 * data. Exit statuses: 0 success, 1 the service answered an error (or records failed), 2 usage,
 * 3 the endpoint could not be reached. */
#include "cli/streams.h"

#include "cli/consume.h"

#include "client/sluice.h"
#include "core/buf.h"
#include "core/common.h"
#include "wire/base64.h"
#include "wire/enc.h"
#include "wire/json.h"
#include "wire/utf8.h"

#include "core/arena.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_SERVICE = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

#define DEFAULT_ENDPOINT "http://127.0.0.1:4567"

typedef struct {
    const char *endpoint_url, *region, *profile;
    const char *stream, *to_stream;
    const char *from, *start_time, *end_time;
    const char *partition_key, *format, *output, *input_format;
    const char *application, *exec_cmd, *multilang_cmd, *worker_id, *dynamodb_endpoint_url;
    const char *failover_ms, *idle_ms, *parent_poll_ms, *shard_sync_ms, *max_records;
    long shard_count;
    bool follow, aggregate, no_deaggregate, no_wait, insecure, http2, help, fan_out;
    sl_client_config_t client_cfg;
    char **args; /* positional arguments (put's records) */
    int arg_count;
} opts_t;

typedef struct {
    const char *name;
    const char *summary;
    const char *usage; /* options after the command name */
    int (*run)(const opts_t *o, sl_client_t *c);
    bool needs_stream;
} command_t;

/* ---- output helpers ---- */

static int service_error(const sl_client_result_t *r, int rc) {
    if (rc == SLUICE_EIO || rc == SLUICE_ECLOSED) {
        fprintf(stderr, "sluice: could not reach the endpoint: %s\n",
                r->error_message ? r->error_message : sl_client_strerror(rc));
        return EXIT_UNREACHABLE;
    }
    fprintf(stderr, "sluice: %s: %s\n", r->error_code ? r->error_code : "Error",
            r->error_message ? r->error_message : sl_client_strerror(rc));
    return EXIT_SERVICE;
}

/* A blocking call with a JSON body built by the caller; on success *v is the parsed answer. */
static int call(sl_client_t *c, const char *op, sl_buf_t *body, sl_arena_t *arena, sl_val_t **v) {
    sl_client_result_t r;
    int rc =
        sl_client_call_sync(c, op, body->data ? body->data : "{}", body->len ? body->len : 2, &r);
    if (rc != 0) {
        int status = service_error(&r, rc);
        sl_client_result_free(&r);
        return status;
    }
    char *copy = sl_arena_strndup(arena, r.body, r.body_len);
    const char *reason;
    *v = NULL;
    if (copy && r.body_len) sl_json_parse(copy, r.body_len, arena, v, &reason);
    sl_client_result_free(&r);
    return EXIT_OK;
}

static void body_stream(sl_buf_t *b, sl_enc_t *e, const char *stream) {
    sl_enc_init(e, b, SL_FMT_JSON);
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "StreamName", stream);
}

/* Progress on one terminal line: only when stdout is a terminal (and so carries no data). */
typedef struct {
    bool on;
    int64_t start_ms, last_ms;
} progress_t;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void progress_init(progress_t *p, bool allowed) {
    p->on = allowed && isatty(STDOUT_FILENO);
    p->start_ms = p->last_ms = now_ms();
}

static void progress_show(progress_t *p, const char *what, uint64_t done, uint64_t total,
                          bool final) {
    if (!p->on) return;
    int64_t t = now_ms();
    if (!final && t - p->last_ms < 100) return;
    p->last_ms = t;
    double secs = (double)(t - p->start_ms) / 1000.0;
    double rate = secs > 0 ? (double)done / secs : 0;
    char bar[32] = "";
    if (total) {
        int filled = (int)(20 * (done > total ? total : done) / total);
        for (int i = 0; i < 20; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[20] = 0;
    }
    printf("\r%s%s%s %" PRIu64 " %s (%.0f/s)%s", total ? "[" : "", bar, total ? "]" : "", done,
           what, rate, final ? "\n" : "\033[K");
    fflush(stdout);
}

/* ---- times ---- */

/* ISO 8601 ("2026-12-06T10:00:00Z", fraction and +hh:mm allowed), epoch seconds, or "now".
 * Returns ms since the epoch, or -1. */
static int64_t parse_time(const char *s) {
    if (!strcmp(s, "now")) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    char *end;
    errno = 0;
    double secs = strtod(s, &end);
    if (end != s && *end == 0 && errno == 0 && secs >= 0) return (int64_t)(secs * 1000);
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) {
        memset(&tm, 0, sizeof tm);
        rest = strptime(s, "%Y-%m-%d", &tm);
        if (!rest || *rest) return -1;
    }
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    if (*rest == '.') {
        int64_t scale = 100;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
            ms += (*rest - '0') * scale;
    }
    if (*rest == 'Z' && rest[1] == 0) return ms;
    if ((*rest == '+' || *rest == '-') && strlen(rest) == 6 && rest[3] == ':') {
        int h = (rest[1] - '0') * 10 + (rest[2] - '0'), m = (rest[4] - '0') * 10 + (rest[5] - '0');
        int64_t off = ((int64_t)h * 60 + m) * 60000;
        return *rest == '+' ? ms - off : ms + off;
    }
    return *rest == 0 ? ms : -1; /* no zone: UTC */
}

/* ---- create, delete, ls, describe ---- */

static const char *or_dash(const char *s) {
    return s ? s : "-";
}

static int wait_active(sl_client_t *c, const char *stream, bool gone) {
    for (int i = 0; i < 600; i++) {
        sl_arena_t arena;
        sl_arena_init(&arena, 4096);
        sl_buf_t b = SL_BUF_INIT;
        sl_enc_t e;
        body_stream(&b, &e, stream);
        sl_enc_map_end(&e);
        sl_client_result_t r;
        int rc = sl_client_call_sync(c, "DescribeStreamSummary", b.data, b.len, &r);
        sl_buf_free(&b);
        bool done = false;
        int status = EXIT_OK;
        if (rc == SLUICE_ESERVICE && gone && r.error_code &&
            !strcmp(r.error_code, "ResourceNotFoundException")) {
            done = true;
        } else if (rc != 0) {
            status = service_error(&r, rc);
            done = true;
        } else if (!gone) {
            char *copy = sl_arena_strndup(&arena, r.body, r.body_len);
            sl_val_t *v = NULL;
            const char *reason;
            if (copy) sl_json_parse(copy, r.body_len, &arena, &v, &reason);
            const char *st =
                sl_val_get_str(sl_val_get(v, "StreamDescriptionSummary"), "StreamStatus", NULL);
            done = st && !strcmp(st, "ACTIVE");
        }
        sl_client_result_free(&r);
        sl_arena_deinit(&arena);
        if (done) return status;
        nanosleep(&(struct timespec){0, 100 * 1000000}, NULL);
    }
    fprintf(stderr, "sluice: %s did not become %s within 60 s\n", stream,
            gone ? "deleted" : "ACTIVE");
    return EXIT_SERVICE;
}

static int cmd_create(const opts_t *o, sl_client_t *c) {
    sl_arena_t arena;
    sl_arena_init(&arena, 1024);
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    body_stream(&b, &e, o->stream);
    sl_enc_kv_int(&e, "ShardCount", o->shard_count > 0 ? o->shard_count : 1);
    sl_enc_map_end(&e);
    sl_val_t *v;
    int rc = call(c, "CreateStream", &b, &arena, &v);
    sl_buf_free(&b);
    sl_arena_deinit(&arena);
    if (rc == EXIT_OK && !o->no_wait) rc = wait_active(c, o->stream, false);
    return rc;
}

static int cmd_delete(const opts_t *o, sl_client_t *c) {
    sl_arena_t arena;
    sl_arena_init(&arena, 1024);
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    body_stream(&b, &e, o->stream);
    sl_enc_kv_bool(&e, "EnforceConsumerDeletion", true);
    sl_enc_map_end(&e);
    sl_val_t *v;
    int rc = call(c, "DeleteStream", &b, &arena, &v);
    sl_buf_free(&b);
    sl_arena_deinit(&arena);
    if (rc == EXIT_OK && !o->no_wait) rc = wait_active(c, o->stream, true);
    return rc;
}

static int cmd_ls(const opts_t *o, sl_client_t *c) {
    char *next = NULL;
    int rc;
    do {
        sl_arena_t arena;
        sl_arena_init(&arena, 4096);
        sl_buf_t b = SL_BUF_INIT;
        sl_enc_t e;
        sl_enc_init(&e, &b, SL_FMT_JSON);
        sl_enc_map_begin(&e);
        if (next) sl_enc_kv_cstr(&e, "ExclusiveStartStreamName", next);
        sl_enc_map_end(&e);
        free(next);
        next = NULL;
        sl_val_t *v = NULL;
        rc = call(c, "ListStreams", &b, &arena, &v);
        sl_buf_free(&b);
        sl_val_t *names = sl_val_get(v, "StreamNames");
        for (size_t i = 0;
             rc == 0 && names && names->type == SL_VAL_ARRAY && i < names->u.arr.count; i++) {
            sl_val_t *n = names->u.arr.items[i];
            if (n->type != SL_VAL_STRING) continue;
            printf("%s\n", n->u.str.ptr);
            bool more = false;
            if (i + 1 == names->u.arr.count && sl_val_get_bool(v, "HasMoreStreams", &more) && more)
                next = strdup(n->u.str.ptr);
        }
        sl_arena_deinit(&arena);
    } while (rc == 0 && next);
    free(next);
    return rc;
}

static int cmd_describe(const opts_t *o, sl_client_t *c) {
    sl_arena_t arena;
    sl_arena_init(&arena, 8192);
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    body_stream(&b, &e, o->stream);
    sl_enc_map_end(&e);
    sl_val_t *v = NULL;
    int rc = call(c, "DescribeStreamSummary", &b, &arena, &v);
    if (rc == 0) {
        sl_val_t *s = sl_val_get(v, "StreamDescriptionSummary");
        int64_t retention = 0, open = 0, consumers = 0;
        sl_val_get_int(s, "RetentionPeriodHours", &retention);
        sl_val_get_int(s, "OpenShardCount", &open);
        sl_val_get_int(s, "ConsumerCount", &consumers);
        const char *mode = sl_val_get_str(sl_val_get(s, "StreamModeDetails"), "StreamMode", NULL);
        printf("stream     %s\narn        %s\nstatus     %s\nmode       %s\nretention  %" PRId64
               " h\nopen       %" PRId64 " shards\nconsumers  %" PRId64 "\n",
               o->stream, or_dash(sl_val_get_str(s, "StreamARN", NULL)),
               or_dash(sl_val_get_str(s, "StreamStatus", NULL)), mode ? mode : "PROVISIONED",
               retention, open, consumers);
    }
    /* Every shard, closed ones too: lineage is what a reshard leaves behind. */
    char *next = NULL;
    bool header = false;
    while (rc == 0) {
        sl_buf_reset(&b);
        sl_enc_init(&e, &b, SL_FMT_JSON);
        sl_enc_map_begin(&e);
        if (next)
            sl_enc_kv_cstr(&e, "NextToken", next);
        else
            sl_enc_kv_cstr(&e, "StreamName", o->stream);
        sl_enc_map_end(&e);
        free(next);
        next = NULL;
        rc = call(c, "ListShards", &b, &arena, &v);
        sl_val_t *list = sl_val_get(v, "Shards");
        for (size_t i = 0; rc == 0 && list && list->type == SL_VAL_ARRAY && i < list->u.arr.count;
             i++) {
            sl_val_t *s = list->u.arr.items[i];
            sl_val_t *range = sl_val_get(s, "HashKeyRange");
            sl_val_t *seq = sl_val_get(s, "SequenceNumberRange");
            const char *parent = sl_val_get_str(s, "ParentShardId", NULL);
            const char *adjacent = sl_val_get_str(s, "AdjacentParentShardId", NULL);
            if (!header) {
                printf("\n%-22s %-6s %-40s %-40s %s\n", "SHARD", "STATE", "STARTING HASH KEY",
                       "ENDING HASH KEY", "PARENTS");
                header = true;
            }
            printf("%-22s %-6s %-40s %-40s %s%s%s\n", or_dash(sl_val_get_str(s, "ShardId", NULL)),
                   seq && sl_val_get(seq, "EndingSequenceNumber") ? "closed" : "open",
                   or_dash(sl_val_get_str(range, "StartingHashKey", NULL)),
                   or_dash(sl_val_get_str(range, "EndingHashKey", NULL)), parent ? parent : "-",
                   adjacent ? " + " : "", adjacent ? adjacent : "");
        }
        const char *tok = sl_val_get_str(v, "NextToken", NULL);
        if (rc != 0 || !tok) break;
        next = strdup(tok);
    }
    free(next);
    sl_buf_free(&b);
    sl_arena_deinit(&arena);
    return rc;
}

/* ---- put ---- */

typedef struct {
    atomic_ulong ok, failed;
    atomic_int first_error_set;
    char first_error[256];
} put_stats_t;

static void put_done(const sl_put_result_t *r, void *arg) {
    put_stats_t *s = arg;
    if (r->error == 0) {
        atomic_fetch_add(&s->ok, 1);
        return;
    }
    atomic_fetch_add(&s->failed, 1);
    if (atomic_exchange(&s->first_error_set, 1) == 0)
        snprintf(s->first_error, sizeof s->first_error, "%s: %s",
                 r->error_code ? r->error_code : "Error", r->error_message ? r->error_message : "");
}

/* Expands a partition-key template: {n} record number, {rand} a random number, {line} the record
 * itself (up to 256 bytes), {{ and }} literal braces. */
static void expand_key(const char *tpl, uint64_t n, const uint8_t *data, size_t len, char *out,
                       size_t cap, unsigned *seed) {
    size_t k = 0;
    for (const char *p = tpl; *p && k + 1 < cap;) {
        char tmp[300];
        const char *piece = NULL;
        size_t plen = 0;
        if (!strncmp(p, "{n}", 3)) {
            plen = (size_t)snprintf(tmp, sizeof tmp, "%" PRIu64, n);
            piece = tmp;
            p += 3;
        } else if (!strncmp(p, "{rand}", 6)) {
            plen = (size_t)snprintf(tmp, sizeof tmp, "%u%u", (unsigned)rand_r(seed),
                                    (unsigned)rand_r(seed));
            piece = tmp;
            p += 6;
        } else if (!strncmp(p, "{line}", 6)) {
            piece = (const char *)data;
            plen = len < 256 ? len : 256;
            p += 6;
        } else if (!strncmp(p, "{{", 2) || !strncmp(p, "}}", 2)) {
            piece = p;
            plen = 1;
            p += 2;
        } else {
            piece = p++;
            plen = 1;
        }
        if (plen > cap - 1 - k) plen = cap - 1 - k;
        memcpy(out + k, piece, plen);
        k += plen;
    }
    if (k == 0) out[k++] = '-'; /* an empty key is invalid; the template expanded to nothing */
    out[k] = 0;
}

static int put_one(sl_producer_t *p, const opts_t *o, uint64_t n, const uint8_t *data, size_t len,
                   put_stats_t *stats, unsigned *seed) {
    char key[1100];
    expand_key(o->partition_key ? o->partition_key : "{rand}", n, data, len, key, sizeof key, seed);
    for (;;) {
        int rc = sl_producer_put(p, key, NULL, data, len, put_done, stats);
        if (rc != SLUICE_ELIMIT) return rc;
        sl_producer_flush_sync(p, 50); /* too many in flight: let some complete */
    }
}

static int cmd_put(const opts_t *o, sl_client_t *c) {
    sl_producer_config_t pc;
    sl_producer_config_init(&pc);
    pc.aggregation_enabled = o->aggregate;
    pc.outstanding_max = 100000;
    sl_producer_t *p;
    if (sl_producer_create(c, o->stream, &pc, &p) != 0) return EXIT_USAGE;
    put_stats_t stats = {0};
    progress_t prog;
    progress_init(&prog, true);
    unsigned seed = (unsigned)now_ms() ^ (unsigned)getpid();
    uint64_t n = 0;
    int rc = 0;
    if (o->arg_count > 0) {
        for (int i = 0; i < o->arg_count && rc == 0; i++)
            rc = put_one(p, o, n++, (const uint8_t *)o->args[i], strlen(o->args[i]), &stats, &seed);
    } else if (o->input_format && !strcmp(o->input_format, "length-prefixed")) {
        /* 4-byte big-endian length, then that many bytes, per record. */
        uint8_t hdr[4];
        uint8_t *buf = malloc(1024 * 1024);
        while (rc == 0 && buf && fread(hdr, 1, 4, stdin) == 4) {
            size_t len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
            if (len > 1024 * 1024 || fread(buf, 1, len, stdin) != len) {
                fprintf(stderr, "sluice: truncated or oversized record %" PRIu64 " on stdin\n", n);
                rc = SLUICE_EINVAL;
                break;
            }
            rc = put_one(p, o, n++, buf, len, &stats, &seed);
            progress_show(&prog, "records read", n, 0, false);
        }
        free(buf);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        while (rc == 0 && (got = getline(&line, &cap, stdin)) >= 0) {
            size_t len = (size_t)got;
            if (len && line[len - 1] == '\n') len--;
            if (len && line[len - 1] == '\r') len--;
            rc = put_one(p, o, n++, (const uint8_t *)line, len, &stats, &seed);
            progress_show(&prog, "records read", n, 0, false);
        }
        free(line);
    }
    if (rc != 0) fprintf(stderr, "sluice: record %" PRIu64 ": %s\n", n, sl_client_strerror(rc));
    while (sl_producer_flush_sync(p, 100) != 0)
        progress_show(&prog, "records stored", atomic_load(&stats.ok), n, false);
    sl_producer_destroy(p);
    progress_show(&prog, "records stored", atomic_load(&stats.ok), n, true);
    unsigned long failed = atomic_load(&stats.failed);
    fprintf(stderr, "put %lu of %" PRIu64 " records to %s", atomic_load(&stats.ok), n, o->stream);
    if (failed) fprintf(stderr, " (%lu failed, first: %s)", failed, stats.first_error);
    fprintf(stderr, "\n");
    if (failed && atomic_load(&stats.ok) == 0 && strstr(stats.first_error, "ConnectionError"))
        return EXIT_UNREACHABLE;
    return rc != 0 ? EXIT_USAGE : failed ? EXIT_SERVICE : EXIT_OK;
}

/* ---- tail, cat, replay ---- */

typedef enum { FMT_RAW, FMT_JSON, FMT_HEX } fmt_t;

typedef struct {
    FILE *out;
    fmt_t fmt;
    uint64_t count;
    sl_buf_t line;
} print_t;

static int print_record(const sl_record_t *r, void *arg) {
    print_t *pr = arg;
    pr->count++;
    if (pr->fmt == FMT_RAW) {
        fwrite(r->data, 1, r->data_len, pr->out);
        fputc('\n', pr->out);
    } else if (pr->fmt == FMT_HEX) {
        fprintf(pr->out, "%s %s", r->sequence_number, r->partition_key);
        if (r->aggregated) fprintf(pr->out, " #%" PRIu64, r->sub_sequence_number);
        fputc(' ', pr->out);
        for (size_t i = 0; i < r->data_len; i++)
            fprintf(pr->out, "%02x", r->data[i]);
        fputc('\n', pr->out);
    } else {
        sl_buf_reset(&pr->line);
        sl_enc_t e;
        sl_enc_init(&e, &pr->line, SL_FMT_JSON);
        sl_enc_map_begin(&e);
        sl_enc_kv_cstr(&e, "shardId", r->shard_id);
        sl_enc_kv_cstr(&e, "sequenceNumber", r->sequence_number);
        if (r->aggregated) sl_enc_kv_int(&e, "subSequenceNumber", (int64_t)r->sub_sequence_number);
        sl_enc_kv_cstr(&e, "partitionKey", r->partition_key);
        if (r->explicit_hash_key) sl_enc_kv_cstr(&e, "explicitHashKey", r->explicit_hash_key);
        sl_enc_key(&e, "approximateArrivalTimestamp");
        sl_enc_timestamp_ms(&e, r->arrival_ms);
        if (sl_utf8_valid(r->data, r->data_len)) {
            sl_enc_kv_str(&e, "data", (const char *)r->data, r->data_len);
        } else {
            sl_enc_key(&e, "dataBase64");
            sl_enc_bytes(&e, r->data, r->data_len);
        }
        sl_enc_map_end(&e);
        fwrite(pr->line.data, 1, pr->line.len, pr->out);
        fputc('\n', pr->out);
    }
    return 0;
}

static int parse_format(const char *s, fmt_t *out) {
    if (!s || !strcmp(s, "raw"))
        *out = FMT_RAW;
    else if (!strcmp(s, "json"))
        *out = FMT_JSON;
    else if (!strcmp(s, "hex"))
        *out = FMT_HEX;
    else
        return -1;
    return 0;
}

static int reader_failed(sl_reader_t *r, int rc) {
    fprintf(stderr, "sluice: %s\n", sl_reader_error(r));
    return rc == SLUICE_EIO ? EXIT_UNREACHABLE : EXIT_SERVICE;
}

/* Reads with `cfg` until caught up (or forever with follow), printing to out. */
static int read_out(const opts_t *o, sl_client_t *c, sl_reader_config_t *cfg, FILE *out,
                    bool follow, bool progress) {
    print_t pr = {.out = out};
    if (parse_format(o->format, &pr.fmt) != 0) {
        fprintf(stderr, "sluice: --format must be raw, json or hex\n");
        return EXIT_USAGE;
    }
    sl_reader_t *r;
    if (sl_reader_create(c, o->stream, cfg, &r) != 0) return EXIT_USAGE;
    progress_t prog;
    progress_init(&prog, progress);
    int status = EXIT_OK;
    for (;;) {
        bool caught_up, ended;
        int rc = sl_reader_poll(r, print_record, &pr, &caught_up, &ended);
        if (rc < 0) {
            status = reader_failed(r, rc);
            break;
        }
        fflush(out);
        progress_show(&prog, "records", pr.count, 0, false);
        if (ended || (caught_up && !follow)) break;
        if (caught_up) nanosleep(&(struct timespec){0, 200 * 1000000}, NULL); /* poll interval */
    }
    progress_show(&prog, "records", pr.count, 0, true);
    sl_buf_free(&pr.line);
    sl_reader_destroy(r);
    return status;
}

static int start_of(const opts_t *o, sl_reader_config_t *cfg, const char *from, const char *dflt) {
    const char *f = from ? from : dflt;
    if (!strcmp(f, "LATEST")) {
        cfg->start = SL_READ_LATEST;
    } else if (!strcmp(f, "TRIM_HORIZON")) {
        cfg->start = SL_READ_TRIM_HORIZON;
    } else {
        cfg->start = SL_READ_AT_TIMESTAMP;
        cfg->start_ms = parse_time(f);
        if (cfg->start_ms < 0) {
            fprintf(stderr, "sluice: bad time '%s' (ISO 8601, epoch seconds or now)\n", f);
            return -1;
        }
    }
    if (o->end_time) {
        cfg->end_ms = parse_time(o->end_time);
        if (cfg->end_ms < 0) {
            fprintf(stderr, "sluice: bad --end-time '%s'\n", o->end_time);
            return -1;
        }
    }
    return 0;
}

static int cmd_tail(const opts_t *o, sl_client_t *c) {
    sl_reader_config_t cfg = {.deaggregate = !o->no_deaggregate};
    if (start_of(o, &cfg, o->from, o->follow ? "LATEST" : "TRIM_HORIZON") != 0) return EXIT_USAGE;
    return read_out(o, c, &cfg, stdout, o->follow, false);
}

static int cmd_cat(const opts_t *o, sl_client_t *c) {
    sl_reader_config_t cfg = {.deaggregate = !o->no_deaggregate};
    if (start_of(o, &cfg, o->start_time ? o->start_time : o->from, "TRIM_HORIZON") != 0)
        return EXIT_USAGE;
    FILE *out = stdout;
    if (o->output && !(out = fopen(o->output, "wb"))) {
        fprintf(stderr, "sluice: cannot open %s: %s\n", o->output, strerror(errno));
        return EXIT_USAGE;
    }
    int rc = read_out(o, c, &cfg, out, false, out != stdout);
    if (out != stdout && fclose(out) != 0 && rc == 0) rc = EXIT_USAGE;
    return rc;
}

typedef struct {
    sl_producer_t *p;
    put_stats_t *stats;
    uint64_t read;
    int error;
} replay_t;

static int replay_record(const sl_record_t *r, void *arg) {
    replay_t *rp = arg;
    rp->read++;
    for (;;) {
        int rc = sl_producer_put(rp->p, r->partition_key, r->explicit_hash_key, r->data,
                                 r->data_len, put_done, rp->stats);
        if (rc == 0) return 0;
        if (rc != SLUICE_ELIMIT) {
            rp->error = rc;
            return rc;
        }
        sl_producer_flush_sync(rp->p, 50);
    }
}

static int cmd_replay(const opts_t *o, sl_client_t *c) {
    if (!o->to_stream || !o->start_time) {
        fprintf(stderr, "sluice replay: --to-stream and --start-time are required\n");
        return EXIT_USAGE;
    }
    sl_reader_config_t cfg = {.deaggregate = true};
    if (start_of(o, &cfg, o->start_time, NULL) != 0) return EXIT_USAGE;
    sl_producer_config_t pc;
    sl_producer_config_init(&pc);
    pc.aggregation_enabled = o->aggregate;
    pc.outstanding_max = 100000;
    sl_producer_t *p;
    sl_reader_t *r;
    if (sl_producer_create(c, o->to_stream, &pc, &p) != 0) return EXIT_USAGE;
    if (sl_reader_create(c, o->stream, &cfg, &r) != 0) {
        sl_producer_destroy(p);
        return EXIT_USAGE;
    }
    put_stats_t stats = {0};
    replay_t rp = {.p = p, .stats = &stats};
    progress_t prog;
    progress_init(&prog, true);
    int status = EXIT_OK;
    for (;;) {
        bool caught_up, ended;
        int rc = sl_reader_poll(r, replay_record, &rp, &caught_up, &ended);
        if (rc < 0) {
            status = rp.error ? EXIT_SERVICE : reader_failed(r, rc);
            break;
        }
        progress_show(&prog, "records copied", atomic_load(&stats.ok), rp.read, false);
        if (ended || caught_up) break;
    }
    while (sl_producer_flush_sync(p, 100) != 0)
        progress_show(&prog, "records copied", atomic_load(&stats.ok), rp.read, false);
    sl_producer_destroy(p);
    sl_reader_destroy(r);
    progress_show(&prog, "records copied", atomic_load(&stats.ok), rp.read, true);
    unsigned long failed = atomic_load(&stats.failed);
    fprintf(stderr, "replayed %lu of %" PRIu64 " records from %s to %s", atomic_load(&stats.ok),
            rp.read, o->stream, o->to_stream);
    if (failed) fprintf(stderr, " (%lu failed, first: %s)", failed, stats.first_error);
    fprintf(stderr, "\n");
    return status != EXIT_OK ? status : failed ? EXIT_SERVICE : EXIT_OK;
}

/* A positive integer option (NULL: 0, the default). -1 when malformed. */
static int int_option(const char *name, const char *v) {
    if (!v) return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 1 || n > 1000000000) {
        fprintf(stderr, "sluice consume: %s must be a positive integer\n", name);
        return -1;
    }
    return (int)n;
}

static int cmd_consume(const opts_t *o, sl_client_t *c) {
    sl_reader_config_t rc = {0};
    if (start_of(o, &rc, o->from, "TRIM_HORIZON") != 0) return EXIT_USAGE;
    sl_cli_consume_opts_t co = {
        .stream = o->stream,
        .application = o->application,
        .exec_cmd = o->exec_cmd,
        .multilang_cmd = o->multilang_cmd,
        .worker_id = o->worker_id,
        .dynamodb_endpoint_url = o->dynamodb_endpoint_url,
        .start = rc.start,
        .start_ms = rc.start_ms,
        .retrieval = o->fan_out ? SL_RETRIEVAL_FAN_OUT : SL_RETRIEVAL_POLLING,
        .failover_time_ms = int_option("--failover-time-ms", o->failover_ms),
        .idle_time_ms = int_option("--idle-time-between-reads-ms", o->idle_ms),
        .parent_poll_ms = int_option("--parent-shard-poll-interval-ms", o->parent_poll_ms),
        .shard_sync_ms = int_option("--shard-sync-interval-ms", o->shard_sync_ms),
        .max_records = int_option("--max-records", o->max_records),
        .client_cfg = o->client_cfg,
    };
    if (co.failover_time_ms < 0 || co.idle_time_ms < 0 || co.parent_poll_ms < 0 ||
        co.shard_sync_ms < 0 || co.max_records < 0)
        return EXIT_USAGE;
    return sl_cli_consume(c, &co);
}

/* ---- the command table and options ---- */

#define COMMON "[--endpoint-url URL] [--region R] [--profile P] [--http2] [--no-verify-ssl]"

static const command_t commands[] = {
    {"create", "create a stream and wait until it is ACTIVE",
     "--stream-name S [--shard-count N] [--no-wait]", cmd_create, true},
    {"delete", "delete a stream (and its consumers) and wait until it is gone",
     "--stream-name S [--no-wait]", cmd_delete, true},
    {"ls", "list the streams", "", cmd_ls, false},
    {"describe", "a stream's status, settings and shards (hash ranges, lineage)", "--stream-name S",
     cmd_describe, true},
    {"put", "put records: the arguments, or stdin one per line (or length-prefixed)",
     "--stream-name S [--partition-key TEMPLATE] [--aggregate]\n"
     "             [--input lines|length-prefixed] [RECORD...]",
     cmd_put, true},
    {"tail", "print a stream's records, all shards, across reshards (-f: follow)",
     "--stream-name S [-f] [--from LATEST|TRIM_HORIZON|TIME] [--format raw|json|hex]\n"
     "             [--no-deaggregate]",
     cmd_tail, true},
    {"cat", "print a time range of a stream (to stdout or a file)",
     "--stream-name S [--start-time T] [--end-time T] [--output FILE]\n"
     "             [--format raw|json|hex] [--no-deaggregate]",
     cmd_cat, true},
    {"replay", "copy a time range of one stream into another",
     "--from-stream A --to-stream B --start-time T [--end-time T] [--aggregate]", cmd_replay, true},
    {"consume", "a KCL-style worker: leases, checkpoints, a command per batch or a processor",
     "--stream-name S --application-name APP (--exec CMD | --multilang CMD)\n"
     "             [--from LATEST|TRIM_HORIZON|TIME] [--enhanced-fan-out] [--worker-id ID]\n"
     "             [--dynamodb-endpoint-url URL] [--failover-time-ms N]\n"
     "             [--idle-time-between-reads-ms N] [--parent-shard-poll-interval-ms N]\n"
     "             [--shard-sync-interval-ms N] [--max-records N]",
     cmd_consume, true},
};

bool sl_cli_is_stream_command(const char *name) {
    for (size_t i = 0; i < SL_ARRAY_LEN(commands); i++)
        if (!strcmp(commands[i].name, name)) return true;
    return false;
}

void sl_cli_stream_usage(FILE *out) {
    for (size_t i = 0; i < SL_ARRAY_LEN(commands); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

static void command_help(FILE *out, const command_t *cmd) {
    fprintf(out,
            "Usage: sluice %s %s\n              %s\n\n%s.\n\n"
            "Every command takes --endpoint-url (default: AWS_ENDPOINT_URL_KINESIS,\n"
            "AWS_ENDPOINT_URL, else " DEFAULT_ENDPOINT "), --region (default: AWS_REGION,\n"
            "AWS_DEFAULT_REGION, the profile's, else us-east-1), --profile, --http2 (HTTP/2:\n"
            "prior knowledge on http://, ALPN on https://) and --no-verify-ssl.\n"
            "Times: ISO 8601 (2026-12-06T10:00:00Z), epoch seconds, or now.\n"
            "Exit status: 0 success, 1 service error or failed records, 2 usage, 3 unreachable.\n"
            "See docs/cli.md.\n",
            cmd->name, cmd->usage, COMMON, cmd->summary);
}

int sl_cli_stream_main(const char *name, int argc, char **argv) {
    const command_t *cmd = NULL;
    for (size_t i = 0; i < SL_ARRAY_LEN(commands); i++)
        if (!strcmp(commands[i].name, name)) cmd = &commands[i];
    if (!cmd) return EXIT_USAGE;
    opts_t o = {0};
    o.args = calloc((size_t)argc + 1, sizeof *o.args);
    if (!o.args) return EXIT_USAGE;
    struct {
        const char *flag;
        const char **dst;
    } values[] = {
        {"--endpoint-url", &o.endpoint_url},
        {"--region", &o.region},
        {"--profile", &o.profile},
        {"--stream-name", &o.stream},
        {"--from-stream", &o.stream},
        {"--to-stream", &o.to_stream},
        {"--from", &o.from},
        {"--start-time", &o.start_time},
        {"--end-time", &o.end_time},
        {"--partition-key", &o.partition_key},
        {"--format", &o.format},
        {"--output", &o.output},
        {"--input", &o.input_format},
        {"--application-name", &o.application},
        {"--exec", &o.exec_cmd},
        {"--multilang", &o.multilang_cmd},
        {"--worker-id", &o.worker_id},
        {"--dynamodb-endpoint-url", &o.dynamodb_endpoint_url},
        {"--failover-time-ms", &o.failover_ms},
        {"--idle-time-between-reads-ms", &o.idle_ms},
        {"--parent-shard-poll-interval-ms", &o.parent_poll_ms},
        {"--shard-sync-interval-ms", &o.shard_sync_ms},
        {"--max-records", &o.max_records},
    };
    struct {
        const char *flag;
        bool *dst;
    } flags[] = {
        {"-f", &o.follow},
        {"--follow", &o.follow},
        {"--aggregate", &o.aggregate},
        {"--no-deaggregate", &o.no_deaggregate},
        {"--no-wait", &o.no_wait},
        {"--no-verify-ssl", &o.insecure},
        {"--http2", &o.http2},
        {"--enhanced-fan-out", &o.fan_out},
        {"--help", &o.help},
        {"-h", &o.help},
    };
    const char *shards = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool matched = false;
        if (!strcmp(a, "--shard-count")) {
            if (i + 1 >= argc) goto missing;
            shards = argv[++i];
            continue;
        }
        for (size_t k = 0; k < SL_ARRAY_LEN(values) && !matched; k++) {
            size_t n = strlen(values[k].flag);
            if (!strncmp(a, values[k].flag, n) && a[n] == '=') {
                *values[k].dst = a + n + 1;
                matched = true;
            } else if (!strcmp(a, values[k].flag)) {
                if (i + 1 >= argc) goto missing;
                *values[k].dst = argv[++i];
                matched = true;
            }
        }
        for (size_t k = 0; k < SL_ARRAY_LEN(flags) && !matched; k++)
            if (!strcmp(a, flags[k].flag)) *flags[k].dst = matched = true;
        if (matched) continue;
        if (a[0] == '-' && a[1] && strcmp(a, "-") != 0) {
            fprintf(stderr, "sluice %s: unknown option %s\n\n", cmd->name, a);
            command_help(stderr, cmd);
            free(o.args);
            return EXIT_USAGE;
        }
        o.args[o.arg_count++] = argv[i];
        continue;
    missing:
        fprintf(stderr, "sluice %s: %s needs a value\n", cmd->name, a);
        free(o.args);
        return EXIT_USAGE;
    }
    if (o.help) {
        command_help(stdout, cmd);
        free(o.args);
        return EXIT_OK;
    }
    int status = EXIT_USAGE;
    if (shards) {
        char *end;
        o.shard_count = strtol(shards, &end, 10);
        if (*end || o.shard_count < 1) {
            fprintf(stderr, "sluice %s: --shard-count must be a positive integer\n", cmd->name);
            goto done;
        }
    }
    if (cmd->needs_stream && !o.stream) {
        fprintf(stderr, "sluice %s: %s is required\n\n", cmd->name,
                cmd->run == cmd_replay ? "--from-stream" : "--stream-name");
        command_help(stderr, cmd);
        goto done;
    }
    if (o.arg_count && cmd->run != cmd_put) {
        fprintf(stderr, "sluice %s: unexpected argument %s\n", cmd->name, o.args[0]);
        goto done;
    }
    sl_client_config_t cc = {.endpoint_url = o.endpoint_url,
                             .default_endpoint_url = DEFAULT_ENDPOINT,
                             .region = o.region,
                             .profile = o.profile,
                             .tls_insecure = o.insecure,
                             .http_version = o.http2 ? 2 : 0,
                             .connect_timeout_ms = 3000};
    o.client_cfg = cc;
    sl_client_t *c;
    int rc = sl_client_create(&cc, &c);
    if (rc != 0) {
        fprintf(stderr, "sluice %s: %s\n", cmd->name,
                rc == SLUICE_EINVAL ? "bad --endpoint-url (http://host:port or https://host)"
                                    : sl_client_strerror(rc));
        goto done;
    }
    status = cmd->run(&o, c);
    sl_client_destroy(c);
done:
    free(o.args);
    return status;
}
