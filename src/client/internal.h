/* libsluice internals shared by its files: the client's resolved settings and its thread. */
#ifndef SL_CLIENT_INTERNAL_H
#define SL_CLIENT_INTERNAL_H

#include "client/sluice.h"
#include "net/loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Endpoint, region and credentials after resolution (client/profile.c). Strings are heap copies
 * owned by the struct. */
typedef struct {
    char *endpoint_url; /* as given */
    char *origin;       /* scheme://authority for the HTTP client */
    char *authority;    /* host[:port], the signed Host header */
    char *region;
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL when none */
} sl_client_settings_t;

/* Resolves cfg against the environment and the profile files. Returns 0, SL_EINVAL (with a
 * message on stderr-free *why) or SL_ENOMEM. */
int sl_client_settings_resolve(const sl_client_config_t *cfg, sl_client_settings_t *out,
                               const char **why);
void sl_client_settings_free(sl_client_settings_t *s);

/* The client's loop (its thread runs it). Producers schedule their work there. */
sl_loop_t *sl_client_loop(sl_client_t *client);

/* 128-bit hash keys (client/producer.c): a decimal key of up to 39 digits, and MD5 of a
 * partition key as Kinesis routes it. */
typedef unsigned __int128 u128_t;
bool sl_client_u128_parse(const char *s, size_t n, u128_t *out);
u128_t sl_client_md5_key(const char *pk, size_t len);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t sl_client_now_ms(void);

#endif
