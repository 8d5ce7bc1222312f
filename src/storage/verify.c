/* Read-only verification of the file engine's segments, indexes and journal (see verify.h). It
 * decodes the files with the same format functions as the engine (format.c, journal.c) and applies
 * the rules of docs/storage-format.md, but never writes: recovery and index rebuilds stay in
 * file.c, which `sluice repair` runs by opening the engine. */
#include "storage/verify.h"

#include "core/common.h"
#include "core/limits.h"
#include "storage/format.h"
#include "storage/internal.h"
#include "storage/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads up to len bytes at off; returns the count read (short at end of file) or -1. */
static ssize_t read_at(int fd, void *buf, size_t len, uint64_t off) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static void sayf(sl_storage_check_say say, void *arg, bool problem, const char *file,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void sayf(sl_storage_check_say say, void *arg, bool problem, const char *file,
                 const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    say(arg, problem, file, msg);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One POINT entry the scan expects: a frame start (seq, offset, arrival). */
typedef struct {
    uint64_t seq, off;
    int64_t arrival;
} point_t;

typedef struct {
    uint64_t base, end_seq, size, valid_end; /* valid_end: offset after the last valid frame */
    int64_t first_arrival, last_arrival;
    uint64_t records;
    bool damaged;
    point_t *points; /* every frame start, for the index check */
    size_t npoints, cap;
} seg_scan_t;

/* Scans a segment's frames from its header on; stops at the first invalid one. */
static int scan_segment(int fd, uint64_t size, uint64_t base, int64_t prev_arrival,
                        seg_scan_t *sc) {
    sc->base = base;
    sc->end_seq = base;
    sc->size = size;
    sc->valid_end = SL_SEG_HEADER_BYTES;
    size_t bcap = 1 << 20;
    uint8_t *buf = malloc(bcap);
    if (!buf) return SL_ENOMEM;
    uint64_t off = SL_SEG_HEADER_BYTES;
    int64_t last = prev_arrival;
    int rc = 0;
    while (off < size) {
        size_t want = (size_t)SL_MIN((uint64_t)bcap, size - off);
        ssize_t got = read_at(fd, buf, want, off);
        if (got < 0) {
            rc = SL_EIO;
            break;
        }
        size_t p = 0;
        bool stop = false;
        while (p < (size_t)got) {
            sl_frame_t f;
            sl_frame_status_t st = sl_frame_decode(buf + p, (size_t)got - p, &f);
            if ((st == SL_FRAME_TORN_BODY || st == SL_FRAME_TORN_HEADER) &&
                off + (uint64_t)got < size) {
                if (p == 0) {
                    /* A frame larger than the buffer: grow it to hold the frame. */
                    size_t need = st == SL_FRAME_TORN_BODY ? f.frame_len : SL_FRAME_HEADER_BYTES;
                    if (need > bcap && need <= SL_FRAME_BYTES_MAX) {
                        uint8_t *nb = realloc(buf, need);
                        if (!nb) {
                            rc = SL_ENOMEM;
                            stop = true;
                            break;
                        }
                        buf = nb;
                        bcap = need;
                        p = SIZE_MAX; /* re-read at off */
                    } else {
                        stop = true;
                    }
                }
                break;
            }
            if (st != SL_FRAME_OK || f.seq != sc->end_seq || f.arrival_ms < last) {
                stop = true;
                break;
            }
            if (sc->npoints == sc->cap) {
                size_t ncap = sc->cap ? sc->cap * 2 : 256;
                point_t *np = realloc(sc->points, ncap * sizeof *np);
                if (!np) {
                    rc = SL_ENOMEM;
                    stop = true;
                    break;
                }
                sc->points = np;
                sc->cap = ncap;
            }
            sc->points[sc->npoints++] = (point_t){f.seq, off + p, f.arrival_ms};
            if (sc->records == 0) sc->first_arrival = f.arrival_ms;
            sc->records++;
            sc->last_arrival = last = f.arrival_ms;
            sc->end_seq++;
            p += f.frame_len;
            sc->valid_end = off + p;
        }
        if (p == SIZE_MAX) continue;
        if (stop || p == 0) break;
        off += p;
    }
    free(buf);
    sc->damaged = rc == 0 && sc->valid_end < size;
    return rc;
}

/* Binary search of the scanned frame starts by offset. */
static const point_t *point_at(const seg_scan_t *sc, uint64_t off) {
    size_t lo = 0, hi = sc->npoints;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sc->points[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < sc->npoints && sc->points[lo].off == off ? &sc->points[lo] : NULL;
}

/* Checks an index file against the scan; returns a reason when it would not be trusted, else NULL.
 */
static const char *check_index(const char *ipath, const seg_scan_t *sc, bool sealed, char *why,
                               size_t cap) {
    int fd = open(ipath, O_RDONLY);
    if (fd < 0) return "missing";
    struct stat st;
    const char *bad = NULL;
    uint8_t h[SL_IDX_HEADER_BYTES];
    uint64_t base;
    uint32_t interval;
    if (fstat(fd, &st) != 0 || read_at(fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
        sl_idx_header_decode(h, &base, &interval) != 0 || base != sc->base ||
        interval != SL_STORAGE_INDEX_INTERVAL_BYTES) {
        bad = "bad header";
        goto out;
    }
    uint64_t n = ((uint64_t)st.st_size - SL_IDX_HEADER_BYTES) / SL_IDX_ENTRY_BYTES;
    if (((uint64_t)st.st_size - SL_IDX_HEADER_BYTES) % SL_IDX_ENTRY_BYTES) {
        bad = "torn last entry";
        goto out;
    }
    bool sealed_seen = false;
    for (uint64_t i = 0; i < n && !bad; i++) {
        uint8_t ent[SL_IDX_ENTRY_BYTES];
        sl_idx_entry_t e;
        if (read_at(fd, ent, sizeof ent, SL_IDX_HEADER_BYTES + i * SL_IDX_ENTRY_BYTES) !=
                (ssize_t)sizeof ent ||
            sl_idx_entry_decode(ent, &e) != 0) {
            snprintf(why, cap, "entry %" PRIu64 " has a bad checksum", i);
            bad = why;
        } else if (e.kind == SL_IDX_SEAL) {
            /* In a damaged segment the scan stopped early: only the seal's length can be checked.
             */
            if (i + 1 != n || (!sc->damaged && e.seq != sc->end_seq) || e.offset != sc->size) {
                snprintf(why, cap,
                         "its seal (seq %" PRIu64 ", length %" PRIu64
                         ") disagrees with the segment",
                         e.seq, e.offset);
                bad = why;
            }
            sealed_seen = true;
        } else if (e.offset < sc->valid_end) { /* entries past damage cannot be checked here */
            const point_t *p = point_at(sc, e.offset);
            if (!p || p->seq != e.seq || p->arrival != e.arrival_ms) {
                snprintf(why, cap,
                         "entry %" PRIu64 " (seq %" PRIu64 " at offset %" PRIu64
                         ") names no such record",
                         i, e.seq, e.offset);
                bad = why;
            }
        }
    }
    if (!bad && sealed && !sealed_seen) bad = "a sealed segment's index has no seal";
out:
    close(fd);
    return bad;
}

int sl_storage_check_log(const char *data_dir, const char *stream_key, const char *shard_key,
                         sl_storage_check_say say, void *arg, sl_storage_log_check_t *out) {
    memset(out, 0, sizeof *out);
    out->first_seq = out->next_seq = 1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/streams/%s/%s", data_dir, stream_key, shard_key);
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : SL_EIO;
    out->exists = true;
    uint64_t *bases = NULL, *ibases = NULL;
    size_t n = 0, cap = 0, ni = 0, icap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t b;
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) {
            out->leftovers++;
            sayf(say, arg, false, de->d_name,
                 "leftover temporary file (the next start deletes it)");
        } else if (sl_seg_name_parse(de->d_name, "log", &b)) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                uint64_t *nb = realloc(bases, cap * sizeof *nb);
                if (!nb) {
                    rc = SL_ENOMEM;
                    break;
                }
                bases = nb;
            }
            bases[n++] = b;
        } else if (sl_seg_name_parse(de->d_name, "idx", &b)) {
            if (ni == icap) {
                icap = icap ? icap * 2 : 16;
                uint64_t *nb = realloc(ibases, icap * sizeof *nb);
                if (!nb) {
                    rc = SL_ENOMEM;
                    break;
                }
                ibases = nb;
            }
            ibases[ni++] = b;
        }
    }
    closedir(d);
    if (rc) goto out;
    if (n) qsort(bases, n, sizeof *bases, cmp_u64);
    for (size_t i = 0; i < ni; i++) {
        if (n && bsearch(&ibases[i], bases, n, sizeof *bases, cmp_u64)) continue;
        char name[SL_SEG_NAME_BYTES];
        sl_seg_name(name, ibases[i], "idx");
        out->leftovers++;
        sayf(say, arg, false, name, "index without a segment (the next start deletes it)");
    }
    if (n == 0) {
        sayf(say, arg, false, NULL, "the directory holds no segment: an empty log");
        goto out;
    }
    out->segments = n;
    int64_t prev_arrival = INT64_MIN;
    uint64_t prev_end = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char name[SL_SEG_NAME_BYTES], iname[SL_SEG_NAME_BYTES], path[4200], ipath[4200];
        sl_seg_name(name, bases[i], "log");
        sl_seg_name(iname, bases[i], "idx");
        snprintf(path, sizeof path, "%s/%s", dir, name);
        snprintf(ipath, sizeof ipath, "%s/%s", dir, iname);
        bool active = i + 1 == n;
        int fd = open(path, O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            if (fd >= 0) close(fd);
            sayf(say, arg, true, name, "cannot be read: %s", strerror(errno));
            out->damaged++;
            continue;
        }
        uint8_t hdr[SL_SEG_HEADER_BYTES];
        uint64_t hbase = 0;
        if (read_at(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
            sl_seg_header_decode(hdr, &hbase) != 0 || hbase != bases[i]) {
            close(fd);
            out->damaged++;
            sayf(say, arg, true, name,
                 "torn or corrupt segment header: %s (%lld bytes); recovery empties it",
                 active ? "nothing in it can be trusted"
                        : "nothing in this sealed segment can be trusted",
                 (long long)st.st_size);
            if (i == 0) out->first_seq = bases[i];
            if (active) out->next_seq = bases[i];
            continue;
        }
        seg_scan_t sc = {0};
        rc = scan_segment(fd, (uint64_t)st.st_size, bases[i], prev_arrival, &sc);
        close(fd);
        if (rc) {
            free(sc.points);
            break;
        }
        if (i > 0 && prev_end < bases[i]) {
            out->gaps++;
            sayf(say, arg, false, name,
                 "records with seq %" PRIu64 "..%" PRIu64
                 " are in no segment (a damaged or missing segment, or seqs "
                 "skipped after a loss)",
                 prev_end, bases[i] - 1);
        } else if (i > 0 && prev_end > bases[i]) {
            sayf(say, arg, true, name, "overlaps its predecessor up to seq %" PRIu64, prev_end - 1);
        }
        if (sc.damaged) {
            out->damaged++;
            sayf(say, arg, true, name,
                 "invalid record at offset %" PRIu64 " of %" PRIu64 " bytes (after seq %" PRIu64
                 "): %s",
                 sc.valid_end, sc.size, sc.end_seq - 1,
                 active ? "the next start cuts the rest (a torn tail after a crash, or damage)"
                        : "a sealed segment: readers skip the damaged records; recovery cuts the "
                          "rest if its index "
                          "is rebuilt");
        }
        char why[200];
        const char *bad = check_index(ipath, &sc, !active, why, sizeof why);
        /* The active segment's index may lag its data (entries are written after a sync): only a
         * damaged index is a problem there, a short one is not. */
        if (bad) {
            out->bad_indexes++;
            sayf(say, arg, true, iname,
                 "index not trusted (%s): rebuilt from the segment by `sluice repair` or at "
                 "the next start",
                 bad);
        }
        if (out->records == 0 && sc.records) {
            out->first_seq = sc.base;
            out->first_arrival_ms = sc.first_arrival;
        }
        if (i == 0 && !sc.records) out->first_seq = sc.base;
        if (sc.records) out->last_arrival_ms = sc.last_arrival;
        out->records += sc.records;
        out->next_seq = sc.end_seq;
        prev_end = sc.end_seq;
        if (sc.records) prev_arrival = sc.last_arrival;
        free(sc.points);
    }
    if (out->records == 0) out->first_seq = out->next_seq;
out:
    free(bases);
    free(ibases);
    return rc;
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of a directory's entries that are directories (NULL-terminated, caller frees).
 */
static char **subdirs(const char *path, size_t *count) {
    *count = 0;
    DIR *d = opendir(path);
    if (!d) return NULL;
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        if (n + 1 >= cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) break;
            v = nv;
        }
        v[n] = strdup(de->d_name);
        if (v[n]) n++;
    }
    closedir(d);
    if (v) {
        qsort(v, n, sizeof *v, name_cmp);
        v[n] = NULL;
    }
    *count = n;
    return v;
}

static void free_names(char **v, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int sl_storage_check_list(const char *data_dir,
                          void (*fn)(void *arg, const char *stream_key, const char *shard_key),
                          sl_storage_check_say say, void *arg) {
    char root[4096];
    snprintf(root, sizeof root, "%s/streams", data_dir);
    size_t ns = 0;
    char **streams = subdirs(root, &ns);
    for (size_t i = 0; i < ns; i++) {
        if (!sl_storage_key_valid(streams[i])) {
            sayf(say, arg, true, NULL, "streams/%s: not a stream key; ignored", streams[i]);
            continue;
        }
        char sd[4200];
        snprintf(sd, sizeof sd, "%s/%s", root, streams[i]);
        size_t nh = 0;
        char **shards = subdirs(sd, &nh);
        for (size_t j = 0; j < nh; j++) {
            if (!sl_storage_key_valid(shards[j])) {
                sayf(say, arg, true, NULL, "streams/%s/%s: not a shard key; ignored", streams[i],
                     shards[j]);
                continue;
            }
            fn(arg, streams[i], shards[j]);
        }
        free_names(shards, nh);
    }
    free_names(streams, ns);
    return 0;
}

int sl_storage_check_journal(const char *data_dir, sl_storage_check_say say, void *arg,
                             sl_storage_journal_check_t *out) {
    memset(out, 0, sizeof *out);
    char path[4096];
    snprintf(path, sizeof path, "%s/journal/journal.jnl", data_dir);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return errno == ENOENT ? 0 : SL_EIO;
    out->exists = true;
    struct stat st;
    uint8_t *h = malloc(SL_JNL_DATA_OFF);
    int rc = 0;
    if (!h) {
        close(fd);
        return SL_ENOMEM;
    }
    if (fstat(fd, &st) != 0 || read_at(fd, h, SL_JNL_DATA_OFF, 0) != (ssize_t)SL_JNL_DATA_OFF ||
        sl_jnl_file_header_decode(h, &out->capacity) != 0) {
        sayf(say, arg, true, "journal/journal.jnl",
             "bad header: the next start cannot use the journal");
        goto out;
    }
    uint64_t g0 = 0, l0 = 0, g1 = 0, l1 = 0;
    bool s0 = sl_jnl_slot_decode(h + SL_JNL_SLOT0_OFF, &g0, &l0) == 0;
    bool s1 = sl_jnl_slot_decode(h + SL_JNL_SLOT1_OFF, &g1, &l1) == 0;
    if (!s0 && !s1) {
        sayf(say, arg, true, "journal/journal.jnl", "no valid checkpoint slot");
        goto out;
    }
    out->header_ok = true;
    out->checkpoint_lsn = s0 && (!s1 || g0 >= g1) ? l0 : l1;
    uint64_t cap = out->capacity, start = out->checkpoint_lsn, pos = start,
             fsize = (uint64_t)st.st_size;
    uint8_t *buf = NULL;
    size_t bcap = 0;
    while (pos - start < cap) {
        uint64_t off = pos % cap;
        if (cap - off < SL_JNL_ENTRY_HEADER_BYTES) {
            pos += cap - off;
            continue;
        }
        uint8_t eh[SL_JNL_ENTRY_HEADER_BYTES];
        if (SL_JNL_DATA_OFF + off + sizeof eh > fsize ||
            read_at(fd, eh, sizeof eh, SL_JNL_DATA_OFF + off) != (ssize_t)sizeof eh)
            break;
        sl_jnl_entry_t je;
        if (sl_jnl_entry_decode(eh, pos, cap - off, &je) != 0) break;
        if (je.kind == SL_JNL_PAD) {
            if (je.len != cap - off) break;
            pos += je.len;
            continue;
        }
        if (SL_JNL_DATA_OFF + off + je.len > fsize) break;
        if (je.len > bcap) {
            uint8_t *nb = realloc(buf, je.len);
            if (!nb) {
                rc = SL_ENOMEM;
                break;
            }
            buf = nb;
            bcap = je.len;
        }
        if (read_at(fd, buf, je.len, SL_JNL_DATA_OFF + off) != (ssize_t)je.len ||
            sl_jnl_entry_check(buf, &je) != 0)
            break;
        out->entries++;
        out->frames += je.nframes;
        pos += je.len;
    }
    free(buf);
out:
    free(h);
    close(fd);
    return rc;
}
