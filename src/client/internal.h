/* libsluice internals shared by its files: the client's resolved settings and its thread. */
#ifndef SL_CLIENT_INTERNAL_H
#define SL_CLIENT_INTERNAL_H

#include "client/sluice.h"
#include "core/buf.h"
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

/* A Kinesis call whose answer is read as it arrives (SubscribeToShard's event stream): no
 * timeout, no buffering beyond what the reader has not taken yet. */
typedef struct sl_client_stream sl_client_stream_t;
int sl_client_stream_open(sl_client_t *client, const char *operation, const char *json, size_t len,
                          sl_client_stream_t **out);
/* Appends the bytes received so far to `into`, waiting up to timeout_ms for some. Returns 1 when
 * bytes were appended, 0 when none came in time, -1 when the answer ended and everything was
 * read, or SL_ENOMEM; *status is the HTTP status (0 before the head), *error 0 or the call's
 * failure (SL_EIO / SL_ECLOSED after the end). */
int sl_client_stream_read(sl_client_stream_t *s, sl_buf_t *into, int timeout_ms, int *status,
                          int *error);
/* Ends the call if it still runs and frees the stream (any thread). */
void sl_client_stream_close(sl_client_stream_t *s);

/* 128-bit hash keys (client/producer.c): a decimal key of up to 39 digits, and MD5 of a
 * partition key as Kinesis routes it. */
typedef unsigned __int128 u128_t;
bool sl_client_u128_parse(const char *s, size_t n, u128_t *out);
u128_t sl_client_md5_key(const char *pk, size_t len);

/* One shard of a ListShards answer, as sl_client_list_shards hands it out (strings are valid
 * during the callback only; absent ones are ""). */
typedef struct {
    const char *id, *parent, *adjacent, *start_hash, *end_hash;
    bool closed; /* has an ending sequence number */
} sl_client_shard_t;
typedef int (*sl_client_shard_fn)(void *ctx, const sl_client_shard_t *shard);

/* Lists every shard of `stream` through ListShards, page after page, calling fn for each (a
 * non-zero return stops and is returned). On a failed call, err gets "<operation>: <code>:
 * <message>" (or a shorter text when there is no answer). */
int sl_client_list_shards(sl_client_t *client, const char *stream, sl_client_shard_fn fn, void *ctx,
                          char *err, size_t err_cap);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t sl_client_now_ms(void);

#endif
