/* `sluice bench` control plane: SigV4 signing shared with the load loop, the HTTP/1.1 response
 * parser shared with it too, a blocking one-call client, and the setup before a run (create the
 * stream and wait for ACTIVE, list shards, register a consumer). Setup is not measured. */
#include "cli/bench_internal.h"

#include "core/arena.h"
#include "core/common.h"
#include "wire/json.h"
#include "wire/sigv4.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int sl_bench_sign(sl_bench_signer_t *s, const sl_bench_cfg_t *cfg, const char *target, const char *sha_hex,
                  int64_t unix_s, char amz_date[17], char *auth, size_t auth_cap) {
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(amz_date, 17, "%Y%m%dT%H%M%SZ", &tm);
    if (!s->have_key || memcmp(s->date8, amz_date, 8) != 0) {
        memcpy(s->date8, amz_date, 8);
        s->date8[8] = 0;
        if (sl_sigv4_derive_key(cfg->secret_key, s->date8, cfg->region, "kinesis", s->key) != 0) return SL_EINVAL;
        s->have_key = true;
    }
    sl_sigv4_header_t hs[4] = {{"content-type", "application/x-amz-json-1.1"},
                               {"host", cfg->authority},
                               {"x-amz-date", amz_date},
                               {"x-amz-target", target}};
    sl_sigv4_sign_input_t in = {.method = "POST", .path = "/", .query = "", .headers = hs, .header_count = 4,
                                .payload_sha256_hex = sha_hex, .amz_date = amz_date,
                                .access_key_id = cfg->access_key, .region = cfg->region, .service = "kinesis",
                                .signing_key = s->key};
    return sl_sigv4_sign(&in, auth, auth_cap);
}

/* ---- HTTP/1.1 responses ---- */

static bool header_is(const char *line, size_t n, const char *name, const char **val, size_t *vlen) {
    size_t nl = strlen(name);
    if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0) return false;
    const char *v = line + nl + 1;
    const char *e = line + n;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
    *val = v;
    *vlen = (size_t)(e - v);
    return true;
}

int sl_bench_h1_parse(const char *buf, size_t len, sl_bench_h1_resp_t *r, sl_buf_t *body) {
    memset(r, 0, sizeof *r);
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end) return len > 65536 ? SL_EINVAL : 0;
    size_t hlen = (size_t)(end - buf) + 4;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0) return SL_EINVAL;
    /* "HTTP/1.x NNN": exactly three digits (len >= 12 was checked above). */
    const char *code = buf + 9;
    for (int i = 0; i < 3; i++) {
        if (code[i] < '0' || code[i] > '9') return SL_EINVAL;
        r->status = r->status * 10 + (code[i] - '0');
    }
    if (r->status < 100) return SL_EINVAL;
    bool chunked = false;
    long long clen = -1;
    const char *line = memchr(buf, '\n', hlen) + 1;
    while (line < end) {
        const char *eol = memchr(line, '\r', (size_t)(end + 2 - line));
        if (!eol) break;
        const char *v;
        size_t vl;
        size_t n = (size_t)(eol - line);
        if (header_is(line, n, "content-length", &v, &vl)) clen = strtoll(v, NULL, 10);
        else if (header_is(line, n, "transfer-encoding", &v, &vl)) chunked = vl >= 7 && strncasecmp(v + vl - 7, "chunked", 7) == 0;
        else if (header_is(line, n, "connection", &v, &vl)) r->close = vl == 5 && strncasecmp(v, "close", 5) == 0;
        else if (header_is(line, n, "x-amzn-errortype", &v, &vl)) {
            size_t c = vl < sizeof r->type - 1 ? vl : sizeof r->type - 1;
            memcpy(r->type, v, c);
            r->type[c] = 0;
        }
        line = eol + 2;
    }
    if (r->status == 204 || r->status == 304 || r->status < 200) clen = 0;
    if (!chunked) {
        if (clen < 0) return SL_EINVAL; /* read-until-close bodies are not used by Kinesis endpoints */
        r->need = hlen + (size_t)clen;
        if (len < r->need) return 0;
        r->consumed = r->need;
        r->body_off = hlen;
        r->body_len = (size_t)clen;
        if (!body) return 1;
        sl_buf_reset(body);
        sl_buf_append(body, buf + hlen, (size_t)clen);
        sl_buf_reserve(body, 1);
        if (sl_buf_failed(body)) return SL_ENOMEM;
        body->data[body->len] = 0;
        return 1;
    }
    /* Chunked: find the last chunk first (no copying), then de-chunk. */
    size_t p = hlen;
    for (;;) {
        const char *crlf = memmem(buf + p, len - p, "\r\n", 2);
        if (!crlf) return 0;
        char *ep;
        unsigned long long sz = strtoull(buf + p, &ep, 16);
        if (ep == buf + p) return SL_EINVAL;
        size_t data = (size_t)(crlf - buf) + 2;
        if (sz == 0) {
            const char *fin = memmem(buf + data - 2, len - (data - 2), "\r\n\r\n", 4);
            if (!fin) return 0;
            r->consumed = (size_t)(fin - buf) + 4;
            break;
        }
        if (len < data + sz + 2) return 0;
        p = data + sz + 2;
    }
    r->chunked = true;
    if (!body) return 1;
    sl_buf_reset(body);
    p = hlen;
    for (;;) {
        const char *crlf = memmem(buf + p, len - p, "\r\n", 2);
        unsigned long long sz = strtoull(buf + p, NULL, 16);
        size_t data = (size_t)(crlf - buf) + 2;
        if (sz == 0) break;
        sl_buf_append(body, buf + data, sz);
        p = data + sz + 2;
    }
    sl_buf_reserve(body, 1);
    if (sl_buf_failed(body)) return SL_ENOMEM;
    body->data[body->len] = 0;
    return 1;
}

void sl_bench_error_kind(int status, const char *body, size_t len, char *out, size_t cap) {
    const char *t = body ? memmem(body, len, "\"__type\":\"", 10) : NULL;
    if (!t) {
        snprintf(out, cap, "HTTP %d", status);
        return;
    }
    t += 10;
    const char *e = memchr(t, '"', len - (size_t)(t - body));
    if (!e) e = body + len;
    const char *hash = memchr(t, '#', (size_t)(e - t));
    if (hash) t = hash + 1;
    snprintf(out, cap, "%d %.*s", status, (int)(e - t), t);
}

/* ---- blocking client ---- */

static int connect_blocking(const sl_bench_cfg_t *cfg) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->port);
    if (getaddrinfo(cfg->host, port, &hints, &res) != 0) return SL_EIO;
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) return SL_EIO;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

int sl_bench_ctl_call(const sl_bench_cfg_t *cfg, const char *op, const char *body, int *status, sl_buf_t *resp) {
    int fd = connect_blocking(cfg);
    if (fd < 0) return fd;
    char target[96], sha[65], amz_date[17], auth[512];
    snprintf(target, sizeof target, "Kinesis_20131202.%s", op);
    sl_sigv4_sha256_hex(body, strlen(body), sha);
    sl_bench_signer_t signer = {0};
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int rc = sl_bench_sign(&signer, cfg, target, sha, now.tv_sec, amz_date, auth, sizeof auth);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    sl_buf_t req, in;
    sl_buf_init(&req);
    sl_buf_init(&in);
    sl_buf_printf(&req,
                  "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: %s\r\n"
                  "X-Amz-Date: %s\r\nAuthorization: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                  cfg->authority, target, amz_date, auth, strlen(body), body);
    rc = SL_EIO;
    size_t off = 0;
    while (off < req.len) {
        ssize_t n = write(fd, req.data + off, req.len - off);
        if (n <= 0) goto done;
        off += (size_t)n;
    }
    for (;;) {
        char *p = sl_buf_reserve(&in, 65536);
        if (!p) goto done;
        ssize_t n = read(fd, p, 65536);
        if (n <= 0) goto done;
        in.len += (size_t)n;
        sl_bench_h1_resp_t r;
        int pr = sl_bench_h1_parse(in.data, in.len, &r, resp);
        if (pr < 0) goto done;
        if (pr == 1) {
            *status = r.status;
            rc = 0;
            goto done;
        }
    }
done:
    close(fd);
    sl_buf_free(&req);
    sl_buf_free(&in);
    return rc;
}

/* ---- setup ---- */

/* Calls op and parses the JSON answer into *doc (arena); returns the HTTP status or a negative code. */
static int call_json(const sl_bench_cfg_t *cfg, const char *op, const char *body, sl_arena_t *arena, sl_buf_t *resp,
                     sl_val_t **doc) {
    int status = 0;
    int rc = sl_bench_ctl_call(cfg, op, body, &status, resp);
    if (rc != 0) {
        fprintf(stderr, "sluice bench: %s: cannot reach %s:%d\n", op, cfg->host, cfg->port);
        return rc;
    }
    *doc = NULL;
    const char *reason;
    if (resp->len) {
        char *copy = sl_arena_alloc(arena, resp->len + 1);
        if (!copy) return SL_ENOMEM;
        memcpy(copy, resp->data, resp->len + 1);
        sl_json_parse(copy, resp->len, arena, doc, &reason);
    }
    return status;
}

static void report(const char *op, int status, const sl_buf_t *resp) {
    fprintf(stderr, "sluice bench: %s failed: HTTP %d %.*s\n", op, status, (int)SL_MIN(resp->len, 400),
            resp->data ? resp->data : "");
}

static void sleep_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int wait_active(sl_bench_cfg_t *cfg, sl_arena_t *arena, sl_buf_t *resp) {
    char body[256];
    snprintf(body, sizeof body, "{\"StreamName\":\"%s\",\"Limit\":1}", cfg->stream);
    for (int i = 0; i < 6000; i++) {
        sl_val_t *doc;
        int st = call_json(cfg, "DescribeStream", body, arena, resp, &doc);
        if (st < 0) return st;
        if (st != 200) {
            report("DescribeStream", st, resp);
            return SL_ENOTFOUND;
        }
        sl_val_t *d = sl_val_get(doc, "StreamDescription");
        size_t n;
        const char *status = sl_val_get_str(d, "StreamStatus", &n);
        const char *arn = sl_val_get_str(d, "StreamARN", &n);
        if (arn) snprintf(cfg->stream_arn, sizeof cfg->stream_arn, "%s", arn);
        if (status && (strcmp(status, "ACTIVE") == 0 || strcmp(status, "UPDATING") == 0)) return 0;
        sl_arena_reset(arena);
        sleep_ms(50);
    }
    fprintf(stderr, "sluice bench: stream %s did not become ACTIVE\n", cfg->stream);
    return SL_ELIMIT;
}

static int list_shards(sl_bench_cfg_t *cfg, sl_arena_t *arena, sl_buf_t *resp) {
    char body[2048];
    snprintf(body, sizeof body, "{\"StreamName\":\"%s\"}", cfg->stream);
    int cap = 0;
    cfg->shard_count = 0;
    for (;;) {
        sl_val_t *doc;
        int st = call_json(cfg, "ListShards", body, arena, resp, &doc);
        if (st < 0) return st;
        if (st != 200) {
            report("ListShards", st, resp);
            return SL_EINVAL;
        }
        sl_val_t *shards = sl_val_get(doc, "Shards");
        for (size_t i = 0; shards && shards->type == SL_VAL_ARRAY && i < shards->u.arr.count; i++) {
            sl_val_t *s = shards->u.arr.items[i];
            size_t n;
            const char *id = sl_val_get_str(s, "ShardId", &n);
            sl_val_t *range = sl_val_get(s, "SequenceNumberRange");
            if (!id || (range && sl_val_get(range, "EndingSequenceNumber"))) continue; /* closed shards */
            if (cfg->shard_count == cap) {
                cap = cap ? cap * 2 : 64;
                char **ids = realloc(cfg->shard_ids, (size_t)cap * sizeof *ids);
                if (!ids) return SL_ENOMEM;
                cfg->shard_ids = ids;
            }
            cfg->shard_ids[cfg->shard_count++] = strdup(id);
        }
        size_t tl;
        const char *token = sl_val_get_str(doc, "NextToken", &tl);
        if (!token || tl == 0) break;
        snprintf(body, sizeof body, "{\"NextToken\":\"%s\"}", token);
        sl_arena_reset(arena);
    }
    return cfg->shard_count > 0 ? 0 : SL_ENOTFOUND;
}

static int register_consumer(sl_bench_cfg_t *cfg, int index, sl_arena_t *arena, sl_buf_t *resp) {
    char body[1024];
    snprintf(body, sizeof body, "{\"StreamARN\":\"%s\",\"ConsumerName\":\"sluice-bench-%d-%d\"}", cfg->stream_arn,
             (int)getpid(), index);
    sl_val_t *doc;
    int st = call_json(cfg, "RegisterStreamConsumer", body, arena, resp, &doc);
    if (st < 0) return st;
    if (st != 200 && !(resp->data && strstr(resp->data, "ResourceInUseException"))) {
        report("RegisterStreamConsumer", st, resp);
        return SL_EINVAL;
    }
    for (int i = 0; i < 6000; i++) {
        sl_arena_reset(arena);
        st = call_json(cfg, "DescribeStreamConsumer", body, arena, resp, &doc);
        if (st < 0) return st;
        if (st != 200) {
            report("DescribeStreamConsumer", st, resp);
            return SL_EINVAL;
        }
        sl_val_t *d = sl_val_get(doc, "ConsumerDescription");
        size_t n;
        const char *status = sl_val_get_str(d, "ConsumerStatus", &n);
        const char *arn = sl_val_get_str(d, "ConsumerARN", &n);
        if (arn) snprintf(cfg->consumer_arns[index], sizeof cfg->consumer_arns[index], "%s", arn);
        if (status && strcmp(status, "ACTIVE") == 0) return 0;
        sleep_ms(50);
    }
    fprintf(stderr, "sluice bench: consumer did not become ACTIVE\n");
    return SL_ELIMIT;
}

int sl_bench_setup(sl_bench_cfg_t *cfg) {
    sl_arena_t arena;
    sl_arena_init(&arena, 1 << 20);
    sl_buf_t resp;
    sl_buf_init(&resp);
    int rc = 0;
    if (cfg->create) {
        char body[256];
        snprintf(body, sizeof body, "{\"StreamName\":\"%s\",\"ShardCount\":%d}", cfg->stream, cfg->shards);
        int status = 0;
        rc = sl_bench_ctl_call(cfg, "CreateStream", body, &status, &resp);
        if (rc != 0) {
            fprintf(stderr, "sluice bench: cannot reach %s:%d\n", cfg->host, cfg->port);
            goto done;
        }
        if (status != 200 && !(resp.data && strstr(resp.data, "ResourceInUseException"))) {
            report("CreateStream", status, &resp);
            rc = SL_EINVAL;
            goto done;
        }
        cfg->created = status == 200;
    }
    rc = wait_active(cfg, &arena, &resp);
    if (rc != 0) goto done;
    if (cfg->workload == SL_BENCH_READ || cfg->workload == SL_BENCH_SUBSCRIBE || cfg->workload == SL_BENCH_MIXED) {
        sl_arena_reset(&arena);
        rc = list_shards(cfg, &arena, &resp);
        if (rc != 0) goto done;
    }
    if (cfg->workload == SL_BENCH_SUBSCRIBE) {
        cfg->consumer_arns = calloc((size_t)cfg->consumers, sizeof *cfg->consumer_arns);
        if (!cfg->consumer_arns) {
            rc = SL_ENOMEM;
            goto done;
        }
        for (int i = 0; i < cfg->consumers && rc == 0; i++) {
            sl_arena_reset(&arena);
            rc = register_consumer(cfg, i, &arena, &resp);
        }
    }
done:
    sl_buf_free(&resp);
    sl_arena_deinit(&arena);
    return rc;
}

void sl_bench_teardown(const sl_bench_cfg_t *cfg) {
    for (int i = 0; cfg->consumer_arns && i < cfg->consumers; i++) {
        if (!cfg->consumer_arns[i][0]) continue;
        char body[1024];
        snprintf(body, sizeof body, "{\"ConsumerARN\":\"%s\"}", cfg->consumer_arns[i]);
        sl_buf_t resp;
        sl_buf_init(&resp);
        int status;
        sl_bench_ctl_call(cfg, "DeregisterStreamConsumer", body, &status, &resp);
        sl_buf_free(&resp);
    }
}
