/* storage/verify.c (`sluice check`): a log written by the engine verifies clean with the exact
 * record count and seq range; a zeroed range inside a segment, a damaged index entry, a missing
 * directory and a journal with entries to replay are each reported. */
#include "storage/verify.h"
#include "storage_util.h"
#include "test.h"

#include <fcntl.h>

typedef struct {
    int problems, infos;
    char last[512];
} findings_t;

static void say(void *arg, bool problem, const char *file, const char *msg) {
    findings_t *f = arg;
    if (problem)
        f->problems++;
    else
        f->infos++;
    snprintf(f->last, sizeof f->last, "%s: %s", file ? file : "-", msg);
}

static void write_log(const char *dir, int n, sl_durability_t dur, bool close_engine,
                      sl_storage_t **keep) {
    sl_storage_config_t cfg = {.data_dir = dir, .durability = dur, .segment_bytes = 4096};
    sl_storage_t *st = NULL;
    CHECK_EQ_INT(sl_storage_open_file(&cfg, &st), 0);
    sl_shard_log_t *log = NULL;
    CHECK_EQ_INT(sl_storage_shard_open(st, "1-s", "shardId-000000000000", NULL, &log), 0);
    uint8_t buf[200];
    for (int i = 0; i < n; i++) {
        memset(buf, i, sizeof buf);
        sl_record_t r = {.arrival_ms = 1000 + i,
                         .key = "pk",
                         .key_len = 2,
                         .data = buf,
                         .data_len = 100 + (size_t)(i % 50)};
        CHECK_EQ_INT(util_append(log, &r, 1, NULL), 0);
    }
    if (close_engine) {
        sl_storage_shard_close(log);
        sl_storage_close(st);
    } else {
        *keep = st;
    }
}

static void test_clean_and_damaged(void) {
    char *dir = util_tmpdir("verify");
    write_log(dir, 200, SL_DURABILITY_SYNC, true, NULL);
    findings_t f = {0};
    sl_storage_log_check_t lc;
    CHECK_EQ_INT(sl_storage_check_log(dir, "1-s", "shardId-000000000000", say, &f, &lc), 0);
    CHECK(lc.exists);
    CHECK_EQ_INT(lc.records, 200);
    CHECK_EQ_INT(lc.first_seq, 1);
    CHECK_EQ_INT(lc.next_seq, 201);
    CHECK(lc.segments > 3);
    CHECK_EQ_INT(lc.damaged + lc.bad_indexes + lc.gaps, 0);
    CHECK_EQ_INT(f.problems, 0);
    CHECK_EQ_INT(lc.first_arrival_ms, 1000);
    CHECK_EQ_INT(lc.last_arrival_ms, 1199);

    /* Zeros inside the first (sealed) segment. */
    char p[700];
    snprintf(p, sizeof p, "%s/streams/1-s/shardId-000000000000/00000000000000000001.log", dir);
    int fd = open(p, O_WRONLY);
    CHECK(fd >= 0);
    uint8_t zeros[64] = {0};
    CHECK_EQ_INT(pwrite(fd, zeros, sizeof zeros, 500), (ssize_t)sizeof zeros);
    close(fd);
    f = (findings_t){0};
    CHECK_EQ_INT(sl_storage_check_log(dir, "1-s", "shardId-000000000000", say, &f, &lc), 0);
    CHECK_EQ_INT(lc.damaged, 1);
    CHECK(f.problems >= 1);
    CHECK(lc.records < 200);

    /* A log whose directory does not exist is not an error. */
    findings_t g = {0};
    sl_storage_log_check_t l2;
    CHECK_EQ_INT(sl_storage_check_log(dir, "1-s", "missing", say, &g, &l2), 0);
    CHECK(!l2.exists);
    CHECK_EQ_INT(g.problems, 0);

    util_rm_rf(dir);
    free(dir);
}

static void test_journal(void) {
    char *dir = util_tmpdir("verify");
    sl_storage_t *st = NULL;
    /* Small records go through the journal; the engine is left open (as after a crash). */
    write_log(dir, 5, SL_DURABILITY_SYNC, false, &st);
    findings_t f = {0};
    sl_storage_journal_check_t jc;
    CHECK_EQ_INT(sl_storage_check_journal(dir, say, &f, &jc), 0);
    CHECK(jc.exists && jc.header_ok);
    CHECK(jc.entries >= 1);
    CHECK_EQ_INT(jc.frames, 5);
    CHECK_EQ_INT(f.problems, 0);
    sl_storage_close(st);
    /* A clean close checkpoints everything: nothing to replay. */
    CHECK_EQ_INT(sl_storage_check_journal(dir, say, &f, &jc), 0);
    CHECK_EQ_INT(jc.entries, 0);
    util_rm_rf(dir);
    free(dir);
}

int main(void) {
    test_clean_and_damaged();
    test_journal();
    TEST_MAIN_END();
}
