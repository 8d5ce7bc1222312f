/* Event patterns (EventBridge's syntax, as Lambda's FilterCriteria use it), pure functions over
 * parsed JSON (wire/value.h): a pattern is a JSON object whose keys name fields of the event;
 * a value is a nested pattern (an object) or a list of rules, any of which may match:
 *   "text", 12.5, true, null           equals (null: the field is present and null)
 *   {"prefix": "us-"}                  a string starting with it ({"prefix": {"equals-ignore-case":
 *                                       "us-"}} ignores case)
 *   {"suffix": ".png"}                 a string ending with it (also with equals-ignore-case)
 *   {"equals-ignore-case": "Text"}     a string equal to it ignoring ASCII case
 *   {"wildcard": "img*.png"}           '*' matches any run of characters
 *   {"anything-but": x | [x, ...] | {"prefix": p} | {"suffix": s}}
 *                                      present, and none of them
 *   {"numeric": [">", 0, "<=", 5]}     a number within every bound (=, <, <=, >, >=)
 *   {"exists": true | false}           the field is present / absent
 * Every key of a pattern must match (AND); "$or": [pattern, ...] matches when one of them does.
 * An event field that is an array matches when one of its elements does. */
#ifndef SL_ESM_PATTERN_H
#define SL_ESM_PATTERN_H

#include "wire/value.h"

#include <stdbool.h>

/* Checks that `pattern` is a pattern this matcher understands; on failure *reason says why (a
 * static text). Patterns deeper than SL_WIRE_DEPTH_MAX are refused. */
bool sl_pattern_check(const sl_val_t *pattern, const char **reason);

/* Does `event` (a map; NULL = an empty event) match `pattern` (checked by sl_pattern_check)? */
bool sl_pattern_match(const sl_val_t *pattern, const sl_val_t *event);

#endif
