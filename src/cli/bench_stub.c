/* Placeholder until the load generator lands. */
#include "cli/bench.h"

#include <stdio.h>

int sl_bench_main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "sluice bench: not built yet\n");
    return 2;
}
