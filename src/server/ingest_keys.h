/* The API keys of the HTTP ingest front (--ingest-keys FILE; docs/ingest.md): a table of
 * `key stream-pattern records-per-second` lines, re-read when the file changes, and a token bucket
 * per key. The ingest binding (api/ingest) asks it through sl_ingest_keys_check. */
#ifndef SL_SERVER_INGEST_KEYS_H
#define SL_SERVER_INGEST_KEYS_H

#include <stddef.h>

typedef struct sl_ingest_keys sl_ingest_keys_t;

/* Loads path. Returns 0, SL_EIO (unreadable; logged) or SL_EINVAL (a malformed line; logged). */
int sl_ingest_keys_open(const char *path, sl_ingest_keys_t **out);
void sl_ingest_keys_close(sl_ingest_keys_t *keys);

/* The sl_ingest_auth_fn of api/ingest/ingest.h (ctx = the table): 0, SL_ENOTFOUND or SL_EAGAIN.
 * Thread-safe. Looks at the file's modification time at most once a second and reloads it when
 * it changed (a reload that fails keeps the previous keys, logged). */
int sl_ingest_keys_check(void *ctx, const char *api_key, const char *stream, size_t records);

#endif
