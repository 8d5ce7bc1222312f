/* Fuzz target for the --fault specification (kinesis/fault.h): untrusted text from the command
 * line, the environment or the config file. Nothing may crash; a specification that parses must
 * format back into one that parses to the same rules. */
#include "core/common.h"
#include "kinesis/fault.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl_kfaults_t f, g;
    const char *reason = NULL;
    if (sl_kfaults_parse((const char *)data, size, &f, &reason) != 0) {
        if (!reason) abort(); /* a refusal always says why */
        return 0;
    }
    char text[SL_KINESIS_FAULT_RULES_MAX * 256];
    size_t n = sl_kfaults_format(&f, text, sizeof text);
    if (sl_kfaults_parse(text, n, &g, &reason) != 0 || g.count != f.count) abort();
    for (size_t i = 0; i < f.count; i++) {
        const sl_kfault_rule_t *a = &f.rules[i], *b = &g.rules[i];
        if (strcmp(a->stream, b->stream) || a->ops != b->ops || a->error != b->error ||
            a->latency_ms != b->latency_ms)
            abort();
        /* a rule's glob matches a name spelled like itself without its stars */
        char name[129];
        size_t len = 0;
        for (const char *p = a->stream; *p; p++)
            if (*p != '*') name[len++] = *p;
        if (len && !sl_kfault_glob(a->stream, name, len)) abort();
    }
    return 0;
}
