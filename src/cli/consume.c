/* `sluice consume`: libsluice's consumer (client/sluice.h) with one of two record processors:
 *
 * --exec CMD: per batch, `/bin/sh -c CMD` with the batch's records on stdin (each record's data
 *   and a newline) and SLUICE_* variables describing the batch; exit status 0 checkpoints the
 *   batch's last record, anything else runs the batch again after a second (at least once).
 * --multilang CMD: per leased shard, one `/bin/sh -c CMD` child speaking the KCL MultiLangDaemon
 *   protocol: one JSON message per line on its stdin (initialize, processRecords, leaseLost,
 *   shardEnded, shutdownRequested), each answered on its stdout by {"action":"status",
 *   "responseFor":...}; before that answer the child may send {"action":"checkpoint",
 *   "sequenceNumber":..., "subSequenceNumber":...}, which is stored and answered with
 *   {"action":"checkpoint", ..., "error": null | "<KCL exception name>"}. Processors written
 *   with the aws-kcl npm package (or amazon_kclpy) run unchanged. A child that exits or writes
 *   something unreadable stops the worker (its leases go to the other workers).
 * Children inherit the worker's environment and stderr, and run in their own process group so a
 * terminal's Ctrl-C reaches only the worker, which then shuts down gracefully (SIGTERM too). */
#include "cli/consume.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { EXIT_OK = 0, EXIT_SERVICE = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

typedef struct {
    const sl_cli_consume_opts_t *o;
    sl_consumer_t *consumer;
    volatile sig_atomic_t failed; /* a processor child failed: the worker stops */
} app_t;

static sl_consumer_t *signal_target;
static volatile sig_atomic_t stopping; /* SIGTERM/SIGINT arrived: no more retries */

static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
    if (signal_target) sl_consumer_shutdown(signal_target);
}

/* An environment for a child: the worker's, plus `extra` ("NAME=value" strings, heap). */
static char **child_env(char **extra, size_t nextra) {
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + nextra + 1, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; j < nextra && !replaced; j++) {
            const char *eq = strchr(extra[j], '=');
            size_t len = eq ? (size_t)(eq - extra[j]) + 1 : 0;
            replaced = len && !strncmp(environ[i], extra[j], len);
        }
        if (!replaced) env[k++] = environ[i];
    }
    for (size_t j = 0; j < nextra; j++)
        env[k++] = extra[j];
    env[k] = NULL;
    return env;
}

/* Starts /bin/sh -c cmd with a pipe on its stdin (*in) and, when out is not NULL, on its stdout.
 * Returns the pid or -1. */
static pid_t spawn(const char *cmd, char **env, int *in, int *out) {
    int pin[2], pout[2] = {-1, -1};
    if (pipe2(pin, O_CLOEXEC) != 0) return -1;
    if (out && pipe2(pout, O_CLOEXEC) != 0) {
        close(pin[0]);
        close(pin[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(pin[0], 0);
        if (out) dup2(pout[1], 1);
        char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
        execve("/bin/sh", argv, env);
        _exit(127);
    }
    close(pin[0]);
    if (out) close(pout[1]);
    if (pid < 0) {
        close(pin[1]);
        if (out) close(pout[0]);
        return -1;
    }
    *in = pin[1];
    if (out) *out = pout[0];
    return pid;
}

static bool write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        len -= (size_t)w;
    }
    return true;
}

static int wait_child(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- --exec ---- */

typedef struct {
    app_t *app;
    char shard[128];
    char done_seq[136]; /* the last record of the last batch the command accepted */
    uint64_t done_sub;
} exec_shard_t;

static int exec_init(void *arg, const sl_shard_init_t *in, void **shard) {
    exec_shard_t *s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->app = arg;
    snprintf(s->shard, sizeof s->shard, "%s", in->shard_id);
    *shard = s;
    return 0;
}

static int exec_batch(exec_shard_t *s, const sl_records_input_t *in) {
    const sl_record_t *first = &in->records[0], *last = &in->records[in->count - 1];
    char *extra[6] = {0};
    bool ok = asprintf(&extra[0], "SLUICE_SHARD_ID=%s", s->shard) > 0 &&
              asprintf(&extra[1], "SLUICE_STREAM_NAME=%s", s->app->o->stream) > 0 &&
              asprintf(&extra[2], "SLUICE_APPLICATION_NAME=%s", s->app->o->application) > 0 &&
              asprintf(&extra[3], "SLUICE_RECORD_COUNT=%zu", in->count) > 0 &&
              asprintf(&extra[4], "SLUICE_FIRST_SEQUENCE_NUMBER=%s", first->sequence_number) > 0 &&
              asprintf(&extra[5], "SLUICE_LAST_SEQUENCE_NUMBER=%s", last->sequence_number) > 0;
    char **env = ok ? child_env(extra, SL_ARRAY_LEN(extra)) : NULL;
    int status = -1;
    int in_fd = -1;
    pid_t pid = env ? spawn(s->app->o->exec_cmd, env, &in_fd, NULL) : -1;
    if (pid > 0) {
        bool wrote = true;
        for (size_t i = 0; i < in->count && wrote; i++)
            wrote = write_all(in_fd, in->records[i].data, in->records[i].data_len) &&
                    write_all(in_fd, "\n", 1);
        close(in_fd);
        status = wait_child(pid);
        if (!wrote && status == 0) status = -1;
    }
    free(env);
    for (size_t i = 0; i < SL_ARRAY_LEN(extra); i++)
        free(extra[i]);
    return status;
}

static void exec_records(void *shard, const sl_records_input_t *in) {
    exec_shard_t *s = shard;
    if (in->count == 0) return;
    const sl_record_t *last = &in->records[in->count - 1];
    for (int attempt = 0;; attempt++) {
        int status = exec_batch(s, in);
        if (status == 0) break;
        fprintf(stderr, "sluice consume: %s: the command exited with %d on %zu records; again\n",
                s->shard, status, in->count);
        /* Shutting down: the batch stays unacknowledged and comes again to the next worker. */
        for (int i = 0; i < 50; i++) {
            if (s->app->failed || stopping) return;
            usleep(20 * 1000);
        }
        if (attempt >= 1000) return;
    }
    snprintf(s->done_seq, sizeof s->done_seq, "%s", last->sequence_number);
    s->done_sub = last->sub_sequence_number;
    int rc = sl_checkpointer_checkpoint(in->checkpointer, s->done_seq, s->done_sub);
    if (rc != 0 && rc != SLUICE_ELEASELOST)
        fprintf(stderr, "sluice consume: %s: checkpoint failed: %s\n", s->shard,
                sl_client_strerror(rc));
}

static void exec_lost(void *shard) {
    free(shard);
}

static void exec_ended(void *shard, sl_checkpointer_t *cp) {
    sl_checkpointer_checkpoint(cp, NULL, 0);
    free(shard);
}

static void exec_shutdown(void *shard, sl_checkpointer_t *cp) {
    exec_shard_t *s = shard;
    if (s->done_seq[0]) sl_checkpointer_checkpoint(cp, s->done_seq, s->done_sub);
    free(s);
}

/* ---- --multilang ---- */

typedef struct {
    app_t *app;
    char shard[128];
    pid_t pid;
    int in_fd;
    FILE *out; /* the child's stdout */
    char *line;
    size_t line_cap;
} ml_shard_t;

static const char *checkpoint_error(int rc) {
    switch (rc) {
    case 0:
        return NULL;
    case SLUICE_ELEASELOST:
        return "ShutdownException";
    case SLUICE_EINVAL:
        return "IllegalArgumentException";
    default:
        return "KinesisClientLibDependencyException";
    }
}

/* Sends one message (buf, without its newline) and runs the exchange until the child's status
 * for `action`. False when the child failed (it exited, or wrote something that is not a
 * message). */
static bool ml_exchange(ml_shard_t *s, sl_buf_t *msg, const char *action, sl_checkpointer_t *cp) {
    sl_buf_append_byte(msg, '\n');
    if (sl_buf_failed(msg) || !write_all(s->in_fd, msg->data, msg->len)) goto failed;
    for (;;) {
        ssize_t n = getline(&s->line, &s->line_cap, s->out);
        if (n < 0) goto failed;
        while (n > 0 && (s->line[n - 1] == '\n' || s->line[n - 1] == '\r'))
            s->line[--n] = 0;
        if (n == 0) continue;
        sl_arena_t arena;
        sl_arena_init(&arena, 4096);
        sl_val_t *v = NULL;
        const char *reason;
        char *copy = sl_arena_strndup(&arena, s->line, (size_t)n);
        const char *what = NULL;
        if (copy && sl_json_parse(copy, (size_t)n, &arena, &v, &reason) == 0)
            what = sl_val_get_str(v, "action", NULL);
        if (!what) {
            /* Not a message: the child printed something else on stdout. */
            fprintf(stderr, "sluice consume: %s: not a MultiLangDaemon message: %s\n", s->shard,
                    s->line);
            sl_arena_deinit(&arena);
            continue;
        }
        if (!strcmp(what, "status")) {
            const char *for_what = sl_val_get_str(v, "responseFor", NULL);
            bool match = for_what && !strcmp(for_what, action);
            sl_arena_deinit(&arena);
            if (match) return true;
            continue;
        }
        if (!strcmp(what, "checkpoint")) {
            const char *seq = sl_val_get_str(v, "sequenceNumber", NULL);
            int64_t sub = 0;
            sl_val_get_int(v, "subSequenceNumber", &sub);
            int rc = cp ? sl_checkpointer_checkpoint(cp, seq, (uint64_t)(sub < 0 ? 0 : sub))
                        : SLUICE_ELEASELOST;
            sl_buf_t b = SL_BUF_INIT;
            sl_enc_t e;
            sl_enc_init(&e, &b, SL_FMT_JSON);
            sl_enc_map_begin(&e);
            sl_enc_kv_cstr(&e, "action", "checkpoint");
            sl_enc_key(&e, "sequenceNumber");
            if (seq)
                sl_enc_cstr(&e, seq);
            else
                sl_enc_null(&e);
            sl_enc_kv_int(&e, "subSequenceNumber", sub);
            sl_enc_key(&e, "error");
            const char *err = checkpoint_error(rc);
            if (err)
                sl_enc_cstr(&e, err);
            else
                sl_enc_null(&e);
            sl_enc_map_end(&e);
            sl_buf_append_byte(&b, '\n');
            bool ok = !sl_buf_failed(&b) && write_all(s->in_fd, b.data, b.len);
            sl_buf_free(&b);
            sl_arena_deinit(&arena);
            if (!ok) goto failed;
            continue;
        }
        fprintf(stderr, "sluice consume: %s: unexpected action %s while waiting for %s\n", s->shard,
                what, action);
        sl_arena_deinit(&arena);
    }
failed:
    fprintf(stderr, "sluice consume: %s: the processor exited or failed during %s: stopping\n",
            s->shard, action);
    s->app->failed = 1;
    sl_consumer_shutdown(s->app->consumer);
    return false;
}

static void ml_close(ml_shard_t *s) {
    if (s->in_fd >= 0) close(s->in_fd);
    if (s->out) fclose(s->out);
    if (s->pid > 0) {
        /* The child ends when its stdin closes; one that lingers is stopped. */
        for (int i = 0; i < 250; i++) {
            int status;
            pid_t r = waitpid(s->pid, &status, WNOHANG);
            if (r == s->pid || (r < 0 && errno != EINTR)) {
                s->pid = 0;
                break;
            }
            usleep(20 * 1000);
        }
        if (s->pid > 0) {
            kill(-s->pid, SIGKILL);
            wait_child(s->pid);
        }
    }
    free(s->line);
    free(s);
}

static int ml_init(void *arg, const sl_shard_init_t *in, void **shard) {
    app_t *app = arg;
    if (app->failed) return -1;
    ml_shard_t *s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->app = app;
    s->in_fd = -1;
    snprintf(s->shard, sizeof s->shard, "%s", in->shard_id);
    char **env = child_env(NULL, 0);
    int out_fd = -1;
    s->pid = env ? spawn(app->o->multilang_cmd, env, &s->in_fd, &out_fd) : -1;
    free(env);
    if (s->pid > 0) s->out = fdopen(out_fd, "r");
    if (s->pid <= 0 || !s->out) {
        if (s->pid > 0 && !s->out) close(out_fd);
        fprintf(stderr, "sluice consume: could not start %s\n", app->o->multilang_cmd);
        ml_close(s);
        return -1;
    }
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "action", "initialize");
    sl_enc_kv_cstr(&e, "shardId", in->shard_id);
    sl_enc_kv_cstr(&e, "sequenceNumber", in->sequence_number);
    sl_enc_kv_int(&e, "subSequenceNumber", (int64_t)in->sub_sequence_number);
    sl_enc_map_end(&e);
    bool ok = ml_exchange(s, &b, "initialize", NULL);
    sl_buf_free(&b);
    if (!ok) {
        ml_close(s);
        return -1;
    }
    *shard = s;
    return 0;
}

static void ml_records(void *shard, const sl_records_input_t *in) {
    ml_shard_t *s = shard;
    if (s->app->failed) return;
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "action", "processRecords");
    sl_enc_kv_int(&e, "millisBehindLatest", in->millis_behind_latest);
    sl_enc_key(&e, "records");
    sl_enc_array_begin(&e);
    for (size_t i = 0; i < in->count; i++) {
        const sl_record_t *r = &in->records[i];
        sl_enc_map_begin(&e);
        sl_enc_kv_cstr(&e, "action", "record");
        sl_enc_key(&e, "data");
        sl_enc_bytes(&e, r->data, r->data_len);
        sl_enc_kv_cstr(&e, "partitionKey", r->partition_key);
        if (r->explicit_hash_key) sl_enc_kv_cstr(&e, "explicitHashKey", r->explicit_hash_key);
        sl_enc_kv_cstr(&e, "sequenceNumber", r->sequence_number);
        sl_enc_kv_int(&e, "subSequenceNumber", (int64_t)r->sub_sequence_number);
        sl_enc_kv_int(&e, "approximateArrivalTimestamp", r->arrival_ms);
        sl_enc_map_end(&e);
    }
    sl_enc_array_end(&e);
    sl_enc_map_end(&e);
    ml_exchange(s, &b, "processRecords", in->checkpointer);
    sl_buf_free(&b);
}

static void ml_simple(ml_shard_t *s, const char *action, sl_checkpointer_t *cp) {
    if (!s->app->failed) {
        sl_buf_t b = SL_BUF_INIT;
        sl_enc_t e;
        sl_enc_init(&e, &b, SL_FMT_JSON);
        sl_enc_map_begin(&e);
        sl_enc_kv_cstr(&e, "action", action);
        sl_enc_map_end(&e);
        ml_exchange(s, &b, action, cp);
        sl_buf_free(&b);
    }
    ml_close(s);
}

static void ml_lost(void *shard) {
    ml_simple(shard, "leaseLost", NULL);
}

static void ml_ended(void *shard, sl_checkpointer_t *cp) {
    ml_simple(shard, "shardEnded", cp);
}

static void ml_shutdown(void *shard, sl_checkpointer_t *cp) {
    ml_simple(shard, "shutdownRequested", cp);
}

/* ---- the worker ---- */

int sl_cli_consume(sl_client_t *c, const sl_cli_consume_opts_t *o) {
    if (!o->application || (!o->exec_cmd == !o->multilang_cmd)) {
        fprintf(stderr, "sluice consume: --application-name and one of --exec or --multilang "
                        "are required\n");
        return EXIT_USAGE;
    }
    static const sl_record_processor_t exec_proc = {exec_init, exec_records, exec_lost, exec_ended,
                                                    exec_shutdown};
    static const sl_record_processor_t ml_proc = {ml_init, ml_records, ml_lost, ml_ended,
                                                  ml_shutdown};
    sl_client_t *lease_client = NULL;
    if (o->dynamodb_endpoint_url) {
        sl_client_config_t cc = o->client_cfg;
        cc.endpoint_url = o->dynamodb_endpoint_url;
        if (sl_client_create(&cc, &lease_client) != 0) {
            fprintf(stderr, "sluice consume: bad --dynamodb-endpoint-url\n");
            return EXIT_USAGE;
        }
    }
    sl_consumer_config_t cfg;
    sl_consumer_config_init(&cfg);
    cfg.application_name = o->application;
    cfg.stream_name = o->stream;
    cfg.worker_id = o->worker_id;
    cfg.lease_client = lease_client;
    cfg.initial_position = o->start;
    cfg.initial_timestamp_ms = o->start_ms;
    cfg.retrieval = o->retrieval;
    cfg.failover_time_ms = o->failover_time_ms;
    cfg.idle_between_reads_ms = o->idle_time_ms;
    cfg.parent_poll_interval_ms = o->parent_poll_ms;
    cfg.shard_sync_interval_ms = o->shard_sync_ms;
    cfg.max_records = o->max_records;
    app_t app = {.o = o};
    sl_consumer_t *consumer;
    int rc = sl_consumer_create(c, &cfg, o->exec_cmd ? &exec_proc : &ml_proc, &app, &consumer);
    if (rc != 0) {
        sl_client_destroy(lease_client);
        fprintf(stderr, "sluice consume: %s\n", sl_client_strerror(rc));
        return EXIT_USAGE;
    }
    app.consumer = consumer;
    signal_target = consumer;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "sluice consume: worker %s of %s on %s\n", sl_consumer_worker_id(consumer),
            o->application, o->stream);
    rc = sl_consumer_run(consumer);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal_target = NULL;
    int status = EXIT_OK;
    if (rc != 0) {
        fprintf(stderr, "sluice consume: %s\n", sl_consumer_error(consumer));
        status = rc == SLUICE_EIO ? EXIT_UNREACHABLE : EXIT_SERVICE;
    } else if (app.failed) {
        status = EXIT_SERVICE;
    }
    sl_consumer_destroy(consumer);
    sl_client_destroy(lease_client);
    return status;
}
