/* Microbenchmark of the PutRecords hot path in the wire layer: JSON-parsing a 500-record
 * PutRecords body (100-byte records, base64) into the arena, base64-decoding every record, and
 * base64-encoding the same data (GetRecords direction). Prints MB/s of input processed.
 * Usage: bench_wire [seconds per benchmark, default 1] */
#include "core/arena.h"
#include "core/buf.h"
#include "wire/base64.h"
#include "wire/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECORDS 500
#define RECORD_BYTES 100

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    double budget = argc > 1 ? atof(argv[1]) : 1.0;
    uint8_t rec[RECORD_BYTES];
    char b64[200];
    sl_buf_t body = SL_BUF_INIT;
    sl_buf_append_str(&body, "{\"StreamName\":\"bench-stream\",\"Records\":[");
    for (int i = 0; i < RECORDS; i++) {
        for (int k = 0; k < RECORD_BYTES; k++)
            rec[k] = (uint8_t)(i * 31 + k * 7);
        sl_base64_encode(rec, RECORD_BYTES, b64);
        b64[sl_base64_encoded_len(RECORD_BYTES)] = 0;
        sl_buf_printf(&body, "%s{\"Data\":\"%s\",\"PartitionKey\":\"partition-key-%d\"}",
                      i ? "," : "", b64, i);
    }
    sl_buf_append_str(&body, "]}");
    char *work = malloc(body.len + 1);
    sl_arena_t arena;
    sl_arena_init(&arena, 64 * 1024);

    /* 1. JSON parse (the copy that restores the body each round is included). */
    long iters = 0;
    double t0 = now_s(), t;
    do {
        memcpy(work, body.data, body.len);
        work[body.len] = 0;
        sl_val_t *v;
        const char *reason;
        if (sl_json_parse(work, body.len, &arena, &v, &reason) != 0) {
            fprintf(stderr, "parse failed: %s\n", reason);
            return 1;
        }
        sl_arena_reset(&arena);
        iters++;
    } while ((t = now_s()) - t0 < budget);
    double json_mbs = (double)body.len * (double)iters / (t - t0) / 1e6;
    printf("json_parse   PutRecords body %zu bytes (500 x 100-byte records): %8.1f MB/s  (%.1f "
           "us/request)\n",
           body.len, json_mbs, (t - t0) / (double)iters * 1e6);

    /* 2. base64 decode of 500 records of 136 characters. */
    size_t enc_len = sl_base64_encoded_len(RECORD_BYTES);
    char *encs = malloc(enc_len * RECORDS);
    for (int i = 0; i < RECORDS; i++) {
        for (int k = 0; k < RECORD_BYTES; k++)
            rec[k] = (uint8_t)(i * 31 + k * 7);
        sl_base64_encode(rec, RECORD_BYTES, encs + (size_t)i * enc_len);
    }
    uint8_t out[RECORD_BYTES + 3];
    iters = 0;
    t0 = now_s();
    do {
        for (int i = 0; i < RECORDS; i++) {
            size_t n;
            if (sl_base64_decode(encs + (size_t)i * enc_len, enc_len, out, &n, NULL) != SL_B64_OK)
                return 1;
        }
        iters++;
    } while ((t = now_s()) - t0 < budget);
    printf("b64_decode   136-char records:                             %8.1f MB/s of base64 text\n",
           (double)enc_len * RECORDS * (double)iters / (t - t0) / 1e6);

    /* 3. base64 decode of one large 1 MiB blob. */
    size_t big = 1 << 20;
    uint8_t *raw = malloc(big), *dec = malloc(big);
    for (size_t i = 0; i < big; i++)
        raw[i] = (uint8_t)(i * 2654435761u >> 13);
    char *bigenc = malloc(sl_base64_encoded_len(big));
    sl_base64_encode(raw, big, bigenc);
    iters = 0;
    t0 = now_s();
    do {
        size_t n;
        if (sl_base64_decode(bigenc, sl_base64_encoded_len(big), dec, &n, NULL) != SL_B64_OK)
            return 1;
        iters++;
    } while ((t = now_s()) - t0 < budget);
    printf("b64_decode   1 MiB blob:                                   %8.1f MB/s of base64 text\n",
           (double)sl_base64_encoded_len(big) * (double)iters / (t - t0) / 1e6);

    /* 4. base64 encode of the 1 MiB blob. */
    iters = 0;
    t0 = now_s();
    do {
        sl_base64_encode(raw, big, bigenc);
        iters++;
    } while ((t = now_s()) - t0 < budget);
    printf("b64_encode   1 MiB blob:                                   %8.1f MB/s of input bytes\n",
           (double)big * (double)iters / (t - t0) / 1e6);

    free(raw);
    free(dec);
    free(bigenc);
    free(encs);
    free(work);
    sl_arena_deinit(&arena);
    sl_buf_free(&body);
    return 0;
}
