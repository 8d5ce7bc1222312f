/* Shared between the files of the functions core: the service, accounts, functions, execution
 * environments and invocations. Everything here is touched only on the supervisor thread, except
 * what env_t's comment names (the reader thread's log buffer). */
#ifndef SL_FUNCTIONS_INTERNAL_H
#define SL_FUNCTIONS_INTERNAL_H

#include "core/buf.h"
#include "core/common.h"
#include "functions/functions.h"
#include "net/loop.h"

#include <pthread.h>
#include <sys/types.h>

typedef struct fn fn_t;
typedef struct env env_t;
typedef struct inv inv_t;
typedef struct queued queued_t;

struct sl_functions {
    sl_functions_config_t cfg; /* strings copied below */
    char region[64];
    char runtime_dir[SL_DATA_PATH_BYTES_MAX];
    char runtime_api[96];  /* host:port of the Runtime API server */
    sl_fn_role_fn role_fn; /* the execution role's credentials (sl_functions_set_identity) */
    void *role_ctx;
    char endpoint_url[128]; /* AWS_ENDPOINT_URL of the processes, "" for none */
    char node_path[256], python_path[256];
    sl_loop_t *loop; /* the supervisor's */
    pthread_t thread;
    bool stopping;
    bool joined;               /* the supervisor thread has ended */
    sl_fn_account_t *accounts; /* linked by next */
    env_t *envs;
    int env_count;
    uint64_t seq; /* ids */
    /* --functions-user (sandbox.c): processes run as run_uid:run_gid, from copies under run_root */
    bool sandboxed;
    uid_t run_uid;
    gid_t run_gid;
    char run_root[512];
};

struct sl_fn_account {
    sl_functions_t *fns;
    char id[16];
    char dir[SL_DATA_PATH_BYTES_MAX]; /* <account dir>/functions */
    fn_t *functions;                  /* linked by next, any order */
    int function_count;
    int busy; /* invocations running (the concurrency quota) */
    sl_fn_account_t *next;
};

/* An Event invocation waiting in a function's queue (durable as queue/<seq>.evt, renamed
 * queue/<seq>-<attempts>.evt once an attempt failed, so a restart resumes the count). */
struct queued {
    uint64_t seq;
    uint8_t *payload;
    size_t payload_len;
    int attempts;   /* made so far */
    int64_t due_ms; /* monotonic: not before */
    bool running;
    queued_t *next;
};

struct fn {
    sl_fn_account_t *account;
    sl_fn_config_t cfg;
    char dir[SL_DATA_PATH_BYTES_MAX]; /* <account>/functions/<name> */
    uint64_t code_rev;                /* bumped by code and configuration updates */
    int busy;
    int log_fd;
    int64_t log_bytes;
    queued_t *queue; /* FIFO */
    int queue_count;
    uint64_t queue_seq;
    sl_timer_t *queue_timer;
    bool deleting; /* DeleteFunction in progress: nothing new starts */
    fn_t *next;
};

typedef enum { ENV_STARTING, ENV_IDLE, ENV_BUSY, ENV_STOPPING } env_state_t;

struct env {
    sl_functions_t *fns;
    fn_t *fn; /* NULL once its function is gone */
    uint64_t code_rev;
    char token[40];
    pid_t pid;
    int pidfd, out_fd;
    pthread_t reader;
    /* the reader thread appends the process's output here; both threads read the pipe only
     * while holding log_mu, so a drain on the supervisor sees every byte written before */
    pthread_mutex_t log_mu;
    sl_buf_t log;
    bool log_cut;
    env_state_t state;
    inv_t *inv;         /* the invocation assigned to it */
    sl_fn_rt_t *parked; /* its /next, waiting for an invocation */
    sl_timer_t *timer;  /* the invocation's timeout, or the idle stop */
    int exit_status;    /* waitpid's, set by the reader thread before it posts the exit */
    int64_t spawned_ns;
    int64_t creds_expire_s; /* its role credentials' expiry (0: none): replaced before it */
    int64_t init_ms;        /* -1 until the first /next */
    bool init_reported;
    env_t *next;
};

struct inv {
    char id[40];
    fn_t *fn;
    sl_fn_op_t *op;   /* RequestResponse; NULL for Event */
    queued_t *queued; /* Event */
    const uint8_t *payload;
    size_t payload_len;
    bool delivered;
    int64_t start_ns;
    int64_t deadline_ms;
    sl_buf_t log;       /* START .. the lines so far */
    size_t log_written; /* of which this much is in the function's log file */
};

/* store.c */
int sl_fn_store_load(sl_fn_account_t *a);
int sl_fn_store_save(fn_t *f);
int sl_fn_store_unpack(fn_t *f, const uint8_t *zip, size_t len, const char *local_path, char *err,
                       size_t err_cap);
int sl_fn_store_remove(fn_t *f);
void sl_fn_store_code_dir(const fn_t *f, char *out, size_t cap);
int sl_fn_queue_save(fn_t *f, queued_t *q);
void sl_fn_queue_remove(fn_t *f, const queued_t *q);
/* Records q->attempts (after it grew from `before`) in the entry's name (a rename: atomic). */
void sl_fn_queue_mark(fn_t *f, const queued_t *q, int before);
void sl_fn_log_write(fn_t *f, const char *text, size_t len);
void sl_fn_config_copy(sl_fn_config_t *dst, const sl_fn_config_t *src);
int sl_fn_write_file(const char *path, const void *data, size_t len);
void sl_fn_ops_run(sl_functions_t *fns, sl_fn_op_t *op);

/* exec.c */
void sl_fn_invoke(sl_functions_t *fns, fn_t *f, sl_fn_op_t *op);
void sl_fn_retire(sl_functions_t *fns, fn_t *f, bool deleting);
void sl_fn_queue_pump(sl_functions_t *fns, fn_t *f);

/* sandbox.c: --functions-user. _init resolves the user (a name or uid; the server must run as
 * root) and makes the run root; _stage copies f's code (once per code revision) and prepares its
 * TMPDIR, both readable by the user, and gives their paths; _cleanup removes the run root. */
int sl_fn_sandbox_init(sl_functions_t *fns, const char *user);
int sl_fn_sandbox_stage(sl_functions_t *fns, fn_t *f, const char *code, char *staged,
                        size_t staged_cap, char *tmp, size_t tmp_cap);
void sl_fn_sandbox_cleanup(sl_functions_t *fns);
void sl_fn_runtime_run(sl_functions_t *fns, sl_fn_rt_t *rt);
void sl_fn_envs_stop_all(sl_functions_t *fns);
void sl_fn_find_interpreters(sl_functions_t *fns);

/* runtimes.c (generated from runtime/): the runtime-interface clients */
extern const char sl_fn_node_ric[];
extern const char sl_fn_python_ric[];

#endif
