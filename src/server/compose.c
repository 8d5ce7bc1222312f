/* The composition root of `sluice serve` (see compose.h). */
#include "server/compose.h"

#include "api/api.h"
#include "catalog/catalog.h"
#include "core/common.h"
#include "core/log.h"
#include "kinesis/engine.h"
#include "net/http.h"
#include "storage/backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct sl_compose {
    sl_config_t cfg;          /* copy of the configuration */
    sl_catalog_t *catalog;    /* owned */
    sl_storage_t *storage;    /* owned; shared by every shard log */
    sl_kinesis_t *kinesis;    /* owned */
    sl_api_t *api;            /* owned */
    sl_http_server_t *http;   /* owned */
};

static sl_durability_t durability_of(const char *name) {
    if (!strcmp(name, "interval")) return SL_DURABILITY_INTERVAL;
    if (!strcmp(name, "none")) return SL_DURABILITY_NONE;
    return SL_DURABILITY_SYNC;
}

static int open_catalog(sl_compose_t *root) {
    const sl_config_t *cfg = &root->cfg;
    if (mkdir(cfg->data_dir, 0755) != 0 && errno != EEXIST) {
        SL_ERROR("cannot create data directory %s: %s", cfg->data_dir, strerror(errno));
        return SL_EIO;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/catalog.db", cfg->data_dir);
    int rc = sl_catalog_open_sqlite(path, &root->catalog);
    if (rc) SL_ERROR("cannot open catalog %s: %s", path, sl_strerror(rc));
    return rc;
}

static int open_storage(sl_compose_t *root) {
    const sl_config_t *cfg = &root->cfg;
    sl_storage_config_t scfg = {
        .data_dir = cfg->data_dir,
        .durability = durability_of(cfg->durability),
        .flush_interval_ms = (int)cfg->flush_interval_ms,
        .segment_bytes = (size_t)cfg->segment_bytes,
        .commit_interval_us = (int)cfg->commit_interval_us,
        .journal_bytes = (size_t)cfg->journal_bytes,
        .on_commit = sl_kinesis_storage_commit,
    };
    int rc = sl_storage_open_file(&scfg, &root->storage);
    if (rc) SL_ERROR("cannot open storage in %s: %s", cfg->data_dir, sl_strerror(rc));
    return rc;
}

static int open_kinesis(sl_compose_t *root) {
    const sl_config_t *cfg = &root->cfg;
    sl_kinesis_config_t kcfg = {
        .catalog = root->catalog,
        .storage = root->storage,
        .data_dir = cfg->data_dir,
        .region = cfg->region,
        .account = cfg->account_id,
        .create_stream_ms = cfg->create_stream_ms,
        .delete_stream_ms = cfg->delete_stream_ms,
        .update_stream_ms = cfg->update_stream_ms,
        .consumer_ms = cfg->consumer_ms,
        .iterator_ttl_ms = cfg->iterator_ttl_ms,
        .shard_limit = cfg->shard_limit,
        .on_demand_stream_limit = cfg->on_demand_stream_limit,
    };
    return sl_kinesis_open(&kcfg, &root->kinesis);
}

static int start_http(sl_compose_t *root) {
    const sl_config_t *cfg = &root->cfg;
    char tls_dir[1100];
    snprintf(tls_dir, sizeof tls_dir, "%s/tls", cfg->data_dir);
    sl_http_server_config_t hcfg = {
        .bind_address = cfg->bind,
        .port = (int)cfg->port,
        .tls_port = (int)cfg->tls_port,
        .tls_cert_file = cfg->tls_cert[0] ? cfg->tls_cert : NULL,
        .tls_key_file = cfg->tls_key[0] ? cfg->tls_key : NULL,
        .tls_dir = tls_dir,
        .threads = (int)cfg->threads,
        .body_max_bytes = (size_t)cfg->body_max_bytes,
        .handler = sl_api_handle_http,
        .handler_ctx = root->api,
    };
    int rc = sl_http_server_start(&hcfg, &root->http);
    if (rc) {
        SL_ERROR("cannot listen on %s:%lld: %s", cfg->bind, (long long)cfg->port, sl_strerror(rc));
        return rc;
    }
    if (cfg->tls_port)
        SL_INFO("sluice listening on %s:%d (TLS on %s:%d), data in %s", cfg->bind,
                sl_http_server_port(root->http), cfg->bind, sl_http_server_tls_port(root->http),
                cfg->data_dir);
    else
        SL_INFO("sluice listening on %s:%d, data in %s", cfg->bind,
                sl_http_server_port(root->http), cfg->data_dir);
    return 0;
}

int sl_compose_open(const sl_config_t *cfg, sl_compose_t **out) {
    *out = NULL;
    sl_compose_t *root = calloc(1, sizeof *root);
    if (!root) return SL_ENOMEM;
    root->cfg = *cfg;
    int rc = open_catalog(root);
    if (rc == 0) rc = open_storage(root);
    if (rc == 0) rc = open_kinesis(root);
    if (rc == 0) {
        sl_api_config_t acfg = {.kinesis = root->kinesis, .cors_origins = root->cfg.cors_origins};
        rc = sl_api_create(&acfg, &root->api);
    }
    if (rc == 0) rc = start_http(root);
    if (rc) {
        SL_ERROR("cannot start: %s", sl_strerror(rc));
        sl_compose_close(root, 0);
        return rc;
    }
    *out = root;
    return 0;
}

void sl_compose_close(sl_compose_t *root, int grace_ms) {
    if (!root) return;
    if (root->http) sl_http_server_stop(root->http, grace_ms);
    sl_api_destroy(root->api);
    sl_kinesis_close(root->kinesis);
    if (root->storage) sl_storage_close(root->storage);
    sl_catalog_close(root->catalog);
    free(root);
}
