/* The Lambda operations of the functions core (see functions.h): create, read, update and delete
 * functions, their reserved concurrency, and the start of an invocation. Runs on the supervisor
 * thread. Messages are AWS's where AWS's are known (docs/functions.md lists them). */
#include "functions/internal.h"

#include "core/log.h"
#include "core/time.h"
#include "wire/json.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void fail(sl_fn_op_t *op, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(sl_fn_op_t *op, const char *type, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op->error_message, sizeof op->error_message, fmt, ap);
    va_end(ap);
    op->error_type = type;
}

static void fail_internal(sl_fn_op_t *op, int rc) {
    fail(op, "ServiceException", "Internal service failure: %s.", sl_strerror(rc));
}

/* The function name of a name, an ARN or a partial ARN, and its qualifier ("" when none).
 * False when the text has none of these forms. */
static bool parse_name(const char *in, char *name, size_t cap, char *qual, size_t qcap) {
    const char *p = in;
    if (strncmp(p, "arn:", 4) == 0) {
        /* arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>] */
        for (int i = 0; i < 5 && p; i++) {
            p = strchr(p, ':');
            if (p) p++;
        }
        if (!p || strncmp(p, "function:", 9) != 0) return false;
        p += 9;
    } else {
        const char *fn = strstr(p, ":function:");
        if (fn) p = fn + 10;
    }
    size_t n = strcspn(p, ":");
    if (n == 0 || n >= cap) return false;
    /* the name becomes a directory name: only what AWS allows in it, whatever the model check */
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != '_') return false;
    memcpy(name, p, n);
    name[n] = 0;
    snprintf(qual, qcap, "%s", p[n] == ':' ? p + n + 1 : "");
    return true;
}

static fn_t *find(sl_fn_account_t *a, const char *name) {
    for (fn_t *f = a->functions; f; f = f->next)
        if (strcmp(f->cfg.name, name) == 0) return f;
    return NULL;
}

static void not_found(sl_fn_op_t *op, const char *name, const char *qual) {
    sl_fn_account_t *a = op->account;
    fail(op, "ResourceNotFoundException",
         "Function not found: arn:aws:lambda:%s:%s:function:%s%s%s", a->fns->region, a->id, name,
         qual[0] ? ":" : "", qual);
}

/* The function the op names (NULL after failing the op). */
static fn_t *lookup(sl_fn_op_t *op) {
    char name[SL_FN_NAME_BYTES_MAX], qual[64];
    if (!parse_name(op->function_name, name, sizeof name, qual, sizeof qual)) {
        fail(op, "ResourceNotFoundException", "Function not found: %s", op->function_name);
        return NULL;
    }
    if (op->qualifier && op->qualifier[0]) snprintf(qual, sizeof qual, "%s", op->qualifier);
    fn_t *f = find(op->account, name);
    if (!f || (qual[0] && strcmp(qual, "$LATEST") != 0)) {
        not_found(op, name, qual);
        return NULL;
    }
    return f;
}

static bool runtime_supported(const char *rt) {
    return strncmp(rt, "provided", 8) == 0 || strncmp(rt, "nodejs", 6) == 0 ||
           strncmp(rt, "python3", 7) == 0;
}

/* Environment variable names AWS reserves (its message names the first one used). */
static const char *const reserved_keys[] = {"_HANDLER",
                                            "_X_AMZN_TRACE_ID",
                                            "AWS_DEFAULT_REGION",
                                            "AWS_REGION",
                                            "AWS_EXECUTION_ENV",
                                            "AWS_LAMBDA_FUNCTION_NAME",
                                            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                                            "AWS_LAMBDA_FUNCTION_VERSION",
                                            "AWS_LAMBDA_INITIALIZATION_TYPE",
                                            "AWS_LAMBDA_LOG_GROUP_NAME",
                                            "AWS_LAMBDA_LOG_STREAM_NAME",
                                            "AWS_ACCESS_KEY",
                                            "AWS_ACCESS_KEY_ID",
                                            "AWS_SECRET_ACCESS_KEY",
                                            "AWS_SESSION_TOKEN",
                                            "AWS_LAMBDA_RUNTIME_API",
                                            "LAMBDA_TASK_ROOT",
                                            "LAMBDA_RUNTIME_DIR",
                                            NULL};

/* Applies the spec to cfg (validated first: nothing changes on failure). */
static bool apply_spec(sl_fn_op_t *op, sl_fn_config_t *cfg) {
    const sl_fn_spec_t *s = &op->spec;
    if (s->has_runtime && !runtime_supported(s->runtime)) {
        fail(
            op, "InvalidParameterValueException",
            "The runtime parameter of %s is not supported by this server: it runs provided.al2023, "
            "provided.al2, nodejs* and python3.* functions.",
            s->runtime);
        return false;
    }
    sl_functions_t *fns = op->account->fns;
    sl_fn_creds_t *creds = NULL;
    int role_rc = 0;
    if (s->has_role && strlen(s->role) < sizeof cfg->role && fns->role_fn) {
        creds = malloc(sizeof *creds); /* a session token is 4 KiB: not on the stack */
        role_rc = creds ? fns->role_fn(fns->role_ctx, op->account->id, s->role, cfg->name,
                                       sl_time_now_ms() / 1000, creds)
                        : SL_ENOMEM;
        free(creds);
        if (role_rc && role_rc != SL_EINVAL) {
            fail_internal(op, role_rc);
            return false;
        }
    }
    if (s->has_role && (strlen(s->role) >= sizeof cfg->role || role_rc == SL_EINVAL)) {
        fail(op, "InvalidParameterValueException",
             "The role defined for the function cannot be "
             "assumed by Lambda.");
        return false;
    }
    sl_buf_t env = SL_BUF_INIT;
    if (s->has_env) {
        size_t total = 0;
        for (size_t i = 0; i < s->env_count; i++) {
            for (size_t r = 0; reserved_keys[r]; r++) {
                if (strcmp(s->env_keys[i], reserved_keys[r]) == 0) {
                    fail(op, "InvalidParameterValueException",
                         "Lambda was unable to configure your environment variables because the "
                         "environment variables you have provided contains reserved keys that are "
                         "currently not supported for modification. Reserved keys used in this "
                         "request: %s",
                         reserved_keys[r]);
                    sl_buf_free(&env);
                    return false;
                }
            }
            total += strlen(s->env_keys[i]) + strlen(s->env_values[i]);
            sl_buf_append(&env, s->env_keys[i], strlen(s->env_keys[i]) + 1);
            sl_buf_append(&env, s->env_values[i], strlen(s->env_values[i]) + 1);
        }
        if (total > SL_FN_ENV_BYTES_MAX) {
            fail(op, "InvalidParameterValueException",
                 "Lambda was unable to configure your environment variables because the "
                 "environment variables you have provided exceeded the 4KB limit. String "
                 "measured: %zu",
                 total);
            sl_buf_free(&env);
            return false;
        }
        if (sl_buf_failed(&env)) {
            fail_internal(op, SL_ENOMEM);
            return false;
        }
    }
    if (s->has_runtime) snprintf(cfg->runtime, sizeof cfg->runtime, "%s", s->runtime);
    if (s->has_handler) snprintf(cfg->handler, sizeof cfg->handler, "%s", s->handler);
    if (s->has_role) snprintf(cfg->role, sizeof cfg->role, "%s", s->role);
    if (s->has_description)
        snprintf(cfg->description, sizeof cfg->description, "%s", s->description);
    if (s->has_timeout) cfg->timeout_s = s->timeout_s;
    if (s->has_memory) cfg->memory_mb = s->memory_mb;
    if (s->has_env) {
        free(cfg->env);
        cfg->env = env.len ? sl_buf_detach(&env, &cfg->env_len) : NULL;
        if (!cfg->env) cfg->env_len = 0;
    }
    sl_buf_free(&env);
    return true;
}

static void new_revision(sl_functions_t *fns, sl_fn_config_t *cfg) {
    uint64_t a = (uint64_t)sl_time_mono_ns() ^ (++fns->seq * 0x9E3779B97F4A7C15ull);
    uint64_t b = a * 0xD6E8FEB86659FD93ull ^ (uint64_t)sl_time_now_ms();
    snprintf(cfg->revision_id, sizeof cfg->revision_id, "%08x-%04x-4%03x-%04x-%012llx",
             (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
             ((unsigned)(b >> 48) & 0x3fff) | 0x8000, (unsigned long long)(b & 0xffffffffffffull));
    cfg->last_modified_ms = sl_time_now_ms();
}

/* Pending -> Active and InProgress -> Successful happen right after the answer, as the next
 * request sees them (SDK waiters poll for them). */
typedef struct {
    sl_fn_account_t *account;
    char name[SL_FN_NAME_BYTES_MAX];
} settle_t;

static void settle(void *arg) {
    settle_t *s = arg;
    fn_t *f = s->account->fns->stopping ? NULL : find(s->account, s->name);
    if (f) {
        f->cfg.state = "Active";
        f->cfg.last_update = "Successful";
    }
    free(s);
}

static void settle_later(fn_t *f) {
    settle_t *s = calloc(1, sizeof *s);
    if (!s) {
        f->cfg.state = "Active";
        f->cfg.last_update = "Successful";
        return;
    }
    s->account = f->account;
    snprintf(s->name, sizeof s->name, "%s", f->cfg.name);
    if (sl_loop_post(f->account->fns->loop, settle, s) != 0) settle(s);
}

static void op_create(sl_fn_op_t *op) {
    sl_fn_account_t *a = op->account;
    sl_functions_t *fns = a->fns;
    char name[SL_FN_NAME_BYTES_MAX], qual[64];
    if (!parse_name(op->function_name, name, sizeof name, qual, sizeof qual) || qual[0]) {
        fail(op, "InvalidParameterValueException", "Invalid function name: %s", op->function_name);
        return;
    }
    if (find(a, name)) {
        fail(op, "ResourceConflictException", "Function already exist: %s", name);
        return;
    }
    if (a->function_count >= SL_FN_FUNCTIONS_MAX) {
        fail(op, "CodeStorageExceededException",
             "This server holds at most %d functions per account.", SL_FN_FUNCTIONS_MAX);
        return;
    }
    if (!op->spec.has_runtime || !op->spec.has_handler) {
        fail(op, "InvalidParameterValueException",
             "Runtime and Handler are mandatory parameters for functions created with deployment "
             "packages.");
        return;
    }
    if (!op->zip && !op->local_path) {
        fail(op, "InvalidParameterValueException", "Please provide a source for function code.");
        return;
    }
    fn_t *f = calloc(1, sizeof *f);
    if (!f) {
        fail_internal(op, SL_ENOMEM);
        return;
    }
    f->account = a;
    f->log_fd = -1;
    f->cfg.timeout_s = 3;
    f->cfg.memory_mb = 128;
    f->cfg.reserved_concurrency = -1;
    snprintf(f->cfg.name, sizeof f->cfg.name, "%s", name);
    snprintf(f->cfg.arn, sizeof f->cfg.arn, "arn:aws:lambda:%s:%s:function:%s", fns->region, a->id,
             name);
    if (snprintf(f->dir, sizeof f->dir, "%s/%s", a->dir, name) >= (int)sizeof f->dir) {
        fail(op, "InvalidParameterValueException", "The data directory path is too long.");
        free(f);
        return;
    }
    if (!apply_spec(op, &f->cfg)) {
        sl_fn_config_deinit(&f->cfg);
        free(f);
        return;
    }
    struct stat st;
    int rc = 0;
    if (stat(a->dir, &st) != 0 && mkdir(a->dir, 0700) != 0) rc = SL_EIO;
    if (rc == 0)
        rc = sl_fn_store_unpack(f, op->zip, op->zip_len, op->local_path, op->error_message,
                                sizeof op->error_message);
    if (rc == 0) {
        new_revision(fns, &f->cfg);
        rc = sl_fn_store_save(f);
    }
    if (rc) {
        if (rc == SL_EINVAL)
            op->error_type = "InvalidParameterValueException";
        else
            fail_internal(op, rc);
        sl_fn_store_remove(f);
        sl_fn_config_deinit(&f->cfg);
        free(f);
        return;
    }
    f->cfg.state = "Pending";
    f->cfg.last_update = "Successful";
    f->next = a->functions;
    a->functions = f;
    a->function_count++;
    sl_fn_config_copy(&op->config, &f->cfg);
    settle_later(f);
}

static void op_update(sl_fn_op_t *op, fn_t *f) {
    sl_fn_config_t next;
    sl_fn_config_copy(&next, &f->cfg);
    int rc = 0;
    if (op->kind == SL_FN_UPDATE_CONFIG) {
        if (!apply_spec(op, &next)) {
            sl_fn_config_deinit(&next);
            return;
        }
    } else {
        if (!op->zip && !op->local_path) {
            fail(op, "InvalidParameterValueException",
                 "Please provide a source for function code.");
            sl_fn_config_deinit(&next);
            return;
        }
        sl_fn_config_t saved = f->cfg;
        rc = sl_fn_store_unpack(f, op->zip, op->zip_len, op->local_path, op->error_message,
                                sizeof op->error_message);
        /* unpack wrote the code fields into f->cfg: take them into next, keep the rest */
        memcpy(next.code_path, f->cfg.code_path, sizeof next.code_path);
        memcpy(next.code_sha256, f->cfg.code_sha256, sizeof next.code_sha256);
        next.code_size = f->cfg.code_size;
        f->cfg = saved;
        if (rc) {
            if (rc == SL_EINVAL)
                op->error_type = "InvalidParameterValueException";
            else
                fail_internal(op, rc);
            sl_fn_config_deinit(&next);
            return;
        }
    }
    new_revision(op->account->fns, &next);
    sl_fn_config_t old = f->cfg;
    f->cfg = next;
    rc = sl_fn_store_save(f);
    if (rc) {
        f->cfg = old;
        sl_fn_config_deinit(&next);
        fail_internal(op, rc);
        return;
    }
    sl_fn_config_deinit(&old);
    f->code_rev++;
    sl_fn_retire(op->account->fns, f, false);
    f->cfg.last_update = "InProgress";
    sl_fn_config_copy(&op->config, &f->cfg);
    settle_later(f);
}

static void op_delete(sl_fn_op_t *op, fn_t *f) {
    sl_fn_account_t *a = op->account;
    f->deleting = true; /* the pumps that finishing invocations run start nothing for it */
    sl_fn_retire(a->fns, f, true);
    for (fn_t **pp = &a->functions; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    }
    a->function_count--;
    sl_fn_store_remove(f);
    for (queued_t *q = f->queue, *next; q; q = next) {
        next = q->next;
        free(q->payload);
        free(q);
    }
    if (f->queue_timer) sl_timer_cancel(f->queue_timer);
    if (f->log_fd >= 0) close(f->log_fd);
    sl_fn_config_deinit(&f->cfg);
    free(f);
}

static int by_name(const void *x, const void *y) {
    const sl_fn_config_t *a = x, *b = y;
    return strcmp(a->name, b->name);
}

static void op_list(sl_fn_op_t *op) {
    sl_fn_account_t *a = op->account;
    int max = op->max_items > 0 ? op->max_items : 50;
    sl_fn_config_t *all = calloc((size_t)a->function_count + 1, sizeof *all);
    if (!all) {
        fail_internal(op, SL_ENOMEM);
        return;
    }
    size_t n = 0;
    for (fn_t *f = a->functions; f; f = f->next)
        all[n++] = f->cfg; /* shallow: env copied below for the ones returned */
    qsort(all, n, sizeof *all, by_name);
    size_t start = 0;
    while (op->marker && op->marker[0] && start < n && strcmp(all[start].name, op->marker) <= 0)
        start++;
    size_t count = n - start < (size_t)max ? n - start : (size_t)max;
    op->list = calloc(count + 1, sizeof *op->list);
    if (!op->list) {
        free(all);
        fail_internal(op, SL_ENOMEM);
        return;
    }
    for (size_t i = 0; i < count; i++)
        sl_fn_config_copy(&op->list[i], &all[start + i]);
    op->list_count = count;
    if (start + count < n)
        snprintf(op->next_marker, sizeof op->next_marker, "%s", all[start + count - 1].name);
    free(all);
}

/* Returns true when the invocation went to an environment (which then completes the op). */
static bool op_invoke(sl_fn_op_t *op, fn_t *f) {
    sl_functions_t *fns = op->account->fns;
    if (strcmp(f->cfg.state, "Active") != 0) {
        fail(op, "ResourceConflictException",
             "The operation cannot be performed at this time. The function is currently in the "
             "following state: %s",
             f->cfg.state);
        return false;
    }
    size_t max = op->invoke_type == SL_FN_INVOKE_EVENT ? SL_FN_EVENT_PAYLOAD_BYTES_MAX
                                                       : SL_FN_PAYLOAD_BYTES_MAX;
    if (op->payload_len > max) {
        fail(op, "RequestTooLargeException",
             "Request must be smaller than %zu bytes for the InvokeFunction operation", max);
        return false;
    }
    if (op->payload_len) {
        /* AWS takes only JSON payloads */
        char *copy = malloc(op->payload_len + 1);
        sl_arena_t arena;
        sl_arena_init(&arena, 4096);
        sl_val_t *doc;
        const char *reason = "";
        int prc = -1;
        if (copy) {
            memcpy(copy, op->payload, op->payload_len);
            copy[op->payload_len] = 0;
            prc = sl_json_parse(copy, op->payload_len, &arena, &doc, &reason);
        }
        sl_arena_deinit(&arena);
        free(copy);
        if (prc != 0) {
            fail(op, "InvalidRequestContentException",
                 "Could not parse request body into json: Could not parse payload into json: %s",
                 reason ? reason : "invalid JSON");
            return false;
        }
    }
    if (op->invoke_type == SL_FN_INVOKE_DRY_RUN) {
        op->status_code = 204;
        return false;
    }
    if (op->invoke_type == SL_FN_INVOKE_EVENT) {
        if (f->queue_count >= SL_FN_EVENT_QUEUE_MAX) {
            op->throttle_reason = "ConcurrentInvocationLimitExceeded";
            fail(op, "TooManyRequestsException", "Rate Exceeded.");
            return false;
        }
        queued_t *q = calloc(1, sizeof *q);
        uint8_t *copy = malloc(op->payload_len ? op->payload_len : 1);
        if (!q || !copy) {
            free(q);
            free(copy);
            fail_internal(op, SL_ENOMEM);
            return false;
        }
        memcpy(copy, op->payload, op->payload_len);
        q->payload = copy;
        q->payload_len = op->payload_len;
        q->seq = f->queue_seq++;
        int rc = sl_fn_queue_save(f, q);
        if (rc) {
            free(copy);
            free(q);
            fail_internal(op, rc);
            return false;
        }
        queued_t **tail = &f->queue;
        while (*tail)
            tail = &(*tail)->next;
        *tail = q;
        f->queue_count++;
        op->status_code = 202;
        sl_fn_queue_pump(fns, f);
        return false;
    }
    sl_fn_invoke(fns, f, op); /* completes the op itself */
    return true;
}

/* Runs an op on the supervisor thread and completes it (except a synchronous invocation, which
 * completes when the function answers). */
void sl_fn_ops_run(sl_functions_t *fns, sl_fn_op_t *op) {
    (void)fns;
    fn_t *f = NULL;
    if (op->kind != SL_FN_CREATE && op->kind != SL_FN_LIST && !(f = lookup(op))) {
        op->done(op);
        return;
    }
    switch (op->kind) {
    case SL_FN_CREATE:
        op_create(op);
        break;
    case SL_FN_LIST:
        op_list(op);
        break;
    case SL_FN_GET:
        sl_fn_config_copy(&op->config, &f->cfg);
        break;
    case SL_FN_UPDATE_CODE:
    case SL_FN_UPDATE_CONFIG:
        op_update(op, f);
        break;
    case SL_FN_DELETE:
        op_delete(op, f);
        break;
    case SL_FN_PUT_CONCURRENCY:
    case SL_FN_DELETE_CONCURRENCY: {
        int want = op->kind == SL_FN_PUT_CONCURRENCY ? op->concurrency : -1;
        if (want > fns->cfg.concurrency) {
            fail(op, "InvalidParameterValueException",
                 "Specified ReservedConcurrentExecutions for function decreases account's "
                 "UnreservedConcurrentExecution below its minimum value of [0].");
            break;
        }
        int old = f->cfg.reserved_concurrency;
        f->cfg.reserved_concurrency = want;
        int rc = sl_fn_store_save(f);
        if (rc) {
            f->cfg.reserved_concurrency = old;
            fail_internal(op, rc);
            break;
        }
        sl_fn_config_copy(&op->config, &f->cfg);
        if (f->queue_count) sl_fn_queue_pump(fns, f); /* more room: queued events may run */
        break;
    }
    case SL_FN_GET_CONCURRENCY:
        sl_fn_config_copy(&op->config, &f->cfg);
        break;
    case SL_FN_INVOKE:
        if (op_invoke(op, f)) return;
        break;
    }
    op->done(op);
}

void sl_fn_op_deinit(sl_fn_op_t *op) {
    sl_fn_config_deinit(&op->config);
    for (size_t i = 0; i < op->list_count; i++)
        sl_fn_config_deinit(&op->list[i]);
    free(op->list);
    free(op->result);
    free(op->log_result);
    op->list = NULL;
    op->list_count = 0;
    op->result = NULL;
    op->log_result = NULL;
}
