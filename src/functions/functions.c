/* The functions service (see functions.h): the supervisor thread and its loop, accounts, and the
 * entry points that post requests to the supervisor. */
#include "functions/internal.h"

#include "core/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void *supervisor_main(void *arg) {
    sl_functions_t *fns = arg;
    sl_loop_run(fns->loop);
    return NULL;
}

/* Writes a runtime client unless the file already holds it (a restart on a full disk must not
 * need space). A failure is logged, not fatal: the server serves on, and functions of that
 * runtime fail to start (Runtime.ExitError) until the file can be written. */
static void write_runtime(const sl_functions_t *fns, const char *name, const char *text) {
    char path[SL_DATA_PATH_BYTES_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", fns->runtime_dir, name);
    size_t len = strlen(text);
    FILE *fp = fopen(path, "rb");
    if (fp) {
        char *have = malloc(len + 1);
        size_t n = have ? fread(have, 1, len + 1, fp) : 0;
        bool same = have && n == len && memcmp(have, text, len) == 0;
        free(have);
        fclose(fp);
        if (same) return;
    }
    int rc = sl_fn_write_file(path, text, len);
    if (rc) SL_WARN("functions: cannot write %s: %s", path, sl_strerror(rc));
}

int sl_functions_create(const sl_functions_config_t *cfg, sl_functions_t **out) {
    sl_functions_t *fns = calloc(1, sizeof *fns);
    if (!fns) return SL_ENOMEM;
    fns->cfg = *cfg;
    snprintf(fns->region, sizeof fns->region, "%s", cfg->region);
    snprintf(fns->runtime_dir, sizeof fns->runtime_dir, "%s", cfg->runtime_dir);
    fns->cfg.region = fns->region;
    fns->cfg.runtime_dir = fns->runtime_dir;
    if (fns->cfg.concurrency <= 0) fns->cfg.concurrency = 10;
    fns->cfg.user = NULL;
    sl_fn_find_interpreters(fns);
    if (cfg->user && *cfg->user) {
        int rc = sl_fn_sandbox_init(fns, cfg->user);
        if (rc) {
            free(fns);
            return rc;
        }
        /* the runtime clients must be readable by the functions' user */
        snprintf(fns->runtime_dir, sizeof fns->runtime_dir, "%s/runtime", fns->run_root);
    }
    if (mkdir(fns->runtime_dir, 0700) != 0 && errno != EEXIST)
        SL_WARN("functions: cannot create %s: %s", fns->runtime_dir, strerror(errno));
    write_runtime(fns, "node-ric.mjs", sl_fn_node_ric);
    write_runtime(fns, "python-ric.py", sl_fn_python_ric);
    if (fns->sandboxed) {
        char path[SL_DATA_PATH_BYTES_MAX + 32];
        chmod(fns->runtime_dir, 0755);
        snprintf(path, sizeof path, "%s/node-ric.mjs", fns->runtime_dir);
        chmod(path, 0644);
        snprintf(path, sizeof path, "%s/python-ric.py", fns->runtime_dir);
        chmod(path, 0644);
    }
    int rc = sl_loop_create(&fns->loop);
    if (rc == 0 && pthread_create(&fns->thread, NULL, supervisor_main, fns) != 0) {
        sl_loop_destroy(fns->loop);
        rc = SL_EIO;
    }
    if (rc) {
        sl_fn_sandbox_cleanup(fns);
        free(fns);
        return rc;
    }
    *out = fns;
    return 0;
}

static void stop_loop(void *arg) {
    sl_functions_t *fns = arg;
    fns->stopping = true;
    sl_fn_envs_stop_all(fns);
    sl_loop_stop(fns->loop);
}

void sl_functions_stop(sl_functions_t *fns) {
    if (!fns || fns->joined) return;
    if (sl_loop_post(fns->loop, stop_loop, fns) == 0) pthread_join(fns->thread, NULL);
    fns->joined = true;
}

void sl_functions_destroy(sl_functions_t *fns) {
    if (!fns) return;
    sl_functions_stop(fns);
    fns->stopping = true;
    /* every process is killed: the reader threads see the exits and end */
    sl_fn_envs_stop_all(fns);
    for (env_t *e = fns->envs; e; e = e->next)
        pthread_join(e->reader, NULL);
    sl_loop_destroy(fns->loop); /* runs the posted exits (no-ops while stopping) */
    sl_fn_sandbox_cleanup(fns);
    for (env_t *e = fns->envs, *next; e; e = next) {
        next = e->next;
        if (e->pidfd >= 0) close(e->pidfd);
        if (e->out_fd >= 0) close(e->out_fd);
        sl_buf_free(&e->log);
        pthread_mutex_destroy(&e->log_mu);
        free(e->inv);
        free(e);
    }
    for (sl_fn_account_t *a = fns->accounts, *an; a; a = an) {
        an = a->next;
        for (fn_t *f = a->functions, *fnext; f; f = fnext) {
            fnext = f->next;
            for (queued_t *q = f->queue, *qn; q; q = qn) {
                qn = q->next;
                free(q->payload);
                free(q);
            }
            if (f->log_fd >= 0) close(f->log_fd);
            sl_fn_config_deinit(&f->cfg);
            free(f);
        }
        free(a);
    }
    free(fns);
}

typedef struct {
    sl_functions_t *fns;
    char host_port[96];
} set_api_t;

static void set_api(void *arg) {
    set_api_t *s = arg;
    memcpy(s->fns->runtime_api, s->host_port, sizeof s->host_port);
    free(s);
}

typedef struct {
    sl_functions_t *fns;
    sl_fn_role_fn role_fn;
    void *ctx;
    char endpoint_url[128];
} set_identity_t;

static void set_identity(void *arg) {
    set_identity_t *s = arg;
    s->fns->role_fn = s->role_fn;
    s->fns->role_ctx = s->ctx;
    memcpy(s->fns->endpoint_url, s->endpoint_url, sizeof s->endpoint_url);
    free(s);
}

/* Set on the supervisor's thread, which reads them. */
void sl_functions_set_identity(sl_functions_t *fns, sl_fn_role_fn role_fn, void *ctx,
                               const char *endpoint_url) {
    set_identity_t *s = calloc(1, sizeof *s);
    if (!s) return;
    *s = (set_identity_t){.fns = fns, .role_fn = role_fn, .ctx = ctx};
    snprintf(s->endpoint_url, sizeof s->endpoint_url, "%s", endpoint_url ? endpoint_url : "");
    if (sl_loop_post(fns->loop, set_identity, s) != 0) free(s);
}

/* The supervisor reads runtime_api: it is set on its thread. */
void sl_functions_set_runtime_api(sl_functions_t *fns, const char *host_port) {
    set_api_t *s = calloc(1, sizeof *s);
    if (!s) return;
    s->fns = fns;
    snprintf(s->host_port, sizeof s->host_port, "%s", host_port);
    if (sl_loop_post(fns->loop, set_api, s) != 0) free(s);
}

static void link_account(void *arg) {
    sl_fn_account_t *a = arg;
    sl_functions_t *fns = a->fns;
    a->next = fns->accounts;
    fns->accounts = a;
    for (fn_t *f = a->functions; f; f = f->next)
        if (f->queue_count) sl_fn_queue_pump(fns, f);
}

int sl_functions_account_open(sl_functions_t *fns, const char *account_id, const char *dir,
                              sl_fn_account_t **out) {
    sl_fn_account_t *a = calloc(1, sizeof *a);
    if (!a) return SL_ENOMEM;
    a->fns = fns;
    snprintf(a->id, sizeof a->id, "%s", account_id);
    snprintf(a->dir, sizeof a->dir, "%s/functions", dir);
    int rc = sl_fn_store_load(a);
    if (rc == 0) rc = sl_loop_post(fns->loop, link_account, a);
    if (rc) {
        for (fn_t *f = a->functions, *next; f; f = next) {
            next = f->next;
            sl_fn_config_deinit(&f->cfg);
            free(f);
        }
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

/* A posted request: the service beside it, so that a request whose caller is gone (the server
 * stopping) is dropped without being touched. */
typedef struct {
    sl_functions_t *fns;
    void *req;
} job_t;

static void run_op(void *arg) {
    job_t *job = arg;
    sl_functions_t *fns = job->fns;
    sl_fn_op_t *op = job->req;
    free(job);
    if (fns->stopping) return;
    sl_fn_ops_run(fns, op);
}

void sl_fn_submit(sl_fn_op_t *op) {
    sl_functions_t *fns = op->account->fns;
    job_t *job = malloc(sizeof *job);
    if (job) *job = (job_t){.fns = fns, .req = op};
    if (!job || sl_loop_post(fns->loop, run_op, job) != 0) {
        free(job);
        op->error_type = "ServiceException";
        snprintf(op->error_message, sizeof op->error_message,
                 "Internal service failure: the server is out of memory.");
        op->done(op);
    }
}

static void run_rt(void *arg) {
    job_t *job = arg;
    sl_functions_t *fns = job->fns;
    sl_fn_rt_t *rt = job->req;
    free(job);
    if (fns->stopping) return;
    sl_fn_runtime_run(fns, rt);
}

void sl_fn_runtime_submit(sl_functions_t *fns, sl_fn_rt_t *rt) {
    job_t *job = malloc(sizeof *job);
    if (job) *job = (job_t){.fns = fns, .req = rt};
    if (!job || sl_loop_post(fns->loop, run_rt, job) != 0) {
        free(job);
        rt->status = SL_FN_RT_GONE;
        rt->done(rt);
    }
}

void sl_fn_rt_deinit(sl_fn_rt_t *rt) {
    free(rt->event);
    rt->event = NULL;
}
