/* The stream commands of `sluice` (create, delete, ls, describe, put, tail, cat, replay), built on
 * libsluice (client/sluice.h). server/main.c dispatches to them. docs/cli.md is the manual. */
#ifndef SL_CLI_STREAMS_H
#define SL_CLI_STREAMS_H

#include <stdbool.h>
#include <stdio.h>

/* True when `name` is one of the stream commands. */
bool sl_cli_is_stream_command(const char *name);

/* Runs command `name` with its arguments (argv[0] is the first option). Returns the exit status:
 * 0 success, 1 the service answered an error or records failed, 2 usage error, 3 the endpoint
 * could not be reached. */
int sl_cli_stream_main(const char *name, int argc, char **argv);

/* One line per stream command for `sluice --help`. */
void sl_cli_stream_usage(FILE *out);

#endif
