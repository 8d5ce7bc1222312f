/* `sluice check` and `sluice repair` (docs/operations.md): report the state of a data directory
 * without changing it, and rebuild what can be rebuilt from the segments on disk. */
#ifndef SL_SERVER_CHECK_H
#define SL_SERVER_CHECK_H

#include <stdbool.h>

/* Runs `sluice check` (repair false) or `sluice repair` with the arguments after the command name
 * (the serve options: --data-dir, --region, --account-id, --config). Returns the exit status: 0
 * when the data directory is clean (after repairing, for repair), 1 when problems remain, 2 for
 * bad arguments. */
int sl_check_main(int argc, char **argv, bool repair);

#endif
