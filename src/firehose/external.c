/* External S3-compatible buckets (docs/firehose.md "External S3"): a destination bucket named in
 * the --s3-external-buckets file is not the account's local bucket but a bucket of another
 * S3-compatible server, which Sluice calls as an S3 client: a path-style PutObject signed with
 * SigV4 (signing name "s3", the payload's SHA-256 in x-amz-content-sha256), sent with net's
 * outbound client (http.c). File format, one bucket a line ('#' starts a comment):
 *     <bucket> <endpoint URL> <access key id> <secret access key> [<region>] */
#include "firehose/internal.h"

#include "core/common.h"
#include "core/log.h"
#include "core/time.h"
#include "net/http.h"
#include "wire/sigv4.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fh_external_parse_line(char *line, fh_external_t *e) {
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char bucket[80], url[320], key[160], secret[160], region[40] = "us-east-1";
    int n = sscanf(line, "%79s %319s %159s %159s %39s", bucket, url, key, secret, region);
    if (n <= 0) return 0;
    if (n < 4 || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        strlen(bucket) >= sizeof e->bucket)
        return -1;
    const char *host = strstr(url, "://") + 3; /* the scheme was checked above */
    memset(e, 0, sizeof *e);
    memcpy(e->bucket, bucket, strlen(bucket) + 1); /* checked above: it fits */
    snprintf(e->authority, sizeof e->authority, "%s", host);
    char *slash = strchr(e->authority, '/');
    if (slash) *slash = 0; /* an endpoint URL with a path is not supported: host only */
    if (!e->authority[0]) return -1;
    size_t scheme = (size_t)(host - url), alen = strlen(e->authority);
    memcpy(e->origin, url, scheme); /* "http://" or "https://" */
    memcpy(e->origin + scheme, e->authority, alen + 1);
    snprintf(e->access_key, sizeof e->access_key, "%s", key);
    snprintf(e->secret, sizeof e->secret, "%s", secret);
    snprintf(e->region, sizeof e->region, "%s", region);
    return 1;
}

int fh_external_load(sl_firehose_t *fh, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        SL_ERROR("firehose: cannot read %s: %s", path, strerror(errno));
        return SL_EINVAL;
    }
    char line[1024];
    int rc = 0, lineno = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        fh_external_t e;
        int r = fh_external_parse_line(line, &e);
        if (r == 0) continue;
        if (r < 0) {
            SL_ERROR("%s:%d: expected <bucket> <endpoint URL> <access key id> <secret> [region]",
                     path, lineno);
            rc = SL_EINVAL;
        } else if (fh->external_count == FH_EXTERNAL_MAX) {
            SL_ERROR("%s: more than %d buckets", path, FH_EXTERNAL_MAX);
            rc = SL_ELIMIT;
        } else {
            fh->externals[fh->external_count++] = e;
        }
    }
    fclose(f);
    return rc;
}

const fh_external_t *fh_external_find(const sl_firehose_t *fh, const char *bucket) {
    for (size_t i = 0; i < fh->external_count; i++)
        if (strcmp(fh->externals[i].bucket, bucket) == 0) return &fh->externals[i];
    return NULL;
}

/* S3's URI encoding of a key in the path: every byte but unreserved ones and '/' as %XX. */
static bool uri_encode(const char *in, char *out, size_t cap) {
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~/", *p);
        if (n + 4 >= cap) return false;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = 0;
    return true;
}

int fh_external_put(sl_firehose_t *fh, const fh_external_t *e, const char *key, const void *data,
                    size_t len, const char *content_encoding, char *why, size_t why_cap) {
    char path[4000], amz_date[17], sha[65], auth[700];
    char raw[1400];
    snprintf(raw, sizeof raw, "/%s/%s", e->bucket, key);
    if (!uri_encode(raw, path, sizeof path)) {
        snprintf(why, why_cap, "key too long");
        return SL_EINVAL;
    }
    sl_sigv4_format_amz_date(sl_time_now_ms() / 1000, amz_date);
    char date8[9];
    memcpy(date8, amz_date, 8);
    date8[8] = 0;
    uint8_t signing_key[32];
    if (sl_sigv4_derive_key(e->secret, date8, e->region, "s3", signing_key) != 0) {
        snprintf(why, why_cap, "secret access key too long");
        return SL_EINVAL;
    }
    sl_sigv4_sha256_hex(data, len, sha);
    sl_sigv4_header_t sh[5] = {{"host", e->authority},
                               {"x-amz-content-sha256", sha},
                               {"x-amz-date", amz_date},
                               {"content-type", "application/octet-stream"},
                               {"content-encoding", content_encoding}};
    sl_sigv4_sign_input_t in = {.method = "PUT",
                                .path = path,
                                .query = "",
                                .headers = sh,
                                .header_count = content_encoding ? 5 : 4,
                                .payload_sha256_hex = sha,
                                .amz_date = amz_date,
                                .access_key_id = e->access_key,
                                .region = e->region,
                                .service = "s3",
                                .signing_key = signing_key};
    if (sl_sigv4_sign(&in, auth, sizeof auth) != 0) {
        snprintf(why, why_cap, "cannot sign the request");
        return SL_EINVAL;
    }
    sl_http_header_t h[6];
    size_t n = 0;
#define H(name, value) h[n++] = (sl_http_header_t){name, strlen(name), value, strlen(value)}
    H("host", e->authority);
    H("x-amz-content-sha256", sha);
    H("x-amz-date", amz_date);
    H("content-type", "application/octet-stream");
    if (content_encoding) H("content-encoding", content_encoding);
    H("authorization", auth);
#undef H
    int status = 0;
    char *resp = NULL;
    size_t resp_len = 0;
    int error =
        fh_http_call(fh, "PUT", e->origin, path, h, n, data, len, &status, &resp, &resp_len);
    int rc = 0;
    if (error) {
        snprintf(why, why_cap, "%s", "the endpoint cannot be reached");
        rc = SL_EIO;
    } else if (status != 200) {
        snprintf(why, why_cap, "status %d: %.200s", status, resp ? resp : "");
        rc = SL_EIO;
    }
    free(resp);
    return rc;
}
