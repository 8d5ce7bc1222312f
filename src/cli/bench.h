/* `sluice bench`: a load generator speaking the Kinesis API to any endpoint (Sluice, kinesalite,
 * kinesis-mock, AWS), over HTTP/1.1 or HTTP/2, in open-loop or closed-loop mode. */
#ifndef SL_CLI_BENCH_H
#define SL_CLI_BENCH_H

/* Entry point for `sluice bench [options]` (argv excludes "bench"). Returns the exit status. */
int sl_bench_main(int argc, char **argv);

#endif
