/* Execution environments (docs/functions.md, "Execution"): one child process per environment,
 * started in its own process group with a reduced environment, its code directory as working
 * directory and rlimits from MemorySize; it speaks the Runtime API (the runtime binding turns its
 * HTTP calls into sl_fn_rt_t requests, handled here). An environment runs one invocation at a
 * time and is reused while warm; the function's timeout kills its process group. Each invocation
 * gets START / END / REPORT lines around its output, as AWS prints them, in the function's log.
 * Everything here runs on the supervisor thread except reader_main (one thread per environment:
 * it collects the output and waits for the exit, which it posts to the supervisor). */
#include "functions/internal.h"

#include "core/log.h"
#include "core/time.h"
#include "wire/base64.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void finish(sl_functions_t *fns, env_t *e, const char *function_error, const void *body,
                   size_t len, const char *log_extra);
static void stop_env(env_t *e);

/* ---- ids and text ---- */

static uint64_t rnd(sl_functions_t *fns) {
    uint64_t x = (uint64_t)sl_time_mono_ns() ^ (++fns->seq * 0x9E3779B97F4A7C15ull);
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    return x * 0x94D049BB133111EBull;
}

static void make_uuid(sl_functions_t *fns, char out[40]) {
    uint64_t a = rnd(fns), b = rnd(fns);
    snprintf(out, 40, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
             (unsigned)((b >> 48) & 0x3fff) | 0x8000, (unsigned long long)(b & 0xffffffffffffull));
}

/* 2026-12-06T09:00:00.123Z */
static void iso_now(char out[48]) {
    int64_t ms = sl_time_now_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* ---- output ---- */

/* Reads what the pipe holds (non-blocking) into e->log; caller holds log_mu. Returns false at the
 * end of the output. */
static bool drain_locked(env_t *e) {
    char buf[16384];
    for (;;) {
        ssize_t n = read(e->out_fd, buf, sizeof buf);
        if (n > 0) {
            if (e->log.len + (size_t)n <= SL_FN_ENV_LOG_BYTES_MAX)
                sl_buf_append(&e->log, buf, (size_t)n);
            else
                e->log_cut = true;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return n < 0; /* EAGAIN: more may come; 0: closed */
    }
}

/* Moves the environment's collected output into b. */
static void take_output(env_t *e, sl_buf_t *b) {
    pthread_mutex_lock(&e->log_mu);
    if (e->out_fd >= 0) drain_locked(e);
    sl_buf_append(b, e->log.data, e->log.len);
    if (e->log_cut) sl_buf_append_str(b, "[output cut: more than 1 MiB between two invocations]\n");
    sl_buf_reset(&e->log);
    e->log_cut = false;
    pthread_mutex_unlock(&e->log_mu);
    if (b->len && b->data[b->len - 1] != '\n') sl_buf_append_byte(b, '\n');
}

static void on_exit_posted(void *arg);

static void *reader_main(void *arg) {
    env_t *e = arg;
    struct pollfd p[2] = {{.fd = e->out_fd, .events = POLLIN}, {.fd = e->pidfd, .events = POLLIN}};
    for (;;) {
        int n = poll(p, 2, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (p[0].fd >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            pthread_mutex_lock(&e->log_mu);
            bool open_ = drain_locked(e);
            pthread_mutex_unlock(&e->log_mu);
            if (!open_) p[0].fd = -1;
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) break;
    }
    int status = 0;
    while (waitpid(e->pid, &status, 0) < 0 && errno == EINTR)
        ;
    kill(-e->pid, SIGKILL); /* what the process left behind in its group */
    pthread_mutex_lock(&e->log_mu);
    drain_locked(e);
    pthread_mutex_unlock(&e->log_mu);
    e->exit_status = status;
    sl_loop_post(e->fns->loop, on_exit_posted, e);
    return NULL;
}

/* ---- environments ---- */

static int find_exe(const char *name, char *out, size_t cap) {
    static const char *const dirs[] = {"/usr/local/bin", "/usr/bin", "/bin"};
    for (size_t i = 0; i < SL_ARRAY_LEN(dirs); i++) {
        snprintf(out, cap, "%s/%s", dirs[i], name);
        if (access(out, X_OK) == 0) return 0;
    }
    out[0] = 0;
    return SL_ENOTFOUND;
}

void sl_fn_find_interpreters(sl_functions_t *fns) {
    find_exe("node", fns->node_path, sizeof fns->node_path);
    find_exe("python3", fns->python_path, sizeof fns->python_path);
}

typedef struct {
    char *items[96];
    size_t count;
    sl_buf_t store; /* each string, NUL-terminated; pointers fixed up at the end */
    size_t offsets[96];
} strv_t;

static void strv_add(strv_t *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void strv_add(strv_t *v, const char *fmt, ...) {
    if (v->count >= SL_ARRAY_LEN(v->items) - 1) return;
    v->offsets[v->count++] = v->store.len;
    va_list ap;
    va_start(ap, fmt);
    sl_buf_vprintf(&v->store, fmt, ap);
    va_end(ap);
    sl_buf_append_byte(&v->store, 0);
}

static bool strv_finish(strv_t *v) {
    if (sl_buf_failed(&v->store)) return false;
    for (size_t i = 0; i < v->count; i++)
        v->items[i] = v->store.data + v->offsets[i];
    v->items[v->count] = NULL;
    return true;
}

/* Starts an environment for f (state BUSY with nothing assigned yet; the caller assigns). */
static env_t *spawn(sl_functions_t *fns, fn_t *f, int *rc_out) {
    const sl_fn_config_t *c = &f->cfg;
    char code[SL_DATA_PATH_BYTES_MAX], tmp[SL_DATA_PATH_BYTES_MAX + 8];
    sl_fn_store_code_dir(f, code, sizeof code);
    snprintf(tmp, sizeof tmp, "%s/tmp", f->dir);
    if (!fns->runtime_api[0]) { /* the Runtime API server is not up yet (start-up) */
        *rc_out = SL_EAGAIN;
        return NULL;
    }
    if (fns->sandboxed) {
        char from[sizeof code];
        memcpy(from, code, sizeof from);
        int rc = sl_fn_sandbox_stage(fns, f, from, code, sizeof code, tmp, sizeof tmp);
        if (rc) {
            SL_WARN("functions: cannot stage %s for its user: %s", f->cfg.name, sl_strerror(rc));
            *rc_out = rc;
            return NULL;
        }
    } else {
        mkdir(tmp, 0700);
    }
    uid_t run_uid = fns->run_uid;
    gid_t run_gid = fns->run_gid;
    bool drop = fns->sandboxed;
    env_t *e = calloc(1, sizeof *e);
    strv_t argv = {.store = SL_BUF_INIT}, envp = {.store = SL_BUF_INIT};
    int pipefd[2] = {-1, -1}, devnull = -1;
    *rc_out = SL_ENOMEM;
    if (!e) return NULL;
    e->fns = fns;
    e->fn = f;
    e->code_rev = f->code_rev;
    e->pid = -1;
    e->pidfd = e->out_fd = -1;
    e->init_ms = -1;
    e->log = (sl_buf_t)SL_BUF_INIT;
    pthread_mutex_init(&e->log_mu, NULL);
    make_uuid(fns, e->token);
    int mem_mb = c->memory_mb;
    if (strncmp(c->runtime, "nodejs", 6) == 0) {
        strv_add(&argv, "%s", fns->node_path[0] ? fns->node_path : "node");
        strv_add(&argv, "--max-old-space-size=%d", mem_mb * 9 / 10);
        strv_add(&argv, "%s/node-ric.mjs", fns->runtime_dir);
    } else if (strncmp(c->runtime, "python3", 7) == 0) {
        strv_add(&argv, "%s", fns->python_path[0] ? fns->python_path : "python3");
        strv_add(&argv, "-u");
        strv_add(&argv, "%s/python-ric.py", fns->runtime_dir);
    } else {
        strv_add(&argv, "%s/bootstrap", code);
    }
    char stream_day[16];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stream_day, sizeof stream_day, "%Y/%m/%d", &tm);
    strv_add(&envp, "PATH=/usr/local/bin:/usr/bin:/bin");
    strv_add(&envp, "LANG=C.UTF-8");
    strv_add(&envp, "TZ=:UTC");
    strv_add(&envp, "HOME=%s", tmp);
    strv_add(&envp, "TMPDIR=%s", tmp);
    strv_add(&envp, "LAMBDA_TASK_ROOT=%s", code);
    strv_add(&envp, "LAMBDA_RUNTIME_DIR=%s", fns->runtime_dir);
    strv_add(&envp, "_HANDLER=%s", c->handler);
    strv_add(&envp, "AWS_LAMBDA_RUNTIME_API=%s/%s", fns->runtime_api, e->token);
    strv_add(&envp, "AWS_REGION=%s", fns->region);
    strv_add(&envp, "AWS_DEFAULT_REGION=%s", fns->region);
    strv_add(&envp, "AWS_EXECUTION_ENV=AWS_Lambda_%s", c->runtime);
    strv_add(&envp, "AWS_LAMBDA_FUNCTION_NAME=%s", c->name);
    strv_add(&envp, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", c->memory_mb);
    strv_add(&envp, "AWS_LAMBDA_FUNCTION_VERSION=$LATEST");
    strv_add(&envp, "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand");
    strv_add(&envp, "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/%s", c->name);
    strv_add(&envp, "AWS_LAMBDA_LOG_STREAM_NAME=%s/[$LATEST]%.32s", stream_day, e->token);
    bool own_endpoint = false;
    for (size_t i = 0; i < c->env_len;) {
        const char *k = c->env + i, *v = k + strlen(k) + 1;
        strv_add(&envp, "%s=%s", k, v);
        own_endpoint = own_endpoint || strcmp(k, "AWS_ENDPOINT_URL") == 0;
        i = (size_t)(v + strlen(v) + 1 - c->env);
    }
    /* the execution role's session, and this server as the SDKs' endpoint (docs/functions.md,
     * "Calling AWS services from a function") */
    if (fns->endpoint_url[0] && !own_endpoint)
        strv_add(&envp, "AWS_ENDPOINT_URL=%s", fns->endpoint_url);
    sl_fn_creds_t *creds = fns->role_fn ? malloc(sizeof *creds) : NULL;
    int role_rc = creds ? fns->role_fn(fns->role_ctx, f->account->id, c->role, c->name,
                                       sl_time_now_ms() / 1000, creds)
                        : SL_ENOTFOUND;
    if (role_rc == 0) {
        strv_add(&envp, "AWS_ACCESS_KEY_ID=%s", creds->access_key_id);
        strv_add(&envp, "AWS_SECRET_ACCESS_KEY=%s", creds->secret);
        if (creds->session_token[0]) strv_add(&envp, "AWS_SESSION_TOKEN=%s", creds->session_token);
        e->creds_expire_s = creds->expiration_s;
    } else if (fns->role_fn) {
        SL_WARN("function %s: its role %s cannot be assumed (%s): it runs without credentials",
                c->name, c->role, sl_strerror(role_rc));
    }
    free(creds);
    if (!strv_finish(&argv) || !strv_finish(&envp)) goto fail;
    *rc_out = SL_EIO;
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || pipe2(pipefd, O_CLOEXEC) != 0) goto fail;
    struct rlimit mem = {.rlim_cur = (rlim_t)(mem_mb + SL_FN_MEMORY_SLACK_MB) << 20,
                         .rlim_max = (rlim_t)(mem_mb + SL_FN_MEMORY_SLACK_MB) << 20};
    pid_t pid = fork();
    if (pid < 0) goto fail;
    if (pid == 0) {
        /* the child: only async-signal-safe calls until execve */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setpgid(0, 0);
        dup2(devnull, 0);
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        setrlimit(RLIMIT_DATA, &mem);
        struct rlimit nocore = {0, 0};
        setrlimit(RLIMIT_CORE, &nocore);
        if (drop && (setgroups(1, &run_gid) != 0 || setgid(run_gid) != 0 || setuid(run_uid) != 0))
            _exit(126);
        if (chdir(code) != 0) _exit(126);
        syscall(SYS_close_range, 3u, ~0u, 0u);
        execve(argv.items[0], argv.items, envp.items);
        static const char msg[] = "exec of the runtime failed\n";
        (void)!write(2, msg, sizeof msg - 1);
        _exit(127);
    }
    setpgid(pid, pid);
    e->pid = pid;
    close(pipefd[1]);
    close(devnull);
    e->out_fd = pipefd[0];
    fcntl(e->out_fd, F_SETFL, O_NONBLOCK);
    e->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    e->spawned_ns = sl_time_mono_ns();
    e->state = ENV_BUSY;
    sl_buf_free(&argv.store);
    sl_buf_free(&envp.store);
    if (e->pidfd < 0 || pthread_create(&e->reader, NULL, reader_main, e) != 0) {
        /* cannot watch it: do not keep it */
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        if (e->pidfd >= 0) close(e->pidfd);
        close(e->out_fd);
        pthread_mutex_destroy(&e->log_mu);
        free(e);
        *rc_out = SL_EIO;
        return NULL;
    }
    e->next = fns->envs;
    fns->envs = e;
    fns->env_count++;
    *rc_out = 0;
    return e;
fail:
    if (pipefd[0] >= 0) close(pipefd[0]);
    if (pipefd[1] >= 0) close(pipefd[1]);
    if (devnull >= 0) close(devnull);
    sl_buf_free(&argv.store);
    sl_buf_free(&envp.store);
    pthread_mutex_destroy(&e->log_mu);
    free(e);
    return NULL;
}

static void cancel_timer(env_t *e) {
    if (e->timer) sl_timer_cancel(e->timer);
    e->timer = NULL;
}

static void rt_complete(sl_fn_rt_t *rt, sl_fn_rt_status_t status) {
    rt->status = status;
    rt->done(rt);
}

/* Kills an environment's process group; its exit (reader thread) frees it. */
static void stop_env(env_t *e) {
    if (e->state == ENV_STOPPING) return;
    e->state = ENV_STOPPING;
    cancel_timer(e);
    if (e->pid > 0) kill(-e->pid, SIGKILL);
    if (e->parked) {
        sl_fn_rt_t *rt = e->parked;
        e->parked = NULL;
        rt_complete(rt, SL_FN_RT_GONE);
    }
}

static void on_idle_timeout(void *arg) {
    env_t *e = arg;
    e->timer = NULL;
    stop_env(e);
}

/* An idle environment of any function, stopped to make room (true when one was). */
static bool evict_idle(sl_functions_t *fns) {
    for (env_t *e = fns->envs; e; e = e->next) {
        if (e->state == ENV_IDLE) {
            stop_env(e);
            return true;
        }
    }
    return false;
}

static int live_envs(const sl_functions_t *fns) {
    int n = 0;
    for (const env_t *e = fns->envs; e; e = e->next)
        n += e->state != ENV_STOPPING;
    return n;
}

/* ---- invocations ---- */

static void on_timeout(void *arg);

static void deliver(sl_functions_t *fns, env_t *e) {
    sl_fn_rt_t *rt = e->parked;
    inv_t *inv = e->inv;
    e->parked = NULL;
    inv->delivered = true;
    inv->start_ns = sl_time_mono_ns();
    take_output(e, &inv->log); /* init output comes before START, as on AWS */
    sl_buf_printf(&inv->log, "START RequestId: %s Version: $LATEST\n", inv->id);
    if (!sl_buf_failed(&inv->log)) {
        sl_fn_log_write(e->fn, inv->log.data, inv->log.len); /* START shows while it runs */
        inv->log_written = inv->log.len;
    }
    memcpy(rt->out_request_id, inv->id, sizeof rt->out_request_id);
    rt->deadline_ms = sl_time_now_ms() + (int64_t)e->fn->cfg.timeout_s * 1000;
    inv->deadline_ms = rt->deadline_ms;
    snprintf(rt->function_arn, sizeof rt->function_arn, "%s", e->fn->cfg.arn);
    uint64_t a = rnd(fns), b = rnd(fns), c = rnd(fns);
    snprintf(rt->trace_id, sizeof rt->trace_id,
             "Root=1-%08llx-%08llx%016llx;Parent=%016llx;Sampled=0",
             (unsigned long long)(sl_time_now_ms() / 1000), (unsigned long long)(a >> 32),
             (unsigned long long)b, (unsigned long long)c);
    rt->event = malloc(inv->payload_len ? inv->payload_len : 1);
    if (rt->event) {
        memcpy(rt->event, inv->payload, inv->payload_len);
        rt->event_len = inv->payload_len;
    }
    /* the timeout counts from here; the init phase had its own allowance until now */
    cancel_timer(e);
    e->timer = sl_timer_start(fns->loop, (uint64_t)e->fn->cfg.timeout_s * 1000, on_timeout, e);
    rt_complete(rt, rt->event ? SL_FN_RT_OK : SL_FN_RT_GONE);
}

/* Assigns inv to a warm environment of f or a new one. Returns 0, or SL_ELIMIT with *reason set
 * (throttled), or another SL_E*. */
static int start_inv(sl_functions_t *fns, fn_t *f, inv_t *inv, const char **reason) {
    int limit =
        f->cfg.reserved_concurrency >= 0 ? f->cfg.reserved_concurrency : fns->cfg.concurrency;
    if (f->busy >= limit || f->account->busy >= fns->cfg.concurrency) {
        *reason = f->cfg.reserved_concurrency >= 0 && f->busy >= limit
                      ? "ReservedFunctionConcurrentInvocationLimitExceeded"
                      : "ConcurrentInvocationLimitExceeded";
        return SL_ELIMIT;
    }
    env_t *e = NULL;
    /* an environment whose role credentials expire within SL_FN_CREDS_RENEW_S is replaced, as
     * Lambda's are before their session ends */
    int64_t renew_s = sl_time_now_ms() / 1000 + SL_FN_CREDS_RENEW_S;
    for (env_t *x = fns->envs; x && !e; x = x->next)
        if (x->fn == f && x->state == ENV_IDLE && x->code_rev == f->code_rev) {
            if (x->creds_expire_s && x->creds_expire_s <= renew_s)
                stop_env(x);
            else
                e = x;
        }
    bool cold = !e;
    if (cold) {
        if (live_envs(fns) >= SL_FN_ENVS_MAX && !evict_idle(fns)) {
            *reason = "ConcurrentInvocationLimitExceeded";
            return SL_ELIMIT;
        }
        int rc;
        e = spawn(fns, f, &rc);
        if (!e) return rc;
    }
    cancel_timer(e);
    e->state = ENV_BUSY;
    e->inv = inv;
    f->busy++;
    f->account->busy++;
    if (e->parked)
        deliver(fns, e);
    else
        e->timer = sl_timer_start(
            fns->loop, (uint64_t)f->cfg.timeout_s * 1000 + SL_FN_INIT_TIMEOUT_MS, on_timeout, e);
    return 0;
}

static inv_t *new_inv(sl_functions_t *fns, fn_t *f) {
    inv_t *inv = calloc(1, sizeof *inv);
    if (!inv) return NULL;
    inv->fn = f;
    inv->log = (sl_buf_t)SL_BUF_INIT;
    make_uuid(fns, inv->id);
    return inv;
}

void sl_fn_invoke(sl_functions_t *fns, fn_t *f, sl_fn_op_t *op) {
    inv_t *inv = new_inv(fns, f);
    if (!inv) {
        op->error_type = "ServiceException";
        snprintf(op->error_message, sizeof op->error_message, "Internal service failure.");
        op->done(op);
        return;
    }
    inv->op = op;
    inv->payload = op->payload;
    inv->payload_len = op->payload_len;
    const char *reason = NULL;
    int rc = start_inv(fns, f, inv, &reason);
    if (rc == 0) return;
    if (rc == SL_ELIMIT) {
        op->error_type = "TooManyRequestsException";
        op->throttle_reason = reason;
        snprintf(op->error_message, sizeof op->error_message, "Rate Exceeded.");
    } else {
        op->error_type = "ServiceException";
        snprintf(op->error_message, sizeof op->error_message,
                 "Internal service failure: the function's process could not be started (%s).",
                 sl_strerror(rc));
    }
    sl_buf_free(&inv->log);
    free(inv);
    op->done(op);
}

static void on_queue_timer(void *arg) {
    fn_t *f = arg;
    f->queue_timer = NULL;
    sl_fn_queue_pump(f->account->fns, f);
}

void sl_fn_queue_pump(sl_functions_t *fns, fn_t *f) {
    if (fns->stopping || f->deleting) return;
    int64_t now = sl_time_mono_ms(), next_due = -1;
    for (queued_t *q = f->queue; q; q = q->next) {
        if (q->running) continue;
        if (q->due_ms > now) {
            if (next_due < 0 || q->due_ms < next_due) next_due = q->due_ms;
            continue;
        }
        inv_t *inv = new_inv(fns, f);
        if (!inv) break;
        inv->queued = q;
        inv->payload = q->payload;
        inv->payload_len = q->payload_len;
        const char *reason;
        int rc = start_inv(fns, f, inv, &reason);
        if (rc) {
            sl_buf_free(&inv->log);
            free(inv);
            if (rc != SL_ELIMIT) {
                /* could not start a process: counts as a failed attempt */
                q->attempts++;
                sl_fn_queue_mark(f, q, q->attempts - 1);
                q->due_ms = now + fns->cfg.retry_delay_ms;
                if (next_due < 0 || q->due_ms < next_due) next_due = q->due_ms;
                continue;
            }
            break; /* throttled: finished invocations pump again */
        }
        q->running = true;
    }
    if (next_due >= 0 && !f->queue_timer) {
        f->queue_timer = sl_timer_start(fns->loop, (uint64_t)(next_due - now), on_queue_timer, f);
    }
}

/* Every function of the account with queued events (a finished invocation freed capacity). */
static void pump_account(sl_functions_t *fns, sl_fn_account_t *a) {
    for (fn_t *f = a->functions; f; f = f->next)
        if (f->queue_count) sl_fn_queue_pump(fns, f);
}

static int vm_hwm_mb(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    long kb = 0;
    if (!fp) return 0;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    fclose(fp);
    return (int)((kb + 1023) / 1024);
}

static void event_done(sl_functions_t *fns, fn_t *f, queued_t *q, bool ok) {
    q->running = false;
    q->attempts++;
    if (!ok && q->attempts < SL_FN_EVENT_ATTEMPTS) {
        /* AWS waits 1 minute, then 2: retry_delay_ms, then twice it */
        q->due_ms = sl_time_mono_ms() + fns->cfg.retry_delay_ms * q->attempts;
        sl_fn_queue_mark(f, q, q->attempts - 1);
        return;
    }
    if (!ok) {
        char line[256];
        int n = snprintf(line, sizeof line,
                         "Event invocation discarded after %d attempts (queue entry %llu)\n",
                         q->attempts, (unsigned long long)q->seq);
        sl_fn_log_write(f, line, (size_t)n);
    }
    sl_fn_queue_remove(f, q);
    for (queued_t **pp = &f->queue; *pp; pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    }
    f->queue_count--;
    free(q->payload);
    free(q);
}

/* Ends e's invocation: the log lines, the answer (or the Event's retry), the environment back to
 * idle unless it is being stopped or runs old code. */
static void finish(sl_functions_t *fns, env_t *e, const char *function_error, const void *body,
                   size_t len, const char *log_extra) {
    inv_t *inv = e->inv;
    fn_t *f = inv->fn;
    e->inv = NULL;
    cancel_timer(e);
    if (!inv->delivered) {
        take_output(e, &inv->log);
        sl_buf_printf(&inv->log, "START RequestId: %s Version: $LATEST\n", inv->id);
        inv->start_ns = sl_time_mono_ns();
    } else {
        take_output(e, &inv->log);
    }
    if (log_extra) sl_buf_append_str(&inv->log, log_extra);
    double dur_ms = (double)(sl_time_mono_ns() - inv->start_ns) / 1e6;
    sl_buf_printf(&inv->log, "END RequestId: %s\n", inv->id);
    sl_buf_printf(&inv->log,
                  "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %lld ms\tMemory Size: "
                  "%d MB\tMax Memory Used: %d MB",
                  inv->id, dur_ms, (long long)dur_ms + 1, f->cfg.memory_mb, vm_hwm_mb(e->pid));
    if (!e->init_reported && e->init_ms >= 0) {
        sl_buf_printf(&inv->log, "\tInit Duration: %.2f ms", (double)e->init_ms);
        e->init_reported = true;
    }
    sl_buf_append_str(&inv->log, "\t\n");
    if (!sl_buf_failed(&inv->log))
        sl_fn_log_write(f, inv->log.data + inv->log_written, inv->log.len - inv->log_written);
    f->busy--;
    f->account->busy--;
    if (inv->op) {
        sl_fn_op_t *op = inv->op;
        op->status_code = 200;
        op->function_error = function_error;
        op->result = malloc(len ? len : 1);
        if (op->result) {
            memcpy(op->result, body, len);
            op->result_len = len;
        }
        if (op->log_tail && !sl_buf_failed(&inv->log)) {
            size_t n = inv->log.len < SL_FN_LOG_TAIL_BYTES ? inv->log.len : SL_FN_LOG_TAIL_BYTES;
            const char *tail = inv->log.data + inv->log.len - n;
            op->log_result = malloc(sl_base64_encoded_len(n) + 1);
            if (op->log_result) {
                sl_base64_encode(tail, n, op->log_result);
                op->log_result[sl_base64_encoded_len(n)] = 0;
            }
        }
        op->done(op);
    } else if (inv->queued) {
        event_done(fns, f, inv->queued, function_error == NULL);
    }
    sl_buf_free(&inv->log);
    free(inv);
    if (e->state != ENV_STOPPING) {
        if (e->code_rev != f->code_rev || e->fn != f) {
            stop_env(e);
        } else {
            e->state = ENV_IDLE;
            e->timer = sl_timer_start(fns->loop, SL_FN_IDLE_MS, on_idle_timeout, e);
        }
    }
    if (f->queue_count) sl_fn_queue_pump(fns, f);
    pump_account(fns, f->account);
}

static void on_timeout(void *arg) {
    env_t *e = arg;
    e->timer = NULL;
    sl_functions_t *fns = e->fns;
    if (!e->inv) return;
    inv_t *inv = e->inv;
    char ts[48], log[256], body[256];
    iso_now(ts);
    int t = inv->fn->cfg.timeout_s;
    snprintf(log, sizeof log, "%s %s Task timed out after %d.00 seconds\n", ts, inv->id, t);
    int n = snprintf(body, sizeof body,
                     "{\"errorType\":\"Sandbox.Timedout\",\"errorMessage\":\"RequestId: %s Error: "
                     "Task timed out after %d.00 seconds\"}",
                     inv->id, t);
    stop_env(e);
    finish(fns, e, "Unhandled", body, (size_t)n, log);
}

/* The exit of an environment's process (posted by its reader thread). */
static void on_exit_posted(void *arg) {
    env_t *e = arg;
    sl_functions_t *fns = e->fns;
    if (fns->stopping) return; /* sl_functions_destroy frees it */
    pthread_join(e->reader, NULL);
    cancel_timer(e);
    if (e->inv) {
        char why[64], log[256], body[256];
        if (WIFSIGNALED(e->exit_status))
            snprintf(why, sizeof why, "signal: %s",
                     WTERMSIG(e->exit_status) == SIGKILL ? "killed"
                                                         : strsignal(WTERMSIG(e->exit_status)));
        else
            snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(e->exit_status));
        snprintf(log, sizeof log,
                 "RequestId: %s Error: Runtime exited with error: %s\n"
                 "Runtime.ExitError\n",
                 e->inv->id, why);
        int n = snprintf(body, sizeof body,
                         "{\"errorType\":\"Runtime.ExitError\",\"errorMessage\":\"RequestId: %s "
                         "Error: Runtime exited with error: %s\"}",
                         e->inv->id, why);
        e->state = ENV_STOPPING;
        finish(fns, e, "Unhandled", body, (size_t)n, log);
    }
    if (e->parked) {
        sl_fn_rt_t *rt = e->parked;
        e->parked = NULL;
        rt_complete(rt, SL_FN_RT_GONE);
    }
    /* output after the last invocation goes to the log */
    sl_buf_t rest = SL_BUF_INIT;
    take_output(e, &rest);
    if (rest.len && e->fn && !sl_buf_failed(&rest)) sl_fn_log_write(e->fn, rest.data, rest.len);
    sl_buf_free(&rest);
    for (env_t **pp = &fns->envs; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    fns->env_count--;
    fn_t *f = e->fn;
    if (e->pidfd >= 0) close(e->pidfd);
    if (e->out_fd >= 0) close(e->out_fd);
    sl_buf_free(&e->log);
    pthread_mutex_destroy(&e->log_mu);
    free(e);
    if (f) pump_account(fns, f->account);
}

void sl_fn_retire(sl_functions_t *fns, fn_t *f, bool deleting) {
    for (env_t *e = fns->envs; e; e = e->next) {
        if (e->fn != f) continue;
        if (e->inv && deleting) {
            static const char body[] = "{\"errorType\":\"Runtime.ExitError\",\"errorMessage\":"
                                       "\"The function was deleted during the invocation.\"}";
            inv_t *inv = e->inv;
            if (inv->queued) inv->queued = NULL; /* the queue goes with the function */
            stop_env(e);
            finish(fns, e, "Unhandled", body, sizeof body - 1, NULL);
        } else if (!e->inv) {
            stop_env(e);
        }
        /* busy with old code: finish() stops it afterwards */
        if (deleting) e->fn = NULL;
    }
}

void sl_fn_envs_stop_all(sl_functions_t *fns) {
    for (env_t *e = fns->envs; e; e = e->next)
        if (e->pid > 0) kill(-e->pid, SIGKILL);
}

/* ---- the Runtime API ---- */

static env_t *env_by_token(sl_functions_t *fns, const char *token) {
    for (env_t *e = fns->envs; e; e = e->next)
        if (token && strcmp(e->token, token) == 0) return e;
    return NULL;
}

void sl_fn_runtime_run(sl_functions_t *fns, sl_fn_rt_t *rt) {
    env_t *e = env_by_token(fns, rt->token);
    if (!e) {
        rt_complete(rt, SL_FN_RT_FORBIDDEN);
        return;
    }
    if (e->state == ENV_STOPPING) {
        rt_complete(rt, SL_FN_RT_GONE);
        return;
    }
    switch (rt->kind) {
    case SL_FN_RT_NEXT:
        if (e->init_ms < 0) e->init_ms = (sl_time_mono_ns() - e->spawned_ns) / 1000000;
        if (e->parked) {
            sl_fn_rt_t *old = e->parked;
            e->parked = NULL;
            rt_complete(old, SL_FN_RT_GONE);
        }
        e->parked = rt;
        if (e->inv && !e->inv->delivered) deliver(fns, e);
        return;
    case SL_FN_RT_RESPONSE:
    case SL_FN_RT_ERROR:
        if (!e->inv || !e->inv->delivered || !rt->request_id ||
            strcmp(rt->request_id, e->inv->id) != 0) {
            rt_complete(rt, SL_FN_RT_INVALID);
            return;
        }
        if (rt->kind == SL_FN_RT_RESPONSE && rt->body_len > SL_FN_PAYLOAD_BYTES_MAX) {
            static const char body[] =
                "{\"errorType\":\"Function.ResponseSizeTooLarge\",\"errorMessage\":\"Response "
                "payload size exceeded maximum allowed payload size (6291556 bytes).\"}";
            finish(fns, e, "Unhandled", body, sizeof body - 1, NULL);
            rt_complete(rt, SL_FN_RT_TOO_LARGE);
            return;
        }
        finish(fns, e, rt->kind == SL_FN_RT_ERROR ? "Unhandled" : NULL, rt->body, rt->body_len,
               NULL);
        rt_complete(rt, SL_FN_RT_OK);
        return;
    case SL_FN_RT_INIT_ERROR:
        if (e->inv) {
            stop_env(e);
            finish(fns, e, "Unhandled", rt->body, rt->body_len, NULL);
        } else {
            stop_env(e);
        }
        rt_complete(rt, SL_FN_RT_OK);
        return;
    }
}
