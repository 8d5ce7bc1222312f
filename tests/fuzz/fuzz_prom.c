/* Fuzz target: the Prometheus text reader of `sluice top` (cli/prom.c), which reads whatever a
 * server answers on GET /metrics. Every sample it reports lies inside the input with a finite
 * value; label lookups never write past their buffer and always leave it NUL-terminated. The
 * input is copied to a buffer of exactly its size, so a read past it is caught by ASan. */
#include "cli/prom.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *start, *end;
} bounds_t;

static void on_sample(const sl_prom_sample_t *s, void *ctx) {
    const bounds_t *b = ctx;
    if (s->name < b->start || s->name + s->name_len > b->end || s->name_len == 0) abort();
    if (s->labels_len && (s->labels < b->start || s->labels + s->labels_len > b->end)) abort();
    if (s->value != s->value || s->value > 1e300 || s->value < -1e300) abort();
    char small[4], big[256];
    const char *keys[] = {"stream_name", "shard_id", "account_id", ""};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        bool found = sl_prom_label(s->labels, s->labels_len, keys[i], small, sizeof small);
        if (strlen(small) >= sizeof small || (!found && small[0])) abort();
        found = sl_prom_label(s->labels, s->labels_len, keys[i], big, sizeof big);
        if (strlen(big) >= sizeof big || (!found && big[0])) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size ? size : 1);
    if (size) memcpy(s, data, size);
    bounds_t b = {s, s + size};
    sl_prom_parse(s, size, on_sample, &b);
    free(s);
    return 0;
}
