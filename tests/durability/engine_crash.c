/* Engine-level crash test (kill -9). The driver runs this program as a writer child process that
 * appends to a shard log of the file engine (durability=sync) as fast as it can, with many appends
 * in flight, and prints "A <first_seq> <count>" (flushed) for every acknowledged append. The driver
 * kills it with SIGKILL at a random moment, reads every acknowledgement the child managed to print,
 * reopens the log in-process and checks that every acknowledged record is present with the payload
 * derived from its seq, that the log is a clean prefix, then starts the next writer on the same
 * log. Usage: durability_engine_crash [rounds]   (the writer mode is internal: --writer <dir>) */
#include "storage_util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#define MAX_PAYLOAD 3000

static size_t payload_of(uint64_t seq, uint8_t *out) {
    size_t len = 1 + (size_t)((seq * 2654435761u) % MAX_PAYLOAD);
    uint64_t x = seq * 0x9E3779B97F4A7C15ull + 11;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[i] = (uint8_t)x;
    }
    return len;
}

/* ---- writer ---- */

static pthread_mutex_t w_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t w_cond = PTHREAD_COND_INITIALIZER;
static int w_outstanding;

typedef struct {
    uint64_t expect;
    size_t n;
} wop_t;

static void writer_cb(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    (void)arrival_ms;
    wop_t *op = arg;
    if (status != 0) {
        fprintf(stderr, "writer: append failed: %s\n", sl_strerror(status));
        _exit(3);
    }
    if (first_seq != op->expect) {
        fprintf(stderr, "writer: got seq %llu, expected %llu\n", (unsigned long long)first_seq,
                (unsigned long long)op->expect);
        _exit(4);
    }
    printf("A %llu %zu\n", (unsigned long long)first_seq, op->n);
    fflush(stdout);
    free(op);
    pthread_mutex_lock(&w_mu);
    w_outstanding--;
    pthread_cond_signal(&w_cond);
    pthread_mutex_unlock(&w_mu);
}

static int writer_main(const char *dir) {
    sl_storage_config_t cfg = {
        .data_dir = dir, .durability = SL_DURABILITY_SYNC, .segment_bytes = 256 * 1024};
    sl_storage_t *st;
    sl_shard_log_t *log;
    if (sl_storage_open_file(&cfg, &st) ||
        sl_storage_shard_open(st, "crash", "shard-0", NULL, &log))
        return 2;
    sl_shard_bounds_t b;
    sl_storage_bounds(log, &b);
    uint64_t next = b.next_seq;
    static uint8_t bufs[8][MAX_PAYLOAD];
    for (uint64_t k = 0;; k++) {
        size_t n = 1 + (size_t)(k % 8);
        sl_record_t r[8];
        for (size_t i = 0; i < n; i++) {
            size_t len = payload_of(next + i, bufs[i]);
            r[i] = (sl_record_t){.arrival_ms = sl_time_now_ms(),
                                 .key = "pk",
                                 .key_len = 2,
                                 .data = bufs[i],
                                 .data_len = len};
        }
        pthread_mutex_lock(&w_mu);
        while (w_outstanding >= 64)
            pthread_cond_wait(&w_cond, &w_mu);
        w_outstanding++;
        pthread_mutex_unlock(&w_mu);
        wop_t *op = malloc(sizeof *op);
        op->expect = next;
        op->n = n;
        int rc = sl_storage_append(log, r, n, writer_cb, op);
        if (rc) {
            fprintf(stderr, "writer: append refused: %s\n", sl_strerror(rc));
            return 3;
        }
        next += n;
    }
}

/* ---- driver ---- */

static int verify(const char *dir, uint64_t acked, uint64_t *tip_out) {
    sl_storage_config_t cfg = {
        .data_dir = dir, .durability = SL_DURABILITY_SYNC, .segment_bytes = 256 * 1024};
    sl_storage_t *st;
    sl_shard_log_t *log;
    if (sl_storage_open_file(&cfg, &st) ||
        sl_storage_shard_open(st, "crash", "shard-0", NULL, &log)) {
        fprintf(stderr, "driver: cannot reopen the log\n");
        return 1;
    }
    sl_shard_bounds_t b;
    sl_storage_bounds(log, &b);
    int bad = 0;
    if (b.next_seq - 1 < acked) {
        fprintf(stderr, "driver: acknowledged up to seq %llu but the log ends at %llu\n",
                (unsigned long long)acked, (unsigned long long)(b.next_seq - 1));
        bad++;
    }
    uint64_t pos = 1;
    static uint8_t buf[MAX_PAYLOAD];
    while (pos < b.next_seq && bad < 10) {
        int rc;
        sl_read_result_t *res = util_read(log, pos, 10000, 64u << 20, 0, &rc);
        if (!res || res->count == 0) {
            fprintf(stderr, "driver: read at %llu failed: %s\n", (unsigned long long)pos,
                    sl_strerror(rc));
            bad++;
            sl_storage_read_free(res);
            break;
        }
        for (size_t i = 0; i < res->count; i++) {
            const sl_record_t *r = &res->records[i];
            size_t len = payload_of(r->seq, buf);
            if (r->seq != pos + i || r->data_len != len || memcmp(r->data, buf, len) != 0) {
                fprintf(stderr, "driver: record %llu is wrong\n", (unsigned long long)r->seq);
                bad++;
            }
        }
        pos = res->next_seq;
        sl_storage_read_free(res);
    }
    *tip_out = b.next_seq - 1;
    sl_storage_shard_close(log);
    sl_storage_close(st);
    return bad;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--writer") == 0) return writer_main(argv[2]);
    int rounds = argc > 1 ? atoi(argv[1]) : 8;
    char *dir = util_tmpdir("durability");
    srand((unsigned)getpid());
    uint64_t acked_total = 0;
    int failures = 0;
    for (int round = 0; round < rounds && failures == 0; round++) {
        int pfd[2];
        if (pipe(pfd) != 0) return 2;
        pid_t pid = fork();
        if (pid == 0) {
            dup2(pfd[1], STDOUT_FILENO);
            close(pfd[0]);
            close(pfd[1]);
            execl("/proc/self/exe", argv[0], "--writer", dir, (char *)NULL);
            _exit(127);
        }
        close(pfd[1]);
        /* The kill comes at a random moment within a second after the writer's first
         * acknowledgement of the round (a start-up slowed by a loaded machine must not leave the
         * kill before any write); a writer that acknowledges nothing for 60 s is killed then, and
         * fails the round below. */
        int64_t delay = rand() % 1000, kill_at = sl_time_mono_ms() + 60000;
        bool killed = false, timed = false;
        uint64_t acked = acked_total;
        char buf[65536];
        size_t have = 0;
        for (;;) {
            int64_t now = sl_time_mono_ms();
            if (!killed && now >= kill_at) {
                kill(pid, SIGKILL); /* our own child, by pid */
                killed = true;
            }
            struct pollfd p = {.fd = pfd[0], .events = POLLIN};
            int timeout = killed ? 1000 : (int)(kill_at - now);
            if (poll(&p, 1, timeout < 0 ? 0 : timeout) <= 0) continue;
            ssize_t r = read(pfd[0], buf + have, sizeof buf - have - 1);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break; /* EOF: the child is gone and every line it wrote was read */
            have += (size_t)r;
            size_t start = 0;
            for (size_t i = 0; i < have; i++) {
                if (buf[i] != '\n') continue;
                buf[i] = '\0';
                unsigned long long first;
                size_t n;
                if (sscanf(buf + start, "A %llu %zu", &first, &n) == 2 && first + n - 1 > acked)
                    acked = first + n - 1;
                start = i + 1;
            }
            memmove(buf, buf + start, have - start);
            have -= start;
            if (!timed && acked > acked_total) {
                kill_at = sl_time_mono_ms() + delay;
                timed = true;
            }
        }
        close(pfd[0]);
        int status;
        waitpid(pid, &status, 0);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
            fprintf(stderr, "driver: writer exited on its own (status %d)\n", status);
            failures++;
        }
        uint64_t tip = 0;
        failures += verify(dir, acked, &tip);
        fprintf(stderr,
                "round %d: killed after acknowledging up to seq %llu; log ends at %llu (%llu "
                "unacknowledged kept)\n",
                round, (unsigned long long)acked, (unsigned long long)tip,
                (unsigned long long)(tip - acked));
        if (acked <= acked_total) {
            fprintf(stderr, "driver: the writer made no progress\n");
            failures++;
        }
        acked_total = tip;
    }
    if (failures == 0)
        util_rm_rf(dir);
    else
        fprintf(stderr, "data left in %s\n", dir);
    free(dir);
    fprintf(stderr, "%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
