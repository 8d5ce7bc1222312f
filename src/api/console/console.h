/* The web console's routes (docs/console.md): GET /console/... serves the console's files, built
 * by vite and embedded in the binary at build time (console.cmake, embed.cmake); the pages then
 * call Sluice's own AWS APIs from the browser like any other client. No state, no files. */
#ifndef SL_API_CONSOLE_H
#define SL_API_CONSOLE_H

#include "front/front.h"

#include <stddef.h>

/* One embedded file: its path below /console/, its bytes (followed by a NUL not counted in
 * size) and size. The table is generated (build/generated/console_assets.c). */
typedef struct {
    const char *path;
    const unsigned char *data;
    size_t size;
} sl_console_asset_t;

extern const sl_console_asset_t sl_console_assets[];
extern const size_t sl_console_asset_count;
/* "vite" (the bundled build) or "sources" (the unbundled modules, when vite was missing). */
extern const char sl_console_origin[];

/* The embedded file at `path` (relative, "" = index.html), or NULL. */
const sl_console_asset_t *sl_console_find(const char *path, size_t len);

/* Registers GET /console (a redirect to /console/) and GET /console/ (the files). Same errors
 * as sl_front_add_route. */
int sl_console_register(sl_front_t *front);

#endif
