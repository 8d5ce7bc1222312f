/* FilterCriteria (see esm.h): AWS's event-pattern syntax (EventBridge's) applied to a Kinesis
 * record, with its data base64-decoded and parsed as JSON. */
#ifndef SL_ESM_FILTER_H
#define SL_ESM_FILTER_H

#include "esm/internal.h"

/* Is the text a pattern the matcher takes (JSON object, known operators)? */
bool sl_esm_pattern_valid(const char *text);
/* Parses the mapping's patterns (after a create, an update, a load); frees the old ones. */
void sl_esm_filter_compile(mapping_t *m);
void sl_esm_filter_free(mapping_t *m);
/* True when the record matches one of the mapping's patterns (or it has none). */
bool sl_esm_filter_match_record(const mapping_t *m, const rec_t *r);

#endif
