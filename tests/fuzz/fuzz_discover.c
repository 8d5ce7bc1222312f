/* Fuzz target for DiscoverInputSchema's inference (analytics/discover.c) and the saved positions
 * of an application's input (kinesis/follow.c for a stream, firehose/reader.c for a delivery
 * stream): the bytes, split at newlines, are the sampled records (JSON objects, delimited text or
 * anything); the first byte picks the row delimiter. The whole input is also restored as a
 * positions file of both kinds. Nothing may crash; a schema must have as many parsed fields per
 * record as columns, and a failure must say why; a parsed Firehose position prints back the same.
 */
#include "analytics/apps.h"
#include "firehose/reader.h"
#include "kinesis/follow.h"

#include <inttypes.h>
#include <stdio.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data, *end = s + size;
    sl_an_discovery_t d;
    memset(&d, 0, sizeof d);
    for (const char *p = s; p < end && d.nraw < 100;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        if (stop > p) sl_an_discovery_add_raw(&d, p, (size_t)(stop - p));
        p = nl ? nl + 1 : end;
    }
    sl_an_discover_infer(&d, size && (data[0] & 1));
    if (d.err.type && !d.err.message[0]) abort();
    if (!d.err.type && (d.schema.ncols == 0 || d.nparsed != d.nraw)) abort();
    for (size_t c = 0; !d.err.type && c < d.schema.ncols; c++)
        if (!d.schema.cols[c].name || !d.schema.cols[c].sql_type) abort();
    sl_an_discovery_free(&d);

    sl_kfollow_config_t fc = {.stream = "s", .start = SL_KSTART_TRIM_HORIZON};
    sl_kfollow_t *f;
    if (sl_kfollow_create(&fc, &f) == 0) {
        sl_kfollow_restore(f, s, size);
        sl_buf_t b = SL_BUF_INIT;
        sl_kfollow_save(f, &b);
        sl_buf_free(&b);
        sl_kfollow_destroy(f);
    }

    uint64_t log_id, next_seq;
    if (sl_firehose_reader_parse(s, size, &log_id, &next_seq) == 0) {
        char text[96];
        int n = snprintf(text, sizeof text, "firehose %" PRIu64 " %" PRIu64 "\n", log_id, next_seq);
        uint64_t l2, n2;
        if (sl_firehose_reader_parse(text, (size_t)n, &l2, &n2) != 0 || l2 != log_id ||
            n2 != next_seq)
            abort();
    }
    return 0;
}
