/* libsluice consumer: a worker of the Kinesis Client Library's kind (KCL 2.x), as a library.
 *
 *   sl_consumer_run (the coordinator, on the caller's thread)
 *     - at start: creates the lease table if missing, syncs shards into leases (ListShards)
 *     - every failover/3 - 25 ms: renews each held lease (conditional counter + 1); a failed
 *       condition, or no renewal for failover_time, means the lease is lost
 *     - every (failover + 25 ms) x 2: the taker (Scan; leases whose counter did not move for
 *       failover_time are expired; take unowned/expired ones up to the fair share, or steal one
 *       from the most loaded worker) - client/lease.c makes the calls
 *     - every shard_sync_interval, and after a shard ended here: shard sync (new child leases)
 *     - one shard thread per held lease, started after the take
 *   shard thread: waits until its parents' leases say SHARD_END (or are gone), initializes the
 *     processor at the checkpoint, then reads (GetRecords polling, or SubscribeToShard), de-
 *     aggregates (dropping a whole aggregate whose sub-records fall outside the shard's hash
 *     range, as the KCL does after a reshard) and calls process_records; at the shard's end it
 *     creates the child leases and calls shard_ended, which must checkpoint SHARD_END; it ends
 *     with lease_lost when the coordinator marks the lease lost, or shutdown_requested.
 * Ownership: the consumer owns the held-lease list (coordinator thread adds and reaps; `mu`
 * guards the list links); each held lease's item is guarded by its own mutex, which every
 * DynamoDB write on it holds (renewal, checkpoint, eviction), so the counter never races itself.
 * docs/consumer.md describes the protocol; timings are KCL 2.x's defaults unless configured. */
#include "client/internal.h"
#include "client/lease.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "wire/base64.h"
#include "wire/enc.h"
#include "wire/eventstream.h"
#include "wire/json.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { EPSILON_MS = 25, NAP_SLICE_MS = 20 };

typedef struct held held_t;

struct sl_checkpointer {
    held_t *h;
    bool at_shard_end; /* inside shard_ended: a checkpoint without position stores SHARD_END */
};

/* A lease this worker holds, and the thread that processes its shard. Created by the taker,
 * freed by the coordinator after the thread ended. */
struct held {
    held_t *next;
    sl_consumer_t *c;
    pthread_mutex_t mu; /* guards lease and every DynamoDB write on it */
    sl_lease_t lease;
    int64_t renewed_ms; /* coordinator thread */
    atomic_bool lost;   /* renewal failed or expired: the shard thread calls lease_lost */
    atomic_bool stop;   /* graceful shutdown: the shard thread calls shutdown_requested */
    atomic_bool done;   /* the shard thread ended */
    bool released;      /* the lease was given up (shard end, refusal): nothing to renew */
    bool started;
    pthread_t thread;
    /* Shard thread only: */
    sl_lease_table_t table; /* the shard thread's calls (its own error text) */
    sl_checkpointer_t cp;
    void *proc_state;                /* the processor's state for this shard */
    char last_seq[SL_LEASE_SEQ_MAX]; /* the last record handed to the processor */
    uint64_t last_sub;
    bool any_handed; /* last_seq is set */
};

/* Owned by the application (create/destroy). */
struct sl_consumer {
    sl_client_t *client;
    sl_lease_table_t table;
    sl_consumer_config_t cfg;
    sl_record_processor_t proc;
    void *app;
    char *app_name, *stream, *consumer_name;
    char worker_id[SL_LEASE_OWNER_MAX];
    char consumer_arn[512]; /* fan-out: the registered consumer */
    volatile sig_atomic_t shutdown;
    atomic_bool sync_soon; /* a shard ended here: sync and take at once */
    pthread_mutex_t mu;    /* guards the held list's links and error */
    held_t *held;
    /* Taker's memory (coordinator thread): when each lease's counter was last seen to move. */
    struct seen {
        char key[SL_LEASE_KEY_MAX];
        int64_t counter;
        int64_t changed_ms;
    } * seen;
    size_t seen_count, seen_cap;
    char error[512];
};

static void log_error(sl_consumer_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void log_error(sl_consumer_t *c, const char *fmt, ...) {
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&c->mu);
    snprintf(c->error, sizeof c->error, "%s", text);
    pthread_mutex_unlock(&c->mu);
    fprintf(stderr, "sluice consumer %s: %s\n", c->worker_id, text);
}

void sl_consumer_config_init(sl_consumer_config_t *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->initial_position = SL_READ_TRIM_HORIZON;
    cfg->retrieval = SL_RETRIEVAL_POLLING;
}

static int or_default(int v, int d) {
    return v > 0 ? v : d;
}

int sl_consumer_create(sl_client_t *client, const sl_consumer_config_t *cfg,
                       const sl_record_processor_t *processor, void *app, sl_consumer_t **out) {
    if (!client || !cfg || !processor || !cfg->application_name || !cfg->stream_name ||
        !processor->initialize || !processor->process_records || !processor->lease_lost ||
        !processor->shard_ended || !processor->shutdown_requested)
        return SL_EINVAL;
    if (!cfg->application_name[0] || strlen(cfg->application_name) > 255) return SL_EINVAL;
    sl_consumer_t *c = calloc(1, sizeof *c);
    if (!c) return SL_ENOMEM;
    c->client = client;
    c->cfg = *cfg;
    c->cfg.failover_time_ms = or_default(cfg->failover_time_ms, 10000);
    c->cfg.shard_sync_interval_ms = or_default(cfg->shard_sync_interval_ms, 60000);
    c->cfg.parent_poll_interval_ms = or_default(cfg->parent_poll_interval_ms, 10000);
    c->cfg.idle_between_reads_ms = or_default(cfg->idle_between_reads_ms, 1500);
    c->cfg.max_records = or_default(cfg->max_records, 10000);
    c->cfg.max_leases_for_worker = or_default(cfg->max_leases_for_worker, 1 << 30);
    c->cfg.max_leases_to_steal = or_default(cfg->max_leases_to_steal, 1);
    c->proc = *processor;
    c->app = app;
    c->app_name = strdup(cfg->application_name);
    c->stream = strdup(cfg->stream_name);
    c->consumer_name = strdup(cfg->consumer_name ? cfg->consumer_name : cfg->application_name);
    if (!c->app_name || !c->stream || !c->consumer_name) {
        free(c->app_name);
        free(c->stream);
        free(c->consumer_name);
        free(c);
        return SL_ENOMEM;
    }
    if (cfg->worker_id) {
        snprintf(c->worker_id, sizeof c->worker_id, "%s", cfg->worker_id);
    } else {
        char host[64] = "localhost";
        gethostname(host, sizeof host - 1);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned seed = (unsigned)ts.tv_nsec ^ (unsigned)getpid();
        snprintf(c->worker_id, sizeof c->worker_id, "%s:%d:%08x", host, (int)getpid(),
                 (unsigned)rand_r(&seed));
    }
    c->table.client = cfg->lease_client ? cfg->lease_client : client;
    c->table.table = c->app_name;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return 0;
}

void sl_consumer_destroy(sl_consumer_t *c) {
    if (!c) return;
    while (c->held) {
        held_t *h = c->held;
        c->held = h->next;
        if (h->started) pthread_join(h->thread, NULL);
        pthread_mutex_destroy(&h->mu);
        free(h);
    }
    pthread_mutex_destroy(&c->mu);
    free(c->seen);
    free(c->app_name);
    free(c->stream);
    free(c->consumer_name);
    free(c);
}

void sl_consumer_shutdown(sl_consumer_t *c) {
    c->shutdown = 1;
}

const char *sl_consumer_worker_id(const sl_consumer_t *c) {
    return c->worker_id;
}

const char *sl_consumer_error(const sl_consumer_t *c) {
    return c->error;
}

/* ---- sequence numbers ---- */

static bool is_sentinel(const char *s) {
    return !s[0] || (s[0] < '0' || s[0] > '9');
}

/* Compares two decimal sequence numbers (no leading zeros in Kinesis's). */
static int seq_cmp(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb) return la < lb ? -1 : 1;
    return strcmp(a, b);
}

/* Waits ms, returning early when the shard must stop (lost or shutdown). */
static void nap(held_t *h, int ms) {
    for (int slept = 0; slept < ms; slept += NAP_SLICE_MS) {
        if (h && (atomic_load(&h->lost) || atomic_load(&h->stop))) return;
        if (!h) return;
        usleep(NAP_SLICE_MS * 1000);
    }
}

/* ---- Kinesis calls ---- */

static int kinesis_call(sl_consumer_t *c, const char *op, sl_buf_t *body, sl_arena_t *arena,
                        sl_val_t **v, char *code, size_t code_cap) {
    if (sl_buf_failed(body)) return SL_ENOMEM;
    if (code) code[0] = 0;
    sl_client_result_t res;
    int rc = sl_client_call_sync(c->client, op, body->data, body->len, &res);
    bool expected = rc == SLUICE_ESERVICE && res.error_code &&
                    !strcmp(op, "RegisterStreamConsumer") &&
                    !strcmp(res.error_code, "ResourceInUseException");
    if (rc != 0) {
        if (code && res.error_code) snprintf(code, code_cap, "%s", res.error_code);
    }
    if (rc != 0 && !expected) {
        log_error(c, "%s on %s: %s: %s", op, c->stream, res.error_code ? res.error_code : "Error",
                  res.error_message ? res.error_message : sl_client_strerror(rc));
    } else if (v) {
        char *copy = sl_arena_strndup(arena, res.body, res.body_len);
        const char *reason;
        if (!copy || sl_json_parse(copy, res.body_len, arena, v, &reason) != 0) {
            log_error(c, "%s: malformed answer", op);
            rc = SLUICE_ESERVICE;
        }
    }
    sl_client_result_free(&res);
    return rc;
}

/* ---- shard sync ---- */

typedef struct {
    char id[SL_LEASE_KEY_MAX];
    char parents[SL_LEASE_PARENTS_MAX][SL_LEASE_KEY_MAX];
    int parent_count;
    char start_hash[SL_LEASE_HASH_MAX], end_hash[SL_LEASE_HASH_MAX];
    bool closed;
} shard_info_t;

typedef struct {
    shard_info_t *list;
    size_t n, cap;
} shard_list_t;

static int on_listed_shard(void *ctx, const sl_client_shard_t *s) {
    shard_list_t *l = ctx;
    if (strlen(s->id) >= SL_LEASE_KEY_MAX) return 0;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        shard_info_t *nl = realloc(l->list, ncap * sizeof *nl);
        if (!nl) return SL_ENOMEM;
        l->list = nl;
        l->cap = ncap;
    }
    shard_info_t *si = &l->list[l->n++];
    memset(si, 0, sizeof *si);
    snprintf(si->id, sizeof si->id, "%s", s->id);
    if (s->parent[0]) snprintf(si->parents[si->parent_count++], SL_LEASE_KEY_MAX, "%s", s->parent);
    if (s->adjacent[0])
        snprintf(si->parents[si->parent_count++], SL_LEASE_KEY_MAX, "%s", s->adjacent);
    snprintf(si->start_hash, sizeof si->start_hash, "%s", s->start_hash);
    snprintf(si->end_hash, sizeof si->end_hash, "%s", s->end_hash);
    si->closed = s->closed;
    return 0;
}

static int list_shards(sl_consumer_t *c, shard_info_t **out, size_t *count) {
    shard_list_t l = {0};
    char err[512];
    int rc = sl_client_list_shards(c->client, c->stream, on_listed_shard, &l, err, sizeof err);
    if (rc != 0) {
        if (rc != SL_ENOMEM) log_error(c, "%s", err);
        free(l.list);
        return rc;
    }
    *out = l.list;
    *count = l.n;
    return 0;
}

static const char *initial_checkpoint(const sl_consumer_t *c) {
    switch (c->cfg.initial_position) {
    case SL_READ_LATEST:
        return "LATEST";
    case SL_READ_AT_TIMESTAMP:
        return "AT_TIMESTAMP";
    default:
        return "TRIM_HORIZON";
    }
}

/* Creates a lease for every shard that has none. A shard whose parent has a lease starts at
 * TRIM_HORIZON (its parent's records come first); others at the initial position, except closed
 * shards under LATEST or AT_TIMESTAMP, which get none (nothing in them is wanted). */
static int shard_sync(sl_consumer_t *c) {
    shard_info_t *shards = NULL;
    size_t shard_count = 0;
    int rc = list_shards(c, &shards, &shard_count);
    if (rc != 0) return rc;
    sl_lease_t *leases = NULL;
    size_t lease_count = 0;
    rc = sl_lease_scan(&c->table, &leases, &lease_count);
    if (rc != 0) {
        log_error(c, "%s", c->table.error);
        free(shards);
        return rc;
    }
    /* known[i]: shard i has a lease (from the scan or created now). ListShards lists parents
     * before their children. */
    bool *known = calloc(shard_count + 1, sizeof *known);
    if (!known) rc = SL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < shard_count; i++) {
        shard_info_t *si = &shards[i];
        for (size_t k = 0; k < lease_count && !known[i]; k++)
            known[i] = !strcmp(leases[k].key, si->id);
        if (known[i]) continue;
        bool parent_leased = false;
        for (int p = 0; p < si->parent_count; p++)
            for (size_t j = 0; j < i; j++)
                if (known[j] && !strcmp(shards[j].id, si->parents[p])) parent_leased = true;
        if (!parent_leased && si->closed && c->cfg.initial_position != SL_READ_TRIM_HORIZON)
            continue;
        sl_lease_t l = {0};
        snprintf(l.key, sizeof l.key, "%s", si->id);
        snprintf(l.checkpoint, sizeof l.checkpoint, "%s",
                 parent_leased ? "TRIM_HORIZON" : initial_checkpoint(c));
        l.parent_count = si->parent_count;
        memcpy(l.parents, si->parents, sizeof l.parents);
        memcpy(l.start_hash, si->start_hash, sizeof l.start_hash);
        memcpy(l.end_hash, si->end_hash, sizeof l.end_hash);
        int r = sl_lease_create(&c->table, &l);
        if (r == 0 || r == SLUICE_ELEASELOST) {
            known[i] = true; /* created here or by another worker */
        } else {
            log_error(c, "%s", c->table.error);
            rc = r;
        }
    }
    free(known);
    free(leases);
    free(shards);
    return rc;
}

/* ---- renewer ---- */

static int64_t renew_interval_ms(const sl_consumer_t *c) {
    int64_t v = c->cfg.failover_time_ms / 3 - EPSILON_MS;
    return v > 10 ? v : 10;
}

static int64_t taker_interval_ms(const sl_consumer_t *c) {
    return ((int64_t)c->cfg.failover_time_ms + EPSILON_MS) * 2;
}

static void renew_all(sl_consumer_t *c) {
    for (held_t *h = c->held; h; h = h->next) {
        if (atomic_load(&h->lost) || atomic_load(&h->done)) continue;
        pthread_mutex_lock(&h->mu);
        bool released = h->released;
        int rc = released ? 0 : sl_lease_renew(&c->table, &h->lease);
        pthread_mutex_unlock(&h->mu);
        if (released) continue;
        int64_t now = sl_client_now_ms();
        if (rc == 0) {
            h->renewed_ms = now;
        } else if (rc == SLUICE_ELEASELOST) {
            atomic_store(&h->lost, true);
        } else {
            log_error(c, "renewing %s: %s", h->lease.key, c->table.error);
            if (now - h->renewed_ms > c->cfg.failover_time_ms) atomic_store(&h->lost, true);
        }
    }
}

/* ---- taker ---- */

static struct seen *seen_find(sl_consumer_t *c, const char *key) {
    for (size_t i = 0; i < c->seen_count; i++)
        if (!strcmp(c->seen[i].key, key)) return &c->seen[i];
    return NULL;
}

static held_t *held_find(sl_consumer_t *c, const char *key) {
    for (held_t *h = c->held; h; h = h->next)
        if (!atomic_load(&h->done) && !strcmp(h->lease.key, key)) return h;
    return NULL;
}

static void add_held(sl_consumer_t *c, const sl_lease_t *l) {
    held_t *h = calloc(1, sizeof *h);
    if (!h) return; /* not taken after all: it expires and another worker takes it */
    h->c = c;
    pthread_mutex_init(&h->mu, NULL);
    h->lease = *l;
    h->renewed_ms = sl_client_now_ms();
    h->cp.h = h;
    h->table.client = c->table.client;
    h->table.table = c->table.table;
    pthread_mutex_lock(&c->mu);
    h->next = c->held;
    c->held = h;
    pthread_mutex_unlock(&c->mu);
}

static void take(sl_consumer_t *c, unsigned *seed) {
    sl_lease_t *all = NULL;
    size_t n = 0;
    if (sl_lease_scan(&c->table, &all, &n) != 0) {
        log_error(c, "%s", c->table.error);
        return;
    }
    int64_t now = sl_client_now_ms();
    sl_lease_view_t *views = calloc(n + 1, sizeof *views);
    size_t chosen[64];
    size_t nchosen = 0;
    if (!views) goto done;
    for (size_t i = 0; i < n; i++) {
        sl_lease_t *l = &all[i];
        /* Remember when each counter last moved, by this worker's clock. */
        struct seen *s = seen_find(c, l->key);
        if (!s) {
            if (c->seen_count == c->seen_cap) {
                size_t ncap = c->seen_cap ? c->seen_cap * 2 : 32;
                struct seen *ns = realloc(c->seen, ncap * sizeof *ns);
                if (!ns) goto done;
                c->seen = ns;
                c->seen_cap = ncap;
            }
            s = &c->seen[c->seen_count++];
            snprintf(s->key, sizeof s->key, "%s", l->key);
            s->counter = l->counter;
            /* An unowned lease never renewed counts as long expired; an owned one as renewed
             * now (its owner gets a full failover time), as the KCL does. */
            s->changed_ms = l->owner[0] ? now : INT64_MIN / 2;
        } else if (s->counter != l->counter) {
            s->counter = l->counter;
            s->changed_ms = now;
        }
        views[i] = (sl_lease_view_t){.owner = l->owner,
                                     .idle_ms = now - s->changed_ms,
                                     .mine = held_find(c, l->key) != NULL,
                                     .finished = !strcmp(l->checkpoint, "SHARD_END")};
    }
    sl_taker_config_t tc = {.failover_ms = c->cfg.failover_time_ms,
                            .max_leases_for_worker = c->cfg.max_leases_for_worker,
                            .max_leases_to_steal = c->cfg.max_leases_to_steal};
    nchosen = sl_lease_choose(views, n, c->worker_id, &tc, seed, chosen, SL_ARRAY_LEN(chosen));
    for (size_t i = 0; i < nchosen; i++) {
        sl_lease_t l = all[chosen[i]];
        int rc = sl_lease_take(&c->table, &l, c->worker_id);
        if (rc == 0)
            add_held(c, &l);
        else if (rc != SLUICE_ELEASELOST)
            log_error(c, "taking %s: %s", l.key, c->table.error);
    }
done:
    free(views);
    free(all);
}

/* ---- the shard thread ---- */

typedef struct {
    held_t *h;
    sl_arena_t *arena;
    sl_record_t *recs;
    size_t count, cap;
    u128_t lo, hi;
    bool range_known;
    bool out_of_range;    /* a sub-record of the current aggregate fell outside the range */
    const char *skip_seq; /* resume: drop sub-records at or before the checkpoint */
    int64_t skip_sub;
} batch_t;

static int batch_add(const sl_record_t *r, void *arg) {
    batch_t *b = arg;
    if (b->skip_seq && !strcmp(r->sequence_number, b->skip_seq) &&
        (int64_t)r->sub_sequence_number <= b->skip_sub)
        return 0;
    if (r->aggregated && b->range_known) {
        u128_t key;
        bool ok =
            r->explicit_hash_key
                ? sl_client_u128_parse(r->explicit_hash_key, strlen(r->explicit_hash_key), &key)
                : (key = sl_client_md5_key(r->partition_key, strlen(r->partition_key)), true);
        if (!ok || key < b->lo || key > b->hi) b->out_of_range = true;
    }
    if (b->count == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        sl_record_t *n = realloc(b->recs, ncap * sizeof *n);
        if (!n) return SL_ENOMEM;
        b->recs = n;
        b->cap = ncap;
    }
    sl_record_t *d = &b->recs[b->count++];
    *d = *r;
    d->partition_key = sl_arena_strndup(b->arena, r->partition_key, strlen(r->partition_key));
    d->explicit_hash_key = r->explicit_hash_key ? sl_arena_strndup(b->arena, r->explicit_hash_key,
                                                                   strlen(r->explicit_hash_key))
                                                : NULL;
    if (!d->partition_key || (r->explicit_hash_key && !d->explicit_hash_key)) return SL_ENOMEM;
    return 0;
}

/* Adds one Kinesis record's user records; a whole aggregate is dropped when any of its
 * sub-records falls outside the shard's hash range (KCL's rule after a reshard). */
static int batch_add_kinesis(batch_t *b, const sl_record_t *outer) {
    size_t before = b->count;
    b->out_of_range = false;
    int rc = sl_deaggregate(outer, batch_add, b);
    if (rc == 0 && b->out_of_range) {
        log_error(b->h->c, "dropped the aggregate %s: sub-records outside %s's hash range",
                  outer->sequence_number, b->h->lease.key);
        b->count = before;
    }
    return rc;
}

/* Where reading (re)starts: after the last record handed out (or after `resume`, a fan-out
 * continuation), else at the checkpoint, else the checkpoint's sentinel position. */
static void start_position(sl_consumer_t *c, held_t *h, const char *resume, sl_enc_t *e,
                           const char *type_key, const char *seq_key) {
    if (resume && resume[0]) {
        sl_enc_kv_cstr(e, type_key, "AFTER_SEQUENCE_NUMBER");
        sl_enc_kv_cstr(e, seq_key, resume);
    } else if (h->any_handed) {
        sl_enc_kv_cstr(e, type_key, "AFTER_SEQUENCE_NUMBER");
        sl_enc_kv_cstr(e, seq_key, h->last_seq);
    } else if (!is_sentinel(h->lease.checkpoint)) {
        sl_enc_kv_cstr(e, type_key, "AT_SEQUENCE_NUMBER");
        sl_enc_kv_cstr(e, seq_key, h->lease.checkpoint);
    } else if (!strcmp(h->lease.checkpoint, "LATEST")) {
        sl_enc_kv_cstr(e, type_key, "LATEST");
    } else if (!strcmp(h->lease.checkpoint, "AT_TIMESTAMP")) {
        sl_enc_kv_cstr(e, type_key, "AT_TIMESTAMP");
        sl_enc_key(e, "Timestamp");
        sl_enc_timestamp_ms(e, c->cfg.initial_timestamp_ms);
    } else {
        sl_enc_kv_cstr(e, type_key, "TRIM_HORIZON");
    }
}

static int get_iterator(sl_consumer_t *c, held_t *h, char **iterator) {
    sl_arena_t arena;
    sl_arena_init(&arena, 2048);
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "StreamName", c->stream);
    sl_enc_kv_cstr(&e, "ShardId", h->lease.key);
    start_position(c, h, NULL, &e, "ShardIteratorType", "StartingSequenceNumber");
    sl_enc_map_end(&e);
    sl_val_t *v = NULL;
    int rc = kinesis_call(c, "GetShardIterator", &b, &arena, &v, NULL, 0);
    sl_buf_free(&b);
    free(*iterator);
    *iterator = NULL;
    if (rc == 0) {
        const char *it = sl_val_get_str(v, "ShardIterator", NULL);
        *iterator = it ? strdup(it) : NULL;
        if (it && !*iterator) rc = SL_ENOMEM;
    }
    sl_arena_deinit(&arena);
    return rc;
}

/* Creates the leases of the children a closed shard reported, and records them on the parent. */
static void create_children(sl_consumer_t *c, held_t *h, const sl_val_t *children) {
    const char *ids[16];
    size_t nids = 0;
    for (size_t i = 0; children && children->type == SL_VAL_ARRAY && i < children->u.arr.count;
         i++) {
        const sl_val_t *ch = children->u.arr.items[i];
        const char *id = sl_val_get_str(ch, "ShardId", NULL);
        if (!id || strlen(id) >= SL_LEASE_KEY_MAX) continue;
        sl_lease_t l = {0};
        snprintf(l.key, sizeof l.key, "%s", id);
        snprintf(l.checkpoint, sizeof l.checkpoint, "TRIM_HORIZON");
        const sl_val_t *ps = sl_val_get(ch, "ParentShards");
        for (size_t k = 0; ps && ps->type == SL_VAL_ARRAY && k < ps->u.arr.count &&
                           l.parent_count < SL_LEASE_PARENTS_MAX;
             k++)
            if (ps->u.arr.items[k]->type == SL_VAL_STRING)
                snprintf(l.parents[l.parent_count++], SL_LEASE_KEY_MAX, "%s",
                         ps->u.arr.items[k]->u.str.ptr);
        const sl_val_t *hr = sl_val_get(ch, "HashKeyRange");
        snprintf(l.start_hash, sizeof l.start_hash, "%s",
                 hr ? sl_val_get_str(hr, "StartingHashKey", NULL) ?: "" : "");
        snprintf(l.end_hash, sizeof l.end_hash, "%s",
                 hr ? sl_val_get_str(hr, "EndingHashKey", NULL) ?: "" : "");
        int rc = sl_lease_create(&h->table, &l);
        if (rc != 0 && rc != SLUICE_ELEASELOST) log_error(c, "%s", h->table.error);
        if (nids < SL_ARRAY_LEN(ids)) ids[nids++] = id;
    }
    if (nids && sl_lease_set_children(&h->table, h->lease.key, ids, nids) != 0)
        log_error(c, "%s", h->table.error);
}

/* Waits until every parent's lease says SHARD_END or is gone. False when the shard must stop. */
static bool wait_for_parents(sl_consumer_t *c, held_t *h) {
    for (int p = 0; p < h->lease.parent_count; p++) {
        for (;;) {
            if (atomic_load(&h->lost) || atomic_load(&h->stop)) return false;
            sl_lease_t parent;
            bool found = false;
            int rc = sl_lease_get(&h->table, h->lease.parents[p], &parent, &found);
            if (rc == 0 && (!found || !strcmp(parent.checkpoint, "SHARD_END"))) break;
            if (rc != 0) log_error(c, "%s", h->table.error);
            nap(h, c->cfg.parent_poll_interval_ms);
        }
    }
    return true;
}

/* Gives the lease up (its shard is finished or refused), so no worker holds it. */
static void release(sl_consumer_t *c, held_t *h) {
    pthread_mutex_lock(&h->mu);
    if (!atomic_load(&h->lost) && sl_lease_evict(&h->table, &h->lease) != 0)
        log_error(c, "releasing %s: %s", h->lease.key, h->table.error);
    h->released = true;
    pthread_mutex_unlock(&h->mu);
}

static int add_records(held_t *h, const sl_val_t *list, batch_t *b, sl_arena_t *arena);

/* One GetRecords; fills b, and at the shard's end *ended and the children. Returns 0 or an
 * error; *retry_ms > 0 asks for a pause (throttling). */
static int poll_once(sl_consumer_t *c, held_t *h, char **iterator, batch_t *b, int64_t *behind,
                     bool *ended, sl_arena_t *arena, int *retry_ms) {
    sl_buf_t body = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &body, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "ShardIterator", *iterator);
    sl_enc_kv_int(&e, "Limit", c->cfg.max_records);
    sl_enc_map_end(&e);
    sl_val_t *v = NULL;
    char code[96];
    int rc = kinesis_call(c, "GetRecords", &body, arena, &v, code, sizeof code);
    sl_buf_free(&body);
    if (rc != 0) {
        if (!strcmp(code, "ExpiredIteratorException")) {
            free(*iterator);
            *iterator = NULL;
            return 0;
        }
        *retry_ms = !strcmp(code, "ProvisionedThroughputExceededException") ? 1000 : 500;
        return rc;
    }
    rc = add_records(h, sl_val_get(v, "Records"), b, arena);
    if (rc != 0) return rc;
    sl_val_get_int(v, "MillisBehindLatest", behind);
    const char *next = sl_val_get_str(v, "NextShardIterator", NULL);
    free(*iterator);
    *iterator = next ? strdup(next) : NULL;
    if (!next) {
        *ended = true;
        create_children(c, h, sl_val_get(v, "ChildShards"));
    }
    return 0;
}

/* Adds the Kinesis records of a GetRecords answer or a SubscribeToShardEvent to the batch. */
static int add_records(held_t *h, const sl_val_t *list, batch_t *b, sl_arena_t *arena) {
    for (size_t i = 0; list && list->type == SL_VAL_ARRAY && i < list->u.arr.count; i++) {
        const sl_val_t *item = list->u.arr.items[i];
        size_t dlen = 0;
        const char *d64 = sl_val_get_str(item, "Data", &dlen);
        const char *seq = sl_val_get_str(item, "SequenceNumber", NULL);
        const char *pk = sl_val_get_str(item, "PartitionKey", NULL);
        const sl_val_t *ts = sl_val_get(item, "ApproximateArrivalTimestamp");
        if (!seq || !pk) continue;
        uint8_t *data = sl_arena_alloc(arena, dlen / 4 * 3 + 3);
        size_t len = 0;
        if (!data || (d64 && sl_base64_decode(d64, dlen, data, &len, NULL) != SL_B64_OK))
            return SL_ENOMEM;
        sl_record_t rec = {.shard_id = h->lease.key,
                           .sequence_number = seq,
                           .partition_key = pk,
                           .arrival_ms = ts && ts->type == SL_VAL_NUMBER
                                             ? (int64_t)llround(ts->u.num.d * 1000)
                                             : 0,
                           .data = data,
                           .data_len = len};
        int rc = batch_add_kinesis(b, &rec);
        if (rc != 0) return rc;
    }
    return 0;
}

/* ---- enhanced fan-out ---- */

/* A shard's reading state: a shard iterator (polling) or a subscription (fan-out). */
typedef struct {
    char *iterator;
    sl_client_stream_t *sub;
    sl_buf_t bytes;                /* received from the subscription, not yet decoded */
    char resume[SL_LEASE_SEQ_MAX]; /* the last ContinuationSequenceNumber */
} reading_t;

static void unsubscribe(reading_t *rd) {
    sl_client_stream_close(rd->sub);
    rd->sub = NULL;
    sl_buf_reset(&rd->bytes);
}

static int subscribe(sl_consumer_t *c, held_t *h, reading_t *rd) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "ConsumerARN", c->consumer_arn);
    sl_enc_kv_cstr(&e, "ShardId", h->lease.key);
    sl_enc_key(&e, "StartingPosition");
    sl_enc_map_begin(&e);
    start_position(c, h, rd->resume, &e, "Type", "SequenceNumber");
    sl_enc_map_end(&e);
    sl_enc_map_end(&e);
    int rc = sl_buf_failed(&b)
                 ? SL_ENOMEM
                 : sl_client_stream_open(c->client, "SubscribeToShard", b.data, b.len, &rd->sub);
    sl_buf_free(&b);
    sl_buf_reset(&rd->bytes);
    return rc;
}

static const char *es_header(const sl_es_message_t *m, const char *name) {
    for (size_t i = 0; i < m->header_count; i++)
        if (!strcmp(m->headers[i].name, name)) return m->headers[i].str;
    return NULL;
}

/* Waits up to a tenth of a second for the next SubscribeToShardEvent and fills b from it;
 * subscribes first when needed, and again when a subscription ends (every 5 minutes). */
static int fan_out_once(sl_consumer_t *c, held_t *h, reading_t *rd, batch_t *b, int64_t *behind,
                        bool *ended, sl_arena_t *arena, int *retry_ms) {
    if (!rd->sub) {
        int rc = subscribe(c, h, rd);
        if (rc != 0) {
            log_error(c, "SubscribeToShard %s: %s", h->lease.key, sl_client_strerror(rc));
            *retry_ms = 1000;
            return rc;
        }
    }
    for (;;) {
        int status = 0, error = 0;
        if (rd->bytes.len) {
            sl_es_message_t m;
            const char *reason = NULL;
            int rc =
                sl_es_decode((const uint8_t *)rd->bytes.data, rd->bytes.len, arena, &m, &reason);
            if (rc == 0) {
                const char *type = es_header(&m, ":message-type");
                const char *event = es_header(&m, ":event-type");
                char *payload = sl_arena_strndup(arena, (const char *)m.payload, m.payload_len);
                size_t consumed = m.total_len;
                memmove(rd->bytes.data, rd->bytes.data + consumed, rd->bytes.len - consumed);
                rd->bytes.len -= consumed;
                if (!payload) return SL_ENOMEM;
                if (!type || strcmp(type, "event") != 0) {
                    const char *ex = es_header(&m, ":exception-type");
                    log_error(c, "SubscribeToShard %s: %s: %s", h->lease.key, ex ? ex : "error",
                              payload);
                    unsubscribe(rd);
                    *retry_ms = 1000;
                    return SLUICE_ESERVICE;
                }
                if (!event || strcmp(event, "SubscribeToShardEvent") != 0) continue;
                sl_val_t *v = NULL;
                if (sl_json_parse(payload, m.payload_len, arena, &v, &reason) != 0) {
                    log_error(c, "SubscribeToShard %s: malformed event", h->lease.key);
                    unsubscribe(rd);
                    *retry_ms = 500;
                    return SLUICE_ESERVICE;
                }
                rc = add_records(h, sl_val_get(v, "Records"), b, arena);
                if (rc != 0) return rc;
                sl_val_get_int(v, "MillisBehindLatest", behind);
                const char *next = sl_val_get_str(v, "ContinuationSequenceNumber", NULL);
                if (next) {
                    snprintf(rd->resume, sizeof rd->resume, "%s", next);
                } else {
                    /* The shard's end: ChildShards and no continuation. */
                    *ended = true;
                    create_children(c, h, sl_val_get(v, "ChildShards"));
                    unsubscribe(rd);
                }
                return 0;
            }
            if (rc != SL_EAGAIN) {
                log_error(c, "SubscribeToShard %s: %s", h->lease.key,
                          reason ? reason : "malformed event stream");
                unsubscribe(rd);
                *retry_ms = 500;
                return SLUICE_ESERVICE;
            }
        }
        int r = sl_client_stream_read(rd->sub, &rd->bytes, 100, &status, &error);
        if (r == 0) return 0; /* nothing yet: the caller checks its flags and comes back */
        if (r < -1) return r;
        if (status != 0 && status != 200) {
            /* An error answer: its JSON body, once complete. */
            while (r != -1)
                r = sl_client_stream_read(rd->sub, &rd->bytes, 1000, &status, &error);
            sl_buf_append_byte(&rd->bytes, 0);
            log_error(c, "SubscribeToShard %s: HTTP %d: %s", h->lease.key, status,
                      sl_buf_failed(&rd->bytes) ? "" : rd->bytes.data);
            unsubscribe(rd);
            *retry_ms = 1000;
            return SLUICE_ESERVICE;
        }
        if (r == -1) {
            /* The subscription ended (its 5 minutes, or the connection): subscribe again. */
            if (error) *retry_ms = 500;
            unsubscribe(rd);
            return error ? SLUICE_EIO : 0;
        }
    }
}

/* Registers the application's fan-out consumer (or finds it) and waits until it is ACTIVE. */
static int register_consumer(sl_consumer_t *c) {
    sl_arena_t arena;
    sl_arena_init(&arena, 8192);
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "StreamName", c->stream);
    sl_enc_map_end(&e);
    sl_val_t *v = NULL;
    char code[96];
    int rc = kinesis_call(c, "DescribeStreamSummary", &b, &arena, &v, code, sizeof code);
    const char *arn =
        rc == 0 ? sl_val_get_str(sl_val_get(v, "StreamDescriptionSummary"), "StreamARN", NULL)
                : NULL;
    char stream_arn[512] = "";
    if (arn) snprintf(stream_arn, sizeof stream_arn, "%s", arn);
    if (rc == 0 && !arn) rc = SLUICE_ESERVICE;
    if (rc == 0) {
        sl_buf_reset(&b);
        sl_enc_init(&e, &b, SL_FMT_JSON);
        sl_enc_map_begin(&e);
        sl_enc_kv_cstr(&e, "StreamARN", stream_arn);
        sl_enc_kv_cstr(&e, "ConsumerName", c->consumer_name);
        sl_enc_map_end(&e);
        rc = kinesis_call(c, "RegisterStreamConsumer", &b, &arena, &v, code, sizeof code);
        if (rc != 0 && !strcmp(code, "ResourceInUseException")) rc = 0; /* registered before */
    }
    for (int i = 0; rc == 0 && i < 600; i++) {
        sl_buf_reset(&b);
        sl_enc_init(&e, &b, SL_FMT_JSON);
        sl_enc_map_begin(&e);
        sl_enc_kv_cstr(&e, "StreamARN", stream_arn);
        sl_enc_kv_cstr(&e, "ConsumerName", c->consumer_name);
        sl_enc_map_end(&e);
        rc = kinesis_call(c, "DescribeStreamConsumer", &b, &arena, &v, code, sizeof code);
        const sl_val_t *d = rc == 0 ? sl_val_get(v, "ConsumerDescription") : NULL;
        const char *status = d ? sl_val_get_str(d, "ConsumerStatus", NULL) : NULL;
        const char *carn = d ? sl_val_get_str(d, "ConsumerARN", NULL) : NULL;
        if (status && carn && !strcmp(status, "ACTIVE")) {
            snprintf(c->consumer_arn, sizeof c->consumer_arn, "%s", carn);
            break;
        }
        if (rc == 0) usleep(100 * 1000);
    }
    if (rc == 0 && !c->consumer_arn[0]) {
        log_error(c, "the consumer %s did not become ACTIVE", c->consumer_name);
        rc = SLUICE_ESERVICE;
    }
    sl_buf_free(&b);
    sl_arena_deinit(&arena);
    return rc;
}

static void hand_out(sl_consumer_t *c, held_t *h, batch_t *b, int64_t behind) {
    if (b->count == 0 && !c->cfg.call_process_records_even_for_empty_list) return;
    if (b->count) {
        const sl_record_t *last = &b->recs[b->count - 1];
        snprintf(h->last_seq, sizeof h->last_seq, "%s", last->sequence_number);
        h->last_sub = last->sub_sequence_number;
        h->any_handed = true;
    }
    sl_records_input_t in = {.records = b->recs,
                             .count = b->count,
                             .millis_behind_latest = behind,
                             .checkpointer = &h->cp};
    c->proc.process_records(h->proc_state, &in);
}

/* Renews the lease (a conditional write): true while this worker still holds it. */
static bool confirm_held(held_t *h) {
    pthread_mutex_lock(&h->mu);
    int rc = h->released ? 0 : sl_lease_renew(&h->table, &h->lease);
    pthread_mutex_unlock(&h->mu);
    if (rc == SLUICE_ELEASELOST) atomic_store(&h->lost, true);
    return rc == 0;
}

static void *shard_main(void *arg) {
    held_t *h = arg;
    sl_consumer_t *c = h->c;
    bool fan_out = c->cfg.retrieval == SL_RETRIEVAL_FAN_OUT;
    reading_t rd = {.bytes = SL_BUF_INIT};
    if (!strcmp(h->lease.checkpoint, "SHARD_END")) {
        release(c, h);
        goto out;
    }
    if (!wait_for_parents(c, h)) goto out;
    sl_shard_init_t init = {.shard_id = h->lease.key,
                            .sequence_number = h->lease.checkpoint,
                            .sub_sequence_number = (uint64_t)h->lease.checkpoint_sub};
    if (c->proc.initialize(c->app, &init, &h->proc_state) != 0) {
        release(c, h);
        goto out;
    }
    u128_t lo = 0, hi = 0;
    bool range_known =
        h->lease.start_hash[0] && h->lease.end_hash[0] &&
        sl_client_u128_parse(h->lease.start_hash, strlen(h->lease.start_hash), &lo) &&
        sl_client_u128_parse(h->lease.end_hash, strlen(h->lease.end_hash), &hi);
    /* Resuming at a checkpoint: its own sub-records (and it, when plain) were processed. */
    char skip_seq[SL_LEASE_SEQ_MAX] = "";
    if (!is_sentinel(h->lease.checkpoint))
        snprintf(skip_seq, sizeof skip_seq, "%s", h->lease.checkpoint);
    bool ended = false;
    while (!ended) {
        if (atomic_load(&h->lost)) {
            c->proc.lease_lost(h->proc_state);
            goto out;
        }
        if (atomic_load(&h->stop)) {
            c->proc.shutdown_requested(h->proc_state, &h->cp);
            goto out;
        }
        if (!fan_out && !rd.iterator && get_iterator(c, h, &rd.iterator) != 0) {
            nap(h, 500);
            continue;
        }
        if (!fan_out && !rd.iterator) {
            ended = true; /* no iterator: the shard is closed and past its end */
            break;
        }
        sl_arena_t arena;
        sl_arena_init(&arena, 64 * 1024);
        batch_t b = {.h = h,
                     .arena = &arena,
                     .lo = lo,
                     .hi = hi,
                     .range_known = range_known,
                     .skip_seq = skip_seq[0] ? skip_seq : NULL,
                     .skip_sub = h->lease.checkpoint_sub};
        int64_t behind = 0;
        int retry_ms = 0;
        int rc = fan_out ? fan_out_once(c, h, &rd, &b, &behind, &ended, &arena, &retry_ms)
                         : poll_once(c, h, &rd.iterator, &b, &behind, &ended, &arena, &retry_ms);
        if (rc == 0) {
            if (b.count) skip_seq[0] = 0;
            /* records only to a worker that holds the lease now: one whose lease was stolen (for
             * balance, or while its processor started) would otherwise process, until its next
             * renewal, records the new owner may already have checkpointed past. A renewal that
             * fails for another reason gives the lease up too; the records are read again by
             * whoever takes it, from the checkpoint. */
            if (b.count && !atomic_load(&h->lost) && !confirm_held(h)) atomic_store(&h->lost, true);
            if (!atomic_load(&h->lost)) hand_out(c, h, &b, behind);
        }
        size_t got = b.count;
        free(b.recs);
        sl_arena_deinit(&arena);
        if (rc != 0)
            nap(h, retry_ms);
        else if (got == 0 && !ended && !fan_out)
            nap(h, c->cfg.idle_between_reads_ms);
    }
    /* The shard is read to its end: the processor must checkpoint SHARD_END. */
    for (;;) {
        if (atomic_load(&h->lost)) {
            c->proc.lease_lost(h->proc_state);
            goto out;
        }
        h->cp.at_shard_end = true;
        c->proc.shard_ended(h->proc_state, &h->cp);
        h->cp.at_shard_end = false;
        pthread_mutex_lock(&h->mu);
        bool checkpointed = !strcmp(h->lease.checkpoint, "SHARD_END");
        pthread_mutex_unlock(&h->mu);
        if (checkpointed) break;
        log_error(c, "the processor did not checkpoint at the end of %s: offered again",
                  h->lease.key);
        nap(h, 1000);
        if (atomic_load(&h->stop)) goto out;
    }
    release(c, h);
    atomic_store(&c->sync_soon, true);
out:
    free(rd.iterator);
    sl_client_stream_close(rd.sub);
    sl_buf_free(&rd.bytes);
    atomic_store(&h->done, true);
    return NULL;
}

int sl_checkpointer_checkpoint(sl_checkpointer_t *cp, const char *sequence_number,
                               uint64_t sub_sequence_number) {
    held_t *h = cp->h;
    sl_consumer_t *c = h->c;
    const char *seq = sequence_number;
    uint64_t sub = sub_sequence_number;
    if (!seq && cp->at_shard_end) {
        seq = "SHARD_END";
        sub = 0;
    } else if (!seq) {
        if (!h->any_handed) return 0; /* nothing handed out yet: nothing to store */
        seq = h->last_seq;
        sub = h->last_sub;
    } else if (strcmp(seq, "SHARD_END") != 0) {
        /* Not before the last checkpoint, not after the last record handed out. */
        if (is_sentinel(seq) || !h->any_handed) return SL_EINVAL;
        int after_last = seq_cmp(seq, h->last_seq);
        if (after_last > 0 || (after_last == 0 && sub > h->last_sub)) return SL_EINVAL;
    } else if (!cp->at_shard_end) {
        return SL_EINVAL;
    }
    if (atomic_load(&h->lost)) return SLUICE_ELEASELOST;
    pthread_mutex_lock(&h->mu);
    int rc = 0;
    if (!is_sentinel(h->lease.checkpoint) && !is_sentinel(seq)) {
        int before = seq_cmp(seq, h->lease.checkpoint);
        if (before < 0 || (before == 0 && (int64_t)sub < h->lease.checkpoint_sub)) rc = SL_EINVAL;
    }
    if (rc == 0) rc = sl_lease_checkpoint(&h->table, &h->lease, seq, (int64_t)sub);
    pthread_mutex_unlock(&h->mu);
    if (rc == SLUICE_ELEASELOST) {
        atomic_store(&h->lost, true);
    } else if (rc != 0 && rc != SL_EINVAL) {
        log_error(c, "checkpoint of %s: %s", h->lease.key, h->table.error);
        if (rc == SL_EIO) rc = SLUICE_EIO;
    }
    return rc;
}

/* ---- the coordinator ---- */

static void start_threads(sl_consumer_t *c) {
    for (held_t *h = c->held; h; h = h->next) {
        if (h->started) continue;
        if (pthread_create(&h->thread, NULL, shard_main, h) == 0) {
            h->started = true;
        } else {
            atomic_store(&h->done, true); /* not processed: it expires for another worker */
            h->released = true;
        }
    }
}

/* Frees the entries whose thread ended. */
static void reap(sl_consumer_t *c) {
    for (held_t **pp = &c->held; *pp;) {
        held_t *h = *pp;
        if (!atomic_load(&h->done)) {
            pp = &h->next;
            continue;
        }
        if (h->started) pthread_join(h->thread, NULL);
        pthread_mutex_lock(&c->mu);
        *pp = h->next;
        pthread_mutex_unlock(&c->mu);
        if (atomic_load(&h->stop) && !atomic_load(&h->lost) && !h->released) {
            /* Graceful shutdown: give the lease up so another worker takes it at once. */
            if (sl_lease_evict(&c->table, &h->lease) != 0 && !atomic_load(&h->lost))
                log_error(c, "releasing %s: %s", h->lease.key, c->table.error);
        }
        pthread_mutex_destroy(&h->mu);
        free(h);
    }
}

int sl_consumer_run(sl_consumer_t *c) {
    int rc = sl_lease_table_ensure(&c->table);
    if (rc != 0) {
        log_error(c, "%s", c->table.error);
        return rc == SL_EIO ? SLUICE_EIO : SLUICE_ESERVICE;
    }
    rc = shard_sync(c);
    if (rc == 0 && c->cfg.retrieval == SL_RETRIEVAL_FAN_OUT) rc = register_consumer(c);
    if (rc != 0) return rc == SL_EIO ? SLUICE_EIO : SLUICE_ESERVICE;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned seed = (unsigned)ts.tv_nsec ^ (unsigned)getpid();
    int64_t now = sl_client_now_ms();
    int64_t next_renew = now, next_take = now, next_sync = now + c->cfg.shard_sync_interval_ms;
    bool stopping = false;
    for (;;) {
        now = sl_client_now_ms();
        if (c->shutdown && !stopping) {
            stopping = true;
            for (held_t *h = c->held; h; h = h->next)
                atomic_store(&h->stop, true);
        }
        if (now >= next_renew) {
            renew_all(c);
            next_renew = now + renew_interval_ms(c);
        }
        if (!stopping && atomic_exchange(&c->sync_soon, false)) {
            shard_sync(c);
            next_sync = now + c->cfg.shard_sync_interval_ms;
            next_take = now;
        }
        if (!stopping && now >= next_sync) {
            shard_sync(c);
            next_sync = now + c->cfg.shard_sync_interval_ms;
        }
        if (!stopping && now >= next_take) {
            take(c, &seed);
            next_take = sl_client_now_ms() + taker_interval_ms(c);
        }
        if (!stopping) start_threads(c);
        reap(c);
        if (stopping && !c->held) break;
        usleep(NAP_SLICE_MS * 1000);
    }
    return 0;
}
