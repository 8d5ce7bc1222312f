/* application/x-www-form-urlencoded: the request encoding of the AWS Query protocol (IAM, STS,
 * later SQS, SNS, CloudWatch): `Action=GetUser&Version=2010-05-08&UserName=bob`, '&'-separated
 * name=value pairs, '+' for a space and %XX escapes, in a POST body or a GET query string. */
#ifndef SL_WIRE_FORM_H
#define SL_WIRE_FORM_H

#include "core/arena.h"

#include <stddef.h>

typedef struct {
    const char *name; /* decoded, NUL-terminated (arena) */
    size_t name_len;
    const char *value; /* decoded, NUL-terminated (arena); "" for `name` or `name=` */
    size_t value_len;
} sl_form_param_t;

/* Decodes data[0..len) into an arena array of parameters in their order (empty pieces between
 * '&'s are skipped). Returns 0 with *params and *count, or SL_EINVAL with *reason (a static
 * string) for a malformed %-escape or more than SL_FORM_PARAMS_MAX parameters, or SL_ENOMEM. */
int sl_form_parse(const char *data, size_t len, sl_arena_t *arena, sl_form_param_t **params,
                  size_t *count, const char **reason);

/* The value of the first parameter named exactly `name`, or NULL. */
const char *sl_form_get(const sl_form_param_t *params, size_t count, const char *name);

#endif
