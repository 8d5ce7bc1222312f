/* Fuzz target for `sluice check`'s read-only verification of a shard log and of the commit journal
 * (storage/verify.c): the input becomes a segment file and its index (input: u32 segment length,
 * the segment bytes, then the index bytes) and, whole, a journal file, in a scratch directory.
 * Files on disk are input: any content must give findings, never a crash or an out-of-bounds read.
 */
#include "storage/format.h"
#include "storage/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[256];

static void put_file(const char *path, const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(p, 1, n, f) != n) abort();
    fclose(f);
}

static void say(void *arg, bool problem, const char *file, const char *msg) {
    (void)arg;
    (void)problem;
    (void)file;
    if (!msg) abort();
}

static void cleanup(void) {
    const char *files[] = {"streams/1-s/shardId-000000000000/00000000000000000001.log",
                           "streams/1-s/shardId-000000000000/00000000000000000001.idx",
                           "journal/journal.jnl",
                           "streams/1-s/shardId-000000000000",
                           "streams/1-s",
                           "streams",
                           "journal",
                           ""};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        remove(p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!root[0]) {
        atexit(cleanup);
        snprintf(root, sizeof root, "%s/sluice-fuzz-verify-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(root)) abort();
        char p[512];
        snprintf(p, sizeof p, "%s/streams", root);
        mkdir(p, 0700);
        snprintf(p, sizeof p, "%s/streams/1-s", root);
        mkdir(p, 0700);
        snprintf(p, sizeof p, "%s/streams/1-s/shardId-000000000000", root);
        mkdir(p, 0700);
        snprintf(p, sizeof p, "%s/journal", root);
        mkdir(p, 0700);
    }
    size_t seg_len = size >= 4 ? sl_le32_get(data) : 0;
    const uint8_t *rest = size >= 4 ? data + 4 : data;
    size_t rest_len = size >= 4 ? size - 4 : 0;
    if (seg_len > rest_len) seg_len = rest_len;
    char p[512];
    snprintf(p, sizeof p, "%s/streams/1-s/shardId-000000000000/00000000000000000001.log", root);
    put_file(p, rest, seg_len);
    snprintf(p, sizeof p, "%s/streams/1-s/shardId-000000000000/00000000000000000001.idx", root);
    put_file(p, rest + seg_len, rest_len - seg_len);
    snprintf(p, sizeof p, "%s/journal/journal.jnl", root);
    put_file(p, data, size);
    sl_storage_log_check_t lc;
    if (sl_storage_check_log(root, "1-s", "shardId-000000000000", say, NULL, &lc) == 0) {
        if (lc.exists && lc.segments != 1) abort();
        if (lc.next_seq < lc.first_seq) abort();
    }
    sl_storage_journal_check_t jc;
    (void)sl_storage_check_journal(root, say, NULL, &jc);
    return 0;
}
