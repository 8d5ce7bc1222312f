/* The pollers of the event-source mappings (see esm.h): per mapping and shard, a reader that
 * fills ParallelizationFactor batchers (records routed by partition key, so each key keeps its
 * order), the batches' invocations with AWS's error handling (retries, bisect, partial batch
 * responses, maximum record age, OnFailure destinations), parents before children, and the
 * shard's checkpoint: the lowest record not yet processed, written to esm.db. Everything runs on
 * the service thread; reads and invocations complete elsewhere and post back here. */
#include "esm/internal.h"

#include "core/common.h"
#include "core/log.h"
#include "core/time.h"
#include "esm/event.h"
#include "esm/filter.h"
#include "kinesis/control.h"
#include "kinesis/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void shard_pump(shard_t *sh);
static void batcher_pump(batcher_t *b);
static void discover(mapping_t *m);

static bool shard_busy(const shard_t *sh) {
    if (sh->reading || sh->positioning) return true;
    for (int i = 0; i < sh->batchers_n; i++)
        if (sh->batchers[i].invoking) return true;
    return false;
}

static void rec_free_list(rec_t *r) {
    while (r) {
        rec_t *n = r->next;
        free(r);
        r = n;
    }
}

static void shard_free(shard_t *sh) {
    if (sh->esm) {
        shard_t **pp = &sh->esm->orphans;
        while (*pp && *pp != sh)
            pp = &(*pp)->orphan_next;
        if (*pp) *pp = sh->orphan_next;
    }
    if (sh->idle_timer) sl_timer_cancel(sh->idle_timer);
    for (int i = 0; i < (int)SL_ARRAY_LEN(sh->batchers); i++) {
        batcher_t *b = &sh->batchers[i];
        if (b->timer) sl_timer_cancel(b->timer);
        rec_free_list(b->head);
        sl_buf_free(&b->payload);
        sl_buf_free(&b->state);
        sl_buf_free(&b->pending_state);
    }
    free(sh);
}

/* The shard leaves its mapping; freed now or once what is in flight completes. */
static void shard_detach(shard_t *sh) {
    if (sh->idle_timer) sl_timer_cancel(sh->idle_timer);
    sh->idle_timer = NULL;
    for (int i = 0; i < (int)SL_ARRAY_LEN(sh->batchers); i++) {
        batcher_t *b = &sh->batchers[i];
        if (b->timer) sl_timer_cancel(b->timer);
        b->timer = NULL;
    }
    sl_esm_t *esm = sh->m->account->esm;
    sh->m = NULL;
    if (!shard_busy(sh)) {
        shard_free(sh);
        return;
    }
    sh->esm = esm;
    sh->orphan_next = esm->orphans;
    esm->orphans = sh;
}

void sl_esm_orphans_free(sl_esm_t *esm) {
    while (esm->orphans) {
        shard_t *sh = esm->orphans;
        esm->orphans = sh->orphan_next;
        sh->esm = NULL;
        sh->reading = sh->positioning = false;
        for (int i = 0; i < (int)SL_ARRAY_LEN(sh->batchers); i++) {
            if (sh->batchers[i].invoking) sl_fn_op_deinit(&sh->batchers[i].op);
            sh->batchers[i].invoking = false;
        }
        shard_free(sh);
    }
}

/* A completion of a shard that left its mapping (or while the service stops): true when the
 * completion has nothing more to do; the shard is freed once nothing else is in flight. */
static bool orphan_done(shard_t *sh) {
    if (sh->m && !sh->m->account->esm->stopping) return false;
    if (!sh->m && !shard_busy(sh)) shard_free(sh);
    return true;
}

void sl_esm_mapping_free_shards(mapping_t *m) {
    for (size_t i = 0; i < m->shard_count; i++)
        shard_detach(m->shards[i]);
    free(m->shards);
    m->shards = NULL;
    m->shard_count = m->shard_cap = 0;
}

void sl_esm_mapping_stop(mapping_t *m) {
    m->running = false;
    if (m->discover_timer) sl_timer_cancel(m->discover_timer);
    if (m->checkpoint_timer) sl_timer_cancel(m->checkpoint_timer);
    m->discover_timer = m->checkpoint_timer = NULL;
    /* keep what the checkpoints say for a restart of the pollers */
    for (size_t i = 0; i < m->shard_count; i++) {
        shard_t *sh = m->shards[i];
        if (sh->state == SHARD_WAITING) continue;
        sl_esm_checkpoint_loaded(m, sh->index, sh->checkpoint, sh->checkpoint_done);
    }
    sl_esm_mapping_free_shards(m);
}

void sl_esm_checkpoint_loaded(mapping_t *m, uint32_t index, uint64_t position, bool done) {
    for (size_t i = 0; i < m->loaded_count; i++)
        if (m->loaded[i].index == index) {
            m->loaded[i].position = position;
            m->loaded[i].done = done;
            return;
        }
    void *p = realloc(m->loaded, (m->loaded_count + 1) * sizeof *m->loaded);
    if (!p) return;
    m->loaded = p;
    m->loaded[m->loaded_count++] = (struct loaded_cp){index, position, done};
}

static const struct loaded_cp *loaded_of(const mapping_t *m, uint32_t index) {
    for (size_t i = 0; i < m->loaded_count; i++)
        if (m->loaded[i].index == index) return &m->loaded[i];
    return NULL;
}

/* ---- checkpoints ---- */

static void on_checkpoint_timer(void *arg) {
    mapping_t *m = arg;
    m->checkpoint_timer = NULL;
    sl_esm_checkpoint_write(m);
}

static void checkpoint_soon(mapping_t *m) {
    if (!m->checkpoint_timer)
        m->checkpoint_timer = sl_timer_start(m->account->esm->loop, SL_ESM_CHECKPOINT_INTERVAL_MS,
                                             on_checkpoint_timer, m);
}

/* The shard's checkpoint: its lowest unprocessed record, else the next position to read. */
static void shard_checkpoint(shard_t *sh) {
    uint64_t cp = sh->reader.position;
    for (int i = 0; i < sh->batchers_n; i++)
        if (sh->batchers[i].head && sh->batchers[i].head->seq < cp) cp = sh->batchers[i].head->seq;
    bool done = sh->ended && sh->buffered == 0;
    if (cp != sh->checkpoint || done != sh->checkpoint_done) {
        sh->checkpoint = cp;
        sh->checkpoint_done = done;
        checkpoint_soon(sh->m);
    }
    if (done && sh->state == SHARD_ACTIVE) {
        sh->state = SHARD_DONE;
        sl_esm_checkpoint_write(sh->m); /* children start once this is durable */
        discover(sh->m);
    }
}

/* ---- discovery and positions ---- */

static shard_t *shard_find(mapping_t *m, uint32_t index) {
    for (size_t i = 0; i < m->shard_count; i++)
        if (m->shards[i]->index == index) return m->shards[i];
    return NULL;
}

static bool parent_done(mapping_t *m, int32_t parent) {
    if (parent < 0) return true;
    shard_t *p = shard_find(m, (uint32_t)parent);
    return !p || p->state == SHARD_DONE; /* an expired parent is no longer listed */
}

static void position_done(shard_t *sh, const sl_kiterator_t *it);

static void position_posted(void *arg) {
    shard_t *sh = arg;
    sh->positioning = false;
    if (orphan_done(sh)) return;
    position_done(sh, &sh->it);
}

static void position_cb(sl_kiterator_t *it) {
    shard_t *sh = it->arg;
    sl_loop_post(sh->loop, position_posted, sh);
}

static void idle_timer_fired(void *arg) {
    shard_t *sh = arg;
    sh->idle_timer = NULL;
    sh->idle = false;
    if (!sh->positioned && !sh->positioning && sh->state == SHARD_ACTIVE) {
        shard_pump(sh); /* retry the position */
        return;
    }
    shard_pump(sh);
}

static void shard_idle_for(shard_t *sh, uint64_t ms) {
    sh->idle = true;
    if (!sh->idle_timer) sh->idle_timer = sl_timer_start(sh->loop, ms, idle_timer_fired, sh);
}

static void shard_idle(shard_t *sh) {
    shard_idle_for(sh, SL_ESM_IDLE_POLL_MS);
}

/* Resolves the shard's first position: its checkpoint, else the mapping's StartingPosition
 * (shards found after the mapping started, and children, from TRIM_HORIZON). */
static void shard_position(shard_t *sh) {
    mapping_t *m = sh->m;
    sl_kiterator_t *it = &sh->it;
    *it = (sl_kiterator_t){0};
    it->stream = (sl_kstream_ref_t){.name = m->stream, .name_len = strlen(m->stream)};
    it->shard_id = sh->id;
    it->shard_id_len = strlen(sh->id);
    it->op_name = "GetShardIterator";
    it->now_ms = sl_time_now_ms();
    it->cb = position_cb;
    it->arg = sh;
    const struct loaded_cp *cp = loaded_of(m, sh->index);
    if (cp || sh->from_trim) {
        it->start.type = SL_KSTART_TRIM_HORIZON;
    } else {
        it->start.type = sl_kstart_type_parse(m->info.starting_position);
        it->start.has_timestamp = m->info.has_starting_ts;
        it->start.timestamp_ms = m->info.starting_ts_ms;
    }
    sh->positioning = true;
    int rc = sl_kinesis_shard_iterator(m->account->kinesis, it);
    if (rc == SL_KINESIS_DONE) {
        sh->positioning = false;
        position_done(sh, it);
    }
}

static void position_done(shard_t *sh, const sl_kiterator_t *it) {
    if (it->err.type != SL_KERR_NONE) {
        SL_DEBUG("event-source mapping %s: %s: %s", sh->m->info.uuid, sh->id, it->err.message);
        shard_idle(sh);
        return;
    }
    sh->reader = it->reader;
    const struct loaded_cp *cp = loaded_of(sh->m, sh->index);
    if (cp && cp->position > sh->reader.position) sh->reader.position = cp->position;
    sh->positioned = true;
    sh->checkpoint = sh->reader.position;
    shard_checkpoint(sh);
    checkpoint_soon(sh->m); /* LATEST and AT_TIMESTAMP resolve once, as on AWS */
    shard_pump(sh);
}

static void shard_activate(shard_t *sh) {
    sh->state = SHARD_ACTIVE;
    shard_position(sh);
}

static int shard_add(mapping_t *m, const sl_kshard_info_t *si, bool first) {
    if (m->shard_count == m->shard_cap) {
        size_t cap = m->shard_cap ? m->shard_cap * 2 : 4;
        void *p = realloc(m->shards, cap * sizeof *m->shards);
        if (!p) return SL_ENOMEM;
        m->shards = p;
        m->shard_cap = cap;
    }
    shard_t *sh = calloc(1, sizeof *sh);
    if (!sh) return SL_ENOMEM;
    sh->m = m;
    sh->loop = m->account->esm->loop;
    if (strstr(m->info.source_arn, "/consumer/"))
        snprintf(sh->consumer, sizeof sh->consumer, "%s", m->info.source_arn);
    sh->index = si->index;
    sl_shardid_format(si->index, sh->id);
    sh->parent = si->parent;
    sh->adjacent_parent = si->adjacent_parent;
    sh->created_ms = si->created_ms;
    sh->batchers_n =
        m->info.parallelization > 0 && m->info.parallelization <= 10 ? m->info.parallelization : 1;
    for (int i = 0; i < (int)SL_ARRAY_LEN(sh->batchers); i++) {
        sh->batchers[i].shard = sh;
        sh->batchers[i].index = i;
        sh->batchers[i].payload = (sl_buf_t)SL_BUF_INIT;
        sh->batchers[i].state = (sl_buf_t)SL_BUF_INIT;
        sh->batchers[i].pending_state = (sl_buf_t)SL_BUF_INIT;
    }
    /* shards that appear after the mapping started (children of a reshard) start at their
     * beginning; so do all shards without a checkpoint once the mapping has checkpoints */
    sh->from_trim = !first || m->loaded_count > 0;
    const struct loaded_cp *cp = loaded_of(m, si->index);
    if (cp && cp->done) {
        sh->state = SHARD_DONE;
        sh->checkpoint = cp->position;
        sh->checkpoint_done = true;
        sh->saved = cp->position;
        sh->saved_done = sh->has_saved = true;
    } else if (first && !cp && si->closed_ms && strcmp(m->info.starting_position, "LATEST") == 0) {
        /* LATEST: a shard closed before the mapping has nothing new to give */
        sh->state = SHARD_DONE;
        sh->checkpoint_done = true;
    }
    m->shards[m->shard_count++] = sh;
    return 0;
}

static void on_discover_timer(void *arg) {
    mapping_t *m = arg;
    m->discover_timer = NULL;
    discover(m);
}

/* Lists the stream's shards: new ones get a poller; waiting ones start once their parents are
 * done. Runs at start, when a shard ends, and every SL_ESM_IDLE_POLL_MS. */
static void discover(mapping_t *m) {
    if (!m->running) return;
    bool first = m->shard_count == 0 && !m->discovered;
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_klist_shards_t ls = {.stream = {.name = m->stream, .name_len = strlen(m->stream)},
                            .max_results = 100000,
                            .now_ms = sl_time_now_ms(),
                            .arena = &arena};
    sl_kerr_t err = {0};
    if (sl_kinesis_list_shards(m->account->kinesis, &ls, &err)) {
        m->discovered = true;
        for (size_t i = 0; i < ls.count; i++)
            if (!shard_find(m, ls.shards[i].index)) shard_add(m, &ls.shards[i], first);
        for (size_t i = 0; i < m->shard_count; i++) {
            shard_t *sh = m->shards[i];
            if (sh->state == SHARD_WAITING && parent_done(m, sh->parent) &&
                parent_done(m, sh->adjacent_parent))
                shard_activate(sh);
        }
    } else {
        snprintf(m->info.last_result, sizeof m->info.last_result, "PROBLEM: %s",
                 err.type == SL_KERR_RESOURCE_NOT_FOUND ? "Stream not found"
                                                        : "Stream unavailable");
    }
    sl_arena_deinit(&arena);
    if (m->running && !m->discover_timer)
        m->discover_timer =
            sl_timer_start(m->account->esm->loop, SL_ESM_IDLE_POLL_MS, on_discover_timer, m);
}

void sl_esm_mapping_start(mapping_t *m) {
    if (m->running) return;
    m->running = true;
    m->discovered = false;
    sl_esm_filter_compile(m);
    discover(m);
}

/* ---- reading ---- */

static void read_done(shard_t *sh);

static void read_posted(void *arg) {
    shard_t *sh = arg;
    sh->reading = false;
    if (!sh->m || sh->m->account->esm->stopping) {
        sl_kread_release(&sh->read);
        orphan_done(sh);
        return;
    }
    read_done(sh);
}

static void read_cb(sl_kread_t *op) {
    shard_t *sh = op->arg;
    sl_loop_post(sh->loop, read_posted, sh);
}

static uint32_t key_hash(const char *key, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)key[i]) * 16777619u;
    return h;
}

static void read_done(shard_t *sh) {
    sl_kread_t *rd = &sh->read;
    mapping_t *m = sh->m;
    if (rd->err.type != SL_KERR_NONE) {
        SL_DEBUG("event-source mapping %s: read of %s: %s", m->info.uuid, sh->id, rd->err.message);
        sl_kread_release(rd);
        if (rd->gone) sh->positioned = false;
        /* throttled by the shard's GetRecords limits (--throughput-limits aws), which a standard
         * mapping shares with every reader, as on AWS: try again after one read's share */
        if (rd->err.type == SL_KERR_THROUGHPUT_EXCEEDED)
            shard_idle_for(sh, SL_ESM_THROTTLED_RETRY_MS);
        else
            shard_idle(sh);
        return;
    }
    for (size_t i = 0; i < rd->count; i++) {
        const sl_krecord_t *r = &rd->records[i];
        rec_t *rec = malloc(sizeof *rec + r->partition_key_len + 1 + r->data_len);
        if (!rec) break; /* read again from here later */
        rec->next = NULL;
        rec->seq = r->seq;
        rec->arrival_ms = r->arrival_ms;
        sl_seqnum_t sn =
            sl_kinesis_seqnum(rd->shard_created_ms, rd->shard_index, r->seq, r->arrival_ms);
        rec->seqnum_len = sl_seqnum_format(&sn, rec->seqnum);
        rec->key = (char *)(rec + 1);
        memcpy(rec->key, r->partition_key, r->partition_key_len);
        rec->key[r->partition_key_len] = '\0';
        rec->key_len = r->partition_key_len;
        rec->data = (uint8_t *)rec->key + r->partition_key_len + 1;
        memcpy(rec->data, r->data, r->data_len);
        rec->data_len = r->data_len;
        sh->reader.position = r->seq + 1;
        sh->encrypted = rd->encrypted;
        m->metrics.polled++;
        sl_metric_add(m->m_polled, 1);
        if (m->info.pattern_count && !sl_esm_filter_match_record(m, rec)) {
            m->metrics.filtered++;
            sl_metric_add(m->m_filtered, 1);
            free(rec); /* filtered out: processed */
            continue;
        }
        int bi = sh->batchers_n > 1
                     ? (int)(key_hash(rec->key, rec->key_len) % (uint32_t)sh->batchers_n)
                     : 0;
        batcher_t *b = &sh->batchers[bi];
        if (b->tail)
            b->tail->next = rec;
        else
            b->head = rec;
        b->tail = rec;
        b->count++;
        b->bytes += rec->data_len;
        sh->buffered++;
        sh->buffered_bytes += rec->data_len;
    }
    bool complete = rd->count == 0 || sh->reader.position > rd->records[rd->count - 1].seq;
    if (complete) sh->reader.position = rd->next_position;
    if (complete && rd->shard_ended) sh->ended = true;
    bool nothing = rd->count == 0;
    bool caught_up = rd->caught_up;
    sl_kread_release(rd);
    if (nothing && caught_up && !sh->ended) shard_idle(sh);
    shard_checkpoint(sh);
    if (sh->m) shard_pump(sh);
}

static void shard_read(shard_t *sh) {
    if (sh->reading || sh->ended || !sh->positioned || sh->idle) return;
    if (sh->buffered >= SL_ESM_BUFFER_RECORDS_MAX / 2 ||
        sh->buffered_bytes >= SL_ESM_BUFFER_BYTES_MAX / 2)
        return;
    sl_kread_t *rd = &sh->read;
    *rd = (sl_kread_t){0};
    rd->reader = sh->reader;
    rd->records_max = SL_ESM_READ_RECORDS_MAX;
    rd->bytes_max = SL_ESM_BUFFER_BYTES_MAX - sh->buffered_bytes;
    rd->now_ms = sl_time_now_ms();
    rd->memory_first = true;
    if (sh->consumer[0]) rd->consumer_arn = sh->consumer;
    rd->cb = read_cb;
    rd->arg = sh;
    sh->reading = true;
    int rc = sl_kinesis_read(sh->m->account->kinesis, rd);
    if (rc == SL_KINESIS_DONE) {
        sh->reading = false;
        read_done(sh);
    }
}

static void shard_pump(shard_t *sh) {
    if (!sh->m || !sh->m->running || sh->state != SHARD_ACTIVE) return;
    if (!sh->positioned) {
        if (!sh->positioning && !sh->idle) shard_position(sh);
        return;
    }
    for (int i = 0; i < sh->batchers_n; i++)
        batcher_pump(&sh->batchers[i]);
    shard_read(sh);
}

void sl_esm_wake(sl_esm_account_t *a, const char *stream, uint32_t shard_index) {
    (void)shard_index;
    for (mapping_t *m = a->mappings; m; m = m->next) {
        if (!m->running || (stream && strcmp(stream, m->stream) != 0)) continue;
        for (size_t i = 0; i < m->shard_count; i++) {
            shard_t *sh = m->shards[i];
            if (!sh->idle) continue;
            sh->idle = false;
            if (sh->idle_timer) sl_timer_cancel(sh->idle_timer);
            sh->idle_timer = NULL;
            shard_pump(sh);
        }
    }
}

/* ---- batches ---- */

static void batcher_timer_fired(void *arg) {
    batcher_t *b = arg;
    b->timer = NULL;
    batcher_pump(b);
}

static void batcher_arm(batcher_t *b, int64_t due_mono_ms) {
    if (b->timer) sl_timer_cancel(b->timer);
    int64_t delay = due_mono_ms - sl_time_mono_ms();
    b->timer = sl_timer_start(b->shard->m->account->esm->loop, delay > 0 ? (uint64_t)delay : 0,
                              batcher_timer_fired, b);
}

/* Removes the first n records of the batcher's queue (processed, discarded or filtered). */
static void batcher_drop(batcher_t *b, size_t n) {
    shard_t *sh = b->shard;
    for (size_t i = 0; i < n && b->head; i++) {
        rec_t *r = b->head;
        b->head = r->next;
        if (!b->head) b->tail = NULL;
        b->count--;
        b->bytes -= r->data_len;
        sh->buffered--;
        sh->buffered_bytes -= r->data_len;
        free(r);
    }
}

/* The current batch is finished (processed or discarded): the next one is the next bisect half,
 * or a new batch. */
static void batch_finished(batcher_t *b, size_t n) {
    batcher_drop(b, n);
    if (b->win_final) sl_esm_window_reset(b); /* the final invocation ends the window */
    b->batch = b->split_count ? b->splits[--b->split_count] : 0;
    b->attempts = 0;
    b->invoke_count = 0;
    b->retry_due_ms = 0;
}

/* Records of the queue whose age passed MaximumRecordAgeInSeconds: discarded with an OnFailure
 * record. */
static bool drop_expired(batcher_t *b) {
    const sl_esm_info_t *info = &b->shard->m->info;
    if (info->max_age_s < 0 || !b->head) return false;
    int64_t limit = sl_time_now_ms() - (int64_t)info->max_age_s * 1000;
    size_t n = 0;
    for (rec_t *r = b->head; r && r->arrival_ms < limit; r = r->next)
        n++;
    if (!n) return false;
    sl_esm_on_failure(b, n, "RecordAgeExceeded", NULL);
    batcher_drop(b, n);
    b->batch = 0;
    b->split_count = 0;
    b->attempts = 0;
    b->invoke_count = 0;
    return true;
}

static void invoke_done_posted(void *arg);

static void invoke_cb(sl_fn_op_t *op) {
    batcher_t *b = op->arg;
    sl_loop_post(b->shard->loop, invoke_done_posted, b);
}

static void batcher_pump(batcher_t *b) {
    shard_t *sh = b->shard;
    mapping_t *m = sh->m;
    if (b->invoking || !m || !m->running) return;
    if (drop_expired(b)) shard_checkpoint(sh);
    int64_t wake_ms = 0, now = sl_time_mono_ms();
    bool window_end = m->info.tumbling_s > 0 && sl_esm_window_due(b, &wake_ms);
    if (!b->head && !window_end) {
        if (wake_ms) batcher_arm(b, now + (wake_ms - sl_time_now_ms())); /* the window's end */
        return;
    }
    if (b->retry_due_ms > now) {
        batcher_arm(b, b->retry_due_ms);
        return;
    }
    size_t n = b->batch;
    b->win_final = window_end;
    if (window_end) {
        n = 0; /* the window's final invocation: its state, no records */
    } else if (!n) {
        n = b->count < (size_t)m->info.batch_size ? b->count : (size_t)m->info.batch_size;
        /* MaximumBatchingWindowInSeconds: wait for a full batch (or 6 MB) until the window ends */
        if (m->info.window_s > 0 && n < (size_t)m->info.batch_size &&
            b->bytes < SL_ESM_PAYLOAD_BYTES_MAX && !window_end) {
            if (!b->window_due_ms) b->window_due_ms = now + (int64_t)m->info.window_s * 1000;
            if (now < b->window_due_ms) {
                batcher_arm(b, b->window_due_ms);
                return;
            }
        }
    }
    b->window_due_ms = 0;
    if (b->timer) sl_timer_cancel(b->timer);
    b->timer = NULL;
    size_t k = sl_esm_event_build(b, n, &b->payload);
    if (sl_buf_failed(&b->payload)) {
        sl_buf_free(&b->payload);
        b->payload = (sl_buf_t)SL_BUF_INIT;
        b->retry_due_ms = now + SL_ESM_RETRY_BASE_MS;
        batcher_arm(b, b->retry_due_ms);
        return;
    }
    b->batch = k;
    b->invoking = true;
    b->invoke_count++;
    b->generation = m->generation;
    b->started_ms = sl_time_mono_ms();
    b->op = (sl_fn_op_t){.kind = SL_FN_INVOKE,
                         .account = m->account->functions,
                         .function_name = m->info.function_arn,
                         .invoke_type = SL_FN_INVOKE_SYNC,
                         .payload = (const uint8_t *)b->payload.data,
                         .payload_len = b->payload.len,
                         .done = invoke_cb,
                         .arg = b};
    sl_fn_submit(&b->op);
}

static int64_t backoff_ms(int attempts) {
    int64_t d = SL_ESM_RETRY_BASE_MS;
    for (int i = 1; i < attempts && d < SL_ESM_RETRY_MAX_MS; i++)
        d *= 2;
    return d < SL_ESM_RETRY_MAX_MS ? d : SL_ESM_RETRY_MAX_MS;
}

/* A failed attempt of the current batch (function error, invalid or partial response): bisect,
 * retry later, or discard with an OnFailure record once the retries are exhausted. `keep` records
 * at the head were processed (a partial batch response). */
static void batch_failed(batcher_t *b, size_t keep, bool bisect_allowed) {
    mapping_t *m = b->shard->m;
    if (keep) {
        batcher_drop(b, keep);
        b->batch -= keep;
    }
    if (m->info.bisect && bisect_allowed && b->batch > 1 &&
        b->split_count < (int)SL_ARRAY_LEN(b->splits)) {
        size_t first = b->batch / 2;
        b->splits[b->split_count++] = b->batch - first;
        b->batch = first;
        b->retry_due_ms = 0;
        return; /* splitting does not count toward the retries */
    }
    b->attempts++;
    if (m->info.max_retry >= 0 && b->attempts > m->info.max_retry) {
        sl_esm_on_failure(b, b->batch, "RetryAttemptsExhausted", &b->op);
        batch_finished(b, b->batch);
        return;
    }
    b->retry_due_ms = sl_time_mono_ms() + backoff_ms(b->attempts);
}

static void invoke_done_posted(void *arg) {
    batcher_t *b = arg;
    shard_t *sh = b->shard;
    b->invoking = false;
    if (!sh->m || sh->m->account->esm->stopping) {
        sl_fn_op_deinit(&b->op);
        orphan_done(sh);
        return;
    }
    mapping_t *m = sh->m;
    sl_fn_op_t *op = &b->op;
    int64_t now = sl_time_mono_ms();
    sl_esm_metrics_invoked(m, b, op, now - b->started_ms);
    if (op->error_type) {
        /* the invocation never reached the function (throttled, missing, service failure):
         * retried until the records expire, without counting */
        snprintf(m->info.last_result, sizeof m->info.last_result, "PROBLEM: Function call failed");
        SL_DEBUG("event-source mapping %s: invoke: %s: %s", m->info.uuid, op->error_type,
                 op->error_message);
        b->retry_due_ms = now + backoff_ms(b->attempts + 1);
    } else if (op->function_error) {
        snprintf(m->info.last_result, sizeof m->info.last_result, "PROBLEM: Function call failed");
        batch_failed(b, 0, true);
    } else {
        size_t failed_at = 0;
        int verdict = sl_esm_response_parse(b, op->result, op->result_len, &failed_at);
        if (verdict == SL_ESM_RESPONSE_OK) {
            snprintf(m->info.last_result, sizeof m->info.last_result, "OK");
            sl_esm_window_processed(b);
            batch_finished(b, b->batch);
        } else if (verdict == SL_ESM_RESPONSE_PARTIAL) {
            /* checkpoint before the lowest failed record; the rest is retried as it is (with
             * bisect on too: the batch was split at that record, AWS's rule) */
            snprintf(m->info.last_result, sizeof m->info.last_result, "OK");
            sl_esm_window_processed(b);
            batch_failed(b, failed_at, false);
        } else {
            snprintf(m->info.last_result, sizeof m->info.last_result,
                     "PROBLEM: Function call failed");
            batch_failed(b, 0, false);
        }
    }
    sl_fn_op_deinit(op);
    *op = (sl_fn_op_t){0};
    shard_checkpoint(sh);
    if (sh->m) shard_pump(sh);
}
