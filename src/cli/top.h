/* `sluice top`: a live terminal view of an endpoint's streams, shards, rates and lag (top.c;
 * docs/cli.md). server/main.c dispatches to it. */
#ifndef SL_CLI_TOP_H
#define SL_CLI_TOP_H

/* Runs `sluice top` with its arguments (argv[0] is the first option). Returns the exit status:
 * 0 success, 1 the service answered an error, 2 usage error, 3 the endpoint could not be
 * reached (the last two only when stdout is not a terminal: a terminal view keeps retrying). */
int sl_cli_top_main(int argc, char **argv);

#endif
