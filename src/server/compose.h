/* The composition root of `sluice serve` (docs/architecture.md, "Start-up"): the one place that
 * knows every layer. It creates the data directory, opens the catalog and chooses and opens the
 * storage backend, injects both into the Kinesis engine, creates the front and registers its routes
 * (each service's descriptor with its account hook, and the plain routes: GET /health), hands the
 * front's handler to the HTTP server and starts its threads. main.c only parses the
 * configuration, calls this and waits for a signal.
 *
 * Accounts (docs/security.md): the root keeps a registry of accounts, each with its own catalog
 * and Kinesis engine over the one shared storage backend (storage keys carry the account). The
 * default account (--account-id) is opened first, from the data directory itself; the others are
 * reopened from <data_dir>/accounts/ at start and created on their first request, chosen by the
 * front from the request's access key id (the account hook of each service's descriptor,
 * sl_front_service_t.account).
 *
 * Ownership: the root owns everything it opened and closes it in reverse order (HTTP server,
 * front, bindings, engines, storage, catalogs), so no request or commit callback can reach a
 * closed layer. */
#ifndef SL_SERVER_COMPOSE_H
#define SL_SERVER_COMPOSE_H

#include "server/config.h"

typedef struct sl_compose sl_compose_t;

/* Opens every layer for cfg and starts serving. Logs the reason and returns a negative SL_E* code
 * when something cannot start (nothing is left open then). cfg is copied. */
int sl_compose_open(const sl_config_t *cfg, sl_compose_t **out);
/* Stops serving (in-flight responses get up to grace_ms), closes every layer. NULL is a no-op. */
void sl_compose_close(sl_compose_t *root, int grace_ms);

#endif
