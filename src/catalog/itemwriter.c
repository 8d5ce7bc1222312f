/* The item store's group-commit writer (see itemwriter.h). */
#include "catalog/itemwriter.h"

#include "core/common.h"
#include "core/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wop {
    struct wop *next;
    bool has_op;
    sl_itemstore_op_t op; /* its strings point into the block after the struct */
    sl_itemwriter_done_fn done;
    void *ctx;
} wop_t;

struct sl_itemwriter {
    sl_itemstore_t *store;
    char what[16], account[16];
    pthread_t thread;
    pthread_mutex_t mu; /* the queue and stopping */
    pthread_cond_t cv;
    wop_t *head, *tail;
    bool stopping;
    int failed; /* a round failed: its SL_E* code (writer thread only) */
};

/* One round: the queued changes in one transaction, then their completions. */
static void round_write(sl_itemwriter_t *w, wop_t *list) {
    size_t n = 0;
    for (wop_t *o = list; o; o = o->next)
        n += o->has_op;
    sl_itemstore_op_t *ops = calloc(n + 1, sizeof *ops);
    int rc = ops ? w->failed : SL_ENOMEM;
    size_t i = 0;
    for (wop_t *o = list; ops && o; o = o->next)
        if (o->has_op) ops[i++] = o->op;
    if (rc == 0 && n) rc = sl_itemstore_write(w->store, ops, n);
    if (rc && !w->failed) {
        SL_ERROR("%s: the item store of account %s failed (%s); later writes fail too until a "
                 "restart",
                 w->what, w->account, sl_strerror(rc));
        w->failed = rc;
    }
    free(ops);
    while (list) {
        wop_t *next = list->next;
        if (list->done) list->done(list->ctx, rc);
        free(list);
        list = next;
    }
}

static void *writer_main(void *arg) {
    sl_itemwriter_t *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->head) break; /* stopping, and nothing left */
        wop_t *list = w->head;
        w->head = w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        round_write(w, list);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int sl_itemwriter_start(sl_itemstore_t *store, const char *what, const char *account,
                        sl_itemwriter_t **out) {
    sl_itemwriter_t *w = calloc(1, sizeof *w);
    if (!w) return SL_ENOMEM;
    w->store = store;
    snprintf(w->what, sizeof w->what, "%s", what);
    snprintf(w->account, sizeof w->account, "%s", account ? account : "");
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return SL_ENOMEM;
    }
    *out = w;
    return 0;
}

void sl_itemwriter_stop(sl_itemwriter_t *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

int sl_itemwriter_enqueue(sl_itemwriter_t *w, bool has_op, sl_itemstore_op_kind_t kind,
                          const char *table, const void *key, size_t key_len, const void *val,
                          size_t val_len, sl_itemwriter_done_fn done, void *ctx) {
    size_t tlen = strlen(table) + 1;
    wop_t *o = malloc(sizeof *o + tlen + key_len + val_len);
    if (!o) return SL_ENOMEM;
    memset(o, 0, sizeof *o);
    char *p = (char *)(o + 1);
    memcpy(p, table, tlen);
    if (key_len) memcpy(p + tlen, key, key_len);
    if (val_len) memcpy(p + tlen + key_len, val, val_len);
    o->has_op = has_op;
    o->op = (sl_itemstore_op_t){kind, p, p + tlen, key_len, p + tlen + key_len, val_len};
    o->done = done;
    o->ctx = ctx;
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = o;
    else
        w->head = o;
    w->tail = o;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}
