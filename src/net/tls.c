/* TLS server context (OpenSSL 3): certificate and key from PEM files, or a self-signed EC P-256
 * certificate for CN=localhost (SAN DNS:localhost, IP:127.0.0.1) generated on first start into
 * tls_dir (cert.pem, key.pem with mode 0600) and reused afterwards. ALPN offers h2 and http/1.1;
 * clients that negotiate nothing may still send the HTTP/2 preface (prior knowledge). */
#include "net/internal.h"

#include "core/common.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char ALPN_PROTOS[] = "\x02h2\x08http/1.1";

static void log_ssl_error(const char *what) {
    unsigned long e = ERR_get_error();
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    SL_ERROR("net: TLS: %s: %s", what, e ? buf : "unknown error");
    ERR_clear_error();
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl;
    (void)arg;
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, ALPN_PROTOS, sizeof ALPN_PROTOS - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

bool sl_tls_alpn_is_h2(SSL *ssl) {
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(ssl, &p, &n);
    return n == 2 && memcmp(p, "h2", 2) == 0;
}

/* Builds a self-signed certificate for localhost. */
static int make_self_signed(EVP_PKEY **pkey_out, X509 **x509_out) {
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_EXTENSION *ext = NULL;
    if (!pkey || !x) goto fail;
    unsigned char serial[16];
    FILE *ur = fopen("/dev/urandom", "rb");
    size_t got = ur ? fread(serial, 1, sizeof serial, ur) : 0;
    if (ur) fclose(ur);
    if (got != sizeof serial) goto fail;
    serial[0] &= 0x7f; /* positive */
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (!bn) goto fail;
    ASN1_INTEGER *sn = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    if (!sn) goto fail;
    if (!X509_set_version(x, 2) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600) || !X509_set_pubkey(x, pkey))
        goto fail;
    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
                                    -1, -1, 0) ||
        !X509_set_issuer_name(x, name))
        goto fail;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    static const struct {
        int nid;
        const char *value;
    } exts[] = {
        {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
        {NID_ext_key_usage, "serverAuth"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(exts); i++) {
        ext = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid, exts[i].value);
        if (!ext || !X509_add_ext(x, ext, -1)) goto fail;
        X509_EXTENSION_free(ext);
        ext = NULL;
    }
    if (!X509_sign(x, pkey, EVP_sha256())) goto fail;
    *pkey_out = pkey;
    *x509_out = x;
    return 0;
fail:
    log_ssl_error("cannot generate a self-signed certificate");
    X509_EXTENSION_free(ext);
    X509_free(x);
    EVP_PKEY_free(pkey);
    return SL_EIO;
}

/* Writes a PEM file atomically (temporary file + rename) with the given mode. */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *x) {
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return SL_EINVAL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        SL_ERROR("net: TLS: cannot create %s: %s", tmp, strerror(errno));
        return SL_EIO;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        return SL_EIO;
    }
    int ok = pkey ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, x);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) ok = 0;
    if (fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        SL_ERROR("net: TLS: cannot write %s", path);
        unlink(tmp);
        return SL_EIO;
    }
    return 0;
}

static int load_files(SSL_CTX *ctx, const char *cert, const char *key) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        log_ssl_error(cert);
        return SL_EINVAL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        log_ssl_error(key);
        return SL_EINVAL;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        log_ssl_error("certificate and key do not match");
        return SL_EINVAL;
    }
    return 0;
}

/* Uses tls_dir/cert.pem and key.pem, generating them first when absent. Without tls_dir the
 * certificate lives in memory only. */
static int self_signed(SSL_CTX *ctx, const char *dir) {
    char cert[PATH_MAX], key[PATH_MAX];
    if (dir) {
        if (snprintf(cert, sizeof cert, "%s/cert.pem", dir) >= (int)sizeof cert ||
            snprintf(key, sizeof key, "%s/key.pem", dir) >= (int)sizeof key)
            return SL_EINVAL;
        if (access(cert, R_OK) == 0 && access(key, R_OK) == 0) return load_files(ctx, cert, key);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            SL_ERROR("net: TLS: cannot create %s: %s", dir, strerror(errno));
            return SL_EIO;
        }
    }
    EVP_PKEY *pkey;
    X509 *x;
    int rc = make_self_signed(&pkey, &x);
    if (rc != 0) return rc;
    if (dir) {
        rc = write_pem(key, 0600, pkey, NULL);
        if (rc == 0) rc = write_pem(cert, 0644, NULL, x);
        if (rc == 0) SL_INFO("net: TLS: generated a self-signed certificate in %s", cert);
    }
    if (rc == 0 &&
        (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, pkey) != 1)) {
        log_ssl_error("cannot use the generated certificate");
        rc = SL_EIO;
    }
    X509_free(x);
    EVP_PKEY_free(pkey);
    return rc;
}

int sl_tls_ctx_create(const sl_http_server_t *srv, SSL_CTX **out) {
    const sl_http_server_config_t *cfg = &srv->cfg;
    if ((cfg->tls_cert_file == NULL) != (cfg->tls_key_file == NULL)) {
        SL_ERROR("net: TLS: a certificate file needs a key file and vice versa");
        return SL_EINVAL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        log_ssl_error("SSL_CTX_new");
        return SL_ENOMEM;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    int rc = cfg->tls_cert_file ? load_files(ctx, cfg->tls_cert_file, cfg->tls_key_file)
                                : self_signed(ctx, cfg->tls_dir);
    if (rc != 0) {
        SSL_CTX_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}
