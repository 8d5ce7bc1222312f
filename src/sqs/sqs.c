/* The SQS core of one account: errors, open and close, its item writer (durable changes, one
 * item store transaction per round; catalog/itemwriter.h) and the timer thread (long polls). See
 * sqs.h. */
#include "sqs/internal.h"

#include "core/log.h"
#include "core/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- errors ---- */

static const struct {
    const char *name, *code;
    int status;
} error_table[] = {{"", "", 200},
#define SL_SQS_ROW_(e, name, code, status) {name, code, status},
                   SL_SQS_ERRORS(SL_SQS_ROW_)
#undef SL_SQS_ROW_
};

const char *sl_sqs_err_name(sl_sqs_err_type_t type) {
    return (size_t)type < SL_ARRAY_LEN(error_table) ? error_table[type].name : "InternalError";
}

const char *sl_sqs_err_code(sl_sqs_err_type_t type) {
    return (size_t)type < SL_ARRAY_LEN(error_table) ? error_table[type].code : "InternalError";
}

int sl_sqs_err_status(sl_sqs_err_type_t type) {
    return (size_t)type < SL_ARRAY_LEN(error_table) ? error_table[type].status : 500;
}

void sl_sqs_fail(sl_sqs_err_t *err, sl_sqs_err_type_t type, const char *fmt, ...) {
    err->type = type;
    err->cause = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

int sl_sqs_internal(sl_sqs_err_t *err, int code) {
    err->type = SL_SQS_INTERNAL_ERROR;
    err->cause = code;
    snprintf(err->message, sizeof err->message, "The request failed: %s.", sl_strerror(code));
    return code;
}

const char *sl_sqs_account(const sl_sqs_t *sqs) {
    return sqs->account;
}

const char *sl_sqs_region(const sl_sqs_t *sqs) {
    return sqs->region;
}

sl_sqs_queue_t *sl_sqs_find(sl_sqs_t *sqs, const char *name) {
    for (size_t i = 0; i < sqs->queue_count; i++)
        if (strcmp(sqs->queues[i]->name, name) == 0) return sqs->queues[i];
    return NULL;
}

/* ---- the writer ---- */

int sl_sqs_enqueue(sl_sqs_t *sqs, bool has_op, sl_itemstore_op_kind_t kind, const char *table,
                   const void *key, size_t key_len, const void *val, size_t val_len,
                   void (*done)(void *ctx, int status), void *ctx) {
    return sl_itemwriter_enqueue(sqs->writer, has_op, kind, table, key, key_len, val, val_len, done,
                                 ctx);
}

/* ---- the timer thread: long polls ---- */

void sl_sqs_wake(sl_sqs_t *sqs) {
    if (sqs->waiters) pthread_cond_signal(&sqs->tcond);
}

/* Completes the waiters that can be (messages visible, deadline passed, stopping), unlinking them
 * onto *ready with their results; returns the time of the next thing to look at. Caller holds
 * mu. */
typedef struct ready {
    struct ready *next;
    sl_sqs_waiter_t *w;
    sl_sqs_received_t *r;
} ready_t;

static int64_t poll_waiters(sl_sqs_t *sqs, int64_t now_ms, ready_t **ready) {
    int64_t next = INT64_MAX;
    sl_sqs_waiter_t **pp = &sqs->waiters;
    while (*pp) {
        sl_sqs_waiter_t *w = *pp;
        sl_sqs_queue_t *q = sl_sqs_find(sqs, w->queue);
        if (q && q->incarnation != w->incarnation) q = NULL;
        sl_sqs_received_t *r = NULL;
        if (q && !sqs->stopping)
            r = sl_sqs_take(sqs, q, w->max_messages, w->visibility_timeout, now_ms);
        bool finish = !q || sqs->stopping || now_ms >= w->deadline_ms || !r || r->count > 0;
        if (!finish) {
            sl_sqs_received_free(r);
            int64_t v = sl_sqs_next_visible(q, now_ms);
            next = SL_MIN(next, SL_MIN(v, w->deadline_ms));
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        sqs->waiter_count--;
        ready_t *rd = malloc(sizeof *rd);
        if (!r) r = calloc(1, sizeof *r);
        if (!rd || !r) { /* no memory: answer with nothing rather than never */
            free(rd);
            w->done(w->ctx, r);
            free(w);
            continue;
        }
        *rd = (ready_t){*ready, w, r};
        *ready = rd;
    }
    return next;
}

static void finish_ready(ready_t *ready) {
    while (ready) {
        ready_t *next = ready->next;
        ready->w->done(ready->w->ctx, ready->r);
        free(ready->w);
        free(ready);
        ready = next;
    }
}

static void *timer_main(void *arg) {
    sl_sqs_t *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->timer_quit) {
        ready_t *ready = NULL;
        int64_t next = s->waiters ? poll_waiters(s, sl_time_now_ms(), &ready) : INT64_MAX;
        if (ready) {
            pthread_mutex_unlock(&s->mu);
            finish_ready(ready);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        if (next == INT64_MAX) {
            pthread_cond_wait(&s->tcond, &s->mu);
        } else {
            struct timespec ts = {(time_t)(next / 1000), (long)(next % 1000) * 1000000L};
            pthread_cond_timedwait(&s->tcond, &s->mu, &ts);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- open / close ---- */

static int load_queue(void *ctx, const char *name, const void *meta, size_t len) {
    sl_sqs_t *s = ctx;
    sl_sqs_queue_t *q = NULL;
    int rc = s->queue_count < SL_SQS_QUEUES_MAX ? sl_sqs_queue_decode(s, name, meta, len, &q)
                                                : SL_ELIMIT;
    if (rc) {
        SL_ERROR("sqs: queue %s of account %s cannot be loaded: %s", name, s->account,
                 sl_strerror(rc));
        return rc;
    }
    s->queues[s->queue_count++] = q;
    return 0;
}

static int load_message(void *ctx, const char *table, const void *key, size_t key_len,
                        const void *val, size_t val_len) {
    sl_sqs_t *s = ctx;
    sl_sqs_queue_t *q = sl_sqs_find(s, table);
    if (!q) return 0; /* a deleted queue's leftovers */
    char id[40];
    if (key_len == 0 || key_len >= sizeof id) return 0;
    memcpy(id, key, key_len);
    id[key_len] = 0;
    sl_sqs_msg_t *m = sl_sqs_msg_decode(id, val, val_len);
    if (!m) {
        SL_ERROR("sqs: message %s of queue %s is damaged; skipped", id, table);
        return 0;
    }
    /* the store returns items in no particular order: insert by sequence */
    sl_sqs_msg_t *at = q->tail;
    while (at && at->seq > m->seq)
        at = at->prev;
    m->prev = at;
    m->next = at ? at->next : q->head;
    if (m->next)
        m->next->prev = m;
    else
        q->tail = m;
    if (at)
        at->next = m;
    else
        q->head = m;
    q->count++;
    if (m->seq >= q->next_seq) q->next_seq = m->seq + 1;
    return 0;
}

int sl_sqs_open(const sl_sqs_config_t *cfg, sl_sqs_t **out) {
    *out = NULL;
    sl_sqs_t *s = calloc(1, sizeof *s);
    if (!s) return SL_ENOMEM;
    snprintf(s->region, sizeof s->region, "%s", cfg->region);
    snprintf(s->account, sizeof s->account, "%s", cfg->account);
    s->next_incarnation = 1;
    s->next_receipt = (uint64_t)sl_time_now_ms() << 16;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_REALTIME);
    pthread_cond_init(&s->tcond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = sl_itemstore_open(cfg->path, &s->store);
    if (rc == 0) rc = sl_itemstore_load(s->store, load_queue, load_message, s);
    if (rc == 0) rc = sl_itemwriter_start(s->store, "sqs", s->account, &s->writer);
    if (rc == 0) rc = pthread_create(&s->timer, NULL, timer_main, s) ? SL_ENOMEM : 0;
    if (rc == 0) s->timer_started = true;
    if (rc) {
        SL_ERROR("sqs: cannot open %s: %s", cfg->path, sl_strerror(rc));
        sl_sqs_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sl_sqs_stop(sl_sqs_t *sqs) {
    if (!sqs) return;
    pthread_mutex_lock(&sqs->mu);
    sqs->stopping = true;
    ready_t *ready = NULL;
    poll_waiters(sqs, sl_time_now_ms(), &ready);
    pthread_mutex_unlock(&sqs->mu);
    finish_ready(ready);
}

void sl_sqs_close(sl_sqs_t *sqs) {
    if (!sqs) return;
    sl_sqs_stop(sqs);
    if (sqs->timer_started) {
        pthread_mutex_lock(&sqs->mu);
        sqs->timer_quit = true;
        pthread_cond_signal(&sqs->tcond);
        pthread_mutex_unlock(&sqs->mu);
        pthread_join(sqs->timer, NULL);
    }
    sl_itemwriter_stop(sqs->writer);
    sl_itemstore_close(sqs->store);
    for (size_t i = 0; i < sqs->queue_count; i++)
        sl_sqs_queue_free(sqs->queues[i]);
    pthread_mutex_destroy(&sqs->mu);
    pthread_cond_destroy(&sqs->tcond);
    free(sqs);
}
