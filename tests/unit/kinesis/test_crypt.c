/* Encryption at rest in the core (kinesis/crypt.c) on the memory backend with a real KMS: what a
 * put stores is standard AES-256-GCM (checked with OpenSSL's EVP interface, independently of how
 * crypt.c computes it) in the documented frame (docs/storage-format.md, "Encrypted records"), for
 * records of every size around the small-record runs' edges (0, 1, 15, 16, 17, ..., 1024, 1025,
 * 10 KiB) and for batches long enough to span many runs, with no nonce used twice; reads give the
 * plaintext back with the encrypted flag. Records sealed by other code (as earlier versions did,
 * through EVP) read back too; a tampered one, or a plain one that only looks sealed, is served as
 * stored. */
#include "kinesis_util.h"
#include "kinesis/control.h"
#include "kms/kms.h"
#include "test.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#define ACCOUNT "123456789012"
#define OVERHEAD 34

static sl_arena_t arena;
static sl_kms_t *kms;

static sl_kinesis_t *open_engine(kutil_engine_t *e, const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    sl_storage_config_t scfg = {.data_dir = dir, .on_commit = sl_kinesis_storage_commit};
    uint8_t master[32];
    memset(master, 7, sizeof master);
    CHECK(sl_catalog_open_sqlite(path, &e->catalog) == 0);
    CHECK(sl_storage_open_memory(&scfg, &e->storage) == 0);
    CHECK(sl_kms_create(master, "us-east-1", &kms) == 0);
    CHECK(sl_kms_load(kms, ACCOUNT, e->catalog) == 0);
    sl_kinesis_config_t cfg = {.catalog = e->catalog,
                               .storage = e->storage,
                               .data_dir = dir,
                               .region = "us-east-1",
                               .account = ACCOUNT,
                               .shard_limit = 500,
                               .on_demand_stream_limit = 50,
                               .kms = kms};
    CHECK(sl_kinesis_open(&cfg, &e->k) == 0);
    return e->k;
}

static bool encryption(sl_kinesis_t *k, sl_kchange_kind_t kind, const char *key_id) {
    sl_kstream_change_t op = {.stream = {.name = "enc", .name_len = 3},
                              .kind = kind,
                              .encryption_type = "KMS",
                              .key_id = key_id,
                              .now_ms = sl_time_now_ms()};
    sl_kerr_t err;
    bool ok = sl_kinesis_change_stream(k, &op, &err);
    if (!ok) fprintf(stderr, "change: %s\n", err.message);
    return ok;
}

/* Record i's plaintext: its index and a pattern, so that every record differs. */
static void plain_of(size_t i, uint8_t *out, size_t n) {
    for (size_t j = 0; j < n; j++)
        out[j] = (uint8_t)(i * 131 + j * 7 + (j >> 8));
}

/* Seals like the format says, through EVP (what earlier versions of crypt.c did). */
static size_t seal_evp(const uint8_t key[32], const uint8_t *plain, size_t n, uint8_t *out) {
    memcpy(out, "\xE5SLE\x01\x00", 6);
    CHECK(RAND_bytes(out + 6, 12) == 1);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int len;
    CHECK(EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, out + 6) == 1);
    CHECK(n == 0 || EVP_EncryptUpdate(x, out + 18, &len, plain, (int)n) == 1);
    CHECK(EVP_EncryptFinal_ex(x, out + 18 + n, &len) == 1);
    CHECK(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, out + 18 + n) == 1);
    EVP_CIPHER_CTX_free(x);
    return n + OVERHEAD;
}

/* Opens a stored record through EVP: true (plaintext in out) when it authenticates. */
static bool open_evp(const uint8_t key[32], const uint8_t *in, size_t n, uint8_t *out) {
    if (n < OVERHEAD || memcmp(in, "\xE5SLE\x01\x00", 6) != 0) return false;
    n -= OVERHEAD;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int len;
    bool ok = EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, in + 6) == 1 &&
              EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + 18 + n)) == 1 &&
              (n == 0 || EVP_DecryptUpdate(x, out, &len, in + 18, (int)n) == 1) &&
              EVP_DecryptFinal_ex(x, out + n, &len) == 1;
    EVP_CIPHER_CTX_free(x);
    return ok;
}

static void put(sl_kinesis_t *k, const size_t *sizes, size_t n, size_t first) {
    sl_krecord_t *recs = calloc(n, sizeof *recs);
    uint8_t **bufs = calloc(n, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        bufs[i] = malloc(sizes[i] + 1);
        plain_of(first + i, bufs[i], sizes[i]);
        recs[i] = (sl_krecord_t){
            .partition_key = "pk", .partition_key_len = 2, .data = bufs[i], .data_len = sizes[i]};
    }
    sl_kput_t op;
    sl_arena_reset(&arena);
    kutil_put(k, &arena, "enc", recs, n, false, &op);
    CHECK(op.err.type == SL_KERR_NONE);
    CHECK_EQ_INT(op.failed, 0);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(recs);
}

static void put_raw(sl_kinesis_t *k, const uint8_t *data, size_t n) {
    sl_krecord_t r = {.partition_key = "pk", .partition_key_len = 2, .data = data, .data_len = n};
    sl_kput_t op;
    sl_arena_reset(&arena);
    kutil_put(k, &arena, "enc", &r, 1, true, &op);
    CHECK(op.err.type == SL_KERR_NONE);
}

int main(void) {
    char *dir = kutil_tmpdir("crypt");
    sl_arena_init(&arena, 1 << 20);
    kutil_engine_t e;
    sl_kinesis_t *k = open_engine(&e, dir);
    sl_kstream_t *s = kutil_stream(k, "enc", 1);

    /* before encryption: a plain record that looks like a sealed one of generation 1 */
    uint8_t lookalike[64];
    memset(lookalike, 0x5a, sizeof lookalike);
    memcpy(lookalike, "\xE5SLE\x01\x00", 6);
    put_raw(k, lookalike, sizeof lookalike);

    sl_kms_key_info_t key;
    sl_kms_err_t kerr;
    CHECK(sl_kms_create_key(kms, ACCOUNT, "test", sl_time_now_ms(), &key, &kerr));
    CHECK(encryption(k, SL_KCHANGE_ENCRYPTION_START, key.id));
    CHECK_EQ_INT(s->dk_count, 1);
    const uint8_t *data_key = s->dks[0].key;

    /* sizes around the edges of a 16-byte block and of the small-record runs (1024 bytes) */
    static const size_t edges[] = {0,    1,    15,    16,   17,   31,   32,   33,
                                   100,  255,  256,   1000, 1023, 1024, 1025, 1500,
                                   2048, 4096, 10240, 100,  0,    1024, 1025, 1};
    size_t n_edges = sizeof edges / sizeof edges[0];
    /* then a batch of 500 that spans many runs: mostly small records, some large among them */
    size_t batch[500];
    uint32_t rnd = 12345;
    for (size_t i = 0; i < 500; i++) {
        rnd = rnd * 1103515245u + 12345u;
        batch[i] = i % 50 == 7 ? 3000 + (rnd >> 20) % 4000 : (rnd >> 16) % 1100;
    }
    size_t total = n_edges + 500;
    size_t *sizes = malloc(total * sizeof *sizes);
    memcpy(sizes, edges, sizeof edges);
    memcpy(sizes + n_edges, batch, sizeof batch);
    put(k, edges, n_edges, 0);
    put(k, batch, 500, n_edges);

    /* what storage holds: standard AES-256-GCM under the data key, every nonce different */
    sl_read_result_t *res = NULL;
    CHECK(sl_storage_read_memory(s->shards[0]->log, 0, 100000, 64u << 20, 0, &res) == 0);
    CHECK_EQ_INT(res->count, 1 + total);
    CHECK(res->records[0].data_len == sizeof lookalike);
    uint8_t *plain = malloc(16384), *want = malloc(16384);
    for (size_t i = 0; i < total; i++) {
        const sl_record_t *r = &res->records[1 + i];
        CHECK_EQ_INT(r->data_len, sizes[i] + OVERHEAD);
        CHECK(open_evp(data_key, r->data, r->data_len, plain));
        plain_of(i, want, sizes[i]);
        CHECK(memcmp(plain, want, sizes[i]) == 0);
        bool fresh = true;
        for (size_t j = 0; j < i; j++)
            fresh = fresh && memcmp(r->data + 6, res->records[1 + j].data + 6, 12) != 0;
        CHECK(fresh);
    }
    sl_storage_read_free(res);

    /* after StopStreamEncryption, records sealed elsewhere (through EVP) and a tampered one */
    CHECK(encryption(k, SL_KCHANGE_ENCRYPTION_STOP, key.id));
    uint8_t *sealed = malloc(16384);
    size_t foreign[] = {100, 3000, 0};
    for (size_t i = 0; i < 3; i++) {
        plain_of(1000 + i, want, foreign[i]);
        put_raw(k, sealed, seal_evp(data_key, want, foreign[i], sealed));
    }
    plain_of(2000, want, 100);
    size_t len = seal_evp(data_key, want, 100, sealed);
    sealed[40] ^= 1;
    put_raw(k, sealed, len);

    /* reads through the core decrypt what authenticates and flag it */
    sl_kiterator_t it;
    kutil_iterator(k, "enc", "shardId-000000000000", (sl_kstart_t){.type = SL_KSTART_TRIM_HORIZON},
                   &it);
    CHECK(it.err.type == SL_KERR_NONE);
    sl_kread_t rd;
    kutil_read(k, &it.reader, 10000, 64u << 20, &rd);
    CHECK(rd.err.type == SL_KERR_NONE);
    CHECK_EQ_INT(rd.count, 1 + total + 4);
    CHECK(rd.record_encrypted != NULL);
    CHECK(rd.records[0].data_len == sizeof lookalike &&
          memcmp(rd.records[0].data, lookalike, sizeof lookalike) == 0);
    CHECK(!rd.record_encrypted[0]);
    size_t bytes = rd.records[0].data_len + 2;
    for (size_t i = 0; i < total; i++) {
        const sl_krecord_t *r = &rd.records[1 + i];
        CHECK_EQ_INT(r->data_len, sizes[i]);
        plain_of(i, want, sizes[i]);
        CHECK(memcmp(r->data, want, sizes[i]) == 0);
        CHECK(rd.record_encrypted[1 + i]);
        bytes += r->data_len + 2;
    }
    for (size_t i = 0; i < 3; i++) {
        const sl_krecord_t *r = &rd.records[1 + total + i];
        plain_of(1000 + i, want, foreign[i]);
        CHECK_EQ_INT(r->data_len, foreign[i]);
        CHECK(memcmp(r->data, want, foreign[i]) == 0);
        CHECK(rd.record_encrypted[1 + total + i]);
        bytes += r->data_len + 2;
    }
    const sl_krecord_t *t = &rd.records[1 + total + 3];
    CHECK_EQ_INT(t->data_len, len);
    CHECK(memcmp(t->data, sealed, len) == 0);
    CHECK(!rd.record_encrypted[1 + total + 3]);
    bytes += t->data_len + 2;
    CHECK_EQ_INT(rd.bytes, bytes);
    sl_kread_release(&rd);

    free(plain);
    free(want);
    free(sealed);
    free(sizes);
    kutil_close(&e);
    sl_kms_destroy(kms);
    sl_arena_deinit(&arena);
    kutil_rm_rf(dir);
    free(dir);
    TEST_MAIN_END();
}
