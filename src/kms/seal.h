/* Sealed records: AES-256-GCM under a 256-bit data key, in the format of Sluice's encryption at
 * rest (docs/security.md "Encryption at rest"):
 *     magic (4: E5 'S' 'L' 'E') | generation (u16 LE) | nonce (12) | ciphertext | GCM tag (16)
 * The generation names which of its owner's data keys sealed the record; there is no associated
 * data (another generation selects another key and another nonce another keystream, so either
 * fails the tag). A sealer holds one key's cipher context: nonces are a random 96-bit start per
 * sealer whose last 64 bits count up by one per record. A sealer is used by one thread at a time.
 *
 * For services that keep their own data keys (Firehose's buffer logs); the data keys come from
 * KMS (sl_kms_generate_data_key) or are wrapped by a key derived from the master key
 * (sl_kms_derive_key) and sealed with this same format. */
#ifndef SL_KMS_SEAL_H
#define SL_KMS_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_KMS_SEAL_OVERHEAD 34 /* magic 4, generation 2, nonce 12, tag 16 */
#define SL_KMS_SEAL_KEY_BYTES 32

typedef struct sl_kms_sealer sl_kms_sealer_t;

/* A sealer (encrypt) or opener (!encrypt) for key. Returns 0 or SL_ENOMEM (also when OpenSSL
 * cannot set the key up). */
int sl_kms_sealer_create(const uint8_t key[SL_KMS_SEAL_KEY_BYTES], bool encrypt,
                         sl_kms_sealer_t **out);
void sl_kms_sealer_destroy(sl_kms_sealer_t *s);

/* Seals plain[0..len) into out, which holds len + SL_KMS_SEAL_OVERHEAD bytes. */
bool sl_kms_seal(sl_kms_sealer_t *s, uint16_t generation, const uint8_t *plain, size_t len,
                 uint8_t *out);

/* Does data have the sealed form? *generation gets the generation it names. */
bool sl_kms_sealed(const uint8_t *data, size_t len, uint16_t *generation);

/* Opens a sealed record in place: true and *plain_len (the plaintext now starts at data) when it
 * authenticates under the opener's key; false leaves data as it was. */
bool sl_kms_open(sl_kms_sealer_t *s, uint8_t *data, size_t len, size_t *plain_len);

/* n random bytes from the system's generator. */
bool sl_kms_random(uint8_t *out, size_t n);

/* A 256-bit key derived from the master key for one purpose (HMAC-SHA256 over the label). */
void sl_kms_derive_key(const uint8_t master[32], const char *label, uint8_t out[32]);

#endif
