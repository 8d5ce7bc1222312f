/* The observability routes of the composition root (docs/observability.md): GET /metrics on the
 * main port (a plain route of the front) and, with --metrics-port, on a listener of its own that
 * serves nothing else. */
#ifndef SL_SERVER_OBSERVE_H
#define SL_SERVER_OBSERVE_H

#include "front/front.h"
#include "net/http.h"

/* Declares the process metrics and registers GET /metrics and GET /ready with the front. /ready
 * answers 200 {"status":"ready"} while *ready is true (the composition root sets it once the
 * catalog is open, storage recovered and the listener accepts writes, and clears it when it
 * starts to close), else 503 {"status":"not ready"}. */
int sl_observe_register(sl_front_t *front, const volatile bool *ready);

/* Starts the --metrics-port listener on bind_address:port (port > 0). */
int sl_observe_start_port(const char *bind_address, int port, sl_http_server_t **out);

#endif
