/* A reader of Prometheus' text exposition format (version 0.0.4), as far as `sluice top` needs it:
 * the samples of a /metrics answer, each with its name, its label list and its value. Comments
 * (# HELP, # TYPE), blank lines and malformed lines are skipped; nothing is allocated. */
#ifndef SL_CLI_PROM_H
#define SL_CLI_PROM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *name; /* not NUL-terminated */
    size_t name_len;
    const char *labels; /* the text between the braces, not NUL-terminated ("" when none) */
    size_t labels_len;
    double value; /* finite */
} sl_prom_sample_t;

typedef void (*sl_prom_sample_fn)(const sl_prom_sample_t *sample, void *ctx);

/* Calls fn for every sample of text[0..len) (need not be NUL-terminated). */
void sl_prom_parse(const char *text, size_t len, sl_prom_sample_fn fn, void *ctx);

/* Copies the value of label `key` of a sample's label list into out (cut to cap - 1 bytes, NUL
 * terminated; the escapes \" \\ \n undone). Returns false, with out "", when the label is absent
 * or the list is malformed. cap must be at least 1. */
bool sl_prom_label(const char *labels, size_t len, const char *key, char *out, size_t cap);

#endif
