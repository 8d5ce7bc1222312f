/* The event-source mapping service (see esm.h): its thread, the accounts, the mappings' durable
 * form in esm.db, and the management operations with AWS's validation and texts. The pollers are
 * in poll.c. */
#include "esm/internal.h"

#include "core/common.h"
#include "core/log.h"
#include "core/time.h"
#include "esm/filter.h"
#include "kinesis/control.h"
#include "kinesis/names.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TABLE_MAPPINGS "mappings"
#define TABLE_CHECKPOINTS "checkpoints"

static void *service_main(void *arg) {
    sl_esm_t *esm = arg;
    sl_loop_run(esm->loop);
    return NULL;
}

int sl_esm_create(const sl_esm_config_t *cfg, sl_esm_t **out) {
    sl_esm_t *esm = calloc(1, sizeof *esm);
    if (!esm) return SL_ENOMEM;
    snprintf(esm->region, sizeof esm->region, "%s", cfg->region);
    esm->rnd_state = (uint64_t)sl_time_mono_ns() ^ (uint64_t)getpid() << 32;
    pthread_mutex_init(&esm->accounts_mu, NULL);
    int rc = sl_loop_create(&esm->loop);
    if (rc == 0 && pthread_create(&esm->thread, NULL, service_main, esm) != 0) {
        sl_loop_destroy(esm->loop);
        rc = SL_EIO;
    }
    if (rc) {
        pthread_mutex_destroy(&esm->accounts_mu);
        free(esm);
        return rc;
    }
    *out = esm;
    return 0;
}

static void on_commit(void *ctx, const sl_kcommit_t *c);

static void stop_loop(void *arg) {
    sl_esm_t *esm = arg;
    esm->stopping = true;
    for (sl_esm_account_t *a = esm->accounts; a; a = a->next)
        for (mapping_t *m = a->mappings; m; m = m->next) {
            sl_esm_checkpoint_write(m);
            sl_esm_mapping_stop(m);
        }
    sl_loop_stop(esm->loop);
}

void sl_esm_stop(sl_esm_t *esm) {
    if (!esm || esm->joined) return;
    pthread_mutex_lock(&esm->accounts_mu);
    for (sl_esm_account_t *a = esm->accounts; a; a = a->next)
        if (a->listening) sl_kinesis_listener_remove(a->kinesis, on_commit, a);
    pthread_mutex_unlock(&esm->accounts_mu);
    if (sl_loop_post(esm->loop, stop_loop, esm) == 0) pthread_join(esm->thread, NULL);
    esm->joined = true;
    /* (the service thread, which arms and disarms, has ended) */
    for (sl_esm_account_t *a = esm->accounts; a; a = a->next) {
        pthread_mutex_lock(&a->watch_mu);
        if (a->armed) sl_kinesis_listener_arm(a->kinesis, -1);
        a->armed = false;
        pthread_mutex_unlock(&a->watch_mu);
    }
}

void sl_esm_destroy(sl_esm_t *esm) {
    if (!esm) return;
    sl_esm_stop(esm);
    sl_loop_destroy(esm->loop); /* runs the posted completions (no-ops while stopping) */
    sl_esm_orphans_free(esm);   /* shards whose invocation never completed (functions stopped) */
    sl_esm_account_t *a = esm->accounts;
    while (a) {
        sl_esm_account_t *next = a->next;
        mapping_t *m = a->mappings;
        while (m) {
            mapping_t *mn = m->next;
            sl_esm_mapping_free_shards(m);
            sl_esm_filter_free(m);
            sl_esm_info_deinit(&m->info);
            free(m->loaded);
            free(m);
            m = mn;
        }
        sl_itemstore_close(a->store);
        pthread_mutex_destroy(&a->watch_mu);
        free(a->watched);
        free(a);
        a = next;
    }
    pthread_mutex_destroy(&esm->accounts_mu);
    free(esm);
}

sl_esm_t *sl_esm_of(sl_esm_account_t *a) {
    return a->esm;
}

static uint64_t rnd(sl_esm_t *esm) {
    uint64_t x = (esm->rnd_state += 0x9E3779B97F4A7C15ull) ^ (uint64_t)sl_time_mono_ns();
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void sl_esm_make_uuid(sl_esm_t *esm, char out[40]) {
    uint64_t a = rnd(esm), b = rnd(esm);
    snprintf(out, 40, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
             (unsigned)((b >> 48) & 0x3fff) | 0x8000, (unsigned long long)(b & 0xffffffffffffull));
}

/* ---- the commit listener (storage commit thread) ---- */

static void wake_posted(void *arg) {
    sl_esm_account_t *a = arg;
    char pending[16][129];
    pthread_mutex_lock(&a->watch_mu);
    size_t n = a->pending_count;
    bool all = a->wake_all;
    memcpy(pending, a->pending, n * sizeof pending[0]);
    a->pending_count = 0;
    a->wake_all = false;
    a->wake_posted = false;
    pthread_mutex_unlock(&a->watch_mu);
    if (a->esm->stopping) return;
    if (all)
        sl_esm_wake(a, NULL, 0);
    else
        for (size_t i = 0; i < n; i++)
            sl_esm_wake(a, pending[i], 0);
}

/* Records were committed: when a mapping reads the stream, note it and post one wake-up for all
 * commits until the service thread takes them (so a burst of commits costs one post). Called per
 * shard per commit round: with no mapping running (nothing watched) it returns without the lock. A
 * mapping that starts meanwhile reads its stream when it starts, and its idle poll
 * (SL_ESM_IDLE_POLL_MS) covers a wake-up missed in that instant. */
static void on_commit(void *ctx, const sl_kcommit_t *c) {
    sl_esm_account_t *a = ctx;
    if (__atomic_load_n(&a->watched_count, __ATOMIC_ACQUIRE) == 0) return;
    pthread_mutex_lock(&a->watch_mu);
    bool watched = false;
    for (size_t i = 0; i < a->watched_count && !watched; i++)
        watched = strcmp(a->watched[i], c->stream) == 0;
    if (watched) {
        bool seen = a->wake_all;
        for (size_t i = 0; i < a->pending_count && !seen; i++)
            seen = strcmp(a->pending[i], c->stream) == 0;
        if (!seen && a->pending_count < SL_ARRAY_LEN(a->pending))
            snprintf(a->pending[a->pending_count++], sizeof a->pending[0], "%s", c->stream);
        else if (!seen)
            a->wake_all = true;
        if (!a->wake_posted && sl_loop_post(a->esm->loop, wake_posted, a) == 0)
            a->wake_posted = true;
    }
    pthread_mutex_unlock(&a->watch_mu);
}

/* Rebuilds the watched stream list from the running mappings (service thread). */
static void watch_update(sl_esm_account_t *a) {
    char(*names)[129] = calloc(a->mapping_count + 1, sizeof *names);
    size_t n = 0;
    for (mapping_t *m = a->mappings; m && names; m = m->next)
        if (m->running) snprintf(names[n++], sizeof names[0], "%s", m->stream);
    pthread_mutex_lock(&a->watch_mu);
    char(*old)[129] = a->watched;
    a->watched = names;
    __atomic_store_n(&a->watched_count, names ? n : 0, __ATOMIC_RELEASE);
    /* the commit listener is called only while some mapping runs */
    bool arm = names && n > 0 && a->listening;
    if (arm != a->armed) sl_kinesis_listener_arm(a->kinesis, arm ? 1 : -1);
    a->armed = arm;
    pthread_mutex_unlock(&a->watch_mu);
    free(old);
}

/* ---- durable form ---- */

int sl_esm_store(sl_esm_account_t *a, sl_itemstore_t **out) {
    if (!a->store) {
        char path[SL_DATA_PATH_BYTES_MAX + 16];
        snprintf(path, sizeof path, "%s/esm.db", a->dir);
        int rc = sl_itemstore_open(path, &a->store);
        if (rc) {
            SL_ERROR("event-source mappings: cannot open %s: %s", path, sl_strerror(rc));
            return rc;
        }
    }
    *out = a->store;
    return 0;
}

static void encode_info(sl_buf_t *out, const sl_esm_info_t *i) {
    sl_enc_t e;
    sl_enc_init(&e, out, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "uuid", i->uuid);
    sl_enc_kv_cstr(&e, "function", i->function_arn);
    sl_enc_kv_cstr(&e, "source", i->source_arn);
    sl_enc_kv_cstr(&e, "role", i->role);
    sl_enc_kv_cstr(&e, "start", i->starting_position);
    if (i->has_starting_ts) sl_enc_kv_int(&e, "start_ts_ms", i->starting_ts_ms);
    sl_enc_kv_int(&e, "batch", i->batch_size);
    sl_enc_kv_int(&e, "window", i->window_s);
    sl_enc_kv_int(&e, "parallel", i->parallelization);
    sl_enc_kv_bool(&e, "enabled", i->enabled);
    sl_enc_kv_bool(&e, "bisect", i->bisect);
    sl_enc_kv_int(&e, "max_retry", i->max_retry);
    sl_enc_kv_int(&e, "max_age", i->max_age_s);
    sl_enc_kv_cstr(&e, "on_failure", i->on_failure);
    sl_enc_kv_int(&e, "tumbling", i->tumbling_s);
    sl_enc_kv_bool(&e, "report_failures", i->report_failures);
    sl_enc_kv_int(&e, "modified_ms", i->last_modified_ms);
    sl_enc_key(&e, "patterns");
    sl_enc_array_begin(&e);
    for (size_t k = 0, off = 0; k < i->pattern_count; k++) {
        const char *p = i->patterns + off;
        sl_enc_cstr(&e, p);
        off += strlen(p) + 1;
    }
    sl_enc_array_end(&e);
    sl_enc_map_end(&e);
}

static int set_patterns(sl_esm_info_t *i, const char *const *patterns, size_t count) {
    size_t len = 0;
    for (size_t k = 0; k < count; k++)
        len += strlen(patterns[k]) + 1;
    char *p = len ? malloc(len) : NULL;
    if (len && !p) return SL_ENOMEM;
    for (size_t k = 0, off = 0; k < count; k++) {
        size_t n = strlen(patterns[k]) + 1;
        memcpy(p + off, patterns[k], n);
        off += n;
    }
    free(i->patterns);
    i->patterns = p;
    i->patterns_len = len;
    i->pattern_count = count;
    return 0;
}

static void copy_str(char *dst, size_t cap, const char *src) {
    snprintf(dst, cap, "%s", src ? src : "");
}

static int64_t get_int(const sl_val_t *v, const char *key, int64_t dflt) {
    int64_t x;
    return sl_val_get_int(v, key, &x) ? x : dflt;
}

static bool get_bool(const sl_val_t *v, const char *key) {
    bool b = false;
    sl_val_get_bool(v, key, &b);
    return b;
}

/* Decodes a stored mapping (our own JSON; a row that does not parse is reported and skipped). */
static int decode_info(const void *val, size_t len, sl_esm_info_t *i) {
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    char *text = sl_arena_strndup(&arena, val, len);
    sl_val_t *v = NULL;
    const char *reason = NULL;
    int rc = text && sl_json_parse(text, len, &arena, &v, &reason) == 0 && v->type == SL_VAL_MAP
                 ? 0
                 : SL_ECORRUPT;
    if (rc == 0) {
        *i = (sl_esm_info_t){0};
        copy_str(i->uuid, sizeof i->uuid, sl_val_get_str(v, "uuid", NULL));
        copy_str(i->function_arn, sizeof i->function_arn, sl_val_get_str(v, "function", NULL));
        copy_str(i->source_arn, sizeof i->source_arn, sl_val_get_str(v, "source", NULL));
        copy_str(i->role, sizeof i->role, sl_val_get_str(v, "role", NULL));
        copy_str(i->starting_position, sizeof i->starting_position,
                 sl_val_get_str(v, "start", NULL));
        i->has_starting_ts = sl_val_get_int(v, "start_ts_ms", &i->starting_ts_ms);
        i->batch_size = (int)get_int(v, "batch", 100);
        i->window_s = (int)get_int(v, "window", 0);
        i->parallelization = (int)get_int(v, "parallel", 1);
        i->enabled = get_bool(v, "enabled");
        i->bisect = get_bool(v, "bisect");
        i->max_retry = (int)get_int(v, "max_retry", -1);
        i->max_age_s = (int)get_int(v, "max_age", -1);
        copy_str(i->on_failure, sizeof i->on_failure, sl_val_get_str(v, "on_failure", NULL));
        i->tumbling_s = (int)get_int(v, "tumbling", 0);
        i->report_failures = get_bool(v, "report_failures");
        i->last_modified_ms = get_int(v, "modified_ms", 0);
        const sl_val_t *pats = sl_val_get(v, "patterns");
        if (pats && pats->type == SL_VAL_ARRAY && pats->u.arr.count <= SL_ESM_FILTERS_MAX) {
            const char *list[SL_ESM_FILTERS_MAX];
            size_t n = 0;
            for (size_t k = 0; k < pats->u.arr.count; k++)
                if (pats->u.arr.items[k]->type == SL_VAL_STRING)
                    list[n++] = pats->u.arr.items[k]->u.str.ptr;
            rc = set_patterns(i, list, n);
        }
        i->state = i->enabled ? "Enabled" : "Disabled";
        snprintf(i->state_reason, sizeof i->state_reason, "USER_INITIATED");
        snprintf(i->last_result, sizeof i->last_result, "No records processed");
        if (!i->uuid[0] || !i->source_arn[0]) rc = SL_ECORRUPT;
    }
    sl_arena_deinit(&arena);
    return rc;
}

static int save_mapping(sl_esm_account_t *a, const sl_esm_info_t *i) {
    sl_itemstore_t *store;
    int rc = sl_esm_store(a, &store);
    if (rc) return rc;
    sl_buf_t buf = SL_BUF_INIT;
    encode_info(&buf, i);
    rc = sl_buf_failed(&buf) ? SL_ENOMEM : 0;
    if (rc == 0) {
        sl_itemstore_op_t op = {.kind = SL_ITEMSTORE_PUT_ITEM,
                                .table = TABLE_MAPPINGS,
                                .key = i->uuid,
                                .key_len = strlen(i->uuid),
                                .val = buf.data,
                                .val_len = buf.len};
        rc = sl_itemstore_write(store, &op, 1);
    }
    sl_buf_free(&buf);
    return rc;
}

/* Writes the checkpoints of m's shards that changed, in one transaction. */
int sl_esm_checkpoint_write(mapping_t *m) {
    enum { BATCH = 64 };
    sl_itemstore_op_t ops[BATCH];
    char keys[BATCH][64], vals[BATCH][32];
    shard_t *which[BATCH];
    size_t n = 0;
    int rc = 0;
    for (size_t s = 0; s <= m->shard_count; s++) {
        shard_t *sh = s < m->shard_count ? m->shards[s] : NULL;
        bool changed = sh && sh->state != SHARD_WAITING &&
                       (!sh->has_saved || sh->saved != sh->checkpoint ||
                        sh->saved_done != sh->checkpoint_done);
        if (changed) {
            int kl = snprintf(keys[n], sizeof keys[n], "%s/%u", m->info.uuid, sh->index);
            int vl = snprintf(vals[n], sizeof vals[n], "%s%llu", sh->checkpoint_done ? "end:" : "",
                              (unsigned long long)sh->checkpoint);
            ops[n] = (sl_itemstore_op_t){.kind = SL_ITEMSTORE_PUT_ITEM,
                                         .table = TABLE_CHECKPOINTS,
                                         .key = keys[n],
                                         .key_len = (size_t)kl,
                                         .val = vals[n],
                                         .val_len = (size_t)vl};
            which[n++] = sh;
        }
        if (n == BATCH || (s == m->shard_count && n > 0)) {
            sl_itemstore_t *store;
            rc = sl_esm_store(m->account, &store);
            if (rc == 0) rc = sl_itemstore_write(store, ops, n);
            if (rc) {
                SL_WARN("event-source mapping %s: cannot write checkpoints: %s", m->info.uuid,
                        sl_strerror(rc));
                return rc;
            }
            for (size_t k = 0; k < n; k++) {
                which[k]->saved = which[k]->checkpoint;
                which[k]->saved_done = which[k]->checkpoint_done;
                which[k]->has_saved = true;
            }
            n = 0;
        }
    }
    return rc;
}

static int delete_mapping_rows(sl_esm_account_t *a, const mapping_t *m) {
    sl_itemstore_t *store;
    int rc = sl_esm_store(a, &store);
    if (rc) return rc;
    size_t n = 1 + m->shard_count;
    sl_itemstore_op_t *ops = calloc(n, sizeof *ops);
    char(*keys)[64] = calloc(n, sizeof *keys);
    if (!ops || !keys) {
        free(ops);
        free(keys);
        return SL_ENOMEM;
    }
    ops[0] = (sl_itemstore_op_t){.kind = SL_ITEMSTORE_DELETE_ITEM,
                                 .table = TABLE_MAPPINGS,
                                 .key = m->info.uuid,
                                 .key_len = strlen(m->info.uuid)};
    for (size_t s = 0; s < m->shard_count; s++) {
        int kl = snprintf(keys[s], sizeof keys[s], "%s/%u", m->info.uuid, m->shards[s]->index);
        ops[s + 1] = (sl_itemstore_op_t){.kind = SL_ITEMSTORE_DELETE_ITEM,
                                         .table = TABLE_CHECKPOINTS,
                                         .key = keys[s],
                                         .key_len = (size_t)kl};
    }
    rc = sl_itemstore_write(store, ops, n);
    free(ops);
    free(keys);
    return rc;
}

/* ---- accounts ---- */

typedef struct {
    sl_esm_account_t *a;
    int bad;
} load_ctx_t;

static mapping_t *find_mapping(sl_esm_account_t *a, const char *uuid) {
    for (mapping_t *m = a->mappings; m; m = m->next)
        if (strcmp(m->info.uuid, uuid) == 0) return m;
    return NULL;
}

static bool stream_of_arn(const char *arn, char out[129]) {
    sl_arn_t p;
    size_t len = strlen(arn);
    if (sl_arn_parse_stream(arn, len, &p) != 0 && sl_arn_parse_consumer(arn, len, &p) != 0)
        return false;
    if (p.stream_len >= 129) return false;
    memcpy(out, p.stream, p.stream_len);
    out[p.stream_len] = '\0';
    return true;
}

static void link_mapping(sl_esm_account_t *a, mapping_t *m) {
    sl_esm_metrics_open(m);
    mapping_t **pp = &a->mappings;
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
    a->mapping_count++;
}

static int load_table(void *ctx, const char *table, const void *meta, size_t len) {
    (void)ctx, (void)table, (void)meta, (void)len;
    return 0;
}

static int load_item(void *ctx, const char *table, const void *key, size_t key_len, const void *val,
                     size_t val_len) {
    load_ctx_t *l = ctx;
    if (strcmp(table, TABLE_MAPPINGS) == 0) {
        mapping_t *m = calloc(1, sizeof *m);
        if (!m) return SL_ENOMEM;
        if (decode_info(val, val_len, &m->info) != 0 ||
            !stream_of_arn(m->info.source_arn, m->stream)) {
            SL_WARN("event-source mappings of account %s: a stored mapping (%.*s) does not parse; "
                    "it is skipped",
                    l->a->id, (int)(key_len < 64 ? key_len : 64), (const char *)key);
            sl_esm_info_deinit(&m->info);
            free(m);
            l->bad++;
            return 0;
        }
        m->account = l->a;
        link_mapping(l->a, m);
    }
    return 0;
}

/* Checkpoints are loaded after every mapping ("uuid/index" -> "[end:]position"). */
static int load_checkpoint(void *ctx, const char *table, const void *key, size_t key_len,
                           const void *val, size_t val_len) {
    load_ctx_t *l = ctx;
    if (strcmp(table, TABLE_CHECKPOINTS) != 0) return 0;
    char k[64], v[40];
    if (key_len >= sizeof k || val_len >= sizeof v) return 0;
    memcpy(k, key, key_len);
    k[key_len] = '\0';
    memcpy(v, val, val_len);
    v[val_len] = '\0';
    char *slash = strchr(k, '/');
    if (!slash) return 0;
    *slash = '\0';
    mapping_t *m = find_mapping(l->a, k);
    if (!m) return 0;
    bool done = strncmp(v, "end:", 4) == 0;
    char *end;
    errno = 0;
    unsigned long long pos = strtoull(done ? v + 4 : v, &end, 10);
    unsigned long index = strtoul(slash + 1, NULL, 10);
    if (errno || *end) return 0;
    sl_esm_checkpoint_loaded(m, (uint32_t)index, pos, done);
    return 0;
}

static void start_account(void *arg) {
    sl_esm_account_t *a = arg;
    if (a->esm->stopping) return;
    for (mapping_t *m = a->mappings; m; m = m->next)
        if (m->info.enabled) sl_esm_mapping_start(m);
    watch_update(a);
}

int sl_esm_account_open(sl_esm_t *esm, const sl_esm_account_config_t *cfg, sl_esm_account_t **out) {
    sl_esm_account_t *a = calloc(1, sizeof *a);
    if (!a) return SL_ENOMEM;
    a->esm = esm;
    snprintf(a->id, sizeof a->id, "%s", cfg->account_id);
    snprintf(a->dir, sizeof a->dir, "%s", cfg->dir);
    a->kinesis = cfg->kinesis;
    a->functions = cfg->functions;
    a->objstore = cfg->objstore;
    a->sqs = cfg->sqs;
    a->sns = cfg->sns;
    pthread_mutex_init(&a->watch_mu, NULL);
    char path[SL_DATA_PATH_BYTES_MAX + 16];
    snprintf(path, sizeof path, "%s/esm.db", a->dir);
    int rc = 0;
    struct stat st;
    if (stat(path, &st) == 0) {
        rc = sl_itemstore_open(path, &a->store);
        load_ctx_t l = {.a = a};
        if (rc == 0) rc = sl_itemstore_load(a->store, load_table, load_item, &l);
        if (rc == 0) rc = sl_itemstore_load(a->store, load_table, load_checkpoint, &l);
        if (rc) SL_ERROR("event-source mappings: cannot load %s: %s", path, sl_strerror(rc));
    }
    if (rc == 0) rc = sl_kinesis_listener_add(a->kinesis, on_commit, a);
    if (rc) {
        mapping_t *m = a->mappings;
        while (m) {
            mapping_t *n = m->next;
            sl_esm_info_deinit(&m->info);
            free(m->loaded);
            free(m);
            m = n;
        }
        sl_itemstore_close(a->store);
        pthread_mutex_destroy(&a->watch_mu);
        free(a);
        return rc;
    }
    a->listening = true;
    pthread_mutex_lock(&esm->accounts_mu);
    a->next = esm->accounts;
    esm->accounts = a;
    pthread_mutex_unlock(&esm->accounts_mu);
    if (a->mappings)
        SL_INFO("event-source mappings: %zu loaded for account %s", a->mapping_count, a->id);
    sl_loop_post(esm->loop, start_account, a);
    *out = a;
    return 0;
}

/* ---- operations ---- */

void sl_esm_info_deinit(sl_esm_info_t *info) {
    free(info->patterns);
    info->patterns = NULL;
    info->pattern_count = 0;
    info->patterns_len = 0;
}

void sl_esm_op_deinit(sl_esm_op_t *op) {
    sl_esm_info_deinit(&op->info);
    for (size_t i = 0; i < op->list_count; i++)
        sl_esm_info_deinit(&op->list[i]);
    free(op->list);
    op->list = NULL;
    op->list_count = 0;
}

static int copy_info(sl_esm_info_t *dst, const sl_esm_info_t *src) {
    *dst = *src;
    dst->patterns = NULL;
    if (src->patterns_len) {
        dst->patterns = malloc(src->patterns_len);
        if (!dst->patterns) return SL_ENOMEM;
        memcpy(dst->patterns, src->patterns, src->patterns_len);
    }
    return 0;
}

static void fail(sl_esm_op_t *op, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(sl_esm_op_t *op, const char *type, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op->error_message, sizeof op->error_message, fmt, ap);
    va_end(ap);
    op->error_type = type;
}

static void not_found(sl_esm_op_t *op) {
    fail(op, "ResourceNotFoundException", "The resource you requested does not exist.");
}

/* The function's ARN as a name, ARN or partial ARN names it, for comparisons (the function need
 * not exist): "arn:aws:lambda:<region>:<account>:function:<name>". */
static void function_arn_of(sl_esm_account_t *a, const char *name, char *out, size_t cap) {
    const char *p = strstr(name, "function:");
    const char *base = p ? p + 9 : name;
    size_t len = strcspn(base, ":");
    snprintf(out, cap, "arn:aws:lambda:%s:%s:function:%.*s", a->esm->region, a->id, (int)len, base);
}

static bool valid_destination(const char *d) {
    return strncmp(d, "arn:aws:sqs:", 12) == 0 || strncmp(d, "arn:aws:sns:", 12) == 0 ||
           strncmp(d, "arn:aws:s3:::", 13) == 0;
}

/* Checks the members of a create or update that the model does not (AWS's texts). */
static bool check_spec(sl_esm_op_t *op) {
    const sl_esm_spec_t *s = &op->spec;
    if (s->has_max_age && s->max_age_s >= 0 && s->max_age_s < 60) {
        fail(op, "InvalidParameterValueException",
             "MaximumRecordAgeInSeconds must be -1 or between 60 and 604800.");
        return false;
    }
    if (s->has_destination && s->destination[0] && !valid_destination(s->destination)) {
        fail(op, "InvalidParameterValueException",
             "The provided destination config DestinationConfig(onSuccess=null, "
             "onFailure=OnFailure(destination=%s)) is invalid.",
             s->destination);
        return false;
    }
    if (s->has_filters && s->pattern_count > SL_ESM_FILTERS_MAX) {
        fail(op, "InvalidParameterValueException",
             "The number of filters (%zu) exceeds the limit of %d.", s->pattern_count,
             SL_ESM_FILTERS_MAX);
        return false;
    }
    for (size_t i = 0; s->has_filters && i < s->pattern_count; i++)
        if (!sl_esm_pattern_valid(s->patterns[i])) {
            fail(op, "InvalidParameterValueException", "Invalid filter pattern definition.");
            return false;
        }
    return true;
}

static void apply_spec(sl_esm_info_t *i, const sl_esm_spec_t *s) {
    if (s->has_enabled) i->enabled = s->enabled;
    if (s->has_batch_size) i->batch_size = s->batch_size;
    if (s->has_window) i->window_s = s->window_s;
    if (s->has_parallelization) i->parallelization = s->parallelization;
    if (s->has_bisect) i->bisect = s->bisect;
    if (s->has_max_retry) i->max_retry = s->max_retry;
    if (s->has_max_age) i->max_age_s = s->max_age_s;
    if (s->has_destination) copy_str(i->on_failure, sizeof i->on_failure, s->destination);
    if (s->has_tumbling) i->tumbling_s = s->tumbling_s;
    if (s->has_response_types) i->report_failures = s->report_failures;
}

static void finish_create(sl_esm_op_t *op);

static void fn_checked(void *arg) {
    sl_esm_op_t *op = arg;
    if (op->account->esm->stopping) return;
    sl_fn_op_t *f = &op->fn_op;
    if (f->error_type) {
        fail(op, f->error_type, "%s", f->error_message);
        sl_fn_op_deinit(f);
        op->done(op);
        return;
    }
    finish_create(op);
}

static void fn_done(sl_fn_op_t *f) {
    sl_esm_op_t *op = f->arg;
    sl_loop_post(op->account->esm->loop, fn_checked, op); /* supervisor -> service thread */
}

/* Create, first step: the checks that need nothing but the request, then the function's
 * existence (and its role) from the functions core. */
static void op_create(sl_esm_op_t *op) {
    sl_esm_account_t *a = op->account;
    const char *arn = op->source_arn ? op->source_arn : "";
    char stream[129];
    if (!stream_of_arn(arn, stream)) {
        fail(op, "InvalidParameterValueException",
             "Unrecognized event source, must be kinesis, dynamodb stream or sqs.");
        goto done;
    }
    if (!op->spec.starting_position) {
        fail(op, "InvalidParameterValueException",
             "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
             "constraint: Member must not be null.");
        goto done;
    }
    if (strcmp(op->spec.starting_position, "AT_TIMESTAMP") == 0 && !op->spec.has_starting_ts) {
        fail(op, "InvalidParameterValueException",
             "StartingPositionTimestamp must be set when StartingPosition is AT_TIMESTAMP.");
        goto done;
    }
    if (!check_spec(op)) goto done;
    if (!a->functions) {
        fail(op, "ServiceException",
             "Functions are switched off on this server (--functions off).");
        goto done;
    }
    if (a->mapping_count >= SL_ESM_MAPPINGS_MAX) {
        fail(op, "ResourceConflictException",
             "The account has reached the limit of %d event source mappings.", SL_ESM_MAPPINGS_MAX);
        goto done;
    }
    op->fn_op = (sl_fn_op_t){.kind = SL_FN_GET,
                             .account = a->functions,
                             .function_name = op->function_name,
                             .done = fn_done,
                             .arg = op};
    sl_fn_submit(&op->fn_op);
    return;
done:
    op->done(op);
}

static void finish_create(sl_esm_op_t *op) {
    sl_esm_account_t *a = op->account;
    mapping_t *m = calloc(1, sizeof *m);
    if (!m) {
        sl_fn_op_deinit(&op->fn_op);
        fail(op, "ServiceException", "Internal service failure.");
        op->done(op);
        return;
    }
    sl_esm_info_t *i = &m->info;
    copy_str(i->function_arn, sizeof i->function_arn, op->fn_op.config.arn);
    copy_str(i->role, sizeof i->role, op->fn_op.config.role);
    sl_fn_op_deinit(&op->fn_op);
    copy_str(i->source_arn, sizeof i->source_arn, op->source_arn);
    stream_of_arn(i->source_arn, m->stream);
    sl_kstream_ref_t ref = {.name = m->stream, .name_len = strlen(m->stream)};
    sl_kstream_info_t sinfo;
    sl_kerr_t kerr = {0};
    for (mapping_t *o = a->mappings; o; o = o->next)
        if (strcmp(o->info.source_arn, i->source_arn) == 0 &&
            strcmp(o->info.function_arn, i->function_arn) == 0) {
            fail(op, "ResourceConflictException",
                 "The event source arn (\" %s \") and function (\" %s \") provided mapping "
                 "already exists. Please update or delete the existing mapping with UUID %s",
                 i->source_arn, op->function_name, o->info.uuid);
            goto fail;
        }
    if (!sl_kinesis_describe_stream_summary(a->kinesis, &ref, sl_time_now_ms(), &sinfo, &kerr)) {
        fail(op, "InvalidParameterValueException", "Stream not found: %s", i->source_arn);
        goto fail;
    }
    if (strstr(i->source_arn, "/consumer/")) {
        /* enhanced fan-out: the consumer must be registered */
        sl_kconsumer_ref_t cref = {.arn = i->source_arn, .arn_len = strlen(i->source_arn)};
        sl_kconsumer_info_t cinfo;
        if (!sl_kinesis_describe_consumer(a->kinesis, &cref, sl_time_now_ms(), &cinfo, &kerr)) {
            fail(op, "InvalidParameterValueException", "Consumer not found: %s", i->source_arn);
            goto fail;
        }
    }
    sl_esm_make_uuid(a->esm, i->uuid);
    copy_str(i->starting_position, sizeof i->starting_position, op->spec.starting_position);
    i->has_starting_ts = op->spec.has_starting_ts;
    i->starting_ts_ms = op->spec.starting_ts_ms;
    i->batch_size = 100;
    i->parallelization = 1;
    i->enabled = true;
    i->max_retry = -1;
    i->max_age_s = -1;
    apply_spec(i, &op->spec);
    if (op->spec.has_filters && set_patterns(i, op->spec.patterns, op->spec.pattern_count) != 0) {
        fail(op, "ServiceException", "Internal service failure.");
        goto fail;
    }
    i->last_modified_ms = sl_time_now_ms();
    i->state = i->enabled ? "Enabled" : "Disabled";
    snprintf(i->state_reason, sizeof i->state_reason, "USER_INITIATED");
    snprintf(i->last_result, sizeof i->last_result, "No records processed");
    int rc = save_mapping(a, i);
    if (rc) {
        fail(op, "ServiceException",
             "Internal service failure: the mapping could not be stored (%s).", sl_strerror(rc));
        goto fail;
    }
    m->account = a;
    link_mapping(a, m);
    if (copy_info(&op->info, i) != 0) op->info.patterns_len = 0;
    op->info.state = "Creating";
    if (i->enabled) sl_esm_mapping_start(m);
    watch_update(a);
    op->done(op);
    return;
fail:
    sl_esm_info_deinit(i);
    free(m);
    op->done(op);
}

static void op_get(sl_esm_op_t *op) {
    mapping_t *m = op->uuid ? find_mapping(op->account, op->uuid) : NULL;
    if (!m)
        not_found(op);
    else if (copy_info(&op->info, &m->info) != 0)
        fail(op, "ServiceException", "Internal service failure.");
    op->done(op);
}

static int cmp_uuid(const void *x, const void *y) {
    return strcmp((*(mapping_t *const *)x)->info.uuid, (*(mapping_t *const *)y)->info.uuid);
}

/* ListEventSourceMappings: by EventSourceArn and/or FunctionName, in UUID order; the marker is
 * the last UUID of the previous page. */
static void op_list(sl_esm_op_t *op) {
    sl_esm_account_t *a = op->account;
    char fn[SL_FN_ARN_BYTES_MAX] = "";
    if (op->function_name) function_arn_of(a, op->function_name, fn, sizeof fn);
    mapping_t **all = calloc(a->mapping_count + 1, sizeof *all);
    size_t n = 0;
    if (!all) {
        fail(op, "ServiceException", "Internal service failure.");
        op->done(op);
        return;
    }
    for (mapping_t *m = a->mappings; m; m = m->next) {
        if (op->source_arn && strcmp(op->source_arn, m->info.source_arn) != 0) continue;
        if (fn[0] && strcmp(fn, m->info.function_arn) != 0) continue;
        if (op->marker && strcmp(m->info.uuid, op->marker) <= 0) continue;
        all[n++] = m;
    }
    qsort(all, n, sizeof *all, cmp_uuid);
    size_t max = op->max_items > 0 ? (size_t)op->max_items : 100;
    size_t take = n < max ? n : max;
    op->list = calloc(take + 1, sizeof *op->list);
    if (!op->list) {
        fail(op, "ServiceException", "Internal service failure.");
    } else {
        for (size_t i = 0; i < take; i++)
            if (copy_info(&op->list[op->list_count], &all[i]->info) == 0) op->list_count++;
        if (take < n) copy_str(op->next_marker, sizeof op->next_marker, all[take - 1]->info.uuid);
    }
    free(all);
    op->done(op);
}

static void finish_update(sl_esm_op_t *op);

static void fn_checked_update(void *arg) {
    sl_esm_op_t *op = arg;
    if (op->account->esm->stopping) return;
    if (op->fn_op.error_type) {
        fail(op, op->fn_op.error_type, "%s", op->fn_op.error_message);
        sl_fn_op_deinit(&op->fn_op);
        op->done(op);
        return;
    }
    finish_update(op);
}

static void fn_done_update(sl_fn_op_t *f) {
    sl_esm_op_t *op = f->arg;
    sl_loop_post(op->account->esm->loop, fn_checked_update, op);
}

static void op_update(sl_esm_op_t *op) {
    mapping_t *m = op->uuid ? find_mapping(op->account, op->uuid) : NULL;
    if (!m) {
        not_found(op);
        op->done(op);
        return;
    }
    if (!check_spec(op)) {
        op->done(op);
        return;
    }
    if (op->function_name) {
        if (!op->account->functions) {
            fail(op, "ServiceException",
                 "Functions are switched off on this server (--functions off).");
            op->done(op);
            return;
        }
        op->fn_op = (sl_fn_op_t){.kind = SL_FN_GET,
                                 .account = op->account->functions,
                                 .function_name = op->function_name,
                                 .done = fn_done_update,
                                 .arg = op};
        sl_fn_submit(&op->fn_op);
        return;
    }
    finish_update(op);
}

/* An update takes effect on the next batch: the pollers keep their checkpoints; a batch in flight
 * finishes under the old settings. */
static void finish_update(sl_esm_op_t *op) {
    mapping_t *m = find_mapping(op->account, op->uuid);
    if (!m) {
        not_found(op);
        sl_fn_op_deinit(&op->fn_op);
        op->done(op);
        return;
    }
    sl_esm_info_t next;
    if (copy_info(&next, &m->info) != 0) {
        fail(op, "ServiceException", "Internal service failure.");
        op->done(op);
        return;
    }
    if (op->function_name) {
        copy_str(next.function_arn, sizeof next.function_arn, op->fn_op.config.arn);
        copy_str(next.role, sizeof next.role, op->fn_op.config.role);
        sl_fn_op_deinit(&op->fn_op);
    }
    bool was_enabled = next.enabled;
    apply_spec(&next, &op->spec);
    if (op->spec.has_filters &&
        set_patterns(&next, op->spec.patterns, op->spec.pattern_count) != 0) {
        sl_esm_info_deinit(&next);
        fail(op, "ServiceException", "Internal service failure.");
        op->done(op);
        return;
    }
    next.last_modified_ms = sl_time_now_ms();
    next.state = next.enabled ? "Enabled" : "Disabled";
    int rc = save_mapping(op->account, &next);
    if (rc) {
        sl_esm_info_deinit(&next);
        fail(op, "ServiceException",
             "Internal service failure: the mapping could not be stored (%s).", sl_strerror(rc));
        op->done(op);
        return;
    }
    bool restart = was_enabled && next.enabled &&
                   (next.parallelization != m->info.parallelization ||
                    strcmp(next.function_arn, m->info.function_arn) != 0);
    sl_esm_info_deinit(&m->info);
    m->info = next;
    m->generation++;
    sl_esm_filter_compile(m);
    if (restart || (was_enabled && !next.enabled)) {
        sl_esm_checkpoint_write(m);
        sl_esm_mapping_stop(m);
    }
    if (next.enabled && !m->running) sl_esm_mapping_start(m);
    watch_update(op->account);
    copy_info(&op->info, &m->info);
    op->info.state = was_enabled == next.enabled ? "Updating"
                     : next.enabled              ? "Enabling"
                                                 : "Disabling";
    op->done(op);
}

static void op_delete(sl_esm_op_t *op) {
    sl_esm_account_t *a = op->account;
    mapping_t **pp = &a->mappings;
    while (*pp && (!op->uuid || strcmp((*pp)->info.uuid, op->uuid) != 0))
        pp = &(*pp)->next;
    mapping_t *m = *pp;
    if (!m) {
        not_found(op);
        op->done(op);
        return;
    }
    int rc = delete_mapping_rows(a, m);
    if (rc) {
        fail(op, "ServiceException",
             "Internal service failure: the mapping could not be deleted (%s).", sl_strerror(rc));
        op->done(op);
        return;
    }
    *pp = m->next;
    a->mapping_count--;
    sl_esm_mapping_stop(m);
    sl_esm_metrics_release(m);
    watch_update(a);
    op->info = m->info; /* the op takes the patterns */
    op->info.state = "Deleting";
    sl_esm_mapping_free_shards(m);
    sl_esm_filter_free(m);
    free(m->loaded);
    free(m);
    op->done(op);
}

static void run_op(void *arg) {
    sl_esm_op_t *op = arg;
    if (op->account->esm->stopping) return;
    switch (op->kind) {
    case SL_ESM_CREATE:
        op_create(op);
        break;
    case SL_ESM_GET:
        op_get(op);
        break;
    case SL_ESM_LIST:
        op_list(op);
        break;
    case SL_ESM_UPDATE:
        op_update(op);
        break;
    case SL_ESM_DELETE:
        op_delete(op);
        break;
    }
}

void sl_esm_submit(sl_esm_t *esm, sl_esm_op_t *op) {
    op->error_type = NULL;
    if (sl_loop_post(esm->loop, run_op, op) != 0) {
        fail(op, "ServiceException", "Internal service failure.");
        op->done(op);
    }
}

/* OnFailure to an SQS queue (durable before this returns) or an SNS topic, by ARN, in process.
 * Blocks the service thread for the queue's disk write, as an OnFailure delivery blocks its shard
 * on AWS. */
int sl_esm_deliver_other(mapping_t *m, const char *arn, const sl_buf_t *doc) {
    sl_esm_account_t *a = m->account;
    int rc = SL_ENOTFOUND;
    char detail[320] = "the service is not served";
    if (strncmp(arn, "arn:aws:sqs:", 12) == 0 && a->sqs) {
        sl_sqs_sent_t sent;
        sl_sqs_err_t err = {0};
        rc = sl_sqs_send_arn_wait(a->sqs, arn, doc->data, doc->len, &sent, &err);
        if (rc)
            snprintf(detail, sizeof detail, "%s", err.message[0] ? err.message : sl_strerror(rc));
    } else if (strncmp(arn, "arn:aws:sns:", 12) == 0 && a->sns) {
        char id[40];
        sl_sns_err_t err = {0};
        rc = sl_sns_publish_arn(a->sns, arn, doc->data, doc->len, id, &err);
        if (rc)
            snprintf(detail, sizeof detail, "%s", err.message[0] ? err.message : sl_strerror(rc));
    }
    if (rc)
        SL_WARN("event-source mapping %s: OnFailure to %s not delivered: %s", m->info.uuid, arn,
                detail);
    return rc;
}

/* ---- metrics ---- */

#define ESM_COUNTER(var, cw, prom, text)                                                           \
    static const sl_metric_desc_t var = {.ns = "AWS/Lambda",                                       \
                                         .name = cw,                                               \
                                         .prom_name = prom,                                        \
                                         .help = text,                                             \
                                         .kind = SL_METRIC_COUNTER,                                \
                                         .unit = "Count",                                          \
                                         .labels = {"EventSourceMappingUUID"}}
ESM_COUNTER(g_polled, "PolledEventCount", "sluice_esm_polled_events_total",
            "Records an event-source mapping read from its stream.");
ESM_COUNTER(g_filtered, "FilteredOutEventCount", "sluice_esm_filtered_out_events_total",
            "Records that matched none of the mapping's filter patterns.");
ESM_COUNTER(g_invoked, "InvokedEventCount", "sluice_esm_invoked_events_total",
            "Records sent to the function (each attempt counts).");
ESM_COUNTER(g_failed, "FailedInvokeEventCount", "sluice_esm_failed_invoke_events_total",
            "Records of invocations that failed.");
ESM_COUNTER(g_dropped, "DroppedEventCount", "sluice_esm_dropped_events_total",
            "Records discarded after retries or by age.");
ESM_COUNTER(g_delivered, "OnFailureDestinationDeliveredEventCount",
            "sluice_esm_on_failure_delivered_events_total",
            "Records whose OnFailure record reached its destination.");
static const sl_metric_desc_t g_age = {.ns = "AWS/Lambda",
                                       .name = "IteratorAge",
                                       .prom_name = "sluice_esm_iterator_age_milliseconds",
                                       .help = "Age of the last record of the last batch the "
                                               "mapping processed, when processed.",
                                       .kind = SL_METRIC_GAUGE,
                                       .unit = "Milliseconds",
                                       .labels = {"EventSourceMappingUUID"}};

void sl_esm_metrics_open(mapping_t *m) {
    const char *values[] = {m->info.uuid};
    m->m_polled = sl_metric_series(sl_metric_declare(&g_polled), values);
    m->m_filtered = sl_metric_series(sl_metric_declare(&g_filtered), values);
    m->m_invoked = sl_metric_series(sl_metric_declare(&g_invoked), values);
    m->m_failed = sl_metric_series(sl_metric_declare(&g_failed), values);
    m->m_dropped = sl_metric_series(sl_metric_declare(&g_dropped), values);
    m->m_delivered = sl_metric_series(sl_metric_declare(&g_delivered), values);
    m->m_iterator_age = sl_metric_series(sl_metric_declare(&g_age), values);
}

void sl_esm_metrics_release(mapping_t *m) {
    sl_series_t *all[] = {m->m_polled,  m->m_filtered,  m->m_invoked,     m->m_failed,
                          m->m_dropped, m->m_delivered, m->m_iterator_age};
    for (size_t i = 0; i < SL_ARRAY_LEN(all); i++)
        if (all[i]) sl_series_release(all[i]);
}
