/* The consumer's taker decision (client/lease.c, sl_lease_choose) against KCL 2.x's rules:
 * first worker takes every new lease, the fair-share target, expiry by the failover time, the
 * "very old" priority, stealing one lease from the most loaded worker and when not to. */
#include "client/lease.h"
#include "test.h"

#include <stdint.h>

enum { FAILOVER = 1000 };

static const sl_taker_config_t kcl = {FAILOVER, 1 << 30, 1};

/* owners: one letter per lease ('.' unowned, 'M' mine); idle: ms for each (same for all). */
static size_t choose(const char *owners, int64_t idle_ms, const sl_taker_config_t *cfg,
                     size_t *out) {
    static char names[64][2];
    sl_lease_view_t v[64];
    size_t n = strlen(owners);
    for (size_t i = 0; i < n; i++) {
        names[i][0] = owners[i] == '.' ? 0 : owners[i];
        names[i][1] = 0;
        v[i] = (sl_lease_view_t){.owner = owners[i] == 'M' ? "me" : names[i],
                                 .idle_ms = owners[i] == '.' ? INT64_MAX / 4 : idle_ms,
                                 .mine = owners[i] == 'M'};
    }
    unsigned seed = 7;
    return sl_lease_choose(v, n, "me", cfg, &seed, out, 64);
}

static int owners_of(const char *owners, const size_t *idx, size_t n, char who) {
    int count = 0;
    for (size_t i = 0; i < n; i++)
        count += owners[idx[i]] == who;
    return count;
}

int main(void) {
    size_t out[64];
    /* A new application: the first worker takes every unowned lease at once. */
    CHECK_EQ_INT(choose("....", 0, &kcl, out), 4);
    /* ... up to max_leases_for_worker. */
    sl_taker_config_t capped = {FAILOVER, 3, 1};
    CHECK_EQ_INT(choose("....", 0, &capped, out), 3);
    /* A second worker facing a live one holding all 4: steals one (target 2). */
    size_t n = choose("AAAA", 100, &kcl, out);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(owners_of("AAAA", out, n, 'A'), 1);
    /* ... up to max_leases_to_steal at once. */
    sl_taker_config_t two = {FAILOVER, 1 << 30, 2};
    CHECK_EQ_INT(choose("AAAA", 100, &two, out), 2);
    /* Balanced: nothing to do. */
    CHECK_EQ_INT(choose("AAMM", 100, &kcl, out), 0);
    /* 4 leases, 3 workers (target 2): the one with 1 does not steal from a worker at target. */
    CHECK_EQ_INT(choose("AABM", 100, &kcl, out), 0);
    /* ... but a worker with none steals one even from a worker at target (needs 2 > 1). */
    CHECK_EQ_INT(choose("AABB", 100, &kcl, out), 1);
    /* A dead worker's leases, idle longer than the failover time, are available. */
    n = choose("AAMM", FAILOVER + 1, &kcl, out);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(owners_of("AAMM", out, n, 'A'), 2);
    /* Idle for exactly the failover time: still live. */
    CHECK_EQ_INT(choose("AAMM", FAILOVER, &kcl, out), 0);
    /* Expired but not very old: only up to the target (1 of 3 for a worker holding 1 of 4, the
     * dead owner counting for nothing: target 4, need 3 -> all 3). */
    n = choose("AAAM", 2 * FAILOVER, &kcl, out);
    CHECK_EQ_INT(n, 3);
    /* Live owners share with me: A live with 2, 2 unowned, me 0 -> the very old unowned ones are
     * taken first, both. */
    CHECK_EQ_INT(choose("AA..", 100, &kcl, out), 2);
    /* Finished leases (SHARD_END) are neither taken nor counted. */
    sl_lease_view_t v[4] = {
        {.owner = "", .idle_ms = INT64_MAX / 4, .finished = true},
        {.owner = "A", .idle_ms = 100},
        {.owner = "", .idle_ms = INT64_MAX / 4, .finished = true},
        {.owner = "me", .idle_ms = 100, .mine = true},
    };
    unsigned seed = 1;
    CHECK_EQ_INT(sl_lease_choose(v, 4, "me", &kcl, &seed, out, 64), 0);
    /* A lease the table says is mine but this worker does not hold counts as mine. */
    sl_lease_view_t w[2] = {{.owner = "me", .idle_ms = 100}, {.owner = "A", .idle_ms = 100}};
    CHECK_EQ_INT(sl_lease_choose(w, 2, "me", &kcl, &seed, out, 64), 0);
    /* The output bound holds. */
    CHECK_EQ_INT(choose("................", 0, &kcl, out), 16);
    sl_lease_view_t many[64];
    for (int i = 0; i < 64; i++)
        many[i] = (sl_lease_view_t){.owner = "", .idle_ms = INT64_MAX / 4};
    CHECK_EQ_INT(sl_lease_choose(many, 64, "me", &kcl, &seed, out, 5), 5);
    TEST_MAIN_END();
}
