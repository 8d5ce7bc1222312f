/* The observability routes of the composition root (docs/observability.md): GET /metrics on the
 * main port (a plain route of the front) and, with --metrics-port, on a listener of its own that
 * serves nothing else. */
#ifndef SL_SERVER_OBSERVE_H
#define SL_SERVER_OBSERVE_H

#include "front/front.h"
#include "net/http.h"
#include "storage/backend.h"

/* Declares the process metrics and registers GET /metrics and GET /ready with the front. /ready
 * answers 200 {"status":"ready"} while *ready is true (the composition root sets it once the
 * catalog is open, storage recovered and the listener accepts writes, and clears it when it
 * starts to close), else 503 {"status":"not ready"}. */
int sl_observe_register(sl_front_t *front, const volatile bool *ready);

/* Exports what the logs of `storage` occupy on disk (sluice_storage_stream_segments and
 * _stream_bytes per Kinesis stream, sluice_storage_segments and _bytes in total), read from the
 * data directory at each export; default_account names the streams whose keys carry no account.
 * NULL detaches the storage (before it is closed): the series are released. */
void sl_observe_storage(sl_storage_t *storage, const char *default_account);

/* Starts the --metrics-port listener on bind_address:port (port > 0). */
int sl_observe_start_port(const char *bind_address, int port, sl_http_server_t **out);

#endif
