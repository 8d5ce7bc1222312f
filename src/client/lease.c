/* libsluice lease table: the DynamoDB calls the consumer makes, item by item as KCL 2.x makes
 * them (spec: the legacy Expected / AttributeUpdates parameters, leaseCounter as the optimistic
 * lock token, parentShardId and childShardIds as string sets, hash ranges as decimal strings).
 * Blocking calls through the lease client; no state of its own besides the table's name. */
#include "client/lease.h"

#include "client/internal.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A call whose answer is parsed into *v (in arena); ConditionalCheckFailedException becomes
 * SLUICE_ELEASELOST, ResourceNotFoundException is reported through *not_found. */
static int ddb_call(sl_lease_table_t *t, const char *op, sl_buf_t *body, sl_arena_t *arena,
                    sl_val_t **v, bool *not_found) {
    if (sl_buf_failed(body)) return SL_ENOMEM;
    sl_client_result_t res;
    int rc = sl_client_call_dynamodb_sync(t->client, op, body->data, body->len, &res);
    if (not_found) *not_found = false;
    if (rc == SLUICE_ESERVICE && res.error_code) {
        if (!strcmp(res.error_code, "ConditionalCheckFailedException"))
            rc = SLUICE_ELEASELOST;
        else if (not_found && !strcmp(res.error_code, "ResourceNotFoundException"))
            *not_found = true;
    }
    if (rc != 0 && rc != SLUICE_ELEASELOST)
        snprintf(t->error, sizeof t->error, "%s on %s: %s: %s", op, t->table,
                 res.error_code ? res.error_code : "Error",
                 res.error_message ? res.error_message : sl_client_strerror(rc));
    if (rc == 0 && v) {
        char *copy = sl_arena_strndup(arena, res.body, res.body_len);
        const char *reason;
        if (!copy || sl_json_parse(copy, res.body_len, arena, v, &reason) != 0) {
            snprintf(t->error, sizeof t->error, "%s: malformed answer", op);
            rc = SLUICE_ESERVICE;
        }
    }
    sl_client_result_free(&res);
    return rc;
}

static void body_begin(sl_buf_t *b, sl_enc_t *e, const char *table) {
    sl_enc_init(e, b, SL_FMT_JSON);
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "TableName", table);
}

/* {"S": s} / {"N": n} */
static void attr_s(sl_enc_t *e, const char *name, const char *s) {
    sl_enc_key(e, name);
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "S", s);
    sl_enc_map_end(e);
}

static void attr_n(sl_enc_t *e, const char *name, int64_t n) {
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)n);
    sl_enc_key(e, name);
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "N", text);
    sl_enc_map_end(e);
}

static void attr_ss(sl_enc_t *e, const char *name, const char *const *items, size_t count) {
    sl_enc_key(e, name);
    sl_enc_map_begin(e);
    sl_enc_key(e, "SS");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < count; i++)
        sl_enc_cstr(e, items[i]);
    sl_enc_array_end(e);
    sl_enc_map_end(e);
}

static void key_of(sl_enc_t *e, const char *key) {
    sl_enc_key(e, "Key");
    sl_enc_map_begin(e);
    attr_s(e, "leaseKey", key);
    sl_enc_map_end(e);
}

/* Expected: leaseCounter == l->counter and leaseOwner == l->owner (or absent). */
static void expect_counter_owner(sl_enc_t *e, const sl_lease_t *l) {
    sl_enc_key(e, "Expected");
    sl_enc_map_begin(e);
    sl_enc_key(e, "leaseCounter");
    sl_enc_map_begin(e);
    attr_n(e, "Value", l->counter);
    sl_enc_map_end(e);
    sl_enc_key(e, "leaseOwner");
    sl_enc_map_begin(e);
    if (l->owner[0])
        attr_s(e, "Value", l->owner);
    else
        sl_enc_kv_bool(e, "Exists", false);
    sl_enc_map_end(e);
    sl_enc_map_end(e);
}

/* AttributeUpdates entry {"Action": action, "Value": {...}} opened; the caller writes the value. */
static void update_put_s(sl_enc_t *e, const char *name, const char *s) {
    sl_enc_key(e, name);
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "Action", "PUT");
    attr_s(e, "Value", s);
    sl_enc_map_end(e);
}

static void update_n(sl_enc_t *e, const char *name, const char *action, int64_t n) {
    sl_enc_key(e, name);
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "Action", action);
    attr_n(e, "Value", n);
    sl_enc_map_end(e);
}

static void copy_attr_s(const sl_val_t *item, const char *name, char *dst, size_t cap) {
    dst[0] = 0;
    const sl_val_t *a = sl_val_get(item, name);
    const char *s = a ? sl_val_get_str(a, "S", NULL) : NULL;
    if (s) snprintf(dst, cap, "%s", s);
}

static int64_t attr_int(const sl_val_t *item, const char *name) {
    const sl_val_t *a = sl_val_get(item, name);
    const char *s = a ? sl_val_get_str(a, "N", NULL) : NULL;
    return s ? strtoll(s, NULL, 10) : 0;
}

/* An item as a lease; false when it has no leaseKey. */
static bool lease_of(const sl_val_t *item, sl_lease_t *l) {
    memset(l, 0, sizeof *l);
    copy_attr_s(item, "leaseKey", l->key, sizeof l->key);
    if (!l->key[0]) return false;
    copy_attr_s(item, "leaseOwner", l->owner, sizeof l->owner);
    l->counter = attr_int(item, "leaseCounter");
    copy_attr_s(item, "checkpoint", l->checkpoint, sizeof l->checkpoint);
    l->checkpoint_sub = attr_int(item, "checkpointSubSequenceNumber");
    l->owner_switches = attr_int(item, "ownerSwitchesSinceCheckpoint");
    copy_attr_s(item, "startingHashKey", l->start_hash, sizeof l->start_hash);
    copy_attr_s(item, "endingHashKey", l->end_hash, sizeof l->end_hash);
    const sl_val_t *p = sl_val_get(item, "parentShardId");
    const sl_val_t *ss = p ? sl_val_get(p, "SS") : NULL;
    for (size_t i = 0; ss && ss->type == SL_VAL_ARRAY && i < ss->u.arr.count; i++) {
        const sl_val_t *s = ss->u.arr.items[i];
        if (s->type != SL_VAL_STRING || l->parent_count == SL_LEASE_PARENTS_MAX) continue;
        snprintf(l->parents[l->parent_count++], SL_LEASE_KEY_MAX, "%s", s->u.str.ptr);
    }
    return true;
}

static int describe_status(sl_lease_table_t *t, char *status, size_t cap, bool *missing) {
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    body_begin(&b, &e, t->table);
    sl_enc_map_end(&e);
    sl_val_t *v = NULL;
    int rc = ddb_call(t, "DescribeTable", &b, &arena, &v, missing);
    sl_buf_free(&b);
    status[0] = 0;
    if (rc == 0) {
        const char *s = sl_val_get_str(sl_val_get(v, "Table"), "TableStatus", NULL);
        snprintf(status, cap, "%s", s ? s : "");
    }
    sl_arena_deinit(&arena);
    return rc;
}

int sl_lease_table_ensure(sl_lease_table_t *t) {
    char status[32];
    bool missing = false;
    int rc = describe_status(t, status, sizeof status, &missing);
    if (rc != 0 && missing) {
        sl_arena_t arena;
        sl_arena_init(&arena, 4096);
        sl_buf_t b = SL_BUF_INIT;
        sl_enc_t e;
        body_begin(&b, &e, t->table);
        sl_enc_key(&e, "KeySchema");
        sl_enc_array_begin(&e);
        sl_enc_map_begin(&e);
        sl_enc_kv_cstr(&e, "AttributeName", "leaseKey");
        sl_enc_kv_cstr(&e, "KeyType", "HASH");
        sl_enc_map_end(&e);
        sl_enc_array_end(&e);
        sl_enc_key(&e, "AttributeDefinitions");
        sl_enc_array_begin(&e);
        sl_enc_map_begin(&e);
        sl_enc_kv_cstr(&e, "AttributeName", "leaseKey");
        sl_enc_kv_cstr(&e, "AttributeType", "S");
        sl_enc_map_end(&e);
        sl_enc_array_end(&e);
        sl_enc_kv_cstr(&e, "BillingMode", "PAY_PER_REQUEST");
        sl_enc_map_end(&e);
        sl_client_result_t res = {0};
        rc = sl_buf_failed(&b)
                 ? SL_ENOMEM
                 : sl_client_call_dynamodb_sync(t->client, "CreateTable", b.data, b.len, &res);
        if (rc == SLUICE_ESERVICE && res.error_code &&
            !strcmp(res.error_code, "ResourceInUseException"))
            rc = 0; /* another worker created it first */
        else if (rc != 0)
            snprintf(t->error, sizeof t->error, "CreateTable %s: %s: %s", t->table,
                     res.error_code ? res.error_code : "Error",
                     res.error_message ? res.error_message : sl_client_strerror(rc));
        sl_client_result_free(&res);
        sl_buf_free(&b);
        sl_arena_deinit(&arena);
        if (rc != 0) return rc;
        status[0] = 0;
    } else if (rc != 0) {
        return rc;
    }
    /* Wait until ACTIVE (or UPDATING), as the KCL does. */
    for (int i = 0; i < 600 && strcmp(status, "ACTIVE") && strcmp(status, "UPDATING"); i++) {
        if (status[0] || i) usleep(100 * 1000);
        rc = describe_status(t, status, sizeof status, &missing);
        if (rc != 0 && !missing) return rc;
    }
    if (strcmp(status, "ACTIVE") && strcmp(status, "UPDATING")) {
        snprintf(t->error, sizeof t->error, "lease table %s did not become ACTIVE", t->table);
        return SLUICE_ESERVICE;
    }
    return 0;
}

int sl_lease_scan(sl_lease_table_t *t, sl_lease_t **out, size_t *count) {
    sl_lease_t *list = NULL;
    size_t n = 0, cap = 0;
    char *start = NULL; /* ExclusiveStartKey's leaseKey */
    int rc = 0;
    do {
        sl_arena_t arena;
        sl_arena_init(&arena, 16384);
        sl_buf_t b = SL_BUF_INIT;
        sl_enc_t e;
        body_begin(&b, &e, t->table);
        if (start) {
            sl_enc_key(&e, "ExclusiveStartKey");
            sl_enc_map_begin(&e);
            attr_s(&e, "leaseKey", start);
            sl_enc_map_end(&e);
            free(start);
            start = NULL;
        }
        sl_enc_map_end(&e);
        sl_val_t *v = NULL;
        rc = ddb_call(t, "Scan", &b, &arena, &v, NULL);
        sl_buf_free(&b);
        if (rc == 0) {
            const sl_val_t *items = sl_val_get(v, "Items");
            for (size_t i = 0; items && items->type == SL_VAL_ARRAY && i < items->u.arr.count;
                 i++) {
                if (n == cap) {
                    size_t ncap = cap ? cap * 2 : 16;
                    sl_lease_t *nl = realloc(list, ncap * sizeof *nl);
                    if (!nl) {
                        rc = SL_ENOMEM;
                        break;
                    }
                    list = nl;
                    cap = ncap;
                }
                if (lease_of(items->u.arr.items[i], &list[n])) n++;
            }
            const sl_val_t *last = sl_val_get(v, "LastEvaluatedKey");
            char key[SL_LEASE_KEY_MAX];
            copy_attr_s(last, "leaseKey", key, sizeof key);
            if (last && key[0]) start = strdup(key);
        }
        sl_arena_deinit(&arena);
    } while (rc == 0 && start);
    free(start);
    if (rc != 0) {
        free(list);
        return rc;
    }
    *out = list;
    *count = n;
    return 0;
}

int sl_lease_get(sl_lease_table_t *t, const char *key, sl_lease_t *out, bool *found) {
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    body_begin(&b, &e, t->table);
    key_of(&e, key);
    sl_enc_kv_bool(&e, "ConsistentRead", true);
    sl_enc_map_end(&e);
    sl_val_t *v = NULL;
    int rc = ddb_call(t, "GetItem", &b, &arena, &v, NULL);
    sl_buf_free(&b);
    *found = false;
    if (rc == 0) {
        const sl_val_t *item = sl_val_get(v, "Item");
        if (item) *found = lease_of(item, out);
    }
    sl_arena_deinit(&arena);
    return rc;
}

int sl_lease_create(sl_lease_table_t *t, const sl_lease_t *l) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    body_begin(&b, &e, t->table);
    sl_enc_key(&e, "Item");
    sl_enc_map_begin(&e);
    attr_s(&e, "leaseKey", l->key);
    attr_n(&e, "leaseCounter", l->counter);
    attr_s(&e, "checkpoint", l->checkpoint);
    attr_n(&e, "checkpointSubSequenceNumber", l->checkpoint_sub);
    attr_n(&e, "ownerSwitchesSinceCheckpoint", 0);
    if (l->parent_count) {
        const char *parents[SL_LEASE_PARENTS_MAX];
        for (int i = 0; i < l->parent_count; i++)
            parents[i] = l->parents[i];
        attr_ss(&e, "parentShardId", parents, (size_t)l->parent_count);
    }
    if (l->start_hash[0]) attr_s(&e, "startingHashKey", l->start_hash);
    if (l->end_hash[0]) attr_s(&e, "endingHashKey", l->end_hash);
    sl_enc_map_end(&e);
    sl_enc_key(&e, "Expected");
    sl_enc_map_begin(&e);
    sl_enc_key(&e, "leaseKey");
    sl_enc_map_begin(&e);
    sl_enc_kv_bool(&e, "Exists", false);
    sl_enc_map_end(&e);
    sl_enc_map_end(&e);
    sl_enc_map_end(&e);
    int rc = ddb_call(t, "PutItem", &b, NULL, NULL, NULL);
    sl_buf_free(&b);
    return rc;
}

/* UpdateItem conditioned on the counter and owner, with leaseCounter PUT counter + 1 and the
 * extra updates `more` writes. On success l->counter is the new value. */
static int update_locked(sl_lease_table_t *t, sl_lease_t *l, void (*more)(sl_enc_t *e, void *arg),
                         void *arg) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    body_begin(&b, &e, t->table);
    key_of(&e, l->key);
    expect_counter_owner(&e, l);
    sl_enc_key(&e, "AttributeUpdates");
    sl_enc_map_begin(&e);
    update_n(&e, "leaseCounter", "PUT", l->counter + 1);
    if (more) more(&e, arg);
    sl_enc_map_end(&e);
    sl_enc_map_end(&e);
    int rc = ddb_call(t, "UpdateItem", &b, NULL, NULL, NULL);
    sl_buf_free(&b);
    if (rc == 0) l->counter++;
    return rc;
}

int sl_lease_renew(sl_lease_table_t *t, sl_lease_t *l) {
    return update_locked(t, l, NULL, NULL);
}

typedef struct {
    const char *owner;
    bool switched;
} take_t;

static void take_updates(sl_enc_t *e, void *arg) {
    take_t *k = arg;
    update_put_s(e, "leaseOwner", k->owner);
    if (k->switched) update_n(e, "ownerSwitchesSinceCheckpoint", "ADD", 1);
}

int sl_lease_take(sl_lease_table_t *t, sl_lease_t *l, const char *owner) {
    take_t k = {owner, strcmp(owner, l->owner) != 0};
    int rc = update_locked(t, l, take_updates, &k);
    if (rc == 0) {
        if (k.switched) l->owner_switches++;
        snprintf(l->owner, sizeof l->owner, "%s", owner);
    }
    return rc;
}

static void evict_updates(sl_enc_t *e, void *arg) {
    (void)arg;
    sl_enc_key(e, "leaseOwner");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "Action", "DELETE");
    sl_enc_map_end(e);
}

int sl_lease_evict(sl_lease_table_t *t, sl_lease_t *l) {
    int rc = update_locked(t, l, evict_updates, NULL);
    if (rc == 0) l->owner[0] = 0;
    return rc;
}

typedef struct {
    const char *seq;
    int64_t sub;
} checkpoint_t;

static void checkpoint_updates(sl_enc_t *e, void *arg) {
    checkpoint_t *k = arg;
    update_put_s(e, "checkpoint", k->seq);
    update_n(e, "checkpointSubSequenceNumber", "PUT", k->sub);
    update_n(e, "ownerSwitchesSinceCheckpoint", "PUT", 0);
}

int sl_lease_checkpoint(sl_lease_table_t *t, sl_lease_t *l, const char *seq, int64_t sub) {
    checkpoint_t k = {seq, sub};
    int rc = update_locked(t, l, checkpoint_updates, &k);
    if (rc == 0) {
        snprintf(l->checkpoint, sizeof l->checkpoint, "%s", seq);
        l->checkpoint_sub = sub;
        l->owner_switches = 0;
    }
    return rc;
}

int sl_lease_set_children(sl_lease_table_t *t, const char *key, const char *const *children,
                          size_t count) {
    if (count == 0) return 0;
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    body_begin(&b, &e, t->table);
    key_of(&e, key);
    sl_enc_key(&e, "Expected");
    sl_enc_map_begin(&e);
    sl_enc_key(&e, "leaseKey");
    sl_enc_map_begin(&e);
    sl_enc_kv_bool(&e, "Exists", true);
    attr_s(&e, "Value", key);
    sl_enc_map_end(&e);
    sl_enc_map_end(&e);
    sl_enc_key(&e, "AttributeUpdates");
    sl_enc_map_begin(&e);
    sl_enc_key(&e, "childShardIds");
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "Action", "PUT");
    attr_ss(&e, "Value", children, count);
    sl_enc_map_end(&e);
    sl_enc_map_end(&e);
    sl_enc_map_end(&e);
    int rc = ddb_call(t, "UpdateItem", &b, NULL, NULL, NULL);
    sl_buf_free(&b);
    return rc;
}

/* ---- the taker's choice ---- */

static void shuffle(size_t *idx, size_t n, unsigned *seed) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rand_r(seed) % i;
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

size_t sl_lease_choose(const sl_lease_view_t *leases, size_t n, const char *me,
                       const sl_taker_config_t *cfg, unsigned *seed, size_t *out, size_t cap) {
    size_t nchosen = 0;
    size_t *avail = calloc(n + 1, sizeof *avail), navail = 0;
    size_t *very_old = calloc(n + 1, sizeof *very_old), nold = 0;
    /* Workers and their counts over live, not available leases; this worker always counts. */
    struct owner_count {
        const char *owner;
        int count;
    } *owners = calloc(n + 1, sizeof *owners);
    size_t nowners = 0;
    if (!avail || !very_old || !owners) goto done;
    owners[nowners++] = (struct owner_count){me, 0};
    size_t live = 0;
    for (size_t i = 0; i < n; i++) {
        const sl_lease_view_t *l = &leases[i];
        if (l->finished) continue;
        live++;
        if (l->mine) {
            owners[0].count++;
            continue;
        }
        if (!l->owner[0] || l->idle_ms > cfg->failover_ms) {
            avail[navail++] = i;
            if (l->idle_ms > 3LL * cfg->failover_ms) very_old[nold++] = i;
            continue;
        }
        size_t k = 0;
        while (k < nowners && strcmp(owners[k].owner, l->owner))
            k++;
        if (k == nowners) owners[nowners++] = (struct owner_count){l->owner, 0};
        owners[k].count++;
    }
    int mine = owners[0].count;
    size_t workers = nowners;
    int target = workers >= live ? 1 : (int)((live + workers - 1) / workers);
    if (target > cfg->max_leases_for_worker) target = cfg->max_leases_for_worker;
    if (nold > 0) {
        shuffle(very_old, nold, seed);
        int room = cfg->max_leases_for_worker - mine;
        for (size_t i = 0; i < nold && (int)nchosen < room && nchosen < cap; i++)
            out[nchosen++] = very_old[i];
    } else if (target - mine > 0) {
        int need = target - mine;
        if (navail > 0) {
            shuffle(avail, navail, seed);
            for (size_t i = 0; i < navail && (int)nchosen < need && nchosen < cap; i++)
                out[nchosen++] = avail[i];
        } else {
            size_t most = 0;
            for (size_t k = 1; k < nowners; k++)
                if (owners[k].count > owners[most].count) most = k;
            if (most != 0 && owners[most].count >= target) {
                int over = owners[most].count - target;
                int steal = over < need ? over : need;
                if (need > 1 && steal == 0) steal = 1;
                if (steal > cfg->max_leases_to_steal) steal = cfg->max_leases_to_steal;
                size_t *theirs = avail; /* free: nothing is available */
                size_t ntheirs = 0;
                for (size_t i = 0; i < n; i++)
                    if (!leases[i].finished && !leases[i].mine &&
                        !strcmp(leases[i].owner, owners[most].owner))
                        theirs[ntheirs++] = i;
                shuffle(theirs, ntheirs, seed);
                for (size_t i = 0; i < ntheirs && (int)nchosen < steal && nchosen < cap; i++)
                    out[nchosen++] = theirs[i];
            }
        }
    }
done:
    free(avail);
    free(very_old);
    free(owners);
    return nchosen;
}
