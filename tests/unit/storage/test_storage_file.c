/* File-engine tests: persistence across restarts, recovery of every kind of damaged tail, index
 * rebuild when an index is missing or disagrees, and fault injection through the operations
 * table (ENOSPC, EIO, short writes, failed fdatasync, and simulated crashes with loss of
 * unsynced data), each checked by reopening the engine from disk with the real calls. */
#include "storage/format.h"
#include "storage/internal.h"
#include "storage/journal.h"
#include "storage_util.h"
#include "support/fault_ops.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char *g_root;
static int g_case;

/* Payload of the record with a given seq: 40..99 bytes derived from the seq. */
static size_t payload_of(uint64_t seq, uint8_t *out) {
    size_t len = 40 + (size_t)((seq * 7) % 60);
    uint64_t x = seq * 0x9E3779B97F4A7C15ull + 3;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[i] = (uint8_t)x;
    }
    return len;
}

/* The test record of seq: payload_of(seq) in buf (128 bytes), key "pk", arrival 1000 + seq. */
static sl_record_t record_of(uint64_t seq, uint8_t *buf) {
    size_t len = payload_of(seq, buf);
    return (sl_record_t){.arrival_ms = (int64_t)(1000 + seq),
                         .key = "pk",
                         .key_len = 2,
                         .data = buf,
                         .data_len = len};
}
static size_t frame_of(uint64_t seq) {
    uint8_t buf[128];
    return sl_frame_size(2, 0, payload_of(seq, buf));
}
/* Offset of record seq in a segment that starts at base. */
static uint64_t offset_of(uint64_t base, uint64_t seq) {
    uint64_t off = SL_SEG_HEADER_BYTES;
    for (uint64_t s = base; s < seq; s++)
        off += frame_of(s);
    return off;
}

static int append_one_lazy(sl_shard_log_t *log, uint64_t seq, uint64_t *got);

static char *new_dir(void) {
    char *d = malloc(600);
    snprintf(d, 600, "%s/%d", g_root, ++g_case);
    return d;
}

static sl_storage_t *open_eng(const char *dir, sl_durability_t dur, size_t seg,
                              const sl_file_ops_t *ops) {
    sl_storage_config_t cfg = {.data_dir = dir,
                               .durability = dur,
                               .flush_interval_ms = 10,
                               .segment_bytes = seg,
                               .file_ops = ops};
    sl_storage_t *st = NULL;
    int rc = sl_storage_open_file(&cfg, &st);
    CHECK_EQ_INT(rc, 0);
    return st;
}

static sl_shard_log_t *open_log(sl_storage_t *st) {
    sl_shard_log_t *log = NULL;
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "h", NULL, &log), 0);
    return log;
}

static off_t journal_size(const char *dir) {
    char jp[700];
    struct stat jst;
    snprintf(jp, sizeof jp, "%s/journal/journal.jnl", dir);
    return stat(jp, &jst) == 0 ? jst.st_size : -1;
}

/* Waits until the checkpoint thread has grown the journal file ahead of the first rounds (its
 * writes and syncs count for the fault table, so a fault armed meanwhile could hit them instead
 * of the append under test). */
static void journal_settle(const char *dir) {
    const off_t grown = SL_JNL_DATA_OFF + 2 * (off_t)SL_STORAGE_JOURNAL_GROW_BYTES;
    for (int i = 0; i < 500 && journal_size(dir) < grown; i++)
        usleep(10000);
    CHECK_EQ_INT(journal_size(dir), grown);
}

/* Appends records seq from..to (one per call) and checks the seqs. */
static void fill(sl_shard_log_t *log, uint64_t from, uint64_t to) {
    uint8_t buf[128];
    for (uint64_t seq = from; seq <= to; seq++) {
        sl_record_t r = record_of(seq, buf);
        uint64_t got = 0;
        int rc = util_append(log, &r, 1, &got);
        if (rc || got != seq) {
            CHECK_EQ_INT(rc, 0);
            CHECK_EQ_INT(got, seq);
            return;
        }
    }
}

/* Checks that the log holds exactly seqs 1..last with their payloads. */
static void verify(sl_shard_log_t *log, uint64_t last) {
    sl_shard_bounds_t b;
    sl_storage_bounds(log, &b);
    CHECK_EQ_INT(b.first_seq, 1);
    CHECK_EQ_INT(b.next_seq, last + 1);
    int rc;
    sl_read_result_t *res = util_read(log, 1, 1000000, SIZE_MAX, 0, &rc);
    CHECK_EQ_INT(rc, 0);
    if (!res) return;
    CHECK_EQ_INT(res->count, last);
    size_t bad = 0;
    uint8_t buf[128];
    for (size_t i = 0; i < res->count; i++) {
        const sl_record_t *r = &res->records[i];
        size_t len = payload_of(i + 1, buf);
        if (r->seq != i + 1 || r->data_len != len || memcmp(r->data, buf, len) != 0 ||
            r->key_len != 2 || r->arrival_ms != (int64_t)(1001 + i))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    sl_storage_read_free(res);
}

static char *seg_file(const char *dir, uint64_t base, const char *ext) {
    char *p = malloc(800);
    snprintf(p, 800, "%s/streams/s/h/%020llu.%s", dir, (unsigned long long)base, ext);
    return p;
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void patch_file(const char *path, uint64_t off, const void *data, size_t len) {
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    CHECK(pwrite(fd, data, len, (off_t)off) == (ssize_t)len);
    close(fd);
}

static void truncate_file(const char *path, uint64_t len) {
    CHECK(truncate(path, (off_t)len) == 0);
}

/* ---- restart ---- */

static void test_restart(void) {
    char *dir = new_dir();
    sl_storage_t *st = open_eng(dir, SL_DURABILITY_SYNC, 8192, NULL);
    sl_shard_log_t *log = open_log(st);
    fill(log, 1, 500);
    sl_storage_close(st);
    st = open_eng(dir, SL_DURABILITY_SYNC, 8192, NULL);
    log = open_log(st);
    verify(log, 500);
    uint64_t seq;
    CHECK_EQ_INT(sl_storage_seek_time(log, 1250, &seq), 0);
    CHECK_EQ_INT(seq, 250);
    fill(log, 501, 600);
    sl_storage_close(st);
    st = open_eng(dir, SL_DURABILITY_SYNC, 8192, NULL);
    log = open_log(st);
    verify(log, 600);
    sl_storage_close(st);
    free(dir);
}

/* The clock stepped back across a restart: the first append after it is given a time below the
 * last record's on disk. The callback must report the time kept (the recovered last arrival),
 * which is what a read serves. */
static void test_arrival_after_restart(void) {
    char *dir = new_dir();
    sl_storage_t *st = open_eng(dir, SL_DURABILITY_SYNC, 8192, NULL);
    sl_shard_log_t *log = open_log(st);
    fill(log, 1, 50); /* the last record arrived at 1050 */
    sl_storage_close(st);
    st = open_eng(dir, SL_DURABILITY_SYNC, 8192, NULL);
    log = open_log(st);
    sl_record_t r[2] = {
        {.arrival_ms = 3, .key = "pk", .key_len = 2, .data = (const uint8_t *)"x", .data_len = 1},
        {.arrival_ms = 3, .key = "pk", .key_len = 2, .data = (const uint8_t *)"y", .data_len = 1}};
    uint64_t seq = 0;
    int64_t arrival = 0;
    CHECK_EQ_INT(util_append_arrival(log, r, 2, &seq, &arrival), 0);
    CHECK_EQ_INT(seq, 51);
    CHECK_EQ_INT(arrival, 1050);
    int rc;
    sl_read_result_t *res = util_read(log, 51, 10, 1000, 0, &rc);
    CHECK(res && res->count == 2 && res->records[0].arrival_ms == 1050 &&
          res->records[1].arrival_ms == 1050);
    sl_storage_read_free(res);
    sl_storage_close(st);
    free(dir);
}

/* ---- lazily created shards ---- */

static bool path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void count_cb(void *arg, const char *stream, const char *shard) {
    (void)stream;
    (void)shard;
    (*(int *)arg)++;
}

/* Opening a new shard writes nothing; the empty log reads, seeks, trims and closes like any
 * other; the first append creates it durably (it survives a restart and is listed). */
static void test_lazy_open(void) {
    fprintf(stderr, "-- lazily created shard\n");
    char *dir = new_dir();
    char sdir[700];
    snprintf(sdir, sizeof sdir, "%s/streams/s", dir);
    sl_storage_t *st = open_eng(dir, SL_DURABILITY_SYNC, 0, NULL);
    sl_shard_log_t *log = open_log(st);
    CHECK(!path_exists(sdir));
    sl_shard_bounds_t b;
    CHECK_EQ_INT(sl_storage_bounds(log, &b), 0);
    CHECK_EQ_INT(b.first_seq, 1);
    CHECK_EQ_INT(b.next_seq, 1);
    int rc;
    sl_read_result_t *res = util_read(log, 1, 10, SIZE_MAX, 0, &rc);
    CHECK(res && res->count == 0 && res->next_seq == 1);
    sl_storage_read_free(res);
    uint64_t seq = 0;
    CHECK_EQ_INT(sl_storage_seek_time(log, 5, &seq), 0);
    CHECK_EQ_INT(seq, 1);
    CHECK_EQ_INT(sl_storage_trim(log, sl_time_now_ms()), 0);
    int listed = 0;
    CHECK_EQ_INT(sl_storage_list(st, count_cb, &listed), 0);
    CHECK_EQ_INT(listed, 0);
    sl_storage_shard_close(log);
    CHECK(!path_exists(sdir));
    log = open_log(st);
    fill(log, 1, 10);
    char *seg = seg_file(dir, 1, "log"), *idx = seg_file(dir, 1, "idx");
    CHECK(path_exists(seg) && path_exists(idx));
    CHECK_EQ_INT(sl_storage_list(st, count_cb, &listed), 0);
    CHECK_EQ_INT(listed, 1);
    sl_storage_close(st);
    st = open_eng(dir, SL_DURABILITY_SYNC, 0, NULL);
    log = open_log(st);
    verify(log, 10);
    sl_storage_close(st);
    /* A stream whose shards were never written is deleted like any other. */
    st = open_eng(dir, SL_DURABILITY_SYNC, 0, NULL);
    sl_shard_log_t *other = NULL;
    CHECK_EQ_INT(sl_storage_shard_open(st, "never", "h", NULL, &other), 0);
    sl_storage_shard_close(other);
    CHECK_EQ_INT(sl_storage_stream_delete(st, "never"), 0);
    sl_storage_close(st);
    free(seg);
    free(idx);
    free(dir);
}

/* The creation of a shard's files fails or the process dies during it: the appends of that
 * round fail, and the shard is usable afterwards (in the same process, or after a restart). */
static void test_lazy_open_faults(void) {
    fprintf(stderr, "-- lazily created shard: faults during creation\n");
    for (int nth = 1; nth <= 4; nth++) {
        /* A crash at the nth write (segment header, index header, first frames, ...), with the
         * unsynced bytes of every file damaged. */
        char *dir = new_dir();
        sl_storage_t *st = open_eng(dir, SL_DURABILITY_SYNC, 0, &sl_file_ops_fault);
        sl_shard_log_t *log = open_log(st);
        sl_fault_arm(SL_FAULT_CRASH, nth, false, true, (unsigned)nth * 7919u);
        uint64_t got = 0;
        int rc = append_one_lazy(log, 1, &got);
        bool acked = rc == 0;
        sl_storage_close(st);
        sl_fault_disarm();
        st = open_eng(dir, SL_DURABILITY_SYNC, 0, NULL);
        log = open_log(st);
        sl_shard_bounds_t b;
        sl_storage_bounds(log, &b);
        if (acked) CHECK_EQ_INT(b.next_seq, 2);
        verify(log, b.next_seq - 1);
        fill(log, b.next_seq, 20);
        sl_storage_close(st);
        st = open_eng(dir, SL_DURABILITY_SYNC, 0, NULL);
        log = open_log(st);
        verify(log, 20);
        sl_storage_close(st);
        free(dir);
    }
    /* A directory sync fails: the append fails, the next round creates the files again. */
    char *dir = new_dir();
    sl_storage_t *st = open_eng(dir, SL_DURABILITY_SYNC, 0, &sl_file_ops_fault);
    sl_shard_log_t *log = open_log(st);
    sl_fault_arm(SL_FAULT_SYNC_EIO, 1, false, false, 1);
    uint64_t got = 0;
    CHECK_EQ_INT(append_one_lazy(log, 1, &got), SL_EIO);
    sl_fault_disarm();
    usleep((SL_STORAGE_FAILED_RETRY_MS + 20) * 1000);
    fill(log, 1, 15);
    verify(log, 15);
    sl_storage_close(st);
    st = open_eng(dir, SL_DURABILITY_SYNC, 0, NULL);
    log = open_log(st);
    verify(log, 15);
    sl_storage_close(st);
    free(dir);
}

/* ---- damaged tails ---- */

typedef enum {
    TORN_HEADER,
    TORN_BODY,
    BAD_CRC,
    BAD_CRC_MIDDLE,
    GARBAGE_AFTER,
    ZERO_TAIL,
    TORN_SEG_HEADER
} damage_t;

static void test_damage(damage_t kind, const char *name) {
    fprintf(stderr, "-- damaged tail: %s\n", name);
    char *dir = new_dir();
    const uint64_t n = 200;
    sl_storage_t *st = open_eng(dir, SL_DURABILITY_SYNC, 0, NULL);
    sl_shard_log_t *log = open_log(st);
    fill(log, 1, n);
    sl_storage_close(st);
    char *seg = seg_file(dir, 1, "log");
    uint64_t end = offset_of(1, n + 1);
    CHECK_EQ_INT(file_size(seg), end);
    uint64_t keep = 0; /* records that must survive */
    uint8_t junk[4096];
    switch (kind) {
    case TORN_HEADER:
        truncate_file(seg, offset_of(1, n) + 10);
        keep = n - 1;
        break;
    case TORN_BODY:
        truncate_file(seg, offset_of(1, n) + 40);
        keep = n - 1;
        break;
    case BAD_CRC: {
        uint8_t b = 0x5a;
        patch_file(seg, offset_of(1, n) + 40, &b, 1);
        keep = n - 1;
        break;
    }
    case BAD_CRC_MIDDLE: {
        /* Not a torn tail but damage inside acknowledged, indexed data: recovery (which scans only
         * after the last verified index entry) keeps the log, and readers skip the damaged records
         * up to the next index entry, logging the exact range. */
        uint8_t b = 0x5a;
        patch_file(seg, offset_of(1, 150) + 45, &b, 1);
        st = open_eng(dir, SL_DURABILITY_SYNC, 0, NULL);
        log = open_log(st);
        sl_shard_bounds_t bd;
        sl_storage_bounds(log, &bd);
        CHECK_EQ_INT(bd.next_seq, n + 1);
        int rc;
        sl_read_result_t *res = util_read(log, 1, 1000, SIZE_MAX, 0, &rc);
        CHECK(res != NULL);
        if (res) {
            size_t i = 0, bad = 0;
            uint8_t buf[128];
            for (; i < res->count && res->records[i].seq == i + 1; i++) {
            }
            CHECK_EQ_INT(i, 149);
            uint64_t resume = i < res->count ? res->records[i].seq : 0;
            CHECK(resume > 150 && resume < 200);
            for (size_t k = 0; k < res->count; k++) {
                const sl_record_t *r = &res->records[k];
                size_t len = payload_of(r->seq, buf);
                if (r->seq == 150 || r->data_len != len || memcmp(r->data, buf, len) != 0) bad++;
                if (k >= i && r->seq != resume + (k - i)) bad++;
            }
            CHECK_EQ_INT(bad, 0);
            CHECK_EQ_INT(res->count, 149 + (n + 1 - resume));
            CHECK_EQ_INT(res->next_seq, n + 1);
            sl_storage_read_free(res);
        }
        /* A reader positioned on the damaged record moves past it. */
        res = util_read(log, 150, 1, SIZE_MAX, 0, &rc);
        CHECK(res && res->count == 1 && res->records[0].seq > 150);
        sl_storage_read_free(res);
        fill(log, n + 1, n + 10);
        sl_storage_close(st);
        free(seg);
        free(dir);
        return;
    }
    case GARBAGE_AFTER:
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)(i * 131 + 7);
        patch_file(seg, end, junk, 777);
        keep = n;
        break;
    case ZERO_TAIL:
        memset(junk, 0, sizeof junk);
        patch_file(seg, end, junk, sizeof junk);
        keep = n;
        break;
    case TORN_SEG_HEADER:
        break;
    }
    st = open_eng(dir, SL_DURABILITY_SYNC, 0, NULL);
    log = open_log(st);
    verify(log, keep);
    CHECK_EQ_INT(file_size(seg), offset_of(1, keep + 1));
    /* The log continues cleanly after the cut and survives another restart. */
    fill(log, keep + 1, keep + 30);
    sl_storage_close(st);
    st = open_eng(dir, SL_DURABILITY_SYNC, 0, NULL);
    log = open_log(st);
    verify(log, keep + 30);
    sl_storage_close(st);
    free(seg);
    free(dir);
}

/* A crash while rolling can leave the new active segment with a torn header. */
static void test_torn_segment_header(void) {
    fprintf(stderr, "-- damaged tail: torn segment header\n");
    char *dir = new_dir();
    sl_storage_t *st = open_eng(dir, SL_DURABILITY_SYNC, 2048, NULL);
    sl_shard_log_t *log = open_log(st);
    fill(log, 1, 100);
    sl_shard_bounds_t b;
    sl_storage_bounds(log, &b);
    sl_storage_close(st);
    /* Find the active (last) segment. */
    uint64_t base = 1;
    for (uint64_t s = 1; s <= 100; s++) {
        char *p = seg_file(dir, s, "log");
        if (file_size(p) >= 0) base = s;
        free(p);
    }
    CHECK(base > 1);
    char *seg = seg_file(dir, base, "log");
    truncate_file(seg, 10);
    st = open_eng(dir, SL_DURABILITY_SYNC, 2048, NULL);
    log = open_log(st);
    verify(log, base - 1);
    CHECK_EQ_INT(file_size(seg), SL_SEG_HEADER_BYTES);
    fill(log, base, base + 50);
    sl_storage_close(st);
    st = open_eng(dir, SL_DURABILITY_SYNC, 2048, NULL);
    log = open_log(st);
    verify(log, base + 50);
    sl_storage_close(st);
    free(seg);
    free(dir);
}

/* ---- indexes ---- */

static void test_index_rebuild(void) {
    fprintf(stderr, "-- index rebuild\n");
    char *dir = new_dir();
    /* Segments of ~20 KiB: several index entries each. */
    sl_storage_t *st = open_eng(dir, SL_DURABILITY_SYNC, 20000, NULL);
    sl_shard_log_t *log = open_log(st);
    fill(log, 1, 1200);
    sl_storage_close(st);
    /* The second segment starts after the first one's records. */
    uint64_t base2 = 0;
    for (uint64_t s = 2; s <= 1200 && !base2; s++) {
        char *p = seg_file(dir, s, "log");
        if (file_size(p) >= 0) base2 = s;
        free(p);
    }
    CHECK(base2 > 100);
    char *idx1 = seg_file(dir, 1, "idx"), *idx2 = seg_file(dir, base2, "idx");
    long long idx1_size = file_size(idx1);
    CHECK(idx1_size > SL_IDX_HEADER_BYTES + 4 * SL_IDX_ENTRY_BYTES);
    /* Missing index of a sealed segment: rebuilt at open, identical to the original. */
    uint8_t orig[4096];
    int fd = open(idx2, O_RDONLY);
    ssize_t orig_len = read(fd, orig, sizeof orig);
    close(fd);
    CHECK(unlink(idx2) == 0);
    /* An entry that disagrees with its segment (valid checksum, wrong offset). */
    uint8_t ent[SL_IDX_ENTRY_BYTES];
    fd = open(idx1, O_RDONLY);
    CHECK(pread(fd, ent, sizeof ent, SL_IDX_HEADER_BYTES + 2 * SL_IDX_ENTRY_BYTES) ==
          (ssize_t)sizeof ent);
    close(fd);
    sl_idx_entry_t ie;
    CHECK_EQ_INT(sl_idx_entry_decode(ent, &ie), 0);
    ie.offset += 7;
    sl_idx_entry_encode(ent, &ie);
    patch_file(idx1, SL_IDX_HEADER_BYTES + 2 * SL_IDX_ENTRY_BYTES, ent, sizeof ent);
    /* An unreadable entry (bad checksum). */
    uint8_t g = 0xee;
    patch_file(idx1, SL_IDX_HEADER_BYTES + 4 * SL_IDX_ENTRY_BYTES + 3, &g, 1);

    st = open_eng(dir, SL_DURABILITY_SYNC, 20000, NULL);
    log = open_log(st);
    CHECK_EQ_INT(file_size(idx2), orig_len);
    uint8_t now[4096];
    fd = open(idx2, O_RDONLY);
    CHECK(read(fd, now, sizeof now) == orig_len && memcmp(now, orig, (size_t)orig_len) == 0);
    close(fd);
    /* Reads from every position of the first segment return the right record. */
    int rc;
    size_t wrong = 0;
    for (uint64_t s = base2 - 1; s >= 1; s--) { /* backwards: no sequential-read shortcut */
        sl_read_result_t *res = util_read(log, s, 1, 1, 0, &rc);
        if (!res || res->count != 1 || res->records[0].seq != s) wrong++;
        sl_storage_read_free(res);
        uint64_t t;
        if (sl_storage_seek_time(log, (int64_t)(1000 + s), &t) != 0 || t != s) wrong++;
    }
    CHECK_EQ_INT(wrong, 0);
    verify(log, 1200);
    sl_storage_close(st);
    /* The disagreeing index was rewritten: every entry decodes and points at its record. */
    fd = open(idx1, O_RDONLY);
    size_t bad = 0, n = 0;
    for (uint64_t off = SL_IDX_HEADER_BYTES;; off += SL_IDX_ENTRY_BYTES) {
        if (pread(fd, ent, sizeof ent, (off_t)off) != (ssize_t)sizeof ent) break;
        if (sl_idx_entry_decode(ent, &ie) != 0) {
            bad++;
            continue;
        }
        n++;
        if (ie.kind == SL_IDX_POINT && ie.offset != offset_of(1, ie.seq)) bad++;
    }
    close(fd);
    CHECK_EQ_INT(bad, 0);
    CHECK(n > 4);
    /* Garbage in the active segment's index: recovered at open. */
    uint64_t last = 0;
    for (uint64_t s = base2; s <= 1200; s++) {
        char *p = seg_file(dir, s, "idx");
        if (file_size(p) >= 0) last = s;
        free(p);
    }
    char *idxa = seg_file(dir, last, "idx");
    uint8_t junk[100];
    memset(junk, 0xab, sizeof junk);
    patch_file(idxa, 40, junk, sizeof junk);
    st = open_eng(dir, SL_DURABILITY_SYNC, 20000, NULL);
    log = open_log(st);
    verify(log, 1200);
    fill(log, 1201, 1300);
    verify(log, 1300);
    sl_storage_close(st);
    free(idxa);
    free(idx1);
    free(idx2);
    free(dir);
}

/* ---- fault injection ---- */

static int append_one(sl_shard_log_t *log, uint64_t seq, uint64_t *got) {
    uint8_t buf[128];
    sl_record_t r = record_of(seq, buf);
    return util_append(log, &r, 1, got);
}

static int append_one_lazy(sl_shard_log_t *log, uint64_t seq, uint64_t *got) {
    return append_one(log, seq, got);
}

static void test_fault_errors(void) {
    fprintf(stderr, "-- fault injection: ENOSPC, EIO, short writes, fdatasync failure\n");
    char *dir = new_dir();
    sl_storage_t *st = open_eng(dir, SL_DURABILITY_SYNC, 4096, &sl_file_ops_fault);
    sl_shard_log_t *log = open_log(st);
    fill(log, 1, 10);
    journal_settle(dir);
    uint64_t got = 0;

    /* One failed data write: that append fails, nothing is lost, the engine recovers by itself. */
    sl_fault_arm(SL_FAULT_ENOSPC, 1, false, false, 1);
    CHECK_EQ_INT(append_one(log, 11, &got), SL_ENOSPC);
    CHECK_EQ_INT(append_one(log, 11, &got),
                 SL_ENOSPC); /* fail fast while the disk is being spared */
    usleep((SL_STORAGE_FAILED_RETRY_MS + 20) * 1000);
    CHECK_EQ_INT(append_one(log, 11, &got), 0);
    CHECK_EQ_INT(got, 11);

    /* The disk is full for a while: every append fails; when space returns, appends work again. */
    sl_fault_arm(SL_FAULT_ENOSPC, 1, true, false, 1);
    int64_t until = sl_time_mono_ms() + 300;
    int failures = 0, successes = 0;
    while (sl_time_mono_ms() < until) {
        int rc = append_one(log, 12, &got);
        if (rc == SL_ENOSPC)
            failures++;
        else
            successes++;
        usleep(5000);
    }
    CHECK(failures > 10);
    CHECK_EQ_INT(successes, 0);
    sl_fault_disarm();
    usleep((SL_STORAGE_FAILED_RETRY_MS + 20) * 1000);
    fill(log, 12, 20);

    /* Failed index write (second write of a round that starts a segment). */
    sl_shard_bounds_t b;
    sl_fault_arm(SL_FAULT_EIO, 2, false, false, 1);
    int rc = append_one(log, 21, &got);
    if (rc == 0)
        CHECK_EQ_INT(got, 21);
    else
        CHECK_EQ_INT(rc, SL_EIO);
    sl_fault_disarm();
    usleep((SL_STORAGE_FAILED_RETRY_MS + 20) * 1000);
    sl_storage_bounds(log, &b);
    fill(log, b.next_seq, 40);

    /* Short writes are completed by the engine. */
    sl_fault_arm(SL_FAULT_SHORT, 1, false, false, 1);
    fill(log, 41, 45);
    sl_fault_disarm();

    /* fdatasync fails: the append fails (its bytes are truncated away), the next ones succeed. */
    sl_fault_arm(SL_FAULT_SYNC_EIO, 1, false, false, 1);
    CHECK_EQ_INT(append_one(log, 46, &got), SL_EIO);
    sl_fault_disarm();
    usleep((SL_STORAGE_FAILED_RETRY_MS + 20) * 1000);
    fill(log, 46, 60);
    verify(log, 60);

    /* A roll that fails (the new segment cannot be created) fails its appends only. */
    for (int nth = 1; nth <= 6; nth++) {
        sl_storage_bounds(log, &b);
        sl_fault_arm(SL_FAULT_ENOSPC, nth, false, false, 1);
        for (int i = 0; i < 40; i++) {
            sl_storage_bounds(log, &b);
            rc = append_one(log, b.next_seq, &got);
            if (rc) {
                CHECK_EQ_INT(rc, SL_ENOSPC);
                usleep((SL_STORAGE_FAILED_RETRY_MS + 20) * 1000);
            } else {
                CHECK_EQ_INT(got, b.next_seq);
            }
        }
        sl_fault_disarm();
    }
    sl_storage_bounds(log, &b);
    uint64_t last = b.next_seq - 1;
    verify(log, last);
    sl_storage_close(st);
    st = open_eng(dir, SL_DURABILITY_SYNC, 4096, NULL);
    log = open_log(st);
    verify(log, last);
    sl_storage_close(st);
    free(dir);
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int outstanding;
    uint64_t acked_max; /* highest seq acknowledged, with everything below it acknowledged */
    bool failed, order_bad;
    uint64_t expect_first[4096];
    bool acked[4096];
} crash_state_t;

typedef struct {
    crash_state_t *cs;
    int k;
} crash_op_t;

static void crash_cb(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    (void)arrival_ms;
    crash_op_t *op = arg;
    crash_state_t *cs = op->cs;
    pthread_mutex_lock(&cs->mu);
    if (status == 0) {
        if (first_seq != cs->expect_first[op->k] || cs->failed) cs->order_bad = true;
        cs->acked[op->k] = true;
    } else {
        cs->failed = true;
    }
    cs->outstanding--;
    pthread_cond_signal(&cs->cond);
    pthread_mutex_unlock(&cs->mu);
}

/* Simulated crashes at many different writes, with the unsynced part of every file damaged as a
 * power loss may: after reopening with the real calls, every acknowledged record is there with
 * its payload, the log is a clean prefix, and it accepts appends again. */
static void test_crashes(sl_durability_t dur, int rounds) {
    fprintf(stderr, "-- simulated crashes (%s), %d rounds\n",
            dur == SL_DURABILITY_SYNC ? "sync" : "interval", rounds);
    static crash_state_t cs;
    static crash_op_t ops[4096];
    for (int round = 0; round < rounds; round++) {
        char *dir = new_dir();
        memset(&cs, 0, sizeof cs);
        pthread_mutex_init(&cs.mu, NULL);
        pthread_cond_init(&cs.cond, NULL);
        sl_storage_t *st = open_eng(dir, dur, 6000, &sl_file_ops_fault);
        sl_shard_log_t *log = open_log(st);
        unsigned seed = (unsigned)round * 2654435761u + 17;
        sl_fault_arm(SL_FAULT_CRASH, 1 + (long)((seed >> 4) % 150), false, true, seed);
        uint64_t next = 1;
        int k = 0;
        uint8_t buf[3][128];
        for (; k < 4096 && !sl_fault_crashed(); k++) {
            size_t n = 1 + (size_t)(k % 3);
            sl_record_t r[3];
            for (size_t i = 0; i < n; i++) {
                r[i] = record_of(next + i, buf[i]);
            }
            pthread_mutex_lock(&cs.mu);
            while (cs.outstanding >= 8)
                pthread_cond_wait(&cs.cond, &cs.mu);
            bool failed = cs.failed;
            cs.expect_first[k] = next;
            cs.outstanding++;
            pthread_mutex_unlock(&cs.mu);
            if (failed) {
                pthread_mutex_lock(&cs.mu);
                cs.outstanding--;
                pthread_mutex_unlock(&cs.mu);
                break;
            }
            ops[k] = (crash_op_t){.cs = &cs, .k = k};
            int rc = sl_storage_append(log, r, n, crash_cb, &ops[k]);
            if (rc) {
                /* Rejected at once (the engine is failing fast): no callback, no seqs. Appends
                 * issued before it may still complete, successfully or not. */
                pthread_mutex_lock(&cs.mu);
                cs.outstanding--;
                pthread_mutex_unlock(&cs.mu);
                break;
            }
            next += n;
        }
        pthread_mutex_lock(&cs.mu);
        while (cs.outstanding > 0)
            pthread_cond_wait(&cs.cond, &cs.mu);
        pthread_mutex_unlock(&cs.mu);
        sl_storage_close(st);
        sl_fault_disarm();
        CHECK(!cs.order_bad);
        if (cs.order_bad) fprintf(stderr, "round %d: an append completed out of order\n", round);
        uint64_t acked = 0;
        for (int i = 0; i < k; i++) {
            if (!cs.acked[i]) break;
            acked = cs.expect_first[i] + (uint64_t)(i % 3);
        }
        /* Reopen from disk with the real calls. */
        st = open_eng(dir, dur, 6000, NULL);
        log = open_log(st);
        sl_shard_bounds_t b;
        sl_storage_bounds(log, &b);
        if (dur == SL_DURABILITY_SYNC && b.next_seq - 1 < acked)
            fprintf(stderr, "round %d: acknowledged up to %llu but the log ends at %llu\n", round,
                    (unsigned long long)acked, (unsigned long long)(b.next_seq - 1));
        if (dur == SL_DURABILITY_SYNC) CHECK(b.next_seq - 1 >= acked);
        verify(log,
               b.next_seq - 1); /* whatever survived is a clean prefix with the right payloads */
        fill(log, b.next_seq, b.next_seq + 20);
        verify(log, b.next_seq + 20);
        sl_storage_close(st);
        util_rm_rf(dir);
        free(dir);
    }
}

/* ---- shared commit journal ---- */

static sl_storage_t *open_eng_j(const char *dir, const sl_file_ops_t *ops, size_t journal_bytes) {
    sl_storage_config_t cfg = {.data_dir = dir,
                               .durability = SL_DURABILITY_SYNC,
                               .segment_bytes = 20000,
                               .journal_bytes = journal_bytes,
                               .file_ops = ops};
    sl_storage_t *st = NULL;
    CHECK_EQ_INT(sl_storage_open_file(&cfg, &st), 0);
    return st;
}

/* Three shards written round after round through a 64 KiB journal: it wraps many times, every
 * record is readable at once (from the shard tails) and after a clean restart. Then a simulated
 * crash that loses every unsynced write: whatever the crash left, each shard holds a clean
 * prefix with every acknowledged record (restored from the journal where the segment lost it). */
static void test_journal_wrap_and_crash(void) {
    fprintf(stderr, "-- commit journal: wrap-around, restart, crash\n");
    char *dir = new_dir();
    sl_storage_t *st = open_eng_j(dir, &sl_file_ops_fault, SL_JNL_CAPACITY_MIN);
    const char *keys[3] = {"h0", "h1", "h2"};
    sl_shard_log_t *logs[3];
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(sl_storage_shard_open(st, "s", keys[i], NULL, &logs[i]), 0);
    uint64_t next[3] = {1, 1, 1};
    uint8_t buf[8][128];
    for (int round = 0; round < 900; round++) {
        int sh = round % 3;
        size_t n = 1 + (size_t)(round % 8);
        sl_record_t r[8];
        for (size_t i = 0; i < n; i++) {
            r[i] = record_of(next[sh] + i, buf[i]);
        }
        uint64_t got = 0;
        CHECK_EQ_INT(util_append(logs[sh], r, n, &got), 0);
        CHECK_EQ_INT(got, next[sh]);
        next[sh] += n;
        if (round % 97 == 0) verify(logs[sh], next[sh] - 1);
    }
    struct stat jst;
    char jp[700];
    snprintf(jp, sizeof jp, "%s/journal/journal.jnl", dir);
    CHECK(stat(jp, &jst) == 0 && jst.st_size <= (off_t)(SL_JNL_DATA_OFF + SL_JNL_CAPACITY_MIN));
    for (int i = 0; i < 3; i++)
        sl_storage_shard_close(logs[i]);
    sl_storage_close(st);
    st = open_eng_j(dir, &sl_file_ops_fault, SL_JNL_CAPACITY_MIN);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(sl_storage_shard_open(st, "s", keys[i], NULL, &logs[i]), 0);
        verify(logs[i], next[i] - 1);
    }
    /* Crash: from the 40th write on, nothing reaches the disk and unsynced data is damaged. */
    sl_fault_arm(SL_FAULT_CRASH, 40, false, true, 12345);
    uint64_t acked[3] = {next[0] - 1, next[1] - 1, next[2] - 1};
    for (int round = 0; round < 600 && !sl_fault_crashed(); round++) {
        int sh = round % 3;
        size_t n = 1 + (size_t)(round % 5);
        sl_record_t r[8];
        for (size_t i = 0; i < n; i++) {
            r[i] = record_of(next[sh] + i, buf[i]);
        }
        uint64_t got = 0;
        if (util_append(logs[sh], r, n, &got) != 0) break;
        next[sh] += n;
        acked[sh] = next[sh] - 1;
    }
    CHECK(sl_fault_crashed());
    for (int i = 0; i < 3; i++)
        sl_storage_shard_close(logs[i]);
    sl_storage_close(st);
    sl_fault_disarm();
    st = open_eng_j(dir, NULL, SL_JNL_CAPACITY_MIN);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(sl_storage_shard_open(st, "s", keys[i], NULL, &logs[i]), 0);
        sl_shard_bounds_t b;
        sl_storage_bounds(logs[i], &b);
        if (b.next_seq - 1 < acked[i])
            fprintf(stderr, "shard %d: acknowledged up to %llu but the log ends at %llu\n", i,
                    (unsigned long long)acked[i], (unsigned long long)(b.next_seq - 1));
        CHECK(b.next_seq - 1 >= acked[i]);
        verify(logs[i], b.next_seq - 1);
        sl_storage_shard_close(logs[i]);
    }
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

/* Capacity of the journal file's header (bytes 16..23). */
static uint64_t journal_capacity(const char *dir) {
    char jp[700];
    snprintf(jp, sizeof jp, "%s/journal/journal.jnl", dir);
    uint8_t h[32] = {0};
    int fd = open(jp, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t got = pread(fd, h, sizeof h, 0);
    close(fd);
    return got == (ssize_t)sizeof h ? sl_le64_get(h + 16) : 0;
}

/* Appends one record of seq next[sh] to logs[sh]; 0 or the append's error. */
static int append_next(sl_shard_log_t **logs, uint64_t *next, int sh) {
    uint64_t got = 0;
    int rc = append_one(logs[sh], next[sh], &got);
    if (!rc) {
        CHECK_EQ_INT(got, next[sh]);
        next[sh]++;
    }
    return rc;
}

/* A new journal_bytes takes effect at the next start: after a crash, the old journal's records
 * are replayed first, then the file is written anew with the new capacity; records written after
 * that go through the new ring, and a start with the old size again changes it back. */
static void test_journal_resize(void) {
    fprintf(stderr, "-- commit journal: a new size takes effect at the next start\n");
    char *dir = new_dir();
    const char *keys[2] = {"h0", "h1"};
    sl_shard_log_t *logs[2];
    uint64_t next[2] = {1, 1};
    sl_storage_t *st = open_eng_j(dir, &sl_file_ops_fault, SL_JNL_CAPACITY_MIN);
    CHECK_EQ_INT(journal_capacity(dir), SL_JNL_CAPACITY_MIN);
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(sl_storage_shard_open(st, "s", keys[i], NULL, &logs[i]), 0);
    for (int round = 0; round < 50; round++)
        CHECK_EQ_INT(append_next(logs, next, round % 2), 0);
    /* Crash: from the 20th write on nothing reaches the disk; what was acknowledged before it
     * is durable in the journal only (one record per round: tails). */
    sl_fault_arm(SL_FAULT_CRASH, 20, false, true, 777);
    for (int round = 0; round < 200 && !sl_fault_crashed(); round++)
        if (append_next(logs, next, round % 2) != 0) break;
    CHECK(sl_fault_crashed());
    uint64_t acked[2] = {next[0] - 1, next[1] - 1};
    for (int i = 0; i < 2; i++)
        sl_storage_shard_close(logs[i]);
    sl_storage_close(st);
    sl_fault_disarm();

    st = open_eng_j(dir, NULL, 2 * SL_JNL_CAPACITY_MIN);
    CHECK_EQ_INT(journal_capacity(dir), 2 * SL_JNL_CAPACITY_MIN);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(sl_storage_shard_open(st, "s", keys[i], NULL, &logs[i]), 0);
        sl_shard_bounds_t b;
        sl_storage_bounds(logs[i], &b);
        CHECK(b.next_seq - 1 >= acked[i]);
        verify(logs[i], b.next_seq - 1);
        next[i] = b.next_seq;
    }
    /* more than the old ring holds, through the new one */
    for (int round = 0; round < 1200; round++)
        CHECK_EQ_INT(append_next(logs, next, round % 2), 0);
    for (int i = 0; i < 2; i++)
        sl_storage_shard_close(logs[i]);
    sl_storage_close(st);

    st = open_eng_j(dir, NULL, SL_JNL_CAPACITY_MIN);
    CHECK_EQ_INT(journal_capacity(dir), SL_JNL_CAPACITY_MIN);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(sl_storage_shard_open(st, "s", keys[i], NULL, &logs[i]), 0);
        verify(logs[i], next[i] - 1);
        sl_storage_shard_close(logs[i]);
    }
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

/* ---- a round in many chunks ---- */

#define CHUNK_SHARDS 48

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int outstanding;
    bool failed, order_bad;
    uint64_t next_ack[CHUNK_SHARDS]; /* seq the shard's next acknowledged append must start at */
} chunk_state_t;

typedef struct {
    chunk_state_t *cs;
    int sh;
    size_t n;
} chunk_op_t;

static void chunk_cb(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    (void)arrival_ms;
    chunk_op_t *op = arg;
    chunk_state_t *cs = op->cs;
    pthread_mutex_lock(&cs->mu);
    if (status == 0 && !cs->failed) {
        if (first_seq != cs->next_ack[op->sh]) cs->order_bad = true;
        cs->next_ack[op->sh] = first_seq + op->n;
    } else {
        cs->failed = true;
    }
    cs->outstanding--;
    pthread_cond_signal(&cs->cond);
    pthread_mutex_unlock(&cs->mu);
    free(op);
}

/* With a small descriptor budget a commit round takes its shards in many chunks, and the
 * journaled shares of every chunk wait for one journal write and sync after the last. Simulated
 * crashes at many writes: every acknowledged record of every shard is there after replay. */
static void test_journal_chunks_crash(int rounds) {
    fprintf(stderr, "-- commit journal: rounds in many chunks, simulated crashes, %d rounds\n",
            rounds);
    struct rlimit old;
    CHECK_EQ_INT(getrlimit(RLIMIT_NOFILE, &old), 0);
    /* a budget of 60% of 200 descriptors: chunks of 15 shards */
    struct rlimit low = {.rlim_cur = 200, .rlim_max = old.rlim_max};
    CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
    static chunk_state_t cs;
    uint8_t buf[2][128];
    char key[16];
    for (int round = 0; round < rounds; round++) {
        char *dir = new_dir();
        memset(&cs, 0, sizeof cs);
        pthread_mutex_init(&cs.mu, NULL);
        pthread_cond_init(&cs.cond, NULL);
        sl_storage_t *st = open_eng_j(dir, &sl_file_ops_fault, 0);
        sl_shard_log_t *logs[CHUNK_SHARDS];
        uint64_t next[CHUNK_SHARDS];
        for (int i = 0; i < CHUNK_SHARDS; i++) {
            snprintf(key, sizeof key, "h%d", i);
            CHECK_EQ_INT(sl_storage_shard_open(st, "s", key, NULL, &logs[i]), 0);
            next[i] = cs.next_ack[i] = 1;
        }
        unsigned seed = (unsigned)round * 2654435761u + 5;
        /* the first rounds create the shards' files: crash after that, at most of the time */
        if (round > 0)
            sl_fault_arm(SL_FAULT_CRASH, 1 + (long)((seed >> 4) % 400), false, true, seed);
        for (int k = 0; k < 3000 && !sl_fault_crashed(); k++) {
            int sh = (int)((k * 7 + (int)(seed % 13)) % CHUNK_SHARDS);
            size_t n = 1 + (size_t)(k % 2);
            sl_record_t r[2];
            for (size_t i = 0; i < n; i++) {
                r[i] = record_of(next[sh] + i, buf[i]);
            }
            pthread_mutex_lock(&cs.mu);
            while (cs.outstanding >= 2 * CHUNK_SHARDS)
                pthread_cond_wait(&cs.cond, &cs.mu);
            bool failed = cs.failed;
            if (!failed) cs.outstanding++;
            pthread_mutex_unlock(&cs.mu);
            if (failed) break;
            chunk_op_t *op = malloc(sizeof *op);
            *op = (chunk_op_t){.cs = &cs, .sh = sh, .n = n};
            if (sl_storage_append(logs[sh], r, n, chunk_cb, op) != 0) {
                free(op);
                pthread_mutex_lock(&cs.mu);
                cs.outstanding--;
                pthread_mutex_unlock(&cs.mu);
                break;
            }
            next[sh] += n;
        }
        pthread_mutex_lock(&cs.mu);
        while (cs.outstanding > 0)
            pthread_cond_wait(&cs.cond, &cs.mu);
        pthread_mutex_unlock(&cs.mu);
        for (int i = 0; i < CHUNK_SHARDS; i++)
            sl_storage_shard_close(logs[i]);
        sl_storage_close(st);
        sl_fault_disarm();
        CHECK(!cs.order_bad);
        st = open_eng_j(dir, NULL, 0);
        for (int i = 0; i < CHUNK_SHARDS; i++) {
            snprintf(key, sizeof key, "h%d", i);
            CHECK_EQ_INT(sl_storage_shard_open(st, "s", key, NULL, &logs[i]), 0);
            sl_shard_bounds_t b;
            sl_storage_bounds(logs[i], &b);
            if (b.next_seq < cs.next_ack[i])
                fprintf(stderr,
                        "round %d shard %d: acknowledged up to %llu but the log ends at "
                        "%llu\n",
                        round, i, (unsigned long long)(cs.next_ack[i] - 1),
                        (unsigned long long)(b.next_seq - 1));
            CHECK(b.next_seq >= cs.next_ack[i]);
            verify(logs[i], b.next_seq - 1);
            sl_storage_shard_close(logs[i]);
        }
        sl_storage_close(st);
        util_rm_rf(dir);
        free(dir);
    }
    CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &old), 0);
}

/* Records that only the journal holds are not replayed into a stream deleted meanwhile: its
 * directory is not created again. */
static void test_journal_deleted_stream(void) {
    fprintf(stderr, "-- commit journal: entries of a deleted stream\n");
    char *dir = new_dir();
    sl_storage_t *st = open_eng_j(dir, &sl_file_ops_fault, 0);
    sl_shard_log_t *log = open_log(st);
    fill(log, 1, 30);
    sl_fault_arm(SL_FAULT_CRASH, 1, false, false, 7);
    uint8_t b[8] = {0};
    sl_record_t r = {.key = "pk", .key_len = 2, .data = b, .data_len = sizeof b};
    CHECK(util_append(log, &r, 1, NULL) != 0);
    sl_storage_shard_close(log);
    sl_storage_close(st);
    sl_fault_disarm();
    char sd[700];
    snprintf(sd, sizeof sd, "%s/streams/s", dir);
    util_rm_rf(sd);
    st = open_eng_j(dir, NULL, 0);
    struct stat x;
    CHECK(stat(sd, &x) != 0);
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

/* Frames of seqs from..to as fill() writes them (payload_of, arrival 1000 + seq), into out. */
static size_t frames_of(uint64_t from, uint64_t to, uint8_t *out) {
    size_t len = 0;
    uint8_t buf[128];
    for (uint64_t seq = from; seq <= to; seq++) {
        size_t dl = payload_of(seq, buf);
        sl_record_t r = {.arrival_ms = (int64_t)(1000 + seq),
                         .key = "pk",
                         .key_len = 2,
                         .data = buf,
                         .data_len = dl};
        sl_frame_prepare(out + len, &r);
        sl_frame_finish(out + len, seq, r.arrival_ms);
        len += sl_frame_size(2, 0, dl);
    }
    return len;
}

/* A journal written by an older version (RECORDS entries, one per shard) followed by ROUND
 * entries (one per round): replay restores both, in lsn order, and skips what the segments
 * already hold. Also a ROUND entry whose checksum is bad ends the replay there. */
static void test_journal_both_kinds(void) {
    fprintf(stderr, "-- commit journal: replay of RECORDS and ROUND entries\n");
    char *dir = new_dir();
    sl_storage_t *st = open_eng_j(dir, NULL, 0);
    sl_shard_log_t *h0, *h1, *h2;
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "h0", NULL, &h0), 0);
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "h1", NULL, &h1), 0);
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "h2", NULL, &h2), 0);
    fill(h0, 1, 5);
    fill(h1, 1, 5);
    fill(h2, 1, 3);
    sl_storage_shard_close(h0);
    sl_storage_shard_close(h1);
    sl_storage_shard_close(h2);
    sl_storage_close(st); /* a clean stop: a checkpoint at the journal's end */

    char jp[700];
    snprintf(jp, sizeof jp, "%s/journal/journal.jnl", dir);
    int fd = open(jp, O_RDWR);
    CHECK(fd >= 0);
    uint8_t hdr[SL_JNL_DATA_OFF];
    CHECK_EQ_INT(pread(fd, hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
    uint64_t cap = 0, g0 = 0, l0 = 0, g1 = 0, l1 = 0;
    CHECK_EQ_INT(sl_jnl_file_header_decode(hdr, &cap), 0);
    bool v0 = sl_jnl_slot_decode(hdr + SL_JNL_SLOT0_OFF, &g0, &l0) == 0;
    bool v1 = sl_jnl_slot_decode(hdr + SL_JNL_SLOT1_OFF, &g1, &l1) == 0;
    CHECK(v0 || v1);
    uint64_t lsn = v0 && (!v1 || g0 >= g1) ? l0 : l1;
    static uint8_t ent[3][16384], frames[8192];
    size_t len[3];
    /* 1: RECORDS, h0 seqs 4..8 (4 and 5 are in the segment already) */
    size_t fl = frames_of(4, 8, frames);
    len[0] = sl_jnl_entry_size(1, 2, fl);
    sl_jnl_entry_encode(ent[0], lsn, "s", 1, "h0", 2, 4, 5, frames, fl);
    /* 2: ROUND, h1 seqs 6..7, h0 seqs 9..10, h2 seqs 4..4 */
    uint64_t lsn2 = lsn + len[0];
    size_t body = 0;
    uint8_t *b = ent[1] + SL_JNL_ENTRY_HEADER_BYTES;
    fl = frames_of(6, 7, frames);
    body += sl_jnl_share_encode(b + body, "s", 1, "h1", 2, 6, 2, frames, fl);
    fl = frames_of(9, 10, frames);
    body += sl_jnl_share_encode(b + body, "s", 1, "h0", 2, 9, 2, frames, fl);
    fl = frames_of(4, 4, frames);
    body += sl_jnl_share_encode(b + body, "s", 1, "h2", 2, 4, 1, frames, fl);
    sl_jnl_round_finish(ent[1], lsn2, 3, 5, body);
    len[1] = sl_jnl_round_size(body);
    /* 3: ROUND, h1 seqs 8..9: damaged below, so replay ends before it */
    uint64_t lsn3 = lsn2 + len[1];
    fl = frames_of(8, 9, frames);
    body =
        sl_jnl_share_encode(ent[2] + SL_JNL_ENTRY_HEADER_BYTES, "s", 1, "h1", 2, 8, 2, frames, fl);
    sl_jnl_round_finish(ent[2], lsn3, 1, 2, body);
    len[2] = sl_jnl_round_size(body);
    /* the decoders agree with what was encoded */
    sl_jnl_entry_t je;
    CHECK_EQ_INT(sl_jnl_entry_decode(ent[1], lsn2, len[1], &je), 0);
    CHECK_EQ_INT(je.kind, SL_JNL_ROUND);
    CHECK_EQ_INT(je.nframes, 5);
    CHECK_EQ_INT(je.first_seq, 3);
    CHECK_EQ_INT(sl_jnl_entry_check(ent[1], &je), 0);
    sl_jnl_share_t sh;
    CHECK_EQ_INT(sl_jnl_share_decode(ent[1] + SL_JNL_ENTRY_HEADER_BYTES, je.body_len, &sh), 0);
    CHECK_EQ_INT(sh.first_seq, 6);
    CHECK_EQ_INT(sh.nframes, 2);
    CHECK(sh.shard_key_len == 2 && memcmp(sh.shard_key, "h1", 2) == 0);
    CHECK(sl_jnl_entry_decode(ent[1], lsn2 + 8, len[1], &je) != 0); /* another lap's */
    ent[2][len[2] - 1] ^= 1; /* padding or frame bytes: the checksum no longer matches */
    uint64_t at = lsn;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(pwrite(fd, ent[i], len[i], (off_t)(SL_JNL_DATA_OFF + at % cap)),
                     (ssize_t)len[i]);
        at += len[i];
    }
    close(fd);

    st = open_eng_j(dir, NULL, 0);
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "h0", NULL, &h0), 0);
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "h1", NULL, &h1), 0);
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "h2", NULL, &h2), 0);
    verify(h0, 10);
    verify(h1, 7);
    verify(h2, 4);
    fill(h1, 8, 9); /* appends continue after the restored records */
    verify(h1, 9);
    sl_storage_shard_close(h0);
    sl_storage_shard_close(h1);
    sl_storage_shard_close(h2);
    sl_storage_close(st);
    /* and once more from the segments alone (the replay ended with a checkpoint) */
    st = open_eng_j(dir, NULL, 0);
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "h0", NULL, &h0), 0);
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "h1", NULL, &h1), 0);
    verify(h0, 10);
    verify(h1, 9);
    sl_storage_shard_close(h0);
    sl_storage_shard_close(h1);
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

/* ---- full disk ---- */

/* A disk that is full for everything but the commit journal, whose ring is allocated once written
 * (as on a real disk that filled up after the journal's first lap). */
static bool g_disk_full;
static int g_journal_fds[64];
static int full_open(const char *path, int flags, mode_t mode) {
    int fd = open(path, flags, mode);
    if (fd >= 0 && fd < 64) g_journal_fds[fd] = strstr(path, "journal.jnl") != NULL;
    return fd;
}
static ssize_t full_pwrite(int fd, const void *buf, size_t len, off_t off) {
    if (g_disk_full && !(fd >= 0 && fd < 64 && g_journal_fds[fd])) {
        errno = ENOSPC;
        return -1;
    }
    return pwrite(fd, buf, len, off);
}
static const sl_file_ops_t full_ops = {.open = full_open, .pwrite = full_pwrite};

/* Records acknowledged through the journal cannot reach their segments once the disk is full.
 * Stopping and starting on the full disk must keep them (served from memory, the journal's
 * checkpoint unmoved), refuse appends with SL_ENOSPC, and write them once space returns. */
/* During its first lap the journal file grows by zeros ahead of the write position: the
 * checkpoint thread writes them, not a commit round (which would carry megabytes of them in its
 * fdatasync). After one append the file reaches twice SL_STORAGE_JOURNAL_GROW_BYTES without
 * another round, and no zeros past the first growth come from the thread that writes the
 * journal's entries. */
static _Atomic(pthread_t *) g_grow_writer; /* the thread that wrote the first JRN2 entry */
static pthread_t g_grow_writer_id;
static atomic_int g_grow_zeros_by_writer, g_grow_zeros_by_other;

static ssize_t grow_pwrite(int fd, const void *buf, size_t len, off_t off) {
    static const uint8_t zeros[SL_STORAGE_JOURNAL_GROW_PIECE_BYTES];
    if (len >= 4 && memcmp(buf, "JRN2", 4) == 0 && atomic_load(&g_grow_writer) == NULL) {
        g_grow_writer_id = pthread_self();
        atomic_store(&g_grow_writer, &g_grow_writer_id);
    }
    if (len <= sizeof zeros && memcmp(buf, zeros, len) == 0 &&
        off >= (off_t)(SL_JNL_DATA_OFF + SL_STORAGE_JOURNAL_GROW_BYTES)) {
        pthread_t *w = atomic_load(&g_grow_writer);
        atomic_fetch_add(w && pthread_equal(*w, pthread_self()) ? &g_grow_zeros_by_writer
                                                                : &g_grow_zeros_by_other,
                         1);
    }
    return pwrite(fd, buf, len, off);
}

static void test_journal_grows_ahead(void) {
    fprintf(stderr, "-- commit journal: the checkpoint thread grows the file ahead\n");
    char *dir = new_dir();
    sl_file_ops_t ops = sl_file_ops_posix;
    ops.pwrite = grow_pwrite;
    sl_storage_t *st = open_eng_j(dir, &ops, 0);
    sl_shard_log_t *log;
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "h0", NULL, &log), 0);
    fill(log, 1, 1);
    const off_t want = SL_JNL_DATA_OFF + 2 * (off_t)SL_STORAGE_JOURNAL_GROW_BYTES;
    journal_settle(dir);
    fill(log, 2, 40);
    CHECK_EQ_INT(journal_size(dir), want);
    CHECK(atomic_load(&g_grow_writer) != NULL);
    CHECK_EQ_INT(atomic_load(&g_grow_zeros_by_writer), 0);
    CHECK_EQ_INT(atomic_load(&g_grow_zeros_by_other),
                 SL_STORAGE_JOURNAL_GROW_BYTES / SL_STORAGE_JOURNAL_GROW_PIECE_BYTES);
    verify(log, 40);
    sl_storage_shard_close(log);
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

/* A checkpoint makes the few segments written since the last one durable with one fdatasync each,
 * not with a syncfs of the whole file system (which also writes back every other program's dirty
 * pages, and the journal's fdatasyncs that overlap it wait for them); past
 * SL_STORAGE_CHECKPOINT_SYNC_FILES_MAX segments it runs one syncfs. */
enum { CK_FDS = 1024 };
static atomic_bool g_ck_is_log[CK_FDS];
static atomic_int g_ck_log_syncs[CK_FDS];
static atomic_int g_ck_syncfs;

static int ck_open(const char *path, int flags, mode_t mode) {
    int fd = open(path, flags | O_CLOEXEC, mode);
    size_t n = strlen(path);
    if (fd >= 0 && fd < CK_FDS) {
        atomic_store(&g_ck_is_log[fd], n > 4 && strcmp(path + n - 4, ".log") == 0);
        atomic_store(&g_ck_log_syncs[fd], 0);
    }
    return fd;
}
static int ck_close(int fd) {
    if (fd >= 0 && fd < CK_FDS) atomic_store(&g_ck_is_log[fd], false);
    return close(fd);
}
static int ck_fdatasync(int fd) {
    if (fd >= 0 && fd < CK_FDS && atomic_load(&g_ck_is_log[fd]))
        atomic_fetch_add(&g_ck_log_syncs[fd], 1);
    return fdatasync(fd);
}
static int ck_syncfs(int fd) {
    atomic_fetch_add(&g_ck_syncfs, 1);
    return syncfs(fd);
}

static int ck_logs_synced(void) {
    int synced = 0;
    for (int i = 0; i < CK_FDS; i++)
        synced += atomic_load(&g_ck_is_log[i]) && atomic_load(&g_ck_log_syncs[i]) > 0;
    return synced;
}

/* Opens n shards and appends 3 records to each (a record per round: nothing but a checkpoint
 * syncs a segment), then waits for checkpoints to sync the n segments, or any syncfs. */
static sl_storage_t *ck_run(const char *dir, int n, sl_shard_log_t **logs) {
    sl_file_ops_t ops = sl_file_ops_posix;
    ops.open = ck_open;
    ops.close = ck_close;
    ops.fdatasync = ck_fdatasync;
    ops.syncfs = ck_syncfs;
    atomic_store(&g_ck_syncfs, 0);
    sl_storage_t *st = open_eng_j(dir, &ops, 0);
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "h%d", i);
        CHECK_EQ_INT(sl_storage_shard_open(st, "s", key, NULL, &logs[i]), 0);
        fill(logs[i], 1, 3);
    }
    for (int i = 0; i < 800 && ck_logs_synced() < n && atomic_load(&g_ck_syncfs) == 0; i++)
        usleep(10000);
    return st;
}

static void test_checkpoint_syncs_segments(void) {
    fprintf(stderr,
            "-- commit journal: a checkpoint fdatasyncs the segments it needs, not syncfs\n");
    char *dir = new_dir();
    sl_shard_log_t *logs[SL_STORAGE_CHECKPOINT_SYNC_FILES_MAX + 1];
    sl_storage_t *st = ck_run(dir, 4, logs);
    CHECK_EQ_INT(atomic_load(&g_ck_syncfs), 0);
    CHECK_EQ_INT(ck_logs_synced(), 4);
    for (int i = 0; i < 4; i++)
        sl_storage_shard_close(logs[i]);
    sl_storage_close(st);
    st = open_eng_j(dir, NULL, 0);
    for (int i = 0; i < 4; i++) {
        char key[16];
        snprintf(key, sizeof key, "h%d", i);
        CHECK_EQ_INT(sl_storage_shard_open(st, "s", key, NULL, &logs[i]), 0);
        verify(logs[i], 3);
    }
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);

    fprintf(stderr, "-- commit journal: a checkpoint of many segments runs one syncfs\n");
    dir = new_dir();
    const int many = SL_STORAGE_CHECKPOINT_SYNC_FILES_MAX + 1;
    st = ck_run(dir, many, logs);
    CHECK(atomic_load(&g_ck_syncfs) > 0);
    for (int i = 0; i < many; i++)
        sl_storage_shard_close(logs[i]);
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

/* A full tail written to its segment starts its write-back (sync_file_range) on the checkpoint
 * thread: the call blocks while the device's queue is full, and a commit round would wait. */
static atomic_int g_wb_by_writer, g_wb_by_other;
static _Atomic(pthread_t *) g_wb_writer; /* the thread that wrote the first JRN2 entry */
static pthread_t g_wb_writer_id;

static ssize_t wb_pwrite(int fd, const void *buf, size_t len, off_t off) {
    if (len >= 4 && memcmp(buf, "JRN2", 4) == 0 && atomic_load(&g_wb_writer) == NULL) {
        g_wb_writer_id = pthread_self();
        atomic_store(&g_wb_writer, &g_wb_writer_id);
    }
    return pwrite(fd, buf, len, off);
}

static int wb_sync_file_range(int fd, off_t off, off_t len, unsigned int flags) {
    if (flags == SYNC_FILE_RANGE_WRITE) { /* (the journal's growth waits for its pieces) */
        pthread_t *w = atomic_load(&g_wb_writer);
        atomic_fetch_add(w && pthread_equal(*w, pthread_self()) ? &g_wb_by_writer : &g_wb_by_other,
                         1);
    }
    return sync_file_range(fd, off, len, flags);
}

static void test_tail_writeback_off_commit_thread(void) {
    fprintf(stderr,
            "-- commit journal: full tails start their write-back on the checkpoint thread\n");
    char *dir = new_dir();
    sl_file_ops_t ops = sl_file_ops_posix;
    ops.pwrite = wb_pwrite;
    ops.sync_file_range = wb_sync_file_range;
    sl_storage_config_t cfg = {.data_dir = dir,
                               .durability = SL_DURABILITY_SYNC,
                               .segment_bytes = 4u << 20,
                               .file_ops = &ops};
    sl_storage_t *st = NULL;
    CHECK_EQ_INT(sl_storage_open_file(&cfg, &st), 0);
    sl_shard_log_t *log = open_log(st);
    static uint8_t data[4000];
    uint64_t next = 1;
    for (int round = 0; round < 4; round++) { /* 40 KB per round: each fills the tail */
        sl_record_t r[10];
        for (int i = 0; i < 10; i++) {
            memset(data, 'a' + round, sizeof data);
            r[i] = (sl_record_t){.arrival_ms = 1000 + (int64_t)next,
                                 .key = "pk",
                                 .key_len = 2,
                                 .data = data,
                                 .data_len = sizeof data};
        }
        uint64_t got = 0;
        CHECK_EQ_INT(util_append(log, r, 10, &got), 0);
        CHECK_EQ_INT(got, next);
        next += 10;
    }
    for (int i = 0; i < 500 && atomic_load(&g_wb_by_other) < 4; i++)
        usleep(10000);
    CHECK(atomic_load(&g_wb_writer) != NULL);
    CHECK_EQ_INT(atomic_load(&g_wb_by_writer), 0);
    CHECK_EQ_INT(atomic_load(&g_wb_by_other), 4);
    sl_storage_shard_close(log);
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

/* A shard closed after the commit thread wrote its tail out by age (an old tail, with no new index
 * entry) and before the next checkpoint mark: the mark no longer sees the shard, so the close
 * itself must fdatasync the segment, or the checkpoint frees the journal entries of records that
 * are only in the page cache. The file table records a segment descriptor closed with writes no
 * fdatasync (or syncfs) covered. */
static atomic_int g_cc_afd = -1, g_cc_awrites, g_cc_closed_dirty;
static atomic_bool g_cc_adirty, g_cc_closing;

static int cc_open(const char *path, int flags, mode_t mode) {
    int fd = open(path, flags | O_CLOEXEC, mode);
    size_t n = strlen(path);
    if (fd >= 0 && strstr(path, "/ha/") && n > 4 && strcmp(path + n - 4, ".log") == 0)
        atomic_store(&g_cc_afd, fd);
    return fd;
}
static int cc_close(int fd) {
    if (fd >= 0 && fd == atomic_load(&g_cc_afd)) {
        if (atomic_load(&g_cc_closing) && atomic_load(&g_cc_adirty))
            atomic_fetch_add(&g_cc_closed_dirty, 1);
        atomic_store(&g_cc_afd, -1);
    }
    return close(fd);
}
static ssize_t cc_pwrite(int fd, const void *buf, size_t len, off_t off) {
    ssize_t n = pwrite(fd, buf, len, off);
    if (fd >= 0 && fd == atomic_load(&g_cc_afd)) {
        atomic_store(&g_cc_adirty, true);
        atomic_fetch_add(&g_cc_awrites, 1);
    }
    return n;
}
static int cc_fdatasync(int fd) {
    int rc = fdatasync(fd);
    if (rc == 0 && fd >= 0 && fd == atomic_load(&g_cc_afd)) atomic_store(&g_cc_adirty, false);
    return rc;
}
static int cc_syncfs(int fd) {
    int rc = syncfs(fd);
    if (rc == 0) atomic_store(&g_cc_adirty, false);
    return rc;
}

static void test_close_after_age_flush(void) {
    fprintf(stderr, "-- commit journal: closing a shard whose old tail was written out syncs it\n");
    char *dir = new_dir();
    sl_file_ops_t ops = sl_file_ops_posix;
    ops.open = cc_open;
    ops.close = cc_close;
    ops.pwrite = cc_pwrite;
    ops.fdatasync = cc_fdatasync;
    ops.syncfs = cc_syncfs;
    atomic_store(&g_cc_afd, -1);
    atomic_store(&g_cc_awrites, 0);
    atomic_store(&g_cc_closed_dirty, 0);
    atomic_store(&g_cc_closing, false);
    sl_storage_t *st = open_eng_j(dir, &ops, SL_JNL_CAPACITY_MIN);
    sl_shard_log_t *a = NULL, *b = NULL;
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "ha", NULL, &a), 0);
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "hb", NULL, &b), 0);
    /* a's first records reach its segment and index through a periodic checkpoint (the header
     * is a's first write, the tail its second) */
    fill(a, 1, 3);
    for (int i = 0; i < 1000 && (atomic_load(&g_cc_awrites) < 2 || atomic_load(&g_cc_adirty)); i++)
        usleep(10000);
    CHECK(atomic_load(&g_cc_awrites) >= 2 && !atomic_load(&g_cc_adirty));
    /* one more record for a (its tail), then b's rounds move the journal on until the commit
     * thread writes a's old tail out (a quarter of the ring); the periodic checkpoint is ~2 s
     * away and half of the ring is not reached */
    int w0 = atomic_load(&g_cc_awrites);
    fill(a, 4, 4);
    for (uint64_t seq = 1; atomic_load(&g_cc_awrites) == w0 && seq < 400; seq++)
        fill(b, seq, seq);
    CHECK(atomic_load(&g_cc_awrites) > w0);
    atomic_store(&g_cc_closing, true);
    sl_storage_shard_close(a);
    atomic_store(&g_cc_closing, false);
    CHECK_EQ_INT(atomic_load(&g_cc_closed_dirty), 0);
    sl_storage_shard_close(b);
    sl_storage_close(st);
    st = open_eng_j(dir, NULL, 0);
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "ha", NULL, &a), 0);
    verify(a, 4);
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

static void test_full_disk_restart(void) {
    fprintf(stderr, "-- full disk: journaled records survive stops and starts on the full disk\n");
    char *dir = new_dir();
    g_disk_full = false;
    sl_storage_t *st = open_eng_j(dir, &full_ops, SL_JNL_CAPACITY_MIN);
    sl_shard_log_t *log = open_log(st);
    fill(log, 1, 50);
    g_disk_full = true;
    uint64_t got = 0, last = 50;
    int refused = 0;
    for (uint64_t i = 0; i < 200 && refused < 3; i++) {
        int rc = append_one(log, last + 1, &got);
        if (rc == 0) {
            CHECK_EQ_INT(got, last + 1);
            last++;
        } else {
            CHECK_EQ_INT(rc, SL_ENOSPC);
            refused++;
        }
    }
    CHECK_EQ_INT(refused, 3);
    CHECK(last > 50); /* some were acknowledged through the journal with the segment full */
    verify(log, last);
    sl_storage_close(st);
    for (int round = 0; round < 2; round++) {
        st = open_eng_j(dir, &full_ops, SL_JNL_CAPACITY_MIN); /* the disk is still full */
        log = open_log(st);
        verify(log, last);
        CHECK_EQ_INT(append_one(log, last + 1, &got), SL_ENOSPC);
        sl_storage_close(st);
    }
    g_disk_full = false;
    st = open_eng_j(dir, &full_ops, SL_JNL_CAPACITY_MIN);
    log = open_log(st);
    verify(log, last);
    fill(log, last + 1, last + 10);
    sl_storage_close(st);
    st = open_eng_j(dir, NULL, SL_JNL_CAPACITY_MIN);
    log = open_log(st);
    verify(log, last + 10);
    sl_storage_close(st);
    free(dir);
}

/* Space returns while the server runs: appends are accepted again once the tails are written. */
static void test_full_disk_recovers(void) {
    fprintf(stderr, "-- full disk: appends work again when space returns\n");
    char *dir = new_dir();
    g_disk_full = false;
    sl_storage_t *st = open_eng_j(dir, &full_ops, SL_JNL_CAPACITY_MIN);
    sl_shard_log_t *log = open_log(st);
    fill(log, 1, 20);
    g_disk_full = true;
    uint64_t got = 0, last = 20;
    for (int i = 0; i < 400; i++) {
        int rc = append_one(log, last + 1, &got);
        if (rc) {
            CHECK_EQ_INT(rc, SL_ENOSPC);
            break;
        }
        last++;
    }
    g_disk_full = false;
    int64_t deadline = sl_time_mono_ms() + 5000;
    int rc;
    while ((rc = append_one(log, last + 1, &got)) == SL_ENOSPC && sl_time_mono_ms() < deadline)
        usleep(10000);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(got, last + 1);
    verify(log, last + 1);
    sl_storage_close(st);
    st = open_eng_j(dir, NULL, SL_JNL_CAPACITY_MIN);
    log = open_log(st);
    verify(log, last + 1);
    sl_storage_close(st);
    free(dir);
}

/* ---- a wide round through the real file calls, then a crash ---- */

#define WIDE_SHARDS 1500
#define WIDE_ROUNDS 3

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done;
} wide_wait_t;

static void wide_cb(sl_append_batch_t *b) {
    wide_wait_t *w = b->arg;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

/* The child: batch appends of one record to each of WIDE_SHARDS shards (rounds whose journal
 * entry has more pieces than one pwritev takes, IOV_MAX), all acknowledged, then an exit without
 * closing anything (a crash that keeps what was written). 0 when every group succeeded. */
static int wide_child(const char *dir) {
    sl_storage_t *st = open_eng_j(dir, NULL, 0);
    static sl_shard_log_t *logs[WIDE_SHARDS];
    static sl_append_group_t groups[WIDE_SHARDS];
    static sl_record_t recs[WIDE_SHARDS];
    uint8_t buf[128];
    char key[16];
    for (int i = 0; i < WIDE_SHARDS; i++) {
        snprintf(key, sizeof key, "w%d", i);
        if (sl_storage_shard_open(st, "s", key, NULL, &logs[i])) return 2;
    }
    for (uint64_t seq = 1; seq <= WIDE_ROUNDS; seq++) {
        sl_record_t r = record_of(seq, buf);
        for (int i = 0; i < WIDE_SHARDS; i++) {
            recs[i] = r;
            groups[i] = (sl_append_group_t){.log = logs[i], .records = &recs[i], .n = 1};
        }
        wide_wait_t w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
        sl_append_batch_t b = {.groups = groups, .n = WIDE_SHARDS, .cb = wide_cb, .arg = &w};
        if (sl_storage_append_batch(st, &b) != 0) return 3;
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cond, &w.mu);
        pthread_mutex_unlock(&w.mu);
        for (int i = 0; i < WIDE_SHARDS; i++)
            if (groups[i].status != 0 || groups[i].first_seq != seq) return 4;
    }
    return 0;
}

/* Rounds over many shards go to the journal with pwritev straight from the shards' frames (in
 * several calls when the pieces exceed IOV_MAX); after a crash the journal alone restores every
 * acknowledged record. */
static void test_journal_wide_round_crash(void) {
    fprintf(stderr, "-- commit journal: %d-shard rounds through the real file calls, crash\n",
            WIDE_SHARDS);
    char *dir = new_dir();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(wide_child(dir));
    int wst = 0;
    CHECK_EQ_INT(waitpid(pid, &wst, 0), pid);
    CHECK(WIFEXITED(wst));
    CHECK_EQ_INT(WEXITSTATUS(wst), 0);
    sl_storage_t *st = open_eng_j(dir, NULL, 0);
    char key[16];
    for (int i = 0; i < WIDE_SHARDS; i++) {
        snprintf(key, sizeof key, "w%d", i);
        sl_shard_log_t *log = NULL;
        CHECK_EQ_INT(sl_storage_shard_open(st, "s", key, NULL, &log), 0);
        if (!log) continue;
        verify(log, WIDE_ROUNDS);
        sl_storage_shard_close(log);
    }
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

/* ---- batch sets and single pushes from several threads ---- */

#define MIX_SHARDS 48
#define MIX_THREADS 3
#define MIX_ITERS 200
#define MIX_SINGLES 4

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int left, failed;
} mix_wait_t;

static void mix_done(mix_wait_t *w, int status) {
    pthread_mutex_lock(&w->mu);
    if (status) w->failed++;
    w->left--;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

static void mix_single_cb(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    (void)first_seq;
    (void)arrival_ms;
    mix_done(arg, status);
}

static void mix_batch_cb(sl_append_batch_t *b) {
    int bad = 0;
    for (size_t i = 0; i < b->n; i++)
        bad += b->groups[i].status != 0;
    mix_done(b->arg, bad);
}

static void mix_wait(mix_wait_t *w) {
    pthread_mutex_lock(&w->mu);
    while (w->left > 0)
        pthread_cond_wait(&w->cond, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

typedef struct {
    int t;
    sl_storage_t *st;
    sl_shard_log_t **logs;
    atomic_int *appended; /* records per shard */
    int failed;
} mix_thread_t;

/* A closed loop of one thread: batch appends of one record to every shard, and every third time
 * single appends to a few shards instead; each waits for its acknowledgements. */
static void *mix_thread(void *arg) {
    mix_thread_t *m = arg;
    static const uint8_t data[] = "mixed";
    sl_record_t rec = {
        .arrival_ms = 1000, .key = "pk", .key_len = 2, .data = data, .data_len = sizeof data - 1};
    sl_record_t recs[MIX_SHARDS];
    sl_append_group_t groups[MIX_SHARDS];
    mix_wait_t w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    sl_append_batch_t b; /* the engine uses it until the callback */
    for (int it = 0; it < MIX_ITERS; it++) {
        if ((it + m->t) % 3 == 0) {
            w.left = MIX_SINGLES;
            for (int j = 0; j < MIX_SINGLES; j++) {
                int k = (it * 7 + m->t * 5 + j * 11) % MIX_SHARDS;
                if (sl_storage_append(m->logs[k], &rec, 1, mix_single_cb, &w) != 0) {
                    mix_done(&w, 1);
                    continue;
                }
                atomic_fetch_add(&m->appended[k], 1);
            }
        } else {
            for (int k = 0; k < MIX_SHARDS; k++) {
                recs[k] = rec;
                groups[k] = (sl_append_group_t){.log = m->logs[k], .records = &recs[k], .n = 1};
            }
            w.left = 1;
            b = (sl_append_batch_t){
                .groups = groups, .n = MIX_SHARDS, .cb = mix_batch_cb, .arg = &w};
            if (sl_storage_append_batch(m->st, &b) != 0) {
                m->failed++; /* no callback comes: stop here */
                break;
            }
            for (int k = 0; k < MIX_SHARDS; k++)
                atomic_fetch_add(&m->appended[k], 1);
        }
        mix_wait(&w);
    }
    m->failed += w.failed;
    return NULL;
}

/* Batch appends queue all their groups as one request and single appends a request of one,
 * each pushed without touching its shards, and the commit thread hands every append to its shard:
 * threads doing both at once over the same shards get every append acknowledged (a lost wake-up
 * hangs the closed loops), every record stored once, and each shard's sequence numbers without a
 * gap. */
static void test_mixed_pushes_from_threads(void) {
    fprintf(stderr, "-- commit thread queue: batch and single requests from %d threads\n",
            MIX_THREADS);
    char *dir = new_dir();
    sl_storage_t *st = open_eng_j(dir, NULL, 1u << 20);
    sl_shard_log_t *logs[MIX_SHARDS];
    atomic_int appended[MIX_SHARDS];
    char key[16];
    for (int k = 0; k < MIX_SHARDS; k++) {
        snprintf(key, sizeof key, "m%d", k);
        CHECK_EQ_INT(sl_storage_shard_open(st, "s", key, NULL, &logs[k]), 0);
        atomic_init(&appended[k], 0);
    }
    pthread_t th[MIX_THREADS];
    mix_thread_t m[MIX_THREADS];
    for (int t = 0; t < MIX_THREADS; t++) {
        m[t] = (mix_thread_t){.t = t, .st = st, .logs = logs, .appended = appended};
        CHECK_EQ_INT(pthread_create(&th[t], NULL, mix_thread, &m[t]), 0);
    }
    for (int t = 0; t < MIX_THREADS; t++) {
        CHECK_EQ_INT(pthread_join(th[t], NULL), 0);
        CHECK_EQ_INT(m[t].failed, 0);
    }
    for (int k = 0; k < MIX_SHARDS; k++) {
        uint64_t n = (uint64_t)atomic_load(&appended[k]);
        sl_shard_bounds_t b;
        sl_storage_bounds(logs[k], &b);
        CHECK_EQ_INT(b.next_seq, n + 1);
        int rc;
        sl_read_result_t *res = util_read(logs[k], 1, 1000000, SIZE_MAX, 0, &rc);
        CHECK_EQ_INT(rc, 0);
        if (res) {
            CHECK_EQ_INT(res->count, n);
            size_t bad = 0;
            for (size_t i = 0; i < res->count; i++)
                bad += res->records[i].seq != i + 1;
            CHECK_EQ_INT(bad, 0);
            sl_storage_read_free(res);
        }
        sl_storage_shard_close(logs[k]);
    }
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

typedef struct {
    atomic_int done, failed;
} cw_count_t;

static void cw_cb(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    (void)first_seq;
    (void)arrival_ms;
    cw_count_t *c = arg;
    if (status) atomic_fetch_add(&c->failed, 1);
    atomic_fetch_add(&c->done, 1);
}

typedef struct {
    sl_shard_log_t *log;
    atomic_bool stop;
    int appended, failed;
} cw_writer_t;

/* Keeps appending to its own shard (one at a time) until told to stop. */
static void *cw_writer(void *arg) {
    cw_writer_t *w = arg;
    static const uint8_t data[] = "other";
    sl_record_t r = {.arrival_ms = 1000, .key = "o", .key_len = 1, .data = data, .data_len = 5};
    while (!atomic_load(&w->stop)) {
        if (util_append(w->log, &r, 1, NULL) != 0) {
            w->failed++;
            break;
        }
        w->appended++;
    }
    return NULL;
}

#define CW_ROUNDS 20
#define CW_APPENDS 50

/* Appends touch no shard state (their request names the shard), so a close cannot see them on the
 * shard: it waits for every request queued before it. Appends still queued when the close starts
 * are acknowledged before it returns, and stored; meanwhile another thread keeps appending to
 * another shard, which the close neither waits for beyond what was queued nor disturbs. */
static void test_close_waits_for_queued_appends(void) {
    fprintf(stderr, "-- a close waits for the appends queued before it\n");
    char *dir = new_dir();
    sl_storage_t *st = open_eng_j(dir, NULL, 1u << 20);
    cw_writer_t w = {.stop = false};
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "other", NULL, &w.log), 0);
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, cw_writer, &w), 0);
    static const uint8_t data[] = "queued";
    sl_record_t r = {.arrival_ms = 1000, .key = "q", .key_len = 1, .data = data, .data_len = 6};
    for (int round = 0; round < CW_ROUNDS; round++) {
        sl_shard_log_t *log = NULL;
        CHECK_EQ_INT(sl_storage_shard_open(st, "s", "closing", NULL, &log), 0);
        cw_count_t c;
        atomic_init(&c.done, 0);
        atomic_init(&c.failed, 0);
        int queued = 0;
        for (int i = 0; i < CW_APPENDS; i++)
            if (sl_storage_append(log, &r, 1, cw_cb, &c) == 0) queued++;
        CHECK_EQ_INT(queued, CW_APPENDS);
        sl_storage_shard_close(log);
        CHECK_EQ_INT(atomic_load(&c.done), queued);
        CHECK_EQ_INT(atomic_load(&c.failed), 0);
    }
    atomic_store(&w.stop, true);
    CHECK_EQ_INT(pthread_join(th, NULL), 0);
    CHECK_EQ_INT(w.failed, 0);
    CHECK(w.appended > 0);
    sl_shard_log_t *log = NULL;
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "closing", NULL, &log), 0);
    sl_shard_bounds_t b;
    sl_storage_bounds(log, &b);
    CHECK_EQ_INT(b.next_seq, CW_ROUNDS * CW_APPENDS + 1);
    sl_storage_bounds(w.log, &b);
    CHECK_EQ_INT(b.next_seq, (uint64_t)w.appended + 1);
    sl_storage_shard_close(log);
    sl_storage_shard_close(w.log);
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

#define TC_SHARDS 96

/* A batch append in progress: the record of one seq's payload to each of n logs. */
typedef struct {
    size_t n;
    sl_append_group_t groups[TC_SHARDS];
    sl_record_t recs[TC_SHARDS];
    uint8_t bufs[TC_SHARDS][128];
    mix_wait_t w;
    sl_append_batch_t b;
} tc_async_t;

/* Starts one batch append of record_of(pays[i]) to logs[i] (malloc'ed; tc_finish frees it). */
static tc_async_t *tc_start(sl_storage_t *st, sl_shard_log_t **logs, size_t n,
                            const uint64_t *pays) {
    tc_async_t *a = calloc(1, sizeof *a);
    SL_ASSERT(a != NULL && n <= TC_SHARDS);
    a->n = n;
    for (size_t i = 0; i < n; i++) {
        a->recs[i] = record_of(pays[i], a->bufs[i]);
        a->groups[i] = (sl_append_group_t){.log = logs[i], .records = &a->recs[i], .n = 1};
    }
    a->w =
        (mix_wait_t){.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .left = 1};
    a->b = (sl_append_batch_t){.groups = a->groups, .n = n, .cb = mix_batch_cb, .arg = &a->w};
    CHECK_EQ_INT(sl_storage_append_batch(st, &a->b), 0);
    return a;
}

/* Waits for the batch; each group's status and first seq in st_out and first_out. */
static void tc_finish(tc_async_t *a, int *st_out, uint64_t *first_out) {
    mix_wait(&a->w);
    for (size_t i = 0; i < a->n; i++) {
        st_out[i] = a->groups[i].status;
        first_out[i] = a->groups[i].first_seq;
    }
    free(a);
}

/* One record of payload_of(pay) to each of n logs in one batch append; statuses in st_out. */
static void tc_batch(sl_storage_t *st, sl_shard_log_t **logs, size_t n, uint64_t pay, int *st_out,
                     uint64_t *first_out) {
    uint64_t pays[TC_SHARDS];
    for (size_t i = 0; i < n; i++)
        pays[i] = pay;
    tc_finish(tc_start(st, logs, n, pays), st_out, first_out);
}

/* Opens the n logs <prefix>0.. of stream "s" of st into logs. */
static void open_logs(sl_storage_t *st, const char *prefix, int n, sl_shard_log_t **logs) {
    char key[16];
    for (int k = 0; k < n; k++) {
        snprintf(key, sizeof key, "%s%d", prefix, k);
        CHECK_EQ_INT(sl_storage_shard_open(st, "s", key, NULL, &logs[k]), 0);
    }
}

/* Opens the journaled engine in dir again (a restart) and checks that each of the n logs
 * <prefix>0.. holds exactly seqs 1..last[k]. */
static void reopen_verify(const char *dir, const char *prefix, int n, const uint64_t *last) {
    sl_storage_t *st = open_eng_j(dir, &sl_file_ops_fault, 1u << 20);
    sl_shard_log_t *logs[TC_SHARDS];
    SL_ASSERT(n <= TC_SHARDS);
    open_logs(st, prefix, n, logs);
    for (int k = 0; k < n; k++) {
        verify(logs[k], last[k]);
        sl_storage_shard_close(logs[k]);
    }
    sl_storage_close(st);
}

/* A wide round (many journaled shards) whose journal sync fails: the appends fail, readers
 * (from memory and otherwise) never see their records, the next appends get the same seqs and go
 * to the segment files right after the records before them, and a restart keeps exactly what was
 * acknowledged. */
static void test_wide_round_sync_fails(void) {
    fprintf(stderr, "-- a wide round whose journal sync fails leaves no trace\n");
    char *dir = new_dir();
    sl_storage_t *st = open_eng_j(dir, &sl_file_ops_fault, 1u << 20);
    sl_shard_log_t *logs[TC_SHARDS];
    open_logs(st, "t", TC_SHARDS, logs);
    int status[TC_SHARDS];
    uint64_t first[TC_SHARDS];
    for (uint64_t seq = 1; seq <= 2; seq++) {
        tc_batch(st, logs, TC_SHARDS, seq, status, first);
        for (int k = 0; k < TC_SHARDS; k++) {
            CHECK_EQ_INT(status[k], 0);
            CHECK_EQ_INT(first[k], seq);
        }
    }
    /* the round's only fdatasync is the journal's (its shards exist; no checkpoint is due); its
     * records are longer than those that take their seqs afterwards */
    sl_fault_arm(SL_FAULT_SYNC_EIO, 1, false, false, 1);
    tc_batch(st, logs, TC_SHARDS, 8, status, first);
    sl_fault_disarm();
    int failed = 0;
    for (int k = 0; k < TC_SHARDS; k++)
        failed += status[k] == SL_EIO;
    CHECK_EQ_INT(failed, TC_SHARDS);
    for (int k = 0; k < TC_SHARDS; k++) {
        sl_shard_bounds_t b;
        sl_storage_bounds(logs[k], &b);
        CHECK_EQ_INT(b.next_seq, 3);
        sl_read_result_t *res = NULL;
        int rc = sl_storage_read_memory(logs[k], 1, 100, SIZE_MAX, 0, &res);
        if (rc == 0 && res) {
            CHECK_EQ_INT(res->count, 2);
            sl_storage_read_free(res);
        }
        verify(logs[k], 2);
    }
    /* written directly now (the journal is off after its failure), after the tail: a tail that
     * kept the failed records would have put them in the segment file beyond its records */
    usleep((SL_STORAGE_FAILED_RETRY_MS + 20) * 1000);
    tc_batch(st, logs, TC_SHARDS, 3, status, first);
    for (int k = 0; k < TC_SHARDS; k++) {
        CHECK_EQ_INT(status[k], 0);
        CHECK_EQ_INT(first[k], 3);
        verify(logs[k], 3);
        sl_shard_bounds_t b;
        sl_storage_bounds(logs[k], &b);
        char path[700];
        snprintf(path, sizeof path, "%s/streams/s/t%d/%020d.log", dir, k, 1);
        struct stat sb;
        CHECK_EQ_INT(stat(path, &sb), 0);
        CHECK_EQ_INT((uint64_t)sb.st_size, b.bytes);
        sl_storage_shard_close(logs[k]);
    }
    sl_storage_close(st);
    uint64_t three[TC_SHARDS];
    for (int k = 0; k < TC_SHARDS; k++)
        three[k] = 3;
    reopen_verify(dir, "t", TC_SHARDS, three);
    util_rm_rf(dir);
    free(dir);
}

/* Pipelined rounds (file_commit.c): the next round is taken, written and journaled while the
 * journal's sync of the round before it is in flight (rounds of SL_STORAGE_PIPELINE_MIN_SHARDS
 * shards or more). The fault table holds the first round's journal entry at its write until the
 * second round's appends are queued, then holds that round's sync until the second round's entry
 * is written too (the proof of the overlap: a commit thread that waited for the sync before taking
 * the next round would never write it, and the time limit would let the sync go). PR_BOTH shards
 * are in both rounds, the last one only in the second. When the sync succeeds, both rounds'
 * appends get consecutive seqs. When it fails, the second round fails too (its entry follows the
 * failed one in the journal, where a replay stops): no reader sees either round's records, the
 * next appends take the same seqs and go to the segment files right after seq 1, and a restart
 * keeps exactly what was acknowledged. */
#define PR_BOTH (SL_STORAGE_PIPELINE_MIN_SHARDS + 8)
#define PR_SHARDS (PR_BOTH + 1)
static void test_pipelined_rounds(bool fail) {
    fprintf(stderr, "-- a round journaled while the sync of the one before it is in flight (%s)\n",
            fail ? "that sync fails" : "that sync succeeds");
    SL_ASSERT(PR_SHARDS <= TC_SHARDS);
    char *dir = new_dir();
    sl_storage_t *st = open_eng_j(dir, &sl_file_ops_fault, 1u << 20);
    sl_shard_log_t *logs[PR_SHARDS];
    open_logs(st, "p", PR_SHARDS, logs);
    int s0[PR_SHARDS], s1[PR_SHARDS], s2[PR_SHARDS];
    uint64_t f0[PR_SHARDS], f1[PR_SHARDS], f2[PR_SHARDS], p1[PR_SHARDS], p2[PR_SHARDS],
        last[PR_SHARDS];
    tc_batch(st, logs, PR_SHARDS, 1, s0, f0); /* (creates the shards and the journal's zeros) */
    for (int k = 0; k < PR_SHARDS; k++) {
        CHECK_EQ_INT(s0[k], 0);
        CHECK_EQ_INT(f0[k], 1);
        p1[k] = 2;
        p2[k] = last[k] = k < PR_BOTH ? 3 : 2;
    }
    sl_fault_gate_next_write();
    tc_async_t *g1 = tc_start(st, logs, PR_BOTH, p1);
    CHECK(sl_fault_gate_wait(5000)); /* the commit thread writes g1's journal entry */
    tc_async_t *g2 = tc_start(st, logs, PR_SHARDS, p2);
    sl_fault_hold_next_sync(fail, 2); /* g1's entry, then g2's */
    sl_fault_gate_open();
    tc_finish(g1, s1, f1);
    tc_finish(g2, s2, f2);
    CHECK(sl_fault_hold_released_by_write());
    int bad = 0;
    if (!fail) {
        for (int k = 0; k < PR_SHARDS; k++) {
            bad += k < PR_BOTH && (s1[k] != 0 || f1[k] != 2);
            bad += s2[k] != 0 || f2[k] != last[k];
            verify(logs[k], last[k]);
        }
    } else {
        for (int k = 0; k < PR_SHARDS; k++) {
            bad += k < PR_BOTH && s1[k] != SL_EIO;
            bad += s2[k] != SL_EIO;
            verify(logs[k], 1);
            sl_read_result_t *res = NULL;
            if (sl_storage_read_memory(logs[k], 1, 100, SIZE_MAX, 0, &res) == 0 && res) {
                bad += res->count != 1;
                sl_storage_read_free(res);
            }
        }
        usleep((SL_STORAGE_FAILED_RETRY_MS + 20) * 1000);
        tc_batch(st, logs, PR_SHARDS, 2, s0, f0);
        for (int k = 0; k < PR_SHARDS; k++) {
            bad += s0[k] != 0 || f0[k] != 2;
            last[k] = 2;
            verify(logs[k], 2);
            sl_shard_bounds_t b;
            sl_storage_bounds(logs[k], &b);
            char path[700];
            snprintf(path, sizeof path, "%s/streams/s/p%d/%020d.log", dir, k, 1);
            bad += file_size(path) != (long long)b.bytes;
        }
    }
    CHECK_EQ_INT(bad, 0);
    sl_fault_disarm();
    for (int k = 0; k < PR_SHARDS; k++)
        sl_storage_shard_close(logs[k]);
    sl_storage_close(st);
    reopen_verify(dir, "p", PR_SHARDS, last);
    util_rm_rf(dir);
    free(dir);
}

int main(void) {
    g_root = util_tmpdir("file");
    test_restart();
    test_arrival_after_restart();
    test_lazy_open();
    test_lazy_open_faults();
    test_damage(TORN_HEADER, "torn record header");
    test_damage(TORN_BODY, "torn record body");
    test_damage(BAD_CRC, "bad checksum in the last record");
    test_damage(BAD_CRC_MIDDLE, "bad checksum in a middle record");
    test_damage(GARBAGE_AFTER, "garbage after the last valid record");
    test_damage(ZERO_TAIL, "zero-filled tail");
    test_torn_segment_header();
    test_index_rebuild();
    test_fault_errors();
    test_journal_wrap_and_crash();
    test_journal_deleted_stream();
    test_journal_both_kinds();
    test_journal_wide_round_crash();
    test_mixed_pushes_from_threads();
    test_close_waits_for_queued_appends();
    test_wide_round_sync_fails();
    test_pipelined_rounds(false);
    test_pipelined_rounds(true);
    test_journal_grows_ahead();
    test_checkpoint_syncs_segments();
    test_journal_resize();
    test_close_after_age_flush();
    test_tail_writeback_off_commit_thread();
    test_full_disk_restart();
    test_full_disk_recovers();
    /* SL_TEST_CRASH_ROUNDS raises the number of simulated crashes for soak runs. */
    const char *env = getenv("SL_TEST_CRASH_ROUNDS");
    int rounds = env ? atoi(env) : 60;
    test_crashes(SL_DURABILITY_SYNC, rounds);
    test_journal_chunks_crash(rounds / 3);
    test_crashes(SL_DURABILITY_INTERVAL, rounds / 3);
    if (sl_test_failures == 0)
        util_rm_rf(g_root);
    else
        fprintf(stderr, "data left in %s\n", g_root);
    free(g_root);
    TEST_MAIN_END();
}
