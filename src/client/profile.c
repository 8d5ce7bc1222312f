/* Where a client's endpoint, region and credentials come from, in the AWS SDKs' order: explicit
 * arguments, then the AWS_* environment variables, then the named profile in the shared
 * credentials file (~/.aws/credentials, sections "[name]") and the config file (~/.aws/config,
 * sections "[profile name]" or "[default]"). The files are INI: "key = value" lines, '#' and ';'
 * comments; nested service sections ("kinesis =" followed by indented lines) are skipped. */
#include "client/internal.h"

#include "core/common.h"
#include "core/limits.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

/* Reads key `key` of section `section` from an INI file into a heap string, or NULL. */
static char *ini_get(const char *path, const char *section, const char *key) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char line[1024];
    bool in_section = false;
    char *found = NULL;
    size_t total = 0;
    while (fgets(line, sizeof line, f) &&
           (total += strlen(line)) <= SL_CLIENT_PROFILE_FILE_BYTES_MAX) {
        bool indented = line[0] == ' ' || line[0] == '\t';
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end) continue;
            *end = 0;
            in_section = strcmp(trim(s + 1), section) == 0;
            continue;
        }
        if (!in_section || indented) continue;
        char *eq = strchr(s, '=');
        if (!eq) continue;
        *eq = 0;
        if (strcmp(trim(s), key) == 0) {
            free(found);
            found = strdup(trim(eq + 1));
        }
    }
    fclose(f);
    return found;
}

/* Looks `key` up in the profile: credentials file first when from_credentials, then config. */
static char *profile_get(const char *profile, const char *key, bool from_credentials) {
    char path[1024], section[300];
    const char *home = env("HOME");
    if (from_credentials) {
        const char *p = env("AWS_SHARED_CREDENTIALS_FILE");
        if (!p && home) {
            snprintf(path, sizeof path, "%s/.aws/credentials", home);
            p = path;
        }
        char *v = p ? ini_get(p, profile, key) : NULL;
        if (v) return v;
    }
    const char *p = env("AWS_CONFIG_FILE");
    if (!p && home) {
        snprintf(path, sizeof path, "%s/.aws/config", home);
        p = path;
    }
    if (!p) return NULL;
    if (strcmp(profile, "default") == 0)
        snprintf(section, sizeof section, "default");
    else
        snprintf(section, sizeof section, "profile %s", profile);
    char *v = ini_get(p, section, key);
    if (!v && strcmp(profile, "default") == 0) v = ini_get(p, "profile default", key);
    return v;
}

/* Splits "scheme://authority[/path]" into origin and authority. */
static int parse_endpoint(const char *url, sl_client_settings_t *out) {
    const char *rest;
    if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else
        return SL_EINVAL;
    size_t n = strcspn(rest, "/?#");
    if (n == 0) return SL_EINVAL;
    out->authority = strndup(rest, n);
    out->origin = strndup(url, (size_t)(rest - url) + n);
    return out->authority && out->origin ? 0 : SL_ENOMEM;
}

int sl_client_settings_resolve(const sl_client_config_t *cfg, sl_client_settings_t *out,
                               const char **why) {
    static const sl_client_config_t none = {0};
    if (!cfg) cfg = &none;
    memset(out, 0, sizeof *out);
    const char *profile = cfg->profile ? cfg->profile : env("AWS_PROFILE");
    if (!profile) profile = "default";

    if (cfg->region)
        out->region = strdup(cfg->region);
    else if (env("AWS_REGION"))
        out->region = strdup(env("AWS_REGION"));
    else if (env("AWS_DEFAULT_REGION"))
        out->region = strdup(env("AWS_DEFAULT_REGION"));
    else
        out->region = profile_get(profile, "region", false);
    if (!out->region) out->region = strdup("us-east-1");

    if (cfg->endpoint_url)
        out->endpoint_url = strdup(cfg->endpoint_url);
    else if (env("AWS_ENDPOINT_URL_KINESIS"))
        out->endpoint_url = strdup(env("AWS_ENDPOINT_URL_KINESIS"));
    else if (env("AWS_ENDPOINT_URL"))
        out->endpoint_url = strdup(env("AWS_ENDPOINT_URL"));
    else
        out->endpoint_url = profile_get(profile, "endpoint_url", false);
    if (!out->endpoint_url && cfg->default_endpoint_url)
        out->endpoint_url = strdup(cfg->default_endpoint_url);
    if (!out->endpoint_url && out->region) {
        char url[300];
        snprintf(url, sizeof url, "https://kinesis.%s.amazonaws.com", out->region);
        out->endpoint_url = strdup(url);
    }

    if (cfg->access_key_id || cfg->secret_access_key) {
        out->access_key_id = dup_or_null(cfg->access_key_id);
        out->secret_access_key = dup_or_null(cfg->secret_access_key);
        out->session_token = dup_or_null(cfg->session_token);
    } else if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
        out->access_key_id = strdup(env("AWS_ACCESS_KEY_ID"));
        out->secret_access_key = strdup(env("AWS_SECRET_ACCESS_KEY"));
        out->session_token = dup_or_null(env("AWS_SESSION_TOKEN"));
    } else {
        out->access_key_id = profile_get(profile, "aws_access_key_id", true);
        out->secret_access_key = profile_get(profile, "aws_secret_access_key", true);
        out->session_token = profile_get(profile, "aws_session_token", true);
    }
    if (!out->access_key_id || !out->secret_access_key) {
        /* Sluice does not verify signatures unless configured to: sign with a placeholder. */
        free(out->access_key_id);
        free(out->secret_access_key);
        out->access_key_id = strdup("AKIDSLUICEANONYMOUS");
        out->secret_access_key = strdup("anonymous");
    }
    if (!out->region || !out->endpoint_url || !out->access_key_id || !out->secret_access_key) {
        *why = "out of memory";
        sl_client_settings_free(out);
        return SL_ENOMEM;
    }
    int rc = parse_endpoint(out->endpoint_url, out);
    if (rc != 0) {
        *why = rc == SL_EINVAL ? "endpoint URL must be http://host[:port] or https://host[:port]"
                               : "out of memory";
        sl_client_settings_free(out);
        return rc;
    }
    return 0;
}

void sl_client_settings_free(sl_client_settings_t *s) {
    free(s->endpoint_url);
    free(s->origin);
    free(s->authority);
    free(s->region);
    free(s->access_key_id);
    free(s->secret_access_key);
    free(s->session_token);
    memset(s, 0, sizeof *s);
}
