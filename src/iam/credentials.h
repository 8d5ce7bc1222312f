/* The bootstrap credentials file of `--credentials FILE` (docs/security.md): the AWS shared
 * credentials INI format, one section per principal,
 *
 *     [admin]
 *     aws_access_key_id = AKIAIOSFODNN7EXAMPLE
 *     aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
 *     account_id = 111122223333        ; Sluice: the principal's account (default --account-id)
 *     admin = true                     ; Sluice: allowed everything in its account
 *     aws_session_token = ...          ; optional: the request must carry it
 *     expiration = 2026-12-31T00:00:00Z ; optional: after it, ExpiredTokenException
 *
 * The section name is the principal's user name (its ARN is arn:aws:iam::<account>:user/<name>).
 * Other keys (region, output, ...) are ignored, as the AWS tools ignore keys they do not use.
 *
 * The file is re-read when it changes (its size, modification time or inode), checked at most
 * every SL_AUTH_FILE_CHECK_MS by a lookup; a file that no longer parses keeps the principals of
 * the last good one, and the error is logged. Secrets are never logged.
 *
 * Threads: lookups run on network threads concurrently; a reload takes the table's write lock. */
#ifndef SL_IAM_CREDENTIALS_H
#define SL_IAM_CREDENTIALS_H

#include "core/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char access_key_id[SL_AUTH_ACCESS_KEY_BYTES_MAX];
    char secret[SL_AUTH_SECRET_BYTES_MAX];
    char account_id[16];
    char user_name[SL_AUTH_NAME_BYTES_MAX];
    char session_token[SL_AUTH_SESSION_TOKEN_BYTES_MAX]; /* "" = none */
    int64_t expiration_s;                                /* 0 = never */
    bool admin;
} sl_iam_principal_t;

typedef struct sl_iam_creds sl_iam_creds_t;

/* Reads `path`; principals without account_id get default_account. Returns 0, or SL_EINVAL
 * (logged with the file's line) for a file that does not parse, SL_EIO when it cannot be read. */
int sl_iam_creds_open(const char *path, const char *default_account, sl_iam_creds_t **out);
void sl_iam_creds_close(sl_iam_creds_t *creds);

/* The principal of an access key id (copied to *out), after re-reading the file if it changed.
 * Returns 0 or SL_ENOTFOUND. */
int sl_iam_creds_lookup(sl_iam_creds_t *creds, const char *access_key_id, sl_iam_principal_t *out);

/* Whether a principal of the file belongs to account_id (after re-reading the file if it
 * changed). */
bool sl_iam_creds_names_account(sl_iam_creds_t *creds, const char *account_id);

/* Parses the text of a credentials file (for tests and the fuzz target): the number of
 * principals in *count, or SL_EINVAL with a static reason and the 1-based line in *err_line. */
int sl_iam_creds_parse(const char *text, size_t len, const char *default_account,
                       sl_iam_principal_t *out, size_t cap, size_t *count, const char **reason,
                       int *err_line);

#endif
